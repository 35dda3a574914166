"""What a county's boarding solves mean: change rows, school rows and counts.

Three kinds of figure are kept apart: the register (the data set's pupils, beds and
boarders), the horizon placed in today's network (``today``: every school kept, no new
bed) and the plan's result (``after``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from layoutopt.engine import LocationSolution
from layoutopt.programmes.base import CommonAction
from layoutopt.programmes.boarding.county import CountyInput
from layoutopt.programmes.boarding.network import BOARDING_BANDS, STAGE
from layoutopt.programmes.common import change_row
from layoutopt.scenario import BoardingSection


class Action(StrEnum):
    ADD_DORMITORY = "add_dormitory"
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
) -> tuple[list[dict], pd.DataFrame, dict[str, float]]:
    demand = county.demand
    now = read(today, county.tables[False][0], demand)
    sites, arcs = county.tables[True]
    after = read(plan, sites, demand)
    names = county.pupils.set_index("demand_id")["name"]
    rows = (
        _dormitory_rows(county, after)
        + _merge_rows(county, now, after)
        + _kept_rows(county, after, arcs, names)
        + _shortfall_rows(county, after, arcs, sites, names)
    )
    schools = school_rows(county, now, after)
    return rows, schools, county_counts(county, now, after, schools, rows)


def _dormitory_rows(county: CountyInput, after: Solved) -> list[dict]:
    section = county.section
    board = boarders(after)
    rows = []
    for site_id, modules in after.modules[after.modules > 0].items():
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


def _merge_rows(county: CountyInput, now: Solved, after: Solved) -> list[dict]:
    """A small school whose sections close: where today's pupils of those sections go."""
    rows = []
    young_grades = county.section.young_grades
    for s in county.schools[county.schools["small"]].itertuples(index=False):
        parts = {p: f"day|{p}|{s.school_id}" for p in ("young", "upper")}
        closed = [sid for sid in parts.values() if sid in after.is_open and not after.is_open[sid]]
        if not closed:
            continue
        points = now.flows.loc[now.flows["site_id"].isin(closed), "demand_id"]
        before = now.flows[now.flows["demand_id"].isin(points)]
        moved = after.flows[after.flows["demand_id"].isin(points)]
        moved = moved[moved["at"] != s.school_id]
        by_school = moved.groupby("at")["pupils"].sum().sort_values(ascending=False)
        target = str(by_school.index[0]) if len(by_school) else ""
        day = float(moved.loc[moved["kind"] == "day", "pupils"].sum())
        board = float(moved.loc[moved["kind"] == "bed", "pupils"].sum())
        if len(closed) == sum(sid in after.is_open for sid in parts.values()):
            grades = "all its grades"
        else:
            grades = (
                f"grades {young_grades + 1}-9 (grades 1-{young_grades} stay here as a "
                "teaching point)"
            )
        rows.append(
            change_row(
                Action.MERGE_INTO,
                s.school_id,
                target=target,
                students=day + board,
                minutes=(_mean(before, "travel"), _mean(moved, "travel")),
                reason=f"small rural {s.level} ({s.enrolment:,.0f} pupils on the register), "
                f"{grades}: at the horizon {day:,.0f} pupils go by day within the threshold "
                f"and {board:,.0f} board, at {len(by_school)} school(s), most at {target}",
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
        merged = (
            f"day|upper|{school}" in after.is_open.index
            and not after.is_open[f"day|upper|{school}"]
        )
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
    county: CountyInput, after: Solved, arcs: pd.DataFrame, sites: pd.DataFrame, names: pd.Series
) -> list[dict]:
    """One row per settlement and cause: far pupils without a bed, young pupils with no
    school in reach."""
    section = county.section
    rows = []
    unmet = after.unmet
    with_beds = set(arcs.loc[arcs["site_id"].str.startswith("bed|"), "demand_id"])
    growing = set(sites.loc[sites["max_modules"] > 0, "site_id"])
    may_grow = set(arcs.loc[arcs["site_id"].isin(growing), "demand_id"])
    for settlement, group in unmet.groupby("settlement", sort=True):
        name = f"{names.get(settlement, '')}（{settlement}）"
        young = group[group["band"] == "young"]
        if young["pupils"].sum() >= 0.5:
            rows.append(
                change_row(
                    CommonAction.SHORTFALL,
                    unseated_students=float(young["pupils"].sum()),
                    reason=f"rule young_pupils_in_reach: {young['pupils'].sum():,.0f} pupils "
                    f"of grades 1-{section.young_grades} of {name} have no school within "
                    f"{_threshold(section, 'young')}, even in today's network (fix: open a "
                    "teaching point there, or run a school bus)",
                )
            )
        far = group[group["band"].isin(BOARDING_BANDS)]
        if far["pupils"].sum() < 0.5:
            continue
        lb = float(far.loc[far["left_behind"], "pupils"].sum())
        if not far["demand_id"].isin(with_beds).any():
            cause = (
                f"no school that may host boarders within {section.max_board_min:g} min "
                "(fix: add its kind to bed_host_kinds, or raise max_board_min)"
            )
        elif not far["demand_id"].isin(may_grow).any():
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
                unseated_students=float(far["pupils"].sum()),
                reason=f"rule far_pupils_bed: {far['pupils'].sum():,.0f} far pupils of "
                f"grades {section.young_grades + 1}-9 of {name} get no bed ({lb:,.0f} "
                f"left-behind): {cause}",
            )
        )
    return rows


def school_rows(county: CountyInput, now: Solved, after: Solved) -> pd.DataFrame:
    """The county's planned schools as rows of schools_after: register, horizon in today's
    network and after the plan; pupils by stage after the plan for staffing."""
    section = county.section
    schools = county.schools[county.schools["planned"]].set_index("school_id")
    ids = schools.index
    young_open = _site_flag(after.is_open, "day|young|", ids)
    upper_open = _site_flag(after.is_open, "day|upper|", ids)
    is_open = young_open | upper_open
    modules = after.modules.rename(lambda s: s.removeprefix("bed|"))
    modules = modules[after.modules.index.str.startswith("bed|")].reindex(ids).fillna(0)
    beds_after = np.where(upper_open, schools["boarding_beds"] + modules * section.module_beds, 0)
    stage_after, stage_today = _by_stage(after.flows, ids), _by_stage(now.flows, ids)
    board = boarders(after)
    on_beds = board.groupby(_school_of(board))["pupils"].sum().reindex(ids).fillna(0.0)
    lb = board[board["left_behind"]]
    lb_beds = lb.groupby(_school_of(lb))["pupils"].sum().reindex(ids).fillna(0.0)
    point = (schools["level"] == "teaching_point") | (young_open & ~upper_open)
    classes = schools["classes"].where(
        upper_open, np.where(is_open, _point_classes(schools, section), 0)
    )
    return pd.DataFrame(
        {
            "school_id": ids,
            "level": schools["level"].to_numpy(),
            "region_id": schools["region_id"].to_numpy(),
            "open": is_open.to_numpy(),
            "students_register": schools["enrolment"].astype(int).to_numpy(),
            "students_horizon_today": stage_today.sum(axis=1).round().astype(int).to_numpy(),
            "students_after": (stage_after.sum(axis=1).round() * is_open).astype(int).to_numpy(),
            "size_unit": "classes",
            "size_register": schools["classes"].astype(int).to_numpy(),
            "size_after": classes.astype(int).to_numpy(),
            "capacity_register": schools["capacity"].astype(int).to_numpy(),
            "capacity_after": (schools["capacity"] * is_open).astype(int).to_numpy(),
            "beds_register": schools["boarding_beds"].astype(int).to_numpy(),
            "beds_after": np.asarray(beds_after, dtype=int),
            "name": schools["name"].to_numpy(),
            "ownership": schools["ownership"].to_numpy(),
            "quality_tier": schools["quality_tier"].to_numpy(),
            "boarders_register": schools["boarders"].astype(int).to_numpy(),
            "boarders_after": on_beds.round().astype(int).to_numpy(),
            "left_behind_boarders_after": lb_beds.round().astype(int).to_numpy(),
            "primary_after": (stage_after["primary"].round() * is_open).astype(int).to_numpy(),
            "junior_after": (stage_after["junior"].round() * is_open).astype(int).to_numpy(),
            "teaching_point_after": (point & is_open).to_numpy(),
            "geometry": schools.geometry.to_numpy(),
        }
    )


def _site_flag(is_open: pd.Series, prefix: str, ids: pd.Index) -> pd.Series:
    """Whether each school's site of this kind is open (False where it has none)."""
    mine = is_open[is_open.index.str.startswith(prefix)]
    return mine.rename(lambda s: s.removeprefix(prefix)).reindex(ids).fillna(False).astype(bool)


def _school_of(flows: pd.DataFrame) -> pd.Series:
    return flows["at"]


def _point_classes(schools: pd.DataFrame, section: BoardingSection) -> np.ndarray:
    """Classes of a school kept for its young grades only: one per
    ``teaching_point_class_size`` pupils (an incomplete primary class), at least one."""
    young = schools["primary_enrolment"].where(
        schools["level"] != "teaching_point", schools["enrolment"]
    )
    share = np.where(schools["level"] == "teaching_point", 1.0, section.young_grades / 6)
    size = section.teaching_point_class_size
    return np.maximum(1, np.ceil(young.to_numpy(float) * share / size)).astype(int)


def _by_stage(flows: pd.DataFrame, ids: pd.Index) -> pd.DataFrame:
    """Pupils placed at each school by stage (primary, junior)."""
    stage = flows["band"].map(STAGE)
    table = flows.groupby([_school_of(flows), stage])["pupils"].sum().unstack(fill_value=0.0)
    return table.reindex(index=ids, columns=["primary", "junior"]).fillna(0.0)


def county_counts(
    county: CountyInput,
    now: Solved,
    after: Solved,
    schools: pd.DataFrame,
    rows: list[dict],
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
    modules = int(after.modules.sum())
    beds_added = modules * section.module_beds
    actions = [r["action"] for r in rows]
    counts |= {
        "pupils": float(county.pupils[["young", "primary", "junior"]].to_numpy().sum()),
        "beds_register": float(schools["beds_register"].sum()) if len(schools) else 0.0,
        "beds_after": float(schools["beds_after"].sum()) if len(schools) else 0.0,
        "boarders_register": float(schools["boarders_register"].sum()) if len(schools) else 0.0,
        "beds_added": float(beds_added),
        "modules_added": float(modules),
        "area_added_m2": modules * section.module_area_m2,
        "dormitory_projects": float(actions.count(Action.ADD_DORMITORY)),
        "capital_yuan_beds": beds_added * section.bed_capital_yuan,
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
