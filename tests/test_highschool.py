"""The high-school programme on hand-made counties whose answers can be worked out on paper.

Streams hold 150 students (class of 50 × 3 grades). The small-school weight (10⁶) is far
above any travel or stream cost here, so a small school closes whenever it legally can.
"""

from __future__ import annotations

import pandas as pd
import pytest

from layoutopt.engine import SolverOptions, solve
from layoutopt.programmes.highschool.county import (
    CountyInput,
    county_plan,
    plan_problem,
    today_problem,
)
from layoutopt.programmes.highschool.greedy import greedy_county
from layoutopt.programmes.highschool.outcome import county_outcome
from layoutopt.scenario import HighSchoolSection

STREAM = 150
OPTIONS = SolverOptions(mip_gap=0.0, time_limit_s=60)


def county(schools, demand, travel, sites=()) -> CountyInput:
    """schools: (id, streams, must_keep); demand: (id, students); travel: (place, demand, min);
    sites: (id, max_streams)."""
    return CountyInput(
        region_id="990101",
        schools=pd.DataFrame(schools, columns=["school_id", "streams", "must_keep"]),
        sites=pd.DataFrame(list(sites), columns=["place_id", "max_streams"]),
        demand=pd.DataFrame(demand, columns=["demand_id", "students"]),
        travel=pd.DataFrame(travel, columns=["place_id", "demand_id", "minutes"]),
    )


def run(c: CountyInput, **policy):
    section = HighSchoolSection(**policy)
    today = solve(today_problem(c, section, STREAM), OPTIONS)
    plan = county_plan(c, section, today, solve(plan_problem(c, today, section, STREAM), OPTIONS))
    names = pd.Series({s: f"name-{s}" for s in plan.sites["place_id"]})
    outcome = county_outcome(plan, section, STREAM, names)
    return plan, outcome, section


def actions(outcome) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for change in outcome.changes:
        out.setdefault(change["action"], []).append(change["school_id"])
    return out


# Three settlements, each with its own school today. B (2 streams) can close: its students
# reach A in 20 min. C (2 streams) cannot: its students are 95-100 min from A and B, past
# the 90-min limit.
THREE = county(
    schools=[("A", 10, False), ("B", 2, False), ("C", 2, False)],
    demand=[("d1", 300), ("d2", 150), ("d3", 150)],
    travel=[
        ("A", "d1", 5),
        ("B", "d1", 25),
        ("C", "d1", 100),
        ("A", "d2", 20),
        ("B", "d2", 5),
        ("C", "d2", 95),
        ("A", "d3", 100),
        ("B", "d3", 95),
        ("C", "d3", 5),
    ],
)


def test_small_school_merges_into_its_neighbour_and_the_remote_one_stays_exempt():
    plan, outcome, _ = run(THREE)
    assert plan.plan.report.status == "optimal"
    assert actions(outcome) == {
        "merge_into": ["B"],
        "receive_students": ["A"],
        "keep_small_exempt": ["C"],
    }
    merge = next(c for c in outcome.changes if c["action"] == "merge_into")
    assert merge["target_id"] == "A"
    assert merge["students_moved"] == pytest.approx(150)
    assert merge["minutes"] == pytest.approx((5, 20))  # d2: 5 min to B, 20 min to A
    assert merge["beds_added"] == 0  # 20 min is under the 40-min boarding threshold
    assert "sends 150: to name-A (150)" in merge["reason"]
    # The receiver has a row of its own, saying what came in.
    receive = next(c for c in outcome.changes if c["action"] == "receive_students")
    assert "takes in 150 students: from name-B (150)" in receive["reason"]
    # The named flow, in whole students: B to A, 150, 5 min before and 20 after.
    flow = outcome.whole.pairs.set_index(["from_id", "to_id"]).loc[("B", "A")]
    assert (flow["students"], flow["minutes_before"], flow["minutes_after"]) == (150, 5, 20)
    exempt = next(c for c in outcome.changes if c["action"] == "keep_small_exempt")
    assert "90-min limit" in exempt["reason"]
    places = outcome.places.set_index("place_id")
    assert places.loc["A", "students_after"] == 450
    assert not places.loc["B", "open"]


def test_a_longer_trip_needs_beds_at_the_receiving_school_counted_there_once():
    _, outcome, _ = run(THREE, boarding_travel_min=15)
    merge = next(c for c in outcome.changes if c["action"] == "merge_into")
    # 20 min > 15 min: all 150 board, at the receiver: its row has the beds, not the merge.
    assert merge["beds_added"] == 0
    assert "150 need a bed at their receiver" in merge["reason"]
    receiver = next(c for c in outcome.changes if c["school_id"] == "A")
    assert (receiver["action"], receiver["beds_added"]) == ("add_beds", 150)
    assert outcome.places.set_index("place_id").loc["A", "beds_added"] == 150
    assert sum(c["beds_added"] for c in outcome.changes) == 150


def test_the_greedy_plan_makes_the_same_merge_here():
    plan, outcome, section = run(THREE)
    greedy = greedy_county(plan, outcome.today, section, STREAM)
    assert greedy.merges == {"B": "A"}
    assert greedy.small_schools_left == 1
    assert greedy.streams_added == 0


def test_exemption_in_the_scenario_keeps_a_small_school_with_its_reason():
    _, outcome, _ = run(THREE, exempt={"B": "民族学校 minority school"})
    exempt = {
        c["school_id"]: c["reason"] for c in outcome.changes if c["action"] == "keep_small_exempt"
    }
    assert exempt["B"] == "small, kept: exempt in the scenario: 民族学校 minority school"


# A (5 streams, 750 seats) and B (3 streams). Closing B sends its 400 students to A, which
# then needs 1,000 seats: 7 streams, 2 added.
TWO = county(
    schools=[("A", 5, False), ("B", 3, False)],
    demand=[("d1", 600), ("d2", 400)],
    travel=[("A", "d1", 5), ("B", "d1", 30), ("A", "d2", 30), ("B", "d2", 5)],
)


def test_receiving_school_adds_the_streams_its_new_load_needs():
    _, outcome, _ = run(TWO)
    assert actions(outcome) == {"merge_into": ["B"], "expand": ["A"]}
    expand = next(c for c in outcome.changes if c["action"] == "expand")
    assert expand["reason"].startswith("adds 2 stream(s)")
    places = outcome.places.set_index("place_id")
    assert (places.loc["A", "streams"], places.loc["A", "streams_after"]) == (5, 7)
    assert places.loc["A", "capacity_after"] == 1050


def test_stream_cap_that_leaves_no_room_keeps_the_small_school_with_that_reason():
    # At most 6 streams: A holds 900 < 1,000, so B must stay open.
    _, outcome, _ = run(TWO, max_streams=6)
    exempt = [c for c in outcome.changes if c["action"] == "keep_small_exempt"]
    assert [c["school_id"] for c in exempt] == ["B"]
    assert "6-stream cap" in exempt[0]["reason"]
    assert not any(c["action"] == "shortfall" for c in outcome.changes)


# A is above the cap (24 streams, 3,600 seats) and 4,000 students live near it.
LARGE = county(
    schools=[("A", 24, True)],
    demand=[("d1", 4000)],
    travel=[("A", "d1", 5), ("S", "d1", 20)],
    sites=[("S", 12)],
)


def test_school_above_the_cap_is_held_and_a_new_school_takes_the_rest():
    _, outcome, _ = run(LARGE)
    found = actions(outcome)
    assert found == {"new_school": ["S"], "hold_large": ["A"]}
    # Today A seats 3,600 and 400 have no seat; the new school takes 751: those 400 and
    # 351 of A's, each flow named.
    held = next(c for c in outcome.changes if c["action"] == "hold_large")
    assert "sends 351: to name-S (351)" in held["reason"]
    new = next(c for c in outcome.changes if c["action"] == "new_school")
    assert "takes in 751 students: from no place in today's network" in new["reason"]
    assert "name-A (351)" in new["reason"]
    places = outcome.places.set_index("place_id")
    assert places.loc["A", "streams_after"] == 24  # held: not grown
    # 400 students do not fit in A; a new school opens with at least 6 streams
    # (751+ students), so it takes 751 and A keeps 3,249.
    assert places.loc["S", "streams_after"] == 6
    assert places.loc["S", "students_after"] == 751
    assert places.loc["A", "students_after"] == 3249


def test_impossible_policy_comes_back_as_a_priced_shortfall_with_its_cause():
    _, outcome, _ = run(LARGE, allow_new_schools=False)
    shortfall = [c for c in outcome.changes if c["action"] == "shortfall"]
    assert len(shortfall) == 1
    assert shortfall[0]["students_unseated"] == pytest.approx(400)
    assert shortfall[0]["students_moved"] == 0
    assert "new schools are not allowed" in shortfall[0]["reason"]


def test_a_county_that_cannot_hold_a_public_school_gets_a_shortfall_row_not_infeasibility():
    # No public school today (its schools are private), 300 public students: a new school
    # needs 6 streams, more than 5 × 150 = 750 students. The rule cannot hold.
    c = county(schools=[], demand=[("d1", 300)], travel=[("S1", "d1", 10)], sites=[("S1", 12)])
    plan, outcome, _ = run(c)
    assert plan.plan.report.status == "optimal"
    rows = [r for r in outcome.changes if r["action"] == "shortfall"]
    reasons = " / ".join(r["reason"] for r in rows)
    assert "rule county_public_high_school" in reasons and "300 public students" in reasons
    # With 900 students a new school can open, and the rule holds.
    c = county(schools=[], demand=[("d1", 900)], travel=[("S1", "d1", 10)], sites=[("S1", 12)])
    plan, outcome, _ = run(c)
    assert actions(outcome) == {"new_school": ["S1"]}
