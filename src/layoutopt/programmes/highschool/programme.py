"""The high-school programme's definition: its inputs, county problems and outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import geopandas as gpd
import pandas as pd

from layoutopt.engine import LocationProblem, LocationSolution
from layoutopt.programmes import base
from layoutopt.programmes.common import section_flows
from layoutopt.programmes.flows import NO_SEAT, travel_sum
from layoutopt.programmes.highschool import county as problems
from layoutopt.programmes.highschool.county import CountyInput, county_plan
from layoutopt.programmes.highschool.greedy import GreedyOutcome, greedy_county
from layoutopt.programmes.highschool.kpis import KPI_SPECS, indicators
from layoutopt.programmes.highschool.network import Network, build_network, county_networks
from layoutopt.programmes.highschool.outcome import CountyOutcome, county_outcome
from layoutopt.programmes.streams import stream_schools_after, stream_sections
from layoutopt.scenario import HighSchoolSection, Scenario
from layoutopt.state import PlanState


class Action(StrEnum):
    MERGE_INTO = "merge_into"
    NEW_SCHOOL = "new_school"
    EXPAND = "expand"
    ADD_BEDS = "add_beds"
    HOLD_LARGE = "hold_large"
    KEEP_SMALL_EXEMPT = "keep_small_exempt"


# code | colour | 中文 | English | meaning
ACTIONS = base.action_table(
    Action,
    """
merge_into | #d7301f | 合并撤销 | merge into another school | a small school (≤ small_max_streams) closes; its students go to the receiver
new_school | #1a9850 | 新建 | new school | a new public high school at a candidate site, for students no school can seat
expand | #2c7fb8 | 扩建 | expand | a school adds streams (up to max_streams) for the students it receives
add_beds | #74a9cf | 增加床位 | add boarding beds | a school adds beds only: students it receives live beyond boarding_travel_min
hold_large | #7b3294 | 控制规模 | above the cap, held | a school already above max_streams: held at its size, never grown
keep_small_exempt | #fdae61 | 保留小规模 | small, kept (exempt) | a small school the plan keeps, with the reason it may not merge
""",
)


@dataclass(frozen=True)
class County:
    """What the runner hands a worker for one county."""

    problem: CountyInput
    section: HighSchoolSection
    stream_size: int
    schools: gpd.GeoDataFrame  # every high school of the county, public and private
    sites: gpd.GeoDataFrame  # its candidate sites
    students: float  # all its students at the horizon, public and private
    names: pd.Series  # school and site names by id


class HighSchool(base.Programme):
    """普通高中布局调整: merge small schools, hold large ones, expand or build (plan 5.(3))."""

    name = "highschool"
    title = "普通高中布局调整 High-school consolidation"
    actions = ACTIONS
    kpis = KPI_SPECS

    def prepare(self, state: PlanState, scenario: Scenario) -> Network:
        return build_network(state, scenario)

    def split(self, inputs: Network) -> dict[str, County]:
        return {r: county_input(county, r) for r, county in county_networks(inputs)}

    def today_problem(self, region: County) -> LocationProblem:
        return problems.today_problem(region.problem, region.section, region.stream_size)

    def plan_problem(
        self, region: County, today: LocationSolution, price: float | None
    ) -> LocationProblem:
        return problems.plan_problem(region.problem, today, region.section, region.stream_size)

    def extract(self, region: County, solves: base.RegionSolves) -> base.RegionOutcome:
        section = region.section
        plan = county_plan(region.problem, section, solves.today, solves.plan)
        outcome = county_outcome(plan, section, region.stream_size, region.names)
        greedy = greedy_county(plan, outcome.today, section, region.stream_size)
        schools = county_schools_after(region, outcome)
        places = outcome.places.set_index("place_id")
        return base.RegionOutcome(
            region_id=outcome.region_id,
            changes=outcome.changes,
            schools=schools,
            counts=county_counts(region, outcome, greedy),
            detail={"today": outcome.today, "after": outcome.after, "greedy": greedy.merges},
            sections=stream_sections(schools, places, "senior", region.sites.set_index("place_id")),
            flows=section_flows(outcome.whole.pairs, "senior", outcome.region_id),
            accounts=[
                {
                    "region_id": outcome.region_id,
                    "section": "senior",
                    "students_horizon": region.students,
                    "unplaced_horizon_today": float(outcome.whole.today.get(NO_SEAT, 0)),
                    "unplaced_after": float(outcome.whole.after.get(NO_SEAT, 0)),
                    "far_without_bed_after": 0.0,
                }
            ],
        )

    def indicators(
        self, inputs: Network, scope: str, totals: pd.Series, outcomes: list[base.RegionOutcome]
    ) -> list[base.Kpi]:
        enrolled_today = float(inputs.schools["senior_enrolment"].sum())
        return indicators(scope, totals, outcomes, inputs.section, enrolled_today)

    def finish(self, inputs: Network, outcomes: list[base.RegionOutcome]) -> base.Finish:
        # The plan against the greedy baseline is in kpis.csv (*_vs_greedy); here, its merges.
        return base.Finish(
            summary={
                "projection": inputs.projection,
                "stream_size_students": inputs.stream_size,
                "greedy_merges": {
                    k: v for o in outcomes for k, v in sorted(o.detail["greedy"].items())
                },
            }
        )


def county_input(network: Network, region_id: str) -> County:
    schools = network.schools[network.schools["region_id"] == region_id]
    public = schools[schools["ownership"] == "public"]
    sites = network.sites[network.sites["region_id"] == region_id]
    demand = network.demand[network.demand["region_id"] == region_id]
    students = float(demand["students"].sum())
    demand = demand.loc[demand["public_students"] > 0, ["demand_id", "public_students"]]
    places = set(public["school_id"]) | set(sites["place_id"])
    travel = network.travel[
        network.travel["demand_id"].isin(demand["demand_id"])
        & network.travel["place_id"].isin(places)
    ]
    problem = CountyInput(
        region_id=region_id,
        schools=public[["school_id", "streams", "must_keep", "level"]].reset_index(drop=True),
        sites=sites[["place_id", "max_streams"]].reset_index(drop=True),
        demand=demand.rename(columns={"public_students": "students"}).reset_index(drop=True),
        travel=travel[["place_id", "demand_id", "minutes"]].reset_index(drop=True),
        decided=network.decided.loc[
            network.decided["region_id"] == region_id, ["decision", "target_id"]
        ],
    )
    names = pd.concat([schools.set_index("school_id")["name"], sites.set_index("place_id")["name"]])
    return County(
        problem,
        network.section,
        network.stream_size,
        schools.reset_index(drop=True),
        sites.reset_index(drop=True),
        students,
        names,
    )


def county_counts(region: County, outcome: CountyOutcome, greedy: GreedyOutcome) -> dict:
    """The county's figures before and after the plan, and the greedy plan's (KPI counts)."""
    section = region.section
    places = outcome.places
    schools = region.schools
    public = schools[schools["ownership"] == "public"].set_index("school_id")
    private = schools[schools["ownership"] != "public"]
    open_public = places[places["open"]]
    quality = public["quality_tier"].isin(section.quality_tiers)
    open_quality = open_public["place_id"].isin(public.index[quality])
    small = section.small_max_streams
    # Every small school kept says why in its headline row, whatever that row's action.
    exempt = sum(1 for c in outcome.changes if "small, kept: " in c["reason"])
    large = section.max_streams
    new_schools = int((places["open"] & (places["kind"] == "site")).sum())
    streams_added = int(places.loc[places["open"], "modules"].sum())
    today_travel = travel_sum(outcome.today)
    capital = {  # yuan, at the scenario's unit costs (never the objective's weights)
        "capital_yuan_streams": streams_added * section.stream_capital_yuan,
        "capital_yuan_new_schools": new_schools * section.new_school_capital_yuan,
        "capital_yuan_beds": float(places.loc[places["open"], "beds_added"].sum())
        * section.bed_capital_yuan,
    }
    return {
        "students": region.students,
        "small_register": int((public["streams"] <= small).sum()),
        "small_after": int((open_public["streams_after"] <= small).sum()),
        "small_not_exempt": int((open_public["streams_after"] <= small).sum()) - exempt,
        "above_register": int((schools["streams"] > large).sum()),
        "above_after": int((open_public["streams_after"] > large).sum())
        + int((private["streams"] > large).sum()),
        "grown_above": int(
            ((open_public["streams_after"] > large) & (open_public["modules"] > 0)).sum()
        ),
        "no_public_register": int(public.empty),
        "no_public_after": int(open_public.empty),
        "no_quality_register": int(not quality.any()),
        "no_quality_after": int(not open_quality.any()),
        "unseated_horizon_today": float(outcome.whole.today.get(NO_SEAT, 0)),
        "unseated_after": float(outcome.whole.after.get(NO_SEAT, 0)),
        "streams_added": streams_added,
        "new_schools": new_schools,
        "beds_added": float(places.loc[places["open"], "beds_added"].sum()),
        **capital,
        "capital_yuan_total": sum(capital.values()),
        "plan_added_travel": travel_sum(outcome.after) - today_travel,
        "greedy_small_left": greedy.small_schools_left,
        "greedy_streams_added": greedy.streams_added,
        "greedy_capital_yuan_streams": greedy.streams_added * section.stream_capital_yuan,
        "greedy_added_travel": greedy.travel_student_min - today_travel,
        "greedy_unseated": greedy.unseated,
    }


def county_schools_after(region: County, outcome: CountyOutcome) -> pd.DataFrame:
    """The county's high schools (senior section) and each new school, as rows of
    schools_after. A private school keeps its share of the county's students and its
    streams."""
    schools = region.schools.assign(students_register=region.schools["senior_enrolment"])
    return stream_schools_after(
        schools,
        outcome.places.set_index("place_id"),
        schools["enrolment_private_after"].to_numpy(),
        region.stream_size,
        level="senior_high",
        sites=region.sites.set_index("place_id"),
    )
