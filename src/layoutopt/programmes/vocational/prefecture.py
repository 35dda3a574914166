"""One prefecture's public vocational schools as two engine problems: today's, and the plan's.

*Today* keeps every public school open at its present streams and places the horizon's
students of each county as near as room allows. *The plan* may close a school, add
streams up to the cap and open a school at a candidate site, under these rules, each a
constraint or a priced rule of the problem:

- **the standard**: an open school that may close holds at least ``standard_students``
  (its minimum load); the county's vocational education centre and exempt or must-keep
  schools are kept, a centre below the standard is strengthened to its streams;
- **county presence**: every county keeps a public school (a priced group: a county
  with no school and no site comes back short);
- **specialty coverage**: every category a prefecture's schools offer today is still
  offered by a school that teaches it today and stays open (a priced group per
  category; a category a private school offers is safe, private schools being kept);
- **the count**: each school whose opening is decided pays ``price`` (the search's price
  per school kept, in student-minutes) on top of its other costs.

The objective is in student-minutes: travel, the switch minutes of students whose school
is not closing but who are moved, streams and new schools at their weights, the priced
rules' shortfalls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from layoutopt.data.specialties import codes
from layoutopt.decisions import NO_DECISIONS
from layoutopt.engine import LocationProblem, LocationSolution
from layoutopt.engine.problem import CANDIDATE, CLOSABLE, MUST_KEEP
from layoutopt.programmes.common import arc_arrays, arcs_under_merges, decision_groups
from layoutopt.scenario import VocationalSection

PRESENCE = "presence"  # group name prefix: presence:<region_id>
CATEGORY = "category"  # group name prefix: category:<code>
NEW = "new"  # at most one new school per county: new:<region_id>


@dataclass(frozen=True)
class PrefectureInput:
    """One prefecture as plain tables.

    ``places``: place_id, kind (school | site), region_id, streams (register), teachers,
    spare_beds (register beds less boarders), centre, held (centre, must-keep, exempt or
    at the standard), exempt_reason, specialties; ``demand``: demand_id (a school's own
    students, a private school's beyond its places, or a county without a school),
    students, own (the public school they attend today, or ""), region_id (their county);
    ``travel``: place_id, demand_id, minutes; ``counties``: every county of the
    prefecture; ``private_categories``: categories its private schools offer.
    """

    prefecture_id: str
    places: pd.DataFrame
    demand: pd.DataFrame
    travel: pd.DataFrame
    counties: tuple[str, ...]
    private_categories: frozenset[str]
    # The review's decisions in the prefecture (decision, target_id, region_id by school_id).
    decided: pd.DataFrame = field(default_factory=lambda: NO_DECISIONS)


def site_table(
    prefecture: PrefectureInput, section: VocationalSection, standard_streams: int
) -> pd.DataFrame:
    """Each place with the policy that applies to it: status, streams it opens with (a
    centre below the standard is strengthened to it; a new school opens at it), the most
    it may grow to, and its minimum load."""
    places = prefecture.places.copy()
    school = (places["kind"] == "school").to_numpy()
    held = places["held"].to_numpy(bool)
    places["status"] = np.where(school, np.where(held, MUST_KEEP, CLOSABLE), CANDIDATE)
    strengthen = places["centre"].to_numpy(bool) & (places["streams"] < standard_streams)
    places["streams_open"] = np.where(
        strengthen | ~school, standard_streams, places["streams"]
    ).astype(int)
    places["strengthen"] = strengthen
    # A school above the cap may not grow; the rest may grow up to it; a school the
    # review leaves unchanged stays at the streams it opens with.
    limit = np.maximum(places["streams_open"], section.max_streams)
    unchanged = places.get("decided", pd.Series("", index=places.index)) == "no_change"
    places["limit"] = np.where(unchanged, places["streams_open"], limit).astype(int)
    places["min_load"] = np.where(
        places["status"] == CLOSABLE, float(section.standard_students), 0.0
    )
    return places.reset_index(drop=True)


def _arcs(prefecture: PrefectureInput, places: pd.DataFrame) -> dict[str, np.ndarray]:
    return arc_arrays(prefecture.demand["demand_id"], places["place_id"], prefecture.travel)


def today_problem(
    prefecture: PrefectureInput, section: VocationalSection, stream_size: int
) -> LocationProblem:
    """Every public school open at its register streams; each school's students at it as
    far as its places allow (another school costs the switch minutes), the rest as near
    as room allows."""
    places = prefecture.places[prefecture.places["kind"] == "school"].reset_index(drop=True)
    arcs = _arcs(prefecture, places)
    own = prefecture.demand["own"].to_numpy()[arcs["arc_demand"]]
    elsewhere = places["place_id"].to_numpy()[arcs["arc_site"]] != own
    arcs["arc_cost"] = arcs["arc_travel"] + section.switch_cost_min * elsewhere
    return LocationProblem.build(
        demand_ids=prefecture.demand["demand_id"],
        weight=prefecture.demand["students"].to_numpy(float),
        site_ids=places["place_id"],
        status=MUST_KEEP,
        capacity=places["streams"].to_numpy(float) * stream_size,
        unmet_penalty=section.unmet_penalty,
        demand_region=prefecture.prefecture_id,
        **arcs,
    )


def travel_limits(prefecture: PrefectureInput, section: VocationalSection) -> pd.Series:
    """Each demand point's longest allowed trip: ``max_travel_min``, or its trip to the
    school it attends today (else to the nearest school) where that is already longer."""
    travel = prefecture.travel
    own = prefecture.demand.set_index("demand_id")["own"]
    to_own = travel[travel["place_id"].to_numpy() == own.reindex(travel["demand_id"]).to_numpy()]
    today = to_own.groupby("demand_id")["minutes"].min()
    schools = set(prefecture.places.loc[prefecture.places["kind"] == "school", "place_id"])
    nearest = travel[travel["place_id"].isin(schools)].groupby("demand_id")["minutes"].min()
    trip = today.reindex(own.index).fillna(nearest.reindex(own.index)).fillna(0.0)
    return np.maximum(trip, section.max_travel_min).rename("max_travel")


def plan_problem(
    prefecture: PrefectureInput,
    today: LocationSolution,
    section: VocationalSection,
    stream_size: int,
    standard_streams: int,
    price: float | None,
) -> LocationProblem:
    """The plan at ``price`` per school whose opening is decided (None: no price)."""
    places = site_table(prefecture, section, standard_streams)
    decided = (places["status"] != MUST_KEEP).to_numpy()
    is_site = (places["kind"] == "site").to_numpy()
    fixed = np.where(decided, price or 0.0, 0.0) + np.where(is_site, section.new_school_cost, 0.0)
    arcs = _arcs(prefecture, places)
    kept = _merged_arcs(prefecture, places, arcs, today)
    arcs = {name: values[kept] for name, values in arcs.items()}
    attended = set(zip(today.assignment["demand_id"], today.assignment["site_id"], strict=True))
    pairs = zip(
        prefecture.demand["demand_id"].to_numpy()[arcs["arc_demand"]],
        places["place_id"].to_numpy()[arcs["arc_site"]],
        strict=True,
    )
    switching = np.array([pair not in attended for pair in pairs], dtype=bool)
    # A county's students at a school that closes pay no switch minutes to leave it, but
    # a move between two schools that both stay must save the switch minutes.
    arcs["arc_cost"] = arcs["arc_travel"] + section.switch_cost_min * switching
    groups, penalty = _rules(prefecture, places, section)
    room = (places["limit"] - places["streams_open"]).clip(lower=0).to_numpy(int)
    return LocationProblem.build(
        max_travel=travel_limits(prefecture, section)
        .reindex(prefecture.demand["demand_id"])
        .to_numpy(float),
        demand_ids=prefecture.demand["demand_id"],
        weight=prefecture.demand["students"].to_numpy(float),
        site_ids=places["place_id"],
        status=places["status"].to_numpy(),
        capacity=places["streams_open"].to_numpy(float) * stream_size,
        fixed_cost=fixed,
        min_load=places["min_load"].to_numpy(float),
        module_capacity=float(stream_size),
        module_cost=section.stream_cost,
        max_modules=room,
        # A school the review decided to expand adds at least one stream where it has room.
        min_modules=((places.get("decided") == "expand").to_numpy() & (room > 0)).astype(int)
        if "decided" in places
        else 0,
        unmet_penalty=section.unmet_penalty,
        demand_region=prefecture.prefecture_id,
        group_open={
            **groups,
            **decision_groups(places.get("decided", pd.Series("", index=places.index)).to_numpy()),
        },
        group_penalty=penalty,
        **arcs,
    )


def _merged_arcs(
    prefecture: PrefectureInput, places: pd.DataFrame, arcs: dict, today: LocationSolution
) -> np.ndarray:
    """Which arcs stay under the review's merges (``arcs_under_merges``)."""
    target = places.get("merge_target", pd.Series("", index=places.index))
    merges = {s: t for s, t in zip(places["place_id"], target, strict=True) if t}
    return arcs_under_merges(
        merges,
        today.assignment,
        prefecture.demand["demand_id"].to_numpy()[arcs["arc_demand"]],
        places["place_id"].to_numpy()[arcs["arc_site"]],
    )


def _rules(
    prefecture: PrefectureInput, places: pd.DataFrame, section: VocationalSection
) -> tuple[dict, dict[str, float]]:
    """County presence and specialty coverage as priced groups; one new school a county."""
    groups: dict[str, tuple[np.ndarray, tuple[int | None, int | None]]] = {}
    penalty: dict[str, float] = {}
    region = places["region_id"].to_numpy()
    is_site = (places["kind"] == "site").to_numpy()
    for county in prefecture.counties:
        name = f"{PRESENCE}:{county}"
        groups[name] = (np.flatnonzero(region == county), (1, None))
        penalty[name] = section.presence_shortfall_cost
        if (is_site & (region == county)).any():
            groups[f"{NEW}:{county}"] = (np.flatnonzero(is_site & (region == county)), (None, 1))
    offered = [set(codes(cell)) for cell in places["specialties"]]
    for category in sorted(categories_offered(prefecture) - prefecture.private_categories):
        name = f"{CATEGORY}:{category}"
        teaching = [k for k, found in enumerate(offered) if category in found]
        groups[name] = (np.array(teaching, dtype=np.int64), (1, None))
        penalty[name] = section.category_shortfall_cost
    return groups, penalty


def categories_offered(prefecture: PrefectureInput) -> set[str]:
    """Every category the prefecture's schools offer today, public and private."""
    public = {c for cell in prefecture.places["specialties"] for c in codes(cell)}
    return public | set(prefecture.private_categories)
