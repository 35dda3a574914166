"""Solve a location problem exactly on a sparse arc set, proving the sparsity costs nothing.

Each demand point keeps only its ``k_nearest`` cheapest arcs. Demand that would need a
dropped arc may use an *overflow* variable priced at its cheapest dropped arc: the
restricted model is then a relaxation of the full one, so if its optimum uses no
overflow it is optimal for the full problem too. Where overflow is used, those demand
points get twice as many arcs and the model is solved again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from layoutopt.engine import heuristic, lagrange, treesearch
from layoutopt.engine.backends import (
    ERROR,
    FEASIBLE_TIME_LIMIT,
    HEURISTIC,
    INFEASIBLE,
    NO_SOLUTION_TIME_LIMIT,
    OPTIMAL,
    BackendOptions,
    RawSolve,
    solve_highs,
    solve_pulp,
)
from layoutopt.engine.model import MatrixModel, build_model
from layoutopt.engine.problem import CLOSABLE, MUST_KEEP, SITE_ARRAYS, LocationProblem
from layoutopt.engine.report import SolveMethod, SolveReport, SolveStatus
from layoutopt.errors import LayoutoptError

OVERFLOW_TOLERANCE = 1e-7
FIXING_SHARE = 0.2  # of the time limit, at most, for the Lagrangian bound
FIXING_MAX_S = 60.0
TREE_SHARE = 0.5  # of the time left, at most, for the tree search before the MIP takes over
# Below this many arcs a demand point left by fixing, the MIP proves the rest faster than
# the tree (measured on 2 cores, seconds tree / MIP: generated Euclidean n = 1,000,
# p = 100, 4 arcs left a point, 40 / 10; pmed22, 80 left, 3.5 / 38; pmed36, 780 left,
# 79 / 329; a 1,000-point graph with p = 5, 81 left, 5 / 98).
TREE_ABOVE_ARCS_PER_DEMAND = 8


@dataclass(frozen=True)
class SolverOptions:
    backend: str = "highs"  # highs | pulp_cbc | pulp_highs
    time_limit_s: float = 600.0
    mip_gap: float = 1e-4
    threads: int = 2
    seed: int = 0
    k_nearest: int | None = 16  # arcs kept per demand point at first; None keeps all
    warm_start: bool = False  # heuristic MIP start; off by default (see the bench figures)
    heuristic_only: bool = False
    site_fixing: bool = True  # Lagrangian fixing first, where it applies (engine.lagrange)
    tree_search: bool = True  # then Lagrangian branch and bound (engine.treesearch)
    name: str = "solve"


@dataclass
class LocationSolution:
    report: SolveReport
    is_open: NDArray
    modules: NDArray
    assignment: pd.DataFrame  # demand_id, site_id, share, weight, cost, travel
    unmet: pd.DataFrame  # demand_id, region, share, weight, penalty
    rounds: int
    arcs_kept: int
    share_shortfall: dict[str, float] = field(default_factory=dict)  # load short, per rule


def solve(problem: LocationProblem, options: SolverOptions | None = None) -> LocationSolution:
    options = options or SolverOptions()
    started = time.perf_counter()
    if problem.beyond_cost is not None:
        return _solve_by_bound(problem, options, started)
    if options.site_fixing and not options.heuristic_only and lagrange.applicable(problem):
        return _solve_after_fixing(problem, options, started)
    ranks, counts = _arc_ranks(problem)
    keep = _initial_keep(problem, ranks, counts, options.k_nearest)
    if not options.heuristic_only:
        keep = _widen_on_lp(problem, ranks, counts, keep, options, started)
    rounds = 0
    limit = options.time_limit_s
    while True:
        rounds += 1
        arcs, overflow_cost = _restrict(problem, ranks, counts, keep)
        model = build_model(problem, arcs, overflow_cost)
        left = options.time_limit_s - (time.perf_counter() - started)
        # A solver needs a second to start: a round is given at least that, and the
        # report says so (the limit used may exceed the one asked for).
        limit = max(limit, options.time_limit_s - left + 1.0)
        raw = _solve_model(problem, model, arcs, overflow_cost, options, max(left, 1.0))
        spill = _overflow_used(model, raw)
        if not len(spill) or raw.values is None or left <= 1.0:
            break
        keep[spill] = np.minimum(counts[spill], np.maximum(2 * keep[spill], 1))
    raw = replace(raw, seconds=time.perf_counter() - started)
    if len(spill) and raw.values is not None:  # stopped before the sparse model was proven
        raw = replace(
            raw,
            status=NO_SOLUTION_TIME_LIMIT,
            values=None,
            message="time ran out while widening the sparse arc set",
        )
    return _solution(problem, model, raw, options, rounds, len(arcs), round(limit, 3))


def _solve_after_fixing(
    problem: LocationProblem, options: SolverOptions, started: float
) -> LocationSolution:
    """Fix the sites the Lagrangian bound decides; prove the rest by the tree search or,
    failing that in its share of the time, by the MIP."""
    usable = np.flatnonzero(_arc_ranks(problem)[0] >= 0)
    fallback = _fallback(problem, np.full(problem.n_demand, np.nan))
    plan = heuristic.greedy_interchange(problem, usable, fallback)
    budget = min(FIXING_SHARE * options.time_limit_s, FIXING_MAX_S)
    fixing = lagrange.fix_sites(
        problem,
        plan,
        budget,
        polish=lambda is_open: heuristic.polish(problem, usable, fallback, is_open),
    )
    tree = None
    arcs_left = len(usable) - len(np.intersect1d(usable, fixing.dropped_arcs))
    if (
        not fixing.proven
        and options.tree_search
        and arcs_left > TREE_ABOVE_ARCS_PER_DEMAND * problem.n_demand
    ):
        fixing, tree = _tree_search(problem, fixing, options, started)
    method = SolveMethod.TREE_SEARCH if tree is not None else SolveMethod.FIXING_MIP
    if fixing.proven:  # the bound proves the best plan: only its sites remain
        closed = ~fixing.plan
        fixing = replace(fixing, closed=closed, opened=fixing.plan.copy())
    keep = np.flatnonzero(~fixing.closed)
    inner = replace(
        options,
        site_fixing=False,
        time_limit_s=max(1.0, options.time_limit_s - (time.perf_counter() - started)),
    )
    part = solve(_subproblem(problem, keep, fixing.opened[keep], fixing.dropped_arcs), inner)
    is_open = np.zeros(problem.n_sites, bool)
    is_open[keep] = part.is_open
    modules = np.zeros(problem.n_sites, int)
    modules[keep] = part.modules
    # Closable sites fixed closed earn their saving outside the smaller model.
    saving = float(problem.close_saving[fixing.closed & (problem.status == CLOSABLE)].sum())
    report = _shifted(part.report, -saving, time.perf_counter() - started)
    if tree is not None and report.objective is not None:
        # The tree, not the trivial model on the plan's sites, proved the bound.
        report = _with_bound(report, report.objective - (tree.upper_bound - tree.lower_bound))
    report = replace(report, method=method)
    known = fixing.upper_bound + _saving_offset(problem)
    better = report.objective is None or report.objective > known + 1e-9 * max(1.0, abs(known))
    if np.isfinite(known) and better:
        # The MIP ran out of time with no plan, or a worse one, than fixing and the tree
        # found: report theirs, against the best bound any of them proved.
        return _known_plan(problem, fixing, report, options, usable)
    return replace(part, report=report, is_open=is_open, modules=modules)


def _saving_offset(problem: LocationProblem) -> float:
    """What the objective reports beyond the relaxation's cost: the closing savings, which
    the relaxation counts as a cost of keeping a closable site open."""
    return -float(problem.close_saving[problem.status == CLOSABLE].sum())


def _known_plan(
    problem: LocationProblem,
    fixing: lagrange.Fixing,
    mip: SolveReport,
    options: SolverOptions,
    usable: NDArray,
) -> LocationSolution:
    """The best plan of fixing and the tree, each demand point on its cheapest open arc,
    when the MIP that took over found none better in the time left. Its bound is the best
    of the Lagrangian bound, the tree's and the MIP's (each a bound of the whole problem)."""
    offset = _saving_offset(problem)
    plan = fixing.plan
    arcs = _cheapest_open_arcs(problem, usable, plan)
    # The plan's own objective: the tree prices it on the arcs fixing left, which can only
    # be dearer than its cheapest arcs.
    keeps_open = plan & (problem.status == CLOSABLE)
    objective = float(
        problem.weight[problem.arc_demand[arcs]] @ problem.arc_cost[arcs]
        + problem.fixed_cost[plan].sum()
        + problem.close_saving[keeps_open].sum()
        + offset
    )
    bounds = [fixing.lower_bound + offset]
    if mip.bound is not None and np.isfinite(mip.bound):
        bounds.append(mip.bound)
    bound = min(max(bounds), objective)
    gap = max(0.0, objective - bound) / max(abs(objective), 1e-9)
    report = replace(
        mip,
        status=OPTIMAL if gap <= options.mip_gap else FEASIBLE_TIME_LIMIT,
        objective=objective,
        bound=bound,
        gap=gap,
    )
    return _plan_solution(problem, report, plan, usable, arcs)


def _plan_solution(
    problem: LocationProblem,
    report: SolveReport,
    plan: NDArray,
    usable: NDArray,
    arcs: NDArray | None = None,
) -> LocationSolution:
    """An uncapacitated plan as a solution: each demand point on its cheapest open arc
    (``arcs``, where already found)."""
    if arcs is None:
        arcs = _cheapest_open_arcs(problem, usable, plan)
    return LocationSolution(
        report,
        plan,
        np.zeros(problem.n_sites, int),
        _arc_frame(problem, arcs, np.ones(len(arcs))),
        pd.DataFrame(columns=["demand_id", "region", "share", "weight", "penalty"]),
        rounds=1,
        arcs_kept=len(usable),
    )


def _solve_by_bound(
    problem: LocationProblem, options: SolverOptions, started: float
) -> LocationSolution:
    """A problem whose arc lists leave arcs out (``beyond_cost``), too large for a model:
    the heuristic's plan, polished, against the Lagrangian bound, which holds for the whole
    problem (λ is capped where the lists end). Optimal when within ``mip_gap``; otherwise
    the time limit's plan with its gap. No n × m array is built."""
    if not lagrange.applicable(problem):
        raise LayoutoptError(
            f"{options.name}: arc lists cut to a memory budget need an uncapacitated cost "
            "problem whose every demand point reaches a site (fix: raise the memory budget)"
        )
    usable = np.flatnonzero(_usable_arcs(problem))
    fallback = _fallback(problem, np.full(problem.n_demand, np.nan))
    fixing, out_of_time = _ascend_to_gap(problem, options, started, usable, fallback)
    upper, lower = fixing.upper_bound, fixing.lower_bound
    offset = _saving_offset(problem)
    if not np.isfinite(upper):  # every plan found leaves a point with no listed open site
        status, objective, gap = ERROR, None, None
    else:
        gap = max(0.0, upper - lower) / max(abs(upper), 1e-9)
        stopped = FEASIBLE_TIME_LIMIT if out_of_time else SolveStatus.FEASIBLE_GAP
        within = fixing.proven or gap <= options.mip_gap
        status, objective = (OPTIMAL if within else stopped), upper + offset
    report = SolveReport(
        name=options.name,
        status=status,
        objective=objective,
        bound=(upper if fixing.proven else lower) + offset,
        gap=0.0 if fixing.proven else gap,
        seconds=round(time.perf_counter() - started, 3),
        backend="lagrangian",
        method=SolveMethod.BOUND_ONLY,
        time_limit_s=options.time_limit_s,
    )
    return _plan_solution(problem, report, fixing.plan, usable)


def _ascend_to_gap(
    problem: LocationProblem,
    options: SolverOptions,
    started: float,
    usable: NDArray,
    fallback: NDArray,
) -> tuple[lagrange.Fixing, bool]:
    """Subgradient ascents, each from the last one's multipliers with a fresh step, until
    the gap asked for, the time limit (``True``), or an ascent that lifts the bound no more."""
    fixing = None
    plan = heuristic.greedy_interchange(problem, usable, fallback)
    while True:
        left = options.time_limit_s - (time.perf_counter() - started)
        previous = -np.inf if fixing is None else fixing.lower_bound
        fixing = lagrange.fix_sites(
            problem,
            plan,
            max(left, 0.0),  # at least one step, even out of time
            polish=lambda is_open: heuristic.polish(problem, usable, fallback, is_open),
            gap=options.mip_gap,
            start=None if fixing is None else fixing.multipliers,
        )
        plan = fixing.plan
        upper, lower = fixing.upper_bound, fixing.lower_bound
        if fixing.proven or upper - lower <= options.mip_gap * abs(upper):
            return fixing, False
        if time.perf_counter() - started >= options.time_limit_s:
            return fixing, True
        if lower <= previous + 1e-9 * max(1.0, abs(lower)):
            return fixing, False


def _usable_arcs(problem: LocationProblem) -> NDArray:
    usable = problem.arc_travel <= problem.max_travel[problem.arc_demand]
    return usable | np.isnan(problem.arc_travel)


def _cheapest_open_arcs(problem: LocationProblem, arcs: NDArray, is_open: NDArray) -> NDArray:
    """Each demand point's cheapest arc to an open site (ties: the lower site index)."""
    on = arcs[is_open[problem.arc_site[arcs]]]
    d = problem.arc_demand[on]
    order = on[np.lexsort((problem.arc_site[on], problem.arc_cost[on], d))]
    d = problem.arc_demand[order]
    return order[np.r_[True, d[1:] != d[:-1]]] if len(order) else order


def _tree_search(
    problem: LocationProblem, fixing: lagrange.Fixing, options: SolverOptions, started: float
) -> tuple[lagrange.Fixing, treesearch.TreeResult | None]:
    """Branch and bound on the sites fixing left free. When it finishes in its share of the
    time, its plan is proven; otherwise the MIP takes over (and ``None`` says so)."""
    keep = np.flatnonzero(~fixing.closed)
    sub = _subproblem(problem, keep, fixing.opened[keep], fixing.dropped_arcs)
    left = options.time_limit_s - (time.perf_counter() - started)
    tree = treesearch.search(
        sub, fixing.plan[keep], fixing.multipliers, TREE_SHARE * left, gap=options.mip_gap
    )
    plan = np.zeros(problem.n_sites, bool)
    plan[keep] = tree.plan
    if not tree.finished:
        # The MIP takes over; what the tree found stays: its plan, if better, and its bound,
        # in the whole problem's terms (the sub-problem's sites forced open no longer count
        # their closing savings, the same amount for every plan that fixing leaves).
        forced = fixing.opened & (problem.status == CLOSABLE)
        shift = float(problem.close_saving[forced].sum())
        upper = min(fixing.upper_bound, tree.upper_bound + shift)
        return replace(
            fixing,
            plan=plan if tree.upper_bound + shift < fixing.upper_bound else fixing.plan,
            upper_bound=upper,
            lower_bound=min(max(fixing.lower_bound, tree.lower_bound + shift), upper),
        ), None
    return replace(fixing, plan=plan, proven=True), tree


def _with_bound(report: SolveReport, bound: float) -> SolveReport:
    gap = abs(report.objective - bound) / max(abs(report.objective), 1e-9)
    return replace(report, bound=bound, gap=gap)


def _shifted(report: SolveReport, offset: float, seconds: float) -> SolveReport:
    objective = None if report.objective is None else report.objective + offset
    bound = None if report.bound is None else report.bound + offset
    gap = report.gap
    if objective is not None and bound is not None:
        gap = abs(objective - bound) / max(abs(objective), 1e-9)
    return replace(report, objective=objective, bound=bound, gap=gap, seconds=round(seconds, 3))


def _subproblem(
    problem: LocationProblem, keep: NDArray, opened: NDArray, dropped: NDArray
) -> LocationProblem:
    """The problem on the sites in ``keep`` (``opened`` of them must-keep), without the
    ``dropped`` arcs. Site groups and share rules are not remapped: fixing only applies
    to problems without them (``lagrange.applicable``)."""
    new_index = np.full(problem.n_sites, -1)
    new_index[keep] = np.arange(len(keep))
    usable = new_index[problem.arc_site] >= 0
    usable[dropped] = False
    arcs = np.flatnonzero(usable)
    status = np.where(opened, MUST_KEEP, problem.status[keep])
    per_site = {name: getattr(problem, name)[keep] for name in SITE_ARRAYS}
    per_arc = {
        name: getattr(problem, name)[arcs] for name in ("arc_demand", "arc_cost", "arc_travel")
    }
    return replace(
        problem,
        site_ids=problem.site_ids[keep],
        status=status,
        arc_site=new_index[problem.arc_site[arcs]],
        **per_site,
        **per_arc,
    )


def _widen_on_lp(
    problem: LocationProblem,
    ranks: NDArray,
    counts: NDArray,
    keep: NDArray,
    options: SolverOptions,
    started: float,
) -> NDArray:
    """Widen the lists on the LP relaxation first: an LP round costs a fraction of a MIP
    round, and lists that satisfy the LP usually satisfy the MIP (measured on pmed6: five
    MIP rounds, 13 s, became six LP rounds and one MIP round, 5 s)."""
    while (keep < counts).any():
        left = options.time_limit_s - (time.perf_counter() - started)
        if left <= 1.0:
            break
        arcs, overflow_cost = _restrict(problem, ranks, counts, keep)
        model = build_model(problem, arcs, overflow_cost)
        relaxed = replace(model, integer=np.zeros_like(model.integer))
        lp = solve_highs(relaxed, BackendOptions(time_limit_s=left, threads=options.threads))
        spill = _overflow_used(model, lp)
        if not len(spill):
            break
        keep[spill] = np.minimum(counts[spill], np.maximum(2 * keep[spill], 1))
    return keep


def _arc_ranks(problem: LocationProblem) -> tuple[NDArray, NDArray]:
    """Rank of each usable arc among its demand point's arcs by cost (-1 if unusable)."""
    usable = _usable_arcs(problem)
    ranks = np.full(len(problem.arc_cost), -1)
    idx = np.flatnonzero(usable)
    order = idx[np.lexsort((problem.arc_site[idx], problem.arc_cost[idx], problem.arc_demand[idx]))]
    d = problem.arc_demand[order]
    starts = np.r_[0, np.flatnonzero(d[1:] != d[:-1]) + 1]
    position = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    ranks[order] = position
    counts = np.bincount(d, minlength=problem.n_demand)
    return ranks, counts


def _initial_keep(
    problem: LocationProblem, ranks: NDArray, counts: NDArray, k: int | None
) -> NDArray:
    """Arcs kept per demand point at first: ``k``, or more where a heuristic plan needs more.

    Minimum loads make the overflow relaxation invalid (load could move off-list), and the
    coverage objective has no assignment arcs: both keep every arc.
    """
    # Share rules count load by site and arc caps by arc, which an overflow column has
    # not: keep every arc too.
    keep_all = (problem.min_load > 0).any() or problem.load_shares or problem.arc_caps
    if k is None or keep_all or problem.objective == "coverage":
        return counts.copy()
    keep = np.minimum(counts, k)
    if problem.capacitated:
        # Capacities push demand past its nearest sites; widening rounds each cost a full
        # solve, so capacitated problems start wider (measured on OR-Library capa: 40 arcs
        # per customer solve in one round, 16 took nine).
        keep = np.minimum(counts, max(k, int(np.ceil(4 * np.sqrt(problem.n_sites)))))
    if heuristic.applicable(problem):
        # Size each list so the heuristic's own plan fits with room to spare: a solve
        # that needs no widening round is much cheaper than several small ones.
        usable = ranks >= 0
        fallback = _fallback(problem, np.full(problem.n_demand, np.nan))
        is_open = heuristic.greedy_interchange(problem, np.flatnonzero(usable), fallback)
        rank_of_open = np.where(usable & is_open[problem.arc_site], ranks, np.iinfo(int).max)
        needed = np.full(problem.n_demand, np.iinfo(int).max)
        np.minimum.at(needed, problem.arc_demand, rank_of_open)
        needed = np.where(needed == np.iinfo(int).max, 0, needed)
        keep = np.minimum(counts, np.maximum(keep, 2 * (needed + 1)))
    return keep


def _restrict(problem: LocationProblem, ranks: NDArray, counts: NDArray, keep: NDArray):
    arcs = np.flatnonzero((ranks >= 0) & (ranks < keep[problem.arc_demand]))
    overflow_cost = np.full(problem.n_demand, np.nan)
    truncated = np.flatnonzero(keep < counts)
    if len(truncated):
        next_arc = np.flatnonzero((ranks >= 0) & (ranks == keep[problem.arc_demand]))
        next_arc = next_arc[np.isin(problem.arc_demand[next_arc], truncated)]
        overflow_cost[problem.arc_demand[next_arc]] = problem.arc_cost[next_arc]
    return arcs, overflow_cost


def _solve_model(
    problem, model: MatrixModel, arcs, overflow_cost, options: SolverOptions, time_left: float
) -> RawSolve:
    backend = BackendOptions(
        time_limit_s=time_left, mip_gap=options.mip_gap, threads=options.threads, seed=options.seed
    )
    start = None
    if (options.warm_start or options.heuristic_only) and heuristic.applicable(problem):
        start = _heuristic_start(problem, model, arcs, overflow_cost)
        if options.heuristic_only:
            return _heuristic_only(model, start, backend)
    if options.backend == "highs":
        return solve_highs(model, backend, start)
    return solve_pulp(model, backend, solver=options.backend.removeprefix("pulp_"))


def _fallback(problem: LocationProblem, overflow_cost: NDArray) -> NDArray:
    """What a demand point pays in the heuristic when none of its arcs reaches an open site."""
    fallback = np.where(np.isfinite(overflow_cost), overflow_cost, np.inf)
    fallback = np.minimum(
        fallback, np.where(np.isfinite(problem.unmet_penalty), problem.unmet_penalty, np.inf)
    )
    big = 10 * (np.abs(problem.arc_cost).max(initial=1.0) + 1)
    return np.where(np.isfinite(fallback), fallback, big)


def _heuristic_start(problem, model: MatrixModel, arcs, overflow_cost) -> NDArray:
    is_open = heuristic.greedy_interchange(problem, arcs, _fallback(problem, overflow_cost))
    return heuristic.start_vector(
        model.columns, model.n_cols, problem, arcs, model.overflow_demand, is_open
    )


def _heuristic_only(model: MatrixModel, start: NDArray, backend: BackendOptions) -> RawSolve:
    """The heuristic's answer, with the LP relaxation's bound to measure its gap."""
    relaxed = replace(model, integer=np.zeros_like(model.integer))
    lp = solve_highs(relaxed, backend)
    objective = float(model.cost @ start + model.offset)
    bound = lp.objective
    gap = None if bound is None else (objective - bound) / max(abs(objective), 1e-9)
    return RawSolve(
        HEURISTIC,
        start,
        objective,
        bound,
        gap,
        lp.seconds,
        "heuristic",
        "greedy + interchange; bound from the LP relaxation",
    )


def _overflow_used(model: MatrixModel, raw: RawSolve) -> NDArray:
    if raw.values is None or not len(model.overflow_demand):
        return np.array([], dtype=int)
    values = raw.values[model.columns["overflow"]]
    return model.overflow_demand[values > OVERFLOW_TOLERANCE]


def _solution(
    problem: LocationProblem,
    model: MatrixModel,
    raw: RawSolve,
    options: SolverOptions,
    rounds: int,
    arcs_kept: int,
    time_limit_s: float | None = None,
) -> LocationSolution:
    sign = -1.0 if model.maximise else 1.0
    report = SolveReport(
        name=options.name,
        status=raw.status,
        objective=None if raw.objective is None else sign * raw.objective,
        bound=None if raw.bound is None else sign * raw.bound,
        gap=raw.gap,
        seconds=round(raw.seconds, 3),
        backend=raw.backend,
        variables=model.n_cols,
        constraints=model.n_rows,
        time_limit_s=options.time_limit_s if time_limit_s is None else time_limit_s,
    )
    values = raw.values
    if values is None:
        empty = pd.DataFrame(columns=["demand_id", "site_id", "share", "weight", "cost", "travel"])
        return LocationSolution(
            report,
            np.zeros(problem.n_sites, bool),
            np.zeros(problem.n_sites, int),
            empty,
            pd.DataFrame(columns=["demand_id", "region", "share", "weight", "penalty"]),
            rounds,
            arcs_kept,
        )
    is_open = values[model.columns["open"]] > 0.5
    modules = np.zeros(problem.n_sites, int)
    modules[model.module_sites] = np.round(values[model.columns["modules"]]).astype(int)
    return LocationSolution(
        report,
        is_open,
        modules,
        _assignment(problem, model, values),
        _unmet(problem, model, values),
        rounds,
        arcs_kept,
        _share_shortfall(problem, model, values),
    )


def _share_shortfall(problem: LocationProblem, model: MatrixModel, values: NDArray):
    """Shortfall of each priced rule (load shares, served shares, groups), by rule name."""
    out: dict[str, float] = {}
    if "group_short" in model.columns:
        soft = [n for n in sorted(problem.group_open) if n in problem.group_penalty]
        short = values[model.columns["group_short"]]
        out.update({name: float(v) for name, v in zip(soft, short, strict=True)})
    for block, rules in (
        ("share_short", problem.load_shares),
        ("served_short", problem.served_shares),
    ):
        if block in model.columns:
            soft = [r.name for r in rules if np.isfinite(r.penalty)]
            short = values[model.columns[block]]
            out.update({name: float(v) for name, v in zip(soft, short, strict=True)})
    return out


def _assignment(problem: LocationProblem, model: MatrixModel, values: NDArray) -> pd.DataFrame:
    if "assign" not in model.columns:  # coverage: each covered demand to its nearest open site
        return _coverage_assignment(
            problem, values[model.columns["open"]] > 0.5, values[model.columns["covered"]]
        )
    share = values[model.columns["assign"]]
    used = share > 1e-9
    return _arc_frame(problem, model.arcs[used], share[used])


def _arc_frame(problem: LocationProblem, arcs: NDArray, share: NDArray) -> pd.DataFrame:
    d, s = problem.arc_demand[arcs], problem.arc_site[arcs]
    return pd.DataFrame(
        {
            "demand_id": problem.demand_ids[d],
            "site_id": problem.site_ids[s],
            "share": np.round(share, 9),
            "weight": problem.weight[d] * share,
            "cost": problem.arc_cost[arcs],
            "travel": problem.arc_travel[arcs],
        }
    )


def _coverage_assignment(problem: LocationProblem, is_open: NDArray, covered: NDArray):
    near = np.flatnonzero(
        (problem.arc_travel <= problem.coverage_radius) & is_open[problem.arc_site]
    )
    order = near[np.lexsort((problem.arc_travel[near], problem.arc_demand[near]))]
    d = problem.arc_demand[order]
    first = order[np.r_[True, d[1:] != d[:-1]]] if len(order) else order
    first = first[covered[problem.arc_demand[first]] > 0.5]
    return pd.DataFrame(
        {
            "demand_id": problem.demand_ids[problem.arc_demand[first]],
            "site_id": problem.site_ids[problem.arc_site[first]],
            "share": 1.0,
            "weight": problem.weight[problem.arc_demand[first]],
            "cost": problem.arc_cost[first],
            "travel": problem.arc_travel[first],
        }
    )


def _unmet(problem: LocationProblem, model: MatrixModel, values: NDArray) -> pd.DataFrame:
    columns = ["demand_id", "region", "share", "weight", "penalty"]
    if "unmet" not in model.columns:
        return pd.DataFrame(columns=columns)
    demand = np.flatnonzero(np.isfinite(problem.unmet_penalty))
    share = values[model.columns["unmet"]]
    used = share > 1e-9
    d = demand[used]
    return pd.DataFrame(
        {
            "demand_id": problem.demand_ids[d],
            "region": problem.demand_region[d],
            "share": share[used],
            "weight": problem.weight[d] * share[used],
            "penalty": problem.unmet_penalty[d] * problem.weight[d] * share[used],
        },
        columns=columns,
    )


__all__ = ["ERROR", "INFEASIBLE", "OPTIMAL", "LocationSolution", "SolverOptions", "solve"]
