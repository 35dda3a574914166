"""Indicators of the high-school plan against the policy, at province, prefecture and county
scope. Counts add up across scopes; travel is recomputed from the flows of each scope.

For the ``*_vs_greedy`` indicators the ``baseline`` column holds the greedy plan's figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layoutopt.programmes.flows import NO_SEAT, weighted_quantile
from layoutopt.results import KPI_COLUMNS
from layoutopt.scenario import HighSchoolSection

# indicator: (baseline column, target, planned column, rule for `met`)
# A target of None means "no target"; "baseline" means "not above the baseline".
COUNTS = {
    "small_public_schools": ("small_before", 0, "small_after", "at_most"),
    "small_public_schools_not_exempt": ("small_before", 0, "small_not_exempt", "at_most"),
    "schools_above_max_streams": ("above_before", "baseline", "above_after", "at_most"),
    "schools_grown_above_max_streams": (None, 0, "grown_above", "at_most"),
    "counties_without_public_high_school": ("no_public_before", 0, "no_public_after", "at_most"),
    "counties_without_quality_public_high_school": (
        "no_quality_before",
        0,
        "no_quality_after",
        "at_most",
    ),
    "students_without_seat": ("unseated_today", 0, "unseated_after", "at_most"),
    "streams_added": (None, None, "streams_added", None),
    "new_schools": (None, None, "new_schools", None),
    "boarding_beds_added": (None, None, "beds_added", None),
    "small_schools_left_vs_greedy": ("greedy_small_left", "baseline", "small_after", "at_most"),
    "streams_added_vs_greedy": ("greedy_streams_added", None, "streams_added", None),
    "expansion_cost_vs_greedy": ("greedy_cost", None, "plan_cost", None),
    "added_travel_student_min_vs_greedy": (
        "greedy_added_travel",
        None,
        "plan_added_travel",
        None,
    ),
    "students_without_seat_vs_greedy": ("greedy_unseated", "baseline", "unseated_after", "at_most"),
}


def indicators(
    counties: pd.DataFrame,
    today: pd.DataFrame,
    after: pd.DataFrame,
    section: HighSchoolSection,
    enrolled_today: float,
) -> pd.DataFrame:
    """``counties``: one row per county with the columns COUNTS names, plus ``region_id``,
    ``prefecture_id`` and ``students``; ``today`` / ``after``: flows with ``region_id``."""
    rows: list[dict] = []
    scopes = [("province", "all", counties)]
    scopes += [("prefecture", pid, g) for pid, g in counties.groupby("prefecture_id", sort=True)]
    scopes += [("county", rid, g) for rid, g in counties.groupby("region_id", sort=True)]
    for scope, scope_id, group in scopes:
        ids = set(group["region_id"])
        rows += _count_rows(scope, str(scope_id), group)
        rows += _travel_rows(
            scope,
            str(scope_id),
            today[today["region_id"].isin(ids)],
            after[after["region_id"].isin(ids)],
            section,
        )
        if scope == "province":
            rows.append(
                _kpi(
                    "general_high_school_students",
                    scope,
                    str(scope_id),
                    enrolled_today,
                    float(section.plan_students) if section.plan_students else None,
                    float(group["students"].sum()),
                    "equal",
                )
            )
    return pd.DataFrame(rows, columns=KPI_COLUMNS)


def _count_rows(scope: str, scope_id: str, group: pd.DataFrame) -> list[dict]:
    rows = []
    for name, (base_col, target, plan_col, rule) in COUNTS.items():
        baseline = float(group[base_col].sum()) if base_col else None
        goal = baseline if target == "baseline" else target
        rows.append(_kpi(name, scope, scope_id, baseline, goal, float(group[plan_col].sum()), rule))
    return rows


def _travel_rows(scope, scope_id, today, after, section: HighSchoolSection) -> list[dict]:
    rows = []
    for name, stat, target in (
        ("mean_travel_min", "mean", None),
        ("p95_travel_min", "p95", section.max_travel_min),
    ):
        before, planned = _travel(today, stat), _travel(after, stat)
        rows.append(_kpi(name, scope, scope_id, before, target, planned, "at_most"))
    return rows


def _travel(flows: pd.DataFrame, stat: str) -> float:
    seated = flows[flows["place_id"] != NO_SEAT]
    w, v = seated["students"].to_numpy(float), seated["minutes"].to_numpy(float)
    if stat == "mean":
        return float((w * v).sum() / w.sum()) if w.sum() > 0 else float("nan")
    return weighted_quantile(v, w, 0.95)


def _kpi(name, scope, scope_id, baseline, target, planned, rule) -> dict:
    if rule is None or target is None or planned is None or np.isnan(planned):
        met = ""
    elif rule == "equal":
        met = "yes" if abs(planned - target) <= 0.5 else "no"
    else:
        met = "yes" if planned <= target + 1e-9 else "no"
    return {
        "programme": "highschool",
        "indicator": name,
        "scope": scope,
        "scope_id": scope_id,
        "baseline": _round(baseline),
        "target": _round(target),
        "planned": _round(planned),
        "met": met,
    }


def _round(value) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return round(float(value), 1)
