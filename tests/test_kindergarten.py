"""The kindergarten programme on a hand-made county whose answer can be worked out on paper.

A growing settlement g (200 children) and a shrinking one s (100). Today a public
kindergarten P (4 classes, 120 places) is 1 km from s and out of g's reach; a private,
non-inclusive one O (6 classes, 180 places) is 1 km from g. Three candidate sites: N1
(new, 0.5 km from g), N2 (new, 8 km from g) and C (an empty building 0.5 km from s).

Today 280 of 300 children have a place (93%), 100 of them public (36%). The targets
(96.5% enrolled, 55% public, 86.5% inclusive) need public places near g: the cheapest is
a new kindergarten of the minimum 6 classes at N1 (180 places, 3.0 + 6 × 0.25 million
yuan); s fits in P; O keeps the 20 children left; nothing else is worth its cost.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from layoutopt.engine import SolverOptions, solve
from layoutopt.programmes.kindergarten.county import (
    KgCountyInput,
    KgCountyPlan,
    option_table,
    plan_problem,
    today_problem,
)
from layoutopt.programmes.kindergarten.outcome import _tallies, county_outcome
from layoutopt.scenario import KindergartenSection

EXACT = SolverOptions(mip_gap=0.0, time_limit_s=60)

COUNTY = KgCountyInput(
    region_id="990101",
    class_size=30,
    kgs=pd.DataFrame(
        [("P", "public", 120, 4), ("O", "other_private", 180, 6)],
        columns=["school_id", "kind", "capacity", "classes"],
    ),
    sites=pd.DataFrame(
        [
            ("N1", "new_kindergarten", 12),
            ("N2", "new_kindergarten", 12),
            ("C", "convert_building", 6),
        ],
        columns=["place_id", "action", "max_classes"],
    ),
    demand=pd.DataFrame([("g", 200.0), ("s", 100.0)], columns=["demand_id", "children"]),
    reach=pd.DataFrame(
        [
            ("O", "g", 1.0, 3.0),
            ("N1", "g", 0.5, 2.0),
            ("N2", "g", 8.0, 20.0),
            ("P", "s", 1.0, 3.0),
            ("C", "s", 0.5, 2.0),
        ],
        columns=["place_id", "demand_id", "distance_km", "minutes"],
    ),
)


def plan_county(county: KgCountyInput, section, options, price: float = 0.0) -> KgCountyPlan:
    """Today's solve, then the plan's, as the regional runner does them."""
    today = solve(today_problem(county, section), options)
    plan = solve(plan_problem(county, section, price, today), options)
    return KgCountyPlan(county, option_table(county, section), today, plan)


def solve_county(**policy):
    section = KindergartenSection(**policy)
    plan = plan_county(COUNTY, section, EXACT)
    names = pd.Series({i: f"name-{i}" for i in ["P", "O", "N1", "N2", "C"]})
    return plan, county_outcome(plan, section, names)


def test_the_growing_settlement_gets_a_new_public_kindergarten_of_the_minimum_size():
    # Public places must reach 55% of ~300 children: P holds s's 100, so g needs a new
    # public kindergarten of at least 6 classes, which opens with the fewest children it
    # may (5 × 30 + 1 = 151): O, private, keeps as many of its children as the rules let it
    # (49), and is recognised as inclusive to meet 86.5% (cheaper than moving children).
    plan, outcome = solve_county()
    assert plan.plan.report.status == "optimal"
    b = outcome.buildings.set_index("place_id")
    assert b.loc["N1", "action"] == "new_kindergarten"
    assert b.loc["N1", "classes_after"] == 6
    assert "N2" not in b.index and "C" not in b.index  # not opened
    assert b.loc["P", "action"] == "keep" and b.loc["O", "action"] == "recognise_inclusive"
    assert b.loc["N1", "children_after"] == pytest.approx(151)
    assert b.loc["P", "children_after"] == pytest.approx(100)
    assert b.loc["O", "children_after"] == pytest.approx(49)
    assert [c["action"] for c in outcome.changes] == ["new_kindergarten", "recognise_inclusive"]


def test_the_three_targets_are_met():
    plan, outcome = solve_county()
    b = outcome.buildings
    enrolled = b["children_after"].sum()
    assert enrolled / 300 >= 0.965
    assert b.loc[b["kind_after"] == "public", "children_after"].sum() / enrolled >= 0.55
    inclusive = b.loc[b["kind_after"] != "other_private", "children_after"].sum()
    assert inclusive / enrolled >= 0.865
    assert all(v < 1e-6 for v in plan.plan.share_shortfall.values())


def test_today_falls_short_of_the_targets():
    _, outcome = solve_county()
    today = outcome.buildings.set_index("place_id")["children_horizon_today"]
    assert today["P"] == pytest.approx(100)  # all of s
    assert today["O"] == pytest.approx(180)  # full: 20 of g's children have no place


def test_without_candidate_sites_the_county_reports_its_shortfalls():
    county = KgCountyInput(
        COUNTY.region_id,
        COUNTY.class_size,
        COUNTY.kgs,
        COUNTY.sites.iloc[:0],
        COUNTY.demand,
        COUNTY.reach[COUNTY.reach["place_id"].isin(["P", "O"])],
    )
    section = KindergartenSection()
    plan = plan_county(county, section, EXACT)
    outcome = county_outcome(plan, section, pd.Series(dtype=str))
    short = {c["reason"].split(":")[0] for c in outcome.changes if c["action"] == "shortfall"}
    # O holds 180 of g's 200 and P all 100 of s: 280 enrolled, 9.5 short of 96.5% of 300;
    # public places are P's 100, short of 55% of 280 by 54. Inclusive coverage is met by
    # recognising O (180 places × 1,000 yuan).
    assert short == {"enrolment_rate", "public_share"}
    actions = {c["school_id"]: c["action"] for c in outcome.changes if c["school_id"]}
    assert actions == {"O": "recognise_inclusive"}
    assert np.isclose(plan.plan.share_shortfall["enrolment"], 289.5 - 280, atol=1e-6)
    assert np.isclose(plan.plan.share_shortfall["public"], 0.55 * 280 - 100, atol=1e-6)


def one_settlement(kgs, sites=(), floors=None) -> KgCountyInput:
    """100 children in settlement g; kgs: (id, kind, capacity, classes, register); sites:
    (id, action, max_classes); private kindergartens 0.5 km from g (so today's network
    fills them first), the rest 1 km."""
    kg_frame = pd.DataFrame(kgs, columns=["school_id", "kind", "capacity", "classes", "enrolment"])
    site_frame = pd.DataFrame(list(sites), columns=["place_id", "action", "max_classes"])
    places = list(kg_frame["school_id"]) + list(site_frame["place_id"])
    private = set(kg_frame.loc[kg_frame["kind"] != "public", "school_id"])
    return KgCountyInput(
        region_id="990101",
        class_size=30,
        kgs=kg_frame.assign(demand_id="g"),
        sites=site_frame.assign(demand_id="g"),
        demand=pd.DataFrame([("g", 100.0)], columns=["demand_id", "children"]),
        reach=pd.DataFrame(
            [(p, "g", 0.5 if p in private else 1.0, 3.0) for p in places],
            columns=["place_id", "demand_id", "distance_km", "minutes"],
        ),
        floors=floors or {},
    )


def loads(county: KgCountyInput, **policy) -> tuple[dict, dict]:
    section = KindergartenSection(**policy)
    plan = plan_county(county, section, EXACT)
    outcome = county_outcome(plan, section, pd.Series(dtype=str))
    b = outcome.buildings.set_index("place_id")
    return b["children_after"].to_dict(), b["action"].to_dict()


NO_TARGETS = {"public_share": 0.0, "inclusive_share": 0.0}


def test_a_public_kindergarten_never_merges_into_a_private_one():
    # P (public, 2 classes) may merge for its saving; O (private) has room for all 100
    # children but 60 on its register. With the rule O takes no more than 60, so P stays
    # for the other 40 (96.5% must be placed); without it P merges into O.
    county = one_settlement([("P", "public", 60, 2, 40), ("O", "other_private", 200, 7, 60)])
    placed, actions = loads(county, **NO_TARGETS)
    assert actions["P"] == "keep" and placed["O"] == pytest.approx(60)
    assert placed["P"] == pytest.approx(40)
    placed, actions = loads(county, private_keep_register=False, **NO_TARGETS)
    assert actions["P"] in ("merge_into", "close") and placed["O"] == pytest.approx(100)


def test_private_kindergartens_keep_their_register_children_first():
    # Two kindergartens with room for all: the private one (which today's network fills)
    # keeps its 50 register children, and no more: parents chose it.
    county = one_settlement([("P", "public", 150, 5, 60), ("O", "other_private", 150, 5, 50)])
    placed, _ = loads(county, **NO_TARGETS)
    assert placed["O"] == pytest.approx(50) and placed["P"] == pytest.approx(50)


def test_a_county_share_may_not_fall_below_its_register_value():
    # Register: 70% public. The private kindergarten would keep 50 of 100 children, leaving
    # public at 50%; the 55% target moves 5 of them, the register floor moves 20.
    county = one_settlement(
        [("P", "public", 150, 5, 70), ("O", "other_private", 150, 5, 50)], floors={"public": 0.7}
    )
    placed, _ = loads(county, inclusive_share=0.0)
    assert placed["P"] == pytest.approx(70) and placed["O"] == pytest.approx(30)
    placed, _ = loads(county, inclusive_share=0.0, allow_decrease=True)
    assert placed["P"] == pytest.approx(55) and placed["O"] == pytest.approx(45)


def test_no_merge_beside_a_new_building_of_the_same_settlement():
    # P (small, public) is cheaper to merge away and replace by a new building N, the
    # receiver; the rule forbids merging and building in one settlement, so P stays.
    county = one_settlement([("P", "public", 60, 2, 60)], sites=[("N", "new_kindergarten", 6)])
    policy = {**NO_TARGETS, "new_min_classes": 1, "merge_saving": 5_000_000.0}
    _, actions = loads(county, **policy)
    assert not (actions.get("P") in ("merge_into", "close") and "N" in actions)
    assert actions["P"] in ("keep", "expand")


def test_a_rate_that_falls_below_its_register_value_comes_back_as_a_named_shortfall():
    # The register placed 95% of the county's children; at the horizon g's 100 children
    # reach P's 60 places only, and no project fits (no site): the rate falls to 60%. The
    # floor (95%) is a rule of its own, priced above the target's, and it comes back as an
    # enrolment_rate_no_decrease row naming the register's value and the plan's.
    county = one_settlement([("P", "public", 60, 2, 60)], floors={"enrolment": 0.95})
    section = KindergartenSection(**NO_TARGETS)
    plan = plan_county(county, section, EXACT)
    assert plan.plan.share_shortfall["enrolment_no_decrease"] == pytest.approx(35)
    outcome = county_outcome(plan, section, pd.Series(dtype=str))
    rules = {c["reason"].split(":")[0]: c for c in outcome.changes if c["action"] == "shortfall"}
    assert set(rules) == {"enrolment_rate", "enrolment_rate_no_decrease"}
    fell = rules["enrolment_rate_no_decrease"]["reason"]
    assert "falls from 95.0% on the register to 60.0% after the plan" in fell
    assert "the places within reach are full and no project fits" in fell
    # Allowed to fall, the county keeps only the target's row.
    plan = plan_county(county, section.model_copy(update={"allow_decrease": True}), EXACT)
    outcome = county_outcome(plan, section, pd.Series(dtype=str))
    assert [c["reason"].split(":")[0] for c in outcome.changes if c["action"] == "shortfall"] == [
        "enrolment_rate"
    ]


def test_children_are_not_reshuffled_between_kindergartens_that_stay():
    # X (100 children) reaches A (public, 80 places, full size: 12 classes) at 1 km and a
    # site N at 0.1 km; Y (60)
    # reaches A at 1.5 km and B (public, 60 places) at 3 km. Today A holds 80 of X's, B
    # Y's 60, 20 of X's have no place. N opens with a class for those 20. Without a switch
    # weight the plan fills N's class with 10 more of A's (0.9 km less each) and A's room
    # with 10 of B's (1.5 km less): a chain of moves between kindergartens that stay. Each
    # saves less than the switch weight (1,000 yuan-equivalent, 2 km at 500 a km): with it
    # they stay, and the only flow is the 20 to N.
    county = KgCountyInput(
        region_id="990101",
        class_size=30,
        kgs=pd.DataFrame(
            [("A", "public", 80, 12, 80), ("B", "public", 60, 12, 60)],
            columns=["school_id", "kind", "capacity", "classes", "enrolment"],
        ),
        sites=pd.DataFrame(
            [("N", "new_kindergarten", 6)], columns=["place_id", "action", "max_classes"]
        ),
        demand=pd.DataFrame([("X", 100.0), ("Y", 60.0)], columns=["demand_id", "children"]),
        reach=pd.DataFrame(
            [
                ("A", "X", 1.0, 3.0),
                ("N", "X", 0.1, 1.0),
                ("A", "Y", 1.5, 4.0),
                ("B", "Y", 3.0, 8.0),
            ],
            columns=["place_id", "demand_id", "distance_km", "minutes"],
        ),
    )
    policy = {**NO_TARGETS, "new_min_classes": 1, "outside_growth_cost_factor": 1.0}

    def flows(switch: float) -> dict:
        section = KindergartenSection(**policy, switch_cost_per_child=switch)
        outcome = county_outcome(plan_county(county, section, EXACT), section, pd.Series(dtype=str))
        pairs = outcome.whole.pairs
        return {
            (a, b): n for a, b, n in pairs[["from_id", "to_id", "students"]].itertuples(index=False)
        }

    assert flows(1000.0) == {("", "N"): 20}
    assert flows(0.0) == {("", "N"): 20, ("A", "N"): 10, ("B", "A"): 10}


def test_rounding_leans_to_the_side_of_a_rule_held_within_a_child():
    # Public P 55.3 of 100.6 placed: the 55% share holds within a child, so its tallies
    # lean (public up, placed down); private O's 0.4 children without a place do not.
    # With P at 70, no share is close and only the enrolment rate (96.5%) is.
    options = pd.DataFrame(
        {"base_id": ["P", "O"], "role": ["public", "other_private"], "open": [True, True]}
    )
    plan = SimpleNamespace(county=SimpleNamespace(floors={}))
    section = KindergartenSection(public_share=0.55, inclusive_share=0.5, enrolment_rate=0.965)
    tight = _tallies(options, plan, section, pd.Series({"P": 55.33, "O": 45.27, "": 0.4}))
    assert tight.of == {"": ("unplaced",), "P": ("public", "inclusive", "placed"), "O": ("placed",)}
    assert tight.lean == {"public": 1, "placed": -1}
    rate = _tallies(options, plan, section, pd.Series({"P": 70.0, "O": 26.6, "": 3.4}))
    assert rate.lean == {"unplaced": -1}
    slack = _tallies(options, plan, section, pd.Series({"P": 70.0, "O": 29.6, "": 0.4}))
    assert slack.lean == {}
