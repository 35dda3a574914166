"""Synthetic schools of every level, placed at settlements and calibrated to provincial totals.

Schooling is built stage by stage (kindergarten, primary, junior, senior, vocational,
special). A stage is served by *sections*: a primary school has one primary section, a
nine-year school a primary and a junior section, a complete secondary school a junior
and a senior section. For each stage:

1. sections are shared among counties in proportion to the stage's pupils raised to a
   power below 1 (rural counties keep more, smaller schools), with a minimum per county;
2. each section is put at a settlement drawn with weights by settlement kind × pupils;
3. every settlement's pupils go to the nearest section of its county, and the
   province's pupils are scaled to the stage's enrolment;
4. classes, capacity, teachers and boarding follow from enrolment, the norms and the
   documented assumptions of the calibration file.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.spatial import cKDTree

from layoutopt.data.build.common import county_rng, jitter_inside, largest_remainder
from layoutopt.data.calibration import Calibration, Stage
from layoutopt.data.io import WGS84
from layoutopt.data.specialties import joined
from layoutopt.geo.distance import chord_to_m, unit_vectors

# Which levels serve each stage; the order matters: a combined school's sections are fixed
# by the earlier stage (complete secondary by senior, nine-year by junior).
STAGE_LEVELS = {
    "senior": ("senior_high", "complete_secondary"),
    "junior": ("junior", "nine_year", "complete_secondary"),
    "primary": ("primary", "nine_year"),
    "kindergarten": ("kindergarten",),
    "vocational": ("vocational",),
    "special": ("special",),
}
STREAM_STAGES = ("senior", "vocational")
SECTION_COLUMN = {
    "primary": "primary_enrolment",
    "junior": "junior_enrolment",
    "senior": "senior_enrolment",
    "vocational": "senior_enrolment",
}
LEVEL_CODE = {
    "kindergarten": "KG",
    "teaching_point": "TP",
    "primary": "PS",
    "junior": "JS",
    "nine_year": "NY",
    "senior_high": "SH",
    "complete_secondary": "CS",
    "vocational": "VS",
    "special": "SE",
}
LEVEL_NAME = {
    "kindergarten": "幼儿园",
    "teaching_point": "教学点",
    "primary": "小学",
    "junior": "初级中学",
    "nine_year": "九年一贯制学校",
    "senior_high": "高级中学",
    "complete_secondary": "完全中学",
    "vocational": "职业中学",
    "special": "特殊教育学校",
}
JITTER_KM = {"urban": 0.5, "town": 0.3, "village": 0.2}


@dataclass
class Sections:
    """The sections of one stage: their school, host settlement and enrolment."""

    school: np.ndarray  # school key (index into the schools list)
    host: np.ndarray  # row of the demand table
    enrolment: np.ndarray


def make_schools(
    demand: gpd.GeoDataFrame, regions: gpd.GeoDataFrame, cal: Calibration, seed: int
) -> gpd.GeoDataFrame:
    rng = np.random.default_rng([seed, 7])
    schools: list[dict] = []  # level and host of each school, in creation order
    stages: dict[str, Sections] = {}
    for stage_name, levels in STAGE_LEVELS.items():
        stage = cal.schools.stages[stage_name]
        pupils = _pupils(demand, stage)
        fixed = [(k, s["host"]) for k, s in enumerate(schools) if s["level"] in levels]
        free = sum(cal.schools.levels[lv].schools for lv in levels) - len(fixed)
        fixed_hosts = np.array([h for _, h in fixed], dtype=int)
        hosts = _place_sections(demand, regions, stage, pupils, fixed_hosts, free, rng)
        new_keys = _new_schools(schools, levels, hosts, demand, cal, rng)
        keys = np.array([k for k, _ in fixed] + new_keys, dtype=int)
        all_hosts = np.array([h for _, h in fixed] + list(hosts), dtype=int)
        enrolment = _enrol(demand, pupils, all_hosts, stage.students, rng)
        stages[stage_name] = Sections(keys, all_hosts, enrolment)
    return _assemble(schools, stages, demand, regions, cal, seed)


def _pupils(demand: pd.DataFrame, stage: Stage) -> np.ndarray:
    first, last = stage.ages
    return demand[[f"age_{a}" for a in range(first, last + 1)]].sum(axis=1).to_numpy(float)


def _place_sections(demand, regions, stage: Stage, pupils, fixed_hosts, n_free: int, rng):
    """Host settlement (row) of each new section of a stage."""
    county_pupils = pd.Series(pupils, index=demand.index).groupby(demand["region_id"]).sum()
    county_pupils = county_pupils.reindex(regions["region_id"]).fillna(0)
    population = regions.set_index("region_id")["population_2020"]
    eligible = population >= stage.min_county_population
    weights = np.where(eligible, county_pupils.to_numpy() ** stage.count_exponent, 0.0)
    minimum = np.where(eligible, stage.min_per_county, 0)
    counts = _allocate(n_free + len(fixed_hosts), weights, minimum)
    if len(fixed_hosts):
        # Sections fixed by an earlier stage count toward their county's share.
        fixed = demand["region_id"].iloc[fixed_hosts].value_counts()
        fixed = fixed.reindex(regions["region_id"]).fillna(0).to_numpy()
        counts = largest_remainder(np.maximum(counts - fixed, 0) + 1e-9 * weights, n_free)
    host_weight = demand["kind"].map(stage.host_kinds).fillna(0).to_numpy() * pupils
    hosts: list[int] = []
    rows_by_county = demand.groupby("region_id").indices
    for region_id, n in zip(regions["region_id"], counts, strict=True):
        rows = rows_by_county.get(region_id, np.array([], dtype=int))
        w = host_weight[rows]
        if n == 0 or len(rows) == 0:
            continue
        w = w if w.sum() > 0 else demand["population"].to_numpy(float)[rows]
        hosts += list(rng.choice(rows, size=int(n), replace=True, p=w / w.sum()))
    return hosts


def _allocate(total: int, weights: np.ndarray, minimum: np.ndarray) -> np.ndarray:
    """Whole counts adding to ``total``: each its minimum, the rest by weight."""
    base = minimum if minimum.sum() <= total else largest_remainder(minimum, total)
    rest = total - int(base.sum())
    return base + largest_remainder(weights, rest)


def _new_schools(schools: list[dict], levels, hosts, demand, cal: Calibration, rng) -> list[int]:
    """Create a school for each new section, choosing its level among the stage's levels."""
    fresh = [lv for lv in levels if not any(s["level"] == lv for s in schools)]
    needed = {lv: cal.schools.levels[lv].schools for lv in fresh}
    level_of = np.array([fresh[-1]] * len(hosts), dtype=object)
    kinds = demand["kind"].to_numpy()[np.asarray(hosts, dtype=int)] if hosts else np.array([])
    unassigned = np.arange(len(hosts))
    for lv in fresh[1:]:  # combined levels take their preferred hosts first
        prefs = cal.schools.levels[lv].host_kinds
        w = np.array([prefs.get(k, 0.0) for k in kinds[unassigned]]) + 1e-12
        take = rng.choice(
            unassigned, size=min(needed[lv], len(unassigned)), replace=False, p=w / w.sum()
        )
        level_of[take] = lv
        unassigned = np.setdiff1d(unassigned, take)
    level_of[unassigned] = fresh[0]
    start = len(schools)
    schools += [{"level": lv, "host": int(h)} for lv, h in zip(level_of, hosts, strict=True)]
    return list(range(start, len(schools)))


def _enrol(demand, pupils, hosts: np.ndarray, students: int, rng) -> np.ndarray:
    """Each settlement's pupils go to the nearest section host of its county."""
    assigned = np.zeros(len(hosts))
    xy = np.column_stack([demand.geometry.x, demand.geometry.y])
    regions = demand["region_id"].to_numpy()
    host_region = regions[hosts]
    for region_id, rows in demand.groupby("region_id").indices.items():
        mine = np.flatnonzero(host_region == region_id)
        if len(mine) == 0:
            continue
        unique_hosts = np.unique(hosts[mine])
        nearest = cKDTree(xy[unique_hosts]).query(xy[rows])[1]
        per_host = np.bincount(nearest, weights=pupils[rows], minlength=len(unique_hosts))
        for h, load in zip(unique_hosts, per_host, strict=True):
            at_host = mine[hosts[mine] == h]
            share = rng.dirichlet(np.full(len(at_host), 4.0))
            assigned[at_host] = load * share
    return largest_remainder(np.maximum(assigned, 1e-6), students)


def _assemble(
    schools: list[dict], stages: dict[str, Sections], demand, regions, cal: Calibration, seed: int
) -> gpd.GeoDataFrame:
    """One row per school: its sections summed, then ownership, tiers and positions."""
    table = pd.DataFrame(
        {
            "level": [s["level"] for s in schools],
            "host": [s["host"] for s in schools],
        }
    )
    for column in (
        "enrolment",
        "primary_enrolment",
        "junior_enrolment",
        "senior_enrolment",
        "classes",
        "streams",
        "capacity",
        "teachers",
        "boarders",
        "boarding_beds",
    ):
        table[column] = 0
    rng = np.random.default_rng([seed, 11])
    for stage_name, sections in stages.items():
        stage = cal.schools.stages[stage_name]
        host_kind = demand["kind"].to_numpy()[sections.host]
        size = _section_size(stage_name, stage, sections.enrolment, cal, rng)
        teachers = _teachers(stage, sections.enrolment, size["classes"], host_kind, cal, rng)
        boarders, beds = _boarding(stage, sections.enrolment, host_kind, cal, rng)
        add = pd.DataFrame(
            {
                "enrolment": sections.enrolment,
                "classes": size["classes"],
                "streams": size["streams"],
                "capacity": size["classes"] * stage.class_size,
                "teachers": teachers,
                "boarders": boarders,
                "boarding_beds": beds,
            },
            index=sections.school,
        )
        if stage_name in SECTION_COLUMN:
            add[SECTION_COLUMN[stage_name]] = sections.enrolment
        add = add.groupby(level=0).sum()
        table.loc[add.index, add.columns] += add.to_numpy()
    table["region_id"] = demand["region_id"].to_numpy()[table["host"]]
    table["host_kind"] = demand["kind"].to_numpy()[table["host"]]
    table = _teaching_points(table, demand, cal, np.random.default_rng([seed, 17]))
    table = _ownership(table, cal, rng)
    table = _tiers(table, cal, rng)
    table = _specialties(table, cal, np.random.default_rng([seed, 13]))
    table = _identify(table, demand)
    return _place(table, demand, regions, seed)


def _teaching_points(table: pd.DataFrame, demand, cal: Calibration, rng) -> pd.DataFrame:
    """Teaching points at villages far from every primary section of their county, drawn
    by pupils × distance; their pupils (scaled like the primary stage) leave the nearest
    primary section, whose classes and teachers stay as they were."""
    spec = cal.schools.teaching_points
    if spec is None:
        return table
    first, last = spec.ages
    young = demand[[f"age_{a}" for a in range(first, last + 1)]].sum(axis=1).to_numpy(float)
    primary = cal.schools.stages["primary"]
    young *= primary.students / _pupils(demand, primary).sum()
    serving = np.flatnonzero(table["primary_enrolment"].to_numpy() > 0)
    km, nearest = _nearest_in_county(demand, table["host"].to_numpy()[serving])
    km *= spec.circuity
    kinds = demand["kind"].to_numpy()
    far = np.flatnonzero(
        (kinds == "village") & (km > spec.min_road_km) & (young >= spec.min_pupils)
    )
    weight = young[far] * km[far]
    count = min(spec.count, len(far))
    hosts = np.sort(rng.choice(far, size=count, replace=False, p=weight / weight.sum()))
    pupils = np.maximum(1, np.round(young[hosts])).astype(int)
    # The pupils leave the largest primary section at the nearest host.
    giver = serving[nearest[hosts]]
    for row, n in zip(giver, pupils, strict=True):
        taken = min(n, int(table.at[row, "primary_enrolment"]) - 1)
        table.loc[row, ["primary_enrolment", "enrolment"]] -= taken
    table["boarders"] = np.minimum(table["boarders"], table["enrolment"])
    classes = np.ceil(pupils / spec.class_size).astype(int)
    points = pd.DataFrame(
        {
            "level": "teaching_point",
            "host": hosts,
            "enrolment": pupils,
            "primary_enrolment": pupils,
            "junior_enrolment": 0,
            "senior_enrolment": 0,
            "classes": classes,
            "streams": 0,
            "capacity": classes * spec.class_size,
            "teachers": np.maximum(1, np.round(classes * spec.teachers_per_class)).astype(int),
            "boarders": 0,
            "boarding_beds": 0,
            "region_id": demand["region_id"].to_numpy()[hosts],
            "host_kind": "village",
        }
    )
    return pd.concat([table, points], ignore_index=True)


def _nearest_in_county(demand, hosts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straight km from every settlement to the nearest of ``hosts`` (demand rows) in its
    county, and that host's position in ``hosts`` (-1 and inf where the county has none)."""
    km = np.full(len(demand), np.inf)
    nearest = np.full(len(demand), -1)
    lon, lat = demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy()
    regions = demand["region_id"].to_numpy()
    xyz = unit_vectors(lon, lat)
    for _, rows in demand.groupby("region_id").indices.items():
        mine = np.flatnonzero(regions[hosts] == regions[rows[0]])
        if not len(mine):
            continue
        chord, k = cKDTree(xyz[hosts[mine]]).query(xyz[rows])
        km[rows] = chord_to_m(chord) / 1000
        nearest[rows] = mine[k]
    return km, nearest


def _section_size(stage_name: str, stage: Stage, enrolment: np.ndarray, cal, rng) -> dict:
    low, high = stage.actual_class_size
    if stage.classes:  # calibrated: find the class size at which classes reach the target

        def gap(scale: float) -> float:
            return np.maximum(1, np.ceil(enrolment / (low + scale * (high - low)))).sum() - (
                stage.classes
            )

        spread = 0.5 * (high - low) * rng.uniform(-1, 1, len(enrolment))
        mean = low + brentq(gap, 0.0, 1.0) * (high - low) if gap(0) > 0 > gap(1) else high
        sizes = np.clip(mean + spread * 0.3, low, high)
    else:
        sizes = rng.uniform(low, high, len(enrolment))
    if stage_name in STREAM_STAGES:
        years = cal.schools.senior_years
        streams = np.maximum(1, np.ceil(enrolment / (years * sizes))).astype(int)
        return {"classes": streams * years, "streams": streams}
    classes = np.maximum(1, np.ceil(enrolment / sizes)).astype(int)
    return {"classes": classes, "streams": np.zeros(len(enrolment), dtype=int)}


def _teachers(stage: Stage, enrolment, classes, host_kind, cal: Calibration, rng) -> np.ndarray:
    """Teachers near the norm: small rural schools above it, large urban ones below."""
    s = cal.schools
    if stage.students_per_teacher:
        needed = enrolment / stage.students_per_teacher
    else:
        needed = classes * stage.teachers_per_class
    factor = np.where(
        enrolment < s.small_school_students,
        s.teacher_factor_small,
        np.where(enrolment > s.large_school_students, s.teacher_factor_large, 1.0),
    )
    factor = np.where(host_kind == "urban", factor * s.teacher_factor_urban, factor)
    noisy = needed * factor * rng.lognormal(0, s.teacher_factor_sigma, len(needed))
    return np.maximum(1, np.round(noisy)).astype(int)


def _boarding(stage: Stage, enrolment, host_kind, cal: Calibration, rng):
    share = np.array([stage.boarding_share.get(k, 0.0) for k in host_kind])
    boarders = np.minimum(
        enrolment, np.round(enrolment * share * rng.uniform(0.6, 1.4, len(share)))
    )
    low, high = cal.schools.beds_per_boarder
    beds = np.round(boarders * rng.uniform(low, high, len(share)))
    return boarders.astype(int), beds.astype(int)


def _ownership(table: pd.DataFrame, cal: Calibration, rng) -> pd.DataFrame:
    table["ownership"] = "public"
    table["inclusive"] = False
    for level, spec in cal.schools.levels.items():
        rows = np.flatnonzero(table["level"] == level)
        if level == "kindergarten" or not len(rows):
            continue
        # Private schools are mostly in cities.
        w = np.where(table["host_kind"].to_numpy()[rows] == "urban", 3.0, 1.0)
        k = round(spec.private_share * len(rows))
        private = rng.choice(rows, size=k, replace=False, p=w / w.sum())
        table.loc[private, "ownership"] = "private"
    return _kindergarten_ownership(table, cal, rng)


def _kindergarten_ownership(table: pd.DataFrame, cal: Calibration, rng) -> pd.DataFrame:
    """Public kindergartens up to the public share of children; then inclusive private ones."""
    rows = np.flatnonzero(table["level"] == "kindergarten")
    children = table["enrolment"].to_numpy()[rows]
    rural = table["host_kind"].to_numpy()[rows] != "urban"
    order = rows[np.argsort(-(rng.uniform(0, 1, len(rows)) + 0.6 * rural), kind="stable")]
    total = children.sum()
    cumulative = np.cumsum(table["enrolment"].to_numpy()[order])
    public = order[cumulative <= cal.schools.kindergarten_public_share_of_children * total]
    private = np.setdiff1d(rows, public)
    table.loc[private, "ownership"] = "private"
    table.loc[public, "inclusive"] = True
    shuffled = rng.permutation(private)
    needed = (
        cal.schools.kindergarten_inclusive_coverage * total - table.loc[public, "enrolment"].sum()
    )
    cumulative = np.cumsum(table["enrolment"].to_numpy()[shuffled])
    table.loc[shuffled[cumulative <= needed], "inclusive"] = True
    return table


def _tiers(table: pd.DataFrame, cal: Calibration, rng) -> pd.DataFrame:
    """Quality tier of public general high schools: the larger, the likelier a model school."""
    table["quality_tier"] = "standard"
    hs = np.flatnonzero(
        table["level"].isin(["senior_high", "complete_secondary"])
        & (table["ownership"] == "public")
    )
    score = np.log1p(table["senior_enrolment"].to_numpy()[hs]) + rng.normal(0, 0.4, len(hs))
    ranked = hs[np.argsort(-score, kind="stable")]
    n_total = int((table["level"].isin(["senior_high", "complete_secondary"])).sum())
    n_prov = round(cal.schools.provincial_model_share * n_total)
    n_muni = round(cal.schools.municipal_model_share * n_total)
    table.loc[ranked[:n_prov], "quality_tier"] = "provincial_model"
    table.loc[ranked[n_prov : n_prov + n_muni], "quality_tier"] = "municipal_model"
    table["must_keep"] = (table["quality_tier"] == "provincial_model") | (
        table["level"] == "special"
    )
    return table


def _specialties(table: pd.DataFrame, cal: Calibration, rng) -> pd.DataFrame:
    """Specialty categories of vocational schools: about enrolment / students_per_category
    of them (within per_school), drawn without repeats by the categories' weights."""
    table["specialties"] = ""
    spec = cal.schools.specialties
    if spec is None:
        return table
    categories = sorted(spec.weights)
    weights = np.array([spec.weights[c] for c in categories], dtype=float)
    lo, hi = spec.per_school
    for row in np.flatnonzero(table["level"].to_numpy() == "vocational"):
        wanted = table["enrolment"].iat[row] / spec.students_per_category + rng.normal(0, 0.7)
        count = int(np.clip(round(wanted), lo, min(hi, len(categories))))
        drawn = rng.choice(len(categories), size=count, replace=False, p=weights / weights.sum())
        table.iat[row, table.columns.get_loc("specialties")] = joined(categories[k] for k in drawn)
    return table


def _identify(table: pd.DataFrame, demand) -> pd.DataFrame:
    """Stable ids (county, level code, number) and Chinese names from the host settlement."""
    table = table.sort_values(["region_id", "level", "host"], kind="stable").reset_index(drop=True)
    number = table.groupby(["region_id", "level"]).cumcount() + 1
    table["school_id"] = [
        f"{r}-{LEVEL_CODE[lv]}{k:03d}"
        for r, lv, k in zip(table["region_id"], table["level"], number, strict=True)
    ]
    at_host = table.groupby(["host", "level"]).cumcount() + 1
    host_name = demand["name"].to_numpy()[table["host"]]
    table["name"] = [
        ("民办" if own == "private" else "") + host + (f"第{k}" if k > 1 else "") + LEVEL_NAME[lv]
        for own, host, k, lv in zip(
            table["ownership"], host_name, at_host, table["level"], strict=True
        )
    ]
    return table


def _place(table: pd.DataFrame, demand, regions, seed: int) -> gpd.GeoDataFrame:
    """A point near the host settlement, inside the county."""
    x = demand.geometry.x.to_numpy()[table["host"]]
    y = demand.geometry.y.to_numpy()[table["host"]]
    polygons = regions.set_index("region_id").geometry
    for region_id, rows in table.groupby("region_id").indices.items():
        rng = county_rng(seed, region_id, "schools")
        for kind, km in JITTER_KM.items():
            sel = rows[table["host_kind"].to_numpy()[rows] == kind]
            x[sel], y[sel] = jitter_inside(polygons[region_id], x[sel], y[sel], km, rng)
    table["demand_id"] = demand["demand_id"].to_numpy()[table["host"]]
    columns = [
        "school_id",
        "name",
        "level",
        "ownership",
        "inclusive",
        "region_id",
        "classes",
        "streams",
        "enrolment",
        "primary_enrolment",
        "junior_enrolment",
        "senior_enrolment",
        "capacity",
        "boarding_beds",
        "boarders",
        "teachers",
        "quality_tier",
        "must_keep",
        "specialties",
        "demand_id",
    ]
    return gpd.GeoDataFrame(table[columns], geometry=gpd.points_from_xy(x, y), crs=WGS84)
