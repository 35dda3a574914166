"""What the boarding programme works on: pupils by grade band, compulsory schools and trips.

Pupils at the horizon are the settlements' cohorts that will be of compulsory age (6-14),
aged forward from the census (``demand.cohorts``), then moved between settlements by the
scenario's migration rule (``growth_weight`` by growth class, the province total of each
band kept). Three bands: the young grades (1 to ``young_grades``, who do not board), the
upper primary grades and the junior grades (7-9). Each band but the young is split into
left-behind pupils (the settlement's ``left_behind_share``) and the others, so that a bed
cap can serve the left-behind first.

A pupil is *far* when no school of the band is within the day threshold: by bus, the
road minutes of ``[travel]``; on foot, the road km (straight line × ``travel.circuity``).
Travel is read band by band (the schools that teach it), and to the schools that may
host boarders, by road minutes up to ``max_board_min``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from layoutopt.data.dataset import Dataset
from layoutopt.demand.cohorts import cohort_at_horizon
from layoutopt.programmes.common import (
    host_settlements,
    round_keeping_total,
    travel_within_county,
)
from layoutopt.scenario import BoardingSection, Scenario
from layoutopt.state import PlanState

# Levels that teach each band by day. Complete secondary schools teach junior grades but are
# the high-school programme's to plan: they take day pupils here and are never changed.
BAND_LEVELS = {
    "young": ("teaching_point", "primary", "nine_year"),
    "primary": ("primary", "nine_year"),
    "junior": ("junior", "nine_year", "complete_secondary"),
}
STAGE = {"young": "primary", "primary": "primary", "junior": "junior"}  # threshold of a band
# Levels whose schools this programme plans (closes, adds beds to).
PLANNED_LEVELS = ("teaching_point", "primary", "junior", "nine_year")
BED_LEVELS = {"primary": ("primary", "nine_year"), "junior": ("junior", "nine_year")}
BOARDING_BANDS = ("primary", "junior")
DAY_SCHOOLS = 40  # nearest schools of a band kept per settlement


@dataclass
class Network:
    section: BoardingSection
    mode: str  # how the thresholds are read, in words
    pupils: pd.DataFrame  # per settlement: region_id, name, kind, young, primary, junior, lb
    schools: gpd.GeoDataFrame  # open schools of the bands, with host_kind, small, bed_host
    attend: pd.DataFrame  # band, demand_id, school_id, share: the register's schools
    day: pd.DataFrame  # band, place_id, demand_id, minutes, within (the day threshold)
    board: pd.DataFrame  # band, place_id, demand_id, minutes (to schools that may host)
    regions: pd.DataFrame  # region_id, name, prefecture_id, prefecture_name
    settlement_points: pd.DataFrame  # lon, lat by demand_id (for the map)
    base_check: pd.DataFrame = field(default_factory=pd.DataFrame)  # by county
    class_size: dict[str, int] = field(default_factory=dict)  # pupils a class, by section
    decided: pd.DataFrame = field(default_factory=pd.DataFrame)  # the review's decisions

    @property
    def region_ids(self) -> list[str]:
        return sorted(set(self.schools["region_id"]) | set(self.pupils["region_id"]))


def band_ages(section: BoardingSection) -> dict[str, range]:
    """Ages of each band at the horizon: grade g is age g + 5."""
    young = section.young_grades
    return {"young": range(6, 6 + young), "primary": range(6 + young, 12), "junior": range(12, 15)}


def build_network(state: PlanState, scenario: Scenario) -> Network:
    section = scenario.boarding
    dataset = state.dataset
    schools = _schools(state, dataset, section)
    pupils = horizon_pupils(dataset.demand, scenario)
    day, board = _travel(dataset, scenario, schools)
    return Network(
        section=section,
        mode=mode_words(section),
        pupils=pupils,
        schools=schools,
        attend=register_attendance(dataset.demand, schools),
        day=day,
        board=board,
        regions=pd.DataFrame(dataset.regions.drop(columns="geometry")),
        settlement_points=pd.DataFrame(
            {
                "lon": dataset.demand.geometry.x.to_numpy(),
                "lat": dataset.demand.geometry.y.to_numpy(),
            },
            index=dataset.demand["demand_id"].astype(str).to_numpy(),
        ),
        base_check=base_year_check(dataset, scenario, day, schools),
        decided=state.decisions.of("boarding"),
        class_size={k: scenario.norms.class_size[k] for k in ("primary", "junior")},
    )


def mode_words(section: BoardingSection) -> str:
    if section.day_mode == "bus":
        return (
            f"by bus at road speeds: primary grades within {section.max_minutes['primary']:g} "
            f"min, junior within {section.max_minutes['junior']:g} min"
        )
    return (
        f"on foot: primary grades within {section.max_km['primary']:g} km of road, junior "
        f"within {section.max_km['junior']:g} km"
    )


def horizon_pupils(demand: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Whole pupils of each band per settlement at the horizon, after migration."""
    section = scenario.boarding
    growth = demand["growth"].fillna("stable") if "growth" in demand else "stable"
    weight = pd.Series(growth, index=demand.index).map(section.growth_weight).fillna(0.0) + 1.0
    out = pd.DataFrame(
        {
            "demand_id": demand["demand_id"].astype(str).to_numpy(),
            "region_id": demand["region_id"].astype(str).to_numpy(),
            "name": demand["name"].astype(str).to_numpy() if "name" in demand else "",
            "kind": demand["kind"].to_numpy(),
            "left_behind_share": demand["left_behind_share"].fillna(0.0).to_numpy(float)
            if "left_behind_share" in demand
            else 0.0,
        }
    )
    for band, ages in band_ages(section).items():
        if not len(ages):
            out[band] = 0
            continue
        cohort = cohort_at_horizon(demand, list(ages), scenario.base_year, scenario.horizon_year)
        moved = cohort.to_numpy() * weight.to_numpy()
        if moved.sum() > 0:
            moved *= cohort.sum() / moved.sum()  # migration moves pupils, the total stays
        out[band] = round_keeping_total(pd.Series(moved, index=out["demand_id"])).to_numpy()
    return out


def _schools(state: PlanState, dataset: Dataset, section: BoardingSection) -> gpd.GeoDataFrame:
    levels = sorted({lv for levels in BAND_LEVELS.values() for lv in levels})
    schools = state.open_schools(levels).copy()
    kind = dataset.demand.set_index("demand_id")["kind"]
    schools["host"] = host_settlements(schools, dataset.demand)
    schools["host_kind"] = kind.reindex(schools["host"]).fillna("").to_numpy()
    planned = schools["level"].isin(PLANNED_LEVELS)
    schools["planned"] = planned
    rural = schools["host_kind"] != "urban"
    public = schools["ownership"] == "public"  # the public plan closes no private school
    small = schools["enrolment"] < section.small_school_pupils
    schools["small"] = planned & rural & public & small
    # Each section's places and classes as the programmes before left them (a complete
    # secondary school's junior section stays whatever became of its senior one).
    sections = state.ledger.sections
    for stage in ("primary", "junior"):
        mine = sections[(sections["section"] == stage) & sections["open"]].set_index("school_id")
        for column, source in (("places", "capacity_after"), ("classes", "size_after")):
            values = mine[source].reindex(schools["school_id"]).fillna(0)
            schools[f"{stage}_{column}"] = values.to_numpy(np.int64)
    schools["bed_host"] = schools["level"].isin(
        BED_LEVELS["primary"] + BED_LEVELS["junior"]
    ) & schools["host_kind"].isin(section.bed_host_kinds)
    for column in ("boarding_beds", "boarders", "primary_enrolment", "junior_enrolment"):
        schools[column] = schools[column].fillna(0).astype(int) if column in schools else 0
    return schools.sort_values("school_id").reset_index(drop=True)


def register_attendance(demand: pd.DataFrame, schools: gpd.GeoDataFrame) -> pd.DataFrame:
    """Which schools each settlement's pupils of each band attend today, and in what
    shares: the schools of the band at the host settlement nearest to it in its county
    (straight line), shared by their register pupils of the band; a village's young
    pupils attend its own teaching point. This is how the register was made (see
    ``data.build.schools``), so today's network keeps every school's pupils."""
    frames = []
    section_pupils = {
        "young": schools["primary_enrolment"],
        "primary": schools["primary_enrolment"],
        "junior": schools["junior_enrolment"],
    }
    hosts = schools["host"].astype(str)
    position = demand.set_index(demand["demand_id"].astype(str)).geometry
    for band, levels in BAND_LEVELS.items():
        mine = schools["level"].isin([lv for lv in levels if lv != "teaching_point"])
        table = _nearest_hosts(demand, schools[mine], hosts[mine], position)
        weight = section_pupils[band][mine].where(section_pupils[band][mine] > 0, 1.0)
        table = table.merge(
            pd.DataFrame(
                {
                    "host": hosts[mine],
                    "school_id": schools.loc[mine, "school_id"],
                    "w": weight.to_numpy(float),
                }
            ),
            on="host",
        )
        if band == "young":  # a village with a teaching point sends its young pupils there
            points = schools[schools["level"] == "teaching_point"]
            own = pd.DataFrame(
                {"demand_id": hosts[points.index], "school_id": points["school_id"], "w": 1.0}
            )
            table = pd.concat([table[~table["demand_id"].isin(own["demand_id"])], own])
        table["share"] = table["w"] / table.groupby("demand_id")["w"].transform("sum")
        frames.append(table[["demand_id", "school_id", "share"]].assign(band=band))
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["band", "demand_id", "school_id"], ignore_index=True)


def _nearest_hosts(
    demand: pd.DataFrame, schools: pd.DataFrame, hosts: pd.Series, position: gpd.GeoSeries
) -> pd.DataFrame:
    """demand_id and the nearest host settlement in its county, in plain degrees as the
    data build measured it."""
    rows = []
    county_of_host = schools["region_id"].astype(str).to_numpy()
    unique = pd.DataFrame({"host": hosts.to_numpy(), "region": county_of_host}).drop_duplicates()
    for region_id, settlements in demand.groupby(demand["region_id"].astype(str)):
        mine = unique[unique["region"] == region_id]["host"].to_numpy()
        if not len(mine):
            continue
        points = position.reindex(mine)
        tree = cKDTree(np.column_stack([points.x.to_numpy(), points.y.to_numpy()]))
        own = settlements.geometry
        _, k = tree.query(np.column_stack([own.x.to_numpy(), own.y.to_numpy()]))
        rows.append(
            pd.DataFrame(
                {"demand_id": settlements["demand_id"].astype(str).to_numpy(), "host": mine[k]}
            )
        )
    return (
        pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["demand_id", "host"])
    )


def _travel(
    dataset: Dataset, scenario: Scenario, schools: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Day trips by band (each settlement's nearest schools of the band), flagged within
    the threshold, and trips to the schools that may host boarders."""
    section = scenario.boarding
    no_sites = gpd.GeoDataFrame(
        {"place_id": [], "region_id": []}, geometry=gpd.GeoSeries([], crs=schools.crs)
    )
    day = []
    for band, levels in BAND_LEVELS.items():
        mine = schools[schools["level"].isin(levels)]
        if mine.empty:
            continue
        # Enough schools that each settlement's own is among them (the register's
        # assignment is by straight line, the trips by road).
        trips = travel_within_county(dataset, scenario, mine, no_sites, k_nearest=DAY_SCHOOLS)
        trips["band"] = band
        trips["within"] = within_threshold(trips, section, scenario.travel.circuity, band)
        day.append(trips)
    board = []
    may_host = schools["boarding_beds"].gt(0) | schools["bed_host"]
    for band in BOARDING_BANDS:  # each band's own hosts: junior ones are fewer
        hosts = schools[may_host & schools["level"].isin(BED_LEVELS[band])]
        if hosts.empty:
            continue
        trips = travel_within_county(
            dataset, scenario, hosts, no_sites, k_nearest=12, cutoff_min=section.max_board_min
        )
        board.append(trips.assign(band=band))
    columns = ["band", "place_id", "demand_id", "minutes", "distance_km"]
    return (
        pd.concat(day, ignore_index=True) if day else pd.DataFrame(columns=[*columns, "within"]),
        pd.concat(board, ignore_index=True) if board else pd.DataFrame(columns=columns),
    )


def within_threshold(
    trips: pd.DataFrame, section: BoardingSection, circuity: float, band: str
) -> np.ndarray:
    """Whether each trip is a day trip for pupils of ``band`` by the scenario's mode."""
    stage = STAGE[band]
    if section.day_mode == "bus":
        return (trips["minutes"].to_numpy(float) <= section.max_minutes[stage]).astype(bool)
    road_km = trips["distance_km"].to_numpy(float) * circuity
    return (road_km <= section.max_km[stage]).astype(bool)


def base_year_check(
    dataset: Dataset, scenario: Scenario, day: pd.DataFrame, schools: gpd.GeoDataFrame
) -> pd.DataFrame:
    """The rule on the register year, by county: pupils of the boarding bands then (census
    ages of those grades) with no school of their band within the threshold, by bus and on
    foot (``far_base_bus``, ``far_base_walk``), and the boarders and beds on the register."""
    section = scenario.boarding
    demand = dataset.demand.set_index("demand_id")
    county = demand["region_id"].astype(str)
    out = pd.DataFrame(index=pd.Index(sorted(set(county)), name="region_id"))
    for mode in ("bus", "walk"):
        probe = section.model_copy(update={"day_mode": mode})
        far = pd.Series(0.0, index=demand.index)
        for band in BOARDING_BANDS:
            pupils = demand[[f"age_{a}" for a in band_ages(section)[band]]].sum(axis=1)
            trips = day[day["band"] == band]
            near = trips[within_threshold(trips, probe, scenario.travel.circuity, band)]
            far += pupils.where(~pupils.index.isin(near["demand_id"]), 0.0)
        out[f"far_base_{mode}"] = far.groupby(county).sum()
    counted = schools[schools["level"].isin(section.boarders_register_levels)]
    by_county = counted.groupby(counted["region_id"].astype(str))
    out["boarders_base"] = by_county["boarders"].sum()
    out["beds_base"] = by_county["boarding_beds"].sum()
    return out.fillna(0.0)
