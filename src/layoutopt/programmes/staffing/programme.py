"""The staffing programme's definition: posts after the plan, county flows, recruitment."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.engine import LocationSolution, SolverOptions
from layoutopt.engine.report import SolveMethod, SolveReport, SolveStatus
from layoutopt.errors import LayoutoptError
from layoutopt.programmes import base
from layoutopt.programmes.common import by_region, change_row
from layoutopt.programmes.staffing.kpis import KPI_SPECS, indicators
from layoutopt.programmes.staffing.posts import horizon_students, needed_posts
from layoutopt.programmes.staffing.redeploy import (
    CountyStaff,
    Redeployment,
    redeploy,
    school_minutes,
)
from layoutopt.results import ProgrammeResult
from layoutopt.scenario import Scenario, StaffingSection
from layoutopt.state import PlanState


class Action(StrEnum):
    MOVE_TEACHERS = "move_teachers"
    COVER_SUBJECT = "cover_subject"
    RECRUIT = "recruit"
    SURPLUS = "surplus"
    PRIVATE_GAP = "private_gap"


# code | colour | 中文 | English | meaning
ACTIONS = base.action_table(
    Action,
    """
move_teachers | #2c7fb8 | 交流调配 | move teachers | public teachers move to a public school of their county, of a level their band allows, that lacks them
cover_subject | #80cdc1 | 转岗任教 | cover another subject | teachers teach another subject at their own school (not a move)
recruit | #d7301f | 补充招聘 | recruit | posts of public schools no move can fill: the county recruits them, by subject
surplus | #fdae61 | 富余 | surplus | teachers beyond their school's posts that no shortage within reach and band needs
private_gap | #bf812d | 民办缺编 | private school's gap | a private school's posts its own teachers do not fill: reported; the county neither sends nor recruits teachers for it
""",
)
SCHOOL_COLUMNS = ("posts_needed", "moved_in", "moved_out", "recruited", "surplus_after")
STAFFING_COLUMNS = [
    "school_id",
    "school_name",
    "region_id",
    "level",
    "ownership",
    "open",
    "students_after",
    "subject",
    "posts_needed",
    "teachers_register",
    "moved_out",
    "moved_in",
    "cover_out",
    "cover_in",
    "recruited",
    "teachers_after",
    "surplus_after",
    "gap_after",
]


@dataclass
class StaffingInputs:
    section: StaffingSection
    schools: gpd.GeoDataFrame  # every school open after the plan, or with teachers today
    holdings: pd.DataFrame  # school_id, subject, teachers (today), posts (after)
    info: pd.DataFrame  # per open school: students_horizon, mental_health, nurse_posts, ...
    students_horizon_today: pd.Series  # by school_id: the register grown, today's network
    receivers: dict[str, str]  # closing school -> receiver, from the earlier programmes
    minutes_per_km: float
    students_after: pd.Series  # by school_id: its open sections' students after the plan


@dataclass(frozen=True)
class County:
    """What the runner hands a worker for one county."""

    staff: CountyStaff  # its public schools' teachers and posts: the redeployment's
    section: StaffingSection
    schools: pd.DataFrame  # its schools, with name, level, ownership, geometry, figures
    holdings: pd.DataFrame  # every school's teachers and posts, private ones too


@dataclass
class FlowSolve:
    """A county's redeployment and its report (in the place of an engine solve)."""

    report: SolveReport
    redeployment: Redeployment


class Staffing(base.Programme):
    """师资配置: posts by the norms, 县管校聘 redeployment, recruitment (9.(3))."""

    name = "staffing"
    title = "师资配置 Teacher staffing"
    actions = ACTIONS
    kpis = KPI_SPECS
    school_columns = SCHOOL_COLUMNS
    plans_schools = False
    map_actions = ("move_teachers",)  # every school has posts: the map shows the moves

    def prepare(self, state: PlanState, scenario: Scenario) -> StaffingInputs:
        return build_inputs(state, scenario)

    def split(self, inputs: StaffingInputs) -> dict[str, County]:
        counties = inputs.schools["region_id"].astype(str)
        ids = sorted(set(counties))
        county_of = pd.Series(counties.to_numpy(), index=inputs.schools["school_id"])
        # Each table cut in one pass, not once a county.
        schools = by_region(inputs.schools, counties, ids)
        holdings = by_region(
            inputs.holdings, county_of.reindex(inputs.holdings["school_id"]).to_numpy(), ids
        )
        return {r: county_input(inputs, r, schools[r], holdings[r]) for r in ids}

    def solve(
        self,
        region_id: str,
        region: County,
        options: SolverOptions,
        price: float | None,
        today: LocationSolution | None,
    ) -> base.RegionSolves:
        started = time.perf_counter()
        result = redeploy(region.staff, region.section)
        if result.status != "OPTIMAL":
            # The network is feasible by construction (recruits fill any shortage, and any
            # surplus may stay), so this is a fault of the program, not of the data.
            raise LayoutoptError(
                f"staffing flow of county {region_id}: OR-Tools' min-cost flow returned "
                f"{result.status}, not OPTIMAL. Every county's network has a solution; "
                "please report this with the run's manifest."
            )
        # An exact combinatorial algorithm: its optimum is proven, so the bound is the cost
        # and the gap 0 (the tests hold it to networkx's network simplex and HiGHS's LP).
        report = SolveReport(
            name=f"staffing-flow:{region_id}",
            status=SolveStatus.OPTIMAL,
            objective=result.cost,
            bound=result.cost,
            gap=0.0,
            seconds=round(time.perf_counter() - started, 3),
            backend="ortools",
            variables=result.arcs,
            constraints=result.nodes,
            method=SolveMethod.MIN_COST_FLOW,
        )
        return base.RegionSolves(None, FlowSolve(report, result))

    def extract(self, region: County, solves: base.RegionSolves) -> base.RegionOutcome:
        result: Redeployment = solves.plan.redeployment
        table = staffing_table(region, result)
        schools = county_schools_after(region, table)
        return base.RegionOutcome(
            region_id=region.staff.region_id,
            changes=change_rows(region, result, table),
            schools=schools,
            counts=county_counts(region, result, table),
            detail={
                "staffing": table,
                "flow": {
                    "cost": result.cost,
                    "nodes": result.nodes,
                    "arcs": result.arcs,
                    "flow_seconds": result.flow_seconds,
                },
            },
        )

    def indicators(
        self, inputs: StaffingInputs, scope: str, totals: pd.Series, outcomes: list
    ) -> list[base.Kpi]:
        return indicators(scope, totals, outcomes, inputs.section)

    def finish(self, inputs: StaffingInputs, outcomes: list[base.RegionOutcome]) -> base.Finish:
        flows = pd.DataFrame([o.detail["flow"] for o in outcomes])
        table = pd.concat([o.detail["staffing"] for o in outcomes], ignore_index=True)
        counts = pd.DataFrame([o.counts for o in outcomes], index=[o.region_id for o in outcomes])
        return base.Finish(
            summary={
                "travel_mode": "straight line × travel.circuity at travel.speed_kmh['town']",
                "minutes_per_km": round(inputs.minutes_per_km, 3),
                "flow_cost_total": float(flows["cost"].sum()),
                "flow_solver": "OR-Tools SimpleMinCostFlow (exact; integral flows)",
                "largest_network": {
                    "nodes": int(flows["nodes"].max()),
                    "arcs": int(flows["arcs"].max()),
                },
                "flow_seconds_total": round(float(flows["flow_seconds"].sum()), 2),
            },
            region_layers={
                "教师缺口 posts unfilled before redeployment": counts["gap_before"],
                "需招聘 posts to recruit after redeployment": counts["gap_after"],
            },
            tables={"staffing.csv": table.sort_values(["school_id", "subject"], ignore_index=True)},
        )

    def hand_on(self, state: PlanState, result: ProgrammeResult) -> PlanState:
        # It plans no school: it hands on each school's teachers after the plan only.
        result.teachers = result.tables["staffing.csv"]
        return state.record(result)


def build_inputs(state: PlanState, scenario: Scenario) -> StaffingInputs:
    dataset = state.dataset
    if dataset.teachers is None:
        raise LayoutoptError(
            f"the staffing programme needs the teachers table (teachers by school and subject) "
            f"in {dataset.folder} (fix: add teachers.gpkg, teachers.parquet or teachers.csv, "
            "or set staffing.enabled = false)"
        )
    today = dataset.teachers[["school_id", "subject", "teachers"]].copy()
    posts, info = needed_posts(state, scenario, today)
    # The horizon's students in today's network: the register grown by cohort, school by
    # school, before any programme moved them (the plan's own figures are in ``info``).
    unplanned = horizon_students(PlanState.start(dataset, scenario), scenario)
    unplanned = unplanned.set_index("school_id")
    schools = state.schools[
        state.schools["open"].astype(bool) | state.schools["school_id"].isin(today["school_id"])
    ].copy()
    closed = set(schools.loc[~schools["open"].astype(bool), "school_id"])
    holdings = today.merge(posts, on=["school_id", "subject"], how="outer").fillna(
        {"teachers": 0, "posts": 0}
    )
    holdings.loc[holdings["school_id"].isin(closed), "posts"] = 0
    holdings = holdings[holdings["school_id"].isin(schools["school_id"])]
    holdings = holdings.astype({"teachers": np.int64, "posts": np.int64})
    travel = scenario.travel
    return StaffingInputs(
        scenario.staffing,
        schools.sort_values("school_id").reset_index(drop=True),
        holdings.sort_values(["school_id", "subject"]).reset_index(drop=True),
        info,
        unplanned.drop(columns="special", errors="ignore").sum(axis=1),
        receivers(state),
        travel.circuity * 60.0 / travel.speed_kmh["town"],
        info["students_horizon"],
    )


def receivers(state: PlanState) -> dict[str, str]:
    """Each school a programme closed, and the school that receives most of its students
    (the ledger's named flows)."""
    flows = state.ledger.flows
    sections = state.ledger.sections
    shut = set(sections.loc[~sections["open"].astype(bool), "school_id"])
    out = flows[flows["from_id"].isin(shut) & (flows["to_id"] != "")]
    if out.empty:
        return {}
    by = out.groupby(["from_id", "to_id"], as_index=False)["students"].sum()
    by = by.sort_values(["from_id", "students", "to_id"], ascending=[True, False, True])
    first = by.drop_duplicates("from_id")
    return dict(zip(first["from_id"], first["to_id"], strict=True))


def county_input(
    inputs: StaffingInputs,
    region_id: str,
    schools: pd.DataFrame | None = None,
    holdings: pd.DataFrame | None = None,
) -> County:
    """One county's input; ``schools`` and ``holdings``: its rows of the inputs' tables
    where the caller has cut them already."""
    if schools is None:
        schools = inputs.schools[inputs.schools["region_id"].astype(str) == region_id]
    if holdings is None:
        holdings = inputs.holdings[inputs.holdings["school_id"].isin(set(schools["school_id"]))]
    holdings = holdings.reset_index(drop=True)
    totals = holdings.groupby("school_id")["teachers"].sum()
    # County redeployment (县管校聘) covers public teachers in public schools only.
    public = schools[schools["ownership"] == "public"]
    public_ids = set(public["school_id"])
    staff = CountyStaff(
        region_id=region_id,
        holdings=holdings[holdings["school_id"].isin(public_ids)].reset_index(drop=True),
        schools=pd.DataFrame(
            {
                "school_id": public["school_id"].to_numpy(),
                "level": public["level"].to_numpy(),
                "open": public["open"].astype(bool).to_numpy(),
                "lon": public.geometry.x.to_numpy(),
                "lat": public.geometry.y.to_numpy(),
                "teachers": totals.reindex(public["school_id"]).fillna(0).to_numpy(),
            }
        ),
        receivers={k: v for k, v in inputs.receivers.items() if k in public_ids},
        minutes_per_km=inputs.minutes_per_km,
    )
    info = inputs.info.reindex(schools["school_id"])
    unplanned = inputs.students_horizon_today.reindex(schools["school_id"])  # 0: new school
    frame = pd.DataFrame(schools).assign(
        students_horizon=info["students_horizon"].fillna(0).to_numpy(),
        students_horizon_today=unplanned.fillna(0).to_numpy(),
        mental_health=info["mental_health"].fillna(False).astype(bool).to_numpy(),
        nurse_posts=info["nurse_posts"].fillna(0).to_numpy(),
    )
    return County(staff, inputs.section, frame.reset_index(drop=True), holdings)


def staffing_table(region: County, result: Redeployment) -> pd.DataFrame:
    """One row per school and subject: posts, today, moves between schools, covering at
    the school, recruits, surplus, gap. A private school's row has no move and no recruit:
    its gap is reported."""
    h = region.holdings.copy()
    moves = result.moves
    between = moves[moves["from_id"] != moves["to_id"]]
    cover = moves[moves["from_id"] == moves["to_id"]]
    key = pd.MultiIndex.from_frame(h[["school_id", "subject"]])

    def summed(frame: pd.DataFrame, school: str, subject: str) -> np.ndarray:
        sums = frame.groupby([school, subject])["teachers"].sum()
        return sums.reindex(key).fillna(0).to_numpy(np.int64)

    h["moved_out"] = summed(between, "from_id", "subject_from")
    h["moved_in"] = summed(between, "to_id", "subject")
    h["cover_out"] = summed(cover, "from_id", "subject_from")
    h["cover_in"] = summed(cover, "to_id", "subject")
    recruited = result.recruit.set_index(["school_id", "subject"])["teachers"]
    surplus = result.surplus.set_index(["school_id", "subject"])["teachers"]
    h["recruited"] = recruited.reindex(key).fillna(0).to_numpy(np.int64)
    h["surplus_after"] = surplus.reindex(key).fillna(0).to_numpy(np.int64)
    schools = region.schools.set_index("school_id")
    private = (schools["ownership"].reindex(h["school_id"]) != "public").to_numpy()
    # A private school keeps its teachers; what they do not fill is its own gap, and what
    # they exceed its own surplus.
    h.loc[private, "surplus_after"] = np.maximum(h["teachers"] - h["posts"], 0)[private]
    h["teachers_after"] = (
        h["teachers"] - h["moved_out"] + h["moved_in"] - h["cover_out"] + h["cover_in"]
    ) + h["recruited"]
    h["gap_after"] = np.maximum(h["posts"] - h["teachers_after"], 0)
    h["school_name"] = schools["name"].reindex(h["school_id"]).to_numpy()
    h["region_id"] = region.staff.region_id
    h["level"] = schools["level"].reindex(h["school_id"]).to_numpy()
    h["ownership"] = schools["ownership"].reindex(h["school_id"]).to_numpy()
    h["open"] = schools["open"].reindex(h["school_id"]).astype(bool).to_numpy()
    after = schools["students_horizon"].where(schools["open"].astype(bool), 0)
    h["students_after"] = after.reindex(h["school_id"]).fillna(0).round().to_numpy(np.int64)
    h = h.rename(columns={"posts": "posts_needed", "teachers": "teachers_register"})
    return h[STAFFING_COLUMNS]


def change_rows(region: County, result: Redeployment, table: pd.DataFrame) -> list[dict]:
    """move_teachers rows (a school's teachers to another school), cover_subject rows
    (teachers teaching another subject at their own school), then recruit rows by subject
    for the county, surplus rows by school and subject, and each private school's gap."""
    names = region.schools.set_index("school_id")["name"]
    is_open = region.schools.set_index("school_id")["open"].astype(bool)
    level = region.schools.set_index("school_id")["level"]
    minutes = school_minutes(region.staff)
    receivers = region.staff.receivers
    rows = []
    for m in result.moves.itertuples():
        subject = m.subject if m.subject == m.subject_from else f"{m.subject_from}→{m.subject}"
        if m.from_id == m.to_id:
            penalty = region.section.cover[m.subject_from][m.subject]
            rows.append(
                change_row(
                    Action.COVER_SUBJECT,
                    m.from_id,
                    subject=subject,
                    teachers=float(m.teachers),
                    reason=f"{m.teachers} {m.subject_from} teacher(s) teach {m.subject} at "
                    f"their own school (cover penalty {penalty:g}); not a move",
                )
            )
            continue
        trip_min = float(minutes.at[m.from_id, m.to_id])
        reason = (
            f"{m.teachers} {m.subject_from} teacher(s) move to {names[m.to_id]} "
            f"({level[m.to_id]}, {trip_min:.0f} min; band of a {level[m.from_id]} school)"
        )
        if m.subject != m.subject_from:
            reason += f" to teach {m.subject}"
        if receivers.get(m.from_id) == m.to_id:
            reason += f": they follow the students of the merged {m.from_id}"
        elif not is_open[m.from_id]:
            reason += ": their school closes"
        if m.subject != m.subject_from:
            reason += f" (cover penalty {region.section.cover[m.subject_from][m.subject]:g})"
        rows.append(
            change_row(
                Action.MOVE_TEACHERS,
                m.from_id,
                target=m.to_id,
                subject=subject,
                teachers=float(m.teachers),
                minutes=(0.0, trip_min),
                reason=reason,
            )
        )
    for subject, group in result.recruit.groupby("subject", sort=True):
        n = int(group["teachers"].sum())
        reason = (
            f"{n} {subject} post(s) of public schools no public teacher of the county can "
            f"fill within {region.section.max_move_min:g} min, the rotation share or the "
            f"level bands, at {len(group)} school(s)"
        )
        rows.append(change_row(Action.RECRUIT, subject=subject, teachers=float(n), reason=reason))
    for s in result.surplus.itertuples():
        retrain = sorted(region.section.cover.get(s.subject, {}))
        reason = (
            f"{s.teachers} {s.subject} teacher(s) beyond the school's posts that no shortage "
            "within reach and band needs"
        )
        if not is_open[s.school_id]:
            reason += "; their school closes: the county places them"
        if retrain:
            reason += f"; could retrain for {', '.join(retrain)}"
        rows.append(
            change_row(
                Action.SURPLUS,
                s.school_id,
                subject=s.subject,
                teachers=float(s.teachers),
                reason=reason,
            )
        )
    rows += _private_rows(table)
    return rows


def _private_rows(table: pd.DataFrame) -> list[dict]:
    """A private school's gap by subject: reported, not filled by the county."""
    private = table[(table["ownership"] != "public") & (table["gap_after"] > 0)]
    return [
        change_row(
            Action.PRIVATE_GAP,
            r.school_id,
            subject=r.subject,
            teachers=float(r.gap_after),
            reason=f"private school: {r.posts_needed} {r.subject} post(s) for its students at "
            f"the horizon, {r.teachers_register} teacher(s) of its own; the county's "
            "redeployment and recruitment are for public schools",
        )
        for r in private.itertuples()
    ]


def county_schools_after(region: County, table: pd.DataFrame) -> pd.DataFrame:
    """The county's schools as rows of schools_after: students (the register; the horizon
    in today's network, the register grown by cohort; after the plan, the programmes'
    figures), teachers (register; after the plan) and posts."""
    schools = region.schools.copy()
    by = table.groupby("school_id")
    sums = by[
        [
            "posts_needed",
            "teachers_register",
            "moved_in",
            "moved_out",
            "recruited",
            "surplus_after",
            "teachers_after",
        ]
    ].sum()
    sums = sums.reindex(schools["school_id"]).fillna(0)
    is_open = schools["open"].astype(bool).to_numpy()
    frame = pd.DataFrame(schools)
    frame["students_register"] = schools["enrolment"].fillna(0)
    frame["students_horizon_today"] = schools["students_horizon_today"]
    frame["students_after"] = np.where(is_open, schools["students_horizon"], 0)
    frame["size_unit"] = "teachers"
    frame["size_register"] = sums["teachers_register"].to_numpy()
    frame["size_after"] = sums["teachers_after"].to_numpy()
    capacity = schools["capacity"].fillna(0).to_numpy()
    frame["capacity_register"] = capacity
    frame["capacity_after"] = np.where(is_open, capacity, 0)
    frame["beds_register"] = schools["boarding_beds"].fillna(0)
    frame["beds_after"] = np.where(is_open, frame["beds_register"], 0)
    for column in SCHOOL_COLUMNS:
        frame[column] = sums[column].to_numpy()
    for column in (
        "students_register",
        "students_horizon_today",
        "students_after",
        "size_register",
        "size_after",
        "capacity_register",
        "capacity_after",
        "beds_register",
        "beds_after",
        *SCHOOL_COLUMNS,
    ):
        frame[column] = pd.to_numeric(frame[column]).round().astype(np.int64)
    frame["open"] = is_open
    return frame


def county_counts(region: County, result: Redeployment, table: pd.DataFrame) -> dict[str, float]:
    t = table
    short_before = np.maximum(t["posts_needed"] - t["teachers_register"], 0)
    holds = t["teachers_after"] - t["recruited"]  # after redeployment, before recruiting
    short_after = np.maximum(t["posts_needed"] - holds, 0)
    private = (t["ownership"] != "public").to_numpy()
    # The county answers for its public schools: a private school's needs are its own.
    open_ = region.schools[
        region.schools["open"].astype(bool) & (region.schools["ownership"] == "public")
    ]
    needing = set(open_.loc[open_["mental_health"], "school_id"])
    mh = t[t["subject"] == "mental_health"].set_index("school_id")
    today = set(mh.index[mh["teachers_register"] > 0])
    redeploy_mh = set(mh.index[(mh["teachers_after"] - mh["recruited"]) > 0])
    final_mh = set(mh.index[mh["teachers_after"] > 0])
    moved = result.moves[result.moves["from_id"] != result.moves["to_id"]]["teachers"].sum()
    covered = result.moves[result.moves["from_id"] == result.moves["to_id"]]["teachers"].sum()
    counts: dict[str, float] = {
        "teachers_register": float(t["teachers_register"].sum()),
        "posts": float(t["posts_needed"].sum()),
        "schools_with_posts": float(t.loc[t["open"], "school_id"].nunique()),
        "gap_before": float(short_before.sum()),
        "gap_after": float(short_after[~private].sum()),
        "private_gap": float(short_after[private].sum()),
        # Surplus of public schools: what the county's redeployment works with.
        "surplus_before": float(
            np.maximum(t["teachers_register"] - t["posts_needed"], 0)[~private].sum()
        ),
        "surplus_after": float(t.loc[~private, "surplus_after"].sum()),
        "moved": float(moved),
        "covered": float(covered),
        "mh_needing": float(len(needing)),
        "mh_covered_today": float(len(needing & today)),
        "mh_covered_redeploy": float(len(needing & redeploy_mh)),
        "mh_covered_after": float(len(needing & final_mh)),
        "nurse_posts": float(region.schools["nurse_posts"].sum()),
        "teachers_after": float(t["teachers_register"].sum() + t["recruited"].sum()),
        "pe_arts_gap_final": float(
            t.loc[t["subject"].isin(["pe", "arts"]) & ~private, "gap_after"].sum()
        ),
    }
    for subject in ("pe", "arts", "mental_health"):
        mine = (t["subject"] == subject).to_numpy()
        counts[f"gap_before_{subject}"] = float(short_before[mine].sum())
        counts[f"gap_after_{subject}"] = float(short_after[mine].sum())
    return counts
