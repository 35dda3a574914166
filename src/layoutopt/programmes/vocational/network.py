"""What the vocational programme works on: schools, students by county, sites and travel.

Students at the horizon are the settlements' cohort that will be aged 15-17, times the
stage's enrolment rate and the vocational share, scaled to the plan's own province figure
(``plan_students``, 45万 for Shanxi 2025). They are counted by county of residence: one
demand point per county, whose trip to a school is the students-weighted mean trip of its
settlements (a settlement that cannot reach the school within ``travel_cutoff_min`` counts
at the cut-off; a school that fewer than ``county_reach_share`` of a county's students can
reach is not offered to it).

Private schools are not the plan's to close or grow: each keeps its register students
grown at its prefecture's rate (within its capacity), and the rest are the public
network's to place. Each county's vocational education centre (职教中心) is named in the
scenario or, by default, is its largest public vocational school.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.data.dataset import Dataset
from layoutopt.errors import LayoutoptError
from layoutopt.programmes.common import (
    project_stage,
    round_keeping_total,
    site_names,
    travel_within_county,
)
from layoutopt.scenario import Scenario, VocationalSection
from layoutopt.state import PlanState

GENERAL_LEVELS = ("senior_high", "complete_secondary")  # for the general : vocational balance


@dataclass
class Network:
    section: VocationalSection
    stream_size: int  # students per stream: one class per grade
    standard_streams: int  # streams that hold the standard's students
    regions: pd.DataFrame  # region_id, county, prefecture_id, prefecture
    schools: gpd.GeoDataFrame  # every vocational school, with centre, students_private_after
    demand: pd.DataFrame  # region_id (the county), prefecture_id, students, public_students
    sites: gpd.GeoDataFrame  # candidate sites in counties without a public school
    travel: pd.DataFrame  # place_id, demand_id (a county), minutes
    general_register: pd.Series  # general high-school students by prefecture, register
    general_students: pd.Series  # the same at the horizon (see source)
    general_source: str  # "plan" (the high-school programme's) or "register"
    projection: dict[str, float] = field(default_factory=dict)
    high_level: pd.DataFrame | None = None  # the province-wide pick, once finish made it

    @property
    def prefecture_ids(self) -> list[str]:
        return sorted(set(self.regions["prefecture_id"]))


def build_network(state: PlanState, scenario: Scenario) -> Network:
    """The vocational schools as the programmes before left them, students and travel."""
    dataset = state.dataset
    section = scenario.vocational
    stream_size = scenario.norms.class_size["vocational"] * section.grades
    regions = _regions(dataset)
    schools = _schools(state, section, regions)
    students, projection = project_students(dataset.demand, scenario)
    demand = _county_demand(dataset, regions, schools, students, stream_size)
    sites = _candidate_sites(dataset, section, schools)
    settlement_travel = travel_within_county(
        dataset,
        scenario,
        schools,
        sites,
        k_nearest=len(schools) + len(sites),
        cutoff_min=section.travel_cutoff_min,
        by_prefecture=True,
    )
    travel = county_travel(
        dataset, students, settlement_travel, section.travel_cutoff_min, section.county_reach_share
    )
    general, source = _general_students(state, regions)
    register = _general_register(state, regions)
    return Network(
        section,
        stream_size,
        -(-section.standard_students // stream_size),
        regions,
        schools,
        demand,
        sites,
        travel,
        register,
        general,
        source,
        projection,
    )


def project_students(demand: pd.DataFrame, scenario: Scenario) -> tuple[pd.Series, dict]:
    """Whole vocational students per settlement at the horizon, and how."""
    section = scenario.vocational
    return project_stage(
        demand,
        scenario,
        "vocational",
        range(section.entry_age, section.entry_age + section.grades),
        section.enrolment_rate * section.vocational_share,
        section.plan_students,
        section.plan_students_tolerance,
    )


def _regions(dataset: Dataset) -> pd.DataFrame:
    regions = pd.DataFrame(dataset.regions.drop(columns="geometry"))
    regions = regions.rename(columns={"name": "county", "prefecture_name": "prefecture"})
    columns = ["region_id", "county", "prefecture_id", "prefecture"]
    return regions[columns].astype(str).sort_values("region_id").reset_index(drop=True)


def _schools(
    state: PlanState, section: VocationalSection, regions: pd.DataFrame
) -> gpd.GeoDataFrame:
    schools = state.open_schools(section.levels).copy()
    if schools.empty:
        raise LayoutoptError(
            f"no schools of levels {section.levels} in the data set "
            "(fix: check vocational.levels against the schools table's level words)"
        )
    ids = set(schools["school_id"])
    named = {"exempt": set(section.exempt), "centres": set(section.centres.values())}
    named |= {"high_level_pin": set(section.high_level_pin)}
    for key, wanted in named.items():
        unknown = sorted(wanted - ids)
        if unknown:
            raise LayoutoptError(
                f"vocational.{key} names schools that are not open vocational schools: "
                f"{', '.join(unknown)} (fix: use school_id values of the schools table)"
            )
    if "specialties" not in schools.columns:
        schools["specialties"] = ""
    schools["specialties"] = schools["specialties"].fillna("").astype(str)
    schools["students_register"] = schools["senior_enrolment"].fillna(schools["enrolment"])
    prefecture = regions.set_index("region_id")["prefecture_id"]
    schools["prefecture_id"] = prefecture.reindex(schools["region_id"]).to_numpy()
    schools["centre"] = _centres(schools, section)
    return schools.sort_values("school_id").reset_index(drop=True)


def _centres(schools: pd.DataFrame, section: VocationalSection) -> np.ndarray:
    """Each county's vocational education centre: named in the scenario, else its largest
    public school (by register students, then id)."""
    public = schools[schools["ownership"] == "public"]
    largest = public.sort_values(
        ["region_id", "students_register", "school_id"], ascending=[True, False, True]
    ).drop_duplicates("region_id")
    centre = dict(zip(largest["region_id"], largest["school_id"], strict=True))
    named = schools.set_index("school_id")["region_id"]
    for region_id, school_id in section.centres.items():
        if named.get(school_id) != region_id:
            raise LayoutoptError(
                f"vocational.centres: {school_id} is not a vocational school of county "
                f"{region_id} (fix: name one of that county's public vocational schools)"
            )
        centre[region_id] = school_id
    return schools["school_id"].isin(set(centre.values())).to_numpy()


def _county_demand(
    dataset: Dataset,
    regions: pd.DataFrame,
    schools: pd.DataFrame,
    students: pd.Series,
    stream_size: int,
) -> pd.DataFrame:
    """Students by county at the horizon; private schools keep their register students
    grown at their prefecture's rate, and the public network places the rest (each county
    giving the private schools the same share of its students)."""
    settlements = dataset.demand[["demand_id", "region_id"]].astype(str)
    by_county = students.reindex(settlements["demand_id"]).groupby(
        settlements["region_id"].to_numpy()
    )
    demand = regions[["region_id", "prefecture_id"]].copy()
    demand["students"] = by_county.sum().reindex(demand["region_id"]).fillna(0).to_numpy()
    horizon = demand.groupby("prefecture_id")["students"].sum()
    register = schools.groupby("prefecture_id")["students_register"].sum()
    growth = (horizon / register.reindex(horizon.index)).fillna(0.0)
    private = (schools["ownership"] != "public").to_numpy()
    grown = schools["students_register"] * growth.reindex(schools["prefecture_id"]).to_numpy()
    capacity = schools["streams"].to_numpy() * stream_size
    schools["students_private_after"] = np.where(
        private, np.minimum(np.round(grown), capacity), 0
    ).astype(np.int64)
    private_total = schools.groupby("prefecture_id")["students_private_after"].sum()
    share = 1 - (private_total.reindex(horizon.index).fillna(0) / horizon).fillna(0)
    public = demand["students"] * share.reindex(demand["prefecture_id"]).to_numpy()
    public.index = demand["region_id"].to_numpy()
    demand["public_students"] = (
        pd.concat(
            [
                round_keeping_total(part)
                for _, part in public.groupby(demand["prefecture_id"].to_numpy())
            ]
        )
        .reindex(demand["region_id"])
        .to_numpy()
    )
    return demand.reset_index(drop=True)


def county_travel(
    dataset: Dataset,
    students: pd.Series,
    travel: pd.DataFrame,
    cutoff_min: float,
    reach_share: float,
) -> pd.DataFrame:
    """Minutes from each county (its students' weighted mean trip) to each place."""
    settlements = dataset.demand[["demand_id", "region_id"]].astype(str)
    weight = students.reindex(settlements["demand_id"]).fillna(0).to_numpy(float)
    # Every settlement counts, with some weight: an empty county still has trips.
    weight = np.maximum(weight, 1e-6)
    county = pd.Series(settlements["region_id"].to_numpy(), index=settlements["demand_id"])
    w = pd.Series(weight, index=settlements["demand_id"].to_numpy())
    trips = travel.assign(
        county=county.reindex(travel["demand_id"]).to_numpy(),
        weight=w.reindex(travel["demand_id"]).to_numpy(),
    )
    trips["weighted"] = trips["weight"] * trips["minutes"]
    reach = trips.groupby(["county", "place_id"])[["weight", "weighted"]].sum()
    total = w.groupby(county.reindex(w.index).to_numpy()).sum()
    all_weight = total.reindex(reach.index.get_level_values("county")).to_numpy()
    unreached = all_weight - reach["weight"].to_numpy()
    minutes = (reach["weighted"].to_numpy() + unreached * cutoff_min) / all_weight
    table = pd.DataFrame(
        {
            "place_id": reach.index.get_level_values("place_id"),
            "demand_id": reach.index.get_level_values("county"),
            "minutes": np.round(minutes, 2),
            "covered": reach["weight"].to_numpy() / all_weight,
        }
    )
    table = table[table["covered"] >= reach_share]
    return table.sort_values(["demand_id", "minutes", "place_id"], ignore_index=True)[
        ["place_id", "demand_id", "minutes"]
    ]


def _candidate_sites(
    dataset: Dataset, section: VocationalSection, schools: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Candidate sites in counties that have no public vocational school today."""
    columns = ["place_id", "region_id", "kind", "name", "geometry"]
    empty = gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=dataset.schools.crs)
    if dataset.sites is None:
        return empty
    with_public = set(schools.loc[schools["ownership"] == "public", "region_id"])
    sites = dataset.sites[
        dataset.sites["kind"].isin(section.new_school_site_kinds)
        & ~dataset.sites["region_id"].astype(str).isin(with_public)
    ].copy()
    if sites.empty:
        return empty
    sites["name"] = site_names(dataset, sites, "新建职业教育中心")
    sites = sites.rename(columns={"site_id": "place_id"})
    return sites[columns].sort_values("place_id").reset_index(drop=True)


def _general_students(state: PlanState, regions: pd.DataFrame) -> tuple[pd.Series, str]:
    """General high-school students by prefecture: the high-school programme's horizon
    figures where it ran before, else the register's."""
    schools = state.open_schools(GENERAL_LEVELS)
    prefecture = regions.set_index("region_id")["prefecture_id"]
    by = prefecture.reindex(schools["region_id"].astype(str)).to_numpy()
    if "highschool" in state.order:
        return schools["students_horizon"].fillna(0).groupby(by).sum(), "plan"
    register = schools["senior_enrolment"].fillna(schools["enrolment"])
    return register.groupby(by).sum(), "register"


def _general_register(state: PlanState, regions: pd.DataFrame) -> pd.Series:
    """General high-school students by prefecture on the register."""
    schools = state.dataset.schools
    general = schools[schools["level"].isin(GENERAL_LEVELS)]
    prefecture = regions.set_index("region_id")["prefecture_id"]
    by = prefecture.reindex(general["region_id"].astype(str)).to_numpy()
    return general["senior_enrolment"].fillna(general["enrolment"]).groupby(by).sum()
