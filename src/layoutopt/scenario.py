"""Scenario files: what a planning run should do, in TOML, checked by pydantic.

A scenario names its data set, the base and horizon years, solver and travel settings,
input checks, national norms and one section per programme. Every value has a
documented default; the description of each field says where the value comes from.
An unknown or mistyped key is an error that names it and suggests the nearest key.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_cache_path
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from layoutopt.errors import ScenarioError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataFiles(Section):
    """Per-table file overrides, relative to the data folder (GeoPackage, CSV or GeoParquet)."""

    regions: str | None = None
    demand: str | None = None
    schools: str | None = None
    sites: str | None = None
    road_nodes: str | None = None
    road_edges: str | None = None
    teachers: str | None = None


class SolverSettings(Section):
    backend: Literal["highs", "pulp_cbc", "pulp_highs"] = Field(
        "highs", description="MIP solver: HiGHS through highspy (default) or a PuLP path."
    )
    time_limit_s: float = Field(600.0, gt=0, description="Wall-clock limit per solve, seconds.")
    mip_gap: float = Field(0.005, ge=0, lt=1, description="Relative gap accepted as solved.")
    threads: int = Field(
        1,
        ge=1,
        description="Solver threads per solve. The runner solves `workers` regions at once, so "
        "one thread each keeps a 2-core machine busy; results do not depend on `workers`.",
    )
    workers: int | None = Field(
        None,
        ge=1,
        description="Regions solved at once (processes); empty: the number of cores. "
        "`layoutopt plan --workers N` overrides it.",
    )
    executor: Literal["processes", "dask"] = Field(
        "processes",
        description="Where regions run: a pool of local processes, or Dask distributed (an "
        'optional extra: pip install -e ".[dask]"); outputs are the same. '
        "`layoutopt plan --executor` overrides it.",
    )
    scheduler: str | None = Field(
        None,
        description="With executor = 'dask': a running cluster's scheduler address "
        "(tcp://host:8786); empty: a LocalCluster of `workers` on this machine. "
        "`layoutopt plan --scheduler` overrides it.",
    )
    scheduler_timeout_s: float = Field(
        20.0, gt=0, description="How long to wait for the Dask scheduler to answer, seconds."
    )


class TravelSettings(Section):
    method: Literal["auto", "road", "straight_line"] = Field(
        "auto", description="'auto' uses the road graph when the data set has one."
    )
    cutoff_min: float = Field(120.0, gt=0, description="Sites farther than this are dropped, min.")
    circuity: float = Field(
        1.3,
        ge=1.0,
        description="Road distance / straight-line distance for the straight-line fallback "
        "(assumption; 1.2-1.4 is typical of rural road networks).",
    )
    speed_kmh: dict[str, float] = Field(
        default_factory=lambda: {"urban": 25.0, "town": 40.0, "village": 35.0},
        description="Straight-line fallback speed by settlement kind, km/h (assumption).",
    )
    access_speed_kmh: float = Field(
        15.0, gt=0, description="Speed from a point to its nearest road node, km/h (assumption)."
    )
    cache_dir: str | None = Field(
        None,
        description="Where travel tables are cached. Unset: the user's cache folder "
        "(``$LAYOUTOPT_CACHE_DIR/travel`` if that is set, else platformdirs' user cache, "
        "e.g. ~/.cache/layoutopt/travel), never the checkout; a relative path is beside the "
        "scenario file (not the working directory), so every run of a scenario finds it.",
    )

    def cache_path(self) -> Path:
        """The folder travel tables are cached in: ``cache_dir``, or the default."""
        return Path(self.cache_dir) if self.cache_dir else default_travel_cache()


def default_travel_cache() -> Path:
    """The user's cache folder for travel tables (outside any checkout)."""
    root = os.environ.get("LAYOUTOPT_CACHE_DIR")
    return (Path(root) if root else user_cache_path("layoutopt", appauthor=False)) / "travel"


class ValidationSettings(Section):
    outside_county_tolerance_m: float = Field(
        250.0, ge=0, description="A point this close outside its county still counts as inside, m."
    )
    max_enrolment_over_capacity: float = Field(
        1.5, gt=1, description="Enrolment above capacity × this is reported as impossible."
    )
    senior_years: int = Field(3, ge=1, description="Grades in a senior or vocational section.")


class Norms(Section):
    """National norms used by the programmes (FACTS.md section 3)."""

    class_size: dict[str, int] = Field(
        default_factory=lambda: {
            "kindergarten": 30,
            "primary": 45,
            "junior": 50,
            "senior_high": 50,
            "vocational": 50,
        },
        description="GB 50099-2011 class sizes; kindergarten mixed class 30 (2016 rules).",
    )


class ProgrammeSection(Section):
    enabled: bool = Field(True, description="Run this programme in `layoutopt plan`.")


class StreamSection(ProgrammeSection):
    """What the programmes counted in streams (high and vocational schools) share."""

    grades: int = Field(
        3, ge=1, description="Grades of the school (3): a stream (轨) is one class in each."
    )
    entry_age: int = Field(
        15, ge=0, le=17, description="Age on entering the first grade (15 in China)."
    )
    enrolment_rate: float = Field(
        0.96, gt=0, le=1.5, description="High-school-stage gross enrolment rate, 2025 target."
    )
    plan_students_tolerance: float = Field(
        0.25,
        ge=0,
        description="Largest relative gap between plan_students and the cohort projection "
        "that is accepted as reconciliation; a larger one is an error (wrong province?).",
    )
    stream_cost: float = Field(
        3_000.0, ge=0, description="Objective cost of one added stream, in student-minutes."
    )
    new_school_cost: float = Field(
        60_000.0, ge=0, description="Objective cost of opening a new school, in student-minutes."
    )
    switch_cost_min: float = Field(
        10.0,
        ge=0,
        description="Minutes a change of school must save before the plan proposes it for "
        "students whose school is not closing (keeps the plan from reshuffling students "
        "between equally good schools).",
    )
    stream_capital_yuan: float = Field(
        6_000_000.0,
        ge=0,
        description="Capital cost of one added stream, yuan: three classrooms of 50 with their "
        "share of laboratories and offices (assumption: about 2,400 m² at 2,500 yuan/m²; "
        "no provincial unit cost was found).",
    )
    new_school_capital_yuan: float = Field(
        60_000_000.0,
        ge=0,
        description="Capital cost of a new school besides its streams (site works, sports "
        "ground, shared buildings), yuan (assumption).",
    )
    bed_capital_yuan: float = Field(
        30_000.0,
        ge=0,
        description="Capital cost of one boarding bed, yuan (assumption: dormitory space of at "
        "least 3 m² per boarder, FACTS.md, with its share of washrooms and furnishing).",
    )
    unmet_penalty: float = Field(
        10_000_000.0,
        gt=0,
        description="Objective cost per student left without a seat: the last resort, priced so "
        "that it appears only where the policy cannot be met.",
    )


class HighSchoolSection(StreamSection):
    """High-school consolidation; rule defaults are the national and Shanxi 14th Five-Year
    Plan rules (FACTS.md); the province's own figures are the scenario's to give."""

    levels: list[str] = Field(
        default_factory=lambda: ["senior_high", "complete_secondary"],
        description="School levels with a general senior section (统计口径: 含完全中学).",
    )
    small_max_streams: int = Field(
        4, ge=0, description="Schools of this many streams (轨) or fewer are 'small' (plan 5.(3))."
    )
    max_streams: int = Field(
        20, ge=1, description="No school grows above this; a new school has at most this (5.(3))."
    )
    general_share: float | None = Field(
        None,
        gt=0,
        le=1,
        description="General (not vocational) share of upper-secondary students (Shanxi: "
        "65万 / (65万 + 45万) = 0.591, the plan's 2025 targets). Empty: the register's share, "
        "printed as such.",
    )
    plan_students: int | None = Field(
        None,
        ge=0,
        description="Province total the projection is scaled to (Shanxi: the plan's 65万 for "
        "2025); 0 or empty keeps the cohort projection unscaled.",
    )
    max_travel_min: float = Field(
        90.0,
        gt=0,
        description="Longest trip a merge may impose (assumption: 90 min by road); a settlement "
        "whose nearest school is already farther keeps that school's time as its limit.",
    )
    boarding_travel_min: float = Field(
        40.0, ge=0, description="Moved students beyond this trip need a bed (assumption)."
    )
    small_school_weight: float = Field(
        1_000_000.0,
        ge=0,
        description="Objective weight of each small school left open, in student-minutes: "
        "large enough that fewer small schools always comes first.",
    )
    allow_new_schools: bool = Field(True, description="Candidate sites may open a new school.")
    new_school_min_streams: int = Field(
        6, ge=1, description="Smallest new school: 18 classes (standard sizes 18/24/30/36)."
    )
    new_school_site_kinds: list[str] = Field(
        default_factory=lambda: ["town_centre", "new_housing"],
        description="Candidate-site kinds where a new high school may be built.",
    )
    quality_tiers: list[str] = Field(
        default_factory=lambda: ["provincial_model", "municipal_model"],
        description="quality_tier values that count as a quality public high school.",
    )
    exempt: dict[str, str] = Field(
        default_factory=dict,
        description="Small schools to keep whatever the model says: school_id = reason.",
    )
    k_nearest: int = Field(
        40, ge=1, description="Schools and sites kept per settlement in the travel table."
    )
    travel_cutoff_min: float = Field(
        240.0,
        gt=0,
        description="Schools farther than this are not considered at all; wider than the "
        "general travel cut-off because high-school students board (assumption).",
    )


class KindergartenSection(ProgrammeSection):
    """Kindergarten places; defaults are Shanxi's 14th Five-Year Plan targets (FACTS.md)."""

    enrolment_rate: float = Field(
        0.965, gt=0, le=1.2, description="Preschool gross enrolment rate, 2025 target (96.5%)."
    )
    inclusive_share: float = Field(
        0.865, ge=0, le=1, description="Inclusive (普惠) coverage of enrolled children (86.5%)."
    )
    public_share: float = Field(
        0.55, ge=0, le=1, description="Share of enrolled children in public kindergartens (55%)."
    )
    ages: list[int] = Field(
        default_factory=lambda: [3, 4, 5],
        description="Ages of kindergarten children (three years of 幼儿园).",
    )
    projects: tuple[int, int] | None = Field(
        None,
        description="Range of public projects (new, converted or expanded kindergartens; "
        "Shanxi: [450, 550], the plan's 'about 500'). Empty: no count target, each project "
        "priced at project_price_start.",
    )
    project_price_start: float = Field(
        0.0,
        description="Project price (yuan) the search for the project count starts from; each "
        "run's manifest reports the price it found: copy it here to make the next run quick.",
    )
    price_step: float = Field(
        100_000.0,
        gt=0,
        description="First step of the project-price search, yuan, when the count at the "
        "start price is out of range.",
    )
    price_evaluations: int = Field(
        12, ge=1, description="Most project prices tried (each solves every county)."
    )
    births_tolerance: float = Field(
        0.25,
        ge=0,
        description="Largest relative gap between the base year's births and the census's "
        "age-0 cohort; a larger one means births of another province (an error).",
    )
    outside_growth_cost_factor: float = Field(
        1.5,
        ge=1,
        description="Weight on the cost of a project outside growth or migrant settlements: "
        "the plan concentrates projects where urban population grows and migrants live "
        "(1.0 = no priority).",
    )
    births: dict[str, int] | None = Field(
        None,
        description="Province births by year for the cohorts of kindergarten age at the "
        "horizon (Shanxi, FACTS.md: 2020 ≈28.8万, 2021 24.64万, 2022 23.51万). Required when "
        "the programme runs: the census cannot give births after its own year.",
    )
    growth_weight: dict[str, float] = Field(
        default_factory=lambda: {"growing": 0.25, "stable": 0.0, "shrinking": -0.10},
        description="Relative change of a settlement's share of births by its growth class "
        "(assumption: urban growth areas gain, shrinking villages lose).",
    )
    migrant_weight: float = Field(
        1.0,
        ge=0,
        description="Extra share of births per unit of migrant share (assumption: a settlement "
        "with 30% migrants gets 30% more children than its census share).",
    )
    migrant_area_share: float = Field(
        0.10,
        ge=0,
        le=1,
        description="A settlement with this migrant share or more is a "
        "migrant area (for the KPI of where projects go).",
    )
    radius_km: dict[str, float] = Field(
        default_factory=lambda: {"urban": 1.5, "town": 3.0, "village": 10.0},
        description="Service radius by settlement kind, straight line. The urban norm is "
        "300-500 m walking; settlements here are aggregated units, so 1.5 km (assumption); "
        "town 3 km and village 10 km (the township's central kindergarten) are assumptions.",
    )
    max_classes: int = Field(12, ge=1, description="Largest kindergarten: 12 classes, 360.")
    new_min_classes: int = Field(6, ge=1, description="Smallest new kindergarten (6 classes).")
    new_site_kinds: list[str] = Field(
        default_factory=lambda: ["new_housing", "town_centre"],
        description="Candidate-site kinds where a new kindergarten may be built.",
    )
    convert_site_kinds: list[str] = Field(
        default_factory=lambda: ["vacant_school"],
        description="Candidate-site kinds that are buildings to convert (emptied schools).",
    )
    new_cost: float = Field(
        3_000_000.0,
        ge=0,
        description="Capital cost of a new kindergarten besides its classes, yuan (assumption).",
    )
    convert_cost: float = Field(
        800_000.0,
        ge=0,
        description="Capital cost of converting an emptied building, besides its classes, "
        "yuan (assumption).",
    )
    expand_cost: float = Field(
        300_000.0, ge=0, description="Fixed capital cost of an expansion, yuan (assumption)."
    )
    class_cost: float = Field(
        250_000.0,
        ge=0,
        description="Capital cost per class built or added, yuan (assumption). The objective "
        "weighs these costs by outside_growth_cost_factor; kpis.csv reports them unweighted.",
    )
    recognise_cost_per_child: float = Field(
        1_000.0,
        ge=0,
        description="Subsidy to recognise a private kindergarten as inclusive, "
        "per place, yuan (over the plan period, assumption).",
    )
    merge_into_private: bool = Field(
        False,
        description="A public kindergarten may merge into an inclusive private one (which "
        "may then take more children than its register). Never into a non-inclusive one.",
    )
    private_keep_register: bool = Field(
        True,
        description="Private kindergartens keep their children up to today's register and "
        "take no more: parents chose them, and the plan cannot empty or fill them.",
    )
    private_keep_weight: float = Field(
        100_000.0,
        ge=0,
        description="Objective weight per child that fills a private kindergarten's "
        "register places first (a weight in yuan-equivalents, not a cost); below "
        "shortfall_penalty, so the county targets and floors still come first.",
    )
    allow_decrease: bool = Field(
        False,
        description="A county's public share, inclusive share and enrolment rate may fall "
        "below their register values (false: each is at least its register value, or the "
        "county gets a shortfall row).",
    )
    merge_max_classes: int = Field(
        3,
        ge=0,
        description="Public kindergartens of this many classes or fewer may merge "
        "where places are in surplus.",
    )
    merge_saving: float = Field(
        200_000.0, ge=0, description="Saving from merging a small kindergarten, yuan."
    )
    switch_cost_per_child: float = Field(
        1_000.0,
        ge=0,
        description="Objective weight of a child placed at another kindergarten than the one "
        "it attends in today's network at the horizon, yuan-equivalents (a weight, not a "
        "cost; about 2 km of a child's distance): keeps the plan from reshuffling children "
        "between kindergartens that stay.",
    )
    travel_cost_per_child_km: float = Field(
        500.0,
        ge=0,
        description="Cost of each child's distance to kindergarten, yuan per km "
        "over the plan period (weights travel against building).",
    )
    unenrolled_cost: float = Field(
        10_000.0,
        ge=0,
        description="Objective weight of a child left without a place, in yuan-equivalents "
        "(a valuation, not a cost): above it a place is not worth providing (the county's "
        "enrolment target still binds). Not reported as money.",
    )
    shortfall_penalty: float = Field(
        1_000_000.0, gt=0, description="Cost per place short of a target: the last resort."
    )
    decrease_penalty: float = Field(
        2_000_000.0,
        gt=0,
        description="Objective weight per child by which a county's enrolment rate, public "
        "or inclusive share falls below its register value (allow_decrease = false): above "
        "shortfall_penalty, so a fall comes only where nothing within reach can stop it, and "
        "then with a shortfall row. A weight, not a cost.",
    )
    k_nearest: int = Field(20, ge=1, description="Kindergartens and sites kept per settlement.")


class VocationalSection(StreamSection):
    """Secondary vocational consolidation, planned by prefecture; defaults are Shanxi's
    14th Five-Year Plan (FACTS.md: 6.(1), column 7 and the 2010 establishment standard)."""

    levels: list[str] = Field(
        default_factory=lambda: ["vocational"], description="School levels of the programme."
    )
    schools_kept: tuple[int, int] | None = Field(
        None,
        description="Province-wide range of vocational schools after the plan (Shanxi: [310, "
        '330], "about 320"), public and private; the prefectures meet it together through a '
        "price per school. Empty: no count target, each school priced at school_price_start.",
    )
    standard_students: int = Field(
        1200, ge=0, description="Establishment standard (2010): at least this many students."
    )
    standard_teachers: int = Field(
        60,
        ge=0,
        description="Establishment standard (2010): at least this many full-time teachers.",
    )
    students_per_teacher: float = Field(
        20.0, gt=0, description="Establishment standard (2010): teacher : student 1 : 20."
    )
    max_streams: int = Field(
        30, ge=1, description="No school grows above this many streams (classes per grade)."
    )
    vocational_share: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Vocational share of upper-secondary students (Shanxi: 45万 / (65万 + "
        "45万) = 0.409). Empty: the register's share, printed as such.",
    )
    plan_students: int | None = Field(
        None,
        ge=0,
        description="Province total the projection is scaled to (Shanxi: the plan's 45万 for "
        "2025); 0 or empty keeps the cohort projection unscaled.",
    )
    centres: dict[str, str] = Field(
        default_factory=dict,
        description="A county's vocational education centre (职教中心): region_id = school_id. "
        "Counties not named take their largest public vocational school.",
    )
    exempt: dict[str, str] = Field(
        default_factory=dict,
        description="Schools kept below the standard whatever the model says: school_id = reason.",
    )
    boarding_travel_min: float = Field(
        30.0,
        ge=0,
        description="Moved students whose trip is longer than this need a bed at the receiver "
        "(assumption; most vocational students board).",
    )
    max_travel_min: float = Field(
        90.0,
        gt=0,
        description="Longest trip the plan may give a school's students, minutes, across a "
        "county line too (assumption, as high schools' 90; today's trip where that is "
        "longer). A merge's row says the trip and this limit.",
    )
    travel_cutoff_min: float = Field(
        180.0,
        gt=0,
        description="Schools of the prefecture farther than this from a county's settlements "
        "are not considered (assumption).",
    )
    school_price_start: float = Field(
        0.0,
        description="Objective price per school kept (student-minutes) where the search for "
        "schools_kept starts; a positive price closes schools, a negative one keeps them.",
    )
    price_step: float = Field(
        20_000.0, gt=0, description="First move of the price search, student-minutes."
    )
    price_evaluations: int = Field(
        12, ge=1, description="Most prices tried before the search reports the nearest count."
    )
    presence_shortfall_cost: float = Field(
        50_000_000.0,
        gt=0,
        description="Objective cost of a county left without a public vocational school, in "
        "student-minutes: priced so that it appears only where no school or site can open.",
    )
    category_shortfall_cost: float = Field(
        20_000_000.0,
        gt=0,
        description="Objective cost of a specialty category a prefecture stops offering, in "
        "student-minutes: priced so that it appears only where the rule cannot hold.",
    )
    new_school_site_kinds: list[str] = Field(
        default_factory=lambda: ["town_centre", "new_housing", "vacant_school"],
        description="Candidate-site kinds for a new school in a county without a public one.",
    )
    high_level_schools: int = Field(
        50, ge=0, description="Provincial high-level schools to pick among those kept (column 7)."
    )
    high_level_score: dict[str, float] = Field(
        default_factory=lambda: {
            "students": 1.0,
            "category": 0.25,
            "provincial_model": 1.0,
            "municipal_model": 0.5,
        },
        description="How kept public schools are ranked for high_level_schools: students "
        "after the plan ÷ standard_students × 'students', plus specialty categories × "
        "'category', plus the value of its quality tier (size first, then breadth, then "
        "quality; an assumption, no provincial formula was found).",
    )
    county_reach_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="A school is offered to a county's students only if at least this share "
        "of them can reach it within travel_cutoff_min (assumption).",
    )
    high_level_pin: list[str] = Field(
        default_factory=list, description="Schools always picked as high-level (if kept)."
    )
    high_level_exclude: list[str] = Field(
        default_factory=list, description="Schools never picked as high-level."
    )


class BoardingSection(ProgrammeSection):
    """Boarding beds for compulsory pupils who live too far from school, left-behind children
    first; small rural schools kept for young pupils or merged where nobody is left without
    a place (plan 5.(2), 5.(5), column 5). Thresholds and weights are assumptions, named
    here; the 3 m² per boarder is FACTS.md's. The objective is in pupil-minutes of a daily
    trip; money is reported apart, at ``bed_capital_yuan``."""

    day_mode: Literal["bus", "walk"] = Field(
        "bus",
        description="How pupils travel by day: 'bus' (a school bus or other vehicle at the "
        "road speeds of [travel]: a pupil is far beyond the minutes) or 'walk' (on foot: far "
        "beyond the km, road km = straight line × travel.circuity).",
    )
    max_minutes: dict[str, float] = Field(
        default_factory=lambda: {"primary": 40.0, "junior": 60.0},
        description="Longest day trip by bus: primary grades (1-6) 40, junior (7-9) 60 minutes.",
    )
    max_km: dict[str, float] = Field(
        default_factory=lambda: {"primary": 3.0, "junior": 5.0},
        description="Longest day trip on foot, road km: primary grades 3, junior 5.",
    )
    young_grades: int = Field(
        3, ge=0, le=6, description="Grades 1 to this do not board: they need a school in reach."
    )
    growth_weight: dict[str, float] = Field(
        default_factory=lambda: {"growing": 0.25, "stable": 0.0, "shrinking": -0.10},
        description="Migration to the horizon: relative change of a settlement's share of each "
        "cohort by its growth class, the province total kept (the kindergarten assumption).",
    )
    bed_host_kinds: list[str] = Field(
        default_factory=lambda: ["town"],
        description="Settlement kinds whose schools may add dormitories: township "
        "(town-centre) schools.",
    )
    module_beds: int = Field(50, ge=1, description="Beds of one dormitory module.")
    module_area_m2: float = Field(
        200.0, gt=0, description="Indoor living area of one module, m² (assumption: 4 m² a bed)."
    )
    min_area_per_boarder_m2: float = Field(
        3.0, gt=0, description="Least indoor living area per boarder, m² (FACTS.md)."
    )
    max_modules: int = Field(8, ge=0, description="Most modules one school adds.")
    classroom_weight_min: float = Field(
        2_700.0,
        ge=0,
        description="Objective weight of one classroom added (add_classrooms), pupil-minutes: "
        "60 a place of a primary class of 45, as a bed's bed_weight_min (a weight, not a cost).",
    )
    classroom_capital_yuan: float = Field(
        1_200_000.0,
        ge=0,
        description="Capital cost of one classroom added, yuan (assumption: about 480 m² of "
        "school building a class, its share of shared rooms included, at 2,500 yuan/m²).",
    )
    max_classrooms: int = Field(
        12,
        ge=0,
        description="Most classrooms a section adds beyond those its own pupils at the horizon "
        "need (a receiving school's limit).",
    )
    max_beds_per_pupil: float = Field(
        1.0,
        gt=0,
        description="A school adds no more beds than this times its pupils on the register.",
    )
    bed_capital_yuan: float = Field(
        30_000.0,
        ge=0,
        description="Capital cost of one bed, yuan (assumption, as the high-school programme's).",
    )
    bed_cap_share: float | None = Field(
        None,
        ge=0,
        le=1,
        description="A bed cap: a county adds at most this share of the beds its far pupils "
        "lack in today's network (none: no cap). Under a cap, left-behind pupils come first.",
    )
    small_school_pupils: int = Field(
        100, ge=0, description="A rural school (not urban) below this many pupils may merge."
    )
    merge_gain_min: float = Field(
        5.0,
        ge=0,
        description="A small school's section closes only where its pupils' extra day trip is "
        "on average under this many minutes (objective weight per pupil, pupil-minutes; an "
        "assumption, kept low: the 2018 State Council opinion on rural small schools warns "
        "against consolidation that lengthens young pupils' trips).",
    )
    switch_cost_min: float = Field(
        10.0,
        ge=0,
        description="Minutes a change of school weighs besides the trip: pupils stay at the "
        "school they attend today while it stays open.",
    )
    boarder_trip_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="A boarder's trips as a share of a day pupil's: home once a week, not "
        "five times (assumption).",
    )
    teaching_point_class_size: int = Field(
        30,
        ge=1,
        description="Pupils of a class of a school kept for its young grades only: the "
        "incomplete primary class of GB 50099-2011 (FACTS.md).",
    )
    bed_weight_min: float = Field(
        60.0,
        ge=0,
        description="Objective weight of one added bed, in pupil-minutes: beds go where they "
        "save trips, existing spare beds first.",
    )
    boarder_weight_min: float = Field(
        30.0,
        ge=0,
        description="Objective weight of a pupil boarding rather than going home each day, "
        "pupil-minutes: a pupil boards only where no day school is in reach.",
    )
    no_bed_weight_min: float = Field(
        100_000.0,
        gt=0,
        description="Objective weight of a far pupil left without a bed, pupil-minutes: far "
        "above a bed, so that pupils go without only where no bed can be had.",
    )
    left_behind_priority: float = Field(
        1.0,
        ge=0,
        description="Extra weight of a left-behind pupil left without a bed (1: twice "
        "another's), so that left-behind children get the beds first under a cap.",
    )
    max_board_min: float = Field(
        120.0, gt=0, description="Longest trip to a boarding school, minutes (assumption)."
    )
    boarders_register_levels: list[str] = Field(
        default_factory=lambda: ["primary", "junior", "nine_year"],
        description="Levels whose register boarders the base-year check compares with.",
    )
    plan_projects: int | None = Field(
        None,
        ge=0,
        description="Boarding schools renovated or expanded 2021-25 (Shanxi, FACTS: 'over "
        "1,700'): reported against the schools with dormitory projects, not forced. Empty: "
        "reported without a target.",
    )


class StaffingSection(ProgrammeSection):
    """Teacher staffing after the plan: posts by the national norms, redeployment within
    the county (县管校聘) as a minimum-cost flow, and what each county must recruit (9.(3),
    columns 2 and 3). Defaults: FACTS.md norms; the rest are assumptions, named here."""

    students_per_teacher: dict[str, float] = Field(
        default_factory=lambda: {"primary": 19.0, "junior": 13.5, "senior": 12.5},
        description="Students per teacher post by section (2014 unified standard, FACTS); "
        "vocational schools use vocational.students_per_teacher and standard_teachers.",
    )
    kindergarten_teachers_per_class: float = Field(
        2.0, ge=0, description="Teacher posts per kindergarten class (2013 norm: 2 + 1 nurse)."
    )
    kindergarten_nurses_per_class: float = Field(
        1.0, ge=0, description="Nurse posts per class (2013 norm), reported beside teachers."
    )
    small_school_students: int = Field(
        100,
        ge=0,
        description="A rural school (village or town-centre host) below this many students is "
        "staffed by the class : teacher ratio where that needs more (assumption).",
    )
    teachers_per_class: dict[str, float] = Field(
        default_factory=lambda: {"primary": 1.8, "junior": 3.0},
        description="Class : teacher ratio of small rural schools (teachers per class); no "
        "national figure was found (FACTS): an assumption.",
    )
    boarders_per_extra_post: float = Field(
        50.0, gt=0, description="One extra post per this many boarders (assumption)."
    )
    mental_health_min_students: int = Field(
        300,
        ge=0,
        description="A school of this many students or more needs a full-time mental-health "
        "teacher; each town centre's schools need at least one (assumption for the size).",
    )
    weekly_periods: dict[str, float] = Field(
        default_factory=lambda: {"primary": 28.0, "junior": 34.0, "senior": 35.0},
        description="Class periods a week per class (2022 compulsory curriculum plan: primary "
        "26-30, junior 34; senior: assumption).",
    )
    pe_share: dict[str, float] = Field(
        default_factory=lambda: {"primary": 0.11, "junior": 0.105, "senior": 0.07},
        description="PE and health share of class hours (curriculum plan 2022: 10-11%; senior: "
        "assumption).",
    )
    arts_share: dict[str, float] = Field(
        default_factory=lambda: {"primary": 0.10, "junior": 0.09, "senior": 0.05},
        description="Arts share of class hours (curriculum plan 2022: 9-11%; senior: assumption).",
    )
    teaching_load_periods: float = Field(
        14.0,
        gt=0,
        description="Periods a week a PE or arts teacher teaches (assumption; no figure was "
        "collected).",
    )
    subject_shares: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "primary": {
                "chinese": 0.34,
                "maths": 0.26,
                "english": 0.09,
                "science": 0.09,
                "humanities": 0.08,
                "it": 0.04,
                "other": 0.10,
            },
            "junior": {
                "chinese": 0.19,
                "maths": 0.18,
                "english": 0.17,
                "science": 0.20,
                "humanities": 0.18,
                "it": 0.04,
                "other": 0.04,
            },
            "senior": {
                "chinese": 0.16,
                "maths": 0.16,
                "english": 0.15,
                "science": 0.25,
                "humanities": 0.21,
                "it": 0.03,
                "other": 0.04,
            },
            "vocational": {
                "vocational": 0.62,
                "chinese": 0.11,
                "maths": 0.10,
                "english": 0.08,
                "humanities": 0.03,
                "it": 0.04,
                "other": 0.02,
            },
        },
        description="How a school's posts other than PE, arts and mental health are shared "
        "among subject groups, by its main section (assumption from class hours).",
    )
    cover: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "chinese": {"humanities": 30.0, "arts": 60.0, "mental_health": 60.0},
            "maths": {"science": 30.0, "it": 45.0, "pe": 60.0},
            "science": {"maths": 30.0, "it": 45.0},
            "humanities": {"chinese": 30.0, "mental_health": 45.0},
            "english": {"chinese": 60.0},
            "other": {"pe": 60.0, "arts": 60.0, "it": 60.0, "mental_health": 60.0},
        },
        description="Which subject's teachers may teach which other subject, and the penalty "
        "in minutes-equivalent (assumption; a teacher of the same subject costs 0).",
    )
    move_bands: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "teaching_point": ["teaching_point", "primary"],
            "primary": ["primary", "teaching_point", "nine_year"],
            "nine_year": ["nine_year", "primary", "junior"],
            "junior": ["junior", "nine_year", "complete_secondary"],
            "complete_secondary": ["complete_secondary", "junior", "senior_high"],
            "senior_high": ["senior_high", "complete_secondary"],
            "kindergarten": ["kindergarten"],
            "vocational": ["vocational"],
            "special": ["special"],
        },
        description="Levels a teacher of a school of each level may move to (a teacher's "
        "certificate, 教师资格, is for a level): primary ↔ nine-year ↔ junior ↔ complete "
        "secondary ↔ senior high, each only to its neighbours; teaching points with primary "
        "schools; kindergartens, vocational schools (their specialty teachers) and special "
        "schools among their own. A level missing here moves nowhere.",
    )
    rotation_share: float = Field(
        0.15,
        ge=0,
        le=1,
        description="Largest share of a school's teachers that may move to another school in "
        "the plan period (县管校聘 rotation; assumption). Teachers of a closing school all may.",
    )
    follow_bonus_min: float = Field(
        60.0,
        ge=0,
        description="Minutes-equivalent preference for a closing school's teachers to follow "
        "its students to the school that receives them.",
    )
    max_move_min: float = Field(
        90.0, gt=0, description="Longest trip between two schools for a move (assumption)."
    )
    move_options: int = Field(
        30, ge=1, description="Nearest schools with a shortage offered to each surplus."
    )
    recruit_cost_min: float = Field(
        10_000.0,
        gt=0,
        description="Minutes-equivalent weight of recruiting a teacher rather than moving one: "
        "far above any move, so that moves come first.",
    )
    plan_teachers: int | None = Field(
        None,
        ge=0,
        description="Full-time teachers of all levels in 2025 (Shanxi: the plan's 487,300, "
        "FACTS); reported against the teachers after the plan (the data set has no higher "
        "education). Empty: reported without a target.",
    )


class Scenario(Section):
    name: str = Field(..., description="Short name; outputs go to out/<name>/.")
    title: str = ""
    data: Path = Field(..., description="Data set folder, relative to the scenario file.")
    base_year: int = Field(2020, description="Year of the data set's counts (census 2020).")
    horizon_year: int = Field(2025, description="Year the plan is for.")
    files: DataFiles = DataFiles()
    decisions: Path | None = Field(
        None,
        description="A review meeting's decisions (decisions.csv: keep, close, merge_into, "
        "build, ...), each a rule of its programme's model; relative to the scenario file. "
        "`plan --decisions FILE` gives one on the command line.",
    )
    solver: SolverSettings = SolverSettings()
    travel: TravelSettings = TravelSettings()
    validation: ValidationSettings = ValidationSettings()
    norms: Norms = Norms()
    highschool: HighSchoolSection = HighSchoolSection()
    kindergarten: KindergartenSection = KindergartenSection()
    vocational: VocationalSection = VocationalSection()
    boarding: BoardingSection = BoardingSection()
    staffing: StaffingSection = StaffingSection()

    source: Path | None = Field(None, exclude=True, description="The file this was read from.")


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file; relative paths are resolved against its folder."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: scenario file not found (fix: give the path of a .toml file)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    return scenario_from_dict(raw, source=path)


def scenario_from_dict(raw: dict[str, Any], *, source: Path | None = None) -> Scenario:
    label = str(source) if source else "scenario"
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        lines = [_explain(err) for err in exc.errors()]
        raise ScenarioError(
            f"{label}: {len(lines)} problem(s):\n" + "\n".join("  " + s for s in lines)
        ) from None
    problems = check_scenario_consistency(scenario)
    if problems:
        raise ScenarioError(
            f"{label}: {len(problems)} problem(s):\n" + "\n".join("  " + p for p in problems)
        )
    data, cache = scenario.data, scenario.travel.cache_path()
    if source is not None and not data.is_absolute():
        data = (source.parent / data).resolve()
    if source is not None and not cache.is_absolute():
        cache = (source.parent / cache).resolve()
    travel = scenario.travel.model_copy(update={"cache_dir": cache.as_posix()})
    decisions = scenario.decisions
    if source is not None and decisions is not None and not decisions.is_absolute():
        decisions = (source.parent / decisions).resolve()
    update = {"data": data, "source": source, "travel": travel, "decisions": decisions}
    return scenario.model_copy(update=update)


def check_scenario_consistency(scenario: Scenario) -> list[str]:
    """Relations between fields that each field's own check cannot see: ranges in order,
    thresholds below caps, speeds and radii positive. Every problem, named by key."""
    hs, kg, travel = scenario.highschool, scenario.kindergarten, scenario.travel
    problems = []

    def need(ok: bool, text: str) -> None:
        if not ok:
            problems.append(text)

    need(
        scenario.horizon_year >= scenario.base_year,
        f"'horizon_year' ({scenario.horizon_year}) is before 'base_year' "
        f"({scenario.base_year}) (fix: swap them)",
    )
    need(
        hs.small_max_streams < hs.max_streams,
        f"'highschool.small_max_streams' ({hs.small_max_streams}) is not below "
        f"'highschool.max_streams' ({hs.max_streams}) (fix: a small school must be smaller "
        "than the cap)",
    )
    need(
        hs.new_school_min_streams <= hs.max_streams,
        f"'highschool.new_school_min_streams' ({hs.new_school_min_streams}) is above "
        f"'highschool.max_streams' ({hs.max_streams}) (fix: lower it)",
    )
    voc = scenario.vocational
    lo, hi = voc.schools_kept or (0, 0)
    need(
        0 <= lo <= hi,
        f"'vocational.schools_kept' [{lo}, {hi}] is not a range from low to high "
        f"(fix: [{min(lo, hi)}, {max(lo, hi)}])",
    )
    lo, hi = kg.projects or (0, 0)
    need(
        0 <= lo <= hi,
        f"'kindergarten.projects' [{lo}, {hi}] is not a range from low to high "
        f"(fix: [{min(lo, hi)}, {max(lo, hi)}])",
    )
    need(
        kg.new_min_classes <= kg.max_classes,
        f"'kindergarten.new_min_classes' ({kg.new_min_classes}) is above "
        f"'kindergarten.max_classes' ({kg.max_classes}) (fix: lower it)",
    )
    need(
        kg.merge_max_classes < kg.max_classes,
        f"'kindergarten.merge_max_classes' ({kg.merge_max_classes}) is not below "
        f"'kindergarten.max_classes' ({kg.max_classes}) (fix: lower it)",
    )
    for key, values in (
        ("travel.speed_kmh", travel.speed_kmh),
        ("kindergarten.radius_km", kg.radius_km),
    ):
        for kind, value in values.items():
            need(value > 0, f"'{key}.{kind}' is {value:g} (fix: give a positive number)")
    for year, births in (kg.births or {}).items():
        need(births > 0, f"'kindergarten.births.{year}' is {births} (fix: a positive count)")
    for kind, weight in kg.growth_weight.items():
        need(
            weight > -1,
            f"'kindergarten.growth_weight.{kind}' is {weight:g}: a settlement would get no "
            "or negative children (fix: a value above -1)",
        )
    problems += _boarding_problems(scenario.boarding)
    need(
        not scenario.solver.scheduler or scenario.solver.executor == "dask",
        f"'solver.scheduler' ({scenario.solver.scheduler}) is set but 'solver.executor' is "
        f"'{scenario.solver.executor}' (fix: executor = \"dask\", or remove the scheduler)",
    )
    return problems


def _boarding_problems(b: BoardingSection) -> list[str]:
    problems = []
    area = b.module_area_m2 / b.module_beds
    if area < b.min_area_per_boarder_m2:
        problems.append(
            f"'boarding.module_area_m2' ({b.module_area_m2:g}) gives {area:.2f} m² per bed, "
            f"below 'boarding.min_area_per_boarder_m2' ({b.min_area_per_boarder_m2:g}) (fix: "
            f"at least {b.min_area_per_boarder_m2 * b.module_beds:g} m² a module)"
        )
    for key, values in (("max_minutes", b.max_minutes), ("max_km", b.max_km)):
        for stage in ("primary", "junior"):
            if not values.get(stage, 0) > 0:
                problems.append(
                    f"'boarding.{key}.{stage}' is missing or not positive (fix: give a "
                    "positive threshold)"
                )
    for kind, weight in b.growth_weight.items():
        if not weight > -1:
            problems.append(f"'boarding.growth_weight.{kind}' is {weight:g} (fix: above -1)")
    return problems


def _explain(err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        known = _known_keys(err["loc"][:-1])
        near = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
        hint = f"did you mean '{near[0]}'?" if near else "known keys: " + ", ".join(known)
        return f"unknown key '{loc}' ({hint})"
    if err["type"] == "missing":
        return f"missing key '{loc}' (fix: add it)"
    return f"'{loc}': {err['msg']} (got {err.get('input')!r})"


def _known_keys(parents: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = Scenario
    for part in parents:
        field = model.model_fields.get(str(part))
        if field is None or not isinstance(field.annotation, type):
            return []
        if not issubclass(field.annotation, BaseModel):
            return []
        model = field.annotation
    return [name for name in model.model_fields if name != "source"]


def resolved(scenario: Scenario) -> dict[str, Any]:
    """The scenario with every default filled in, as JSON-ready data (for the manifest)."""
    return scenario.model_dump(mode="json")
