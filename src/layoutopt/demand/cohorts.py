"""Age the base-year single-year cohorts of each settlement forward to the horizon year.

Children who will be aged ``a`` in the horizon year were aged ``a - (horizon - base)`` in
the base year; the data set holds ages 0-17 per settlement. Migration between the two
years is not modelled here (programmes apply their own growth weights).
"""

from __future__ import annotations

import pandas as pd

from layoutopt.errors import LayoutoptError

MAX_AGE = 17


def cohort_at_horizon(
    demand: pd.DataFrame, ages: list[int], base_year: int, horizon_year: int
) -> pd.Series:
    """Persons per settlement who will be aged ``ages`` in the horizon year."""
    shift = horizon_year - base_year
    columns = [f"age_{a - shift}" for a in ages]
    too_young = [a for a in ages if a - shift < 0]
    if too_young:
        raise LayoutoptError(
            f"ages {too_young} in {horizon_year} were not yet born in {base_year} "
            "(fix: bring horizon_year closer to base_year; births projections come later)"
        )
    if any(a - shift > MAX_AGE for a in ages):
        raise LayoutoptError(f"ages {ages} at the horizon are outside the data set's 0-{MAX_AGE}")
    missing = [c for c in columns if c not in demand.columns]
    if missing:
        raise LayoutoptError(f"demand table lacks cohort columns {missing}")
    total = demand[columns].sum(axis=1).astype(float)
    total.index = demand["demand_id"].astype(str).to_numpy()
    return total


def children_at_horizon(
    demand: pd.DataFrame,
    ages: list[int],
    base_year: int,
    horizon_year: int,
    births: dict[str, int],
) -> pd.Series:
    """Persons per settlement aged ``ages`` in the horizon year, born before or after the
    census: those already born are the census cohorts aged forward; those born after the
    base year are the province's births of their year, shared out like the census's
    youngest cohort (age 0)."""
    ids = demand["demand_id"].astype(str).to_numpy()
    total = pd.Series(0.0, index=ids)
    youngest = demand["age_0"].to_numpy(float)
    share = youngest / youngest.sum() if youngest.sum() > 0 else youngest
    for age in ages:
        born = horizon_year - age
        if born <= base_year:
            total += cohort_at_horizon(demand, [age], base_year, horizon_year).to_numpy()
            continue
        if str(born) not in births:
            raise LayoutoptError(
                f"children aged {age} in {horizon_year} are born in {born}, after the census: "
                f'kindergarten.births has no {born} (fix: add "{born}" = number of births)'
            )
        total += births[str(born)] * share
    return total
