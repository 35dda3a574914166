"""Result types of a plan, shared by the programmes (which fill them) and the report layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class ProgrammeResult:
    programme: str
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    kpis: pd.DataFrame = field(default_factory=pd.DataFrame)
    solves: list[SolveReport] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
