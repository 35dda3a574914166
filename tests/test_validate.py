"""Validation gathers every problem of a data set and names file, layer, row, column, fix."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point
from typer.testing import CliRunner

from conftest import write_scenario
from layoutopt.cli import app
from layoutopt.data.coerce import typed_table
from layoutopt.data.dataset import check_dataset
from layoutopt.data.io import TableSource
from layoutopt.data.schema import TABLES

runner = CliRunner()


def read(folder: Path, name: str, layer: str) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(folder / f"{name}.gpkg", layer=layer)


def rewrite(folder: Path, name: str, layer: str, frame: gpd.GeoDataFrame) -> None:
    (folder / f"{name}.gpkg").unlink()
    pyogrio.write_dataframe(frame, folder / f"{name}.gpkg", layer=layer, driver="GPKG")


def plant_duplicate_id(folder: Path) -> str:
    schools = read(folder, "schools", "schools")
    schools.loc[1, "school_id"] = schools.loc[0, "school_id"]
    rewrite(folder, "schools", "schools", schools)
    return f"school_id={schools.loc[0, 'school_id']}, column school_id: duplicate id"


def plant_missing_enrolment(folder: Path) -> str:
    schools = read(folder, "schools", "schools")
    rewrite(folder, "schools", "schools", schools.drop(columns=["enrolment"]))
    return "column enrolment: required column is missing"


def plant_school_in_beijing(folder: Path) -> str:
    schools = read(folder, "schools", "schools")
    schools.loc[5, "geometry"] = Point(116.39, 39.91)
    rewrite(folder, "schools", "schools", schools)
    return f"school_id={schools.loc[5, 'school_id']}, column geometry: point lies outside"


def plant_unknown_region(folder: Path) -> str:
    demand = read(folder, "demand", "demand")
    demand.loc[3, "region_id"] = "999999"
    rewrite(folder, "demand", "demand", demand)
    return f"demand_id={demand.loc[3, 'demand_id']}, column region_id: region_id is not a county"


def plant_no_crs(folder: Path) -> str:
    sites = read(folder, "sites", "sites")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyogrio warns that the layer will have no CRS
        rewrite(folder, "sites", "sites", sites.set_crs(None, allow_override=True))
    return "sites.gpkg [sites], column geometry: layer has no coordinate reference system"


def plant_negative_enrolment(folder: Path) -> str:
    schools = read(folder, "schools", "schools")
    schools.loc[7, "enrolment"] = -5
    rewrite(folder, "schools", "schools", schools)
    return f"school_id={schools.loc[7, 'school_id']}, column enrolment: negative value"


def plant_unknown_specialty(folder: Path) -> str:
    schools = read(folder, "schools", "schools")
    row = schools.index[schools["level"] == "vocational"][0]
    schools.loc[row, "specialties"] = "66;99"
    rewrite(folder, "schools", "schools", schools)
    return (
        f"school_id={schools.loc[row, 'school_id']}, column specialties: unknown specialty "
        "category '99'"
    )


def plant_specialty_on_a_primary_school(folder: Path) -> str:
    schools = read(folder, "schools", "schools")
    row = schools.index[schools["level"] == "primary"][0]
    schools.loc[row, "specialties"] = "66"
    rewrite(folder, "schools", "schools", schools)
    return (
        f"school_id={schools.loc[row, 'school_id']}, column specialties: specialty categories "
        "given for a school that is not vocational"
    )


def plant_unknown_subject(folder: Path) -> str:
    teachers = read(folder, "teachers", "teachers")
    teachers.loc[2, "subject"] = "calligraphy"
    rewrite(folder, "teachers", "teachers", teachers)
    return f"school_id={teachers.loc[2, 'school_id']}, column subject: unknown word 'calligraphy'"


def plant_teachers_of_an_unknown_school(folder: Path) -> str:
    teachers = read(folder, "teachers", "teachers")
    teachers.loc[4, "school_id"] = "999999-PS999"
    rewrite(folder, "teachers", "teachers", teachers)
    return "school_id=999999-PS999, column school_id: school_id is not a school of the schools"


def plant_negative_teachers(folder: Path) -> str:
    teachers = read(folder, "teachers", "teachers")
    teachers.loc[6, "teachers"] = -3
    rewrite(folder, "teachers", "teachers", teachers)
    return f"school_id={teachers.loc[6, 'school_id']}, column teachers: negative value"


def plant_a_subject_listed_twice(folder: Path) -> str:
    teachers = read(folder, "teachers", "teachers")
    teachers.loc[1, ["school_id", "subject"]] = teachers.loc[0, ["school_id", "subject"]]
    rewrite(folder, "teachers", "teachers", teachers)
    return (
        f"school_id={teachers.loc[0, 'school_id']}, column subject: duplicate school_id and subject"
    )


PLANTERS = [
    plant_unknown_subject,
    plant_teachers_of_an_unknown_school,
    plant_negative_teachers,
    plant_a_subject_listed_twice,
    plant_unknown_specialty,
    plant_specialty_on_a_primary_school,
    plant_duplicate_id,
    plant_missing_enrolment,
    plant_school_in_beijing,
    plant_unknown_region,
    plant_no_crs,
    plant_negative_enrolment,
]


def validate(folder: Path, tmp_path: Path):
    scenario = write_scenario(tmp_path / "scenario.toml", folder)
    return runner.invoke(app, ["validate", str(scenario)])


@pytest.mark.parametrize("plant", PLANTERS, ids=lambda f: f.__name__)
def test_each_planted_fault_is_named(tiny_copy, tmp_path, plant):
    expected = plant(tiny_copy)
    result = validate(tiny_copy, tmp_path)
    assert result.exit_code == 1
    assert expected in result.output
    assert "Traceback" not in result.output


def test_all_faults_in_one_report(tiny_copy, tmp_path):
    # A missing enrolment column and a negative enrolment cannot sit in one schools table,
    # so the negative value is planted in the capacity column here (same check).
    expected = [plant(tiny_copy) for plant in PLANTERS[:-1]]
    schools = read(tiny_copy, "schools", "schools")
    schools.loc[9, "capacity"] = -1
    rewrite(tiny_copy, "schools", "schools", schools)
    expected.append(f"school_id={schools.loc[9, 'school_id']}, column capacity: negative value")
    result = validate(tiny_copy, tmp_path)
    assert result.exit_code == 1
    for line in expected:
        assert line in result.output
    assert "Traceback" not in result.output
    assert result.output.splitlines()[0].startswith(f"{len(result.output.splitlines()) - 1} ")


def test_valid_data_exits_zero_with_summary(tiny_dataset_dir, tmp_path):
    result = validate(tiny_dataset_dir, tmp_path)
    assert result.exit_code == 0, result.output
    assert "passed every check" in result.output
    assert "kindergarten" in result.output


def test_unknown_level_word_and_stream_mismatch(tiny_copy, tmp_path):
    schools = read(tiny_copy, "schools", "schools")
    schools.loc[0, "level"] = "university"
    hs = schools.index[schools["level"] == "senior_high"][0]
    schools.loc[hs, "streams"] = schools.loc[hs, "streams"] + 5
    rewrite(tiny_copy, "schools", "schools", schools)
    result = validate(tiny_copy, tmp_path)
    assert "unknown word 'university'" in result.output
    assert "streams inconsistent with classes" in result.output


def test_region_id_stored_as_number_is_mistyped(tiny_copy, tmp_path):
    sites = read(tiny_copy, "sites", "sites")
    sites["region_id"] = sites["region_id"].astype(int)
    rewrite(tiny_copy, "sites", "sites", sites)
    result = validate(tiny_copy, tmp_path)
    assert "sites.gpkg [sites], column region_id: stored as numbers" in result.output


def test_missing_table_is_named(tiny_copy, tmp_path):
    (tiny_copy / "demand.gpkg").unlink()
    result = validate(tiny_copy, tmp_path)
    assert result.exit_code == 1
    assert "demand.gpkg [demand]: Settlements (demand units): table not found" in result.output


def test_csv_register_with_lon_lat_is_read(tiny_copy, tmp_path):
    schools = read(tiny_copy, "schools", "schools")
    table = pd.DataFrame(schools.drop(columns="geometry"))
    table["lon"], table["lat"] = schools.geometry.x, schools.geometry.y
    (tiny_copy / "schools.gpkg").unlink()
    table.to_csv(tiny_copy / "schools.csv", index=False, encoding="utf-8-sig")
    dataset, problems = check_dataset(tiny_copy)
    assert problems == []
    assert dataset.sources["schools"].format == "csv"
    assert dataset.schools["school_id"].tolist() == schools["school_id"].tolist()
    assert dataset.schools["name"].tolist() == schools["name"].tolist()  # Chinese intact


def test_csv_problems_name_the_line(tiny_copy, tmp_path):
    schools = read(tiny_copy, "schools", "schools")
    table = pd.DataFrame(schools.drop(columns="geometry")).astype(str)
    table["lon"], table["lat"] = schools.geometry.x, schools.geometry.y
    table.loc[2, "teachers"] = "twelve"
    (tiny_copy / "schools.gpkg").unlink()
    table.to_csv(tiny_copy / "schools.csv", index=False)
    _, problems = check_dataset(tiny_copy)
    lines = [p.line() for p in problems]
    assert any("(line 4), column teachers: not a number" in line for line in lines), lines


def test_geoparquet_is_read(tiny_copy):
    sites = read(tiny_copy, "sites", "sites")
    (tiny_copy / "sites.gpkg").unlink()
    sites.to_parquet(tiny_copy / "sites.parquet")
    dataset, problems = check_dataset(tiny_copy)
    assert problems == []
    assert dataset.sources["sites"].format == "parquet"
    assert len(dataset.sites) == len(sites)


# Property tests of the typing step --------------------------------------------------------

ids = st.text(alphabet="0123456789", min_size=1, max_size=8)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ids, min_size=1, max_size=20))
def test_text_ids_keep_leading_zeros(values):
    spec = TABLES["sites"]
    frame = gpd.GeoDataFrame(
        {"site_id": values, "region_id": values, "kind": "town_centre", "max_classes": "6"},
        geometry=[Point(0, 0)] * len(values),
    )
    typed, problems = typed_table(frame, spec, TableSource("sites", Path("s.csv"), None, "csv"))
    assert typed["site_id"].tolist() == values
    assert not [p for p in problems if p.column == "site_id"]


@settings(max_examples=60)
@given(st.lists(st.integers(min_value=-1000, max_value=1000), min_size=1, max_size=30))
def test_every_negative_number_is_flagged(values):
    from layoutopt.data.validate import TableCheck, check_non_negative

    frame = gpd.GeoDataFrame(
        {"site_id": [f"S{i}" for i in range(len(values))], "max_classes": values},
        geometry=[Point(0, 0)] * len(values),
    )
    check = TableCheck(frame, TableSource("sites", Path("sites.gpkg"), "sites", "gpkg"))
    problems = check_non_negative(check)
    negatives = sum(v < 0 for v in values)
    listed = min(negatives, 20) + (1 if negatives > 20 else 0)
    assert len(problems) == listed
