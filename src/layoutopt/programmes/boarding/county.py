"""One county's boarding problem for the location engine.

Demand points: per settlement, its young pupils (``Y|d``) and, for the upper primary and
the junior band, its left-behind pupils and the others (``primary|d|lb``,
``primary|d|other``, ``junior|…``), each attending its register school.

Sites, per school, one a part of a section:
- ``day|young|id`` (grades 1 to ``young_grades``) and ``day|upper|id`` (the primary
  grades above) share the primary section's places in proportion to their grades;
  ``day|junior|id`` has the junior section's places. Each may add whole classrooms
  (``add_classrooms``: a class of the section's size each, at ``classroom_weight_min``)
  up to what its own pupils at the horizon need plus ``max_classrooms``; a private
  school adds none (its pupils beyond its places go to public schools in reach). A small
  rural public school's parts are closable, each saving ``merge_gain_min`` per pupil of
  the part on the register; its upper primary and junior grades close together and only
  with its young grades kept or closed too (a school does not keep grades 4-9 without
  1-3); the young part alone is a teaching point.
- ``bed|id``: its boarding beds (capacity: the beds on the register), plus dormitory
  modules at a township school (``bed_host``), at ``bed_weight_min`` a bed, at most
  ``max_modules`` and no more beds than ``max_beds_per_pupil`` × its pupils. A school's
  beds go with its highest section's part.

Arcs: a band's pupils reach the day places of their own school within the day threshold
(cost: the trip in minutes) and, only where their school may close, is private or is
beyond the threshold, those of the band's other schools in reach (the trip +
``switch_cost_min``): the plan does not reshuffle pupils between open schools. Where no
kept school of the band is in reach, they reach the beds of its schools within
``max_board_min`` (cost: ``boarder_weight_min`` + the weekly trip, + the switch at
another school).

Rules in the model: young pupils with a public school in reach must be served by one
within it (so the last school in their reach is never closed); a far pupil left without
a bed costs ``no_bed_weight_min``, doubled (by ``left_behind_priority``) for a left-behind
one; a section takes no more pupils than its places and the classrooms it adds; under
``bed_cap_share`` the modules of the county add at most that share of the beds missing
in today's network (the engine's ``module_cap``).

Today's network: the same problem with every section kept, no classroom and no module,
and places unbounded (the horizon's pupils where they are, however many).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from layoutopt.decisions import CLOSING, HOLDING, NO_DECISIONS
from layoutopt.engine import LocationProblem, LocationSolution
from layoutopt.engine.problem import CANDIDATE, CLOSABLE, MUST_KEEP, ArcCap
from layoutopt.programmes.boarding.network import BAND_LEVELS, BOARDING_BANDS, STAGE
from layoutopt.programmes.common import decision_groups
from layoutopt.scenario import BoardingSection

# The parts of a school's day places: the levels that have each, its band, its section.
PARTS = {
    "young": (BAND_LEVELS["young"], "primary"),
    "upper": (("primary", "nine_year"), "primary"),
    "junior": (BAND_LEVELS["junior"], "junior"),
}
BAND_PART = {"young": "young", "primary": "upper", "junior": "junior"}
BED_PART = {"primary": "upper", "junior": "junior", "nine_year": "junior"}


@dataclass(frozen=True)
class CountyInput:
    """What a worker needs for one county (picklable)."""

    region_id: str
    section: BoardingSection
    pupils: pd.DataFrame  # the county's settlements (network.pupils rows)
    schools: pd.DataFrame  # its schools, without geometry
    day: pd.DataFrame  # band, place_id, demand_id, minutes, within
    board: pd.DataFrame  # band, place_id, demand_id, minutes
    attend: pd.DataFrame  # band, demand_id, school_id, share (the register's schools)
    base: dict[str, float]  # the base-year check's counts for the county
    class_size: dict[str, int] = field(
        default_factory=lambda: {"primary": 45, "junior": 50}
    )  # pupils of a class by section (the norms): a classroom added holds one class
    # The review's decisions on its schools (decision, target_id by school_id).
    decided: pd.DataFrame = field(default_factory=lambda: NO_DECISIONS)

    # The county's tables, built once in the worker and shared by both problems and the
    # outcome (they were rebuilt up to seven times a county).
    @cached_property
    def demand(self) -> pd.DataFrame:
        return demand_table(self)

    @cached_property
    def tables(self) -> dict[bool, tuple[pd.DataFrame, pd.DataFrame]]:
        """(sites, arcs) of today's network (False) and of the plan (True)."""
        out = {}
        for plan in (False, True):
            sites = site_table(self, plan)
            out[plan] = (sites, arc_table(self, self.demand, sites))
        return out


def demand_table(county: CountyInput) -> pd.DataFrame:
    """demand_id, settlement, band, school (the one its pupils attend today), left_behind
    and pupils (the weight) of every demand point."""
    pupils = county.pupils.set_index("demand_id")
    attend = county.attend[county.attend["demand_id"].isin(pupils.index)]
    by_band = pupils[["young", "primary", "junior"]].stack()
    total = by_band.reindex(pd.MultiIndex.from_arrays([attend["demand_id"], attend["band"]]))
    attend = attend.assign(total=total.to_numpy(float) * attend["share"].to_numpy())
    key = attend["band"] + "|" + attend["demand_id"] + "|" + attend["school_id"]
    lb = attend["total"] * pupils["left_behind_share"].reindex(attend["demand_id"]).to_numpy()
    young = attend["band"] == "young"
    parts = [
        (young, "", False, attend["total"]),
        (~young, "|lb", True, lb),
        (~young, "|other", False, attend["total"] - lb),
    ]
    frames = [
        pd.DataFrame(
            {
                "demand_id": key[rows] + tag,
                "settlement": attend.loc[rows, "demand_id"],
                "band": attend.loc[rows, "band"],
                "school": attend.loc[rows, "school_id"],
                "left_behind": flag,
                "pupils": weight[rows].to_numpy(float),
            }
        )
        for rows, tag, flag, weight in parts
    ]
    table = pd.concat(frames, ignore_index=True)
    table = table[table["pupils"] > 1e-9].sort_values("demand_id", kind="stable")
    return table.reset_index(drop=True)


def site_table(county: CountyInput, plan: bool) -> pd.DataFrame:
    """One row per site: site_id, school_id, part (young, upper, junior, bed), section,
    status, capacity, close_saving, modules and its section's places (a rule of the plan,
    ``section_places``: the parts of a section and its boarders share them)."""
    section = county.section
    demand = county.demand
    part = demand["band"].map(BAND_PART)
    own = demand.groupby([demand["school"], part])["pupils"].sum()
    stage_pupils = demand.groupby([demand["school"], demand["band"].map(STAGE)])["pupils"].sum()
    said = county.decided["decision"]
    rows = []
    for s in county.schools.itertuples(index=False):
        decision = str(said.get(s.school_id, "")) if plan else ""
        # A small school may close; one the review closes must; one it keeps may not.
        closable = plan and (bool(s.small) or decision in CLOSING) and decision not in HOLDING
        holders: set[str] = set()  # the first part of each section holds its classrooms
        for name, (levels, stage) in PARTS.items():
            if s.level not in levels:
                continue
            holder = plan and stage not in holders
            holders.add(stage)
            day = Part(
                name,
                stage,
                pupils=float(own.get((s.school_id, name), 0.0)),
                places=float(getattr(s, f"{stage}_places")),
                need=float(stage_pupils.get((s.school_id, stage), 0.0)),
                size=county.class_size[stage],
            )
            rows.append(_day(s, day, closable, holder and decision != "no_change", section))
        if s.level in BED_PART and (s.boarding_beds > 0 or s.bed_host):
            most = 0
            if plan and s.bed_host and decision != "no_change":
                by_pupils = int(section.max_beds_per_pupil * s.enrolment // section.module_beds)
                most = max(0, min(section.max_modules, by_pupils))
            rows.append(
                {
                    "site_id": f"bed|{s.school_id}",
                    "school_id": s.school_id,
                    "part": "bed",
                    "section": PARTS[BED_PART[s.level]][1],
                    "status": CLOSABLE
                    if closable
                    else (MUST_KEEP if s.boarding_beds else CANDIDATE),
                    "capacity": float(s.boarding_beds),
                    "close_saving": 0.0,
                    "module_capacity": float(section.module_beds),
                    "module_cost": section.bed_weight_min * section.module_beds,
                    "max_modules": most,
                    # A decided expansion adds a module of beds, where the school may host.
                    "min_modules": int(decision == "expand" and most > 0),
                    "places": np.nan,
                }
            )
    table = pd.DataFrame(rows)
    if len(table):
        table["decided"] = said.reindex(table["school_id"]).fillna("").to_numpy(str)
    return table


@dataclass(frozen=True)
class Part:
    """A day part of a school: its name and section, its own pupils at the horizon, its
    section's places, the section's own pupils at the horizon, a class's pupils."""

    name: str
    stage: str
    pupils: float
    places: float
    need: float
    size: int


def _day(s, part: Part, closable: bool, holder: bool, section: BoardingSection) -> dict:
    """A day part's site. The part that holds its section's classrooms may add some:
    enough for the section's own pupils at the horizon and ``max_classrooms`` more (a
    private school adds none)."""
    public = s.ownership == "public"
    own_need = int(np.ceil(max(part.need - part.places, 0.0) / part.size - 1e-9))
    classrooms = own_need + section.max_classrooms if public and holder else 0
    return {
        "site_id": f"day|{part.name}|{s.school_id}",
        "school_id": s.school_id,
        "part": part.name,
        "section": part.stage,
        "status": CLOSABLE if closable else MUST_KEEP,
        "capacity": np.inf,
        # Its pupils' switch is priced on every arc away from it: the saving covers it, so
        # that the section closes where their extra trip is under merge_gain_min.
        "close_saving": (section.merge_gain_min + section.switch_cost_min) * part.pupils
        if closable
        else 0.0,
        "module_capacity": float(part.size),
        "module_cost": section.classroom_weight_min,
        "max_modules": classrooms,
        "min_modules": 0,
        "places": part.places,
    }


def arc_table(county: CountyInput, demand: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """demand_id, site_id, cost, travel of every arc (see the module's text); a trip to
    another school than the pupils' own costs ``switch_cost_min`` more."""
    section = county.section
    kept = set(sites.loc[sites["status"] == MUST_KEEP, "site_id"])
    day = county.day[county.day["within"]]
    day = day.assign(site_id="day|" + day["band"].map(BAND_PART) + "|" + day["place_id"])
    beds = county.board.assign(site_id="bed|" + county.board["place_id"])
    points = demand[["demand_id", "settlement", "band", "school"]]
    switch = section.switch_cost_min
    trips = _join(points, day, sites, switch)
    # Pupils keep the school they attend while it is open and in reach: another school's
    # day places are offered only where theirs may close, is private (it adds no
    # classroom) or is beyond the threshold.
    own = trips["school"] == trips["place_id"]
    in_reach = set(trips.loc[own, "demand_id"])
    closable = set(sites.loc[sites["status"] == CLOSABLE, "school_id"])
    private = set(county.schools.loc[county.schools["ownership"] != "public", "school_id"])
    free = ~trips["demand_id"].isin(in_reach) | trips["school"].isin(closable | private)
    trips = trips[own | free]
    arcs = [trips]
    reached = set(trips.loc[trips["site_id"].isin(kept), "demand_id"])
    far = points[points["band"].isin(BOARDING_BANDS) & ~points["demand_id"].isin(reached)]
    bed_trips = _join(far, beds, sites, switch)
    bed_trips["cost"] += (
        section.boarder_weight_min + (section.boarder_trip_share - 1) * bed_trips["travel"]
    )
    arcs.append(bed_trips)
    table = pd.concat(arcs, ignore_index=True)[["demand_id", "site_id", "cost", "travel"]]
    return table.sort_values(["demand_id", "site_id"], ignore_index=True)


def _join(
    points: pd.DataFrame, trips: pd.DataFrame, sites: pd.DataFrame, switch_min: float
) -> pd.DataFrame:
    """Arcs from demand points to the sites of their band reached by ``trips`` (by
    settlement), costed at the trip plus the switch away from the pupils' own school."""
    joined = points.merge(
        trips[["band", "demand_id", "place_id", "site_id", "minutes"]].rename(
            columns={"demand_id": "settlement"}
        ),
        on=["band", "settlement"],
    )
    joined = joined[joined["site_id"].isin(sites["site_id"])]
    switch = np.where(joined["place_id"] == joined["school"], 0.0, switch_min)
    return pd.DataFrame(
        {
            "demand_id": joined["demand_id"],
            "site_id": joined["site_id"],
            "school": joined["school"],
            "place_id": joined["place_id"],
            "cost": joined["minutes"].to_numpy(float) + switch,
            "travel": joined["minutes"].to_numpy(float),
        }
    )


def build_problem(
    county: CountyInput, plan: bool, today: LocationSolution | None = None
) -> LocationProblem:
    """Today's network (``plan`` False) or the plan; the plan's bed cap reads today's."""
    section = county.section
    demand = county.demand
    module_cap = None
    if plan and section.bed_cap_share is not None:
        module_cap = section.bed_cap_share * beds_missing(today)
    sites, arcs = county.tables[plan]
    if plan:
        arcs = arcs[_merged(county, sites, arcs)]
    public = set(county.schools.loc[county.schools["ownership"] == "public", "school_id"])
    day_sites = sites[sites["part"] != "bed"]
    public_sites = set(day_sites.loc[day_sites["school_id"].isin(public), "site_id"])
    reached = set(arcs.loc[arcs["site_id"].isin(public_sites), "demand_id"])
    young = (demand["band"] == "young").to_numpy()
    penalty = np.where(
        demand["left_behind"],
        section.no_bed_weight_min * (1 + section.left_behind_priority),
        section.no_bed_weight_min,
    )
    # Young pupils with a public school in reach (which can always add a classroom) must
    # keep one; those without any are reported.
    penalty = np.where(young & demand["demand_id"].isin(reached).to_numpy(), np.nan, penalty)
    demand = demand.assign(weight=demand["pupils"], unmet_penalty=penalty)
    site_index = pd.Index(sites["site_id"])
    implies = _implies(sites, site_index)
    return LocationProblem.from_frames(
        demand,
        sites.drop(columns=["places", "decided"], errors="ignore"),
        arcs,
        open_implies=implies,
        group_open=decision_groups(sites["decided"].to_numpy(), opens=()) if plan else None,
        module_cap=module_cap,
        arc_caps=section_places(sites, arcs, demand) if plan else (),
    )


def _merged(county: CountyInput, sites: pd.DataFrame, arcs: pd.DataFrame) -> np.ndarray:
    """Which arcs stay under the review's merges: the pupils of a school merged into
    another go to a part of the receiver, nowhere else (a demand point is the pupils of
    one band, settlement and school today)."""
    decided = county.decided
    merges = decided.loc[decided["decision"] == "merge_into", "target_id"]
    if merges.empty:
        return np.ones(len(arcs), dtype=bool)
    school_today = county.demand.set_index("demand_id")["school"]
    source = school_today.reindex(arcs["demand_id"]).to_numpy()
    receiver = merges.reindex(source).to_numpy()
    school_of_site = sites.set_index("site_id")["school_id"].reindex(arcs["site_id"]).to_numpy()
    bound = pd.notna(receiver)
    return ~bound | (school_of_site == receiver)


def section_places(sites: pd.DataFrame, arcs: pd.DataFrame, demand: pd.DataFrame) -> list:
    """A rule for each school section: the pupils of its grades at the school, by day or
    boarding, hold no more than its places and the classrooms it adds."""
    band = demand.set_index("demand_id")["band"].reindex(arcs["demand_id"]).to_numpy()
    stage = pd.Series(band).map(STAGE).to_numpy()
    table = sites.set_index("site_id")
    school = table["school_id"].reindex(arcs["site_id"]).to_numpy()
    part = table["part"].reindex(arcs["site_id"]).to_numpy()
    # A day part's arcs are its section's; a bed's, the section of the pupil's grade.
    own = table["section"].reindex(arcs["site_id"]).to_numpy()
    section = np.where(part == "bed", stage, own)
    index = pd.Index(sites["site_id"])
    day = sites[sites["part"] != "bed"].set_index(["school_id", "section"])
    rules = []
    groups = pd.Series(np.arange(len(arcs))).groupby([school, section], sort=True)
    for (school_id, stage_name), members in groups:
        if (school_id, stage_name) not in day.index:
            continue  # boarders of a grade the school does not teach by day
        mine = day.loc[[(school_id, stage_name)]]
        holders = mine.loc[mine["max_modules"] > 0, "site_id"]
        rules.append(
            ArcCap(
                f"places:{school_id}:{stage_name}",
                members.to_numpy(),
                float(mine["places"].iloc[0]),
                index.get_indexer(holders),
            )
        )
    return rules


def _implies(sites: pd.DataFrame, index: pd.Index) -> np.ndarray:
    """(a, b): site a open only if site b is: a closable school's upper primary and junior
    grades together, and only with its young grades; beds only with their part."""
    pairs = []
    closable = sites[sites["status"] == CLOSABLE]
    for _, parts in closable.groupby("school_id"):
        ids = dict(zip(parts["part"], parts["site_id"], strict=True))
        at = {name: index.get_loc(site) for name, site in ids.items()}
        if "upper" in at and "junior" in at:
            pairs += [(at["upper"], at["junior"]), (at["junior"], at["upper"])]
        for upper in ("upper", "junior"):
            if upper in at and "young" in at:
                pairs.append((at[upper], at["young"]))
        if "bed" in at:
            holder = "junior" if "junior" in at else "upper"
            if holder in at:
                pairs.append((at["bed"], at[holder]))
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def beds_missing(today: LocationSolution | None) -> float:
    """Far pupils without a bed in today's network at the horizon (young ones excluded)."""
    if today is None:
        return 0.0
    unmet = today.unmet
    upper = ~unmet["demand_id"].str.startswith("young|")
    return float(unmet.loc[upper, "weight"].sum())  # the weight left unserved
