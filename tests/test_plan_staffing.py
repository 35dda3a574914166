"""The staffing programme on the bundled Shanxi data, after the high-school and vocational
plans (whose closures send teachers to the receiving schools): the issue's "done when"."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from openpyxl import load_workbook

from conftest import ROOT, SHANXI, read_output
from layoutopt.data.dataset import load_dataset
from layoutopt.programmes.staffing.programme import Staffing
from layoutopt.programmes.staffing.redeploy import flow_network, redeploy
from layoutopt.scenario import load_scenario
from layoutopt.state import PlanState


@pytest.fixture(scope="module")
def run(shanxi_programmes: Path) -> Path:
    return shanxi_programmes


read = read_output


def test_every_open_school_has_posts_and_teachers_are_conserved(run):
    table = read(run, "staffing.csv")
    schools = read(run, "schools_after.csv")
    open_ids = set(schools.loc[schools["open"], "school_id"])
    # Every school with a section open after the plans has its posts, a complete secondary
    # school whose senior section merged among them (for its junior section).
    assert open_ids <= set(table.loc[table["open"], "school_id"])
    public = table[table["ownership"] == "public"]
    assert (public["gap_after"] == 0).all()  # recruits fill what moves do not
    kept = public["teachers_register"].sum() + public["recruited"].sum()
    assert kept - public["surplus_after"].sum() == public["posts_needed"].sum()
    # Private schools keep their teachers: no move, no recruit; their gap is reported.
    private = table[table["ownership"] != "public"]
    assert (private[["moved_in", "moved_out", "recruited"]] == 0).all().all()
    changes = read(run, "changes.csv")
    gaps = changes[changes["action"] == "private_gap"]
    assert gaps["teachers"].sum() == private["gap_after"].sum() > 0


def test_no_move_crosses_a_county_or_exceeds_the_rotation_share(run):
    changes = read(run, "changes.csv")
    moves = changes[(changes["action"] == "move_teachers")]
    between = moves[moves["school_id"] != moves["target_id"]]
    assert len(between) > 1000
    assert (between["school_id"].str[:6] == between["target_id"].str[:6]).all()
    table = read(run, "staffing.csv")
    teachers = table.groupby("school_id")["teachers_register"].sum()
    is_open = table.groupby("school_id")["open"].first()
    out = between.groupby("school_id")["teachers"].sum()
    from_open = out[is_open.reindex(out.index).to_numpy()]
    assert (from_open <= np.floor(0.15 * teachers.reindex(from_open.index))).all()
    # Teachers of the schools the plans close follow their students to the receivers.
    follows = between["reason"].str.contains("follow the students of the merged")
    assert follows.sum() > 0


def test_mental_health_coverage_is_complete_and_pe_arts_gaps_close(run):
    kpis = read(run, "kpis.csv")
    mine = kpis[(kpis["programme"] == "staffing") & (kpis["scope"] == "province")]
    row = mine.set_index("indicator")
    assert row.loc["mental_health_coverage", "planned"] == 1.0
    assert row.loc["pe_arts_gap_after_recruitment", "planned"] == 0
    assert row.loc["teacher_gap", "planned"] < row.loc["teacher_gap", "baseline"]
    recruit = read(run, "changes.csv")
    recruited = recruit.loc[recruit["action"] == "recruit", "teachers"].sum()
    assert recruited == row.loc["teachers_to_recruit", "planned"]


def test_every_county_flow_is_proven_on_or_tools_and_the_workbook_has_the_tables(run):
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    summary = manifest["programmes"]["staffing"]
    flows = [s for s in manifest["solves"] if s["name"].startswith("staffing-flow:")]
    assert len(flows) == 117
    assert all(s["status"] == "optimal" and s["backend"] == "ortools" for s in flows)
    assert sum(s["objective"] for s in flows) == pytest.approx(summary["flow_cost_total"])
    book = load_workbook(run / "plan.xlsx", read_only=True)
    assert "staffing 明细" in book.sheetnames and "staffing 调整" in book.sheetnames
    kpis = [r[0] for r in book["指标 KPIs"].iter_rows(min_row=2, values_only=True)]
    assert "staffing" in kpis


@pytest.mark.slow
def test_or_tools_costs_what_networkx_costs_on_every_shanxi_county():
    """Every Shanxi county's redeployment network (today's schools at the horizon, before
    any programme changes them): OR-Tools' optimum equals networkx's network simplex."""
    if not SHANXI.is_dir():
        pytest.skip("bundled data/shanxi is missing")
    scenario = load_scenario(ROOT / "models" / "shanxi-2025.toml")
    state = PlanState.start(load_dataset(scenario.data))
    programme = Staffing()
    counties = programme.split(programme.prepare(state, scenario))
    assert len(counties) == 117
    for region_id, county in counties.items():
        result = redeploy(county.staff, county.section)
        network = flow_network(county.staff, county.section)
        cost, _ = nx.network_simplex(network.as_networkx())
        assert (region_id, result.status, result.cost) == (region_id, "OPTIMAL", cost)
