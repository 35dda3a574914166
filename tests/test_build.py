"""The data build on a tiny fabricated province, and the bundled Shanxi data set."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from conftest import SHANXI, SHANXI_INPUTS, TINY_COUNTIES, build_tiny
from layoutopt.data.build import build_dataset
from layoutopt.data.build.common import largest_remainder
from layoutopt.data.calibration import load_calibration
from layoutopt.data.dataset import check_dataset, load_dataset
from layoutopt.data.info import calibration
from layoutopt.data.io import read_layer_metadata


def file_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_tiny_build_validates(tiny_dataset_dir):
    dataset, problems = check_dataset(tiny_dataset_dir)
    assert problems == []
    assert dataset is not None
    assert sorted(dataset.regions["region_id"]) == sorted(c[0] for c in TINY_COUNTIES)
    assert dataset.has_roads


def test_tiny_build_matches_its_calibration(tiny_dataset_dir):
    table = calibration(load_dataset(tiny_dataset_dir)).set_index("figure")
    counts = [f for f in table.index if "schools" in f or f == "kindergartens"]
    assert (table.loc[counts, "difference_pct"].abs() < 1e-9).all()
    assert table.loc["population in settlements", "generated"] == sum(c[3] for c in TINY_COUNTIES)
    assert abs(table.loc["urban share", "difference_pct"]) < 0.1


def test_tiny_settlements_sum_to_county_population(tiny_dataset_dir):
    dataset = load_dataset(tiny_dataset_dir)
    sums = dataset.demand.groupby("region_id")["population"].sum()
    for code, _name, _pref, population, *_ in TINY_COUNTIES:
        assert sums[code] == population


def test_same_seed_gives_identical_files(tmp_path, tiny_dataset_dir):
    again = build_tiny(tmp_path, seed=7)
    assert file_hashes(again) == file_hashes(tiny_dataset_dir)


def test_other_seed_gives_other_schools(tmp_path, tiny_dataset_dir):
    other = build_tiny(tmp_path, seed=8)
    assert file_hashes(other)["schools.gpkg"] != file_hashes(tiny_dataset_dir)["schools.gpkg"]


def test_tables_say_they_are_synthetic(tiny_dataset_dir):
    assert read_layer_metadata(tiny_dataset_dir / "schools.gpkg", "schools")["synthetic"] == "yes"
    assert read_layer_metadata(tiny_dataset_dir / "regions.gpkg", "counties")["synthetic"] == "no"
    readme = (tiny_dataset_dir / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in readme and "Calibration achieved" in readme


def test_failed_build_leaves_no_folder(tmp_path):
    bad_calibration = tmp_path / "bad.toml"
    bad_calibration.write_text("[province]\nname = 1\n", encoding="utf-8")
    with pytest.raises(Exception):  # noqa: B017 - any failure; what matters is no output
        build_dataset(
            "cnmaps:14",
            SHANXI_INPUTS / "county_population_2020.csv",
            bad_calibration,
            tmp_path / "out",
            1,
        )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("total", [0, 1, 7, 100, 12345])
def test_largest_remainder_adds_up(total):
    weights = np.array([0.2, 3.0, 1.5, 0.0, 7.25])
    parts = largest_remainder(weights, total)
    assert parts.sum() == total
    assert (np.abs(parts - weights / weights.sum() * total) < 1).all()


# The bundled Shanxi data set ---------------------------------------------------------------

shanxi = pytest.mark.skipif(
    not (SHANXI / "regions.gpkg").exists(),
    reason="data/shanxi not built (run data/build-shanxi.sh)",
)


@pytest.fixture(scope="module")
def shanxi_dataset():
    return load_dataset(SHANXI)


@shanxi
def test_shanxi_has_117_counties_and_census_population(shanxi_dataset):
    regions = shanxi_dataset.regions
    assert len(regions) == 117
    assert regions["region_id"].str.fullmatch(r"14\d{4}").all()
    assert abs(regions["population_2020"].sum() / 34_915_616 - 1) < 1e-4
    assert shanxi_dataset.demand["population"].sum() == regions["population_2020"].sum()


@shanxi
def test_shanxi_polygons_are_valid_wgs84(shanxi_dataset):
    regions = shanxi_dataset.regions
    assert regions.crs.to_epsg() == 4326
    assert regions.geometry.is_valid.all()
    minx, miny, maxx, maxy = regions.total_bounds
    # Shanxi lies within 110.2-114.6 E, 34.5-40.8 N.
    assert 110.0 < minx < maxx < 114.7 and 34.4 < miny < maxy < 40.8


@shanxi
def test_shanxi_borders_are_shared(shanxi_dataset):
    # Coverage simplification keeps neighbours edge to edge: no overlaps between counties.
    geoms = shanxi_dataset.regions.geometry.to_numpy()
    assert shapely.coverage_is_valid(geoms)


@shanxi
@pytest.mark.parametrize("table", ["demand", "schools", "sites"])
def test_shanxi_points_lie_inside_their_county(shanxi_dataset, table):
    frame = getattr(shanxi_dataset, table)
    polygons = shanxi_dataset.regions.set_index("region_id").geometry
    own = polygons.reindex(frame["region_id"]).to_numpy()
    inside = shapely.contains_xy(own, frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
    assert inside.all(), frame.loc[~inside, frame.columns[0]].tolist()[:5]


@shanxi
def test_shanxi_calibration_within_two_percent(shanxi_dataset):
    table = calibration(shanxi_dataset).set_index("figure")
    checked = [
        "kindergartens",
        "kindergarten children",
        "primary schools",
        "primary students",
        "junior schools (incl. nine-year)",
        "junior students",
        "general high schools (incl. complete secondary)",
        "general high-school students",
    ]
    assert (table.loc[checked, "difference_pct"].abs() <= 2.0).all()


@shanxi
def test_shanxi_size_distributions_are_realistic(shanxi_dataset):
    s = shanxi_dataset.schools
    hs = s[s["level"].isin(["senior_high", "complete_secondary"])]
    assert (hs["streams"] <= 4).sum() >= 50  # a long tail of small rural high schools
    assert 1 <= (hs["streams"] > 20).sum() <= 40  # a few very large ones
    vocational = s[s["level"] == "vocational"]
    assert (vocational["enrolment"] < 1200).mean() > 0.5
    assert len(vocational) > 320


@shanxi
@pytest.mark.slow  # the whole province rebuilt: the slow tier's
def test_shanxi_rebuilds_byte_for_byte(tmp_path):
    cal = SHANXI_INPUTS / "calibration.toml"
    load_calibration(cal)
    out = build_dataset(
        "cnmaps:14", SHANXI_INPUTS / "county_population_2020.csv", cal, tmp_path / "shanxi", 2025
    )
    assert file_hashes(out) == file_hashes(SHANXI)


@shanxi
def test_shanxi_gpkg_layers_are_named_as_the_contract(shanxi_dataset):
    layers = {
        name: [str(x) for x in pyogrio.list_layers(SHANXI / f"{name}.gpkg")[:, 0]]
        for name in ("regions", "demand", "schools", "sites", "roads")
    }
    assert layers == {
        "regions": ["counties"],
        "demand": ["demand"],
        "schools": ["schools"],
        "sites": ["sites"],
        "roads": ["nodes", "edges"],
    }


@shanxi
def test_shanxi_specialties_are_calibrated_and_say_so(shanxi_dataset):
    """1-5 categories a vocational school, more for bigger ones, most of the 19 in every
    prefecture, none on other levels; the layer's provenance says they are drawn."""
    from layoutopt.data.specialties import CATALOGUE, codes

    schools = shanxi_dataset.schools
    vocational = schools[schools["level"] == "vocational"]
    count = vocational["specialties"].map(lambda cell: len(codes(cell)))
    assert count.between(1, 5).all()
    assert {c for cell in vocational["specialties"] for c in codes(cell)} <= set(CATALOGUE)
    assert np.corrcoef(count, vocational["enrolment"])[0, 1] > 0.5
    prefecture = vocational["region_id"].str[:4]
    offered = vocational.groupby(prefecture)["specialties"].agg(
        lambda cells: len({c for cell in cells for c in codes(cell)})
    )
    assert (offered >= 15).all(), offered.to_dict()
    assert (schools.loc[schools["level"] != "vocational", "specialties"] == "").all()
    metadata = read_layer_metadata(SHANXI / "schools.gpkg", "schools")
    assert metadata["synthetic"] == "yes" and "specialty" in metadata["provenance"]


@shanxi
def test_shanxi_teachers_add_up_by_school_and_rural_schools_lack_pe_and_arts(shanxi_dataset):
    teachers = shanxi_dataset.teachers
    schools = shanxi_dataset.schools.set_index("school_id")
    totals = teachers.groupby("school_id")["teachers"].sum()
    assert (totals.reindex(schools.index).fillna(0) == schools["teachers"]).all()
    demand = shanxi_dataset.demand.set_index("demand_id")["kind"]
    primary = schools[schools["level"] == "primary"]
    rural = demand.reindex(primary["demand_id"]).isin(["village", "town"]).to_numpy()
    pe = teachers[teachers["subject"] == "pe"].set_index("school_id")["teachers"]
    share = pe.reindex(primary.index).fillna(0) / primary["teachers"]
    assert share[rural].mean() < 0.7 * share[~rural].mean()
    metadata = read_layer_metadata(SHANXI / "teachers.gpkg", "teachers")
    assert metadata["synthetic"] == "yes"
