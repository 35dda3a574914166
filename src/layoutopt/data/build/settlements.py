"""Synthetic settlements (demand units): urban units, town centres and village clusters.

Each county's census population is shared among its settlements: the urban share of the
county's kind of unit (scaled so the province matches its census urban share) goes to
urban units around the county seat and to town centres; the rest lives in village
clusters spread over the county. Single-year ages 0-17 follow the births series.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.spatial import cKDTree

from layoutopt.data.build.common import (
    county_rng,
    jitter_inside,
    km_to_deg,
    largest_remainder,
    points_in,
    pole,
)
from layoutopt.data.calibration import Calibration
from layoutopt.data.io import WGS84

AGES = range(18)
MAX_URBAN_SHARE = 0.97


def urban_shares(regions: gpd.GeoDataFrame, cal: Calibration) -> np.ndarray:
    """Urban share per county: the relative share of its kind, scaled to the province."""
    s = cal.settlements
    fallback = min(s.urban_share_by_kind.values())
    base = regions["unit_kind"].map(s.urban_share_by_kind).fillna(fallback).to_numpy(float)
    pop = regions["population_2020"].to_numpy(dtype=float)

    def gap(scale: float) -> float:
        urban = (pop * np.minimum(base * scale, MAX_URBAN_SHARE)).sum()
        return urban / pop.sum() - cal.province.urban_share

    scale = brentq(gap, 1e-3, 10.0)
    return np.minimum(base * scale, MAX_URBAN_SHARE)


def make_settlements(regions: gpd.GeoDataFrame, cal: Calibration, seed: int) -> gpd.GeoDataFrame:
    shares = urban_shares(regions, cal)
    parts = [
        _county_settlements(row, share, cal, seed)
        for row, share in zip(regions.itertuples(index=False), shares, strict=True)
    ]
    demand = pd.concat(parts, ignore_index=True)
    demand = _add_cohorts(demand, regions, cal, seed)
    columns = [
        "demand_id",
        "region_id",
        "name",
        "kind",
        "population",
        *(f"age_{a}" for a in AGES),
        "migrant_share",
        "left_behind_share",
        "growth",
        "town_id",
    ]
    return gpd.GeoDataFrame(
        demand[columns], geometry=gpd.points_from_xy(demand.lon, demand.lat), crs=WGS84
    )


def _county_settlements(row, urban_share: float, cal: Calibration, seed: int) -> pd.DataFrame:
    s = cal.settlements
    rng = county_rng(seed, row.region_id, "settlements")
    pop = int(row.population_2020)
    urban = round(pop * urban_share)
    town_total = round(urban * s.town_share_of_urban.get(row.unit_kind, 0.3))
    core_total = urban - town_total
    rural_total = pop - urban
    n_urban = max(s.min_urban_units, round(core_total / s.urban_unit_population))
    n_towns = max(s.min_towns, round(town_total / s.town_population))
    n_villages = max(1, round(rural_total / s.village_cluster_population))

    polygon = row.geometry
    seat_x, seat_y = pole(polygon)
    radius_km = s.urban_radius_km_per_sqrt_unit * np.sqrt(n_urban)
    ux, uy = jitter_inside(
        polygon, np.full(n_urban, seat_x), np.full(n_urban, seat_y), radius_km / 2, rng
    )
    tx, ty = _away_from(polygon, n_towns, (seat_x, seat_y), radius_km, rng)
    vx, vy = points_in(polygon, n_villages, rng)

    def sizes(n: int, total: int) -> np.ndarray:
        return largest_remainder(rng.lognormal(0, s.size_sigma, n), total)

    frame = pd.DataFrame(
        {
            "kind": ["urban"] * n_urban + ["town"] * n_towns + ["village"] * n_villages,
            "lon": np.concatenate([ux, tx, vx]),
            "lat": np.concatenate([uy, ty, vy]),
            "population": np.concatenate(
                [
                    sizes(n_urban, core_total),
                    sizes(n_towns, town_total),
                    sizes(n_villages, rural_total),
                ]
            ),
        }
    )
    frame["region_id"] = row.region_id
    frame["unit_kind"] = row.unit_kind
    return _name_and_describe(frame, row, (seat_x, seat_y), cal, rng)


def _away_from(polygon, n: int, seat: tuple[float, float], radius_km: float, rng):
    """Town centres spread over the county, outside the urban core where there is room."""
    x, y = points_in(polygon, 4 * n, rng)
    dx, dy = km_to_deg(1.0, seat[1])
    far = np.hypot((x - seat[0]) / dx, (y - seat[1]) / dy) > radius_km
    if far.sum() >= n:
        x, y = x[far], y[far]
    return x[:n], y[:n]


def _name_and_describe(frame: pd.DataFrame, row, seat, cal: Calibration, rng) -> pd.DataFrame:
    s = cal.settlements
    kind = frame["kind"].to_numpy()
    towns = np.flatnonzero(kind == "town")
    number = frame.groupby("kind").cumcount().to_numpy() + 1
    prefix = {"urban": "U", "town": "T", "village": "V"}
    frame["demand_id"] = [
        f"{row.region_id}-{prefix[k]}{n:04d}" for k, n in zip(kind, number, strict=True)
    ]
    # Each village cluster belongs to its nearest town centre (its township).
    nearest = cKDTree(frame.loc[towns, ["lon", "lat"]].to_numpy()).query(
        frame[["lon", "lat"]].to_numpy()
    )[1]
    town_ids = frame["demand_id"].to_numpy()[towns][nearest]
    frame["town_id"] = np.where(kind == "urban", "", town_ids)
    town_number = dict(zip(frame["demand_id"], number, strict=True))
    frame["name"] = [
        f"{row.name}城区第{n}片区"
        if k == "urban"
        else f"{row.name}第{n}镇"
        if k == "town"
        else f"{row.name}第{town_number[t]}镇第{n}村片"
        for k, n, t in zip(kind, number, frame["town_id"], strict=True)
    ]
    bonus = s.migrant_share_district_bonus if row.unit_kind == "district" else 0.0
    migrant = np.array([s.migrant_share[k] + (bonus if k == "urban" else 0.0) for k in kind])
    left = np.array([s.left_behind_share[k] for k in kind])
    frame["migrant_share"] = _vary(migrant, rng)
    frame["left_behind_share"] = _vary(left, rng)
    frame["growth"] = _growth(frame, seat, s.growing_urban_share, rng)
    return frame


def _vary(share: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.round(np.clip(share * rng.lognormal(0, 0.3, len(share)), 0, 0.8), 4)


def _growth(frame: pd.DataFrame, seat, growing_share: float, rng) -> np.ndarray:
    """Outer urban units grow (new housing); villages shrink; town centres hold."""
    kind = frame["kind"].to_numpy()
    growth = np.where(kind == "village", "shrinking", "stable").astype(object)
    urban = np.flatnonzero(kind == "urban")
    spread = rng.uniform(0.7, 1.3, len(urban))
    distance = (
        np.hypot(frame.lon.to_numpy()[urban] - seat[0], frame.lat.to_numpy()[urban] - seat[1])
        * spread
    )
    n_growing = max(1, round(growing_share * len(urban)))
    growth[urban[np.argsort(-distance, kind="stable")[:n_growing]]] = "growing"
    return growth


def cohort_targets(cal: Calibration) -> np.ndarray:
    """Province residents of each single-year age at the base year, from the births series."""
    base = cal.province.base_year
    births = {int(y): b for y, b in cal.cohorts.births.items()}
    missing = [base - a for a in AGES if base - a not in births]
    if missing:
        raise ValueError(f"calibration births lack year(s) {missing}")
    return np.array([births[base - a] * cal.cohorts.survival_to_base_year for a in AGES])


def _add_cohorts(demand: pd.DataFrame, regions, cal: Calibration, seed: int) -> pd.DataFrame:
    """Split each settlement's residents into ages 0-17, matching the province by age."""
    low, high = cal.province.child_share_range
    county_factor = {
        rid: county_rng(seed, rid, "cohorts").uniform(low, high) for rid in regions["region_id"]
    }
    weight = (
        demand["population"].to_numpy(float)
        * demand["region_id"].map(county_factor).to_numpy(float)
        * demand["kind"].map(cal.settlements.child_share_by_kind).to_numpy(float)
    )
    for age, target in zip(AGES, cohort_targets(cal), strict=True):
        demand[f"age_{age}"] = largest_remainder(weight, round(target))
    return demand
