"""Result types of a plan, shared by the programmes (which fill them) and the report layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from layoutopt.data.dataset import Dataset
from layoutopt.engine.report import SolveReport
from layoutopt.scenario import Scenario

if TYPE_CHECKING:  # the state reads results; a plan holds the last state
    from layoutopt.state import PlanState

# Columns of the shared review tables; every programme fills these (and may add after them).
# Columns of the shared review tables. Three kinds of figure are kept apart in their
# names: ``_register`` (the data set as it is today), ``_horizon_today`` (the horizon's
# students placed in today's network) and ``_after`` (the plan's result, at the horizon).
# A school's figures that the change list repeats beside each of its rows.
SCHOOL_FIGURES = [
    "students_register",
    "students_horizon_today",
    "students_after",
    "size_unit",
    "size_register",
    "size_after",
]
CHANGE_COLUMNS = [
    "programme",
    "action",
    "school_id",
    "school_name",
    "region_id",
    "county",
    "prefecture",
    "target_id",
    "target_name",
    *SCHOOL_FIGURES[:3],
    "students_moved",
    "students_unseated",
    "subject",
    "teachers",
    *SCHOOL_FIGURES[3:],
    "beds_added",
    "travel_min_before",
    "travel_min_after",
    "reason",
]
SCHOOL_AFTER_COLUMNS = [
    "school_id",
    "level",
    "region_id",
    "open",
    *SCHOOL_FIGURES,
    "capacity_register",
    "capacity_after",
    "beds_register",
    "beds_after",
]
# After SCHOOL_AFTER_COLUMNS, every programme's schools_after has these review columns,
# then its own extra columns, then the geometry.
SCHOOL_REVIEW_COLUMNS = ["name", "county", "prefecture", "ownership", "quality_tier", "action"]
# A programme's rows of the sections it planned, as the ledger takes them; the school's
# name, level, ownership, region, site and point are used for a new school only.
SECTION_ROW_COLUMNS = [
    "school_id",
    "section",
    "level",
    "ownership",
    "region_id",
    "name",
    "new",
    "site_id",
    "open",
    "size_after",
    "capacity_after",
    "students_horizon_today",
    "students_after",
    "beds_added",
    "beds_after",
    "bed_need_after",
    "geometry",
]
KPI_COLUMNS = [
    "programme",
    "indicator",
    "scope",
    "scope_id",
    "baseline",
    "target",
    "planned",
    "met",
]


@dataclass(frozen=True)
class ActionSpec:
    """One word of a programme's action vocabulary, as the change list and the map show it."""

    code: StrEnum
    colour: str
    zh: str
    en: str
    meaning: str

    @property
    def label(self) -> str:
        return f"{self.zh} {self.en}"


@dataclass
class ProgrammeResult:
    """What a programme hands to the report layer.

    ``changes`` has CHANGE_COLUMNS; ``schools_after`` has SCHOOL_AFTER_COLUMNS, then
    SCHOOL_REVIEW_COLUMNS, the programme's own columns and a WGS-84 point geometry;
    ``kpis`` has KPI_COLUMNS. ``actions`` is the programme's vocabulary in display order.
    ``summary`` goes into the manifest as it is (JSON-ready).
    """

    programme: str
    title: str = ""
    people: str = "students"  # whom the programme places: students, children
    actions: tuple[ActionSpec, ...] = ()
    kpi_labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # name: (中文, meaning)
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    kpis: pd.DataFrame = field(default_factory=pd.DataFrame)
    schools_after: gpd.GeoDataFrame | None = None
    solves: list[SolveReport] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    # Map extras: choropleths (label -> value by region_id) and service areas (school_id ->
    # radius in km, drawn as circles).
    region_layers: dict[str, pd.Series] = field(default_factory=dict)
    # Class limits of a choropleth (its four inner breaks, e.g. around a ratio's target);
    # a layer without them is classed 0, then by quarters of its largest value.
    region_breaks: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    service_areas: pd.Series | None = None
    # Map layers of named schools (label -> school ids), e.g. the high-level schools.
    school_layers: dict[str, list[str]] = field(default_factory=dict)
    # Circles of places other than schools (settlements), drawn after the plan:
    # label -> (colour, rows of [lat, lon, metres, tooltip]).
    point_layers: dict[str, tuple[str, list[list]]] = field(default_factory=dict)
    # Extra tables written beside changes.csv and into the workbook (file name -> table).
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    map_actions: tuple[str, ...] = ()  # if set, the map shows the schools of these rows only
    plans_schools: bool = True  # its schools_after rows are the plan's (not staffing's)
    section_columns: tuple[str, ...] = ()  # its own columns written to schools_after.csv
    # What the ledger takes (``PlanState.record``): one row per section the programme
    # planned (SECTION_ROW_COLUMNS), its named flows in whole students (ledger
    # FLOW_COLUMNS), its region figures (ledger ACCOUNT_COLUMNS), and for staffing the
    # teachers by school and subject (ledger TEACHER_COLUMNS).
    sections: pd.DataFrame | None = None
    flows: pd.DataFrame = field(default_factory=pd.DataFrame)
    accounts: pd.DataFrame | None = None
    teachers: pd.DataFrame | None = None
    # Each region's solves and outcome under its content key (``plan.reuse.Solved``),
    # kept in the run's folder for ``plan --reuse``.
    regions: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """A run's results, programme by programme in the order they ran; nothing written yet.

    ``schools_after`` is the network as the last programme left it (each school's row from
    the last programme that planned it)."""

    scenario: Scenario
    dataset: Dataset
    results: list[ProgrammeResult]
    schools_after: gpd.GeoDataFrame | None
    state: PlanState  # the network after the last programme, with every change
    workers: int
    seconds: float
    execution: dict = field(default_factory=dict)  # executor, cluster, workers lost
    reuse: dict | None = None  # the earlier run it started from (``plan.reuse``)

    @property
    def programmes(self) -> list[str]:
        return [r.programme for r in self.results]
