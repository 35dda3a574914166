"""The boarding programme's definition: its inputs, county problems and outcomes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from layoutopt.decisions import NO_DECISIONS
from layoutopt.engine import LocationProblem, LocationSolution
from layoutopt.engine.report import SolveStatus
from layoutopt.programmes import base
from layoutopt.programmes.boarding.county import CountyInput, build_problem
from layoutopt.programmes.boarding.kpis import KPI_SPECS, indicators
from layoutopt.programmes.boarding.network import Network, build_network
from layoutopt.programmes.boarding.outcome import Action, county_outcome
from layoutopt.programmes.common import by_region
from layoutopt.scenario import Scenario
from layoutopt.state import PlanState

# code | colour | 中文 | English | meaning
ACTIONS = base.action_table(
    Action,
    """
add_dormitory | #2c7fb8 | 新建宿舍 | add dormitory | a township school adds whole dormitory modules for far pupils
add_classrooms | #41ab5d | 增加教室 | add classrooms | a school adds whole classrooms so that its section holds its pupils at the horizon (its own, and those it takes in) within its places
merge_into | #d7301f | 撤并 | merge into another school | a small rural school (or its upper grades) closes; every pupil has a day place within the threshold or a bed
keep_small_rural | #1a9850 | 保留小规模学校/教学点 | keep small rural school | a small school or teaching point kept: young pupils have no other school in reach, or it stays as a teaching point
""",
)
SCHOOL_COLUMNS = (
    "boarders_register",
    "boarders_after",
    "left_behind_boarders_after",
    "primary_after",
    "junior_after",
    "teaching_point_after",
)
TRIP_CLASSES = (  # settlements coloured by their pupils' trip: (upper minutes, colour, label)
    (20.0, "#1a9850", "≤ 20 min"),
    (40.0, "#fee08b", "20-40 min"),
    (60.0, "#fc8d59", "40-60 min"),
    (np.inf, "#d73027", "> 60 min"),
)
NO_BED_COLOUR = "#000000"
BEDS_COLOUR = "#2c7fb8"
LB_BREAKS = (0.05, 0.10, 0.15, 0.20)


class Boarding(base.Programme):
    """寄宿制学校: beds for far pupils, left-behind children first (5.(2), 5.(5))."""

    name = "boarding"
    title = "寄宿制学校建设 Boarding places"
    people = "pupils"
    actions = ACTIONS
    kpis = KPI_SPECS
    school_columns = SCHOOL_COLUMNS
    # Boarders and pupils by stage are the sections' own figures (bed_need_after,
    # students_after): a school's totals are not repeated on each of its sections.
    section_columns = ("teaching_point_after",)

    def prepare(self, state: PlanState, scenario: Scenario) -> Network:
        return build_network(state, scenario)

    def split(self, inputs: Network) -> dict[str, CountyInput]:
        return county_inputs(inputs)

    def today_problem(self, region: CountyInput) -> LocationProblem:
        return build_problem(region, plan=False)

    def plan_problem(
        self, region: CountyInput, today: LocationSolution, price: float | None
    ) -> LocationProblem:
        return build_problem(region, plan=True, today=today)

    def extract(self, region: CountyInput, solves: base.RegionSolves) -> base.RegionOutcome:
        # A plan solve that found no plan (the runner marks the region unfinished) changes
        # nothing: today's network is handed on, never a county of closed schools.
        plan = solves.plan if has_plan(solves.plan) else solves.today
        result = county_outcome(region, solves.today, plan)
        far = _far_settlements(region, plan)
        return base.RegionOutcome(
            region.region_id,
            result.rows,
            result.schools,
            result.counts | region.base,
            {"far": far},
            sections=result.sections,
            flows=result.flows,
            accounts=result.accounts,
        )

    def indicators(
        self, inputs: Network, scope: str, totals: pd.Series, outcomes: list[base.RegionOutcome]
    ) -> list[base.Kpi]:
        return indicators(scope, totals, outcomes, inputs.section)

    def finish(self, inputs: Network, outcomes: list[base.RegionOutcome]) -> base.Finish:
        counts = {o.region_id: o.counts for o in outcomes}
        far = pd.concat([o.detail["far"] for o in outcomes], ignore_index=True)
        schools = pd.concat([o.schools for o in outcomes if len(o.schools)], ignore_index=True)
        points = schools[schools["teaching_point_after"].astype(bool)]
        base_check = inputs.base_check.sum()
        return base.Finish(
            summary={
                "day_mode": inputs.mode,
                "base_year_check": {
                    "far_pupils_bus": round(float(base_check["far_base_bus"])),
                    "far_pupils_walk": round(float(base_check["far_base_walk"])),
                    "boarders_register": round(float(base_check["boarders_base"])),
                    "beds_register": round(float(base_check["beds_base"])),
                },
                "dormitory_projects": int(sum(c["dormitory_projects"] for c in counts.values())),
                "plan_projects": inputs.section.plan_projects,
            },
            region_layers=_left_behind_layers(counts),
            region_breaks=dict.fromkeys(_left_behind_layers(counts), LB_BREAKS),
            school_layers={"教学点 teaching points after the plan": list(points["school_id"])},
            point_layers=_point_layers(far, schools, inputs),
        )


def has_plan(solution: LocationSolution) -> bool:
    """Whether a solve found a plan to read (optimal, or stopped with one in hand)."""
    return solution.report.status in (
        SolveStatus.OPTIMAL,
        SolveStatus.FEASIBLE_TIME_LIMIT,
        SolveStatus.HEURISTIC,
    )


def county_inputs(network: Network) -> dict[str, CountyInput]:
    """Each county's input, its tables cut from the province's in one pass each."""
    ids = list(network.region_ids)
    county_of = network.pupils.set_index("demand_id")["region_id"]  # one row a settlement

    def cut(frame: pd.DataFrame, keys: pd.Series | np.ndarray) -> dict[str, pd.DataFrame]:
        return {r: part.reset_index(drop=True) for r, part in by_region(frame, keys, ids).items()}

    def by_settlement(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
        return cut(frame, county_of.reindex(frame["demand_id"]).to_numpy())

    pupils = cut(network.pupils, network.pupils["region_id"])
    schools = cut(network.schools, network.schools["region_id"])
    day, board, attend = (by_settlement(t) for t in (network.day, network.board, network.attend))
    base = network.base_check
    decided = {
        str(r): part[["decision", "target_id"]]
        for r, part in network.decided.groupby("region_id", sort=True)
    }
    return {
        r: CountyInput(
            region_id=r,
            section=network.section,
            pupils=pupils[r],
            schools=schools[r],
            day=day[r],
            board=board[r],
            attend=attend[r],
            base={
                name: float(base.at[r, name]) if r in base.index and name in base else 0.0
                for name in ("far_base_bus", "far_base_walk")
            },
            class_size=network.class_size,
            decided=decided.get(r, NO_DECISIONS),
        )
        for r in ids
    }


def _regions(inputs: Network) -> pd.DataFrame:
    regions = inputs.regions
    return regions.rename(columns={"name": "county", "prefecture_name": "prefecture"})


def _far_settlements(region: CountyInput, plan: LocationSolution) -> pd.DataFrame:
    """Each settlement's nearest day trip of the boarding bands (after the plan's closures)
    and its far pupils without a bed: for the map."""
    unmet = plan.unmet.assign(pupils=plan.unmet["weight"])  # the weight left unserved
    unmet = unmet[~unmet["demand_id"].str.startswith("young|") & (unmet["pupils"] > 1e-9)]
    settlement = unmet["demand_id"].str.split("|").str[1]
    no_bed = unmet.groupby(settlement)["pupils"].sum()
    day = region.day[region.day["band"] != "young"]
    nearest = day.groupby("demand_id")["minutes"].min()
    pupils = region.pupils.set_index("demand_id")
    return pd.DataFrame(
        {
            "demand_id": pupils.index,
            "name": pupils["name"].to_numpy(),
            "pupils": (pupils["primary"] + pupils["junior"]).to_numpy(),
            "minutes": nearest.reindex(pupils.index).to_numpy(float),
            "no_bed": no_bed.reindex(pupils.index).fillna(0.0).to_numpy(),
        }
    )


def _left_behind_layers(counts: dict[str, dict[str, float]]) -> dict[str, pd.Series]:
    """Left-behind share of far pupils by county: today's network (left pane) and among the
    boarders after the plan (right pane)."""

    def share(part: str, whole: str) -> pd.Series:
        return pd.Series(
            {r: c[part] / c[whole] if c[whole] else 0.0 for r, c in counts.items()}, dtype=float
        )

    return {
        "留守儿童占远距离学生比例 left-behind share of far pupils, today's network": share(
            "far_lb_today", "far_today"
        ),
        "留守儿童占寄宿生比例 left-behind share of boarders, after the plan": share(
            "boarders_lb_after", "boarders_after"
        ),
    }


def _point_layers(far: pd.DataFrame, schools: pd.DataFrame, inputs: Network) -> dict:
    """Settlements by their pupils' day trip, far pupils without a bed, beds added. The
    nearest class (most settlements) has no tooltip, to keep the page light."""
    far = far.join(inputs.settlement_points, on="demand_id")
    far = far[far["pupils"] > 0]
    layers: dict[str, tuple[str, list[list]]] = {}
    low = -np.inf
    for k, (high, colour, label) in enumerate(TRIP_CLASSES):
        mine = far[(far["minutes"] > low) & (far["minutes"] <= high)]
        low = high
        rows = [
            [round(r.lat, 4), round(r.lon, 4), _radius(r.pupils, 40.0)]
            + ([] if k == 0 else [f"{r.name}: {r.pupils:,.0f} pupils, {r.minutes:.0f} min"])
            for r in mine.itertuples()
        ]
        layers[f"居民点 settlements by the nearest day school {label}"] = (colour, rows)
    no_bed = far[far["no_bed"] >= 0.5]
    layers["无床位远距离学生 far pupils without a bed (shown)"] = (
        NO_BED_COLOUR,
        [
            [
                round(r.lat, 5),
                round(r.lon, 5),
                _radius(r.no_bed, 80.0),
                f"{r.name}: {r.no_bed:,.0f} far pupils without a bed",
            ]
            for r in no_bed.itertuples()
        ],
    )
    added = schools[schools["beds_after"] > schools["beds_register"]]
    layers["新增床位 beds added, sized by beds (shown)"] = (
        BEDS_COLOUR,
        [
            [
                round(r.geometry.y, 5),
                round(r.geometry.x, 5),
                _radius(r.beds_after - r.beds_register, 60.0),
                f"{r.name}: {r.beds_after - r.beds_register:,} beds added "
                f"({r.beds_register:,} → {r.beds_after:,})",
            ]
            for r in added.itertuples()
        ],
    )
    return layers


def _radius(count: float, metres_per_root: float) -> float:
    """A circle whose area grows with the count."""
    return round(float(np.sqrt(max(count, 0.0))) * metres_per_root)
