"""What the high-school programme works on: schools, students at the horizon, sites, travel.

Students at the horizon are the settlement's cohort that will be of senior-high age
(aged forward from the base-year census), times the high-school-stage enrolment rate and
the general (not vocational) share. The province total is then scaled to the plan's own
figure (``plan_students``, 65万 for Shanxi 2025) so that the plan reconciles with it; the
unscaled projection and the factor are kept for the manifest and the KPIs.

Private schools are not the plan's to close or grow: they keep their current share of
their county's students, and the rest are the public network's to place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.data.dataset import Dataset
from layoutopt.errors import LayoutoptError
from layoutopt.ledger import Ledger
from layoutopt.programmes.common import (
    by_region,
    project_stage,
    round_keeping_total,
    site_names,
    travel_within_county,
)
from layoutopt.scenario import HighSchoolSection, Scenario
from layoutopt.state import PlanState


@dataclass
class Network:
    section: HighSchoolSection
    region_ids: list[str]  # every county of the data set
    stream_size: int  # students per stream: one class per grade
    schools: gpd.GeoDataFrame  # every school of the programme's levels
    demand: pd.DataFrame  # demand_id, region_id, students, public_students
    sites: gpd.GeoDataFrame  # candidate sites for a new school (place_id, max_streams)
    travel: pd.DataFrame  # place_id, demand_id, minutes (within the county)
    projection: dict[str, float] = field(default_factory=dict)
    decided: pd.DataFrame = field(default_factory=pd.DataFrame)  # the review's decisions


def county_networks(network: Network) -> Iterator[tuple[str, Network]]:
    """The network cut county by county, each table in one pass; a county's travel is its
    own settlements' (travel is computed within the county)."""
    ids = network.region_ids
    region_of = network.demand.set_index("demand_id")["region_id"]
    parts = {
        "schools": by_region(network.schools, network.schools["region_id"], ids),
        "sites": by_region(network.sites, network.sites["region_id"], ids),
        "demand": by_region(network.demand, network.demand["region_id"], ids),
        "travel": by_region(
            network.travel, region_of.reindex(network.travel["demand_id"]).to_numpy(), ids
        ),
    }
    for r in ids:
        yield r, replace(network, region_ids=[r], **{name: cut[r] for name, cut in parts.items()})


def build_network(state: PlanState, scenario: Scenario) -> Network:
    """The high schools as the programmes before left them, students, sites and travel."""
    dataset = state.dataset
    section = scenario.highschool
    grades = section.grades
    stream_size = scenario.norms.class_size["senior_high"] * grades
    schools = _schools(state, section)
    students, projection = project_students(dataset.demand, scenario)
    demand = _private_share(dataset.demand, schools, students, stream_size)
    sites = _candidate_sites(dataset, state.ledger, section, grades)
    travel = travel_within_county(
        dataset,
        scenario,
        schools,
        sites,
        k_nearest=section.k_nearest,
        cutoff_min=section.travel_cutoff_min,
    )
    region_ids = sorted(dataset.regions["region_id"].astype(str))
    decided = state.decisions.of("highschool")
    return Network(
        section, region_ids, stream_size, schools, demand, sites, travel, projection, decided
    )


def project_students(demand: pd.DataFrame, scenario: Scenario) -> tuple[pd.Series, dict]:
    """Whole general-high-school students per settlement at the horizon, and how."""
    section = scenario.highschool
    return project_stage(
        demand,
        scenario,
        "highschool",
        range(section.entry_age, section.entry_age + section.grades),
        section.enrolment_rate * section.general_share,
        section.plan_students,
        section.plan_students_tolerance,
    )


def _schools(state: PlanState, section: HighSchoolSection) -> gpd.GeoDataFrame:
    schools = state.open_schools(section.levels).copy()
    if schools.empty:
        raise LayoutoptError(
            f"no schools of levels {section.levels} in the data set "
            "(fix: check highschool.levels against the schools table's level words)"
        )
    unknown = sorted(set(section.exempt) - set(schools["school_id"]))
    if unknown:
        raise LayoutoptError(
            f"highschool.exempt names schools that are not high schools: {', '.join(unknown)} "
            "(fix: use school_id values of the schools table)"
        )
    if "senior_enrolment" not in schools.columns:
        schools["senior_enrolment"] = schools["enrolment"]
    schools["senior_enrolment"] = schools["senior_enrolment"].fillna(schools["enrolment"])
    return schools.sort_values("school_id").reset_index(drop=True)


def _private_share(
    demand: pd.DataFrame, schools: gpd.GeoDataFrame, students: pd.Series, stream_size: int
) -> pd.DataFrame:
    """Private schools keep their present share of their county's students (within their
    capacity); the rest of each settlement's students are the public network's to place,
    rounded so that every county's total is kept exactly."""
    out = pd.DataFrame(
        {
            "demand_id": demand["demand_id"].astype(str).to_numpy(),
            "region_id": demand["region_id"].astype(str).to_numpy(),
            "students": students.reindex(demand["demand_id"].astype(str)).to_numpy(),
        }
    )
    county_students = out.groupby("region_id")["students"].sum()
    enrolled = schools.groupby("region_id")["senior_enrolment"].sum()
    factor = (county_students / enrolled.reindex(county_students.index)).fillna(0.0)
    private = schools["ownership"] != "public"
    scaled = schools["senior_enrolment"] * factor.reindex(schools["region_id"]).fillna(0).to_numpy()
    schools["enrolment_private_after"] = np.where(
        private, np.minimum(np.round(scaled), schools["streams"] * stream_size), 0
    ).astype(np.int64)
    private_total = schools.groupby("region_id")["enrolment_private_after"].sum()
    share = (1 - private_total.reindex(county_students.index).fillna(0) / county_students).fillna(0)
    public = pd.Series(
        out["students"].to_numpy() * share.reindex(out["region_id"]).to_numpy(),
        index=out["demand_id"].to_numpy(),
    )
    out["public_students"] = (
        pd.concat(
            [round_keeping_total(part) for _, part in public.groupby(out["region_id"].to_numpy())]
        )
        .reindex(out["demand_id"])
        .to_numpy()
    )
    return out.sort_values("demand_id").reset_index(drop=True)


def _candidate_sites(dataset: Dataset, ledger: Ledger, section: HighSchoolSection, grades: int):
    """Candidate sites no programme before has taken, large enough for a new school."""
    columns = ["place_id", "region_id", "kind", "name", "max_streams", "geometry"]
    if dataset.sites is None or not section.allow_new_schools:
        return gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=dataset.schools.crs)
    free = ledger.available_sites(section.new_school_site_kinds)["site_id"]
    sites = dataset.sites[dataset.sites["site_id"].isin(set(free))].copy()
    sites["max_streams"] = np.minimum(sites["max_classes"] // grades, section.max_streams)
    sites = sites[sites["max_streams"] >= section.new_school_min_streams]
    sites["name"] = site_names(dataset, sites, "新建高级中学")
    sites = sites.rename(columns={"site_id": "place_id"})
    return sites[columns].sort_values("place_id").reset_index(drop=True)
