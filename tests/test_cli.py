"""The layoutopt command: info, plan and its manifest, clear failures."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import ROOT, write_scenario
from layoutopt.cli import app

runner = CliRunner()


def test_info_shows_counts_and_calibration(tiny_dataset_dir):
    result = runner.invoke(app, ["info", str(tiny_dataset_dir)])
    assert result.exit_code == 0, result.output
    assert "counties: 4" in result.output
    assert "Calibration against provincial figures" in result.output
    assert "一市" in result.output  # prefecture names intact


def test_plan_writes_a_manifest(tiny_dataset_dir, tmp_path):
    # The tiny province has no plan figure of its own: use the cohort projection.
    scenario = write_scenario(
        tmp_path / "s.toml",
        tiny_dataset_dir,
        "[highschool]\nplan_students = 0\n[kindergarten]\nenabled = false\n"
        "[vocational]\nenabled = false\n[boarding]\nenabled = false\n[staffing]\nenabled = false\n",
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["plan", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["inputs"]) >= {"regions", "demand", "schools", "sites"}
    assert all(len(v["sha256"]) == 64 for v in manifest["inputs"].values())
    assert manifest["scenario"]["solver"]["backend"] == "highs"
    assert manifest["versions"]["highspy"] != "not installed"
    assert manifest["programmes_run"] == ["highschool"]
    assert {s["status"] for s in manifest["solves"]} == {"optimal"}
    assert (out / "maps" / "highschool.html").is_file()
    assert "solves: 8 optimal" in result.output


def test_plan_with_bad_data_writes_nothing(tiny_copy, tmp_path):
    (tiny_copy / "schools.gpkg").unlink()
    scenario = write_scenario(tmp_path / "s.toml", tiny_copy)
    out = tmp_path / "out"
    result = runner.invoke(app, ["plan", str(scenario), "--out", str(out)])
    assert result.exit_code == 1
    assert "schools.gpkg" in result.output and "Traceback" not in result.output
    assert not out.exists()
    assert not list(tmp_path.glob(".out.*"))


@pytest.mark.parametrize("name", ["universities", "transport"])
def test_plan_rejects_a_programme_not_in_the_registry(tiny_dataset_dir, tmp_path, name):
    """A programme still to come is not in the registry: exit 1, naming those available,
    and no output folder."""
    scenario = write_scenario(tmp_path / "s.toml", tiny_dataset_dir)
    out = tmp_path / "out"
    result = runner.invoke(app, ["plan", str(scenario), "--only", name, "--out", str(out)])
    assert result.exit_code == 1
    assert f"not available: {name}" in result.output
    assert "choose from highschool, kindergarten" in result.output
    assert not out.exists()


def test_validate_bad_scenario_key(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('name = "x"\ndata = "d"\ncolour = "red"\n', encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "unknown key 'colour'" in result.output


def test_validate_bundled_shanxi_scenario():
    result = runner.invoke(app, ["validate", str(ROOT / "models" / "shanxi-2025.toml")])
    assert result.exit_code == 0, result.output
    assert "counties: 117" in result.output


def test_plan_refuses_zero_workers(tiny_dataset_dir, tmp_path):
    scenario = write_scenario(tmp_path / "s.toml", tiny_dataset_dir)
    out = tmp_path / "out"
    result = runner.invoke(app, ["plan", str(scenario), "--workers", "0", "--out", str(out)])
    assert result.exit_code == 1
    assert "workers = 0" in result.output and "fix:" in result.output
    assert not out.exists()
