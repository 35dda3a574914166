"""Read a county's solves back as schools after the plan, moves and recommended changes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from layoutopt.programmes.common import change_row, moved_row
from layoutopt.programmes.flows import (
    NO_SEAT,
    moves_with_minutes,
    solution_flows,
)
from layoutopt.programmes.highschool.county import CountyPlan
from layoutopt.scenario import HighSchoolSection

SPLIT = ("complete_secondary",)  # levels whose senior section can close on its own


@dataclass
class CountyOutcome:
    region_id: str
    places: pd.DataFrame  # place_id, kind, streams, small, closable, open, streams_after, ...
    today: pd.DataFrame  # flows today
    after: pd.DataFrame  # flows after the plan
    moved: pd.DataFrame  # demand_id, from_id, to_id, students, minutes_before, minutes_after,
    #                      needs_bed
    changes: list[dict]


def county_outcome(
    plan: CountyPlan, section: HighSchoolSection, stream_size: int, names: pd.Series
) -> CountyOutcome:
    today = solution_flows(plan.today)
    after = solution_flows(plan.plan)
    moved = _moves_with_minutes(today, after, plan.county.travel, section)
    places = _places_after(plan, today, after, moved, stream_size)
    changes = _changes(plan, places, moved, section, names, stream_size)
    return CountyOutcome(plan.county.region_id, places, today, after, moved, changes)


def _moves_with_minutes(today, after, travel, section: HighSchoolSection) -> pd.DataFrame:
    moved = moves_with_minutes(today, after, travel)
    moved["needs_bed"] = (moved["to_id"] != NO_SEAT) & (
        moved["minutes_after"] > section.boarding_travel_min
    )
    return moved


def _places_after(plan: CountyPlan, today, after, moved, stream_size: int) -> pd.DataFrame:
    places = plan.sites.copy()
    places["open"] = plan.plan.is_open
    places["modules"] = plan.plan.modules
    places["streams_after"] = np.where(places["open"], places["streams"] + places["modules"], 0)
    places["students_horizon_today"] = _load(today, places)
    places["students_after"] = _load(after, places)
    places["capacity_after"] = places["streams_after"] * stream_size
    beds = moved[moved["needs_bed"]].groupby("to_id")["students"].sum()
    places["beds_added"] = np.round(beds.reindex(places["place_id"]).fillna(0.0).to_numpy(float))
    return places


def _load(flows: pd.DataFrame, places: pd.DataFrame) -> np.ndarray:
    load = flows.groupby("place_id")["students"].sum()
    return np.round(load.reindex(places["place_id"]).fillna(0.0).to_numpy(float))


def _changes(
    plan: CountyPlan,
    places: pd.DataFrame,
    moved: pd.DataFrame,
    section: HighSchoolSection,
    names: pd.Series,
    stream_size: int,
) -> list[dict]:
    """One headline row per school that changes, then the county's shortfall row."""
    rows: list[dict] = []
    levels = plan.county.schools.set_index("school_id").get("level", pd.Series(dtype=str))
    merged_beds = _merge_rows(places, moved, section, names, levels, rows)
    for place in places[places["open"]].itertuples():
        incoming = moved[moved["to_id"] == place.place_id]
        if place.kind == "site":
            rows.append(_new_school_row(place, incoming, section))
        else:
            row = _school_row(plan, place, places, incoming, merged_beds, section)
            rows += [row] if row else []
    shortfall = _shortfall_row(plan, places, moved, section, stream_size)
    rows += [shortfall] if shortfall else []
    return rows + ([_no_public_school_row(plan, section)] if not places["open"].any() else [])


def _merge_rows(places, moved, section, names, levels, rows) -> pd.Series:
    """A merge_into row per closed school; returns the beds each receiving school gets
    from merges (so its own row does not count them twice)."""
    closed = places[(places["kind"] == "school") & ~places["open"]]
    from_closed = moved[moved["from_id"].isin(closed["place_id"])]
    for place in closed.itertuples():
        out = from_closed[from_closed["from_id"] == place.place_id]
        by_target = out.groupby("to_id")["students"].sum().sort_index()
        target = str(by_target.idxmax()) if len(by_target) else NO_SEAT
        students = float(out["students"].sum())
        others = students - float(by_target.get(target, 0.0))
        beds = float(out.loc[out["needs_bed"], "students"].sum())
        # A complete secondary school keeps its junior section: only the senior one merges.
        what = "senior section closes" if levels.get(place.place_id) in SPLIT else "closes"
        reason = (
            f"{place.streams} streams (small: ≤ {section.small_max_streams}); {what} and merges "
            f"into {names.get(target, target)} ({round(students - others)} students)"
        )
        if what != "closes":
            reason += "; its junior section stays"
        if others >= 0.5:
            reason += f"; {round(others)} go to other schools nearer their homes"
        if beds >= 0.5:
            reason += f"; {round(beds)} need a bed (trip over {section.boarding_travel_min:g} min)"
        rows.append(_moving_row("merge_into", place.place_id, out, section, reason, target, beds))
    return from_closed[from_closed["needs_bed"]].groupby("to_id")["students"].sum()


def _school_row(plan, place, places, incoming, merged_beds, section) -> dict | None:
    """The headline row of an open school: held above the cap, expanded, given beds, or
    kept although small (a reason for each that applies, in one row)."""
    beds = float(place.beds_added) - float(merged_beds.get(place.place_id, 0.0))
    kept_small = place.small and place.streams_after <= section.small_max_streams
    reasons = []
    if place.streams > section.max_streams:
        action = "hold_large"
        reasons.append(
            f"{place.streams} streams, above the {section.max_streams}-stream cap: held, "
            "may not grow"
        )
    elif place.modules > 0:
        action = "expand"
        reasons.append(f"adds {place.modules} stream(s)")
    elif beds >= 0.5:
        action = "add_beds"
        reasons.append(f"adds {round(beds)} boarding bed(s) for students it receives")
    elif kept_small:
        action = "keep_small_exempt"
    else:
        return None
    if kept_small:
        reasons.append(f"small, kept: {_exemption(plan, place, places, section)}")
    reason = "; ".join(reasons)
    return _moving_row(action, place.place_id, incoming, section, reason, beds=beds)


def _exemption(plan: CountyPlan, place, places, section: HighSchoolSection) -> str:
    """Why a small school stays open, in the order a planning officer would ask."""
    if place.place_id in section.exempt:
        return f"exempt in the scenario: {section.exempt[place.place_id]}"
    schools = plan.county.schools.set_index("school_id")
    if bool(schools.at[place.place_id, "must_keep"]):
        return "marked must_keep in the schools table"
    others = places[places["open"] & (places["place_id"] != place.place_id)]
    if others.empty:
        return "the county's only public high school (every county keeps at least one)"
    travel = plan.county.travel
    served = travel[travel["place_id"] == place.place_id]["demand_id"]
    reach = travel[travel["demand_id"].isin(served) & travel["place_id"].isin(others["place_id"])]
    limit = plan.max_travel.reindex(served)
    best = reach.groupby("demand_id")["minutes"].min().reindex(served)
    beyond = best.isna() | (best > limit.to_numpy())
    if beyond.any():
        worst = best[beyond]
        far = "no other school in reach" if worst.isna().all() else f"{worst.max():.0f} min"
        return (
            f"{int(beyond.sum())} settlement(s) it serves would be beyond the "
            f"{section.max_travel_min:g}-min limit from any other school ({far})"
        )
    return (
        "no receiving school has room within the travel limit under the "
        f"{section.max_streams}-stream cap"
    )


def _new_school_row(place, incoming: pd.DataFrame, section: HighSchoolSection) -> dict:
    reason = (
        f"new school of {place.streams_after} streams for students the existing schools "
        "cannot seat within the cap and the travel limit"
    )
    return _moving_row(
        "new_school", place.place_id, incoming, section, reason, beds=float(place.beds_added)
    )


def _moving_row(action, school_id, moved, section, reason, target="", beds=0.0) -> dict:
    """A change row for ``moved`` students (leaving or arriving), with their mean trips
    and why a trip may exceed the limit or have no before-figure."""
    reason += _far_notes(moved, section)
    return moved_row(action, school_id, moved, reason, target=target, beds=beds)


def _far_notes(moved: pd.DataFrame, section: HighSchoolSection) -> str:
    """Why travel_min_after may exceed the limit."""
    far = moved[moved["minutes_after"] > section.max_travel_min]
    if far["students"].sum() < 0.5:
        return ""
    return (
        f"; {round(far['students'].sum())} students travel more than "
        f"{section.max_travel_min:g} min (up to {far['minutes_after'].max():.0f}): no "
        "school is nearer their homes, today's nearest being as far"
    )


def _no_public_school_row(plan: CountyPlan, section: HighSchoolSection) -> dict:
    """The county rule that could not hold: no public high school kept or opened (the
    county has none today and too few public students for a new school's minimum)."""
    students = float(plan.county.demand["students"].sum())
    return change_row(
        "shortfall",
        unseated_students=0.0,
        reason=f"rule county_public_high_school: the county has no public high school and "
        f"its {round(students)} public students at the horizon are too few, within their "
        f"travel limits, for a new school of {section.new_school_min_streams} streams (fix: "
        "lower highschool.new_school_min_streams, or add a candidate site nearer them)",
    )


def _shortfall_row(
    plan: CountyPlan, places, moved, section: HighSchoolSection, stream_size: int
) -> dict | None:
    unseated = moved[moved["to_id"] == NO_SEAT]
    left = float(plan.plan.unmet["weight"].sum()) if len(plan.plan.unmet) else 0.0
    if left < 0.5:
        return None
    students = float(plan.county.demand["students"].sum())
    seats = float(places.loc[places["kind"] == "school", "limit"].sum() * stream_size)
    unreachable = unseated[~unseated["demand_id"].isin(plan.county.travel["demand_id"])]
    cause = f"{round(left)} of {round(students)} students at the horizon cannot be seated: "
    if len(unreachable):
        cause += (
            f"{unreachable['demand_id'].nunique()} settlement(s) have no public high "
            f"school or candidate site of their county within "
            f"{section.travel_cutoff_min:g} min "
            "(fix: raise highschool.travel_cutoff_min or add a candidate site)"
        )
    else:
        cause += (
            f"the county's public schools hold at most {seats:.0f} seats at the "
            f"{section.max_streams}-stream cap"
        )
        if not section.allow_new_schools:
            cause += " and new schools are not allowed (fix: allow_new_schools = true)"
        elif not (places["kind"] == "site").any():
            cause += " and the county has no candidate site for a new school (fix: add sites)"
        else:
            cause += " and no candidate site is within the travel limit of enough students"
    return change_row("shortfall", unseated_students=left, reason=cause)
