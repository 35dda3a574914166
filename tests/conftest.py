"""Shared fixtures: a tiny fabricated province built by the real generator."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from layoutopt.data.build import build_dataset

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
SHANXI = ROOT / "data" / "shanxi"
SHANXI_INPUTS = ROOT / "data" / "inputs" / "shanxi"

# Four square counties in two prefectures (2 × 2 grid of 0.3° squares in northern China).
TINY_COUNTIES = [
    ("990102", "甲区", "一市", 420000, 112.0, 37.0),
    ("990121", "乙县", "一市", 260000, 112.3, 37.0),
    ("990201", "丙市", "二市", 330000, 112.0, 37.3),
    ("990222", "丁县", "二市", 190000, 112.3, 37.3),
]


def make_tiny_inputs(folder: Path) -> tuple[Path, Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    boundaries = gpd.GeoDataFrame(
        {"adcode": [c[0] for c in TINY_COUNTIES]},
        geometry=[box(x, y, x + 0.3, y + 0.3) for *_, x, y in TINY_COUNTIES],
        crs="EPSG:4326",
    )
    # GeoJSON, not GeoPackage: a GeoPackage stamps the time it was written, and the build
    # records its inputs' hashes.
    boundaries.to_file(folder / "counties.geojson", driver="GeoJSON")
    population = pd.DataFrame(
        [(c[0], c[1], c[2], c[3], "exact") for c in TINY_COUNTIES],
        columns=["adcode", "county", "prefecture", "population_2020", "quality"],
    )
    population.to_csv(folder / "population.csv", index=False)
    calibration = folder / "calibration.toml"
    shutil.copyfile(TESTS / "data" / "tiny_calibration.toml", calibration)
    return folder / "counties.geojson", folder / "population.csv", calibration


def build_tiny(folder: Path, seed: int = 7) -> Path:
    boundaries, population, calibration = make_tiny_inputs(folder / "inputs")
    return build_dataset(str(boundaries), population, calibration, folder / "tiny", seed)


@pytest.fixture(scope="session")
def tiny_dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built tiny data set; tests must not change it (copy it first)."""
    return build_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def tiny_copy(tiny_dataset_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny data set that a test may damage."""
    target = tmp_path / "data"
    shutil.copytree(tiny_dataset_dir, target)
    return target


def write_scenario(path: Path, data: Path, extra: str = "") -> Path:
    path.write_text(f'name = "test"\ndata = "{data.as_posix()}"\n{extra}', encoding="utf-8")
    return path


def run_plan(scenario, out: Path, **options) -> dict:
    """Plan and write, as the command line does; returns the manifest."""
    from layoutopt.plan import make_plan
    from layoutopt.report.outputs import write_plan

    return write_plan(make_plan(scenario, **options), out)


def read_output(run: Path, name: str) -> pd.DataFrame:
    """A table a plan wrote, ids as text, blanks as missing."""
    return pd.read_csv(
        run / name,
        encoding="utf-8-sig",
        dtype={"school_id": str, "target_id": str, "region_id": str, "scope_id": str},
        keep_default_na=False,
        na_values=[""],
        low_memory=False,
    )


def plan_shanxi(out: Path, only: str) -> Path:
    """Run the README's plan on the bundled Shanxi data for one programme into ``out``."""
    from typer.testing import CliRunner

    from layoutopt.cli import app

    if not SHANXI.is_dir():
        pytest.skip("bundled data/shanxi is missing")
    scenario = str(ROOT / "models" / "shanxi-2025.toml")
    result = CliRunner().invoke(app, ["plan", scenario, "--only", only, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


# The tiers: a test that reads the full Shanxi plan is slow (the plan alone takes minutes),
# so the default suite stays within 5 minutes on 2 cores; `pytest -m slow` runs them, with
# the plan computed once (one pytest-xdist group, so one worker computes it).
SHANXI_PLAN_FIXTURES = {"shanxi_plan", "shanxi_run", "shanxi_programmes"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SHANXI_PLAN_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.xdist_group("shanxi"))


@pytest.fixture(scope="session")
def shanxi_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's plan on the bundled Shanxi data, every programme (run once: the
    programmes' checks, the maps' and the audit's read it)."""
    out = tmp_path_factory.mktemp("shanxi") / "plan"
    return plan_shanxi(out, "highschool,kindergarten,vocational,boarding,staffing")


@pytest.fixture(scope="session")
def shanxi_run(shanxi_plan: Path) -> Path:
    """The README's plan, read for its high schools (which run first)."""
    return shanxi_plan


@pytest.fixture(scope="session")
def shanxi_programmes(shanxi_plan: Path) -> Path:
    """The README's plan, read for its vocational, boarding and staffing programmes."""
    return shanxi_plan


# Both programmes on the tiny province: its own births, a wide project range so that one
# project price is enough (a narrower one makes the search below try several).
TINY = """
[travel]
cache_dir = "{cache}"
[highschool]
plan_students = 0
[vocational]
plan_students = 0
schools_kept = [0, 1000]
[kindergarten]
projects = {projects}
births = {{ "2020" = 9898, "2021" = 8470, "2022" = 8080 }}
"""


def tiny(tmp_path: Path, data: Path, projects: str = "[0, 1000]") -> Any:
    """The scenario of every programme on the tiny province."""
    from layoutopt.scenario import load_scenario

    text = TINY.format(cache=(tmp_path / "cache").as_posix(), projects=projects)
    return load_scenario(write_scenario(tmp_path / "tiny.toml", data, text))


@dataclass
class TinyRun:
    scenario: Any
    plan: Any
    out: Path
    manifest: dict


@pytest.fixture(scope="session")
def tiny_run(tiny_dataset_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> TinyRun:
    """Every programme on the tiny province, one worker, asked in a shuffled order (the
    registry's must win), planned and written once for the checks that only read it (the
    framework's and the audit's)."""
    from layoutopt.plan import make_plan
    from layoutopt.report.outputs import write_plan

    folder = tmp_path_factory.mktemp("tiny-run")
    scenario = tiny(folder, tiny_dataset_dir)
    only = ["vocational", "staffing", "boarding", "kindergarten", "highschool"]
    plan = make_plan(scenario, only=only, workers=1)
    manifest = write_plan(plan, folder / "out")
    return TinyRun(scenario, plan, folder / "out", manifest)
