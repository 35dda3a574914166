"""Synthetic candidate sites for new schools.

Three kinds, as a planning office would list them: plots in new housing areas at growing
urban units, vacant school buildings among village clusters (schools emptied by falling
births), and plots in town centres.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.data.build.common import county_rng, jitter_inside
from layoutopt.data.calibration import Calibration
from layoutopt.data.io import WGS84

SITE_JITTER_KM = 0.4


def make_sites(
    demand: gpd.GeoDataFrame, regions: gpd.GeoDataFrame, cal: Calibration, seed: int
) -> gpd.GeoDataFrame:
    polygons = regions.set_index("region_id").geometry
    parts = []
    for region_id, rows in demand.groupby("region_id").indices.items():
        rng = county_rng(seed, region_id, "sites")
        county = demand.iloc[rows]
        hosts = _hosts(county, cal, rng)
        x = county.geometry.x.to_numpy()[hosts["row"]]
        y = county.geometry.y.to_numpy()[hosts["row"]]
        x, y = jitter_inside(polygons[region_id], x, y, SITE_JITTER_KM, rng)
        low = np.array([cal.sites.max_classes[k][0] for k in hosts["kind"]])
        high = np.array([cal.sites.max_classes[k][1] for k in hosts["kind"]])
        parts.append(
            pd.DataFrame(
                {
                    "region_id": region_id,
                    "kind": hosts["kind"],
                    "max_classes": rng.integers(low, high + 1) // 3 * 3,
                    "demand_id": county["demand_id"].to_numpy()[hosts["row"]],
                    "lon": x,
                    "lat": y,
                }
            )
        )
    sites = pd.concat(parts, ignore_index=True)
    number = sites.groupby("region_id").cumcount() + 1
    sites.insert(
        0, "site_id", [f"{r}-S{k:03d}" for r, k in zip(sites.region_id, number, strict=True)]
    )
    return gpd.GeoDataFrame(
        sites.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(sites.lon, sites.lat),
        crs=WGS84,
    )


def _hosts(county: pd.DataFrame, cal: Calibration, rng) -> dict[str, list]:
    kind = county["kind"].to_numpy()
    growing = np.flatnonzero(county["growth"].to_numpy() == "growing")
    per_unit = cal.sites.new_housing_per_growing_unit
    housing = np.repeat(growing, rng.poisson(per_unit, len(growing)) + (per_unit >= 1))
    villages = np.flatnonzero(kind == "village")
    n_vacant = len(villages) // cal.sites.vacant_school_per_villages
    vacant = rng.choice(villages, size=n_vacant, replace=False) if n_vacant else []
    towns = np.flatnonzero(kind == "town")
    rows = [*housing, *np.sort(vacant), *towns]
    kinds = (
        ["new_housing"] * len(housing)
        + ["vacant_school"] * len(vacant)
        + ["town_centre"] * len(towns)
    )
    return {"row": np.array(rows, dtype=int), "kind": kinds}
