"""Travel times: hand-computed paths, agreement with networkx, and invariants."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from layoutopt.data.build.roads import gabriel_edges
from layoutopt.geo.distance import great_circle_m
from layoutopt.geo.travel import RoadGraph, TravelQuery, cut_off_settlements, travel_times

# A tiny graph on the equator. Minutes: A-B 1.2, B-C 2.4, A-D 3.0, D-C 1.0.
NODES = {"A": (110.00, 0.0), "B": (110.01, 0.0), "C": (110.02, 0.0), "D": (110.01, 0.01)}
EDGES = [("A", "B", 1200, 60), ("B", "C", 1200, 30), ("A", "D", 3000, 60), ("D", "C", 1600, 96)]


def points(ids: list[str], coords: list[tuple[float, float]], id_column: str, **extra):
    return gpd.GeoDataFrame(
        {id_column: ids, **extra}, geometry=[Point(x, y) for x, y in coords], crs="EPSG:4326"
    )


def tiny_graph() -> RoadGraph:
    nodes = points(list(NODES), list(NODES.values()), "node_id")
    edges = pd.DataFrame(EDGES, columns=["from_node", "to_node", "length_m", "speed_kmh"])
    return RoadGraph.from_tables(nodes, edges)


def demand_at(names: list[str], kind: str = "village") -> gpd.GeoDataFrame:
    return points(names, [NODES[n] for n in names], "demand_id", kind=[kind] * len(names))


def sites_at(names: list[str]) -> gpd.GeoDataFrame:
    return points([f"S{n}" for n in names], [NODES[n] for n in names], "site_id")


def minutes(table: pd.DataFrame, origin: str, demand: str) -> float:
    row = table[(table.origin_id == origin) & (table.demand_id == demand)]
    assert len(row) == 1, table
    return float(row.minutes.iloc[0])


def test_hand_computed_shortest_path():
    table = travel_times(
        sites_at(["A"]),
        demand_at(["C", "D", "B"]),
        TravelQuery(method="road"),
        origin_id="site_id",
        roads=tiny_graph(),
    )
    assert minutes(table, "SA", "C") == pytest.approx(3.6)  # A-B-C, not A-D-C (4.0)
    assert minutes(table, "SA", "D") == pytest.approx(3.0)
    assert minutes(table, "SA", "B") == pytest.approx(1.2)


def test_zero_to_own_location():
    table = travel_times(
        sites_at(["B"]),
        demand_at(["B"]),
        TravelQuery(method="road"),
        origin_id="site_id",
        roads=tiny_graph(),
    )
    assert minutes(table, "SB", "B") == 0.0


def test_k_nearest_and_cutoff():
    roads = tiny_graph()
    one = travel_times(
        sites_at(["A", "C"]),
        demand_at(["B"]),
        TravelQuery(method="road", k_nearest=1),
        origin_id="site_id",
        roads=roads,
    )
    assert one[["origin_id", "minutes"]].values.tolist() == [["SA", 1.2]]
    cut = travel_times(
        sites_at(["A"]),
        demand_at(["B", "C"]),
        TravelQuery(method="road", cutoff_min=2.0),
        origin_id="site_id",
        roads=roads,
    )
    assert cut["demand_id"].tolist() == ["B"]


def test_straight_line_by_hand():
    table = travel_times(
        sites_at(["A"]),
        demand_at(["B"], kind="village"),
        TravelQuery(method="straight_line"),
        origin_id="site_id",
    )
    metres = great_circle_m(110.0, 0.0, 110.01, 0.0)  # 1,111.95 m
    assert minutes(table, "SA", "B") == pytest.approx(metres / 1000 * 1.3 / 35 * 60, abs=1e-3)


def test_road_method_without_roads_is_a_clear_error():
    from layoutopt.errors import LayoutoptError

    with pytest.raises(LayoutoptError, match="no road graph"):
        travel_times(
            sites_at(["A"]), demand_at(["B"]), TravelQuery(method="road"), origin_id="site_id"
        )


def test_cache_is_reused(tmp_path):
    args = (sites_at(["A"]), demand_at(["C"]), TravelQuery(method="road"))
    first = travel_times(*args, origin_id="site_id", roads=tiny_graph(), cache_dir=tmp_path)
    files = list(tmp_path.glob("travel-*.parquet"))
    assert len(files) == 1
    second = travel_times(*args, origin_id="site_id", roads=tiny_graph(), cache_dir=tmp_path)
    pd.testing.assert_frame_equal(first, second)
    other = travel_times(
        sites_at(["B"]),
        demand_at(["C"]),
        TravelQuery(method="road"),
        origin_id="site_id",
        roads=tiny_graph(),
        cache_dir=tmp_path,
    )
    assert len(list(tmp_path.glob("travel-*.parquet"))) == 2
    assert minutes(other, "SB", "C") == pytest.approx(2.4)  # B-C, not B-A-D-C (5.2)


def test_one_graph_serves_every_area_as_a_fresh_one_would(tmp_path):
    """A programme asks one graph for county after county; what the graph keeps from one
    (its nearest-node tree, pieces and fingerprint) must not change the next's table or
    cache file."""
    shared = tiny_graph()
    for sites, places in ((["A"], ["C", "D"]), (["B", "D"], ["A", "C"]), (["C"], ["B"])):
        args = (sites_at(sites), demand_at(places), TravelQuery(method="road"))
        reused = travel_times(*args, origin_id="site_id", roads=shared, cache_dir=tmp_path / "a")
        fresh = travel_times(
            *args, origin_id="site_id", roads=tiny_graph(), cache_dir=tmp_path / "b"
        )
        pd.testing.assert_frame_equal(reused, fresh)
    names = [sorted(p.name for p in (tmp_path / d).iterdir()) for d in ("a", "b")]
    assert len(names[0]) == 3 and names[0] == names[1]


def random_network(seed: int, n: int = 40):
    rng = np.random.default_rng(seed)
    lon = 112 + rng.uniform(0, 0.3, n)
    lat = 37 + rng.uniform(0, 0.3, n)
    pairs = gabriel_edges(lon, lat)
    speeds = rng.choice([30.0, 60.0, 90.0], len(pairs))
    lengths = great_circle_m(
        lon[pairs[:, 0]], lat[pairs[:, 0]], lon[pairs[:, 1]], lat[pairs[:, 1]]
    ) * rng.uniform(1.0, 1.5, len(pairs))
    ids = [f"N{i}" for i in range(n)]
    nodes = points(ids, list(zip(lon, lat, strict=True)), "node_id")
    edges = pd.DataFrame(
        {
            "from_node": [ids[a] for a in pairs[:, 0]],
            "to_node": [ids[b] for b in pairs[:, 1]],
            "length_m": lengths,
            "speed_kmh": speeds,
        }
    )
    return nodes, edges, lon, lat


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_invariants_and_agreement_with_networkx(seed):
    nodes, edges, lon, lat = random_network(seed)
    roads = RoadGraph.from_tables(nodes, edges)
    sites = points(
        [f"S{i}" for i in range(0, 40, 5)], list(zip(lon[::5], lat[::5], strict=True)), "site_id"
    )
    demand = points(
        list(nodes["node_id"]),
        list(zip(lon, lat, strict=True)),
        "demand_id",
        kind=["village"] * len(lon),
    )
    wide = TravelQuery(method="road", k_nearest=len(sites), cutoff_min=10_000)
    table = travel_times(sites, demand, wide, origin_id="site_id", roads=roads)

    graph = nx.Graph()
    for e in edges.itertuples():
        graph.add_edge(e.from_node, e.to_node, minutes=e.length_m / 1000 / e.speed_kmh * 60)
    for site in range(0, 40, 5):
        paths = nx.single_source_dijkstra_path_length(graph, f"N{site}", weight="minutes")
        for target, expected in paths.items():
            straight = great_circle_m(
                lon[site], lat[site], lon[int(target[1:])], lat[int(target[1:])]
            )
            walk = straight / 1000 * wide.circuity / wide.access_speed_kmh * 60
            got = minutes(table, f"S{site}", target)
            assert got == pytest.approx(min(expected, walk), abs=2e-3)

    assert (table["minutes"] >= 0).all()
    top_speed = max(edges["speed_kmh"].max(), wide.access_speed_kmh)
    floor = table["distance_km"] / top_speed * 60
    assert (table["minutes"] >= floor - 2e-3).all()
    own = table[table["origin_id"].str[1:] == table["demand_id"].str[1:]]
    assert (own["minutes"] == 0).all() and len(own) == len(sites)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=6))
def test_straight_line_keeps_the_k_nearest(seed, k):
    rng = np.random.default_rng(seed)
    site_xy = list(zip(112 + rng.uniform(0, 1, 15), 37 + rng.uniform(0, 1, 15), strict=True))
    demand_xy = list(zip(112 + rng.uniform(0, 1, 30), 37 + rng.uniform(0, 1, 30), strict=True))
    sites = points([f"S{i:02d}" for i in range(15)], site_xy, "site_id")
    demand = points([f"D{i:02d}" for i in range(30)], demand_xy, "demand_id", kind=["town"] * 30)
    table = travel_times(
        sites,
        demand,
        TravelQuery(method="straight_line", k_nearest=k, cutoff_min=10_000),
        origin_id="site_id",
    )
    assert (table.groupby("demand_id").size() == k).all()
    for d, (x, y) in enumerate(demand_xy):
        dist = great_circle_m(np.array(site_xy)[:, 0], np.array(site_xy)[:, 1], x, y)
        expected = sorted(dist)[:k]
        got = table[table.demand_id == f"D{d:02d}"]["distance_km"].to_numpy() * 1000
        np.testing.assert_allclose(np.sort(got), expected, atol=0.1)


def test_a_place_off_the_road_network_goes_by_straight_line():
    # Hand case: a fifth node E, 0.05° north of A with no edge, is a separate piece of the
    # graph. A village at E reaches A by straight line: 5.56 km x 1.3 at 35 km/h = 12.4
    # min (walking there at 5 km/h would take 86.7 min), not "unreachable".
    nodes = points([*NODES, "E"], [*NODES.values(), (110.0, 0.05)], "node_id")
    edges = pd.DataFrame(EDGES, columns=["from_node", "to_node", "length_m", "speed_kmh"])
    roads = RoadGraph.from_tables(nodes, edges)
    village = points(["E"], [(110.0, 0.05)], "demand_id", kind=["village"])
    query = TravelQuery(method="road", speed_kmh={"village": 35.0}, circuity=1.3)
    table = travel_times(sites_at(["A"]), village, query, origin_id="site_id", roads=roads)
    km = great_circle_m(110.0, 0.0, 110.0, 0.05) / 1000
    assert minutes(table, "SA", "E") == pytest.approx(km * 1.3 / 35 * 60, abs=0.01)  # 2 decimals


def test_settlements_apart_from_the_main_network_are_told_apart():
    # Hand case: E has no edge at all; F-G is a road of its own, apart from A-B-C-D.
    coords = {**NODES, "E": (110.0, 0.05), "F": (110.1, 0.0), "G": (110.1, 0.01)}
    nodes = points(list(coords), list(coords.values()), "node_id")
    edges = pd.DataFrame(
        [*EDGES, ("F", "G", 1100, 30)], columns=["from_node", "to_node", "length_m", "speed_kmh"]
    )
    roads = RoadGraph.from_tables(nodes, edges)
    village = points(list(coords), list(coords.values()), "demand_id", kind=["village"] * 7)
    cut = cut_off_settlements(village, roads, TravelQuery(method="road"))
    assert cut == {"no_edge": ["E"], "separate": ["F", "G"]}


def plant_settlements_without_edges(data: Path, n: int) -> list[str]:
    """Removes every edge of n settlements' road nodes (the tiny province has a node at
    each settlement); returns their ids."""
    import pyogrio

    path = data / "roads.gpkg"
    nodes, edges = gpd.read_file(path, layer="nodes"), gpd.read_file(path, layer="edges")
    cut = sorted(nodes["node_id"])[::40][:n]
    kept = edges[~edges["from_node"].isin(cut) & ~edges["to_node"].isin(cut)]
    assert len(kept) < len(edges)
    path.unlink()
    nodes.to_file(path, layer="nodes", driver="GPKG")
    pyogrio.write_dataframe(kept, path, layer="edges", driver="GPKG")
    return cut


def test_settlements_at_a_node_without_edges_are_named_by_validate_and_the_plan(
    tiny_copy, tmp_path
):
    from typer.testing import CliRunner

    from conftest import run_plan, write_scenario
    from layoutopt.cli import app
    from layoutopt.scenario import load_scenario

    cut = plant_settlements_without_edges(tiny_copy, 20)
    assert len(cut) == 20
    said = f"roads: 20 settlement(s) ({', '.join(cut[:10])} and 10 more) are at a road node"
    scenario = write_scenario(
        tmp_path / "s.toml", tiny_copy, f'[travel]\ncache_dir = "{(tmp_path / "c").as_posix()}"\n'
    )
    result = CliRunner().invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 0, result.output
    assert said in " ".join(result.output.split())  # the terminal wraps long lines
    manifest = run_plan(load_scenario(scenario), tmp_path / "out", only=["highschool"])
    noted = [note for note in manifest["notes"] if note.startswith("roads:")]
    assert len(noted) == 1 and noted[0].startswith(said), noted
    assert "(fix: add the edges that reach these nodes" in noted[0]
