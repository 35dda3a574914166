"""Result types of a plan, shared by the programmes (which fill them) and the report layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import geopandas as gpd
import pandas as pd

from layoutopt.data.dataset import Dataset
from layoutopt.engine.report import SolveReport
from layoutopt.scenario import Scenario

# Columns of the shared review tables; every programme fills these (and may add after them).
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
    "students_moved",
    "streams_before",
    "streams_after",
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
    "streams_after",
    "enrolment_after",
    "capacity_after",
    "boarding_beds_after",
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


# After SCHOOL_AFTER_COLUMNS, every programme's schools_after has these review columns,
# then its own extra columns, then the geometry.
SCHOOL_REVIEW_COLUMNS = [
    "name",
    "county",
    "prefecture",
    "ownership",
    "quality_tier",
    "streams_before",
    "enrolment_before",
    "action",
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
    actions: tuple[ActionSpec, ...] = ()
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    kpis: pd.DataFrame = field(default_factory=pd.DataFrame)
    schools_after: gpd.GeoDataFrame | None = None
    solves: list[SolveReport] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    # Map extras: choropleths (label -> value by region_id) and service areas (school_id ->
    # radius in km, drawn as circles).
    region_layers: dict[str, pd.Series] = field(default_factory=dict)
    service_areas: pd.Series | None = None


@dataclass
class Plan:
    """A run's results, programme by programme in the order they ran; nothing written yet.

    ``schools_after`` is the network as the last programme left it (each school's row from
    the last programme that planned it)."""

    scenario: Scenario
    dataset: Dataset
    results: list[ProgrammeResult]
    schools_after: gpd.GeoDataFrame | None
    state: Any  # the PlanState after the last programme
    workers: int
    seconds: float

    @property
    def programmes(self) -> list[str]:
        return [r.programme for r in self.results]
