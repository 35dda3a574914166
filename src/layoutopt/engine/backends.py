"""Solvers for a :class:`MatrixModel`: HiGHS loaded in bulk (default) or any PuLP solver.

Both return a :class:`RawSolve`: the solver's own outcome translated to one vocabulary,
never optimistic. HiGHS's gap and bound are read from the solver object; a PuLP solve
that stopped early (``sol_status`` 2, reported by PuLP as "Optimal") is a time-limit stop.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace

import highspy
import numpy as np
from numpy.typing import NDArray

from layoutopt.engine.model import MatrixModel
from layoutopt.engine.report import SolveStatus

OPTIMAL = SolveStatus.OPTIMAL
FEASIBLE_TIME_LIMIT = SolveStatus.FEASIBLE_TIME_LIMIT
INFEASIBLE = SolveStatus.INFEASIBLE
NO_SOLUTION_TIME_LIMIT = SolveStatus.NO_SOLUTION_TIME_LIMIT
ERROR = SolveStatus.ERROR
HEURISTIC = SolveStatus.HEURISTIC

# Extra wall-clock time given to a solver past its own limit before it is cancelled.
CANCEL_GRACE_S = 5.0


@dataclass
class RawSolve:
    status: SolveStatus
    values: NDArray | None
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    backend: str
    message: str = ""


@dataclass(frozen=True)
class BackendOptions:
    time_limit_s: float = 600.0
    mip_gap: float = 1e-4
    threads: int = 2
    seed: int = 0


_banner_hidden = False


def _new_highs() -> highspy.Highs:
    """A Highs object; the first one of the process prints a licence banner straight to
    file descriptor 1 (not through Python), which would break the CLI's output, so that
    one is made with descriptor 1 pointed at /dev/null."""
    global _banner_hidden
    if _banner_hidden:
        return highspy.Highs()
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(null)
        os.close(saved)
        _banner_hidden = True


def solve_highs(
    model: MatrixModel, options: BackendOptions, start: NDArray | None = None
) -> RawSolve:
    """Pass the model to HiGHS in one call (column-wise arrays) and solve it."""
    started = time.perf_counter()
    h = _new_highs()
    h.silent()
    for name, value in (
        ("time_limit", float(options.time_limit_s)),
        ("mip_rel_gap", float(options.mip_gap)),
        ("threads", int(options.threads)),
        ("random_seed", int(options.seed)),
    ):
        h.setOptionValue(name, value)
    h.passModel(_highs_lp(model))
    if start is not None:
        # The sparse form lets HiGHS complete and check the start itself; passing a
        # HighsSolution without row values made HiGHS 1.16 report a wrong optimum.
        index = np.arange(model.n_cols, dtype=np.int32)
        h.setSolution(model.n_cols, index, np.asarray(start, dtype=float))
    status = _run_with_deadline(h, options.time_limit_s + CANCEL_GRACE_S)
    seconds = time.perf_counter() - started
    raw = _read_highs(h, model, status, seconds)
    if start is not None and not _consistent(model, raw):
        # Seen with HiGHS 1.16: after a MIP start it can report an objective that its own
        # solution does not reach. Solve again without the start rather than trust it.
        retry = solve_highs(model, options, None)
        return replace(
            retry,
            seconds=retry.seconds + seconds,
            message=retry.message + " (MIP start discarded: inconsistent result)",
        )
    if not _consistent(model, raw):
        return replace(raw, status=ERROR, message="solver objective disagrees with its solution")
    return raw


def _consistent(model: MatrixModel, raw: RawSolve) -> bool:
    """The reported objective is what the returned values cost."""
    if raw.values is None or raw.objective is None:
        return True
    recomputed = float(model.cost @ raw.values + model.offset)
    return abs(recomputed - raw.objective) <= 1e-6 * max(1.0, abs(recomputed))


def _highs_lp(model: MatrixModel) -> highspy.HighsLp:
    lp = highspy.HighsLp()
    lp.num_col_ = model.n_cols
    lp.num_row_ = model.n_rows
    lp.col_cost_ = model.cost
    lp.col_lower_ = model.col_lower
    lp.col_upper_ = model.col_upper
    lp.row_lower_ = model.row_lower
    lp.row_upper_ = model.row_upper
    lp.offset_ = model.offset
    matrix = model.matrix
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    lp.a_matrix_.num_col_ = model.n_cols
    lp.a_matrix_.num_row_ = model.n_rows
    if model.integer.any():
        kinds = [highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger]
        lp.integrality_ = [kinds[int(k)] for k in model.integer]
    return lp


def _run_with_deadline(h: highspy.Highs, deadline_s: float) -> str:
    """Run HiGHS in its thread; cancel it if it overruns its own time limit."""
    h.HandleUserInterrupt = True
    thread = h.startSolve()
    thread.join(timeout=deadline_s)
    if thread.is_alive():
        h.cancelSolve()
        h.joinSolve(thread)
        return "cancelled"
    return "finished"


def _read_highs(h: highspy.Highs, model: MatrixModel, run: str, seconds: float) -> RawSolve:
    ms = h.getModelStatus()
    info = h.getInfo()
    if ms == highspy.HighsModelStatus.kModelEmpty and len(model.cost) == 0:
        # Nothing to decide (a county without students, schools or sites): HiGHS reports
        # an empty model, whose one solution is empty and costs its constant.
        value = float(model.offset)
        return RawSolve(OPTIMAL, np.zeros(0), value, value, 0.0, seconds, "highs", "empty model")
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    values = np.asarray(h.getSolution().col_value) if has_solution else None
    objective = info.objective_function_value if has_solution else None
    is_mip = bool(model.integer.any())
    bound = info.mip_dual_bound if is_mip else objective
    gap = info.mip_gap if is_mip and has_solution else (0.0 if has_solution else None)
    S = highspy.HighsModelStatus
    if ms == S.kOptimal and run == "finished":
        status = OPTIMAL
    elif ms == S.kInfeasible:
        status = INFEASIBLE
    elif (
        ms in (S.kTimeLimit, S.kInterrupt, S.kIterationLimit, S.kSolutionLimit) or run != "finished"
    ):
        status = FEASIBLE_TIME_LIMIT if has_solution else NO_SOLUTION_TIME_LIMIT
    else:
        status = ERROR
    if bound is not None and not np.isfinite(bound):
        bound = None
    return RawSolve(
        status,
        values,
        objective,
        bound,
        gap if gap is None or np.isfinite(gap) else None,
        seconds,
        "highs",
        h.modelStatusToString(ms),
    )


def solve_pulp(model: MatrixModel, options: BackendOptions, solver: str = "cbc") -> RawSolve:
    """Build the model in PuLP (the path to CBC and other solvers) and solve it there."""
    import pulp

    started = time.perf_counter()
    problem, variables = _pulp_problem(model)
    if solver == "highs":
        engine = pulp.HiGHS(
            msg=False,
            timeLimit=options.time_limit_s,
            gapRel=options.mip_gap,
            threads=options.threads,
        )
    else:
        engine = pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=options.time_limit_s,
            gapRel=options.mip_gap,
            threads=options.threads,
        )
    problem.solve(engine)
    seconds = time.perf_counter() - started
    return _read_pulp(problem, variables, model, solver, seconds)


def _pulp_problem(model: MatrixModel):
    import pulp

    names = model.column_names()
    variables = [
        pulp.LpVariable(
            name,
            lowBound=None if np.isinf(lo) else float(lo),
            upBound=None if np.isinf(hi) else float(hi),
            cat=pulp.LpInteger if integer else pulp.LpContinuous,
        )
        for name, lo, hi, integer in zip(
            names, model.col_lower, model.col_upper, model.integer, strict=True
        )
    ]
    problem = pulp.LpProblem("location", pulp.LpMinimize)
    nonzero = np.flatnonzero(model.cost)
    problem += pulp.LpAffineExpression(
        [(variables[k], float(model.cost[k])) for k in nonzero], constant=model.offset
    )
    rows = model.matrix.tocsr()
    for r in range(model.n_rows):
        span = slice(rows.indptr[r], rows.indptr[r + 1])
        expr = pulp.LpAffineExpression(
            [
                (variables[c], float(v))
                for c, v in zip(rows.indices[span], rows.data[span], strict=True)
            ]
        )
        lo, hi = model.row_lower[r], model.row_upper[r]
        if lo == hi:
            problem += pulp.LpConstraint(expr, pulp.LpConstraintEQ, f"r{r}", float(lo))
            continue
        if np.isfinite(lo):
            problem += pulp.LpConstraint(expr, pulp.LpConstraintGE, f"r{r}_lo", float(lo))
        if np.isfinite(hi):
            problem += pulp.LpConstraint(expr, pulp.LpConstraintLE, f"r{r}_hi", float(hi))
    return problem, variables


def _read_pulp(problem, variables, model: MatrixModel, solver: str, seconds: float) -> RawSolve:
    import pulp

    backend = f"pulp_{solver}"
    sol = problem.sol_status
    if sol == pulp.LpSolutionInfeasible or problem.status == pulp.LpStatusInfeasible:
        return RawSolve(INFEASIBLE, None, None, None, None, seconds, backend)
    if sol not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        status = NO_SOLUTION_TIME_LIMIT if sol == pulp.LpSolutionNoSolutionFound else ERROR
        return RawSolve(
            status, None, None, None, None, seconds, backend, pulp.LpStatus[problem.status]
        )
    values = np.array([v.varValue or 0.0 for v in variables])
    objective = float(model.cost @ values + model.offset)
    bound, gap = None, None
    solver_model = getattr(problem, "solverModel", None)
    if solver == "highs" and solver_model is not None:  # HiGHS through PuLP: read the truth
        info = solver_model.getInfo()
        bound = info.mip_dual_bound if model.integer.any() else objective
        gap = info.mip_gap if model.integer.any() else 0.0
    # PuLP calls a time-limit stop "Optimal"; its sol_status 2 tells the truth.
    # CBC proves optimality within gapRel but does not report its bound: gap stays None.
    status = OPTIMAL if sol == pulp.LpSolutionOptimal else FEASIBLE_TIME_LIMIT
    return RawSolve(
        status, values, objective, bound, gap, seconds, backend, pulp.LpStatus[problem.status]
    )
