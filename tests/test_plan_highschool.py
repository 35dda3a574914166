"""The high-school programme end to end: the bundled Shanxi plan meets the policy, the
review files are what Excel and a browser need, and two runs give the same bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from conftest import ROOT, write_scenario
from layoutopt.cli import app
from layoutopt.programmes.highschool.network import project_students
from layoutopt.scenario import load_scenario

runner = CliRunner()
BOM = b"\xef\xbb\xbf"
CSVS = ("changes.csv", "kpis.csv", "schools_after.csv")


def read(path: Path) -> pd.DataFrame:
    """A table of the plan, its high-school rows where it has a programme column (the
    README's plan runs every programme)."""
    frame = pd.read_csv(
        path,
        dtype={"school_id": str, "region_id": str, "target_id": str, "scope_id": str},
        encoding="utf-8-sig",
        keep_default_na=False,
        low_memory=False,
    )
    for column in ("programme", "planned_by"):
        if column in frame:
            return frame[frame[column] == "highschool"].reset_index(drop=True)
    return frame


def test_no_small_public_school_stays_open_without_an_exemption(shanxi_run: Path):
    schools = read(shanxi_run / "schools_after.csv")
    changes = read(shanxi_run / "changes.csv")
    small_open = schools[
        (schools["ownership"] == "public")
        & (schools["open"].astype(str) == "True")
        & (schools["size_after"].astype(int) <= 4)
    ]
    # One headline row per school; a small school kept says why (whatever its headline).
    assert not changes.duplicated(["programme", "school_id"]).loc[changes["school_id"] != ""].any()
    kept = changes[changes["reason"].str.contains("small, kept: ")]
    assert set(small_open["school_id"]) == set(kept["school_id"])
    assert (kept["reason"].str.len() > 30).all()
    # The policy closed most of Shanxi's 82 small public high schools.
    assert len(small_open) < 10


def test_no_school_grows_above_the_cap_and_every_county_keeps_a_public_high_school(shanxi_run):
    schools = read(shanxi_run / "schools_after.csv")
    opened = schools[schools["open"].astype(str) == "True"]
    above = opened[opened["size_after"].astype(int) > 20]
    assert (above["size_after"].astype(int) <= above["size_register"].astype(int)).all()
    assert (above["size_register"].astype(int) > 20).all()
    public = opened[opened["ownership"] == "public"]
    assert public["region_id"].nunique() == 117
    assert (opened["students_after"].astype(int) <= opened["capacity_after"].astype(int)).all()


def test_students_are_conserved_county_by_county(shanxi_run):
    scenario = load_scenario(ROOT / "models" / "shanxi-2025.toml")
    from layoutopt.data.dataset import load_dataset

    dataset = load_dataset(scenario.data, scenario.validation, scenario.files)
    students, info = project_students(dataset.demand, scenario)
    assert info["students"] == 650_000  # reconciled with the plan's 65万
    expected = students.groupby(dataset.demand.set_index("demand_id")["region_id"]).sum()
    schools = read(shanxi_run / "schools_after.csv")
    changes = read(shanxi_run / "changes.csv")
    seated = schools.groupby("region_id")["students_after"].sum()
    short = changes[changes["action"] == "shortfall"].groupby("region_id")["students_unseated"]
    placed = seated.add(short.sum().astype(int), fill_value=0)
    counts = schools.groupby("region_id").size()
    gap = (placed.reindex(expected.index).fillna(0) - expected).abs()
    assert (gap <= counts.reindex(expected.index) * 0.5).all()  # rounding of each school


def test_every_solve_is_proven_within_half_a_percent(shanxi_run):
    manifest = json.loads((shanxi_run / "manifest.json").read_text(encoding="utf-8"))
    solves = [s for s in manifest["solves"] if s["name"].startswith("highschool-")]
    assert len(solves) == 2 * 117
    for s in solves:
        assert s["status"] == "optimal" or (s["gap"] is not None and s["gap"] <= 0.005), s
    assert manifest["programmes"]["highschool"]["greedy_merges"]  # closed -> receiver


def test_plan_beats_the_greedy_baseline(shanxi_run):
    kpis = read(shanxi_run / "kpis.csv")
    province = kpis[kpis["scope"] == "province"].set_index("indicator")
    small = province.loc["small_schools_left_vs_greedy"]
    assert float(small["planned"]) <= float(small["baseline"])
    travel = province.loc["added_travel_student_min_vs_greedy"]
    cost = province.loc["capital_cost_yuan_streams_vs_greedy"]
    assert float(travel["planned"]) < float(travel["baseline"]) or float(cost["planned"]) < float(
        cost["baseline"]
    )
    assert set(kpis["scope"]) == {"province", "prefecture", "county"}


def test_costs_are_in_yuan_and_weights_never_look_like_money(shanxi_run):
    kpis = read(shanxi_run / "kpis.csv")
    province = kpis[kpis["scope"] == "province"].set_index("indicator")["planned"].astype(float)
    parts = ("streams", "new_schools", "beds")
    total = sum(province[f"capital_cost_yuan_{p}"] for p in parts)
    assert province["capital_cost_yuan_total"] == total > 0
    assert province["capital_cost_yuan_streams"] == 6_000_000 * province["streams_added"]
    assert (
        not kpis["indicator"]
        .str.contains("cost")
        .loc[~kpis["indicator"].str.contains("yuan")]
        .any()
    )


def test_csvs_carry_a_bom_and_ids_stay_text(shanxi_run):
    for name in CSVS:
        raw = (shanxi_run / name).read_bytes()
        assert raw.startswith(BOM), name
        assert "太原市" in raw.decode("utf-8-sig") or name == "kpis.csv"  # names intact
    changes = read(shanxi_run / "changes.csv")
    assert list(changes.columns)[:3] == ["programme", "action", "school_id"]
    assert changes["region_id"].str.fullmatch(r"\d{6}").all()
    assert (shanxi_run / "plan.xlsx").stat().st_size > 0
    assert (shanxi_run / "schools_after.gpkg").stat().st_size > 0


def tiny_scenario(tmp_path: Path, data: Path, extra: str = "") -> Path:
    # The tiny province has no plan figure of its own: use the cohort projection.
    return write_scenario(
        tmp_path / "tiny.toml",
        data,
        f'[travel]\ncache_dir = "{(tmp_path / "cache").as_posix()}"\n'
        f"[highschool]\nplan_students = 0\n{extra}",
    )


def test_an_impossible_policy_finishes_with_a_shortfall_row_naming_the_county(
    tiny_dataset_dir: Path, tmp_path: Path
):
    policy = "max_streams = 3\nsmall_max_streams = 2\nnew_school_min_streams = 3\n"
    path = tiny_scenario(tmp_path, tiny_dataset_dir, policy + "allow_new_schools = false\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["plan", str(path), "--only", "highschool", "--out", str(out)])
    assert result.exit_code == 0, result.output
    changes = read(out / "changes.csv")
    shortfall = changes[changes["action"] == "shortfall"]
    assert len(shortfall) >= 1
    assert shortfall["county"].str.len().gt(0).all()
    assert shortfall["reason"].str.contains("3-stream cap").all()
    assert (out / "maps" / "highschool.html").is_file()


def test_a_plan_figure_far_from_the_projection_is_an_error(tiny_dataset_dir, tmp_path):
    text = "[highschool]\nplan_students = 650000\n"  # Shanxi's, for a tiny province
    path = write_scenario(tmp_path / "tiny.toml", tiny_dataset_dir, text)
    result = runner.invoke(
        app, ["plan", str(path), "--only", "highschool", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 1
    assert "plan_students" in result.output and "fix:" in result.output
    assert not (tmp_path / "out").exists()
