"""The staffing programme: posts and redeployment on cases worked out on paper, the flow
(OR-Tools) against networkx's network simplex and HiGHS's LP on random counties, and the
programme on the tiny data set.

Hand cases place schools along a meridian (0.1° of latitude apart is 11.12 km) with
``minutes_per_km`` = 1.0, so a move's minutes are its kilometres.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layoutopt.programmes.staffing.posts import school_posts
from layoutopt.programmes.staffing.redeploy import (
    CountyStaff,
    flow_network,
    lp_check,
    redeploy,
    school_minutes,
)
from layoutopt.scenario import Scenario, StaffingSection

SECTION = StaffingSection()
R = int(SECTION.recruit_cost_min)


def county(holdings, schools, receivers=None) -> CountyStaff:
    """``holdings``: (school, subject, teachers today, posts); ``schools``: (school, open,
    latitude, teachers today in all[, level]: primary unless given)."""
    return CountyStaff(
        region_id="C1",
        holdings=pd.DataFrame(holdings, columns=["school_id", "subject", "teachers", "posts"]),
        schools=pd.DataFrame(
            [(s, o, 112.0, lat, n, *(rest or ["primary"])) for s, o, lat, n, *rest in schools],
            columns=["school_id", "open", "lon", "lat", "teachers", "level"],
        ),
        receivers=receivers or {},
        minutes_per_km=1.0,
    )


def references(case: CountyStaff, section: StaffingSection = SECTION) -> tuple[float, float]:
    """The same network's minimum cost by networkx's network simplex and by HiGHS's LP."""
    network = flow_network(case, section)
    cost, _ = nx.network_simplex(network.as_networkx())
    return float(cost), lp_check(network)


def moves(result) -> list[tuple]:
    return [
        (m.from_id, m.to_id, m.subject_from, m.subject, m.teachers)
        for m in result.moves.itertuples()
    ]


def test_a_closing_schools_teachers_follow_its_students():
    # A closes; its 2 maths teachers would go to C (11 km) but B receives A's students
    # (22 km): with the 60-minute preference, 22 - 60 < 11, so they follow to B; C recruits.
    case = county(
        [("A", "maths", 2, 0), ("B", "maths", 10, 12), ("C", "maths", 10, 12)],
        [("A", False, 37.0, 2), ("B", True, 37.2, 10), ("C", True, 36.9, 10)],
        receivers={"A": "B"},
    )
    result = redeploy(case, SECTION)
    assert moves(result) == [("A", "B", "maths", "maths", 2)]
    assert result.recruit.values.tolist() == [["C", "maths", 2]]
    trip = school_minutes(case).at["A", "B"]
    assert trip == pytest.approx(22.2, abs=0.1)
    assert result.cost == 2 * round(trip - 60) + 2 * R
    assert references(case) == (result.cost, pytest.approx(result.cost))
    # Without the preference they go to the nearer school.
    plain = redeploy(case, SECTION.model_copy(update={"follow_bonus_min": 0.0}))
    assert moves(plain) == [("A", "C", "maths", "maths", 2)]


def test_a_teacher_covers_another_subject_at_its_penalty_or_not_at_all():
    # A has a maths teacher too many and a science post empty: maths may teach science at
    # 30 (the cover table), far below a recruit. English may not teach PE: recruited.
    case = county(
        [
            ("A", "maths", 5, 4),
            ("A", "science", 3, 4),
            ("A", "english", 3, 2),
            ("A", "pe", 1, 2),
        ],
        [("A", True, 37.0, 12)],
    )
    result = redeploy(case, SECTION)
    assert moves(result) == [("A", "A", "maths", "science", 1)]
    assert result.recruit.values.tolist() == [["A", "pe", 1]]
    assert result.surplus.values.tolist() == [["A", "english", 1]]
    assert result.cost == 30 + R
    assert references(case) == (result.cost, pytest.approx(result.cost))


def test_the_rotation_share_caps_what_leaves_an_open_school():
    # A has 20 teachers, 5 Chinese too many; 15% may leave: 3 go to B (11 km), B recruits
    # the other 2, and 2 stay at A as surplus.
    case = county(
        [("A", "chinese", 20, 15), ("B", "chinese", 5, 10)],
        [("A", True, 37.0, 20), ("B", True, 37.1, 5)],
    )
    result = redeploy(case, SECTION)
    assert moves(result) == [("A", "B", "chinese", "chinese", 3)]
    assert result.recruit.values.tolist() == [["B", "chinese", 2]]
    assert result.surplus.values.tolist() == [["A", "chinese", 2]]
    trip = school_minutes(case).at["A", "B"]
    assert result.cost == 3 * round(trip) + 2 * R
    assert references(case) == (result.cost, pytest.approx(result.cost))


def test_a_small_rural_school_is_staffed_by_classes_not_students():
    # 40 pupils in 6 classes: 40 / 19 = 2.1 posts by students, 6 x 1.8 = 10.8 by classes:
    # 11 posts. PE: 6 classes x 28 periods x 11% / 14 = 1.3 -> 1; arts 6 x 28 x 10% / 14
    # = 1.2 -> 1; no mental-health teacher below 300 pupils.
    scenario = Scenario(name="t", data=".")
    school = pd.Series({"level": "primary", "classes": 6, "streams": 0, "boarding_beds": 0})
    students = pd.Series({"primary": 40.0, "junior": 0.0, "senior": 0.0, "vocational": 0.0})
    info = pd.Series(
        {"students_horizon": 40.0, "main": "primary", "rural": True, "mental_health": False}
    )
    posts, _ = school_posts(school, students, info, scenario)
    assert sum(posts.values()) == 11
    assert posts["pe"] == 1 and posts["arts"] == 1 and posts["mental_health"] == 0
    # The same school in town is staffed by its pupils: ceil(2.1) = 3, at least PE and arts.
    urban, _ = school_posts(school, students, info.replace({True: False}), scenario)
    assert sum(urban.values()) == 3


@st.composite
def counties(draw):
    n = draw(st.integers(2, 6))
    subjects = ["chinese", "maths", "science", "pe"]
    holdings, schools = [], []
    for k in range(n):
        school = f"S{k}"
        is_open = draw(st.booleans()) if k else True
        total = 0
        for subject in subjects:
            today = draw(st.integers(0, 8))
            posts = draw(st.integers(0, 8)) if is_open else 0
            if today or posts:
                holdings.append((school, subject, today, posts))
            total += today
        schools.append((school, is_open, 37.0 + draw(st.integers(0, 40)) / 100, total))
    return county(holdings, schools, {"S1": "S0"} if n > 1 else {})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counties(), st.floats(0.0, 0.5))
def test_the_flow_equals_networkx_and_the_lp_conserves_teachers_and_keeps_the_rotation_share(
    case, share
):
    section = SECTION.model_copy(update={"rotation_share": share})
    result = redeploy(case, section)
    assert result.status == "OPTIMAL"
    simplex, lp = references(case, section)
    assert result.cost == simplex == pytest.approx(lp)
    h = case.holdings
    # Teachers today + recruits - surplus left = posts filled (every post is filled).
    left = result.surplus["teachers"].sum()
    assert h["teachers"].sum() + result.recruit["teachers"].sum() - left == h["posts"].sum()
    out = result.moves[result.moves["from_id"] != result.moves["to_id"]]
    moved = out.groupby("from_id")["teachers"].sum()
    schools = case.schools.set_index("school_id")
    for school_id, n in moved.items():
        if schools.at[school_id, "open"]:
            assert n <= np.floor(share * schools.at[school_id, "teachers"])


def test_the_staffing_map_opens_offline_with_its_choropleths_and_moves(tiny_dataset_dir, tmp_path):
    from typer.testing import CliRunner

    from conftest import write_scenario
    from layoutopt.cli import app
    from test_map import render_offline

    text = f'[travel]\ncache_dir = "{(tmp_path / "cache").as_posix()}"\n'
    text += "[highschool]\nplan_students = 0\n[kindergarten]\nenabled = false\n"
    text += "[vocational]\nenabled = false\n"
    scenario = write_scenario(tmp_path / "s.toml", tiny_dataset_dir, text)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["plan", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    dom, log = render_offline(out / "maps" / "staffing.html", tmp_path / "profile")
    assert not [line for line in log.splitlines() if "Uncaught" in line]
    legend = dom.split('id="layoutopt-legend"')[1]
    assert "posts unfilled before redeployment" in legend
    assert "posts to recruit after redeployment" in legend
    assert "teachers' moves" in legend
    assert (out / "staffing.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # opens in Excel


def test_a_teacher_moves_only_within_the_level_band():
    # A (primary) has 2 maths teachers too many. B (senior high, 11 km) and C (nine-year,
    # 22 km) lack 2 each. A primary teacher's band reaches nine-year schools, not senior
    # highs: the 2 go to C, the farther, and B recruits 2.
    case = county(
        [("A", "maths", 6, 4), ("B", "maths", 8, 10), ("C", "maths", 8, 10)],
        [
            ("A", False, 37.0, 6, "primary"),
            ("B", True, 37.1, 8, "senior_high"),
            ("C", True, 37.2, 8, "nine_year"),
        ],
    )
    result = redeploy(case, SECTION)
    assert moves(result) == [("A", "C", "maths", "maths", 2)]
    assert result.recruit.values.tolist() == [["B", "maths", 2]]
    # A scenario that lets primary teachers teach in senior highs sends them to B, nearer.
    bands = {**SECTION.move_bands, "primary": ["primary", "nine_year", "senior_high"]}
    wide = redeploy(case, SECTION.model_copy(update={"move_bands": bands}))
    assert moves(wide) == [("A", "B", "maths", "maths", 2)]


def test_private_schools_keep_their_teachers_and_report_their_gap():
    # The county's public A closes with 3 Chinese teachers; the private P lacks 2 and the
    # public B lacks 1 farther away: one goes to B, the others stay surplus; P is not sent
    # teachers nor recruited for: its gap of 2 is reported (private_gap).
    import geopandas as gpd
    from shapely.geometry import Point

    from layoutopt.programmes.staffing.programme import (
        StaffingInputs,
        change_rows,
        county_input,
        staffing_table,
    )

    schools = gpd.GeoDataFrame(
        {
            "school_id": ["A", "B", "P"],
            "name": ["A学校", "B学校", "P学校"],
            "region_id": "C1",
            "level": "primary",
            "ownership": ["public", "public", "private"],
            "open": [False, True, True],
            "enrolment": 100,
            "capacity": 200,
            "boarding_beds": 0,
        },
        geometry=[Point(112, 37.0), Point(112, 37.3), Point(112, 37.05)],
        crs="EPSG:4326",
    )
    holdings = pd.DataFrame(
        [("A", "chinese", 3, 0), ("B", "chinese", 4, 5), ("P", "chinese", 3, 5)],
        columns=["school_id", "subject", "teachers", "posts"],
    )
    info = pd.DataFrame(
        {"students_horizon": [0, 90, 95], "mental_health": False, "nurse_posts": 0},
        index=["A", "B", "P"],
    )
    inputs = StaffingInputs(
        SECTION,
        schools,
        holdings,
        info,
        pd.Series(100.0, index=info.index),
        {},
        1.0,
        info["students_horizon"],
    )
    region = county_input(inputs, "C1")
    assert set(region.staff.holdings["school_id"]) == {"A", "B"}
    result = redeploy(region.staff, SECTION)
    assert moves(result) == [("A", "B", "chinese", "chinese", 1)]
    assert result.recruit.empty
    table = staffing_table(region, result).set_index("school_id")
    assert table.loc["P", ["moved_in", "recruited", "gap_after"]].tolist() == [0, 0, 2]
    actions = {
        (r["action"], r["school_id"]) for r in change_rows(region, result, table.reset_index())
    }
    assert ("private_gap", "P") in actions and ("move_teachers", "A") in actions
