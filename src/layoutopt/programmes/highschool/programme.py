"""Run the high-school programme county by county and gather its review tables."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.data.dataset import Dataset
from layoutopt.programmes.common import changes_table, solver_options
from layoutopt.programmes.highschool.county import CountyInput, plan_county
from layoutopt.programmes.highschool.greedy import GreedyOutcome, greedy_county
from layoutopt.programmes.highschool.kpis import indicators
from layoutopt.programmes.highschool.network import Network, build_network
from layoutopt.programmes.highschool.outcome import CountyOutcome, county_outcome
from layoutopt.results import SCHOOL_AFTER_COLUMNS, ProgrammeResult
from layoutopt.scenario import HighSchoolSection, Scenario

PROGRAMME = "highschool"
ACTION_ORDER = [
    "merge_into",
    "new_school",
    "expand",
    "hold_large",
    "keep_small_exempt",
    "shortfall",
]


def run(
    dataset: Dataset, scenario: Scenario, say: Callable[[str], None] | None = None
) -> ProgrammeResult:
    say = say or (lambda _msg: None)
    section = scenario.highschool
    say("high schools: students at the horizon and travel to schools and sites")
    network = build_network(dataset, scenario)
    options = solver_options(scenario)
    names = _names(network)
    outcomes, greedy, summaries, solves = [], [], [], []
    regions = sorted(network.regions["region_id"])
    for i, region_id in enumerate(regions, 1):
        county = county_input(network, region_id)
        plan = plan_county(county, section, network.stream_size, options)
        outcome = county_outcome(plan, section, network.stream_size, names)
        baseline = greedy_county(plan, outcome.today, section, network.stream_size)
        outcomes.append(outcome)
        greedy.append(baseline)
        summaries.append(county_summary(network, outcome, baseline, section))
        solves += [plan.today.report, plan.plan.report]
        if i % 20 == 0 or i == len(regions):
            say(f"high schools: {i}/{len(regions)} counties planned")
    counties = pd.DataFrame(summaries).merge(
        network.regions[["region_id", "prefecture_id"]], on="region_id"
    )
    kpis = indicators(
        counties,
        _flows(outcomes, "today"),
        _flows(outcomes, "after"),
        section,
        float(network.schools["senior_enrolment"].sum()),
    )
    return ProgrammeResult(
        programme=PROGRAMME,
        title="普通高中布局调整 High-school consolidation",
        changes=changes_frame(outcomes, network, names),
        kpis=kpis,
        schools_after=schools_after_frame(network, outcomes),
        solves=solves,
        summary={
            "projection": network.projection,
            "stream_size_students": network.stream_size,
            "greedy_comparison": _greedy_summary(counties),
            "greedy_merges": {k: v for g in greedy for k, v in sorted(g.merges.items())},
        },
    )


def county_input(network: Network, region_id: str) -> CountyInput:
    schools = network.schools
    public = schools[(schools["region_id"] == region_id) & (schools["ownership"] == "public")]
    sites = network.sites[network.sites["region_id"] == region_id]
    demand = network.demand[network.demand["region_id"] == region_id]
    demand = demand.loc[demand["public_students"] > 0, ["demand_id", "public_students"]]
    places = set(public["school_id"]) | set(sites["place_id"])
    travel = network.travel[
        network.travel["demand_id"].isin(demand["demand_id"])
        & network.travel["place_id"].isin(places)
    ]
    return CountyInput(
        region_id=region_id,
        schools=public[["school_id", "streams", "must_keep", "level"]].reset_index(drop=True),
        sites=sites[["place_id", "max_streams"]].reset_index(drop=True),
        demand=demand.rename(columns={"public_students": "students"}).reset_index(drop=True),
        travel=travel[["place_id", "demand_id", "minutes"]].reset_index(drop=True),
    )


def county_summary(
    network: Network, outcome: CountyOutcome, greedy: GreedyOutcome, section: HighSchoolSection
) -> dict:
    """The county's counts before and after the plan, and the greedy plan's."""
    places = outcome.places
    schools = network.schools[network.schools["region_id"] == outcome.region_id]
    public = schools[schools["ownership"] == "public"].set_index("school_id")
    private = schools[schools["ownership"] != "public"]
    open_public = places[places["open"]]
    quality = public["quality_tier"].isin(section.quality_tiers)
    open_quality = open_public["place_id"].isin(public.index[quality])
    small = section.small_max_streams
    exempt = sum(1 for c in outcome.changes if c["action"] == "keep_small_exempt")
    large = section.max_streams
    plan_cost = (
        places.loc[places["open"], "modules"].sum() * section.stream_cost
        + (places["open"] & (places["kind"] == "site")).sum() * section.new_school_cost
    )
    today_travel = _travel_sum(outcome.today)
    return {
        "region_id": outcome.region_id,
        "students": float(
            network.demand.loc[network.demand["region_id"] == outcome.region_id, "students"].sum()
        ),
        "small_before": int((public["streams"] <= small).sum()),
        "small_after": int((open_public["streams_after"] <= small).sum()),
        "small_not_exempt": int((open_public["streams_after"] <= small).sum()) - exempt,
        "above_before": int((schools["streams"] > large).sum()),
        "above_after": int((open_public["streams_after"] > large).sum())
        + int((private["streams"] > large).sum()),
        "grown_above": int(
            ((open_public["streams_after"] > large) & (open_public["modules"] > 0)).sum()
        ),
        "no_public_before": int(public.empty),
        "no_public_after": int(open_public.empty),
        "no_quality_before": int(not quality.any()),
        "no_quality_after": int(not open_quality.any()),
        "unseated_today": _unseated(outcome.today),
        "unseated_after": _unseated(outcome.after),
        "streams_added": int(places.loc[places["open"], "modules"].sum()),
        "new_schools": int((places["open"] & (places["kind"] == "site")).sum()),
        "beds_added": float(places["beds_added"].sum()),
        "plan_cost": float(plan_cost),
        "plan_added_travel": _travel_sum(outcome.after) - today_travel,
        "greedy_small_left": greedy.small_schools_left,
        "greedy_streams_added": greedy.streams_added,
        "greedy_cost": greedy.streams_added * section.stream_cost,
        "greedy_added_travel": greedy.travel_student_min - today_travel,
        "greedy_unseated": greedy.unseated,
    }


def _travel_sum(flows: pd.DataFrame) -> float:
    seated = flows[flows["place_id"] != ""]
    return float((seated["students"] * seated["minutes"]).sum())


def _unseated(flows: pd.DataFrame) -> float:
    return float(flows.loc[flows["place_id"] == "", "students"].sum())


def _flows(outcomes: list[CountyOutcome], which: str) -> pd.DataFrame:
    frames = [getattr(o, which).assign(region_id=o.region_id) for o in outcomes]
    return pd.concat([f for f in frames if len(f)], ignore_index=True)


def _names(network: Network) -> pd.Series:
    schools = network.schools.set_index("school_id")["name"]
    sites = network.sites.set_index("place_id")["name"]
    return pd.concat([schools, sites])


def changes_frame(
    outcomes: list[CountyOutcome], network: Network, names: pd.Series
) -> pd.DataFrame:
    rows = [dict(change, region_id=o.region_id) for o in outcomes for change in o.changes]
    return changes_table(rows, network.regions, names, PROGRAMME, ACTION_ORDER)


def schools_after_frame(network: Network, outcomes: list[CountyOutcome]) -> gpd.GeoDataFrame:
    places = pd.concat([o.places for o in outcomes], ignore_index=True).set_index("place_id")
    actions = _main_actions(outcomes)
    stream = network.stream_size
    schools = network.schools.copy()
    public = schools["ownership"] == "public"
    at = places.reindex(schools["school_id"])
    schools["open"] = np.where(public, at["open"].fillna(False).astype(bool), True)
    schools["streams_after"] = np.where(public, at["streams_after"], schools["streams"])
    schools["enrolment_after"] = np.where(
        public, at["enrolment_after"], schools["enrolment_private_after"]
    )
    schools["enrolment_before"] = np.where(
        public, at["enrolment_today"], schools["enrolment_private_after"]
    )
    beds = schools["boarding_beds"] + np.where(public, at["beds_added"].fillna(0), 0)
    schools["boarding_beds_after"] = np.where(schools["open"], beds, 0)
    new = _new_schools(network, places)
    frame = pd.concat([schools, new], ignore_index=True)
    frame["streams_after"] = frame["streams_after"].fillna(0).astype(np.int64)
    frame["capacity_after"] = frame["streams_after"] * stream
    frame["streams_before"] = frame["streams"].astype(np.int64)
    frame["action"] = actions.reindex(frame["school_id"]).fillna("keep").to_numpy()
    frame.loc[~frame["open"].astype(bool) & (frame["action"] == "keep"), "action"] = "closed"
    for column in ("enrolment_after", "enrolment_before", "boarding_beds_after"):
        frame[column] = frame[column].fillna(0).round().astype(np.int64)
    regions = network.regions.set_index("region_id")
    frame["county"] = regions["county"].reindex(frame["region_id"]).to_numpy()
    frame["prefecture"] = regions["prefecture"].reindex(frame["region_id"]).to_numpy()
    extra = ["name", "county", "prefecture", "ownership", "quality_tier", "streams_before"]
    extra += ["enrolment_before", "action"]
    frame = frame.sort_values("school_id", kind="stable")
    return gpd.GeoDataFrame(
        frame[SCHOOL_AFTER_COLUMNS + extra + ["geometry"]].reset_index(drop=True),
        geometry="geometry",
        crs=network.schools.crs,
    )


def _new_schools(network: Network, places: pd.DataFrame) -> pd.DataFrame:
    opened = places[(places["kind"] == "site") & places["open"]]
    sites = network.sites.set_index("place_id").loc[opened.index]
    return pd.DataFrame(
        {
            "school_id": opened.index.to_numpy(),
            "name": sites["name"].to_numpy(),
            "level": "senior_high",
            "ownership": "public",
            "quality_tier": "standard",
            "region_id": sites["region_id"].to_numpy(),
            "open": True,
            "streams": 0,
            "streams_after": opened["streams_after"].to_numpy(),
            "enrolment_after": opened["enrolment_after"].to_numpy(),
            "enrolment_before": 0,
            "boarding_beds": 0,
            "boarding_beds_after": opened["beds_added"].to_numpy(),
            "geometry": sites["geometry"].to_numpy(),
        }
    )


def _main_actions(outcomes: list[CountyOutcome]) -> pd.Series:
    """Each school's headline action: the first in ACTION_ORDER among its rows."""
    rows = [
        (c["school_id"], ACTION_ORDER.index(c["action"]), c["action"])
        for o in outcomes
        for c in o.changes
        if c["school_id"]
    ]
    frame = pd.DataFrame(rows, columns=["school_id", "order", "action"])
    frame = frame.sort_values(["school_id", "order"]).drop_duplicates("school_id")
    return frame.set_index("school_id")["action"]


def _greedy_summary(counties: pd.DataFrame) -> dict:
    keys = {
        "small_schools_left": ("small_after", "greedy_small_left"),
        "streams_added": ("streams_added", "greedy_streams_added"),
        "expansion_cost_student_min_equiv": ("plan_cost", "greedy_cost"),
        "added_travel_student_min": ("plan_added_travel", "greedy_added_travel"),
        "students_without_seat": ("unseated_after", "greedy_unseated"),
    }
    return {
        key: {
            "plan": round(float(counties[p].sum()), 1),
            "greedy": round(float(counties[g].sum()), 1),
        }
        for key, (p, g) in keys.items()
    }


__all__ = ["run"]
