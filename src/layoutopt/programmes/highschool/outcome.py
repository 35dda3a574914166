"""Read a county's solves back as schools after the plan, moves and recommended changes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from layoutopt.programmes.common import (
    change_row,
    exchange_rows,
    expansion_shortfalls,
    flow_words,
    pairs_row,
)
from layoutopt.programmes.flows import (
    NO_SEAT,
    WholeFlows,
    moves_with_minutes,
    region_flows,
    solution_flows,
)
from layoutopt.programmes.highschool.county import CountyPlan
from layoutopt.scenario import HighSchoolSection

SPLIT = ("complete_secondary",)  # levels whose senior section can close on its own


@dataclass
class CountyOutcome:
    region_id: str
    places: pd.DataFrame  # place_id, kind, streams, small, closable, open, streams_after, ...
    today: pd.DataFrame  # flows today (settlement to school)
    after: pd.DataFrame  # flows after the plan
    moved: pd.DataFrame  # demand_id, from_id, to_id, students, minutes_before, minutes_after,
    #                      needs_bed
    whole: WholeFlows  # loads and named flows between schools, in whole students
    changes: list[dict]


def county_outcome(
    plan: CountyPlan, section: HighSchoolSection, stream_size: int, names: pd.Series
) -> CountyOutcome:
    today = solution_flows(plan.today)
    after = solution_flows(plan.plan)
    moved = _moves_with_minutes(today, after, plan.county.travel, section)
    whole = region_flows(today, after, moved, bed="needs_bed")
    places = _places_after(plan, whole, stream_size)
    changes = _changes(plan, places, whole, section, names, stream_size)
    return CountyOutcome(plan.county.region_id, places, today, after, moved, whole, changes)


def _moves_with_minutes(today, after, travel, section: HighSchoolSection) -> pd.DataFrame:
    moved = moves_with_minutes(today, after, travel)
    moved["needs_bed"] = (moved["to_id"] != NO_SEAT) & (
        moved["minutes_after"] > section.boarding_travel_min
    )
    return moved


def _places_after(plan: CountyPlan, whole: WholeFlows, stream_size: int) -> pd.DataFrame:
    places = plan.sites.copy()
    places["open"] = plan.plan.is_open
    places["modules"] = plan.plan.modules
    places["streams_after"] = np.where(places["open"], places["streams"] + places["modules"], 0)
    places["students_horizon_today"] = whole.load("today", places["place_id"])
    places["students_after"] = whole.load("after", places["place_id"])
    places["capacity_after"] = places["streams_after"] * stream_size
    # A bed for each moved student whose new trip is beyond boarding_travel_min.
    beds = whole.pairs.groupby("to_id")["beds_needed"].sum()
    places["beds_added"] = beds.reindex(places["place_id"]).fillna(0).to_numpy(np.int64)
    return places


def _changes(
    plan: CountyPlan,
    places: pd.DataFrame,
    whole: WholeFlows,
    section: HighSchoolSection,
    names: pd.Series,
    stream_size: int,
) -> list[dict]:
    """One headline row per school that changes, a row for every other school that takes
    in or sends students, then the county's shortfall row."""
    rows: list[dict] = []
    levels = plan.county.schools.set_index("school_id").get("level", pd.Series(dtype=str))
    pairs = whole.pairs
    _merge_rows(places, pairs, section, names, levels, rows)
    for place in places[places["open"]].itertuples():
        if place.kind == "site":
            rows.append(_new_school_row(place, pairs, section, names))
        else:
            row = _school_row(plan, place, places, pairs, section, names)
            rows += [row] if row else []
    rows += exchange_rows(pairs, {r["school_id"] for r in rows}, names, "students")
    shortfall = _shortfall_row(plan, places, whole, section, stream_size)
    rows += [shortfall] if shortfall else []
    rows += _builds_not_held(plan, places, section)
    return rows + ([_no_public_school_row(plan, section)] if not places["open"].any() else [])


def _merge_rows(places, pairs, section, names, levels, rows) -> None:
    """A merge_into row per closed school, naming every receiver and how many each takes;
    the beds its students need are the receivers' (on their rows)."""
    closed = places[(places["kind"] == "school") & ~places["open"]]
    for place in closed.itertuples():
        out = pairs[pairs["from_id"] == place.place_id]
        by_target = out.groupby("to_id")["students"].sum()
        by_target = by_target.sort_index().sort_values(ascending=False, kind="stable")
        target = str(by_target.index[0]) if len(by_target) else NO_SEAT
        # A complete secondary school keeps its junior section: only the senior one merges.
        what = "senior section closes" if levels.get(place.place_id) in SPLIT else "closes"
        size = f" (small: ≤ {section.small_max_streams})" if place.small else ""
        reason = (
            f"{place.streams} streams{size}; {what} and merges into {names.get(target, target)}"
        )
        reason += "; " + flow_words(place.place_id, pairs, names, "students")
        if what != "closes":
            reason += "; its junior section stays"
        beds = int(out["beds_needed"].sum())
        if beds:
            reason += (
                f"; {beds} need a bed at their receiver (trip over "
                f"{section.boarding_travel_min:g} min): added there"
            )
        rows.append(_moving_row("merge_into", place.place_id, out, section, reason, target))


def _school_row(plan, place, places, pairs, section, names) -> dict | None:
    """The headline row of an open school: held above the cap, expanded, given beds, or
    kept although small (a reason for each that applies, in one row), with what it
    takes in and sends."""
    beds = float(place.beds_added)
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
    if beds >= 0.5 and action != "add_beds":
        reasons.append(f"adds {round(beds)} boarding bed(s)")
    words = flow_words(place.place_id, pairs, names, "students")
    reason = "; ".join([*reasons, words] if words else reasons)
    incoming = pairs[pairs["to_id"] == place.place_id]
    return _moving_row(action, place.place_id, incoming, section, reason, beds=beds)


def _exemption(plan: CountyPlan, place, places, section: HighSchoolSection) -> str:
    """Why a small school stays open, in the order a planning officer would ask."""
    if place.place_id in section.exempt:
        return f"exempt in the scenario: {section.exempt[place.place_id]}"
    if place.decided or place.place_id in set(plan.county.decided["target_id"]):
        return "by the review's decision"
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


def _new_school_row(place, pairs, section: HighSchoolSection, names) -> dict:
    reason = (
        f"new school of {place.streams_after} streams for students the existing schools "
        "cannot seat within the cap and the travel limit; "
        + flow_words(place.place_id, pairs, names, "students")
    )
    if place.beds_added:
        reason += f"; {place.beds_added} boarding beds"
    incoming = pairs[pairs["to_id"] == place.place_id]
    return _moving_row(
        "new_school", place.place_id, incoming, section, reason, beds=float(place.beds_added)
    )


def _moving_row(action, school_id, moved, section, reason, target="", beds=0.0) -> dict:
    """A change row for the ``moved`` pairs (leaving or arriving), with their mean trips
    and why a trip may exceed the limit or have no before-figure."""
    reason += _far_notes(moved, section)
    return pairs_row(action, school_id, moved, reason, target=target, beds=beds)


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


def _builds_not_held(plan: CountyPlan, places: pd.DataFrame, section: HighSchoolSection):
    """A shortfall row for each site the review decided to build on where the plan could
    not open a new school within its rules, and each school decided to expand that could
    not grow."""
    decided = plan.county.decided
    built = decided.index[decided["decision"] == "build"]
    open_sites = set(places.loc[places["open"], "place_id"])
    candidates = set(places["place_id"])
    rows = []
    for site_id in sorted(set(built) - open_sites):
        if site_id not in candidates:
            cause = (
                "the site is not a candidate for a new high school here: new schools are "
                "not allowed, an earlier programme took it, or it holds fewer than "
                f"{section.new_school_min_streams} streams (fix: another site, or take the "
                "decision out)"
            )
        else:
            cause = (
                "too few students live within their travel limits of the site for a new "
                f"school of {section.new_school_min_streams} streams (fix: another site, or "
                "lower highschool.new_school_min_streams)"
            )
        reason = f"rule decided_build: a new school at {site_id} cannot open: {cause}"
        rows.append(change_row("shortfall", str(site_id), reason=reason))
    expanded = set(places.loc[places["modules"] > 0, "place_id"])
    cause = (
        f"a stream: it is at or above highschool.max_streams ({section.max_streams}) (fix: "
        "take the decision out, or raise max_streams)"
    )
    return rows + expansion_shortfalls(decided, expanded, cause)


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
    plan: CountyPlan, places, whole: WholeFlows, section: HighSchoolSection, stream_size: int
) -> dict | None:
    left = int(whole.after.get(NO_SEAT, 0))
    if not left:
        return None
    students = float(plan.county.demand["students"].sum())
    seats = float(places.loc[places["kind"] == "school", "limit"].sum() * stream_size)
    unseated = plan.plan.unmet
    unreachable = unseated[~unseated["demand_id"].isin(plan.county.travel["demand_id"])]
    cause = f"{left} of {round(students)} students at the horizon cannot be seated: "
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
    return change_row("shortfall", unseated_students=float(left), reason=cause)
