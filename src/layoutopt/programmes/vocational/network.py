"""What the vocational programme works on: schools and their students, sites and travel.

Students at the horizon are the settlements' cohort that will be aged 15-17, times the
stage's enrolment rate and the vocational share, scaled to the plan's own province figure
(``plan_students``, 45万 for Shanxi 2025), prefecture by prefecture.

**A school's students at the horizon are its register grown with its catchment**: the
settlements of its county nearest to it (as the register was built), whose cohort aged
15-17 changes from the base year to the horizon; then every school of a prefecture is
scaled alike so that, with the students of counties that have no vocational school, the
prefecture's projection is met. One demand point per school (``school:<id>``) holds its
students, so a school that closes sends *its own* students to named receivers. Students
of a county without any vocational school are one demand point (``county:<id>``).
A demand point's trip to a school is its settlements' students-weighted mean trip (a
settlement beyond ``travel_cutoff_min`` counts at the cut-off; a school fewer than
``county_reach_share`` of them can reach is not offered).

Private schools are not the plan's to close or grow: each keeps its students at the
horizon within its capacity; those beyond it (``beyond:<id>``) are the public network's
to place, with the rest. Each county's vocational education centre (职教中心) is named in
the scenario or, by default, is its largest public vocational school.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from layoutopt.data.dataset import Dataset
from layoutopt.demand.cohorts import cohort_at_horizon
from layoutopt.errors import LayoutoptError
from layoutopt.ledger import Ledger
from layoutopt.programmes.common import (
    host_settlements,
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
    # every vocational school, with centre, host, students_horizon (its own students at
    # the horizon) and students_private_after (a private school's, within its places)
    schools: gpd.GeoDataFrame
    # the public network's demand points: demand_id (school:, beyond: or county:),
    # region_id (home county), prefecture_id, students, own (the school it attends today)
    demand: pd.DataFrame
    county_students: pd.DataFrame  # region_id, prefecture_id, students (all, at the horizon)
    sites: gpd.GeoDataFrame  # candidate sites in counties without a public school
    travel: pd.DataFrame  # place_id, demand_id, minutes
    general_register: pd.Series  # general high-school students by prefecture, register
    general_students: pd.Series  # the same at the horizon (see source)
    general_source: str  # "plan" (the high-school programme's) or "register"
    projection: dict[str, float] = field(default_factory=dict)
    high_level: pd.DataFrame | None = None  # the province-wide pick, once finish made it
    decided: pd.DataFrame = field(default_factory=pd.DataFrame)  # the review's decisions

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
    group = catchments(dataset, schools)
    demand, county_students = school_demand(
        dataset, regions, schools, students, group, scenario, stream_size
    )
    sites = _candidate_sites(dataset, state.ledger, section, schools)
    settlement_travel = travel_within_county(
        dataset,
        scenario,
        schools,
        sites,
        k_nearest=len(schools) + len(sites),
        cutoff_min=section.travel_cutoff_min,
        by_prefecture=True,
    )
    county_of = pd.Series(
        dataset.demand["region_id"].astype(str).to_numpy(),
        index=dataset.demand["demand_id"].astype(str).to_numpy(),
    )
    travel = group_travel(
        students,
        settlement_travel,
        demand,
        group,
        county_of,
        section.travel_cutoff_min,
        section.county_reach_share,
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
        county_students,
        sites,
        travel,
        register,
        general,
        source,
        projection,
        decided=state.decisions.of("vocational"),
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
    schools["host"] = host_settlements(schools, state.dataset.demand)
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


def catchments(dataset: Dataset, schools: pd.DataFrame) -> pd.Series:
    """Each settlement's catchment: the host settlement of the nearest vocational school
    of its county, straight line (as the register was built: each settlement's students to
    the nearest school of its county); "" where its county has none."""
    demand = dataset.demand
    ids = demand["demand_id"].astype(str).to_numpy()
    out = pd.Series("", index=ids, dtype=object)
    if schools.empty:
        return out
    hosts = pd.DataFrame(
        {"host": schools["host"].to_numpy(), "region_id": schools["region_id"].astype(str)}
    ).drop_duplicates()
    position = demand.set_index(demand["demand_id"].astype(str)).geometry
    county = demand["region_id"].astype(str).to_numpy()
    for region_id, mine in hosts.groupby("region_id"):
        rows = np.flatnonzero(county == region_id)
        points = position.reindex(mine["host"])
        tree = cKDTree(np.column_stack([points.x.to_numpy(), points.y.to_numpy()]))
        own = demand.geometry.iloc[rows]
        _, k = tree.query(np.column_stack([own.x.to_numpy(), own.y.to_numpy()]))
        out.iloc[rows] = mine["host"].to_numpy()[k]
    return out


def school_demand(
    dataset: Dataset,
    regions: pd.DataFrame,
    schools: pd.DataFrame,
    students: pd.Series,
    catchment: pd.Series,
    scenario: Scenario,
    stream_size: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The public network's demand points, and every county's students at the horizon.

    Each school's students at the horizon: its register × its catchment's cohort change,
    then × one factor per prefecture so that the schools and the counties with no school
    add up to the prefecture's projection (``students``). A private school keeps them
    within its places; the rest are the public network's."""
    demand = dataset.demand
    ids = demand["demand_id"].astype(str).to_numpy()
    county = pd.Series(demand["region_id"].astype(str).to_numpy(), index=ids)
    prefecture = regions.set_index("region_id")["prefecture_id"]
    ages = list(range(scenario.vocational.entry_age, scenario.vocational.entry_age + 3))
    horizon = cohort_at_horizon(demand, ages, scenario.base_year, scenario.horizon_year)
    base = demand[[f"age_{a}" for a in ages]].sum(axis=1)
    by_host = (
        pd.DataFrame({"h": horizon.to_numpy(float), "b": base.to_numpy(float)}, index=ids)
        .groupby(catchment.reindex(ids).to_numpy())[["h", "b"]]
        .sum()
    )
    change = (by_host["h"] / by_host["b"].replace(0, np.nan)).fillna(1.0)
    grown = schools["students_register"].to_numpy(float) * change.reindex(schools["host"]).fillna(
        1.0
    ).to_numpy(float)
    projected = students.reindex(ids).fillna(0.0)
    by_county = projected.groupby(county.to_numpy()).sum()
    counties = regions[["region_id", "prefecture_id"]].copy()
    counties["students"] = by_county.reindex(counties["region_id"]).fillna(0.0).to_numpy()
    with_school = set(schools["region_id"].astype(str))
    unheld = counties[~counties["region_id"].isin(with_school)]
    target = counties.groupby("prefecture_id")["students"].sum()
    held = target - unheld.groupby("prefecture_id")["students"].sum().reindex(target.index).fillna(
        0
    )
    pref_of = prefecture.reindex(schools["region_id"].astype(str)).to_numpy()
    raw = pd.Series(grown).groupby(pref_of).sum()
    factor = (held / raw.reindex(held.index)).replace([np.inf], np.nan).fillna(0.0)
    own = grown * factor.reindex(pref_of).fillna(0.0).to_numpy()
    # Whole students, each prefecture's total kept: schools and school-less counties.
    parts = pd.concat(
        [
            pd.Series(own, index="school:" + schools["school_id"].to_numpy()),
            pd.Series(unheld["students"].to_numpy(), index="county:" + unheld["region_id"]),
        ]
    )
    part_pref = np.concatenate([pref_of, unheld["prefecture_id"].to_numpy()])
    whole = pd.concat([round_keeping_total(p) for _, p in parts.groupby(part_pref)])
    schools["students_horizon"] = whole.reindex("school:" + schools["school_id"]).to_numpy()
    capacity = schools["streams"].to_numpy() * stream_size
    private = (schools["ownership"] != "public").to_numpy()
    schools["students_private_after"] = np.where(
        private, np.minimum(schools["students_horizon"], capacity), 0
    ).astype(np.int64)
    beyond = schools["students_horizon"] - schools["students_private_after"]
    rows = pd.DataFrame(
        {
            "demand_id": np.where(private, "beyond:", "school:") + schools["school_id"],
            "region_id": schools["region_id"].astype(str).to_numpy(),
            "students": np.where(private, beyond, schools["students_horizon"]),
            "own": np.where(private, "", schools["school_id"]),
            "catchment": schools["host"].to_numpy(),
        }
    )
    rows = pd.concat(
        [
            rows,
            pd.DataFrame(
                {
                    "demand_id": "county:" + unheld["region_id"],
                    "region_id": unheld["region_id"].to_numpy(),
                    "students": whole.reindex("county:" + unheld["region_id"]).to_numpy(),
                    "own": "",
                    "catchment": "county:" + unheld["region_id"],
                }
            ),
        ],
        ignore_index=True,
    )
    rows["prefecture_id"] = prefecture.reindex(rows["region_id"]).to_numpy()
    rows = rows[rows["students"] > 0].astype({"students": np.int64})
    counties["students"] = _whole_by_county(rows, schools, counties)
    return rows.sort_values("demand_id").reset_index(drop=True), counties


def _whole_by_county(rows, schools, counties) -> np.ndarray:
    """Each county's students at the horizon in whole numbers: its schools' (public and
    private) and, without a school, its own demand point."""
    own = schools.groupby(schools["region_id"].astype(str))["students_horizon"].sum()
    county_rows = rows[rows["demand_id"].str.startswith("county:")]
    unheld = county_rows.set_index("region_id")["students"]
    total = own.reindex(counties["region_id"]).fillna(0) + unheld.reindex(
        counties["region_id"]
    ).fillna(0)
    return total.to_numpy(float)


def group_travel(
    students: pd.Series,
    travel: pd.DataFrame,
    demand: pd.DataFrame,
    catchment: pd.Series,
    county_of: pd.Series,
    cutoff_min: float,
    reach_share: float,
) -> pd.DataFrame:
    """Minutes from each demand point to each place: the students-weighted mean trip of
    its settlements (its school's catchment, or its county), a settlement that cannot reach
    the place counting at the cut-off; places fewer than ``reach_share`` of its students
    reach are left out."""
    settlements = pd.DataFrame(
        {
            "settlement": catchment.index.to_numpy(),
            "catchment": catchment.to_numpy(),
            "county": "county:" + county_of.reindex(catchment.index).astype(str).to_numpy(),
        }
    )
    # Every settlement counts, with some weight: an empty catchment still has trips.
    settlements["weight"] = np.maximum(
        students.reindex(settlements["settlement"]).fillna(0).to_numpy(float), 1e-6
    )
    by_catchment = demand[~demand["catchment"].str.startswith("county:")].merge(
        settlements.drop(columns="county"), on="catchment"
    )
    by_county = demand[demand["catchment"].str.startswith("county:")].merge(
        settlements.drop(columns="catchment"), left_on="catchment", right_on="county"
    )
    members = pd.concat([by_catchment, by_county], ignore_index=True)[
        ["demand_id", "settlement", "weight"]
    ]
    total = members.groupby("demand_id")["weight"].sum()
    trips = members.merge(
        travel[["place_id", "demand_id", "minutes"]].rename(columns={"demand_id": "settlement"}),
        on="settlement",
    )
    trips["weighted"] = trips["weight"] * trips["minutes"]
    reach = trips.groupby(["demand_id", "place_id"])[["weight", "weighted"]].sum().reset_index()
    all_weight = total.reindex(reach["demand_id"]).to_numpy()
    unreached = all_weight - reach["weight"].to_numpy()
    minutes = (reach["weighted"].to_numpy() + unreached * cutoff_min) / all_weight
    reach["minutes"] = np.round(minutes, 2)
    reach = reach[reach["weight"].to_numpy() / all_weight >= reach_share]
    return reach.sort_values(["demand_id", "minutes", "place_id"], ignore_index=True)[
        ["place_id", "demand_id", "minutes"]
    ]


def _candidate_sites(
    dataset: Dataset, ledger: Ledger, section: VocationalSection, schools: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Candidate sites no programme has taken, in counties that have no public vocational
    school today."""
    columns = ["place_id", "region_id", "kind", "name", "geometry"]
    empty = gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=dataset.schools.crs)
    if dataset.sites is None:
        return empty
    with_public = set(schools.loc[schools["ownership"] == "public", "region_id"])
    free = set(ledger.available_sites(section.new_school_site_kinds)["site_id"])
    sites = dataset.sites[
        dataset.sites["site_id"].isin(free)
        & ~dataset.sites["region_id"].astype(str).isin(with_public)
    ].copy()
    if sites.empty:
        return empty
    sites["name"] = site_names(dataset, sites, "新建职业教育中心")
    sites = sites.rename(columns={"site_id": "place_id"})
    return sites[columns].sort_values("place_id").reset_index(drop=True)


def _general_students(state: PlanState, regions: pd.DataFrame) -> tuple[pd.Series, str]:
    """General high-school students by prefecture: the high-school programme's figures
    after the plan where it ran before (its senior sections), else the register's."""
    senior = state.open_sections(["senior"])
    prefecture = regions.set_index("region_id")["prefecture_id"]
    by = prefecture.reindex(senior["region_id"].astype(str)).to_numpy()
    if "highschool" in state.order:
        return senior["students_after"].fillna(0).groupby(by).sum(), "plan"
    return senior["students_register"].groupby(by).sum(), "register"


def _general_register(state: PlanState, regions: pd.DataFrame) -> pd.Series:
    """General high-school students by prefecture on the register."""
    schools = state.dataset.schools
    general = schools[schools["level"].isin(GENERAL_LEVELS)]
    prefecture = regions.set_index("region_id")["prefecture_id"]
    by = prefecture.reindex(general["region_id"].astype(str)).to_numpy()
    return general["senior_enrolment"].fillna(general["enrolment"]).groupby(by).sum()
