"""The plan ledger: sections of the register, its verbs, whole-student flows, and the
audit of a run, on cases small enough to work out on paper."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from layoutopt.data.dataset import Dataset
from layoutopt.ledger import Ledger, LedgerError, register_sections
from layoutopt.programmes.flows import NO_SEAT, PAIR_COLUMNS, Tallies, whole_flows

SIZES = {"kindergarten": 30, "primary": 45, "junior": 50, "senior_high": 50, "vocational": 50}


def schools(*rows) -> gpd.GeoDataFrame:
    """(school_id, level, classes, streams, capacity, primary, junior, senior, enrolment,
    beds, boarders)"""
    columns = [
        "school_id",
        "level",
        "classes",
        "streams",
        "capacity",
        "primary_enrolment",
        "junior_enrolment",
        "senior_enrolment",
        "enrolment",
        "boarding_beds",
        "boarders",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["ownership"] = "public"
    frame["region_id"] = "C1"
    frame["name"] = frame["school_id"] + "学校"
    return gpd.GeoDataFrame(frame, geometry=[Point(112, 37)] * len(frame), crs="EPSG:4326")


def test_a_complete_secondary_school_is_a_junior_and_a_senior_section():
    # 72 classes, 15 streams: the senior section is 45 classes (2,250 places at 50); the
    # junior section the other 27 (1,350). Beds and boarders go with the senior section.
    table = register_sections(
        schools(("CS", "complete_secondary", 72, 15, 3600, 0, 928, 2141, 3069, 562, 598)),
        SIZES,
        3,
    ).set_index("section")
    assert table.loc["senior", ["size_register", "capacity_register"]].tolist() == [15, 2250]
    assert table.loc["junior", ["size_register", "capacity_register"]].tolist() == [27, 1350]
    assert table.loc["senior", "students_register"] == 2141
    assert table.loc["junior", "students_register"] == 928
    assert table.loc["senior", "beds_register"] == 562 and table.loc["junior", "beds_register"] == 0


def test_a_nine_year_schools_classes_split_as_its_places_say():
    # 101 classes, 4,710 places: p × 45 + (101 − p) × 50 = 4,710 gives p = 68 primary
    # classes and 33 junior ones.
    table = register_sections(
        schools(("NY", "nine_year", 101, 0, 4710, 1582, 1317, 0, 2899, 100, 90)), SIZES, 3
    ).set_index("section")
    assert table.loc["primary", ["size_register", "capacity_register"]].tolist() == [68, 3060]
    assert table.loc["junior", ["size_register", "capacity_register"]].tolist() == [33, 1650]
    assert table.loc["junior", "beds_register"] == 100  # its highest section's


def ledger_of(*rows) -> Ledger:
    frame = schools(*rows)
    sites = gpd.GeoDataFrame(
        {
            "site_id": ["S1", "S2"],
            "region_id": ["C1", "C1"],
            "kind": ["town_centre", "new_housing"],
            "max_classes": [36, 12],
        },
        geometry=[Point(112, 37)] * 2,
        crs="EPSG:4326",
    )
    dataset = Dataset(folder=None, regions=None, demand=None, schools=frame, sites=sites)
    return Ledger.start(dataset, SIZES, 3)


def test_the_verbs_close_a_section_move_named_students_and_refuse_a_site_twice():
    ledger = ledger_of(
        ("A", "senior_high", 30, 10, 1500, 0, 0, 1400, 1400, 0, 0),
        ("B", "complete_secondary", 30, 2, 1500, 0, 900, 280, 1180, 0, 0),
    )
    keys = pd.DataFrame({"school_id": ["A", "B"], "section": ["senior", "senior"]})
    ledger = ledger.place_horizon("highschool", keys.assign(students_horizon_today=[1450, 300]))
    ledger = ledger.close_sections("highschool", keys.iloc[[1]])
    flows = pd.DataFrame(
        {
            "region_id": "C1",
            "from_id": ["B", ""],
            "from_section": ["senior", ""],
            "to_id": ["A", "A"],
            "to_section": ["senior", "senior"],
            "band": "",
            "students": [300, 25],
            "travel_min_before": [10.0, np.nan],
            "travel_min_after": [30.0, 30.0],
            "beds_needed": [0, 0],
        }
    )
    ledger = ledger.move_students("highschool", flows)
    s = ledger.sections.set_index(["school_id", "section"])
    # A: 1,450 in today's network at the horizon, + 300 from B, + 25 who had no seat.
    assert s.at[("A", "senior"), "students_after"] == 1775
    assert s.at[("B", "senior"), "students_after"] == 0 and not s.at[("B", "senior"), "open"]
    # B's junior section stays, as the register has it, for the programmes after.
    assert s.at[("B", "junior"), "open"] and np.isnan(s.at[("B", "junior"), "students_after"])
    assert ledger.school_view().set_index("school_id").at["B", "open"]
    # A flow to a closed section is refused.
    back = flows.iloc[[0]].assign(from_id="A", to_id="B")
    with pytest.raises(LedgerError, match="B/senior: a closed section"):
        ledger.move_students("highschool", back)
    taken = ledger.take_sites("highschool", ["S1"])
    assert list(taken.available_sites()["site_id"]) == ["S2"]
    with pytest.raises(LedgerError, match="S1: already taken by highschool"):
        taken.take_sites("kindergarten", ["S1", "S2"])


def test_whole_flows_on_paper():
    # A holds 10.4 today and sends 3.3 to C; 2.3 with no seat go to B; B sends 0.6 to C.
    today = pd.Series({"A": 10.4, "B": 5.3, NO_SEAT: 2.3})
    after = pd.Series({"A": 7.1, "B": 7.0, "C": 3.9, NO_SEAT: 0.0})
    pairs = pd.DataFrame(
        [
            ("A", "C", "", 3.3, 10, 20, 0.5),
            (NO_SEAT, "B", "", 2.3, np.nan, 5, 0),
            ("B", "C", "", 0.6, 1, 2, 0),
        ],
        columns=PAIR_COLUMNS,
    )
    whole = whole_flows(today, after, pairs)
    assert whole.today.to_dict() == {NO_SEAT: 2, "A": 10, "B": 6, "C": 0}
    assert whole.after.to_dict() == {NO_SEAT: 0, "A": 7, "B": 7, "C": 4}
    flows = whole.pairs.set_index(["from_id", "to_id"])
    assert flows["students"].to_dict() == {("A", "C"): 3, (NO_SEAT, "B"): 2, ("B", "C"): 1}
    assert flows.at[("A", "C"), "beds_needed"] == 2  # half of 3, rounded to even


def test_tallies_keep_a_share_that_rounding_each_place_would_break():
    # Public A holds 55.33 of the 100.6 children placed after the plan: 55%. Rounded
    # place by place (A 55, B 45 or 46, the total 100 or 101) the share may read 55 / 101.
    # As tallies leaning to the share (public up, placed down): 55 / 100.
    today = pd.Series({"A": 50.0, "B": 50.6})
    after = pd.Series({"A": 55.33, "B": 45.27})
    pairs = pd.DataFrame([("B", "A", "", 5.33, 5, 6, 0)], columns=PAIR_COLUMNS)
    tallies = Tallies({"A": ("public", "placed"), "B": ("placed",)}, {"public": 1, "placed": -1})
    whole = whole_flows(today, after, pairs, tallies)
    assert whole.after.to_dict() == {"A": 55, "B": 45}
    assert whole.today.to_dict() == {"A": 50, "B": 50}
    assert whole.pairs["students"].tolist() == [5]
    assert whole.after["A"] / whole.after.sum() >= 0.55


def test_tallies_that_cross_are_refused():
    crossing = Tallies({"A": ("x", "y"), "B": ("x", "z")}, {})
    with pytest.raises(ValueError, match="tally 'x' inside both 'y' and 'z'"):
        whole_flows(
            pd.Series({"A": 1.0, "B": 1.0}),
            pd.Series({"A": 1.0, "B": 1.0}),
            pd.DataFrame(columns=PAIR_COLUMNS),
            crossing,
        )


@st.composite
def regions(draw):
    """Loads today and flows between four places (and no seat) in fractions of a student."""
    places = [NO_SEAT, "A", "B", "C", "D"]
    today = {p: draw(st.floats(0, 200)) for p in places}
    pairs, after = [], dict(today)
    for _ in range(draw(st.integers(0, 8))):
        a, b = draw(st.sampled_from(places)), draw(st.sampled_from(places))
        amount = draw(st.floats(0, 1)) * after[a]
        if a == b or amount <= 1e-6:
            continue
        after[a] -= amount
        after[b] += amount
        pairs.append((a, b, "", amount, 1.0, 2.0, draw(st.floats(0, 1))))
    return pd.Series(today), pd.Series(after), pd.DataFrame(pairs, columns=PAIR_COLUMNS)


@settings(max_examples=80, deadline=None)
@given(regions(), st.sampled_from([-1, 0, 1]), st.sampled_from([-1, 0, 1]))
def test_whole_flows_keep_every_balance_and_round_each_figure_down_or_up(case, up, down):
    today, after, pairs = case
    # Nested tallies: A and B inside "inner", which with C is inside "outer".
    chains = {"A": ("inner", "outer"), "B": ("inner", "outer"), "C": ("outer",)}
    whole = whole_flows(today, after, pairs, Tallies(chains, {"inner": up, "outer": down}))
    for tally, members in (("inner", ["A", "B"]), ("outer", ["A", "B", "C"])):
        assert abs(whole.after[members].sum() - after[members].sum()) < 1, tally
    out = whole.pairs.groupby("from_id")["students"].sum()
    into = whole.pairs.groupby("to_id")["students"].sum()
    for place in today.index:
        balance = whole.today[place] - out.get(place, 0) + into.get(place, 0)
        assert balance == whole.after[place]
        assert (
            abs(whole.today[place] - today[place]) < 1
            and abs(whole.after[place] - after[place]) < 1
        )
    assert whole.today.sum() == whole.after.sum()
    assert abs(whole.today.sum() - today.sum()) < 1
    assert (whole.pairs["beds_needed"] <= whole.pairs["students"]).all()
