"""The kindergarten programme end to end, on the tiny province and on the bundled Shanxi
data (about 80 s: the scenario starts the project-price search at the price that puts
the count in range, so every county is solved once; a search costs that much again per
price tried)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from conftest import ROOT, write_scenario
from layoutopt.cli import app
from layoutopt.data.dataset import load_dataset

runner = CliRunner()

# The tiny province's births: its census cohort aged 0 (9,898), then Shanxi's fall.
TINY = """
[travel]
cache_dir = "{cache}"
[highschool]
enabled = false
[kindergarten]
projects = [0, 1000]
births = {{ "2020" = 9898, "2021" = 8470, "2022" = 8080 }}
"""


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        encoding="utf-8-sig",
        keep_default_na=False,
        dtype={"school_id": str, "region_id": str, "target_id": str, "scope_id": str},
        low_memory=False,
    )


def tiny_run(tmp_path: Path, data: Path, name: str) -> Path:
    scenario = write_scenario(
        tmp_path / "tiny.toml", data, TINY.format(cache=(tmp_path / "cache").as_posix())
    )
    out = tmp_path / name
    result = runner.invoke(
        app, ["plan", str(scenario), "--only", "kindergarten", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def test_tiny_plan_writes_kindergarten_changes_kpis_and_map(tiny_dataset_dir, tmp_path):
    out = tiny_run(tmp_path, tiny_dataset_dir, "one")
    changes = read(out / "changes.csv")
    assert set(changes["programme"]) == {"kindergarten"}
    assert set(changes["action"]) <= {
        "new_kindergarten",
        "convert_building",
        "expand",
        "recognise_inclusive",
        "merge_into",
        "close",
        "shortfall",
        "receive_students",
        "send_students",
    }
    kpis = read(out / "kpis.csv")
    province = kpis[kpis["scope"] == "province"].set_index("indicator")
    for name in ("enrolment_rate", "inclusive_coverage", "public_share"):
        assert province.loc[name, "met"] in ("yes", "no")
    schools = read(out / "schools_after.csv")
    assert (schools["level"] == "kindergarten").all()
    assert (
        schools["students_after"].astype(int) <= schools["capacity_after"].astype(int) + 1
    ).all()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert all(s["status"] == "optimal" or s["gap"] <= 0.005 for s in manifest["solves"])
    assert (out / "maps" / "kindergarten.html").is_file()
    # Every county meets each target or says why not.
    county = kpis[
        (kpis["scope"] == "county")
        & kpis["indicator"].isin(["enrolment_rate", "inclusive_coverage", "public_share"])
    ]
    short = set(changes.loc[changes["action"] == "shortfall", "region_id"])
    assert set(county.loc[county["met"] == "no", "scope_id"]) <= short


def test_shanxi_kindergarten_plan_meets_the_plan(shanxi_plan):
    out = shanxi_plan
    kpis = read(out / "kpis.csv")
    kpis = kpis[kpis["programme"] == "kindergarten"]
    province = kpis[kpis["scope"] == "province"].set_index("indicator")
    assert 450 <= float(province.loc["public_projects", "planned"]) <= 550
    for name in ("enrolment_rate", "inclusive_coverage", "public_share"):
        assert province.loc[name, "met"] == "yes", name
    growth = province.loc["projects_in_growth_or_migrant_areas_share"]
    assert float(growth["planned"]) > float(growth["target"])
    changes = read(out / "changes.csv")
    changes = changes[changes["programme"] == "kindergarten"]
    county = kpis[
        (kpis["scope"] == "county")
        & kpis["indicator"].isin(["enrolment_rate", "inclusive_coverage", "public_share"])
    ]
    short = set(changes.loc[changes["action"] == "shortfall", "region_id"])
    assert set(county.loc[county["met"] == "no", "scope_id"]) <= short
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    mine = [s for s in manifest["solves"] if s["name"].startswith("kindergarten-")]
    assert all(s["status"] == "optimal" or s["gap"] <= 0.005 for s in mine)
    # County values never fall below the register without a shortfall row naming the cause
    # (places are whole children: within half a child, and kpis.csv's 4 digits, is held).
    children = kpis[(kpis["indicator"] == "students_horizon") & (kpis["scope"] == "county")]
    half = 0.5 / children.set_index("scope_id")["planned"].astype(float)
    slack = half.reindex(county["scope_id"]).to_numpy() + 5e-5
    below = county[county["planned"].astype(float) < county["baseline"].astype(float) - slack]
    assert set(below["scope_id"]) <= short
    # Merges follow policy: every merge names its receivers, none is a private kindergarten.
    schools = read(out / "schools_after.csv")
    schools = schools[schools["planned_by"] == "kindergarten"].set_index("school_id")
    merges = changes[changes["action"] == "merge_into"]
    assert (merges["target_id"] != "").all()
    assert (schools.loc[merges["target_id"], "kind_after"] == "public").all()
    assert not changes.loc[changes["school_id"] != "", "school_id"].duplicated().any()
    # The register is the data set's; the page stays light.
    register = load_dataset(ROOT / "data" / "shanxi").schools.set_index("school_id")
    existing = schools.index.intersection(register.index)
    assert (schools.loc[existing, "students_register"] == register.loc[existing, "enrolment"]).all()
    assert (out / "maps" / "kindergarten.html").stat().st_size < 3_000_000


def test_births_of_another_province_are_refused(tiny_dataset_dir, tmp_path):
    # Shanxi's births (288,000 in 2020) against the tiny census's 9,898 children aged 0.
    text = "[highschool]\nenabled = false\n[kindergarten]\n"
    text += 'births = { "2020" = 288000, "2021" = 246400, "2022" = 235100 }\n'
    scenario = write_scenario(tmp_path / "s.toml", tiny_dataset_dir, text)
    result = runner.invoke(app, ["plan", str(scenario), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "kindergarten.births" in result.output and "fix:" in result.output
    assert not (tmp_path / "out").exists()
