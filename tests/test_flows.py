"""Moves between two plans, whole-number rounding and weighted quantiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layoutopt.programmes.common import round_keeping_total
from layoutopt.programmes.flows import moves, weighted_quantile


def flows(rows):
    return pd.DataFrame(rows, columns=["demand_id", "place_id", "students"]).assign(minutes=1.0)


def test_students_who_keep_their_school_do_not_move():
    before = flows([("d", "A", 100), ("d", "B", 50)])
    after = flows([("d", "A", 60), ("d", "B", 50), ("d", "C", 40)])
    moved = moves(before, after)
    assert moved[["from_id", "to_id", "students"]].values.tolist() == [["A", "C", 40.0]]


def test_leavers_are_shared_in_proportion_to_the_gains():
    before = flows([("d", "X", 90)])
    after = flows([("d", "A", 60), ("d", "B", 30)])
    moved = moves(before, after).set_index("to_id")["students"]
    assert moved.to_dict() == {"A": 60.0, "B": 30.0}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("de"), st.sampled_from("ABCD"), st.integers(1, 100)),
        min_size=1,
        max_size=12,
    ),
    st.data(),
)
def test_moves_account_for_every_change(rows, data):
    """Per settlement and place, after = before - moved out + moved in."""
    before = flows(rows).groupby(["demand_id", "place_id"], as_index=False)["students"].sum()
    # The same settlements' totals, spread differently over the places.
    after_rows = []
    for demand, total in before.groupby("demand_id")["students"].sum().items():
        weights = data.draw(st.lists(st.integers(0, 5), min_size=4, max_size=4))
        if not sum(weights):
            weights = [1, 0, 0, 0]
        share = np.array(weights) / sum(weights)
        after_rows += [(demand, p, total * s) for p, s in zip("ABCD", share, strict=True) if s]
    after = flows(after_rows)
    moved = moves(before.assign(minutes=1.0), after)
    b = before.set_index(["demand_id", "place_id"])["students"]
    a = after.set_index(["demand_id", "place_id"])["students"]
    out = moved.groupby(["demand_id", "from_id"])["students"].sum()
    into = moved.groupby(["demand_id", "to_id"])["students"].sum()
    for key in set(b.index) | set(a.index):
        expected = a.get(key, 0.0)
        got = b.get(key, 0.0) - out.get(key, 0.0) + into.get(key, 0.0)
        assert got == pytest.approx(expected, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1e5, allow_nan=False), min_size=1, max_size=40))
def test_round_keeping_total_keeps_the_total_and_moves_each_value_less_than_one(values):
    series = pd.Series(values, index=[f"s{i:03d}" for i in range(len(values))])
    whole = round_keeping_total(series)
    assert whole.sum() == round(series.sum())
    assert (np.abs(whole - series) < 1 + 1e-9).all()


def test_weighted_quantile_on_paper():
    # 90 students at 10 min, 10 at 60 min: the 95th percentile student travels 60 min.
    assert weighted_quantile(np.array([10.0, 60.0]), np.array([90.0, 10.0]), 0.95) == 60.0
    assert weighted_quantile(np.array([10.0, 60.0]), np.array([90.0, 10.0]), 0.5) == 10.0
