"""Indicators of the kindergarten plan at province, prefecture and county scope.

``baseline`` is the data set's base year (2020: enrolled children over the census's
children aged 3-5), ``planned`` the horizon after the plan. Rates are shares (0-1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layoutopt.results import KPI_COLUMNS
from layoutopt.scenario import KindergartenSection


def indicators(counties: pd.DataFrame, section: KindergartenSection) -> pd.DataFrame:
    """``counties``: one row per county with the sums named below, plus ``region_id`` and
    ``prefecture_id``."""
    rows: list[dict] = []
    scopes = [("province", "all", counties)]
    scopes += [("prefecture", p, g) for p, g in counties.groupby("prefecture_id", sort=True)]
    scopes += [("county", r, g) for r, g in counties.groupby("region_id", sort=True)]
    for scope, scope_id, g in scopes:
        s = g.sum(numeric_only=True)
        add = _adder(rows, scope, str(scope_id))
        add(
            "enrolment_rate",
            _ratio(s.enrolled_before, s.children_before),
            section.enrolment_rate,
            _ratio(s.enrolled_after, s.children_after),
            "at_least",
            _half_child(s.children_after),
        )
        add(
            "inclusive_coverage",
            _ratio(s.inclusive_before, s.enrolled_before),
            section.inclusive_share,
            _ratio(s.inclusive_after, s.enrolled_after),
            "at_least",
            _half_child(s.enrolled_after),
        )
        add(
            "public_share",
            _ratio(s.public_before, s.enrolled_before),
            section.public_share,
            _ratio(s.public_after, s.enrolled_after),
            "at_least",
            _half_child(s.enrolled_after),
        )
        add("children_aged_3_5", s.children_before, None, s.children_after, None)
        add("places_added", None, None, s.places_added, None)
        add("public_projects", None, None, s.projects, None)
        if scope == "province":
            lo, hi = section.projects
            add("public_projects_at_least", None, lo, s.projects, "at_least")
            add("public_projects_at_most", None, hi, s.projects, "at_most")
        for name in (
            "new_kindergarten",
            "convert_building",
            "expand",
            "recognise_inclusive",
            "merge_into",
        ):
            add(f"{name}_count", None, None, s[name], None)
        add("children_without_place", None, None, s.unenrolled, None)
        share_children = _ratio(s.children_growth, s.children_after)
        add(
            "projects_in_growth_or_migrant_areas_share",
            share_children,
            share_children,
            _ratio(s.projects_growth, s.projects),
            "above",
        )
        add("targets_short_rows", None, 0, s.shortfall_rows, "at_most")
    return pd.DataFrame(rows, columns=KPI_COLUMNS)


def _ratio(a: float, b: float) -> float | None:
    return None if not b else float(a) / float(b)


def _half_child(children: float) -> float:
    """A rate short by less than half a child is met: shortfall rows start at half a child."""
    return max(TOLERANCE, 0.5 / children) if children else TOLERANCE


def _adder(rows: list[dict], scope: str, scope_id: str):
    def add(name, baseline, target, planned, rule, tolerance=None) -> None:
        rows.append(
            {
                "programme": "kindergarten",
                "indicator": name,
                "scope": scope,
                "scope_id": scope_id,
                "baseline": _round(name, baseline),
                "target": _round(name, target),
                "planned": _round(name, planned),
                "met": _met(planned, target, rule, tolerance or TOLERANCE),
            }
        )

    return add


def _met(planned, target, rule, tolerance: float) -> str:
    """Met within ``tolerance`` (by default half the last digit shown, 5e-5)."""
    if rule is None or target is None or planned is None or np.isnan(planned):
        return ""
    ok = {
        "at_least": planned >= target - tolerance,
        "at_most": planned <= target + tolerance,
        "above": planned > target,
    }[rule]
    return "yes" if ok else "no"


TOLERANCE = 5e-5
RATES = (
    "enrolment_rate",
    "inclusive_coverage",
    "public_share",
    "projects_in_growth_or_migrant_areas_share",
)


def _round(name: str, value) -> float | None:
    """Rates to four decimals (0.9650), counts of children and places to whole numbers."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return round(float(value), 4 if name in RATES else 0)
