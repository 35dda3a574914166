"""What the kindergarten programme works on: places, children at the horizon, sites, reach.

Children aged 3-5 at the horizon come from the census cohorts and the province's births
after the census (``demand.cohorts.children_at_horizon``). Falling births leave most
rural places spare while growth areas lack them, so each settlement's share is then
weighted by its growth class and its migrant share (``growth_weight``, ``migrant_weight``)
and the province total kept. Places needed = children × the target enrolment rate.

Kindergartens are of three kinds: public, inclusive private (普惠民办) and other private.
A settlement is served by the places within its service radius (straight line, by
settlement kind).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.data.dataset import Dataset
from layoutopt.demand.cohorts import children_at_horizon
from layoutopt.errors import LayoutoptError
from layoutopt.programmes.common import site_names, travel_within_county
from layoutopt.scenario import KindergartenSection, Scenario
from layoutopt.state import PlanState

PUBLIC, INCLUSIVE_PRIVATE, OTHER_PRIVATE = "public", "inclusive_private", "other_private"


@dataclass
class KgNetwork:
    section: KindergartenSection
    class_size: int  # children per class (norms)
    region_ids: list[str]  # every county of the data set
    kindergartens: gpd.GeoDataFrame  # with kind, capacity, classes, enrolment, demand_id
    demand: pd.DataFrame  # demand_id, region_id, kind, children, places, growth_area
    sites: gpd.GeoDataFrame  # place_id, region_id, action (new|convert), max_classes, name
    reach: pd.DataFrame  # place_id, demand_id, distance_km (within the radius)
    baseline: dict[str, dict[str, float]] = field(default_factory=dict)  # base-year figures
    decided: pd.DataFrame = field(default_factory=pd.DataFrame)  # the review's decisions


def build_network(state: PlanState, scenario: Scenario) -> KgNetwork:
    """Kindergartens as the programmes before left them, children, sites and reach."""
    dataset = state.dataset
    section = scenario.kindergarten
    kgs = _kindergartens(state)
    demand = _children(dataset, scenario)
    sites = _sites(dataset, state.ledger.available_sites()["site_id"], section)
    travel = travel_within_county(dataset, scenario, kgs, sites, k_nearest=section.k_nearest)
    radius = demand.set_index("demand_id")["kind"].map(section.radius_km)
    within = travel["distance_km"].to_numpy() <= radius.reindex(travel["demand_id"]).to_numpy()
    reach = travel.loc[within, ["place_id", "demand_id", "distance_km", "minutes"]]
    reach = reach.reset_index(drop=True)
    return KgNetwork(
        section,
        scenario.norms.class_size["kindergarten"],
        sorted(dataset.regions["region_id"].astype(str)),
        kgs,
        demand,
        sites,
        reach,
        _baseline(dataset, kgs, section.ages),
        state.decisions.of("kindergarten"),
    )


def _kindergartens(state: PlanState) -> gpd.GeoDataFrame:
    kgs = state.open_schools(["kindergarten"]).copy()
    if kgs.empty:
        raise LayoutoptError("no kindergartens in the schools table (level 'kindergarten')")
    public = kgs["ownership"] == "public"
    kgs["kind"] = np.where(
        public, PUBLIC, np.where(kgs["inclusive"].astype(bool), INCLUSIVE_PRIVATE, OTHER_PRIVATE)
    )
    return kgs.sort_values("school_id").reset_index(drop=True)


def _children(dataset: Dataset, scenario: Scenario) -> pd.DataFrame:
    section = scenario.kindergarten
    demand = dataset.demand
    unknown = sorted(set(demand["kind"]) - set(section.radius_km))
    if unknown:
        raise LayoutoptError(
            f"kindergarten.radius_km has no radius for settlement kind(s) {unknown} "
            "(fix: add them to kindergarten.radius_km)"
        )
    _check_births(demand, section, scenario.base_year)
    children = children_at_horizon(
        demand, section.ages, scenario.base_year, scenario.horizon_year, section.births
    ).to_numpy()
    growth = demand["growth"].fillna("stable") if "growth" in demand else "stable"
    weight = pd.Series(growth).map(section.growth_weight).fillna(0.0).to_numpy() + 1.0
    weight *= 1.0 + section.migrant_weight * demand["migrant_share"].to_numpy(float)
    weighted = children * weight
    if weighted.sum() > 0:
        weighted *= children.sum() / weighted.sum()  # the province total is the births'
    out = pd.DataFrame(
        {
            "demand_id": demand["demand_id"].astype(str).to_numpy(),
            "region_id": demand["region_id"].astype(str).to_numpy(),
            "kind": demand["kind"].to_numpy(),
            "children": weighted,
            "places": weighted * section.enrolment_rate,
            "growth_area": (np.asarray(growth) == "growing")
            | (demand["migrant_share"].to_numpy(float) >= section.migrant_area_share),
        }
    )
    return out.sort_values("demand_id").reset_index(drop=True)


def _check_births(demand: pd.DataFrame, section: KindergartenSection, base_year: int) -> None:
    """The births series must belong to this data set's province: its base-year figure
    must be close to the census cohort aged 0 (else the defaults of another province are
    being used)."""
    given = section.births.get(str(base_year))
    census = float(demand["age_0"].sum())
    if given is None or census <= 0:
        return
    if abs(given / census - 1) > section.births_tolerance:
        raise LayoutoptError(
            f"kindergarten.births gives {given:,} births in {base_year} but the census counts "
            f"{census:,.0f} children aged 0 (fix: set kindergarten.births to this province's "
            "births by year)"
        )


def _sites(dataset: Dataset, free: pd.Series, section: KindergartenSection) -> gpd.GeoDataFrame:
    """Candidate sites no programme before has taken, by what may be done there."""
    columns = ["place_id", "region_id", "action", "max_classes", "name", "demand_id", "geometry"]
    if dataset.sites is None:
        return gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=dataset.schools.crs)
    sites = dataset.sites[dataset.sites["site_id"].isin(set(free))].copy()
    sites["action"] = np.where(
        sites["kind"].isin(section.convert_site_kinds),
        "convert_building",
        np.where(sites["kind"].isin(section.new_site_kinds), "new_kindergarten", ""),
    )
    sites = sites[sites["action"] != ""].copy()
    sites["max_classes"] = np.minimum(sites["max_classes"], section.max_classes)
    sites = sites[
        sites["max_classes"]
        >= np.where(sites["action"] == "new_kindergarten", section.new_min_classes, 1)
    ]
    label = np.where(sites["action"] == "new_kindergarten", "新建公办幼儿园", "改建公办幼儿园")
    sites["name"] = site_names(dataset, sites, label)
    sites = sites.rename(columns={"site_id": "place_id"})
    if "demand_id" not in sites:
        sites["demand_id"] = ""
    return sites[columns].sort_values("place_id").reset_index(drop=True)


def _baseline(dataset: Dataset, kgs: pd.DataFrame, ages: list[int]) -> dict[str, dict[str, float]]:
    """The data set's own (base-year) figures, per county: children 3-5, enrolled by kind."""
    demand = dataset.demand
    children = demand[[f"age_{a}" for a in ages]].sum(axis=1).groupby(demand["region_id"]).sum()
    enrolled = kgs.groupby(["region_id", "kind"])["enrolment"].sum().unstack(fill_value=0)
    table = enrolled.reindex(children.index, fill_value=0).assign(children=children)
    for kind in (PUBLIC, INCLUSIVE_PRIVATE, OTHER_PRIVATE):
        if kind not in table:
            table[kind] = 0
    return table.to_dict(orient="index")
