"""Travel times from sites (schools, candidate sites) to settlements, kept sparse.

Two methods:

* ``road``: shortest paths on the data set's road graph. Each site and settlement is
  joined to its nearest road node by a straight access leg at ``access_speed_kmh``;
  Dijkstra runs from the sites' nodes (scipy's compiled implementation, cut off at
  ``cutoff_min``), in batches so memory stays flat. Two places on separate pieces of
  the graph go by straight line, as below (``cut_off_settlements`` lists them).
* ``straight_line``: great-circle distance × ``circuity`` ÷ the speed of the settlement's
  kind, for data sets without roads.

Either way only the ``k_nearest`` sites per settlement within ``cutoff_min`` are kept,
and the table is cached on disk under a key made of the inputs' hashes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import Field
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from layoutopt.data.dataset import Dataset
from layoutopt.errors import LayoutoptError
from layoutopt.geo.distance import chord_to_m, great_circle_m, unit_vectors
from layoutopt.scenario import TravelSettings


class TravelQuery(TravelSettings):
    """The scenario's travel settings and how many sites each settlement keeps, which the
    programme asking decides (its ``k_nearest``)."""

    k_nearest: int = Field(8, ge=1, description="Sites kept per settlement.")


COLUMNS = ["origin_id", "demand_id", "minutes", "distance_km"]
BATCH = 256  # Dijkstra sources per batch: 256 × 100k nodes × 8 bytes = 200 MB at most
CACHE_VERSION = "2"  # 2: pairs on separate pieces of the road graph go by straight line


@dataclass(frozen=True)
class RoadGraph:
    """A road graph as node positions and a sparse matrix of edge minutes."""

    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    minutes: csr_matrix
    top_speed_kmh: float

    # A programme asks for travel county by county on one province's graph: what depends
    # on the graph alone is worked out once (the cached properties), not once a county.

    def components(self) -> np.ndarray:
        """The piece of the graph (connected, edges taken both ways) each node is on."""
        return self._components

    @cached_property
    def _components(self) -> np.ndarray:
        _, labels = connected_components(self.minutes, directed=False)
        return labels

    @cached_property
    def tree(self) -> cKDTree:
        """The nodes on the unit sphere, to find a point's nearest node."""
        return cKDTree(unit_vectors(self.lon, self.lat))

    @cached_property
    def fingerprint(self) -> bytes:
        """A digest of the graph's node ids and edges, as the travel cache's key takes
        them (hashed once: a key is made for every county of every programme)."""
        digest = hashlib.sha256()
        for part in (
            self.node_ids.astype(str).astype(bytes).tobytes(),
            self.minutes.data.tobytes(),
            self.minutes.indices.tobytes(),
        ):
            digest.update(part)
        return digest.digest()

    @classmethod
    def from_tables(cls, nodes: pd.DataFrame, edges: pd.DataFrame) -> RoadGraph:
        index = pd.Index(nodes["node_id"].astype(str))
        a = index.get_indexer(edges["from_node"].astype(str))
        b = index.get_indexer(edges["to_node"].astype(str))
        if (a < 0).any() or (b < 0).any():
            raise LayoutoptError("road edges refer to nodes that are not in the nodes layer")
        minutes = edges["length_m"].to_numpy(float) / 1000 / edges["speed_kmh"].to_numpy(float)
        minutes = minutes * 60
        n = len(index)
        # Two-way roads; where two edges join the same nodes the faster one counts.
        matrix = coo_matrix((np.r_[minutes, minutes], (np.r_[a, b], np.r_[b, a])), shape=(n, n))
        fastest = _min_duplicates(matrix)
        geometry = nodes.geometry
        return cls(
            index.to_numpy(),
            geometry.x.to_numpy(),
            geometry.y.to_numpy(),
            fastest,
            float(edges["speed_kmh"].max()),
        )


def _min_duplicates(matrix: coo_matrix) -> csr_matrix:
    frame = pd.DataFrame({"r": matrix.row, "c": matrix.col, "v": matrix.data})
    frame = frame.groupby(["r", "c"], as_index=False)["v"].min()
    # A zero-length edge would vanish in a sparse matrix; keep it as a tiny positive time.
    values = np.maximum(frame["v"].to_numpy(), 1e-9)
    return csr_matrix((values, (frame["r"], frame["c"])), shape=matrix.shape)


def travel_times(
    origins: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    settings: TravelQuery,
    *,
    origin_id: str,
    roads: RoadGraph | None = None,
    cache_dir: Path | None = None,
) -> pd.DataFrame:
    """Sparse travel table: ``origin_id, demand_id, minutes, distance_km`` (straight line).

    Rows are sorted by demand_id then minutes; each settlement keeps its ``k_nearest``
    origins within ``cutoff_min``.
    """
    method = settings.method
    if method == "road" and roads is None:
        raise LayoutoptError(
            "travel.method is 'road' but the data set has no road graph "
            "(fix: add roads.gpkg or set travel.method = 'straight_line')"
        )
    use_roads = roads is not None and method != "straight_line"
    key = travel_key(origins, demand, settings, origin_id, roads if use_roads else None)

    def compute() -> pd.DataFrame:
        if use_roads:
            assert roads is not None
            return _road_times(origins, demand, settings, origin_id, roads)
        return _straight_times(origins, demand, settings, origin_id)

    return cached_table(cache_dir, "travel", key, compute)


def cached_table(
    cache_dir: Path | None, kind: str, key: str, compute: Callable[[], pd.DataFrame]
) -> pd.DataFrame:
    """The table cached as ``cache_dir/KIND-KEY.parquet``, computed and cached if absent.
    It is written to a temporary file of its own first: a stopped run never leaves half a
    table, and two runs that compute the same table at once (the cache is the user's,
    shared by every run) each replace it whole."""
    cached = cache_dir / f"{kind}-{key}.parquet" if cache_dir else None
    if cached is not None and cached.is_file():
        return pd.read_parquet(cached)
    table = compute()
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=f".{cached.name}.", suffix=".tmp")
        os.close(fd)
        try:
            table.to_parquet(tmp, index=False)
            os.replace(tmp, cached)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return table


def _straight_times(origins, demand, settings: TravelQuery, origin_id: str) -> pd.DataFrame:
    kinds = demand["kind"].to_numpy()
    unknown = sorted(set(kinds) - set(settings.speed_kmh))
    if unknown:
        raise LayoutoptError(f"travel.speed_kmh has no speed for settlement kind(s) {unknown}")
    speed = pd.Series(settings.speed_kmh).reindex(kinds).to_numpy(float)
    k = min(settings.k_nearest, len(origins))
    reach_m = settings.cutoff_min / 60 * max(settings.speed_kmh.values()) * 1000
    reach_chord = 2 * np.sin(min(reach_m / 6_371_008.8 / 2, np.pi / 2))
    tree = cKDTree(unit_vectors(origins.geometry.x, origins.geometry.y))
    chord, idx = tree.query(
        unit_vectors(demand.geometry.x, demand.geometry.y), k=k, distance_upper_bound=reach_chord
    )
    chord, idx = chord.reshape(len(demand), k), idx.reshape(len(demand), k)
    found = np.isfinite(chord)
    metres = chord_to_m(np.where(found, chord, 0.0))
    minutes = metres * settings.circuity / 1000 / speed[:, None] * 60
    rows, cols = np.nonzero(found & (minutes <= settings.cutoff_min))
    return _tidy(
        origins[origin_id].to_numpy()[idx[rows, cols]],
        demand["demand_id"].to_numpy()[rows],
        minutes[rows, cols],
        metres[rows, cols],
    )


def _road_times(
    origins, demand, settings: TravelQuery, origin_id: str, roads: RoadGraph
) -> pd.DataFrame:
    o_node, o_access = _snap(origins, roads, settings)
    d_node, d_access = _snap(demand, roads, settings)
    k = min(settings.k_nearest, len(origins))
    best_t = np.full((len(demand), k), np.inf)
    best_o = np.full((len(demand), k), -1)
    sources, source_of = np.unique(o_node, return_inverse=True)
    direct = _direct_minutes(origins, demand, settings)
    # Two places on separate pieces of the road graph have no road trip: straight line.
    component = roads.components()
    straight = _straight_minutes(origins, demand, settings)
    for start in range(0, len(sources), BATCH):
        batch = sources[start : start + BATCH]
        dist = dijkstra(roads.minutes, directed=True, indices=batch, limit=settings.cutoff_min)
        members = np.flatnonzero((source_of >= start) & (source_of < start + len(batch)))
        # minutes[o, d] for the origins of this batch, as a (demand × origins) block
        block = (
            o_access[members][None, :]
            + dist[source_of[members] - start][:, d_node].T
            + d_access[:, None]
        )
        joined = component[o_node[members]][None, :] == component[d_node][:, None]
        if not joined.all():
            block = np.where(joined, block, straight(members))
        block = np.minimum(block, direct(members))
        best_t, best_o = _keep_best(best_t, best_o, block, members, k)
    rows, cols = np.nonzero(np.isfinite(best_t) & (best_t <= settings.cutoff_min))
    o = best_o[rows, cols]
    metres = great_circle_m(
        origins.geometry.x.to_numpy()[o],
        origins.geometry.y.to_numpy()[o],
        demand.geometry.x.to_numpy()[rows],
        demand.geometry.y.to_numpy()[rows],
    )
    return _tidy(
        origins[origin_id].to_numpy()[o],
        demand["demand_id"].to_numpy()[rows],
        best_t[rows, cols],
        metres,
    )


def _straight_minutes(origins, demand, settings: TravelQuery):
    """Straight line × circuity at the speed of the settlement's kind, a block at a time."""
    kinds = demand["kind"].to_numpy()
    unknown = sorted(set(kinds) - set(settings.speed_kmh))
    if unknown:
        raise LayoutoptError(f"travel.speed_kmh has no speed for settlement kind(s) {unknown}")
    speed = pd.Series(settings.speed_kmh).reindex(kinds).to_numpy(float)
    ox, oy = origins.geometry.x.to_numpy(), origins.geometry.y.to_numpy()
    dx, dy = demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy()

    def block(members: np.ndarray) -> np.ndarray:
        metres = great_circle_m(
            ox[members][None, :], oy[members][None, :], dx[:, None], dy[:, None]
        )
        return metres * settings.circuity / 1000 / speed[:, None] * 60

    return block


def cut_off_settlements(
    demand: gpd.GeoDataFrame, roads: RoadGraph, settings: TravelQuery
) -> dict[str, list[str]]:
    """Settlements off the main piece of the road graph, in two lists: ``no_edge``, those
    whose nearest road node has no edge at all (most likely edges missing from the data),
    and ``separate``, those on a separate piece of joined roads. Their trips to places on
    the main piece are straight line × circuity at the travel speeds."""
    component = roads.components()
    main = np.bincount(component).argmax()
    node, _ = _snap(demand, roads, settings)
    ids = demand["demand_id"].astype(str).to_numpy()
    # The matrix holds each road both ways, so a node's row lists all its edges.
    no_edge = roads.minutes.getnnz(axis=1)[node] == 0
    off = component[node] != main
    return {"no_edge": sorted(ids[no_edge]), "separate": sorted(ids[off & ~no_edge])}


_BUILT: list[tuple[object, object, RoadGraph]] = []  # the last data set's graph


def road_graph(dataset: Dataset) -> RoadGraph:
    """The data set's road graph, built once for a run: every programme's travel tables
    and the road notes read the same one (with its node tree and pieces worked out once)."""
    nodes, edges = dataset.road_nodes, dataset.road_edges
    assert nodes is not None and edges is not None
    if not _BUILT or _BUILT[0][0] is not nodes or _BUILT[0][1] is not edges:
        _BUILT[:] = [(nodes, edges, RoadGraph.from_tables(nodes, edges))]
    return _BUILT[0][2]


def road_notes(dataset: Dataset, travel: TravelSettings) -> list[str]:
    """Notes naming the settlements whose nearest road node has no edge, and those on a
    separate piece of the road network, if any."""
    if not dataset.has_roads or travel.method == "straight_line":
        return []
    roads = road_graph(dataset)
    cut = cut_off_settlements(dataset.demand, roads, TravelQuery(**travel.model_dump()))
    trips = "their trips are straight line × travel.circuity at travel.speed_kmh"
    notes = []
    if cut["no_edge"]:
        notes.append(
            f"roads: {_named(cut['no_edge'])} are at a road node with no edge: {trips} (fix: "
            "add the edges that reach these nodes to roads.gpkg, layer edges)"
        )
    if cut["separate"]:
        notes.append(
            f"roads: {_named(cut['separate'])} are on a piece of road network apart from the "
            f"main one: {trips} (fix: join them with edges in roads.gpkg if they are "
            "reachable by road)"
        )
    return notes


def _named(ids: list[str]) -> str:
    """'N settlement(s) (the first SHOWN ids and M more)'."""
    shown = ", ".join(ids[:SHOWN]) + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")
    return f"{len(ids)} settlement(s) ({shown})"


SHOWN = 10  # settlements named in a note


def _direct_minutes(origins, demand, settings: TravelQuery):
    """Walking straight there (at the access speed) when that beats the road: short trips."""
    ox, oy = origins.geometry.x.to_numpy(), origins.geometry.y.to_numpy()
    dx, dy = demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy()

    def block(members: np.ndarray) -> np.ndarray:
        metres = great_circle_m(
            ox[members][None, :], oy[members][None, :], dx[:, None], dy[:, None]
        )
        return metres * settings.circuity / 1000 / settings.access_speed_kmh * 60

    return block


def _snap(points: gpd.GeoDataFrame, roads: RoadGraph, settings: TravelQuery):
    """Nearest road node of each point and the minutes of the access leg."""
    _, node = roads.tree.query(unit_vectors(points.geometry.x, points.geometry.y))
    metres = great_circle_m(
        points.geometry.x.to_numpy(), points.geometry.y.to_numpy(), roads.lon[node], roads.lat[node]
    )
    return node, metres * settings.circuity / 1000 / settings.access_speed_kmh * 60


def _keep_best(best_t, best_o, block, members, k):
    """Merge a block of candidate times into the running k best per settlement."""
    times = np.concatenate([best_t, block], axis=1)
    owners = np.concatenate([best_o, np.broadcast_to(members, block.shape)], axis=1)
    if times.shape[1] > k:
        part = np.argpartition(times, k - 1, axis=1)[:, :k]
        times = np.take_along_axis(times, part, axis=1)
        owners = np.take_along_axis(owners, part, axis=1)
    return times, owners


def _tidy(origin_ids, demand_ids, minutes, metres) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "origin_id": origin_ids.astype(str),
            "demand_id": demand_ids.astype(str),
            "minutes": np.round(minutes.astype(float), 3),
            "distance_km": np.round(metres.astype(float) / 1000, 4),
        }
    )
    return table.sort_values(["demand_id", "minutes", "origin_id"], kind="stable").reset_index(
        drop=True
    )[COLUMNS]


def travel_key(
    origins,
    demand,
    settings: TravelQuery,
    origin_id: str,
    roads: RoadGraph | None,
    extra: tuple[np.ndarray, ...] = (),
) -> str:
    """The cache key of a travel query: the places' and settlements' ids and points, the
    settlements' kinds, the settings, the road graph's digest and any ``extra`` arrays."""
    digest = hashlib.sha256(CACHE_VERSION.encode())
    for array in extra:
        digest.update(pd.util.hash_array(np.asarray(array, dtype=object).astype(str)).tobytes())
    digest.update(settings.model_dump_json(exclude={"cache_dir"}).encode())
    for frame, ids in ((origins, origin_id), (demand, "demand_id")):
        digest.update(pd.util.hash_pandas_object(frame[ids].astype(str), index=False).to_numpy())
        digest.update(np.ascontiguousarray(frame.geometry.x.to_numpy()).tobytes())
        digest.update(np.ascontiguousarray(frame.geometry.y.to_numpy()).tobytes())
    digest.update(pd.util.hash_pandas_object(demand["kind"].astype(str), index=False).to_numpy())
    if roads is not None:
        digest.update(roads.fingerprint)
    return digest.hexdigest()[:24]
