"""One county's high-school network as two engine problems: today's, and the plan's.

*Today* keeps every public school open at its present streams and places the horizon's
students as close to home as capacity allows (students without a seat are the shortfall
the plan must fix). *The plan* may close small schools, add streams up to the cap, open a
new school at a candidate site, and is scored, in student-minutes, by: each small school
left open (a weight large enough to come first), then travel, then streams and new schools.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from layoutopt.decisions import CLOSING, HOLDING, NO_DECISIONS
from layoutopt.engine import LocationProblem, LocationSolution
from layoutopt.engine.problem import CANDIDATE, CLOSABLE, MUST_KEEP
from layoutopt.programmes.common import arc_arrays, arcs_under_merges, decision_groups
from layoutopt.scenario import HighSchoolSection


@dataclass(frozen=True)
class CountyInput:
    """One county: public schools, candidate sites, students and travel, as plain tables.

    ``schools``: school_id, streams, must_keep (and optionally level); ``sites``: place_id,
    max_streams;
    ``demand``: demand_id, students; ``travel``: place_id, demand_id, minutes;
    ``decided``: the review's decisions on the county's schools and sites (decision,
    target_id), by school_id.
    """

    region_id: str
    schools: pd.DataFrame
    sites: pd.DataFrame
    demand: pd.DataFrame
    travel: pd.DataFrame
    decided: pd.DataFrame = field(default_factory=lambda: NO_DECISIONS)


@dataclass
class CountyPlan:
    county: CountyInput
    sites: pd.DataFrame  # place_id, kind (school|site), streams, small, closable, limit
    today: LocationSolution
    plan: LocationSolution
    max_travel: pd.Series  # per demand_id, minutes


def county_plan(
    county: CountyInput, section: HighSchoolSection, today: LocationSolution, plan: LocationSolution
) -> CountyPlan:
    sites, limits = site_table(county, section), travel_limits(county, section)
    return CountyPlan(county, sites, today, plan, limits)


def site_table(county: CountyInput, section: HighSchoolSection) -> pd.DataFrame:
    """Existing public schools then candidate sites, with the policy that applies to each
    and the review's decision on it (``decided``, blank for none)."""
    schools = county.schools
    decided = county.decided["decision"]
    said = decided.reindex(schools["school_id"]).fillna("").to_numpy()
    receivers = county.decided.loc[decided == "merge_into", "target_id"]
    small = schools["streams"] <= section.small_max_streams
    held = (
        schools["must_keep"].astype(bool)
        | schools["school_id"].isin(section.exempt)
        | np.isin(said, HOLDING)
        | schools["school_id"].isin(receivers)
    )
    # Schools above the cap may not grow; the rest may grow up to it; a school decided
    # "no change" stays at its streams.
    limit = np.maximum(schools["streams"].to_numpy(int), section.max_streams)
    existing = pd.DataFrame(
        {
            "place_id": schools["school_id"].to_numpy(),
            "kind": "school",
            "streams": schools["streams"].to_numpy(int),
            "small": small.to_numpy(),
            "closable": ((small & ~held) | np.isin(said, CLOSING)).to_numpy(),
            "limit": np.where(said == "no_change", schools["streams"].to_numpy(int), limit),
            "decided": said,
        }
    )
    sites = county.sites if section.allow_new_schools else county.sites.iloc[:0]
    built = decided.reindex(sites["place_id"]).fillna("").to_numpy()
    sites, built = sites[built != "do_not_build"], built[built != "do_not_build"]
    candidates = pd.DataFrame(
        {
            "place_id": sites["place_id"].to_numpy(),
            "kind": "site",
            "streams": 0,
            "small": False,
            "closable": False,
            "limit": sites["max_streams"].to_numpy(int),
            "decided": built,
        }
    )
    table = pd.concat([existing, candidates], ignore_index=True)
    types = {"small": bool, "closable": bool, "streams": int, "limit": int, "decided": str}
    return table.astype(types)


def travel_limits(county: CountyInput, section: HighSchoolSection) -> pd.Series:
    """Each settlement's longest allowed trip: the policy limit, or today's nearest school
    where that is already farther (a plan must not make anyone's nearest school illegal)."""
    schools = county.travel[county.travel["place_id"].isin(county.schools["school_id"])]
    nearest = schools.groupby("demand_id")["minutes"].min()
    limit = nearest.reindex(county.demand["demand_id"]).fillna(section.max_travel_min)
    return np.maximum(limit, section.max_travel_min).rename("max_travel")


def new_school_min_load(sites: pd.DataFrame, section: HighSchoolSection, stream_size: int):
    """Students a place must draw to be open: none for a school, a new school's minimum
    streams for a candidate site."""
    is_school = (sites["kind"] == "school").to_numpy()
    return np.where(is_school, 0.0, (section.new_school_min_streams - 1) * stream_size + 1)


def public_school_possible(
    county: CountyInput,
    sites: pd.DataFrame,
    arcs: dict[str, np.ndarray],
    max_travel: pd.Series,
    min_load: np.ndarray,
) -> bool:
    """Whether the county can keep or open a public high school: it has one today, or a
    candidate site has a new school's minimum of students within their travel limits."""
    if (sites["kind"] == "school").any():
        return True
    return bool(can_draw(county, sites, arcs, max_travel, min_load).any())


def can_draw(
    county: CountyInput,
    sites: pd.DataFrame,
    arcs: dict[str, np.ndarray],
    max_travel: pd.Series,
    min_load: np.ndarray,
) -> np.ndarray:
    """Per place, whether the students within their travel limits of it reach its minimum
    load (a new school's minimum streams)."""
    weight = county.demand["students"].to_numpy(float)
    limit = max_travel.to_numpy(float)[arcs["arc_demand"]]
    near = arcs["arc_travel"] <= limit
    drawn = np.bincount(
        arcs["arc_site"][near], weights=weight[arcs["arc_demand"][near]], minlength=len(sites)
    )
    return drawn >= min_load


def merged_arcs(county: CountyInput, sites: pd.DataFrame, arcs: dict, attended) -> np.ndarray:
    """Which arcs stay under the review's merges (``arcs_under_merges``)."""
    merges = county.decided.loc[county.decided["decision"] == "merge_into", "target_id"]
    return arcs_under_merges(
        dict(merges.items()),
        attended,
        county.demand["demand_id"].to_numpy()[arcs["arc_demand"]],
        sites["place_id"].to_numpy()[arcs["arc_site"]],
    )


def _arcs(county: CountyInput, sites: pd.DataFrame) -> dict[str, np.ndarray]:
    return arc_arrays(county.demand["demand_id"], sites["place_id"], county.travel)


def today_problem(
    county: CountyInput, section: HighSchoolSection, stream_size: int
) -> LocationProblem:
    """Every public school open at its present streams; students as near as room allows."""
    sites = site_table(county, section)
    schools = sites[sites["kind"] == "school"]
    return LocationProblem.build(
        demand_ids=county.demand["demand_id"],
        weight=county.demand["students"].to_numpy(float),
        site_ids=schools["place_id"],
        status=MUST_KEEP,
        capacity=schools["streams"].to_numpy(float) * stream_size,
        unmet_penalty=section.unmet_penalty,
        demand_region=county.region_id,
        **_arcs(county, schools),
    )


def plan_problem(
    county: CountyInput, today: LocationSolution, section: HighSchoolSection, stream_size: int
) -> LocationProblem:
    """The plan; a student who leaves today's school pays the switch minutes."""
    sites = site_table(county, section)
    max_travel = travel_limits(county, section)
    attended = today.assignment[["demand_id", "site_id"]]
    is_school = (sites["kind"] == "school").to_numpy()
    status = np.where(
        sites["closable"], CLOSABLE, np.where(is_school, MUST_KEEP, CANDIDATE)
    ).astype(object)
    # A small school left open pays its weight; a new school pays its cost.
    fixed = np.where(sites["closable"], section.small_school_weight, 0.0)
    fixed = np.where(is_school, fixed, section.new_school_cost)
    # A new school opens with at least its minimum streams: its load must need them.
    min_load = new_school_min_load(sites, section, stream_size)
    arcs = _arcs(county, sites)
    kept = merged_arcs(county, sites, arcs, attended)
    arcs = {name: values[kept] for name, values in arcs.items()}
    # Going to a school other than today's costs the switch minutes on top of the trip.
    today = set(zip(attended["demand_id"], attended["site_id"], strict=True))
    demand_ids = county.demand["demand_id"].to_numpy()
    site_ids = sites["place_id"].to_numpy()
    pairs = zip(demand_ids[arcs["arc_demand"]], site_ids[arcs["arc_site"]], strict=True)
    switching = np.array([pair not in today for pair in pairs], dtype=bool)
    arcs["arc_cost"] = arcs["arc_travel"] + section.switch_cost_min * switching
    room = (sites["limit"] - sites["streams"]).clip(lower=0).to_numpy(int)
    return LocationProblem.build(
        demand_ids=county.demand["demand_id"],
        weight=county.demand["students"].to_numpy(float),
        site_ids=sites["place_id"],
        status=status,
        capacity=sites["streams"].to_numpy(float) * stream_size,
        fixed_cost=fixed,
        min_load=min_load,
        module_capacity=float(stream_size),
        module_cost=section.stream_cost,
        max_modules=room,
        # A school the review decided to expand adds at least one stream (and so stays
        # open), where it has room below max_streams; where not, a shortfall row says so.
        min_modules=((sites["decided"] == "expand").to_numpy() & (room > 0)).astype(int),
        unmet_penalty=section.unmet_penalty,
        max_travel=max_travel.to_numpy(float),
        demand_region=county.region_id,
        # Every county keeps at least one public high school, where it can hold one; where
        # it cannot, the outcome says so in a shortfall row (never an infeasible county).
        open_count=(1, None)
        if public_school_possible(county, sites, arcs, max_travel, min_load)
        else (None, None),
        group_open=decision_groups(
            sites["decided"].to_numpy(), able=can_draw(county, sites, arcs, max_travel, min_load)
        ),
        **arcs,
    )
