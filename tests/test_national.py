"""The national data set: provinces scaled from the reference by population and labelled
so, synthetic county populations by a stated rule, one folder a province that validates;
and the scale benchmark's choice of provinces."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import Result
from typer.testing import CliRunner

from conftest import ROOT
from layoutopt.cli import app
from layoutopt.data.build.national import (
    PopulationRule,
    ProvinceEntry,
    calibration_toml,
    scaled_calibration,
    synthetic_population,
)
from layoutopt.data.calibration import Calibration, load_calibration
from layoutopt.data.dataset import load_dataset
from layoutopt.data.io import read_layer_metadata
from layoutopt.plan.scale import (
    cross_section,
    growth_lines,
    national_counties,
    provinces_for,
    run_scale,
    spread,
)

NATIONAL = ROOT / "data" / "inputs" / "china" / "provinces.toml"
SHANXI = ROOT / "data" / "inputs" / "shanxi" / "calibration.toml"


def test_a_scaled_province_has_the_references_figures_times_its_population():
    reference = load_calibration(SHANXI)
    entry = ProvinceEntry(
        name="乙省", name_en="B", population=2 * reference.province.population, urban_share=0.7
    )
    cal = scaled_calibration(reference, entry, {"scaled": "twice Shanxi"})
    assert cal.figures == "scaled" and cal.sources["scaled"] == "twice Shanxi"
    assert cal.province.name == "乙省" and cal.province.urban_share == 0.7
    assert cal.schools.levels["primary"].schools == 2 * reference.schools.levels["primary"].schools
    senior = cal.schools.stages["senior"]
    assert senior.students == 2 * reference.schools.stages["senior"].students
    assert senior.class_size == reference.schools.stages["senior"].class_size  # a norm, kept
    assert cal.cohorts.births["2020"] == 2 * reference.cohorts.births["2020"]
    assert cal.schools.teaching_points.count == 2 * reference.schools.teaching_points.count
    # The data set carries it as TOML, read back unchanged.
    text = calibration_toml(cal, "provinces.toml").decode()
    assert text.startswith("# Scaled calibration")
    assert Calibration.model_validate(tomllib.loads(text)) == cal


def test_synthetic_populations_follow_area_and_unit_kind_and_add_up():
    def square(side_km: float, x: float) -> shapely.Polygon:
        d = side_km / 111.32  # degrees at the equator
        return shapely.box(x, 0, x + d, d)

    shapes = gpd.GeoDataFrame(
        {"adcode": ["990101", "990121", "990122"]},
        geometry=[square(10, 0), square(10, 1), square(20, 2)],
        crs="EPSG:4326",
    )
    names = pd.DataFrame(
        {
            "adcode": ["990101", "990121", "990122"],
            "county": ["甲区", "乙县", "丙县"],
            "prefecture": ["甲市"] * 3,
        }
    )
    rule = PopulationRule(area_exponent=0.5, kind_factor={"district": 4.0, "county": 1.0})
    table = synthetic_population(shapes, names, 700, rule, {"区": "district", "县": "county"})
    # Weights: 10 km × 4, 10 km, 20 km (sqrt of 100, 100, 400 km²): 40 : 10 : 20.
    assert table["population_2020"].tolist() == [400, 100, 200]
    assert set(table["quality"]) == {"synthetic"}


@pytest.fixture(scope="module")
def ningxia(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ningxia (22 counties) built from the national calibration, no census table."""
    out = tmp_path_factory.mktemp("national") / "china"
    result = build_ningxia(out)
    assert result.exit_code == 0, result.output
    return out


def build_ningxia(out: Path) -> Result:
    return CliRunner().invoke(
        app,
        [
            "data",
            "build",
            "--boundaries",
            "cnmaps:64",
            "--calibration",
            str(NATIONAL),
            "--out",
            str(out),
            "--seed",
            "2025",
        ],
    )


def test_a_second_province_builds_validates_and_never_says_facts(ningxia):
    index = pd.read_csv(ningxia / "provinces.csv", dtype=str, encoding="utf-8-sig")
    assert index[["province_code", "province", "population", "calibration"]].values.tolist() == [
        ["64", "宁夏回族自治区", "synthetic", "scaled"]
    ]
    dataset = load_dataset(ningxia / "64")  # every check of the data set
    assert len(dataset.regions) == 22
    assert dataset.regions["population_2020"].sum() == 7202654
    assert set(dataset.regions["population_quality"]) == {"synthetic"}
    readme = (ningxia / "64" / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Calibration achieved") : readme.index("Sources:")]
    assert "| scaled |" in table and "FACTS" not in table
    assert "scaled = not this province's statistics" in readme
    # Its population table is the rule's, not a census: said first, and column by column.
    assert "**Boundaries are real; county populations are synthetic" in readme
    assert "county populations are real" not in readme
    assert "| population_2020, population_quality | synthetic |" in readme
    metadata = json.loads((ningxia / "64" / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["tables"]["regions"]["synthetic"] is True
    assert "synthetic" in metadata["tables"]["regions"]["provenance"]
    layer = read_layer_metadata(ningxia / "64" / "regions.gpkg", "counties")
    assert layer["synthetic"] == "partly"
    result = CliRunner().invoke(app, ["info", str(ningxia)])
    assert result.exit_code == 0, result.output
    assert "64 宁夏回族自治区: passed every check" in result.output


def test_a_province_built_with_the_same_inputs_is_kept(ningxia):
    before = (ningxia / "64" / "schools.gpkg").stat().st_mtime_ns
    result = build_ningxia(ningxia)
    assert result.exit_code == 0, result.output
    assert "already built with these inputs, kept" in result.output
    assert (ningxia / "64" / "schools.gpkg").stat().st_mtime_ns == before


def test_sizes_take_the_province_with_its_own_calibration_first_then_code_order():
    index = pd.DataFrame(
        {
            "province_code": ["11", "13", "14", "15"],
            "counties": ["16", "167", "117", "103"],
            "calibration": ["scaled", "scaled", "own", "scaled"],
        }
    )
    assert provinces_for(index, 117)["province_code"].tolist() == ["14"]
    assert provinces_for(index, 130)["province_code"].tolist() == ["14", "11"]
    assert provinces_for(index, 10_000)["province_code"].tolist() == ["14", "11", "13", "15"]


def test_a_cross_section_takes_whole_prefectures_spread_over_the_country():
    # 4 prefectures of 12 counties in two provinces: 3 a prefecture on average
    counties = pd.DataFrame(
        {
            "province_code": ["11"] * 3 + ["13"] * 9,
            "prefecture_id": ["1101"] * 3 + ["1301"] * 2 + ["1302"] * 3 + ["1303"] * 4,
            "region_id": [f"c{i:02d}" for i in range(12)],
        }
    )
    # 6 counties are 2 of the 4 prefectures, one from each half (1101·1301 | 1302·1303),
    # the upper middle of a run of two: 1301 and 1303
    assert cross_section(counties, 6) == {"13": ["c03", "c04", "c08", "c09", "c10", "c11"]}
    assert cross_section(counties, 1) == {"13": ["c05", "c06", "c07"]}  # at least one: 1302
    assert cross_section(counties, 100) == {
        "11": ["c00", "c01", "c02"],
        "13": [f"c{i:02d}" for i in range(3, 12)],
    }


def test_drawn_prefectures_are_spread_evenly_in_code_order():
    ids = [f"{i:02d}" for i in range(10)]
    assert spread(ids, 2) == ["02", "07"]
    assert spread(ids, 5) == ["01", "03", "05", "07", "09"]
    assert spread(ids[::-1], 10) == ids
    assert spread(ids, 1) == ["05"]


def test_the_scale_table_has_a_row_per_programme_with_solves_and_memory(ningxia):
    lines: list[str] = []
    table = run_scale(
        ningxia, [22], ["processes"], ["highschool"], 1, lines.append, draw="provinces"
    )
    row = table.iloc[0]
    assert (row["counties"], row["programme"], row["executor"], row["draw"]) == (
        22,
        "highschool",
        "process pool",
        "provinces",
    )
    assert row["solves"] == 44 and row["solves_by_status"] == "optimal:44"  # today + plan
    assert row["seconds"] > 0 and row["peak_main_mb"] > 0
    assert row["schools_per_county"] == pytest.approx(row["schools"] / 22, abs=0.05)
    assert growth_lines(table) == [
        "provinces · process pool · highschool: seconds per county against the smallest: "
        "22 counties 1.00"
    ]


def test_a_cross_section_plans_only_the_drawn_prefectures_counties(ningxia, tmp_path):
    """Ningxia's five prefectures, two drawn: every solve is one of their counties', the
    schools are theirs, and the CSV so far is handed on after each run."""
    index = pd.read_csv(ningxia / "provinces.csv", dtype=str, encoding="utf-8-sig")
    counties = national_counties(ningxia, index)
    assert counties["prefecture_id"].nunique() == 5 and len(counties) == 22
    drawn = cross_section(counties, 9)["64"]  # round(9 × 5 / 22) = 2 prefectures
    assert counties.set_index("region_id").loc[drawn, "prefecture_id"].nunique() == 2
    seen: list[int] = []
    table = run_scale(
        ningxia,
        [9],
        ["processes"],
        ["highschool"],
        1,
        lambda _m: None,
        on_rows=lambda t: seen.append(len(t)),
    )
    row = table.iloc[0]
    assert (row["counties"], row["draw"], row["solves"]) == (
        len(drawn),
        "prefectures",
        2 * len(drawn),
    )
    whole = load_dataset(ningxia / "64")
    assert row["schools"] == whole.schools["region_id"].isin(drawn).sum()
    assert seen == [1]
