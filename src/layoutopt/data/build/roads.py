"""A synthetic road graph among settlements, by a documented method.

1. Local roads: the Gabriel graph of all settlements (an edge joins two settlements when
   no third lies inside the circle on that edge as diameter). It is sparse, connected
   (it contains the minimum spanning tree) and looks like a road mesh. Its class follows
   the ends: any village end, a ``rural`` road; urban to urban, an ``urban`` street;
   otherwise a ``county`` road.
2. Provincial roads: each town centre straight to its county seat (the first urban unit).
3. National roads: the Gabriel graph of county seats.
4. Expressways: the minimum spanning tree of prefecture seats (the most populous county
   seat of each prefecture).

Edges are stored without geometry (each is straight between its two nodes). Length
is the great-circle distance × the circuity of the road class; speeds by class
are calibration parameters.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree

from layoutopt.data.calibration import Calibration
from layoutopt.data.io import WGS84
from layoutopt.geo.distance import great_circle_m, local_xy_km


def make_roads(demand: gpd.GeoDataFrame, cal: Calibration) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    lon = demand.geometry.x.to_numpy()
    lat = demand.geometry.y.to_numpy()
    kind = demand["kind"].to_numpy()
    edges = [_local_roads(lon, lat, kind)]
    seats = _county_seats(demand)
    edges.append(_provincial_roads(demand, seats))
    seat_rows = seats.to_numpy()
    national = gabriel_edges(lon[seat_rows], lat[seat_rows])
    edges.append(
        pd.DataFrame(
            {
                "a": seat_rows[national[:, 0]],
                "b": seat_rows[national[:, 1]],
                "road_class": "national",
            }
        )
    )
    edges.append(_expressways(demand, seats))
    table = pd.concat(edges, ignore_index=True)
    table = _dedupe(table)
    return _nodes(demand), _edges(table, demand, lon, lat, cal)


def gabriel_edges(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Pairs (i, j), i < j, of the Gabriel graph of the points."""
    xy = local_xy_km(lon, lat)
    if len(xy) < 2:
        return np.empty((0, 2), dtype=int)
    if len(xy) < 4:
        pairs = np.array([(i, j) for i in range(len(xy)) for j in range(i + 1, len(xy))])
    else:
        tri = Delaunay(xy)
        s = tri.simplices
        pairs = np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
        pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    mid = (xy[pairs[:, 0]] + xy[pairs[:, 1]]) / 2
    half = np.linalg.norm(xy[pairs[:, 0]] - xy[pairs[:, 1]], axis=1) / 2
    dist, idx = cKDTree(xy).query(mid, k=min(3, len(xy)))
    dist, idx = np.atleast_2d(dist), np.atleast_2d(idx)
    is_end = (idx == pairs[:, [0]]) | (idx == pairs[:, [1]])
    blocked = ((dist < half[:, None] * (1 - 1e-9)) & ~is_end).any(axis=1)
    return pairs[~blocked]


def _local_roads(lon, lat, kind) -> pd.DataFrame:
    pairs = gabriel_edges(lon, lat)
    a, b = kind[pairs[:, 0]], kind[pairs[:, 1]]
    road_class = np.where(
        (a == "village") | (b == "village"),
        "rural",
        np.where((a == "urban") & (b == "urban"), "urban", "county"),
    )
    return pd.DataFrame({"a": pairs[:, 0], "b": pairs[:, 1], "road_class": road_class})


def _county_seats(demand: pd.DataFrame) -> pd.Series:
    """Row of each county's seat: its first urban unit (the core drawn at the seat)."""
    urban = demand[demand["kind"] == "urban"]
    rows = pd.Series(np.arange(len(demand)), index=demand.index)[urban.index]
    return rows.groupby(urban["region_id"]).first()


def _provincial_roads(demand: pd.DataFrame, seats: pd.Series) -> pd.DataFrame:
    towns = np.flatnonzero(demand["kind"].to_numpy() == "town")
    seat = seats.reindex(demand["region_id"].to_numpy()[towns]).to_numpy()
    keep = ~pd.isna(seat)
    return pd.DataFrame({"a": towns[keep], "b": seat[keep].astype(int), "road_class": "provincial"})


def _expressways(demand: pd.DataFrame, seats: pd.Series) -> pd.DataFrame:
    county_pop = demand.groupby("region_id")["population"].sum()
    prefecture = pd.Series(seats.index.str[:4], index=seats.index)
    biggest = county_pop.reindex(seats.index).groupby(prefecture).idxmax()
    rows = seats[biggest.to_numpy()].to_numpy()
    if len(rows) < 2:
        return pd.DataFrame(columns=["a", "b", "road_class"])
    lon, lat = demand.geometry.x.to_numpy()[rows], demand.geometry.y.to_numpy()[rows]
    i, j = np.triu_indices(len(rows), 1)
    weights = great_circle_m(lon[i], lat[i], lon[j], lat[j])
    tree = minimum_spanning_tree(coo_matrix((weights, (i, j)), shape=(len(rows),) * 2)).tocoo()
    return pd.DataFrame({"a": rows[tree.row], "b": rows[tree.col], "road_class": "expressway"})


def _dedupe(table: pd.DataFrame) -> pd.DataFrame:
    """One edge per pair and class; the fastest class wins where two coincide."""
    table = table[table["a"] != table["b"]].copy()
    lo, hi = np.minimum(table.a, table.b), np.maximum(table.a, table.b)
    table["a"], table["b"] = lo.astype(int), hi.astype(int)
    return (
        table.drop_duplicates(["a", "b", "road_class"])
        .sort_values(["a", "b", "road_class"], kind="stable")
        .reset_index(drop=True)
    )


def _nodes(demand: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"node_id": demand["demand_id"].to_numpy(), "demand_id": demand["demand_id"].to_numpy()},
        geometry=demand.geometry.to_numpy(),
        crs=WGS84,
    )


def _edges(table, demand, lon, lat, cal: Calibration) -> pd.DataFrame:
    """Edges as a plain table: each is straight between its nodes, so no geometry is stored."""
    a, b = table["a"].to_numpy(), table["b"].to_numpy()
    circuity = table["road_class"].map(cal.roads.circuity).to_numpy(float)
    ids = demand["demand_id"].to_numpy()
    return pd.DataFrame(
        {
            "edge_id": [f"E{k:06d}" for k in range(len(table))],
            "from_node": ids[a],
            "to_node": ids[b],
            "length_m": np.round(great_circle_m(lon[a], lat[a], lon[b], lat[b]) * circuity, 1),
            "speed_kmh": table["road_class"].map(cal.roads.speed_kmh).to_numpy(float),
            "road_class": table["road_class"].to_numpy(),
        }
    )
