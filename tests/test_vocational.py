"""The vocational programme: each rule on a prefecture small enough to solve on paper,
a property test of the engine problem, and the programme on the tiny data set.

Every hand case has 50 students a class and 3 grades, so a stream holds 150 students and
the 1,200-student standard needs 8 streams. Minutes are a county's trip to a school.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layoutopt.engine import SolverOptions, solve
from layoutopt.plan.search import search_price
from layoutopt.programmes.base import COMMON_ACTIONS, CountTarget, RegionOutcome, RegionSolves
from layoutopt.programmes.vocational import prefecture as problems
from layoutopt.programmes.vocational.outcome import prefecture_outcome
from layoutopt.programmes.vocational.prefecture import PrefectureInput
from layoutopt.programmes.vocational.programme import ACTIONS
from layoutopt.scenario import VocationalSection

STREAM = 150
STANDARD_STREAMS = 8
OPTIONS = SolverOptions(mip_gap=0.0, threads=1)
# Small weights so that travel decides; a stream or a new school costs 1 student-minute.
SECTION = VocationalSection(stream_cost=1.0, new_school_cost=1.0, switch_cost_min=0.0)


def place(place_id, region="C1", streams=10, *, kind="school", centre=False, categories=""):
    return {
        "place_id": place_id,
        "kind": kind,
        "region_id": region,
        "streams": streams,
        "teachers": 60,
        "spare_beds": 0,
        "centre": centre or kind == "site",
        "held": centre,
        "exempt_reason": "",
        "specialties": categories,
    }


def prefecture(places, demand, minutes, private=(), own=None) -> PrefectureInput:
    """``demand``: students of each demand point (a county here, unless ``own`` names the
    school a demand point's students attend today)."""
    own = own or {}
    return PrefectureInput(
        prefecture_id="P1",
        places=pd.DataFrame(places),
        demand=pd.DataFrame(
            {
                "demand_id": list(demand),
                "students": list(demand.values()),
                "own": [own.get(d, "") for d in demand],
                "region_id": [d.split(":")[-1] for d in demand],
            }
        ),
        travel=pd.DataFrame(
            [{"place_id": s, "demand_id": d, "minutes": m} for (d, s), m in minutes.items()]
        ),
        counties=tuple(sorted(demand)),
        private_categories=frozenset(private),
    )


def plan(case: PrefectureInput, section=SECTION, price=None):
    today = solve(problems.today_problem(case, section, STREAM), OPTIONS)
    problem = problems.plan_problem(case, today, section, STREAM, STANDARD_STREAMS, price)
    return today, solve(problem, OPTIONS)


def loads(solution) -> dict[str, float]:
    return solution.assignment.groupby("site_id")["weight"].sum().round(6).to_dict()


def short(solution) -> dict[str, float]:
    """The priced rules that came back short, by name."""
    return {k: round(v, 6) for k, v in solution.share_shortfall.items() if v > 1e-6}


def opened(case: PrefectureInput, solution) -> set[str]:
    return set(case.places["place_id"][solution.is_open])


def test_a_school_that_cannot_reach_the_standard_merges_into_the_centre():
    # S2 is nearer, but at the 6-stream cap it holds 900 < 1,200: open, it would break the
    # standard, so it closes and the centre takes all 1,500 (15,000 student-minutes,
    # against 600 x 5 + 900 x 10 = 12,000 without the rule).
    section = SECTION.model_copy(update={"max_streams": 6})
    case = prefecture(
        [place("S1", centre=True), place("S2", streams=4)],
        {"C1": 1500},
        {("C1", "S1"): 10, ("C1", "S2"): 5},
    )
    today, after = plan(case, section)
    assert loads(today) == {"S1": 900.0, "S2": 600.0}
    assert opened(case, after) == {"S1"} and loads(after) == {"S1": 1500.0}
    assert after.report.objective == pytest.approx(15_000)
    outcome = prefecture_outcome(case, today, after, section, STREAM, STANDARD_STREAMS, pd.Series())
    merge = [c for c in outcome.changes if c["action"] == "merge_into"]
    assert [(c["school_id"], c["target_id"], c["students_moved"]) for c in merge] == [
        ("S2", "S1", 600.0)
    ]
    assert "below the standard at the horizon (600 of its own students" in merge[0]["reason"]


def test_a_county_without_a_public_school_gets_one_or_a_priced_shortfall():
    # C2's 300 students would rather travel 40 min to S1 than pay for nothing; the
    # presence rule opens the site N2 (8 streams, the standard's) for them instead.
    places = [place("S1", centre=True), place("N2", "C2", 0, kind="site")]
    minutes = {("C1", "S1"): 10, ("C2", "S1"): 40, ("C2", "N2"): 5}
    case = prefecture(places, {"C1": 1300, "C2": 300}, minutes)
    today, after = plan(case, price=5_000.0)  # even with a price on every school kept
    assert opened(case, after) == {"S1", "N2"}
    assert after.modules[1] == 0 and loads(after) == {"S1": 1300.0, "N2": 300.0}
    outcome = prefecture_outcome(case, today, after, SECTION, STREAM, STANDARD_STREAMS, pd.Series())
    assert outcome.places.set_index("place_id").at["N2", "streams_after"] == STANDARD_STREAMS
    # Today the centre's 1,500 places hold C1's 1,300 and 200 of C2's (100 have none);
    # those 200 leave it for their own county's new school: both rows say so.
    assert [c["action"] for c in outcome.changes] == ["new_school", "send_students"]
    new, send = outcome.changes
    assert (send["school_id"], send["students_moved"]) == ("S1", 200)
    assert new["students_moved"] == 300 and "S1 (200)" in new["reason"]
    # Without the site the rule cannot hold: it comes back short, named, with its fix.
    bare = prefecture(places[:1], {"C1": 1000, "C2": 300}, minutes)
    today, after = plan(bare)
    assert short(after) == {"presence:C2": 1.0}
    outcome = prefecture_outcome(bare, today, after, SECTION, STREAM, STANDARD_STREAMS, pd.Series())
    (row,) = [c for c in outcome.changes if c["action"] == "shortfall"]
    assert row["region_id"] == "C2" and "rule county_presence" in row["reason"]
    assert "no candidate site" in row["reason"]


def test_every_category_stays_with_a_school_that_teaches_it():
    # Everyone is nearest the centre S1, but 65 and 66 are taught only by S2 (65) and S3
    # (65;66): S3 alone keeps both, at exactly the standard's 1,200 students (30 min);
    # S1 takes the other 1,300. Keeping S2 as well would move 1,200 more from 10 to 20 min.
    case = prefecture(
        [
            place("S1", centre=True, categories="61"),
            place("S2", categories="65"),
            place("S3", categories="65;66"),
        ],
        {"C1": 2500},
        {("C1", "S1"): 10, ("C1", "S2"): 20, ("C1", "S3"): 30},
    )
    _, after = plan(case)
    assert opened(case, after) == {"S1", "S3"}
    assert loads(after) == {"S1": 1300.0, "S3": 1200.0}
    # A category a private school teaches is safe: then S3 may close too.
    free = PrefectureInput(**{**case.__dict__, "private_categories": frozenset({"65", "66"})})
    _, after = plan(free)
    assert opened(free, after) == {"S1"}


def test_rules_that_cannot_all_hold_give_a_priced_row_naming_the_rule():
    # Only S2 teaches 65, but the prefecture has 1,000 students: S2 open would need 1,200.
    # The standard is a constraint; the category is a priced rule: it comes back short.
    case = prefecture(
        [place("S1", centre=True, categories="61"), place("S2", streams=4, categories="65")],
        {"C1": 1000},
        {("C1", "S1"): 10, ("C1", "S2"): 10},
    )
    today, after = plan(case)
    assert opened(case, after) == {"S1"}
    assert short(after) == {"category:65": 1.0}
    assert after.report.objective == pytest.approx(10_000 + SECTION.category_shortfall_cost)
    outcome = prefecture_outcome(case, today, after, SECTION, STREAM, STANDARD_STREAMS, pd.Series())
    (row,) = [c for c in outcome.changes if c["action"] == "shortfall"]
    assert row["region_id"] == "P1"
    assert "rule specialty_coverage" in row["reason"] and "65 水利" in row["reason"]


def test_the_count_range_is_met_by_a_price_per_school_kept():
    # S2 and S3 (10 min) hold 1,300 each at 10 streams; S2 alone needs 18 streams (8 more,
    # 8 student-minutes). At price 0 both stay (3 schools with the centre); above 8 per
    # school one closes (2 schools).
    case = prefecture(
        [place("S1", centre=True), place("S2"), place("S3")],
        {"C1": 2600},
        {("C1", "S1"): 20, ("C1", "S2"): 10, ("C1", "S3"): 10},
    )
    assert len(opened(case, plan(case, price=0.0)[1])) == 3
    assert len(opened(case, plan(case, price=100.0)[1])) == 2

    def evaluate(price, kept):
        today, after = plan(case, price=price)
        counts = {"schools_after": float(after.is_open.sum())}
        return {"P1": (RegionSolves(today, after), RegionOutcome("P1", [], pd.DataFrame(), counts))}

    results, found = search_price(CountTarget("schools_after", 2, 2, 0.0, 4.0, 8), evaluate)
    assert results["P1"][1].counts["schools_after"] == 2
    assert found["price_yuan"] > 8
    assert found["price_search"][0]["schools_after"] == 3


@st.composite
def prefectures(draw):
    counties = [f"C{k}" for k in range(draw(st.integers(1, 3)))]
    places, minutes, demand = [], {}, {}
    for county in counties:
        demand[county] = float(draw(st.integers(0, 3000)))
        for k in range(draw(st.integers(1, 3))):
            school = f"{county}S{k}"
            places.append(place(school, county, draw(st.integers(1, 12)), centre=k == 0))
    for county in counties:
        for school in places:
            minutes[(county, school["place_id"])] = float(draw(st.integers(5, 90)))
    return prefecture(places, demand, minutes), draw(st.integers(-20_000, 20_000))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefectures(), st.integers(12, 30))
def test_students_are_conserved_and_no_school_grows_above_the_cap(drawn, cap):
    case, price = drawn
    section = SECTION.model_copy(update={"max_streams": cap})
    _, after = plan(case, section, float(price))
    assert after.report.status == "optimal"
    placed = after.assignment["weight"].sum() + after.unmet["weight"].sum()
    assert placed == pytest.approx(case.demand["students"].sum())
    table = problems.site_table(case, section, STANDARD_STREAMS)
    streams = np.where(after.is_open, table["streams_open"] + after.modules, 0)
    load = pd.Series(loads(after)).reindex(table["place_id"]).fillna(0).to_numpy()
    assert (streams <= np.maximum(cap, table["streams_open"])).all()
    assert (load <= streams * STREAM + 1e-6).all()
    closable = (table["status"] == "existing_closable").to_numpy()
    assert (load[closable & after.is_open] >= section.standard_students - 1e-6).all()


TINY_VOCATIONAL = """
[travel]
cache_dir = "{cache}"
[highschool]
plan_students = 0
[kindergarten]
enabled = false
[vocational]
plan_students = 0
schools_kept = [{lo}, {hi}]
high_level_schools = 3
"""


def tiny_vocational(tmp_path: Path, data: Path, lo: int = 9, hi: int = 11) -> Path:
    from typer.testing import CliRunner

    from conftest import write_scenario
    from layoutopt.cli import app

    text = TINY_VOCATIONAL.format(cache=(tmp_path / "cache").as_posix(), lo=lo, hi=hi)
    scenario = write_scenario(tmp_path / "voc.toml", data, text)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["plan", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_vocational_programme_on_the_tiny_data_set(tiny_dataset_dir: Path, tmp_path: Path):
    out = tiny_vocational(tmp_path, tiny_dataset_dir)
    kpis = pd.read_csv(out / "kpis.csv", encoding="utf-8-sig", dtype={"scope_id": str})
    mine = kpis[(kpis["programme"] == "vocational") & (kpis["scope"] == "province")]
    planned = mine.set_index("indicator")["planned"]
    met = mine.set_index("indicator")["met"]
    assert 9 <= planned["vocational_schools"] <= 11
    for name in (
        "vocational_schools_at_least",
        "vocational_schools_at_most",
        "counties_with_public_vocational_school",
        "public_below_standard_without_reason",
        "specialty_categories_lost",
        "students_without_place",
        "high_level_schools",
    ):
        assert met[name] == "yes", name
    schools = pd.read_csv(out / "schools_after.csv", encoding="utf-8-sig", dtype=str)
    vocational = schools[schools["level"] == "vocational"]
    assert vocational["high_level"].eq("True").sum() == 3
    changes = pd.read_csv(out / "changes.csv", encoding="utf-8-sig", dtype=str)
    voc = changes[changes["programme"] == "vocational"]
    common = {str(a.code) for a in COMMON_ACTIONS}
    assert set(voc["action"]) <= {str(a.code) for a in ACTIONS} | common
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "price_student_min" in manifest["programmes"]["vocational"]
    solves = [s for s in manifest["solves"] if s["name"].startswith("vocational-")]
    assert solves and all(s["status"] == "optimal" for s in solves)


def test_the_vocational_map_opens_offline_with_its_layers(tiny_dataset_dir: Path, tmp_path: Path):
    from test_map import markers, render_offline

    out = tiny_vocational(tmp_path, tiny_dataset_dir)
    page = out / "maps" / "vocational.html"
    dom, log = render_offline(page, tmp_path / "profile")
    assert not [line for line in log.splitlines() if "Uncaught" in line]
    legend = dom.split('id="layoutopt-legend"')[1]
    assert "省级高水平中职学校 high-level schools (3)" in legend
    assert "普职比 general : vocational, register" in legend  # the left pane's choropleth
    assert "普职比 general : vocational, after the plan" in legend
    assert "1.00 – 1.20" in legend and "&gt; 1.50" in legend  # classes around 1.0
    assert "市界 prefecture boundaries" in dom and "合并去向 merge → receiver" in dom
    schools = pd.read_csv(out / "schools_after.csv", encoding="utf-8-sig")
    assert markers(dom, "after") == int((schools["level"] == "vocational").sum())


def test_a_closing_schools_own_students_follow_it_to_a_named_receiver_across_a_county_line():
    # X (county C2, 2 streams) holds its own 300 students at the horizon, 5 min from them;
    # it is below the standard. C2's centre W is 100 min from them, the centre Y of C1 40:
    # X closes and its 300 follow it to Y, named, the row saying they cross into C1 within
    # the 90-min limit (their trip before: 5 min).
    case = prefecture(
        [place("Y", centre=True), place("X", "C2", streams=2), place("W", "C2", centre=True)],
        {"school:Y": 1000, "school:X": 300, "school:W": 900},
        {
            ("school:Y", "Y"): 10,
            ("school:X", "X"): 5,
            ("school:X", "Y"): 40,
            ("school:X", "W"): 100,
            ("school:W", "W"): 10,
        },
        own={"school:Y": "Y", "school:X": "X", "school:W": "W"},
    )
    case = PrefectureInput(
        case.prefecture_id,
        case.places,
        case.demand.assign(region_id=["C1", "C2", "C2"]),
        case.travel,
        ("C1", "C2"),
        case.private_categories,
    )
    today, after = plan(case)
    assert loads(today) == {"Y": 1000.0, "X": 300.0, "W": 900.0}  # each school its own
    assert opened(case, after) == {"Y", "W"}
    names = pd.Series({"C1": "一县", "C2": "二县", "X": "X校", "Y": "Y校", "W": "W校"})
    outcome = prefecture_outcome(case, today, after, SECTION, STREAM, STANDARD_STREAMS, names)
    (merge,) = [c for c in outcome.changes if c["action"] == "merge_into"]
    assert (merge["school_id"], merge["target_id"], merge["students_moved"]) == ("X", "Y", 300)
    assert merge["region_id"] == "C2"  # the row names its school's county
    assert (
        "300 cross into 一县: 40 min against 5 before, within the 90-min limit" in merge["reason"]
    )
    # With a 30-min limit (and today's 5 min shorter) X cannot send them to Y, nor keep
    # them below the standard: they are left without a place, priced and named.
    strict = SECTION.model_copy(update={"max_travel_min": 30.0})
    today, after = plan(case, strict)
    outcome = prefecture_outcome(case, today, after, strict, STREAM, STANDARD_STREAMS, names)
    (closed,) = [c for c in outcome.changes if c["action"] == "closed"]
    assert "300 of its students at the horizon can reach no other school" in closed["reason"]
    (short,) = [c for c in outcome.changes if c["action"] == "shortfall"]
    assert short["students_unseated"] == 300 and "30-min travel limit" in short["reason"]
    # Which is why the programme holds such a school: its own students reach no other.
    from layoutopt.programmes.vocational.programme import _isolated

    alone = _isolated(pd.Series(["X", "Y"]), case.travel, 30.0)
    assert alone.tolist() == [True, True]  # Y's students reach no other school either
    assert _isolated(pd.Series(["X"]), case.travel, 90.0).tolist() == [False]
