"""Faults planted in the tiny province that once crashed validation: each is now named by
file, row and column, and nothing raises."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from layoutopt.data.dataset import check_dataset

LAYERS = {"regions": "counties"}  # file stem -> layer, where they differ


def plant(folder: Path, table: str, change) -> None:
    path, layer = folder / f"{table}.gpkg", LAYERS.get(table, table)
    frame = change(gpd.read_file(path, layer=layer))
    frame.to_file(path, layer=layer, driver="GPKG")


def swap_lon_lat(frame):
    frame.loc[0, "geometry"] = Point(frame.geometry.iloc[0].y, frame.geometry.iloc[0].x)
    return frame


def null_geometry(frame):
    frame.loc[0, "geometry"] = None
    return frame


def empty_point(frame):
    frame.loc[0, "geometry"] = Point()
    return frame


def polygon_for_point(frame):
    x, y = frame.geometry.iloc[0].x, frame.geometry.iloc[0].y
    frame.loc[0, "geometry"] = box(x, y, x + 0.01, y + 0.01)
    return frame


def duplicate_region(frame):
    frame.loc[1, "region_id"] = frame.loc[0, "region_id"]
    return frame


FAULTS = [
    ("regions", duplicate_region, "region_id", "duplicate id"),
    ("schools", swap_lon_lat, "geometry", "not longitude/latitude degrees"),
    ("demand", swap_lon_lat, "geometry", "not longitude/latitude degrees"),
    ("demand", null_geometry, "geometry", "no geometry"),
    ("schools", empty_point, "geometry", "no geometry"),
    ("schools", polygon_for_point, "geometry", "a point is expected"),
    ("demand", lambda f: f.iloc[:0], "", "the table has no rows"),
    (
        "sites",
        lambda f: f.assign(max_classes=f["max_classes"].where(f.index > 0, 0)),
        "max_classes",
        "a site for no class",
    ),
]


@pytest.mark.parametrize(("layer", "change", "column", "message"), FAULTS)
def test_a_planted_fault_is_named_not_raised(tiny_copy: Path, layer, change, column, message):
    plant(tiny_copy, layer, change)
    dataset, problems = check_dataset(tiny_copy)
    assert dataset is None
    named = [p for p in problems if message in p.message]
    assert named, [str(p) for p in problems]
    assert all(p.column == column and layer in p.file for p in named)
    if column:
        assert all(p.row for p in named)  # the row is named
    if change is swap_lon_lat:
        assert "swapped" in named[0].fix


def test_an_empty_geopackage_says_it_holds_no_layers(tiny_copy: Path):
    (tiny_copy / "sites.gpkg").write_bytes(b"")
    _, problems = check_dataset(tiny_copy)
    assert any("holds no layers" in p.message and "sites.gpkg" in p.file for p in problems)


def test_a_misnamed_layer_lists_the_layers_found(tiny_copy: Path):
    sites = gpd.read_file(tiny_copy / "sites.gpkg")
    (tiny_copy / "sites.gpkg").unlink()
    sites.to_file(tiny_copy / "sites.gpkg", layer="candidates", driver="GPKG")
    _, problems = check_dataset(tiny_copy)
    named = [p for p in problems if p.message == "layer not found"]
    assert named and "layers found: candidates" in named[0].fix


def test_roads_with_nodes_but_no_edges_are_refused(tiny_copy: Path):
    nodes = gpd.read_file(tiny_copy / "roads.gpkg", layer="nodes")
    (tiny_copy / "roads.gpkg").unlink()
    nodes.to_file(tiny_copy / "roads.gpkg", layer="nodes", driver="GPKG")
    _, problems = check_dataset(tiny_copy)
    assert any(p.message == "layer not found" and p.layer == "edges" for p in problems)


def test_a_gbk_csv_is_named_with_the_fix(tiny_copy: Path):
    schools = gpd.read_file(tiny_copy / "schools.gpkg")
    (tiny_copy / "schools.gpkg").unlink()
    table = schools.drop(columns="geometry").assign(lon=schools.geometry.x, lat=schools.geometry.y)
    table.to_csv(tiny_copy / "schools.csv", index=False, encoding="gbk")
    _, problems = check_dataset(tiny_copy)
    named = [p for p in problems if "not UTF-8" in p.message]
    assert named and "schools.csv" in named[0].file and "UTF-8" in named[0].fix


# Random damage to a valid data set: validation never raises, and whatever it reports
# names the file and says where (row and column) or what (the whole table).
TABLE_LAYERS = {"regions": "counties", "demand": "demand", "schools": "schools", "sites": "sites"}
DAMAGE = [
    "none",
    "nan",
    "negative",
    "huge",
    "text",
    "empty_text",
    "null_geometry",
    "empty_geometry",
    "polygon",
    "swap",
]


def damage(frame: gpd.GeoDataFrame, row: int, column: str, how: str) -> gpd.GeoDataFrame:
    frame = frame.copy()
    row = row % len(frame)
    if how in ("null_geometry", "empty_geometry", "polygon", "swap"):
        geometry = frame.geometry.iloc[row]
        point = geometry.representative_point()
        frame.loc[frame.index[row], "geometry"] = {
            "null_geometry": None,
            "empty_geometry": Point(),
            "polygon": box(point.x, point.y, point.x + 0.01, point.y + 0.01),
            "swap": Point(point.y, point.x),
        }[how]
        return frame
    value = {
        "none": None,
        "nan": float("nan"),
        "negative": -5,
        "huge": 10**12,
        "text": "十二 x",
        "empty_text": "",
    }[how]
    frame[column] = frame[column].astype(object)
    frame.loc[frame.index[row], column] = value
    return frame


@pytest.mark.parametrize("seed", range(3))
def test_random_damage_never_raises_and_is_named(tiny_dataset_dir: Path, tmp_path: Path, seed):
    import random
    import shutil

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(
        max_examples=12,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        table=st.sampled_from(sorted(TABLE_LAYERS)),
        row=st.integers(0, 1000),
        pick=st.integers(0, 100),
        how=st.sampled_from(DAMAGE),
    )
    def check(table, row, pick, how):
        folder = tmp_path / f"case-{random.random()}"
        shutil.copytree(tiny_dataset_dir, folder)
        path, layer = folder / f"{table}.gpkg", TABLE_LAYERS[table]
        frame = gpd.read_file(path, layer=layer)
        columns = [c for c in frame.columns if c != "geometry"]
        column = columns[(pick + seed) % len(columns)]
        damage(frame, row, column, how).to_file(path, layer=layer, driver="GPKG")
        _, problems = check_dataset(folder)  # never raises
        for problem in problems:
            assert problem.file and problem.message
            assert problem.row or problem.column, problem  # where, not just which file
        shutil.rmtree(folder)

    check()
