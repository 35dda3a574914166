"""One county's boarding problem for the location engine.

Demand points: per settlement, its young pupils (``Y|d``) and, for the upper primary and
the junior band, its left-behind pupils and the others (``primary|d|lb``,
``primary|d|other``, ``junior|…``).

Sites, per school:
- ``day|young|id`` and ``day|upper|id``: its day places for the young grades and for
  the grades above (infinite: classrooms are not this programme's question). A small
  rural school's are closable, each saving ``merge_gain_min`` per pupil of the section on
  the register; the upper section may stay open only with the young one (a school does not
  keep grades 4-9 without 1-3), and the young one alone is a teaching point.
- ``bed|id``: its boarding beds (capacity: the beds on the register), plus dormitory
  modules at a township school (``bed_host``), at ``bed_weight_min`` a bed, at most
  ``max_modules`` and no more beds than ``max_beds_per_pupil`` × its pupils. A school's
  beds go with its upper section.

Arcs: a band's pupils reach the day places of their own school within the day threshold
(cost: the trip in minutes) and, only where their school may close or is beyond the
threshold, those of the band's other schools in reach (the trip + ``switch_cost_min``):
the plan does not reshuffle pupils between open schools. Where no kept school of the band
is in reach, they reach the beds of its schools within ``max_board_min`` (cost:
``boarder_weight_min`` + the weekly trip, + the switch at another school).

Rules in the model: young pupils with a school in reach must be served by one within
it (so the last school in their reach is never closed); a far pupil left without a bed
costs ``no_bed_weight_min``, doubled (by ``left_behind_priority``) for a left-behind one;
under ``bed_cap_share`` the modules of the county add at most that share of the beds
missing in today's network (the engine's ``module_cap``).

Today's network: the same problem with every section kept and no modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from layoutopt.engine import LocationProblem, LocationSolution
from layoutopt.engine.problem import CANDIDATE, CLOSABLE, MUST_KEEP
from layoutopt.programmes.boarding.network import BAND_LEVELS, BOARDING_BANDS
from layoutopt.scenario import BoardingSection

UPPER_LEVELS = ("primary", "junior", "nine_year", "complete_secondary")


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
    """One row per site: site_id, school_id, part (young, upper, bed), status, capacity,
    close_saving and modules."""
    section = county.section
    demand = county.demand
    young = demand["band"] == "young"
    own = {
        "young": demand[young].groupby("school")["pupils"].sum(),
        "upper": demand[~young].groupby("school")["pupils"].sum(),
    }
    rows = []
    for s in county.schools.itertuples(index=False):
        closable = plan and bool(s.small)
        young_pupils = float(own["young"].get(s.school_id, 0.0))
        upper_pupils = float(own["upper"].get(s.school_id, 0.0))
        if s.level in BAND_LEVELS["young"]:
            rows.append(_day(s, "young", closable, young_pupils, section))
        if s.level in UPPER_LEVELS:
            rows.append(_day(s, "upper", closable, upper_pupils, section))
        if s.level in ("primary", "junior", "nine_year") and (s.boarding_beds > 0 or s.bed_host):
            most = 0
            if plan and s.bed_host:
                by_pupils = int(section.max_beds_per_pupil * s.enrolment // section.module_beds)
                most = max(0, min(section.max_modules, by_pupils))
            rows.append(
                {
                    "site_id": f"bed|{s.school_id}",
                    "school_id": s.school_id,
                    "part": "bed",
                    "status": CLOSABLE
                    if closable
                    else (MUST_KEEP if s.boarding_beds else CANDIDATE),
                    "capacity": float(s.boarding_beds),
                    "close_saving": 0.0,
                    "module_capacity": float(section.module_beds),
                    "module_cost": section.bed_weight_min * section.module_beds,
                    "max_modules": most,
                }
            )
    return pd.DataFrame(rows)


def _day(s, part: str, closable: bool, pupils: float, section: BoardingSection) -> dict:
    return {
        "site_id": f"day|{part}|{s.school_id}",
        "school_id": s.school_id,
        "part": part,
        "status": CLOSABLE if closable else MUST_KEEP,
        "capacity": np.inf,
        # Its pupils' switch is priced on every arc away from it: the saving covers it, so
        # that the section closes where their extra trip is under merge_gain_min.
        "close_saving": (section.merge_gain_min + section.switch_cost_min) * pupils
        if closable
        else 0.0,
        "module_capacity": 0.0,
        "module_cost": 0.0,
        "max_modules": 0,
    }


def arc_table(county: CountyInput, demand: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """demand_id, site_id, cost, travel of every arc (see the module's text); a trip to
    another school than the pupils' own costs ``switch_cost_min`` more."""
    section = county.section
    kept = set(sites.loc[sites["status"] == MUST_KEEP, "site_id"])
    day = county.day[county.day["within"]]
    part = np.where(day["band"] == "young", "young", "upper")
    day = day.assign(site_id="day|" + part + "|" + day["place_id"])
    beds = county.board.assign(site_id="bed|" + county.board["place_id"])
    points = demand[["demand_id", "settlement", "band", "school"]]
    switch = section.switch_cost_min
    trips = _join(points, day, sites, switch)
    # Pupils keep the school they attend while it is open and in reach: another school's
    # day places are offered only where theirs may close or is beyond the threshold.
    own = trips["school"] == trips["place_id"]
    in_reach = set(trips.loc[own, "demand_id"])
    closable = set(sites.loc[sites["status"] == CLOSABLE, "school_id"])
    free = ~trips["demand_id"].isin(in_reach) | trips["school"].isin(closable)
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
    reached = set(arcs["demand_id"])
    young = (demand["band"] == "young").to_numpy()
    penalty = np.where(
        demand["left_behind"],
        section.no_bed_weight_min * (1 + section.left_behind_priority),
        section.no_bed_weight_min,
    )
    # Young pupils with a school in reach must keep one; those without any are reported.
    penalty = np.where(young & demand["demand_id"].isin(reached).to_numpy(), np.nan, penalty)
    demand = demand.assign(weight=demand["pupils"], unmet_penalty=penalty)
    site_index = pd.Index(sites["site_id"])
    implies = _implies(sites, site_index)
    return LocationProblem.from_frames(
        demand,
        sites,
        arcs,
        open_implies=implies,
        module_cap=module_cap,
    )


def _implies(sites: pd.DataFrame, index: pd.Index) -> np.ndarray:
    """(a, b): a closable upper section only with its young one; beds only with the upper."""
    pairs = []
    closable = sites[sites["status"] == CLOSABLE]
    for _, parts in closable.groupby("school_id"):
        ids = dict(zip(parts["part"], parts["site_id"], strict=True))
        if "upper" in ids and "young" in ids:
            pairs.append((index.get_loc(ids["upper"]), index.get_loc(ids["young"])))
        if "bed" in ids and "upper" in ids:
            pairs.append((index.get_loc(ids["bed"]), index.get_loc(ids["upper"])))
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def beds_missing(today: LocationSolution | None) -> float:
    """Far pupils without a bed in today's network at the horizon (young ones excluded)."""
    if today is None:
        return 0.0
    unmet = today.unmet
    upper = ~unmet["demand_id"].str.startswith("young|")
    return float(unmet.loc[upper, "weight"].sum())  # the weight left unserved
