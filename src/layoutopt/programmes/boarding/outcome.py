"""What a county's boarding solves mean: change rows, school and section rows, named flows
and counts.

Three kinds of figure are kept apart: the register (the data set's pupils, beds and
boarders), the horizon placed in today's network (``today``: every school kept, no new
bed or classroom) and the plan's result (``after``). Pupils are counted in whole numbers
section by section (a school's primary section takes grades 1-6, its junior section 7-9),
and every move of pupils between schools is a named flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

from layoutopt.decisions import CLOSING
from layoutopt.engine import LocationSolution
from layoutopt.programmes.base import CommonAction
from layoutopt.programmes.boarding.county import PARTS, CountyInput
from layoutopt.programmes.boarding.network import BOARDING_BANDS, STAGE
from layoutopt.programmes.common import (
    change_row,
    exchange_rows,
    expansion_shortfalls,
    flow_words,
    pairs_row,
    section_flows,
)
from layoutopt.programmes.flows import NO_SEAT, WholeFlows, moves_with_minutes, whole_flows
from layoutopt.programmes.flows import pair_flows as pairs_of
from layoutopt.results import SECTION_ROW_COLUMNS
from layoutopt.scenario import BoardingSection

SECTION_BANDS = {"primary": ("young", "primary"), "junior": ("junior",)}


class Action(StrEnum):
    ADD_DORMITORY = "add_dormitory"
    ADD_CLASSROOMS = "add_classrooms"
    MERGE_INTO = "merge_into"
    KEEP_SMALL_RURAL = "keep_small_rural"


@dataclass
class Solved:
    """One solve read back: loads by site and band, and who is left without."""

    # demand_id, site_id, pupils, travel, band, settlement, left_behind, and the site's
    # kind ("day" or "bed") and school ("at"), split once (string methods are slow here)
    flows: pd.DataFrame
    unmet: pd.DataFrame  # demand_id, pupils, band, settlement, left_behind
    is_open: pd.Series  # by site_id
    modules: pd.Series  # by site_id


@dataclass
class CountyResult:
    """A county's outcome: change rows, its planned schools (one row each, for the map),
    its sections and named flows for the ledger, its counts and region figures."""

    rows: list[dict]
    schools: pd.DataFrame
    sections: pd.DataFrame
    flows: pd.DataFrame
    counts: dict[str, float]
    accounts: list[dict] = field(default_factory=list)


def read(solution: LocationSolution, sites: pd.DataFrame, demand: pd.DataFrame) -> Solved:
    points = demand.set_index("demand_id")[["band", "settlement", "left_behind"]]
    flows = solution.assignment.assign(pupils=lambda f: f["weight"])  # the weight carried
    flows = flows[flows["pupils"] > 1e-9].join(points, on="demand_id")
    unmet = solution.unmet.assign(pupils=lambda f: f["weight"])  # the weight carried
    unmet = unmet[unmet["pupils"] > 1e-9].join(points, on="demand_id")
    ids = sites["site_id"].to_numpy()
    is_open = pd.Series(np.asarray(solution.is_open, bool), index=ids)
    modules = pd.Series(np.asarray(solution.modules, int), index=ids)
    parts = [site.split("|") for site in flows["site_id"].tolist()]
    flows = flows.assign(kind=[p[0] for p in parts], at=[p[-1] for p in parts])
    columns = ["demand_id", "site_id", "pupils", "travel", "band", "settlement", "left_behind"]
    return Solved(
        flows[[*columns, "kind", "at"]],
        unmet[["demand_id", "pupils", "band", "settlement", "left_behind"]],
        is_open,
        modules,
    )


def boarders(solved: Solved) -> pd.DataFrame:
    return solved.flows[solved.flows["kind"] == "bed"]


def county_outcome(
    county: CountyInput, today: LocationSolution, plan: LocationSolution
) -> CountyResult:
    demand = county.demand
    now = read(today, county.tables[False][0], demand)
    sites, arcs = county.tables[True]
    after = read(plan, sites, demand)
    names = county.pupils.set_index("demand_id")["name"]
    school_names = county.schools.set_index("school_id")["name"]
    whole = {stage: section_whole(county, now, after, stage) for stage in SECTION_BANDS}
    pairs = pd.concat([w.pairs for w in whole.values()], ignore_index=True)
    unplaced = _unplaced(after, whole)
    rows = (
        _dormitory_rows(county, after)
        + _classroom_rows(county, after, sites, whole, school_names)
        + _merge_rows(county, after, pairs, school_names)
        + _kept_rows(county, after, arcs, names)
    )
    rows += exchange_rows(pairs, {r["school_id"] for r in rows}, school_names, "pupils")
    rows += _shortfall_rows(county, unplaced, arcs, sites, names)
    rows += _expansions_not_held(county, after)
    sections = section_rows(county, after, sites, whole)
    schools = school_rows(county, now, after, sections)
    counts = county_counts(county, now, after, schools, rows, unplaced)
    flows = pd.concat(
        [section_flows(w.pairs, stage, county.region_id) for stage, w in whole.items()],
        ignore_index=True,
    )
    accounts = [
        {
            "region_id": county.region_id,
            "section": stage,
            "students_horizon": float(w.today.sum()),
            "unplaced_horizon_today": float(w.today.get(NO_SEAT, 0)),
            "unplaced_after": float(w.after.get(NO_SEAT, 0)),
            "far_without_bed_after": float(
                unplaced[(unplaced["stage"] == stage) & (unplaced["far"])]["whole"].sum()
            ),
        }
        for stage, w in whole.items()
    ]
    return CountyResult(rows, schools, sections, flows, counts, accounts)


# Whole pupils and named flows, section by section ----------------------------------------


def section_whole(county: CountyInput, now: Solved, after: Solved, stage: str) -> WholeFlows:
    """A section's pupils by school today and after the plan, and the flows between
    schools, in whole pupils; a flow's ``beds_needed`` are those who board after it."""
    bands = SECTION_BANDS[stage]
    today, plan = (_site_flows(s, bands) for s in (now, after))
    arcs = county.tables[True][1]
    travel = arcs.rename(columns={"site_id": "place_id", "travel": "minutes"})
    moved = moves_with_minutes(today, plan, travel)
    band = county.demand.set_index("demand_id")["band"]
    moved["band"] = band.reindex(moved["demand_id"]).to_numpy()
    moved["to_bed"] = moved["to_id"].str.startswith("bed|")
    for end in ("from_id", "to_id"):
        moved[end] = moved[end].str.split("|").str[-1].fillna(NO_SEAT)
    # A pupil who boards at the school where they went by day does not move.
    moved = moved[moved["from_id"] != moved["to_id"]]
    return whole_flows(_school_loads(today), _school_loads(plan), pairs_of(moved, bed="to_bed"))


def _site_flows(solved: Solved, bands: tuple[str, ...]) -> pd.DataFrame:
    """demand_id, place_id (the site, or NO_SEAT), students, minutes of some bands."""
    seated = solved.flows[solved.flows["band"].isin(bands)]
    unmet = solved.unmet[solved.unmet["band"].isin(bands)]
    frames = [
        pd.DataFrame(
            {
                "demand_id": seated["demand_id"],
                "place_id": seated["site_id"],
                "students": seated["pupils"],
                "minutes": seated["travel"],
            }
        ),
        pd.DataFrame(
            {
                "demand_id": unmet["demand_id"],
                "place_id": NO_SEAT,
                "students": unmet["pupils"],
                "minutes": np.nan,
            }
        ),
    ]
    return pd.concat([f for f in frames if len(f)] or [frames[0]], ignore_index=True)


def _school_loads(flows: pd.DataFrame) -> pd.Series:
    school = flows["place_id"].str.split("|").str[-1]
    return flows.groupby(school.to_numpy())["students"].sum()


def _unplaced(after: Solved, whole: dict[str, WholeFlows]) -> pd.DataFrame:
    """Pupils left without a place after the plan, by settlement and cause (young: no
    school in reach; far: no bed), in whole pupils adding up to each section's."""
    unmet = after.unmet.assign(
        stage=after.unmet["band"].map(STAGE), far=after.unmet["band"].isin(BOARDING_BANDS)
    )
    groups = unmet.groupby(["stage", "far", "settlement"], as_index=False)["pupils"].sum()
    parts = []
    for stage, mine in groups.groupby("stage"):
        total = int(whole[stage].after.get(NO_SEAT, 0))
        parts.append(mine.assign(whole=apportion(mine["pupils"].to_numpy(float), total)))
    columns = ["stage", "far", "settlement", "pupils", "whole"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def apportion(values: np.ndarray, total: int) -> np.ndarray:
    """Whole numbers adding up to ``total``, each its value rounded down or up (largest
    remainders first; ``total`` between the sum of floors and of ceilings)."""
    floors = np.floor(values + 1e-9)
    extra = int(total - floors.sum())
    order = np.argsort(-(values - floors), kind="stable")
    floors[order[: max(extra, 0)]] += 1
    return floors.astype(np.int64)


# Change rows ------------------------------------------------------------------------------


def _expansions_not_held(county: CountyInput, after: Solved) -> list[dict]:
    """A shortfall row for each school the review decided to expand that adds no beds: it
    may not host boarders (bed_host), or its pupils allow no more beds."""
    grown = {str(s).split("|", 1)[1] for s in after.modules[after.modules > 0].index}
    cause = (
        "dormitory beds: it is not a school that may host boarders, or it has "
        "max_beds_per_pupil beds a pupil already (fix: take the decision out, or decide on "
        "a bed host)"
    )
    return expansion_shortfalls(county.decided, grown, cause)


def _dormitory_rows(county: CountyInput, after: Solved) -> list[dict]:
    section = county.section
    board = boarders(after)
    rows = []
    for site_id, modules in after.modules[after.modules > 0].items():
        if not str(site_id).startswith("bed|"):
            continue
        here = board[board["site_id"] == site_id]
        pupils = float(here["pupils"].sum())
        lb = float(here.loc[here["left_behind"], "pupils"].sum())
        beds = modules * section.module_beds
        area = modules * section.module_area_m2
        school = str(site_id).split("|", 1)[1]
        rows.append(
            change_row(
                Action.ADD_DORMITORY,
                school,
                students=pupils,
                beds=beds,
                minutes=(np.nan, _mean(here, "travel")),
                reason=f"{modules} dormitory module(s): {beds} beds, {area:,.0f} m² "
                f"({area / beds:.1f} m² a bed); after the plan {pupils:,.0f} far pupils board "
                f"here, {lb:,.0f} of them left-behind ({_share(lb, pupils)}), from "
                f"{here['settlement'].nunique()} settlement(s) (travel_min_after: their mean "
                "trip home, one way)",
            )
        )
    return rows


def _classroom_rows(county, after: Solved, sites, whole, names) -> list[dict]:
    """A school adding classrooms: to seat its own pupils at the horizon, or those it takes
    in, within its section's places."""
    rows = []
    table = sites.set_index("site_id")
    added = after.modules[after.modules.index.str.startswith("day|") & (after.modules > 0)]
    by_school: dict[tuple[str, str], int] = {}
    for site_id, classrooms in added.items():
        key = (table.at[site_id, "school_id"], table.at[site_id, "section"])
        by_school[key] = by_school.get(key, 0) + int(classrooms)
    for (school, stage), classrooms in sorted(by_school.items()):
        w = whole[stage]
        pupils = int(w.after.get(school, 0))
        mine = table[(table["school_id"] == school) & (table["section"] == stage)]
        places = float(mine["places"].dropna().iloc[0]) if mine["places"].notna().any() else 0.0
        words = flow_words(school, w.pairs, names, "pupils")
        reason = (
            f"adds {classrooms} classroom(s) of {county.class_size[stage]} to its {stage} "
            f"section: {pupils:,} pupils expected at the horizon after the plan for "
            f"{places:,.0f} places"
        )
        reason += f"; {words}" if words else "; its own pupils at the horizon"
        incoming = w.pairs[w.pairs["to_id"] == school]
        rows.append(pairs_row(Action.ADD_CLASSROOMS, school, incoming, reason))
    return rows


def _merge_rows(county: CountyInput, after: Solved, pairs: pd.DataFrame, names) -> list[dict]:
    """A small school whose sections close, or one the review closed: where its pupils
    go, each receiver named."""
    rows = []
    young_grades = county.section.young_grades
    decided = county.decided
    closed_by_review = decided.index[decided["decision"].isin(CLOSING)]
    schools = county.schools
    mergeable = schools["small"].astype(bool) | schools["school_id"].isin(closed_by_review)
    for s in schools[mergeable].itertuples(index=False):
        ids = [f"day|{p}|{s.school_id}" for p in PARTS]
        parts = [sid for sid in ids if sid in after.is_open]
        closed = [sid for sid in parts if not after.is_open[sid]]
        if not closed:
            continue
        out = pairs[pairs["from_id"] == s.school_id]
        by_school = out.groupby("to_id")["students"].sum()
        by_school = by_school[by_school.index != NO_SEAT]
        by_school = by_school.sort_index().sort_values(ascending=False, kind="stable")
        target = str(by_school.index[0]) if len(by_school) else ""
        board = int(out["beds_needed"].sum())
        day = int(out["students"].sum()) - board
        if len(closed) == len(parts):
            grades = "all its grades"
        else:
            grades = (
                f"grades {young_grades + 1}-9 (grades 1-{young_grades} stay here as a "
                "teaching point)"
            )
        words = flow_words(s.school_id, pairs, names, "pupils")
        rows.append(
            pairs_row(
                Action.MERGE_INTO,
                s.school_id,
                out,
                f"{'small rural ' if s.small else ''}{s.level} ({s.enrolment:,.0f} pupils "
                "on the register), "
                f"{grades}: at the horizon {day:,} pupils go by day within the threshold "
                f"and {board:,} board; {words}",
                target=target,
            )
        )
    return rows


def _kept_rows(
    county: CountyInput, after: Solved, arcs: pd.DataFrame, names: pd.Series
) -> list[dict]:
    """A small school or teaching point kept for young pupils who have no other school in
    reach (the rule that binds), and a school kept as a teaching point once its upper
    grades merge."""
    section = county.section
    open_sites = set(after.is_open[after.is_open].index)
    young_flows = after.flows[after.flows["band"] == "young"]
    small = set(county.schools.loc[county.schools["small"], "school_id"])
    open_young = {s for s in open_sites if s.startswith("day|young|")}
    young_arcs = arcs[arcs["site_id"].isin(open_young)]
    rows = []
    for school in sorted(small):
        site_id = f"day|young|{school}"
        if site_id not in open_sites:
            continue
        here = young_flows[young_flows["site_id"] == site_id]
        others = young_arcs[
            young_arcs["demand_id"].isin(here["demand_id"]) & (young_arcs["site_id"] != site_id)
        ]
        alone = here[~here["demand_id"].isin(others["demand_id"])]
        upper = [f"day|{p}|{school}" for p in ("upper", "junior")]
        merged = any(u in after.is_open.index and not after.is_open[u] for u in upper)
        if alone.empty and not merged:
            continue
        threshold = _threshold(section, "young")
        places = ", ".join(sorted(names.reindex(alone["settlement"]).fillna("").unique()))
        why = (
            f"{alone['pupils'].sum():,.0f} pupils of grades 1-{section.young_grades} of "
            f"{places} have no other school within {threshold}"
            if len(alone)
            else f"its {here['pupils'].sum():,.0f} pupils of grades 1-{section.young_grades} "
            "stay nearer home than any other school"
        )
        what = "kept as a teaching point for the young grades" if merged else "kept"
        rows.append(
            change_row(
                Action.KEEP_SMALL_RURAL,
                school,
                students=float(here["pupils"].sum()),
                minutes=(np.nan, _mean(here, "travel")),
                reason=f"{what}: {why}",
            )
        )
    return rows


def _shortfall_rows(
    county: CountyInput,
    unplaced: pd.DataFrame,
    arcs: pd.DataFrame,
    sites: pd.DataFrame,
    names: pd.Series,
) -> list[dict]:
    """One row per settlement and cause: far pupils without a bed, young pupils with no
    school in reach (whole pupils, adding up to the county's pupils without a place)."""
    section = county.section
    rows = []
    demand = county.demand
    with_beds = set(arcs.loc[arcs["site_id"].str.startswith("bed|"), "demand_id"])
    with_day = set(arcs.loc[arcs["site_id"].str.startswith("day|"), "demand_id"])
    growing = set(sites.loc[sites["max_modules"] > 0, "site_id"])
    may_grow = set(arcs.loc[arcs["site_id"].isin(growing), "demand_id"])
    by = unplaced.groupby(["settlement", "far"], as_index=False)["whole"].sum()
    for r in by[by["whole"] > 0].sort_values(["settlement", "far"]).itertuples():
        name = f"{names.get(r.settlement, '')}（{r.settlement}）"
        points = demand[demand["settlement"] == r.settlement]
        if not r.far:
            young = points[points["band"] == "young"]["demand_id"]
            cause = (
                "the schools in reach are full and none may add a classroom (a private "
                "school adds none)"
                if young.isin(with_day).any()
                else f"no school within {_threshold(section, 'young')}, even in today's "
                "network (fix: open a teaching point there, or run a school bus)"
            )
            rows.append(
                change_row(
                    CommonAction.SHORTFALL,
                    unseated_students=float(r.whole),
                    reason=f"rule young_pupils_in_reach: {r.whole:,} pupils of grades "
                    f"1-{section.young_grades} of {name} have no place: {cause}",
                )
            )
            continue
        far = points[points["band"].isin(BOARDING_BANDS)]["demand_id"]
        if not far.isin(with_beds).any():
            cause = (
                f"no school that may host boarders within {section.max_board_min:g} min "
                "(fix: add its kind to bed_host_kinds, or raise max_board_min)"
            )
        elif not far.isin(may_grow).any():
            cause = (
                f"the beds in reach ({section.max_board_min:g} min) are full and none of "
                "those schools may add dormitories (fix: add their settlement kind to "
                "bed_host_kinds)"
            )
        elif section.bed_cap_share is not None:
            cause = f"the bed cap (bed_cap_share = {section.bed_cap_share:g}) is reached"
        else:
            cause = (
                "the boarding schools in reach are at their module limits (fix: raise "
                "max_modules or max_beds_per_pupil)"
            )
        rows.append(
            change_row(
                CommonAction.SHORTFALL,
                unseated_students=float(r.whole),
                reason=f"rule far_pupils_bed: {r.whole:,} far pupils of grades "
                f"{section.young_grades + 1}-9 of {name} get no bed: {cause}",
            )
        )
    return rows


# Sections and schools after the plan ------------------------------------------------------


def section_rows(
    county: CountyInput, after: Solved, sites: pd.DataFrame, whole: dict[str, WholeFlows]
) -> pd.DataFrame:
    """Every primary and junior section of the county's schools as the ledger takes them:
    open, classes and places (with the classrooms added), pupils in whole numbers, beds."""
    section = county.section
    table = sites.assign(
        open=after.is_open.reindex(sites["site_id"]).to_numpy(bool),
        modules=after.modules.reindex(sites["site_id"]).fillna(0).to_numpy(int),
    )
    day = table[table["part"] != "bed"].copy()
    size = day["section"].map(county.class_size).to_numpy(float)
    day["added"] = day["modules"] * size
    by = day.groupby(["school_id", "section"])
    figures = pd.DataFrame(
        {
            "open": by["open"].any(),
            "places": by["places"].first(),
            "added": by["added"].sum(),
            "classrooms": by["modules"].sum(),
        }
    ).reset_index()
    # A section's places after the plan: its own and the classrooms added, while open (a
    # school kept for its young grades keeps its rooms).
    places = figures["places"].to_numpy(float) + figures["added"].to_numpy(float)
    figures["places_after"] = np.where(figures["open"], places, 0.0)
    beds = table[table["part"] == "bed"].set_index("school_id")
    board = boarders(after).groupby("at")["pupils"].sum()
    schools = county.schools.set_index("school_id")
    rows = []
    for f in figures.itertuples(index=False):
        s = schools.loc[f.school_id]
        stage = f.section
        upper_open = _part_open(table, f.school_id, "upper")
        classes = int(s[f"{stage}_classes"])
        if stage == "primary" and f.open and not upper_open and s["level"] != "teaching_point":
            classes = int(_point_classes(s, section))  # kept for its young grades only
        has_beds = f.school_id in beds.index and beds.at[f.school_id, "section"] == stage
        bed_open = has_beds and bool(beds.at[f.school_id, "open"])
        added = int(beds.at[f.school_id, "modules"]) * section.module_beds if bed_open else 0
        register_beds = int(s["boarding_beds"]) if has_beds else 0
        rows.append(
            {
                "school_id": f.school_id,
                "section": stage,
                "level": s["level"],
                "ownership": s["ownership"],
                "region_id": county.region_id,
                "name": s["name"],
                "new": False,
                "site_id": "",
                "open": bool(f.open),
                "size_after": classes + int(f.classrooms) if f.open else 0,
                "capacity_after": round(f.places_after),
                "students_horizon_today": float(whole[stage].today.get(f.school_id, 0)),
                "students_after": float(whole[stage].after.get(f.school_id, 0)),
                "beds_added": added,
                "beds_after": register_beds + added if bed_open else 0,
                "bed_need_after": float(board.get(f.school_id, 0.0)) if has_beds else 0.0,
                "geometry": None,
            }
        )
    return pd.DataFrame(rows, columns=SECTION_ROW_COLUMNS)


def _part_open(table: pd.DataFrame, school: str, part: str) -> bool:
    mine = table[(table["school_id"] == school) & (table["part"] == part)]
    return bool(mine["open"].any())


def school_rows(
    county: CountyInput, now: Solved, after: Solved, sections: pd.DataFrame
) -> pd.DataFrame:
    """The county's planned schools, one row each (their sections added up), for the map
    and the workbook: register, horizon in today's network and after the plan; boarders
    and the pupils of each stage after the plan."""
    schools = county.schools[county.schools["planned"]].set_index("school_id")
    ids = schools.index
    by = sections.groupby("school_id")
    total = by[["students_horizon_today", "students_after", "size_after", "capacity_after"]].sum()
    total = total.reindex(ids).fillna(0)
    beds = by[["beds_after"]].sum().reindex(ids).fillna(0)
    is_open = by["open"].any().reindex(ids).fillna(False).astype(bool)
    stage = (
        sections.pivot_table(
            index="school_id", columns="section", values="students_after", aggfunc="sum"
        )
        .reindex(index=ids, columns=["primary", "junior"])
        .fillna(0)
    )
    board = boarders(after)
    on_beds = board.groupby("at")["pupils"].sum().reindex(ids).fillna(0.0)
    lb = board[board["left_behind"]]
    lb_beds = lb.groupby("at")["pupils"].sum().reindex(ids).fillna(0.0)
    young_open = _site_flag(after.is_open, "day|young|", ids)
    upper_open = _site_flag(after.is_open, "day|upper|", ids) | _site_flag(
        after.is_open, "day|junior|", ids
    )
    point = (schools["level"] == "teaching_point") | (young_open & ~upper_open)
    return pd.DataFrame(
        {
            "school_id": ids,
            "level": schools["level"].to_numpy(),
            "region_id": schools["region_id"].to_numpy(),
            "open": is_open.to_numpy(),
            "students_register": schools["enrolment"].astype(int).to_numpy(),
            "students_horizon_today": total["students_horizon_today"].astype(int).to_numpy(),
            "students_after": total["students_after"].astype(int).to_numpy(),
            "size_unit": "classes",
            "size_register": schools["classes"].astype(int).to_numpy(),
            "size_after": total["size_after"].astype(int).to_numpy(),
            "capacity_register": schools["capacity"].astype(int).to_numpy(),
            "capacity_after": total["capacity_after"].astype(int).to_numpy(),
            "beds_register": schools["boarding_beds"].astype(int).to_numpy(),
            "beds_after": beds["beds_after"].astype(int).to_numpy(),
            "name": schools["name"].to_numpy(),
            "ownership": schools["ownership"].to_numpy(),
            "quality_tier": schools["quality_tier"].to_numpy(),
            "boarders_register": schools["boarders"].astype(int).to_numpy(),
            "boarders_after": on_beds.round().astype(int).to_numpy(),
            "left_behind_boarders_after": lb_beds.round().astype(int).to_numpy(),
            "primary_after": stage["primary"].astype(int).to_numpy(),
            "junior_after": stage["junior"].astype(int).to_numpy(),
            "teaching_point_after": (point & is_open).to_numpy(),
            "geometry": schools.geometry.to_numpy(),
        }
    )


def _site_flag(is_open: pd.Series, prefix: str, ids: pd.Index) -> pd.Series:
    """Whether each school's site of this kind is open (False where it has none)."""
    mine = is_open[is_open.index.str.startswith(prefix)]
    return mine.rename(lambda s: s.removeprefix(prefix)).reindex(ids).fillna(False).astype(bool)


def _point_classes(school: pd.Series, section: BoardingSection) -> int:
    """Classes of a school kept for its young grades only: one per
    ``teaching_point_class_size`` pupils (an incomplete primary class), at least one."""
    young = float(school["primary_enrolment"]) * section.young_grades / 6
    return max(1, int(np.ceil(young / section.teaching_point_class_size)))


def county_counts(
    county: CountyInput,
    now: Solved,
    after: Solved,
    schools: pd.DataFrame,
    rows: list[dict],
    unplaced: pd.DataFrame,
) -> dict[str, float]:
    section = county.section
    counts: dict[str, float] = {}
    for label, solved in (("today", now), ("after", after)):
        board = boarders(solved)
        unmet = solved.unmet[solved.unmet["band"].isin(BOARDING_BANDS)]
        far = pd.concat([board, unmet])
        counts[f"far_{label}"] = float(far["pupils"].sum())
        counts[f"far_lb_{label}"] = float(far.loc[far["left_behind"].astype(bool), "pupils"].sum())
        counts[f"boarders_{label}"] = float(board["pupils"].sum())
        counts[f"boarders_lb_{label}"] = float(board.loc[board["left_behind"], "pupils"].sum())
        counts[f"far_no_bed_{label}"] = float(unmet["pupils"].sum())
        young = solved.unmet[solved.unmet["band"] == "young"]
        counts[f"young_no_school_{label}"] = float(young["pupils"].sum())
    # After the plan, the whole pupils the shortfall rows name.
    counts["far_no_bed_after"] = float(unplaced.loc[unplaced["far"], "whole"].sum())
    counts["young_no_school_after"] = float(unplaced.loc[~unplaced["far"], "whole"].sum())
    bed_modules = after.modules[after.modules.index.str.startswith("bed|")]
    modules = int(bed_modules.sum())
    classrooms = int(after.modules[after.modules.index.str.startswith("day|")].sum())
    beds_added = modules * section.module_beds
    actions = [r["action"] for r in rows]
    counts |= {
        "pupils": float(county.pupils[["young", "primary", "junior"]].to_numpy().sum()),
        "beds_register": float(schools["beds_register"].sum()) if len(schools) else 0.0,
        "beds_after": float(schools["beds_after"].sum()) if len(schools) else 0.0,
        "boarders_register": float(schools["boarders_register"].sum()) if len(schools) else 0.0,
        "beds_added": float(beds_added),
        "modules_added": float(modules),
        "classrooms_added": float(classrooms),
        "area_added_m2": modules * section.module_area_m2,
        "dormitory_projects": float(actions.count(Action.ADD_DORMITORY)),
        "classroom_projects": float(actions.count(Action.ADD_CLASSROOMS)),
        "capital_yuan_beds": beds_added * section.bed_capital_yuan,
        "capital_yuan_classrooms": classrooms * section.classroom_capital_yuan,
        "merges": float(actions.count(Action.MERGE_INTO)),
        "kept_small_rural": float(actions.count(Action.KEEP_SMALL_RURAL)),
        "teaching_points_after": float(schools["teaching_point_after"].sum())
        if len(schools)
        else 0.0,
        "schools_closed": float((~schools["open"].astype(bool)).sum()) if len(schools) else 0.0,
    }
    return counts


def _threshold(section, band: str) -> str:
    stage = STAGE[band]
    if section.day_mode == "bus":
        return f"{section.max_minutes[stage]:g} min by bus"
    return f"{section.max_km[stage]:g} km on foot"


def _mean(flows: pd.DataFrame, column: str) -> float:
    weight = flows["pupils"].to_numpy(float)
    if not len(flows) or weight.sum() <= 0:
        return float("nan")
    return float(np.average(flows[column].to_numpy(float), weights=weight))


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole > 0 else "n/a"
