"""A corpus of planted faults built on the tiny province: every table, the files and the
scenario. Each fault is named (file, layer, row, column, value where one cell is at fault,
and a fix) or, for the scenario, by its key; nothing raises.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point, Polygon, box

from layoutopt.data.dataset import check_dataset
from layoutopt.scenario import ScenarioError, scenario_from_dict

LAYERS = {"regions": "counties", "road_nodes": "nodes", "road_edges": "edges"}
FILES = {"road_nodes": "roads", "road_edges": "roads"}


@dataclass(frozen=True)
class Fault:
    kind: str
    table: str  # a table name of the data contract
    change: Callable[[pd.DataFrame], pd.DataFrame]
    column: str
    message: str
    value: str = ""  # the value the problem must show ("" where none is one cell's)
    row: bool = True  # a problem of a row (else of the whole table or column)


def cell(column: str, value, row: int = 0):
    def change(frame):
        frame = frame.copy()
        if isinstance(value, str) and pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype(object)
        frame.loc[frame.index[row], column] = value
        return frame

    return change


def where(level: str, column: str, value):
    def change(frame):
        frame = frame.copy()
        if isinstance(value, str) and pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype(object)
        frame.loc[frame.index[frame["level"] == level][0], column] = value
        return frame

    return change


def geometry(make):
    def change(frame):
        frame = frame.copy()
        first = frame.geometry.iloc[0]
        frame.loc[frame.index[0], "geometry"] = make(first)
        return frame

    return change


def copy_id(column: str):
    def change(frame):
        frame = frame.copy()
        frame.loc[frame.index[1], column] = frame.loc[frame.index[0], column]
        return frame

    return change


def bow_tie(first):
    x, y = first.centroid.x, first.centroid.y
    return Polygon([(x, y), (x + 0.1, y + 0.1), (x + 0.1, y), (x, y + 0.1)])


SCHOOLS = [
    Fault("duplicate school id", "schools", copy_id("school_id"), "school_id", "duplicate id"),
    Fault("empty school id", "schools", cell("school_id", ""), "school_id", "empty"),
    Fault("unknown level", "schools", cell("level", "college"), "level", "unknown word 'college'"),
    Fault("unknown ownership", "schools", cell("ownership", "state"), "ownership", "unknown word"),
    Fault(
        "unknown quality tier",
        "schools",
        cell("quality_tier", "gold"),
        "quality_tier",
        "unknown word",
    ),
    Fault(
        "unknown county",
        "schools",
        cell("region_id", "999999"),
        "region_id",
        "not a county",
        "'999999'",
    ),
    Fault(
        "enrolment not a number",
        "schools",
        cell("enrolment", "many"),
        "enrolment",
        "not a number",
        "'many'",
    ),
    Fault(
        "enrolment not whole",
        "schools",
        cell("enrolment", "12.5"),
        "enrolment",
        "not a whole number",
        "'12.5'",
    ),
    Fault(
        "negative enrolment", "schools", cell("enrolment", -5), "enrolment", "negative value", "-5"
    ),
    Fault("negative capacity", "schools", cell("capacity", -1), "capacity", "negative value", "-1"),
    Fault("negative teachers", "schools", cell("teachers", -2), "teachers", "negative value", "-2"),
    Fault(
        "negative beds",
        "schools",
        cell("boarding_beds", -3),
        "boarding_beds",
        "negative value",
        "-3",
    ),
    Fault(
        "streams on a primary school",
        "schools",
        where("primary", "streams", 3),
        "streams",
        "streams given for a level without",
        "3",
    ),
    Fault(
        "streams against classes",
        "schools",
        where("senior_high", "streams", 60),
        "streams",
        "streams inconsistent",
        "60",
    ),
    Fault(
        "far over capacity",
        "schools",
        where("primary", "enrolment", 99999),
        "enrolment",
        "more than 1.5 × capacity",
        "99999",
    ),
    Fault(
        "students, no teachers",
        "schools",
        where("junior", "teachers", 0),
        "teachers",
        "no teachers",
        "0",
    ),
    Fault(
        "students, no classes",
        "schools",
        where("junior", "classes", 0),
        "classes",
        "students but no classes",
        "0",
    ),
    Fault(
        "sections do not add up",
        "schools",
        where("junior", "junior_enrolment", 1),
        "enrolment",
        "section enrolments do not add up",
    ),
    Fault(
        "must_keep not a boolean",
        "schools",
        cell("must_keep", "maybe"),
        "must_keep",
        "not true or false",
        "'maybe'",
    ),
    Fault(
        "inclusive not a boolean",
        "schools",
        cell("inclusive", "perhaps"),
        "inclusive",
        "not true or false",
        "'perhaps'",
    ),
    Fault(
        "school in Beijing",
        "schools",
        geometry(lambda p: Point(116.39, 39.91)),
        "geometry",
        "outside",
    ),
    Fault(
        "school lon/lat swapped",
        "schools",
        geometry(lambda p: Point(p.y, p.x)),
        "geometry",
        "not longitude/latitude",
    ),
    Fault(
        "school without geometry", "schools", geometry(lambda p: None), "geometry", "no geometry"
    ),
    Fault(
        "school at an empty point",
        "schools",
        geometry(lambda p: Point()),
        "geometry",
        "no geometry",
    ),
    Fault(
        "school as a polygon",
        "schools",
        geometry(lambda p: box(p.x, p.y, p.x + 0.01, p.y + 0.01)),
        "geometry",
        "a point is expected",
    ),
    Fault(
        "unknown specialty",
        "schools",
        where("vocational", "specialties", "66;99"),
        "specialties",
        "unknown specialty category '99'",
        "'66;99'",
    ),
    Fault(
        "specialty on a primary school",
        "schools",
        where("primary", "specialties", "66"),
        "specialties",
        "not vocational",
        "'66'",
    ),
    Fault(
        "required column missing",
        "schools",
        lambda f: f.drop(columns="enrolment"),
        "enrolment",
        "required column is missing",
        row=False,
    ),
]
REGIONS = [
    Fault("duplicate county", "regions", copy_id("region_id"), "region_id", "duplicate id"),
    Fault("empty county name", "regions", cell("name", ""), "name", "empty"),
    Fault(
        "negative population",
        "regions",
        cell("population_2020", -1),
        "population_2020",
        "negative value",
        "-1",
    ),
    Fault(
        "unknown population quality",
        "regions",
        cell("population_quality", "guess"),
        "population_quality",
        "unknown word",
    ),
    Fault("self-crossing boundary", "regions", geometry(bow_tie), "geometry", "invalid polygon"),
    Fault(
        "county as a point",
        "regions",
        geometry(lambda p: p.centroid),
        "geometry",
        "a polygon is expected",
    ),
]
DEMAND = [
    Fault("duplicate settlement", "demand", copy_id("demand_id"), "demand_id", "duplicate id"),
    Fault(
        "unknown settlement kind", "demand", cell("kind", "hamlet"), "kind", "unknown word 'hamlet'"
    ),
    Fault(
        "settlement of no county",
        "demand",
        cell("region_id", "999999"),
        "region_id",
        "not a county",
        "'999999'",
    ),
    Fault(
        "negative residents",
        "demand",
        cell("population", -10),
        "population",
        "negative value",
        "-10",
    ),
    Fault("negative cohort", "demand", cell("age_5", -1), "age_5", "negative value", "-1"),
    Fault(
        "more children than residents",
        "demand",
        cell("age_5", 10**7),
        "population",
        "more residents aged 0-17",
    ),
    Fault(
        "migrant share as a percentage",
        "demand",
        cell("migrant_share", 30.0),
        "migrant_share",
        "share above 1",
        "30.0",
    ),
    Fault("unknown growth word", "demand", cell("growth", "booming"), "growth", "unknown word"),
    Fault(
        "settlement lon/lat swapped",
        "demand",
        geometry(lambda p: Point(p.y, p.x)),
        "geometry",
        "not longitude/latitude",
    ),
    Fault(
        "settlement without geometry", "demand", geometry(lambda p: None), "geometry", "no geometry"
    ),
    Fault("no settlements", "demand", lambda f: f.iloc[:0], "", "the table has no rows", row=False),
]
SITES = [
    Fault("duplicate site", "sites", copy_id("site_id"), "site_id", "duplicate id"),
    Fault(
        "site for no class",
        "sites",
        cell("max_classes", 0),
        "max_classes",
        "a site for no class",
        "0",
    ),
    Fault("unknown site kind", "sites", cell("kind", "farm"), "kind", "unknown word 'farm'"),
    Fault(
        "site of no county",
        "sites",
        cell("region_id", "999999"),
        "region_id",
        "not a county",
        "'999999'",
    ),
    Fault(
        "site outside its county",
        "sites",
        geometry(lambda p: Point(116.39, 39.91)),
        "geometry",
        "outside",
    ),
]
TEACHERS = [
    Fault(
        "unknown subject",
        "teachers",
        cell("subject", "calligraphy", 2),
        "subject",
        "unknown word 'calligraphy'",
    ),
    Fault(
        "teachers of no school",
        "teachers",
        cell("school_id", "999999-PS999", 4),
        "school_id",
        "not a school",
        "'999999-PS999'",
    ),
    Fault(
        "negative teachers of a subject",
        "teachers",
        cell("teachers", -3, 6),
        "teachers",
        "negative value",
        "-3",
    ),
    Fault(
        "teachers not a number",
        "teachers",
        cell("teachers", "some", 6),
        "teachers",
        "not a number",
        "'some'",
    ),
    Fault(
        "a subject twice",
        "teachers",
        lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True),
        "subject",
        "duplicate school_id and subject",
    ),
]
ROADS = [
    Fault(
        "edge to no node",
        "road_edges",
        cell("to_node", "X999"),
        "to_node",
        "node not in the nodes layer",
        "'X999'",
    ),
    Fault(
        "edge of no length",
        "road_edges",
        cell("length_m", 0.0),
        "length_m",
        "must be above 0",
        "0.0",
    ),
    Fault(
        "edge of no speed",
        "road_edges",
        cell("speed_kmh", -20.0),
        "speed_kmh",
        "must be above 0",
        "-20.0",
    ),
    Fault(
        "unknown road class",
        "road_edges",
        cell("road_class", "track"),
        "road_class",
        "unknown word 'track'",
    ),
    Fault("duplicate node", "road_nodes", copy_id("node_id"), "node_id", "duplicate id"),
]
DATA_FAULTS = SCHOOLS + REGIONS + DEMAND + SITES + TEACHERS + ROADS


def rewrite(folder: Path, table: str, change) -> None:
    """Apply ``change`` to one layer of the tiny province, keeping the file's other layers."""
    path = folder / f"{FILES.get(table, table)}.gpkg"
    layers = [name for name, _ in pyogrio.list_layers(path)]
    frames = {name: pyogrio.read_dataframe(path, layer=name) for name in layers}
    frames[LAYERS.get(table, table)] = change(frames[LAYERS.get(table, table)])
    path.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mixed geometry types are what some faults plant
        for name in layers:
            frame = frames[name]
            if isinstance(frame, gpd.GeoDataFrame):
                frame.to_file(path, layer=name, driver="GPKG")
            else:
                pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")


@pytest.mark.parametrize("fault", DATA_FAULTS, ids=lambda f: f.kind)
def test_each_data_fault_is_named_where_it_is(tiny_copy: Path, fault: Fault):
    rewrite(tiny_copy, fault.table, fault.change)
    dataset, problems = check_dataset(tiny_copy)  # never raises
    assert dataset is None
    named = [p for p in problems if fault.message in p.message and p.column == fault.column]
    assert named, "\n".join(p.line() for p in problems)
    problem = named[0]
    assert FILES.get(fault.table, fault.table) in problem.file and problem.fix
    assert problem.layer == LAYERS.get(fault.table, fault.table)
    if fault.row:
        assert problem.row  # the row is named by its id (or feature number)
    if fault.value:
        assert problem.value == fault.value, problem.line()


def test_files_that_cannot_be_read_are_named(tiny_copy: Path):
    # A 0-byte GeoPackage, a misnamed layer, a GBK CSV and a missing table, all at once.
    (tiny_copy / "sites.gpkg").write_bytes(b"")
    frame = pyogrio.read_dataframe(tiny_copy / "teachers.gpkg", layer="teachers")
    (tiny_copy / "teachers.gpkg").unlink()
    pyogrio.write_dataframe(frame, tiny_copy / "teachers.gpkg", layer="staff", driver="GPKG")
    demand = gpd.read_file(tiny_copy / "demand.gpkg")
    (tiny_copy / "demand.gpkg").unlink()
    table = pd.DataFrame(demand.drop(columns="geometry"))
    table["lon"], table["lat"] = demand.geometry.x, demand.geometry.y
    table.loc[0, "name"] = "张家庄"
    table.to_csv(tiny_copy / "demand.csv", index=False, encoding="gbk")
    (tiny_copy / "regions.gpkg").rename(tiny_copy / "counties-old.gpkg")
    _, problems = check_dataset(tiny_copy)
    lines = "\n".join(p.line() for p in problems)
    assert "sites.gpkg [sites]: the file holds no layers" in lines
    assert "teachers.gpkg [teachers]: layer not found" in lines and "staff" in lines
    assert "demand.csv: the text is not UTF-8" in lines
    assert "regions.gpkg [counties]: County-level units: table not found" in lines


def test_a_roads_file_without_edges_is_named(tiny_copy: Path):
    nodes = gpd.read_file(tiny_copy / "roads.gpkg", layer="nodes")
    (tiny_copy / "roads.gpkg").unlink()
    nodes.to_file(tiny_copy / "roads.gpkg", layer="nodes", driver="GPKG")
    _, problems = check_dataset(tiny_copy)
    assert "roads.gpkg [edges]: layer not found" in "\n".join(p.line() for p in problems)


def test_a_projected_layer_is_converted_and_said(tiny_copy: Path):
    schools = gpd.read_file(tiny_copy / "schools.gpkg")
    (tiny_copy / "schools.gpkg").unlink()
    schools.to_crs("EPSG:3857").to_file(tiny_copy / "schools.gpkg", layer="schools")
    dataset, problems = check_dataset(tiny_copy)
    assert dataset is not None, [p.line() for p in problems]
    assert any("converted from EPSG:3857 to WGS-84" in n for n in dataset.notes)
    assert dataset.schools.crs.to_epsg() == 4326


SCENARIO_FAULTS = [
    ("highschool.small_max_streams", {"highschool": {"small_max_streams": 25}}),
    ("highschool.new_school_min_streams", {"highschool": {"new_school_min_streams": 30}}),
    ("highschool.max_streams", {"highschool": {"max_streams": "twenty"}}),
    ("kindergarten.projects", {"kindergarten": {"projects": [550, 450]}}),
    ("kindergarten.public_share", {"kindergarten": {"public_share": 1.5}}),
    ("kindergarten.radius_km", {"kindergarten": {"radius_km": {"urban": -1.0}}}),
    ("kindergarten.merge_max_classes", {"kindergarten": {"merge_max_classes": 20}}),
    ("kindergarten.births.2021", {"kindergarten": {"births": {"2021": 0}}}),
    ("travel.speed_kmh", {"travel": {"speed_kmh": {"town": 0}}}),
    ("solver.mip_gap", {"solver": {"mip_gap": 1.5}}),
    ("solver.backend", {"solver": {"backend": "gurobi"}}),
    ("horizon_year", {"horizon_year": 2010}),
    ("vocational.schools_kept", {"vocational": {"schools_kept": [330, 310]}}),
    ("staffing.rotation_share", {"staffing": {"rotation_share": 1.5}}),
    ("staffing.colour", {"staffing": {"colour": "red"}}),  # an unknown key
]


@pytest.mark.parametrize(("key", "raw"), SCENARIO_FAULTS, ids=[k for k, _ in SCENARIO_FAULTS])
def test_each_scenario_fault_is_named_by_its_key(key: str, raw: dict):
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict({"name": "t", "data": ".", **raw})
    assert key in str(error.value)
    assert "Traceback" not in str(error.value)


def test_the_corpus_has_at_least_sixty_kinds():
    files = 4 + 1 + 1  # unreadable files at once, roads without edges, a projected layer
    assert len(DATA_FAULTS) + files + len(SCENARIO_FAULTS) >= 60
