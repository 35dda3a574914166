"""The offline background of the review maps, drawn from the data set itself: main roads,
settlements, and county and prefecture names. Written once per run as ``background.js``
beside the maps, which load it, so every page stays small and reads with no network."""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from layoutopt.data.dataset import Dataset
from layoutopt.report.map_elements import script_json

FILE = "background.js"
# Road classes drawn (the rest, rural and urban lanes, would bury the data): colour, weight.
MAIN_ROADS = {
    "expressway": ("#e08214", 2.5),
    "national": ("#f1a340", 2.0),
    "provincial": ("#b2abd2", 1.5),
    "county": ("#cccccc", 1.0),
}
SETTLEMENT_RADIUS = {"urban": 3.0, "town": 2.0, "village": 1.0}
DIGITS = 4  # about 10 m: plenty for a background


def background_js(dataset: Dataset) -> str:
    """``window.layoutopt_background = {...}`` for the data set."""
    demand = dataset.demand
    kinds = list(SETTLEMENT_RADIUS)
    kind = demand["kind"].map({k: i for i, k in enumerate(kinds)}).fillna(len(kinds) - 1)
    data = {
        "settlement_radius": list(SETTLEMENT_RADIUS.values()),
        "settlements": _rows(demand.geometry.x, demand.geometry.y, kind.astype(int)),
        "road_colour": [c for c, _ in MAIN_ROADS.values()],
        "road_weight": [w for _, w in MAIN_ROADS.values()],
        "roads": _roads(dataset),
        "counties": _labels(dataset.regions, "name"),
        "prefectures": _labels(
            dataset.regions.dissolve("prefecture_name").reset_index(), "prefecture_name"
        ),
    }
    return f"window.layoutopt_background = {script_json(data)};\n"


def _rows(*columns) -> list[list]:
    return [[_value(v) for v in values] for values in zip(*columns, strict=True)]


def _value(v: object) -> object:
    if isinstance(v, float | np.floating):
        return round(float(v), DIGITS)
    return int(v) if isinstance(v, np.integer) else v


def _roads(dataset: Dataset) -> list[list]:
    if dataset.road_nodes is None or dataset.road_edges is None:
        return []
    nodes = dataset.road_nodes.set_index("node_id").geometry
    edges = dataset.road_edges[dataset.road_edges["road_class"].isin(MAIN_ROADS)]
    a, b = nodes.reindex(edges["from_node"]), nodes.reindex(edges["to_node"])
    known = a.notna().to_numpy() & b.notna().to_numpy()
    classes = edges["road_class"].map({c: i for i, c in enumerate(MAIN_ROADS)})
    return _rows(
        a.x.to_numpy()[known],
        a.y.to_numpy()[known],
        b.x.to_numpy()[known],
        b.y.to_numpy()[known],
        classes.to_numpy()[known].astype(int).tolist(),
    )


def _labels(regions: gpd.GeoDataFrame, column: str) -> list[list]:
    points = regions.geometry.representative_point()
    return _rows(
        points.x.to_numpy(np.float64).tolist(),
        points.y.to_numpy(np.float64).tolist(),
        regions[column].astype(str).tolist(),
    )
