"""Run the kindergarten programme: county plans tied together by one project price.

The counties' plans are independent but for the province's number of public projects,
which must fall in ``kindergarten.projects`` (about 500). A price per project (yuan,
positive to deter projects, negative to subsidise them) is added to every project's cost
and searched until the total count falls in the range. A county plan that is optimal at
two prices is optimal at every price between them, so after the first bracket only the
counties whose plans differ are solved again.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.data.dataset import Dataset
from layoutopt.engine import SolverOptions
from layoutopt.programmes.common import changes_table, solver_options
from layoutopt.programmes.kindergarten.county import KgCountyInput, KgCountyPlan, plan_county
from layoutopt.programmes.kindergarten.kpis import indicators
from layoutopt.programmes.kindergarten.network import PUBLIC, KgNetwork, build_network
from layoutopt.programmes.kindergarten.outcome import KgCountyOutcome, county_outcome
from layoutopt.results import SCHOOL_AFTER_COLUMNS, ProgrammeResult
from layoutopt.scenario import KindergartenSection, Scenario

PROGRAMME = "kindergarten"
ACTION_ORDER = [
    "new_kindergarten",
    "convert_building",
    "expand",
    "recognise_inclusive",
    "merge_into",
    "shortfall",
]

Say = Callable[[str], None]


def run(dataset: Dataset, scenario: Scenario, say: Say | None = None) -> ProgrammeResult:
    say = say or (lambda _msg: None)
    section = scenario.kindergarten
    say("kindergartens: children at the horizon and places within reach")
    network = build_network(dataset, scenario)
    options = solver_options(scenario)
    counties = {r: county_input(network, r) for r in sorted(network.regions["region_id"])}
    price, plans, trace = search_price(counties, section, options, say)
    names = _names(network)
    outcomes = [county_outcome(plans[r], section, names) for r in sorted(plans)]
    summary = pd.DataFrame([county_summary(network, o, plans[o.region_id]) for o in outcomes])
    summary = summary.merge(network.regions[["region_id", "prefecture_id"]], on="region_id")
    return ProgrammeResult(
        programme=PROGRAMME,
        title="学前教育 Kindergarten places",
        changes=changes_frame(outcomes, network, names),
        kpis=indicators(summary, section),
        schools_after=schools_after_frame(network, outcomes),
        solves=[s for r in sorted(plans) for s in (plans[r].today.report, plans[r].plan.report)],
        region_layers=_unplaced_layers(outcomes),
        service_areas=_service_areas(network, outcomes, section),
        summary={
            "project_price_yuan": price,
            "price_search": trace,
            "children_at_horizon": round(float(network.demand["children"].sum()), 1),
            "projects": int(summary["projects"].sum()),
        },
    )


def county_input(network: KgNetwork, region_id: str) -> KgCountyInput:
    kgs = network.kindergartens[network.kindergartens["region_id"] == region_id]
    sites = network.sites[network.sites["region_id"] == region_id]
    demand = network.demand[network.demand["region_id"] == region_id]
    growth = set(network.demand.loc[network.demand["growth_area"], "demand_id"])
    demand = demand.loc[demand["children"] > 0, ["demand_id", "children"]]
    reach = network.reach[network.reach["demand_id"].isin(demand["demand_id"])]
    hosts = _hosts(network)
    places = pd.concat([kgs["school_id"], sites["place_id"]])
    return KgCountyInput(
        region_id=region_id,
        kgs=kgs[["school_id", "kind", "capacity", "classes"]].reset_index(drop=True),
        sites=sites[["place_id", "action", "max_classes"]].reset_index(drop=True),
        demand=demand.reset_index(drop=True),
        reach=reach.reset_index(drop=True),
        growth_places=frozenset(places[hosts.reindex(places).isin(growth).to_numpy()]),
    )


def projects(plan: KgCountyPlan) -> int:
    return int((plan.options["project"].to_numpy() & plan.plan.is_open).sum())


def search_price(
    counties: dict[str, KgCountyInput],
    section: KindergartenSection,
    options: SolverOptions,
    say: Say,
) -> tuple[float, dict[str, KgCountyPlan], list[dict]]:
    """The project price at which the province's count falls in the range, and its plans.

    Secant steps toward the middle of the range (at most four times the last step) until
    the count is bracketed, then bisection; the count is a step function of the price,
    so the search ends as soon as a count falls in the range."""
    lo, hi = section.projects
    target = (lo + hi) / 2
    trace: list[dict] = []

    def evaluate(price: float, reuse: dict[str, KgCountyPlan]) -> tuple[int, dict]:
        plans = {
            r: reuse.get(r) or plan_county(c, section, options, price) for r, c in counties.items()
        }
        count = sum(projects(p) for p in plans.values())
        solved = len(counties) - len(reuse)
        trace.append({"price_yuan": round(price, 2), "projects": count, "counties_solved": solved})
        say(
            f"kindergartens: project price {price:,.0f} yuan → {count} projects "
            f"({solved} counties solved)"
        )
        return count, plans

    start = section.project_price_start
    points = [(start, *evaluate(start, {}))]
    step = section.price_step
    while len(trace) < section.price_evaluations:
        price, count, plans = points[-1]
        if lo <= count <= hi:
            return price, plans, trace
        below = [p for p in points if p[1] < lo]
        above = [p for p in points if p[1] > hi]
        if below and above:  # bracketed: a higher price gives fewer projects
            low = max(above, key=lambda p: p[0])  # highest price still above the range
            high = min(below, key=lambda p: p[0])  # lowest price already below it
            mid = (low[0] + high[0]) / 2
            same = {
                r: low[2][r]
                for r in counties
                if np.array_equal(low[2][r].plan.is_open, high[2][r].plan.is_open)
            }
            points.append((mid, *evaluate(mid, same)))
            continue
        if len(points) == 1:
            step = section.price_step if count > hi else -section.price_step
        elif points[-1][1] != points[-2][1]:
            (p0, c0, _), (p1, c1, _) = points[-2], points[-1]
            secant = (target - c1) * (p1 - p0) / (c1 - c0)
            step = float(np.clip(abs(secant), abs(step), 4 * abs(step))) * np.sign(step)
        elif len(points) >= 2:
            step *= 2
        points.append((price + step, *evaluate(price + step, {})))
    best = min(points, key=lambda p: _distance(p[1], lo, hi))
    trace.append({"note": "evaluation budget spent before the count fell in the range"})
    return best[0], best[2], trace


def _distance(count: int, lo: int, hi: int) -> int:
    return max(lo - count, count - hi, 0)


def county_summary(network: KgNetwork, outcome: KgCountyOutcome, plan: KgCountyPlan) -> dict:
    b = outcome.buildings
    base = network.baseline.get(outcome.region_id, {})
    demand = network.demand[network.demand["region_id"] == outcome.region_id]
    hosts = _hosts(network)
    project_rows = b[b["action"].isin(["new_kindergarten", "convert_building", "expand"])]
    growth = set(demand.loc[demand["growth_area"], "demand_id"])
    counts = {
        a: int((b["action"] == a).sum())
        for a in (
            "new_kindergarten",
            "convert_building",
            "expand",
            "recognise_inclusive",
            "merge_into",
        )
    }
    enrolled_after = float(b["enrolment_after"].sum())
    return {
        "region_id": outcome.region_id,
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
        "projects": projects(plan),
        **counts,
        "unenrolled": float(demand["children"].sum()) - enrolled_after,
        "children_growth": float(demand.loc[demand["growth_area"], "children"].sum()),
        "projects_growth": int(hosts.reindex(project_rows["place_id"]).isin(growth).sum()),
        "shortfall_rows": sum(1 for c in outcome.changes if c["action"] == "shortfall"),
    }


def _unplaced_layers(outcomes: list[KgCountyOutcome]) -> dict[str, pd.Series]:
    """Children without a place, by county, today and after the plan (map choropleths)."""

    def unplaced(which: str) -> pd.Series:
        return pd.Series(
            {
                o.region_id: float(
                    getattr(o, which).loc[getattr(o, which)["place_id"] == "", "students"].sum()
                )
                for o in outcomes
            }
        )

    return {
        "未入园儿童 children without a place, today": unplaced("today"),
        "未入园儿童 children without a place, after the plan": unplaced("after"),
    }


def _service_areas(
    network: KgNetwork, outcomes: list[KgCountyOutcome], section: KindergartenSection
) -> pd.Series:
    """Each project's service radius (km): the radius of the settlement it stands in."""
    kinds = network.demand.set_index("demand_id")["kind"]
    hosts = _hosts(network)
    built = [
        pid
        for o in outcomes
        for pid in o.buildings.loc[
            o.buildings["action"].isin(["new_kindergarten", "convert_building", "expand"]),
            "place_id",
        ]
    ]
    radius = kinds.reindex(hosts.reindex(built)).map(section.radius_km)
    return pd.Series(radius.to_numpy(float), index=built).dropna().sort_index()


def _hosts(network: KgNetwork) -> pd.Series:
    """The settlement each kindergarten or site stands in."""
    kgs = network.kindergartens.set_index("school_id")["demand_id"].astype(str)
    sites = network.sites.set_index("place_id")["demand_id"].astype(str)
    return pd.concat([kgs, sites])


def _names(network: KgNetwork) -> pd.Series:
    return pd.concat(
        [
            network.kindergartens.set_index("school_id")["name"],
            network.sites.set_index("place_id")["name"],
        ]
    )


def changes_frame(
    outcomes: list[KgCountyOutcome], network: KgNetwork, names: pd.Series
) -> pd.DataFrame:
    rows = [dict(change, region_id=o.region_id) for o in outcomes for change in o.changes]
    return changes_table(rows, network.regions, names, PROGRAMME, ACTION_ORDER)


def schools_after_frame(network: KgNetwork, outcomes: list[KgCountyOutcome]) -> gpd.GeoDataFrame:
    b = pd.concat([o.buildings for o in outcomes], ignore_index=True).set_index("place_id")
    kgs = network.kindergartens.set_index("school_id")
    sites = network.sites.set_index("place_id")
    regions = network.regions.set_index("region_id")
    existing = b["existing"].to_numpy(bool)
    ids = b.index.to_numpy()
    geometry = np.where(
        existing, kgs["geometry"].reindex(ids).to_numpy(), sites["geometry"].reindex(ids).to_numpy()
    )
    region = np.where(
        existing,
        kgs["region_id"].reindex(ids).to_numpy(),
        sites["region_id"].reindex(ids).to_numpy(),
    )
    frame = pd.DataFrame(
        {
            "school_id": ids,
            "level": "kindergarten",
            "region_id": region,
            "open": b["open"].to_numpy(bool),
            "streams_after": b["classes_after"].astype(np.int64).to_numpy(),
            "enrolment_after": b["enrolment_after"].round().astype(np.int64).to_numpy(),
            "capacity_after": b["capacity_after"].round().astype(np.int64).to_numpy(),
            "boarding_beds_after": 0,
            "name": np.where(
                existing, kgs["name"].reindex(ids).to_numpy(), sites["name"].reindex(ids).to_numpy()
            ),
            "ownership": np.where(b["kind_after"] == PUBLIC, "public", "private"),
            "quality_tier": "",
            "streams_before": b["classes_before"].astype(np.int64).to_numpy(),
            "enrolment_before": b["enrolment_before"].round().astype(np.int64).to_numpy(),
            "action": b["action"].to_numpy(),
            "kind_after": b["kind_after"].to_numpy(),
        }
    )
    frame["county"] = regions["county"].reindex(frame["region_id"]).to_numpy()
    frame["prefecture"] = regions["prefecture"].reindex(frame["region_id"]).to_numpy()
    extra = [
        "name",
        "county",
        "prefecture",
        "ownership",
        "quality_tier",
        "streams_before",
        "enrolment_before",
        "action",
        "kind_after",
    ]
    frame = frame.sort_values("school_id", kind="stable").reset_index(drop=True)
    return gpd.GeoDataFrame(
        frame[SCHOOL_AFTER_COLUMNS + extra],
        geometry=list(geometry[np.argsort(ids, kind="stable")]),
        crs=network.kindergartens.crs,
    )
