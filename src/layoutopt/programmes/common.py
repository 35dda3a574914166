"""Helpers every programme shares: travel between places of one data set."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.data.dataset import Dataset
from layoutopt.geo.travel import RoadGraph, TravelQuery, travel_times
from layoutopt.scenario import Scenario


def travel_within_county(
    dataset: Dataset,
    scenario: Scenario,
    schools: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    k_nearest: int,
    cutoff_min: float | None = None,
) -> pd.DataFrame:
    """Minutes from each settlement to the ``k_nearest`` places of its own county.

    Computed county by county, so that a crowd of places just across a county line never
    pushes a settlement's own county's schools off its list. The places are ``schools``
    (by ``school_id``) and candidate ``sites`` (by ``place_id``), each with ``region_id``
    and a point geometry. Returns ``place_id, demand_id, minutes, distance_km``, sorted by
    settlement then minutes.
    """
    columns = ["place_id", "region_id", "geometry"]
    schools = schools.rename(columns={"school_id": "place_id"})[columns]
    places = gpd.GeoDataFrame(pd.concat([schools, sites[columns]]), crs=schools.crs)
    cutoff = {"cutoff_min": cutoff_min} if cutoff_min is not None else {}
    settings = TravelQuery(**{**scenario.travel.model_dump(), **cutoff}, k_nearest=k_nearest)
    roads = None
    if dataset.has_roads and settings.method != "straight_line":
        assert dataset.road_nodes is not None and dataset.road_edges is not None
        roads = RoadGraph.from_tables(dataset.road_nodes, dataset.road_edges)
    demand = dataset.demand
    tables = []
    for region_id, mine in places.groupby("region_id", sort=True):
        settlements = demand[demand["region_id"] == region_id]
        if settlements.empty:
            continue
        tables.append(
            travel_times(
                mine.reset_index(drop=True),
                settlements.reset_index(drop=True),
                settings,
                origin_id="place_id",
                roads=roads,
                cache_dir=Path(settings.cache_dir),
            )
        )
    columns = ["place_id", "demand_id", "minutes", "distance_km"]
    if not tables:
        return pd.DataFrame(columns=columns)
    table = pd.concat(tables, ignore_index=True).rename(columns={"origin_id": "place_id"})
    return table.sort_values(["demand_id", "minutes", "place_id"], ignore_index=True)[columns]


def round_keeping_total(values: pd.Series) -> pd.Series:
    """Whole numbers with the same (rounded) total: floors, then +1 to the largest remainders."""
    floors = np.floor(values.to_numpy(float))
    short = round(float(values.sum())) - int(floors.sum())
    remainder = values.to_numpy(float) - floors
    order = np.lexsort((values.index.to_numpy(), -remainder))  # ties broken by id
    floors[order[:short]] += 1
    return pd.Series(floors.astype(np.int64), index=values.index)


def change_row(
    action: str,
    school_id: str = "",
    *,
    target: str = "",
    students: float = 0.0,
    unseated_students: float = 0.0,
    beds: float = 0.0,
    minutes: tuple[float, float] = (np.nan, np.nan),
    reason: str = "",
) -> dict:
    """A change row as the runner's change table reads it: ``students`` moved by the
    action, ``unseated_students`` a shortfall leaves without a seat, ``minutes`` the mean
    trip of the students moved before and after (nan where none is known). The runner adds
    the school's register, horizon and after figures."""
    return {
        "action": action,
        "school_id": school_id,
        "target_id": target,
        "students_moved": students,
        "students_unseated": unseated_students,
        "beds_added": beds,
        "minutes": minutes,
        "reason": reason,
    }


def site_names(dataset: Dataset, sites: pd.DataFrame, labels: object) -> list[str]:
    """Names for candidate sites: the settlement they stand in, what would be built there
    (``labels``, one or one per site) and the site id, e.g. 某村新建公办幼儿园（S0012）."""
    host = sites["demand_id"].astype(str) if "demand_id" in sites else None
    place: object = ""
    if "name" in dataset.demand and host is not None:
        place = dataset.demand.set_index("demand_id")["name"].reindex(host).fillna("").to_numpy()
    parts = zip(
        np.broadcast_to(place, len(sites)),
        np.broadcast_to(labels, len(sites)),
        sites["site_id"],
        strict=True,
    )
    return [f"{p}{label}（{s}）" for p, label, s in parts]
