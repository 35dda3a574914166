"""Result types of a plan, shared by the programmes (which fill them) and the report layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd


@dataclass(frozen=True)
class SolveReport:
    """What one solve did, honestly: a time-limit stop is never reported as optimal."""

    name: str
    # optimal | feasible_time_limit | infeasible | no_solution_time_limit | error | heuristic
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    backend: str
    variables: int = 0
    constraints: int = 0
    # how the bound was proven: "mip", "lagrangian fixing + mip" or "lagrangian tree search"
    method: str = "mip"


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


@dataclass
class ProgrammeResult:
    """What a programme hands to the report layer.

    ``changes`` has CHANGE_COLUMNS; ``schools_after`` has SCHOOL_AFTER_COLUMNS first, then
    ``name, action, ...`` and a WGS-84 point geometry; ``kpis`` has KPI_COLUMNS.
    ``summary`` goes into the manifest as it is (JSON-ready).
    """

    programme: str
    title: str = ""
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    kpis: pd.DataFrame = field(default_factory=pd.DataFrame)
    schools_after: gpd.GeoDataFrame | None = None
    solves: list[SolveReport] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    # Map extras: choropleths (label -> value by region_id) and service areas (school_id ->
    # radius in km, drawn as circles).
    region_layers: dict[str, pd.Series] = field(default_factory=dict)
    service_areas: pd.Series | None = None
