"""The boarding programme: each rule on a county small enough to solve on paper, and a
property test of the bed rules.

Hand cases: pupils live in settlements (V1, V2, …) and attend the school named in
``attend``; a trip is given in minutes by bus (the default mode) or in straight km on
foot. Defaults: primary grades within 40 min, junior within 60; modules of 50 beds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from layoutopt.engine import SolverOptions
from layoutopt.programmes.base import RegionSolves
from layoutopt.programmes.boarding.county import CountyInput
from layoutopt.programmes.boarding.network import BAND_LEVELS, BED_LEVELS, within_threshold
from layoutopt.programmes.boarding.programme import Boarding
from layoutopt.scenario import BoardingSection

OPTIONS = SolverOptions(mip_gap=0.0, threads=1)
PROGRAMME = Boarding()


def school(
    school_id,
    level="primary",
    *,
    pupils=300,
    beds=0,
    small=False,
    town=False,
    places=10_000,
    ownership="public",
):
    """A school of the county; ``places``: each of its sections' places (ample unless a
    case is about classrooms)."""
    primary = level in ("teaching_point", "primary", "nine_year")
    junior = level in ("junior", "nine_year", "complete_secondary")
    return {
        "school_id": school_id,
        "name": f"{school_id}学校",
        "level": level,
        "region_id": "C1",
        "ownership": ownership,
        "quality_tier": "standard",
        "enrolment": pupils,
        "primary_enrolment": pupils if level != "junior" else 0,
        "junior_enrolment": pupils if level == "junior" else 0,
        "classes": max(1, pupils // 40),
        "capacity": max(1, pupils // 40) * 45,
        "boarding_beds": beds,
        "boarders": beds,
        "small": small,
        "bed_host": town and level in ("primary", "junior", "nine_year"),
        "planned": level != "complete_secondary",
        "host_kind": "town" if town else "village",
        "primary_places": places if primary else 0,
        "junior_places": places if junior else 0,
        "primary_classes": max(1, places // 45) if primary else 0,
        "junior_classes": max(1, places // 50) if junior else 0,
        "geometry": Point(112.0, 37.0),
    }


def county(
    schools: list[dict],
    pupils: dict[str, tuple[int, int, int, float]],
    minutes: dict[tuple[str, str], float],
    attend: dict[tuple[str, str], str],
    section: BoardingSection | None = None,
) -> CountyInput:
    """``pupils``: settlement -> (young, upper primary, junior, left-behind share);
    ``minutes``: (settlement, school) -> trip (also read as km on foot); ``attend``:
    (band, settlement) -> the school its pupils attend today."""
    section = section or BoardingSection()
    table = pd.DataFrame(schools)
    level = table.set_index("school_id")["level"]
    day, board = [], []
    for (settlement, school_id), trip in minutes.items():
        for band, levels in BAND_LEVELS.items():
            if level[school_id] in levels:
                day.append((band, school_id, settlement, trip, trip / 1.3))
        for band, levels in BED_LEVELS.items():
            row = table.set_index("school_id").loc[school_id]
            if level[school_id] in levels and (row["boarding_beds"] > 0 or row["bed_host"]):
                board.append((band, school_id, settlement, trip, trip / 1.3))
    columns = ["band", "place_id", "demand_id", "minutes", "distance_km"]
    day_table = pd.DataFrame(day, columns=columns)
    flags = [
        within_threshold(day_table[day_table["band"] == b], section, 1.3, b) for b in BAND_LEVELS
    ]
    bands = [day_table[day_table["band"] == b] for b in BAND_LEVELS]
    day_table = pd.concat(
        [t.assign(within=f) for t, f in zip(bands, flags, strict=True)], ignore_index=True
    )
    return CountyInput(
        region_id="C1",
        section=section,
        pupils=pd.DataFrame(
            [
                {
                    "demand_id": d,
                    "region_id": "C1",
                    "name": f"{d}村",
                    "kind": "village",
                    "left_behind_share": lb,
                    "young": y,
                    "primary": p,
                    "junior": j,
                }
                for d, (y, p, j, lb) in pupils.items()
            ]
        ),
        schools=table,
        day=day_table,
        board=pd.DataFrame(board, columns=columns),
        attend=pd.DataFrame(
            [
                {"band": b, "demand_id": d, "school_id": s, "share": 1.0}
                for (b, d), s in attend.items()
            ]
        ),
        base={"far_base_bus": 0.0, "far_base_walk": 0.0},
    )


def run(region: CountyInput):
    solves = PROGRAMME.solve("C1", region, OPTIONS, None, None)
    assert solves.plan.report.status == "optimal"
    return solves, PROGRAMME.extract(region, solves)


def rows(outcome, action: str) -> list[dict]:
    return [r for r in outcome.changes if r["action"] == action]


def all_bands(settlement: str, primary: str, junior: str | None = None) -> dict:
    junior = junior or primary
    return {
        ("young", settlement): primary,
        ("primary", settlement): primary,
        ("junior", settlement): junior,
    }


def test_thresholds_differ_by_grade_band():
    # V1 is 50 minutes from the nine-year town school: beyond the primary grades' 40 min,
    # within the junior grades' 60. Its young pupils keep the village teaching point.
    region = county(
        [school("NY1", "nine_year", town=True), school("TP1", "teaching_point", pupils=20)],
        {"V1": (20, 30, 40, 0.0)},
        {("V1", "NY1"): 50.0, ("V1", "TP1"): 2.0},
        {("young", "V1"): "TP1", ("primary", "V1"): "NY1", ("junior", "V1"): "NY1"},
    )
    _, outcome = run(region)
    assert outcome.counts["far_after"] == pytest.approx(30)  # the 30 upper-primary pupils
    assert outcome.counts["boarders_after"] == pytest.approx(30)
    (dorm,) = rows(outcome, "add_dormitory")
    assert dorm["school_id"] == "NY1" and dorm["beds_added"] == 50  # one whole module
    # On foot the thresholds are 3 and 5 km: 50/1.3 = 38 km puts both bands beyond.
    walk = county(
        [school("NY1", "nine_year", town=True), school("TP1", "teaching_point", pupils=20)],
        {"V1": (20, 30, 40, 0.0)},
        {("V1", "NY1"): 50.0, ("V1", "TP1"): 2.0},
        {("young", "V1"): "TP1", ("primary", "V1"): "NY1", ("junior", "V1"): "NY1"},
        BoardingSection(day_mode="walk"),
    )
    _, outcome = run(walk)
    assert outcome.counts["far_after"] == pytest.approx(70)
    assert rows(outcome, "add_dormitory")[0]["beds_added"] == 100


def test_beds_come_in_whole_modules_within_the_school_limit():
    # 120 far pupils, 30 beds today at a town school that may add 2 modules: 30 + 100 = 130
    # beds would do, but max_modules = 1 gives 80; 40 pupils are short, named by settlement.
    section = BoardingSection(max_modules=1)
    region = county(
        [school("PS1", town=True, beds=30, pupils=400)],
        {"V1": (0, 120, 0, 0.0)},
        {("V1", "PS1"): 70.0},
        {("primary", "V1"): "PS1"},
        section,
    )
    _, outcome = run(region)
    (dorm,) = rows(outcome, "add_dormitory")
    assert dorm["beds_added"] == 50
    assert outcome.counts["boarders_after"] == pytest.approx(80)
    (short,) = rows(outcome, "shortfall")
    assert short["students_unseated"] == pytest.approx(40)
    assert "V1村" in short["reason"] and "module limits" in short["reason"]
    school_row = outcome.schools.set_index("school_id").loc["PS1"]
    assert school_row["beds_after"] == 80 and school_row["beds_register"] == 30
    # Living space of the modules: 200 m² for 50 beds, 4 m² a bed, above 3 m².
    assert outcome.counts["area_added_m2"] / outcome.counts["beds_added"] >= 3.0


def test_left_behind_pupils_get_the_beds_first_under_a_cap():
    # Two villages, 100 far pupils each; V1 has 10% left-behind, V2 60%. Today there are
    # no beds: 200 are missing. A cap of half (100 beds, two modules) goes to the
    # left-behind first: all 70 of them, then 30 others.
    section = BoardingSection(bed_cap_share=0.5)
    region = county(
        [school("PS1", town=True, pupils=500)],
        {"V1": (0, 100, 0, 0.1), "V2": (0, 100, 0, 0.6)},
        {("V1", "PS1"): 70.0, ("V2", "PS1"): 75.0},
        {("primary", "V1"): "PS1", ("primary", "V2"): "PS1"},
        section,
    )
    _, outcome = run(region)
    c = outcome.counts
    assert c["beds_added"] == 100 and c["boarders_after"] == pytest.approx(100)
    assert c["boarders_lb_after"] == pytest.approx(70)
    share_far = c["far_lb_after"] / c["far_after"]  # 70 / 200 = 0.35
    assert c["boarders_lb_after"] / c["boarders_after"] >= share_far
    assert all("bed cap" in r["reason"] for r in rows(outcome, "shortfall"))


def test_a_teaching_point_is_kept_where_young_pupils_have_no_other_school_in_reach():
    # TP1 serves V1, whose only other school is 55 min away (beyond 40): kept. TP2 serves
    # V2, 5 min from the primary school: it may close, its pupils go there by day.
    region = county(
        [
            school("PS1", pupils=400),
            school("TP1", "teaching_point", pupils=15, small=True),
            school("TP2", "teaching_point", pupils=15, small=True),
        ],
        {"V1": (15, 0, 0, 0.0), "V2": (15, 0, 0, 0.0)},
        {("V1", "TP1"): 1.0, ("V1", "PS1"): 55.0, ("V2", "TP2"): 1.0, ("V2", "PS1"): 5.0},
        {("young", "V1"): "TP1", ("young", "V2"): "TP2"},
    )
    _, outcome = run(region)
    (kept,) = rows(outcome, "keep_small_rural")
    assert kept["school_id"] == "TP1" and "V1村" in kept["reason"]
    (merged,) = rows(outcome, "merge_into")
    assert merged["school_id"] == "TP2" and merged["target_id"] == "PS1"
    after = outcome.schools.set_index("school_id")
    assert after.loc["TP1", "open"] and not after.loc["TP2", "open"]
    assert outcome.counts["young_no_school_after"] == 0


def test_a_small_school_merges_only_where_every_pupil_keeps_a_place():
    # PS2 (small, V2) is 4 min from PS1, 3 more than today (under merge_gain_min = 5): its
    # pupils of every grade can go there by day; it merges. PS3 (small, V3) is 90 min from
    # the only other school, which has no beds and may not add any: its pupils would be
    # left without, so it stays.
    region = county(
        [
            school("PS1", pupils=400),
            school("PS2", pupils=60, small=True),
            school("PS3", pupils=60, small=True),
        ],
        {"V2": (20, 20, 0, 0.2), "V3": (20, 20, 0, 0.2)},
        {("V2", "PS2"): 1.0, ("V2", "PS1"): 4.0, ("V3", "PS3"): 1.0, ("V3", "PS1"): 90.0},
        {**all_bands("V2", "PS2"), **all_bands("V3", "PS3")},
    )
    _, outcome = run(region)
    (merged,) = rows(outcome, "merge_into")
    assert merged["school_id"] == "PS2" and merged["target_id"] == "PS1"
    assert merged["students_moved"] == pytest.approx(40)
    after = outcome.schools.set_index("school_id")
    assert after.loc["PS3", "open"] and after.loc["PS3", "students_after"] == 40
    assert outcome.counts["far_no_bed_after"] == 0


def test_a_merging_school_keeps_a_teaching_point_for_its_young_grades():
    # PS2's upper grades can board at the town school (50 min); its young grades have no
    # other school within 40 min, so PS2 stays as a teaching point for them.
    section = BoardingSection(merge_gain_min=200.0)  # make merging worth a bed
    region = county(
        [school("PS1", pupils=400, town=True), school("PS2", pupils=60, small=True)],
        {"V2": (20, 40, 0, 0.0)},
        {("V2", "PS2"): 1.0, ("V2", "PS1"): 50.0},
        {("young", "V2"): "PS2", ("primary", "V2"): "PS2"},
        section,
    )
    _, outcome = run(region)
    (merged,) = rows(outcome, "merge_into")
    assert "teaching point" in merged["reason"]
    (kept,) = rows(outcome, "keep_small_rural")
    assert kept["school_id"] == "PS2"
    after = outcome.schools.set_index("school_id").loc["PS2"]
    assert after["open"] and after["teaching_point_after"] and after["primary_after"] == 20


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    far=st.lists(st.integers(1, 150), min_size=1, max_size=4),
    shares=st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4),
    beds=st.integers(0, 120),
    modules=st.integers(0, 3),
    cap=st.one_of(st.none(), st.floats(0.0, 1.0)),
)
def test_beds_rules_hold_on_random_counties(far, shares, beds, modules, cap):
    """Every far pupil is bedded or counted short; beds come in whole modules within the
    limit; boarders never exceed beds; under a cap the left-behind come first."""
    section = BoardingSection(max_modules=modules, bed_cap_share=cap)
    settlements = {f"V{k}": (0, n, 0, shares[k]) for k, n in enumerate(far)}
    region = county(
        [school("PS1", town=True, beds=beds, pupils=1000)],
        settlements,
        {(d, "PS1"): 45.0 + k for k, d in enumerate(settlements)},
        {("primary", d): "PS1" for d in settlements},
        section,
    )
    solves, outcome = run(region)
    c = outcome.counts
    assert c["boarders_after"] + c["far_no_bed_after"] == pytest.approx(sum(far))
    assert c["beds_added"] % section.module_beds == 0
    assert c["beds_added"] <= modules * section.module_beds
    assert c["boarders_after"] <= beds + c["beds_added"] + 1e-6
    short = sum(r["students_unseated"] for r in rows(outcome, "shortfall"))
    assert short == pytest.approx(c["far_no_bed_after"])
    if c["far_no_bed_after"] > 1e-6 and c["boarders_after"] > 1e-6:
        assert c["boarders_lb_after"] / c["boarders_after"] >= (
            c["far_lb_after"] / c["far_after"] - 1e-9
        )
    assert isinstance(solves, RegionSolves) and np.isfinite(solves.plan.report.objective)


def test_a_plan_solve_without_a_plan_changes_nothing():
    # The merging case above, with the plan's solve stopped before any plan was found: the
    # region keeps today's network (every school open, no row), not a county of closures.
    from dataclasses import replace

    from layoutopt.engine.report import SolveStatus

    region = county(
        [school("PS1", pupils=400), school("PS2", pupils=60, small=True)],
        {"V2": (20, 20, 0, 0.2)},
        {("V2", "PS2"): 1.0, ("V2", "PS1"): 4.0},
        all_bands("V2", "PS2"),
    )
    solves, outcome = run(region)
    assert rows(outcome, "merge_into")  # the plan merges PS2 ...
    lost = replace(
        solves.plan,
        report=replace(solves.plan.report, status=SolveStatus.NO_SOLUTION_TIME_LIMIT),
        is_open=np.zeros_like(solves.plan.is_open),
        modules=np.zeros_like(solves.plan.modules),
        assignment=solves.plan.assignment.iloc[0:0],
    )
    kept = PROGRAMME.extract(region, RegionSolves(solves.today, lost))
    assert not kept.changes  # ... a lost plan changes nothing
    assert kept.schools["open"].all()


def test_a_register_without_host_settlements_takes_the_nearest_of_the_county():
    import geopandas as gpd

    from layoutopt.programmes.common import host_settlements

    demand = gpd.GeoDataFrame(
        {"demand_id": ["A1", "A2", "B1"], "region_id": ["A", "A", "B"]},
        geometry=[Point(112.00, 37.0), Point(112.10, 37.0), Point(112.04, 37.0)],
    )
    schools = gpd.GeoDataFrame(
        {"school_id": ["S1", "S2", "S3"], "region_id": ["A", "A", "B"]},
        geometry=[Point(112.03, 37.0), Point(112.09, 37.0), Point(112.09, 37.0)],
    )
    # S1 is nearer B1 (another county) than A1: its own county's nearest is A1.
    assert host_settlements(schools, demand).tolist() == ["A1", "A2", "B1"]
    given = schools.assign(demand_id=["A2", "nowhere", "B1"])
    assert host_settlements(given, demand).tolist() == ["A2", "A2", "B1"]


def test_a_merge_fills_the_receivers_places_or_adds_classrooms_at_a_price():
    # PS1 has 100 primary places and its own 90 pupils; the small PS2's 30 (V2) are 2 min
    # from it and 4 from PS1. Merging saves (5 + 10) x 30 = 450 and costs 2 x 30 more
    # minutes and the 300 of the switch: 90 left. But PS1 then holds 120 > 100: it needs a
    # classroom (45 places), which weighs 2,700: PS2 stays. With a classroom at 50 (< 90) it
    # merges and PS1 adds one, its row saying so; PS1 never ends above its places.
    def case(section):
        return county(
            [school("PS1", pupils=90, places=100), school("PS2", pupils=30, small=True)],
            {"V1": (45, 45, 0, 0.0), "V2": (10, 20, 0, 0.0)},
            {("V1", "PS1"): 5.0, ("V2", "PS2"): 2.0, ("V2", "PS1"): 4.0},
            {**all_bands("V1", "PS1"), **all_bands("V2", "PS2")},
            section,
        )

    _, kept = run(case(BoardingSection()))
    assert not rows(kept, "merge_into") and not rows(kept, "add_classrooms")
    _, merged = run(case(BoardingSection(classroom_weight_min=50.0)))
    (merge,) = rows(merged, "merge_into")
    assert merge["school_id"] == "PS2" and merge["target_id"] == "PS1"
    (added,) = rows(merged, "add_classrooms")
    assert added["school_id"] == "PS1" and "adds 1 classroom(s) of 45" in added["reason"]
    assert "takes in 30 pupils: from PS2学校 (30)" in added["reason"]
    ps1 = merged.sections.set_index(["school_id", "section"]).loc[("PS1", "primary")]
    assert (ps1["students_after"], ps1["capacity_after"]) == (120, 145)
    assert merged.counts["classrooms_added"] == 1


def test_a_private_school_adds_no_classroom_its_pupils_beyond_its_places_go_public():
    # The private PV has 45 places and 50 pupils at the horizon; PS1, 3 min farther, has
    # room: 5 go there, named, and PV keeps its 45 (the public plan builds nothing at PV).
    region = county(
        [
            school("PV", pupils=50, places=45, ownership="private"),
            school("PS1", pupils=40, places=200),
        ],
        {"V1": (25, 25, 0, 0.0), "V2": (20, 20, 0, 0.0)},
        {("V1", "PV"): 2.0, ("V1", "PS1"): 5.0, ("V2", "PS1"): 2.0},
        {**all_bands("V1", "PV"), **all_bands("V2", "PS1")},
    )
    _, outcome = run(region)
    sections = outcome.sections.set_index("school_id")
    assert sections.at["PV", "students_after"] == 45 and sections.at["PV", "capacity_after"] == 45
    assert not rows(outcome, "add_classrooms")
    (send,) = rows(outcome, "send_students")
    assert send["school_id"] == "PV" and "sends 5: to PS1学校 (5)" in send["reason"]
    flows = outcome.flows.set_index(["from_id", "to_id"])
    assert flows.at[("PV", "PS1"), "students"] == 5
