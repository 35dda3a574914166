"""Helpers every programme shares: travel between places of one data set."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.data.dataset import Dataset
from layoutopt.engine import SolverOptions
from layoutopt.geo.travel import RoadGraph, travel_times
from layoutopt.results import CHANGE_COLUMNS
from layoutopt.scenario import Scenario


def solver_options(scenario: Scenario) -> SolverOptions:
    """The engine's options from the scenario's [solver] section."""
    solver = scenario.solver
    return SolverOptions(
        backend=solver.backend,
        time_limit_s=solver.time_limit_s,
        mip_gap=solver.mip_gap,
        threads=solver.threads,
    )


def travel_within_county(
    dataset: Dataset,
    scenario: Scenario,
    places: gpd.GeoDataFrame,
    *,
    k_nearest: int,
    cutoff_min: float | None = None,
) -> pd.DataFrame:
    """Minutes from each settlement to the ``k_nearest`` places of its own county.

    Computed county by county, so that a crowd of places just across a county line never
    pushes a settlement's own county's schools off its list. ``places`` needs
    ``place_id``, ``region_id`` and a point geometry. Returns ``place_id, demand_id,
    minutes, distance_km``, sorted by settlement then minutes.
    """
    update: dict[str, float] = {"k_nearest": k_nearest}
    if cutoff_min is not None:
        update["cutoff_min"] = cutoff_min
    settings = scenario.travel.model_copy(update=update)
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


def changes_table(
    rows: list[dict],
    regions: pd.DataFrame,
    names: pd.Series,
    programme: str,
    action_order: list[str],
) -> pd.DataFrame:
    """A programme's change rows (each with ``region_id`` and ``minutes`` = (before, after))
    as CHANGE_COLUMNS: names, county and prefecture filled in, whole numbers, stable order."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    by_region = regions.set_index("region_id")
    frame["programme"] = programme
    frame["school_name"] = names.reindex(frame["school_id"]).fillna("").to_numpy()
    frame["target_name"] = names.reindex(frame["target_id"]).fillna("").to_numpy()
    frame["county"] = by_region["county"].reindex(frame["region_id"]).to_numpy()
    frame["prefecture"] = by_region["prefecture"].reindex(frame["region_id"]).to_numpy()
    frame["travel_min_before"] = [round(m[0], 1) for m in frame["minutes"]]
    frame["travel_min_after"] = [round(m[1], 1) for m in frame["minutes"]]
    for column in ("students_moved", "beds_added", "streams_before", "streams_after"):
        frame[column] = frame[column].astype(float).round().astype("Int64")
    frame["order"] = frame["action"].map(action_order.index)
    frame = frame.sort_values(["region_id", "order", "school_id"], kind="stable")
    return frame[CHANGE_COLUMNS].reset_index(drop=True)
