"""The kindergarten programme's definition: county plans tied together by one project price.

The counties' plans are independent but for the province's number of public projects,
which must fall in ``kindergarten.projects`` (about 500). A price per project (yuan,
positive to deter projects, negative to subsidise them) is added to every project's cost
and searched until the total count falls in the range. A county plan that is optimal at
two prices is optimal at every price between them, so after the first bracket only the
counties whose plans differ are solved again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.engine import LocationProblem, LocationSolution
from layoutopt.programmes.base import (
    Evaluate,
    Finish,
    Kpi,
    Programme,
    RegionOutcome,
    RegionSolves,
    Scope,
    action_table,
)
from layoutopt.programmes.flows import NO_SEAT
from layoutopt.programmes.kindergarten import county as problems
from layoutopt.programmes.kindergarten.county import KgCountyInput, KgCountyPlan, option_table
from layoutopt.programmes.kindergarten.kpis import KPI_SPECS, indicators
from layoutopt.programmes.kindergarten.network import PUBLIC, KgNetwork, build_network
from layoutopt.programmes.kindergarten.outcome import KgCountyOutcome, county_outcome
from layoutopt.programmes.state import PlanState
from layoutopt.scenario import KindergartenSection, Scenario


class Action(StrEnum):
    NEW_KINDERGARTEN = "new_kindergarten"
    CONVERT_BUILDING = "convert_building"
    EXPAND = "expand"
    RECOGNISE_INCLUSIVE = "recognise_inclusive"
    MERGE_INTO = "merge_into"


PROJECT_ACTIONS = (Action.NEW_KINDERGARTEN, Action.CONVERT_BUILDING, Action.EXPAND)
# code | colour | 中文 | English | meaning
ACTIONS = action_table(
    Action,
    """
new_kindergarten | #1a9850 | 新建 | new kindergarten | a new public kindergarten at a new-housing or town-centre site
convert_building | #66bd63 | 改建 | convert a building | an emptied school building converted to a public kindergarten
expand | #2c7fb8 | 扩建 | expand | a public kindergarten adds classes (up to max_classes)
recognise_inclusive | #80cdc1 | 认定普惠 | recognise as inclusive | a private kindergarten recognised as inclusive (普惠) for a subsidy per place
merge_into | #d7301f | 合并撤销 | merge into another kindergarten | a small public kindergarten closes where places nearby are spare
""",
)


@dataclass(frozen=True)
class KgCounty:
    """What the runner hands a worker for one county."""

    problem: KgCountyInput
    section: KindergartenSection
    kgs: gpd.GeoDataFrame  # the county's kindergartens
    sites: gpd.GeoDataFrame  # its candidate sites
    demand: pd.DataFrame  # its settlements: demand_id, kind, children, growth_area
    baseline: dict[str, float]  # its base-year figures
    hosts: pd.Series  # the settlement each kindergarten or site stands in
    host_kinds: pd.Series  # the kind (urban, town, village) of each host settlement
    names: pd.Series


class Kindergarten(Programme):
    """学前教育: about 500 public projects so that every county meets its targets."""

    name = "kindergarten"
    title = "学前教育 Kindergarten places"
    scope = Scope.COUNTY
    actions = ACTIONS
    kpis = KPI_SPECS
    school_columns = ("kind_after",)
    size_column = "classes"

    def prepare(self, state: PlanState, scenario: Scenario) -> KgNetwork:
        return build_network(state, scenario)

    def split(self, inputs: KgNetwork) -> dict[str, KgCounty]:
        demand = inputs.demand
        growth = frozenset(demand.loc[demand["growth_area"], "demand_id"])
        kinds = demand.set_index("demand_id")["kind"]
        return {r: county_input(inputs, r, growth, kinds) for r in inputs.region_ids}

    def today_problem(self, region: KgCounty) -> LocationProblem:
        return problems.today_problem(region.problem, region.section)

    def plan_problem(
        self, region: KgCounty, today: LocationSolution, price: float | None
    ) -> LocationProblem:
        return problems.plan_problem(region.problem, region.section, price or 0.0)

    def extract(self, region: KgCounty, solves: RegionSolves) -> RegionOutcome:
        table = option_table(region.problem, region.section)
        plan = KgCountyPlan(region.problem, table, solves.today, solves.plan)
        outcome = county_outcome(plan, region.section, region.names)
        return RegionOutcome(
            region_id=outcome.region_id,
            changes=outcome.changes,
            schools=county_schools_after(region, outcome),
            counts=county_counts(region, outcome, plan),
            detail={
                "unplaced_today": _unplaced(outcome.today),
                "unplaced_after": _unplaced(outcome.after),
                "service_km": _service_areas(region, outcome),
            },
        )

    def indicators(
        self, inputs: KgNetwork, scope: str, totals: pd.Series, outcomes: list[RegionOutcome]
    ) -> list[Kpi]:
        return indicators(scope, totals, inputs.section)

    def coordinate(self, inputs: KgNetwork, evaluate: Evaluate):
        return search_price(inputs.section, evaluate)

    def finish(self, inputs: KgNetwork, outcomes: list[RegionOutcome]) -> Finish:
        service = [o.detail["service_km"] for o in outcomes if len(o.detail["service_km"])]
        return Finish(
            summary={
                "children_at_horizon": round(float(inputs.demand["children"].sum()), 1),
                "projects": int(sum(o.counts["projects"] for o in outcomes)),
            },
            region_layers={
                "未入园儿童 children without a place, today": pd.Series(
                    {o.region_id: o.detail["unplaced_today"] for o in outcomes}
                ),
                "未入园儿童 children without a place, after the plan": pd.Series(
                    {o.region_id: o.detail["unplaced_after"] for o in outcomes}
                ),
            },
            service_areas=pd.concat(service).sort_index() if service else None,
        )


def county_input(
    network: KgNetwork, region_id: str, growth: frozenset[str], kinds: pd.Series
) -> KgCounty:
    """One county's inputs; ``growth``: the province's growth or migrant settlements,
    ``kinds``: every settlement's kind."""
    kgs = network.kindergartens[network.kindergartens["region_id"] == region_id]
    sites = network.sites[network.sites["region_id"] == region_id]
    demand = network.demand[network.demand["region_id"] == region_id]
    children = demand.loc[demand["children"] > 0, ["demand_id", "children"]]
    reach = network.reach[network.reach["demand_id"].isin(children["demand_id"])]
    hosts = pd.concat(
        [
            kgs.set_index("school_id")["demand_id"].astype(str),
            sites.set_index("place_id")["demand_id"].astype(str),
        ]
    )
    places = pd.concat([kgs["school_id"], sites["place_id"]])
    problem = KgCountyInput(
        region_id=region_id,
        class_size=network.class_size,
        kgs=kgs[["school_id", "kind", "capacity", "classes"]].reset_index(drop=True),
        sites=sites[["place_id", "action", "max_classes"]].reset_index(drop=True),
        demand=children.reset_index(drop=True),
        reach=reach.reset_index(drop=True),
        growth_places=frozenset(places[hosts.reindex(places).isin(growth).to_numpy()]),
    )
    names = pd.concat([kgs.set_index("school_id")["name"], sites.set_index("place_id")["name"]])
    return KgCounty(
        problem,
        network.section,
        kgs.reset_index(drop=True),
        sites.reset_index(drop=True),
        demand[["demand_id", "kind", "children", "growth_area"]].reset_index(drop=True),
        network.baseline.get(region_id, {}),
        hosts,
        kinds.reindex(hosts.unique()),
        names,
    )


def search_price(
    section: KindergartenSection, evaluate: Evaluate
) -> tuple[dict[str, tuple[RegionSolves, RegionOutcome]], dict[str, Any]]:
    """The project price at which the province's count falls in the range, and its plans.

    Secant steps toward the middle of the range (at most four times the last step) until
    the count is bracketed, then bisection; the count is a step function of the price,
    so the search ends as soon as a count falls in the range."""
    lo, hi = section.projects
    target = (lo + hi) / 2
    trace: list[dict] = []

    def run(price: float, reuse: dict) -> tuple[float, int, dict]:
        plans = evaluate(price, reuse)
        count = sum(int(o.counts["projects"]) for _, o in plans.values())
        solved = len(plans) - len(reuse)
        trace.append({"price_yuan": round(price, 2), "projects": count, "counties_solved": solved})
        return price, count, plans

    def found(point: tuple[float, int, dict]) -> tuple[dict, dict[str, Any]]:
        return point[2], {"project_price_yuan": point[0], "price_search": trace}

    points = [run(section.project_price_start, {})]
    step = section.price_step
    while len(trace) < section.price_evaluations:
        price, count, _ = points[-1]
        if lo <= count <= hi:
            return found(points[-1])
        below = [p for p in points if p[1] < lo]
        above = [p for p in points if p[1] > hi]
        if below and above:  # bracketed: a higher price gives fewer projects
            low = max(above, key=lambda p: p[0])  # highest price still above the range
            high = min(below, key=lambda p: p[0])  # lowest price already below it
            same = {
                r: low[2][r]
                for r in low[2]
                if np.array_equal(low[2][r][0].plan.is_open, high[2][r][0].plan.is_open)
            }
            points.append(run((low[0] + high[0]) / 2, same))
            continue
        if len(points) == 1:
            step = section.price_step if count > hi else -section.price_step
        elif points[-1][1] != points[-2][1]:
            (p0, c0, _), (p1, c1, _) = points[-2], points[-1]
            secant = (target - c1) * (p1 - p0) / (c1 - c0)
            step = float(np.clip(abs(secant), abs(step), 4 * abs(step))) * np.sign(step)
        else:
            step *= 2
        points.append(run(price + step, {}))
    best = min(points, key=lambda p: max(lo - p[1], p[1] - hi, 0))
    trace.append({"note": "evaluation budget spent before the count fell in the range"})
    return found(best)


def county_counts(region: KgCounty, outcome: KgCountyOutcome, plan: KgCountyPlan) -> dict:
    """The county's figures before (register, base year) and after the plan (KPI counts)."""
    b = outcome.buildings
    base = region.baseline
    demand = region.demand
    project_rows = b[b["action"].isin(PROJECT_ACTIONS)]
    growth = set(demand.loc[demand["growth_area"], "demand_id"])
    counts = {a.value: int((b["action"] == a).sum()) for a in Action}
    enrolled_after = float(b["enrolment_after"].sum())
    return {
        "children_before": float(base.get("children", 0.0)),
        "enrolled_before": float(
            sum(base.get(k, 0.0) for k in ("public", "inclusive_private", "other_private"))
        ),
        "inclusive_before": float(base.get("public", 0.0) + base.get("inclusive_private", 0.0)),
        "public_before": float(base.get("public", 0.0)),
        "children_after": float(demand["children"].sum()),
        "enrolled_after": enrolled_after,
        "inclusive_after": float(
            b.loc[b["kind_after"] != "other_private", "enrolment_after"].sum()
        ),
        "public_after": float(b.loc[b["kind_after"] == PUBLIC, "enrolment_after"].sum()),
        "places_added": float(
            (project_rows["capacity_after"] - project_rows["capacity_before"]).sum()
        ),
        "projects": int((plan.options["project"].to_numpy() & plan.plan.is_open).sum()),
        **counts,
        "unenrolled": float(demand["children"].sum()) - enrolled_after,
        "children_growth": float(demand.loc[demand["growth_area"], "children"].sum()),
        "projects_growth": int(region.hosts.reindex(project_rows["place_id"]).isin(growth).sum()),
        "shortfall_rows": sum(1 for c in outcome.changes if c["action"] == "shortfall"),
    }


def _unplaced(flows: pd.DataFrame) -> float:
    return float(flows.loc[flows["place_id"] == NO_SEAT, "students"].sum())


def _service_areas(region: KgCounty, outcome: KgCountyOutcome) -> pd.Series:
    """Each project's service radius (km): the radius of the settlement it stands in."""
    b = outcome.buildings
    built = b.loc[b["action"].isin(PROJECT_ACTIONS), "place_id"] if len(b) else []
    radius = region.host_kinds.reindex(region.hosts.reindex(built)).map(region.section.radius_km)
    return pd.Series(radius.to_numpy(float), index=list(built)).dropna()


def county_schools_after(region: KgCounty, outcome: KgCountyOutcome) -> pd.DataFrame:
    """The county's kindergartens and opened sites after the plan (schools_after rows)."""
    b = outcome.buildings
    if b.empty:
        return pd.DataFrame()
    b = b.set_index("place_id")
    kgs = region.kgs.set_index("school_id")
    sites = region.sites.set_index("place_id")
    existing = b["existing"].to_numpy(bool)
    ids = b.index.to_numpy()

    def pick(column: str) -> np.ndarray:
        return np.where(
            existing, kgs[column].reindex(ids).to_numpy(), sites[column].reindex(ids).to_numpy()
        )

    return pd.DataFrame(
        {
            "school_id": ids,
            "level": "kindergarten",
            "region_id": pick("region_id"),
            "open": b["open"].to_numpy(bool),
            "streams_after": b["classes_after"].astype(np.int64).to_numpy(),
            "enrolment_after": b["enrolment_after"].round().astype(np.int64).to_numpy(),
            "capacity_after": b["capacity_after"].round().astype(np.int64).to_numpy(),
            "boarding_beds_after": 0,
            "name": pick("name"),
            "ownership": np.where(b["kind_after"] == PUBLIC, "public", "private"),
            "quality_tier": "",
            "streams_before": b["classes_before"].astype(np.int64).to_numpy(),
            "enrolment_before": b["enrolment_before"].round().astype(np.int64).to_numpy(),
            "kind_after": b["kind_after"].to_numpy(),
            "geometry": pick("geometry"),
        }
    )
