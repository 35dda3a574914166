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

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.engine import LocationProblem, LocationSolution
from layoutopt.programmes import base
from layoutopt.programmes.common import by_region, section_flows
from layoutopt.programmes.flows import NO_SEAT
from layoutopt.programmes.kindergarten import county as problems
from layoutopt.programmes.kindergarten.county import KgCountyInput, KgCountyPlan, option_table
from layoutopt.programmes.kindergarten.kpis import KPI_SPECS, indicators
from layoutopt.programmes.kindergarten.network import PUBLIC, KgNetwork, build_network
from layoutopt.programmes.kindergarten.outcome import KgCountyOutcome, county_outcome
from layoutopt.results import SECTION_ROW_COLUMNS
from layoutopt.scenario import KindergartenSection, Scenario
from layoutopt.state import PlanState


class Action(StrEnum):
    NEW_KINDERGARTEN = "new_kindergarten"
    CONVERT_BUILDING = "convert_building"
    EXPAND = "expand"
    RECOGNISE_INCLUSIVE = "recognise_inclusive"
    MERGE_INTO = "merge_into"
    CLOSE = "close"


PROJECT_ACTIONS = (Action.NEW_KINDERGARTEN, Action.CONVERT_BUILDING, Action.EXPAND)
# code | colour | 中文 | English | meaning
ACTIONS = base.action_table(
    Action,
    """
new_kindergarten | #1a9850 | 新建 | new kindergarten | a new public kindergarten at a new-housing or town-centre site
convert_building | #66bd63 | 改建 | convert a building | an emptied school building converted to a public kindergarten
expand | #2c7fb8 | 扩建 | expand | a public kindergarten adds classes (up to max_classes)
recognise_inclusive | #80cdc1 | 认定普惠 | recognise as inclusive | a private kindergarten recognised as inclusive (普惠) for a subsidy per place
merge_into | #d7301f | 合并撤销 | merge into another kindergarten | a small public kindergarten closes where places nearby are spare; its children go to the receivers named
close | #67001f | 关闭 | close (no children) | a small public kindergarten with no child expected within reach at the horizon closes
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


class Kindergarten(base.Programme):
    """学前教育: about 500 public projects so that every county meets its targets."""

    name = "kindergarten"
    title = "学前教育 Kindergarten places"
    actions = ACTIONS
    kpis = KPI_SPECS
    people = "children"
    school_columns = ("kind_after",)

    def prepare(self, state: PlanState, scenario: Scenario) -> KgNetwork:
        return build_network(state, scenario)

    def split(self, inputs: KgNetwork) -> dict[str, KgCounty]:
        demand = inputs.demand
        growth = frozenset(demand.loc[demand["growth_area"], "demand_id"])
        kinds = demand.set_index("demand_id")["kind"]
        county_of = demand.set_index("demand_id")["region_id"]
        ids = list(inputs.region_ids)
        # Each table cut in one pass, not once a county.
        tables = {
            "kgs": by_region(inputs.kindergartens, inputs.kindergartens["region_id"], ids),
            "sites": by_region(inputs.sites, inputs.sites["region_id"], ids),
            "demand": by_region(demand, demand["region_id"], ids),
            "reach": by_region(
                inputs.reach, county_of.reindex(inputs.reach["demand_id"]).to_numpy(), ids
            ),
        }
        return {
            r: county_input(inputs, r, growth, kinds, **{k: t[r] for k, t in tables.items()})
            for r in ids
        }

    def today_problem(self, region: KgCounty) -> LocationProblem:
        return problems.today_problem(region.problem, region.section)

    def plan_problem(
        self, region: KgCounty, today: LocationSolution, price: float | None
    ) -> LocationProblem:
        return problems.plan_problem(region.problem, region.section, price or 0.0, today)

    def extract(self, region: KgCounty, solves: base.RegionSolves) -> base.RegionOutcome:
        table = option_table(region.problem, region.section)
        plan = KgCountyPlan(region.problem, table, solves.today, solves.plan)
        outcome = county_outcome(plan, region.section, region.names)
        schools = county_schools_after(region, outcome)
        whole = outcome.whole
        return base.RegionOutcome(
            region_id=outcome.region_id,
            changes=outcome.changes,
            schools=schools,
            counts=county_counts(region, outcome, plan),
            detail={
                "unplaced_today": float(whole.today.get(NO_SEAT, 0)),
                "unplaced_after": float(whole.after.get(NO_SEAT, 0)),
                "service_km": _service_areas(region, outcome),
            },
            sections=kindergarten_sections(schools, region.sites),
            flows=section_flows(whole.pairs, "kindergarten", outcome.region_id),
            accounts=[
                {
                    "region_id": outcome.region_id,
                    "section": "kindergarten",
                    # Children are shares of the cohort: their whole total.
                    "students_horizon": float(whole.today.sum()),
                    "unplaced_horizon_today": float(whole.today.get(NO_SEAT, 0)),
                    "unplaced_after": float(whole.after.get(NO_SEAT, 0)),
                    "far_without_bed_after": 0.0,
                }
            ],
        )

    def indicators(
        self, inputs: KgNetwork, scope: str, totals: pd.Series, outcomes: list[base.RegionOutcome]
    ) -> list[base.Kpi]:
        return indicators(scope, totals, inputs.section)

    def count_target(self, inputs: KgNetwork) -> base.CountTarget | None:
        # The plan's "about 500" public projects, steered by a price on each project.
        section = inputs.section
        if section.projects is None:
            return None
        return base.CountTarget(
            "projects",
            *section.projects,
            start=section.project_price_start,
            step=section.price_step,
            evaluations=section.price_evaluations,
        )

    def finish(self, inputs: KgNetwork, outcomes: list[base.RegionOutcome]) -> base.Finish:
        service = [o.detail["service_km"] for o in outcomes if len(o.detail["service_km"])]
        return base.Finish(
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
    network: KgNetwork,
    region_id: str,
    growth: frozenset[str],
    kinds: pd.Series,
    *,
    kgs: pd.DataFrame,
    sites: pd.DataFrame,
    demand: pd.DataFrame,
    reach: pd.DataFrame,
) -> KgCounty:
    """One county's inputs; ``growth``: the province's growth or migrant settlements,
    ``kinds``: every settlement's kind; ``kgs``, ``sites``, ``demand`` and ``reach``: its
    rows of the network's tables (reach: the trips from its settlements)."""
    children = demand.loc[demand["children"] > 0, ["demand_id", "children"]]
    reach = reach[reach["demand_id"].isin(children["demand_id"])]
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
        kgs=kgs[["school_id", "kind", "capacity", "classes", "enrolment", "demand_id"]]
        .astype({"demand_id": str})
        .reset_index(drop=True),
        sites=sites[["place_id", "action", "max_classes", "demand_id"]]
        .astype({"demand_id": str})
        .reset_index(drop=True),
        demand=children.reset_index(drop=True),
        reach=reach.reset_index(drop=True),
        growth_places=frozenset(places[hosts.reindex(places).isin(growth).to_numpy()]),
        floors=register_shares(network.baseline.get(region_id, {})),
        decided=network.decided.loc[
            network.decided["region_id"] == region_id, ["decision", "target_id"]
        ],
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


def county_counts(region: KgCounty, outcome: KgCountyOutcome, plan: KgCountyPlan) -> dict:
    """The county's figures before (register, base year) and after the plan (KPI counts)."""
    b = outcome.buildings
    register = region.baseline
    demand = region.demand
    project_rows = b[b["action"].isin(PROJECT_ACTIONS)]
    growth = set(demand.loc[demand["growth_area"], "demand_id"])
    counts = {a.value: int((b["action"] == a).sum()) for a in Action}
    enrolled_after = float(b["children_after"].sum()) if len(b) else 0.0
    capital = capital_yuan(b, region.section)
    return {
        **capital,
        "capital_yuan_total": sum(capital.values()),
        "children_register": float(register.get("children", 0.0)),
        "enrolled_register": float(
            sum(register.get(k, 0.0) for k in ("public", "inclusive_private", "other_private"))
        ),
        "inclusive_register": float(
            register.get("public", 0.0) + register.get("inclusive_private", 0.0)
        ),
        "public_register": float(register.get("public", 0.0)),
        "children_after": float(demand["children"].sum()),
        "enrolled_after": enrolled_after,
        "inclusive_after": float(b.loc[b["kind_after"] != "other_private", "children_after"].sum()),
        "public_after": float(b.loc[b["kind_after"] == PUBLIC, "children_after"].sum()),
        "places_added": float(
            (project_rows["capacity_after"] - project_rows["capacity_register"]).sum()
        ),
        "projects": int((plan.options["project"].to_numpy() & plan.plan.is_open).sum()),
        **counts,
        "unenrolled": float(outcome.whole.after.get(NO_SEAT, 0)),
        "children_growth": float(demand.loc[demand["growth_area"], "children"].sum()),
        "projects_growth": int(region.hosts.reindex(project_rows["place_id"]).isin(growth).sum()),
        "shortfall_rows": sum(1 for c in outcome.changes if c["action"] == "shortfall"),
    }


def register_shares(register: dict[str, float]) -> dict[str, float]:
    """The county's register (base-year) shares: public and inclusive places among the
    children enrolled, and the children enrolled among those aged 3-5."""
    enrolled = sum(register.get(k, 0.0) for k in ("public", "inclusive_private", "other_private"))
    if not enrolled:
        return {}
    inclusive = register.get("public", 0.0) + register.get("inclusive_private", 0.0)
    children = register.get("children", 0.0)
    return {
        "public": register.get("public", 0.0) / enrolled,
        "inclusive": inclusive / enrolled,
        "enrolment": enrolled / children if children else 0.0,
    }


def capital_yuan(b: pd.DataFrame, section: KindergartenSection) -> dict[str, float]:
    """Capital cost by kind of project, yuan, at the scenario's unit costs (unweighted: the
    objective's priority factor and project price are weights, not money)."""
    added = (b["classes_after"] - b["classes_register"]).clip(lower=0) * section.class_cost
    fixed = {
        Action.NEW_KINDERGARTEN: section.new_cost,
        Action.CONVERT_BUILDING: section.convert_cost,
        Action.EXPAND: section.expand_cost,
    }
    out = {
        f"capital_yuan_{action}": float(((b["action"] == action) * (cost + added)).sum())
        for action, cost in fixed.items()
    }
    recognised = b["action"] == Action.RECOGNISE_INCLUSIVE
    out["capital_yuan_recognise_inclusive"] = float(
        (b.loc[recognised, "capacity_register"] * section.recognise_cost_per_child).sum()
    )
    return out


def _service_areas(region: KgCounty, outcome: KgCountyOutcome) -> pd.Series:
    """Each project's service radius (km): the radius of the settlement it stands in."""
    b = outcome.buildings
    built = b.loc[b["action"].isin(PROJECT_ACTIONS), "place_id"] if len(b) else []
    radius = region.host_kinds.reindex(region.hosts.reindex(built)).map(region.section.radius_km)
    return pd.Series(radius.to_numpy(float), index=list(built)).dropna()


def county_schools_after(region: KgCounty, outcome: KgCountyOutcome) -> pd.DataFrame:
    """The county's kindergartens and opened sites, as rows of schools_after: the register,
    the horizon's children in today's network, and the plan."""
    b = outcome.buildings
    if b.empty:
        return pd.DataFrame()
    b = b.set_index("place_id")
    kgs = region.kgs.set_index("school_id")
    sites = region.sites.set_index("place_id")
    existing = b["existing"].to_numpy(bool)
    ids = b.index.to_numpy()

    def pick(column: str, site_value: object = None) -> np.ndarray:
        at_site = sites[column].reindex(ids).to_numpy() if site_value is None else site_value
        return np.where(existing, kgs[column].reindex(ids).to_numpy(), at_site)

    whole = {
        "students_register": pick("enrolment", 0),
        "students_horizon_today": b["children_horizon_today"],
        "students_after": b["children_after"],
        "size_register": b["classes_register"],
        "size_after": b["classes_after"],
        "capacity_register": b["capacity_register"],
        "capacity_after": b["capacity_after"],
    }
    return pd.DataFrame(
        {
            "school_id": ids,
            "level": "kindergarten",
            "region_id": pick("region_id"),
            "open": b["open"].to_numpy(bool),
            **{k: np.round(np.asarray(v, float)).astype(np.int64) for k, v in whole.items()},
            "size_unit": "classes",
            "beds_register": 0,
            "beds_after": 0,
            "name": pick("name"),
            "ownership": np.where(b["kind_after"] == PUBLIC, "public", "private"),
            "quality_tier": "",
            "kind_after": b["kind_after"].to_numpy(),
            "geometry": pick("geometry"),
        }
    )


def kindergarten_sections(schools: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """The county's kindergartens (and opened sites) as the ledger's sections."""
    if schools.empty:
        return pd.DataFrame(columns=SECTION_ROW_COLUMNS)
    new = schools["school_id"].isin(sites["place_id"]).to_numpy()
    return pd.DataFrame(
        {
            "school_id": schools["school_id"].to_numpy(),
            "section": "kindergarten",
            "level": "kindergarten",
            "ownership": schools["ownership"].to_numpy(),
            "region_id": schools["region_id"].astype(str).to_numpy(),
            "name": schools["name"].to_numpy(),
            "new": new,
            "site_id": np.where(new, schools["school_id"], ""),
            "open": schools["open"].to_numpy(bool),
            "size_after": schools["size_after"].to_numpy(np.int64),
            "capacity_after": schools["capacity_after"].to_numpy(np.int64),
            "students_horizon_today": schools["students_horizon_today"].to_numpy(float),
            "students_after": schools["students_after"].to_numpy(float),
            "beds_added": 0,
            "beds_after": 0,
            "bed_need_after": 0.0,
            "geometry": schools["geometry"].to_numpy(),
        }
    )
