"""Small helpers shared by the generator's steps."""

from __future__ import annotations

import numpy as np
import shapely
import shapely.ops
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

KM_PER_DEG_LAT = 111.32


def county_rng(seed: int, region_id: str, step: str) -> np.random.Generator:
    """A random stream of its own for each county and step, so one change stays local."""
    return np.random.default_rng([seed, int(region_id), sum(map(ord, step))])


def largest_remainder(weights: NDArray, total: int) -> NDArray[np.int64]:
    """Whole numbers proportional to ``weights`` that add up to ``total`` exactly."""
    weights = np.asarray(weights, dtype=float)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = weights / weights.sum() * total
    whole = np.floor(exact).astype(np.int64)
    short = int(total - whole.sum())
    # Ties broken by position, so the result is reproducible.
    order = np.lexsort((np.arange(len(exact)), -(exact - whole)))
    whole[order[:short]] += 1
    return whole


def km_to_deg(km: float, lat: float) -> tuple[float, float]:
    """Degrees of longitude and latitude spanned by ``km`` at latitude ``lat``."""
    return km / (KM_PER_DEG_LAT * np.cos(np.radians(lat))), km / KM_PER_DEG_LAT


def points_in(polygon: BaseGeometry, n: int, rng: np.random.Generator) -> tuple[NDArray, NDArray]:
    """``n`` points drawn uniformly inside ``polygon`` (rejection sampling)."""
    shapely.prepare(polygon)
    minx, miny, maxx, maxy = polygon.bounds
    xs: list[NDArray] = []
    ys: list[NDArray] = []
    found = 0
    while found < n:
        x = rng.uniform(minx, maxx, 4 * (n - found) + 16)
        y = rng.uniform(miny, maxy, len(x))
        keep = shapely.contains_xy(polygon, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        found += int(keep.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def jitter_inside(
    polygon: BaseGeometry, x: NDArray, y: NDArray, km: float, rng: np.random.Generator
) -> tuple[NDArray, NDArray]:
    """Move points by up to about ``km`` at random, keeping each inside ``polygon``."""
    shapely.prepare(polygon)
    x, y = np.array(x, dtype=float), np.array(y, dtype=float)
    if len(x) == 0:
        return x, y
    dx, dy = km_to_deg(km, float(np.mean(y)))
    for _ in range(8):  # a few tries; points that still fall outside stay where they were
        nx = x + rng.normal(0, dx, len(x))
        ny = y + rng.normal(0, dy, len(y))
        ok = shapely.contains_xy(polygon, nx, ny)
        x, y = np.where(ok, nx, x), np.where(ok, ny, y)
        if ok.all():
            break
    return x, y


def pole(polygon: BaseGeometry) -> tuple[float, float]:
    """A point well inside the polygon's largest part (where a county seat is drawn)."""
    parts = list(getattr(polygon, "geoms", [polygon]))
    largest = max(parts, key=lambda p: p.area)
    point = shapely.ops.polylabel(largest, tolerance=0.001)
    return float(point.x), float(point.y)
