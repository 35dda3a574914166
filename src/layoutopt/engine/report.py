"""What one solve did, honestly: the engine's own report type and status words."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SolveStatus(StrEnum):
    """How a solve ended. A time-limit stop is never reported as optimal."""

    OPTIMAL = "optimal"
    FEASIBLE_TIME_LIMIT = "feasible_time_limit"
    INFEASIBLE = "infeasible"
    NO_SOLUTION_TIME_LIMIT = "no_solution_time_limit"
    ERROR = "error"
    # A plan and a bound further apart than the gap asked for, the bound no longer rising
    # (a Lagrangian ascent that stalled before the time limit).
    FEASIBLE_GAP = "feasible_gap"
    HEURISTIC = "heuristic"  # heuristic-only mode: feasible, gap measured against the LP bound


class SolveMethod(StrEnum):
    """How the bound of a solve was proven."""

    MIP = "mip"
    FIXING_MIP = "lagrangian fixing + mip"
    TREE_SEARCH = "lagrangian tree search"
    BOUND_ONLY = "lagrangian bound (arc lists cut to a memory budget)"
    MIN_COST_FLOW = "min-cost flow (exact combinatorial algorithm)"


@dataclass(frozen=True)
class SolveReport:
    """A solve's name, status, objective, best bound, relative gap and wall-clock seconds."""

    name: str
    status: SolveStatus
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    backend: str
    variables: int = 0
    constraints: int = 0
    method: SolveMethod = SolveMethod.MIP
    # The wall-clock limit actually used, seconds (at least a second a round).
    time_limit_s: float | None = None
