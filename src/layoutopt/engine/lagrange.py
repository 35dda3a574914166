"""Exact site fixing for uncapacitated problems by Lagrangian relaxation (Beasley 1993).

Relaxing "each demand point is served once" with multipliers λ leaves a problem that
splits by site: opening site j is worth ρ_j = f_j + Σ_i min(0, w_i c_ij − λ_i), and the
best sites to open are the cheapest ρ within the open-count limits. Its value L(λ) is a
lower bound; subgradient steps raise it. With an upper bound UB from a feasible plan,
forcing a site open (or closed) raises the relaxed bound by an amount computable from
the sorted ρ: when that bound exceeds UB, no optimal plan opens (or closes) the site, so
it is fixed. For the p-median and facility-location problems the bound is tight, so most
sites are fixed and the MIP that remains is small. Fixing is exact: the remaining
problem has the same optimum as the whole one.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from layoutopt.engine import heuristic, kernels
from layoutopt.engine.problem import CLOSABLE, MUST_KEEP, LocationProblem

MAX_ITERATIONS = 3000
POLISH_FIRST = 50  # polish the relaxed plan at iterations 50, 100, 200, 400, ...
STALL = 25  # iterations without a better bound before the step is halved
MIN_STEP = 1e-5


@dataclass(frozen=True)
class Fixing:
    closed: NDArray  # sites proven closed in every optimal plan
    opened: NDArray  # sites proven open in every optimal plan
    lower_bound: float  # objective without the constant of closing savings
    upper_bound: float
    iterations: int
    seconds: float
    proven: bool  # the upper bound's plan is optimal
    plan: NDArray  # the best plan found (open sites)
    dropped_arcs: NDArray  # arcs (problem indices) no optimal plan uses
    multipliers: NDArray  # λ per demand point at the best bound (a warm start for a tree)


def applicable(problem: LocationProblem) -> bool:
    """Uncapacitated cost problems whose every demand point must be and can be served."""
    if not heuristic.applicable(problem) or np.isfinite(problem.unmet_penalty).any():
        return False
    usable = _usable(problem)
    reached = np.bincount(problem.arc_demand[usable], minlength=problem.n_demand)
    return bool((reached > 0).all())


def _usable(problem: LocationProblem) -> NDArray:
    travel = problem.arc_travel
    ok = np.isnan(travel) | (travel <= problem.max_travel[problem.arc_demand])
    return np.flatnonzero(ok)


class Relaxation:
    """The arrays of one Lagrangian relaxation, sorted by demand point.

    A branch-and-bound node sees the same relaxation with some sites decided
    (``at_node``) and, deeper down, fewer arcs (``restricted``)."""

    def __init__(self, problem: LocationProblem):
        arcs = _usable(problem)
        order = arcs[np.lexsort((problem.arc_cost[arcs], problem.arc_demand[arcs]))]
        self.n, self.m = problem.n_demand, problem.n_sites
        self._set_arcs(order, problem.arc_demand[order], problem.arc_site[order])
        self.wc = problem.weight[self.d] * problem.arc_cost[order]
        closable = problem.status == CLOSABLE
        self.base_cost = problem.fixed_cost + np.where(closable, problem.close_saving, 0.0)
        self.must_keep = problem.status == MUST_KEEP
        lo, hi = problem.open_count
        self.count = (0 if lo is None else lo, self.m if hi is None else hi)
        self._decide(np.zeros(self.m, bool), np.zeros(self.m, bool))
        # Whole-number costs make every objective whole: a bound within 1 is a proof.
        whole = np.concatenate([self.wc, self.base_cost])
        self.integral = bool(np.all(np.abs(whole - np.round(whole)) < 1e-9))
        # λ_i at most w_i × the cheapest arc the lists leave out: those arcs then add
        # nothing to the bound, which is a bound of the whole problem (inf: none left out).
        beyond = problem.beyond_cost
        self.cap = np.full(self.n, np.inf) if beyond is None else problem.weight * beyond

    def _set_arcs(self, arcs: NDArray, d: NDArray, s: NDArray) -> None:
        self.arcs, self.d, self.s = arcs, d.astype(np.int64), s.astype(np.int64)
        self.starts = np.r_[0, np.flatnonzero(d[1:] != d[:-1]) + 1] if len(d) else d[:0]
        # Demand i's arcs are bounds[i]:bounds[i + 1] (none where they are equal).
        self.bounds = np.r_[0, np.cumsum(np.bincount(self.d, minlength=self.n))].astype(np.int64)

    def _decide(self, opened: NDArray, closed: NDArray) -> None:
        self.forced = self.must_keep | opened
        self.closed = closed & ~self.forced
        self.site_cost = np.where(self.closed, np.inf, self.base_cost)
        n_forced = int(self.forced.sum())
        free = self.m - n_forced - int(self.closed.sum())
        self.lo = max(0, self.count[0] - n_forced)
        self.hi = min(free, self.count[1] - n_forced)

    def at_node(self, opened: NDArray, closed: NDArray) -> Relaxation:
        """The relaxation with the ``opened`` sites forced open and the ``closed`` ones shut."""
        node = copy.copy(self)
        node._decide(opened, closed)
        return node

    def restricted(self, keep: NDArray) -> Relaxation:
        """The relaxation on the arcs where ``keep`` (a mask over this one's arcs) is true."""
        node = copy.copy(self)
        node._set_arcs(self.arcs[keep], self.d[keep], self.s[keep])
        node.wc = self.wc[keep]
        return node

    @property
    def feasible(self) -> bool:
        """Whether some plan satisfies the open counts and reaches every demand point."""
        reached = len(self.starts) == self.n
        return reached and self.lo <= self.hi

    @property
    def _arrays(self) -> tuple:
        """The relaxation as the kernels take it (see ``kernels.relaxed``)."""
        return (
            self.wc, self.d, self.s, self.site_cost, self.forced, self.closed,
            self.lo, self.hi, self.n, self.m,
        )  # fmt: skip

    def evaluate(self, lam: NDArray) -> tuple[float, NDArray, NDArray, NDArray]:
        """Bound L(λ), the open sites of the relaxed plan, ρ per site and the subgradient."""
        return kernels.relaxed(lam, *self._arrays)

    def ascend(
        self, lam: NDArray, upper: float, iterations: int, step: float, stall: int
    ) -> tuple[float, NDArray, NDArray]:
        """Subgradient steps toward ``upper`` (compiled): the best bound, its multipliers
        and its relaxed plan."""
        return kernels.ascend(
            lam, self.cap, *self._arrays, upper, self.integral, iterations, step, stall
        )

    def proven(self, bound, upper: float):
        """Whether the bound (a number or an array) shows no plan is cheaper than ``upper``."""
        if self.integral:
            return np.ceil(np.asarray(bound) - 1e-6) >= upper - 1e-9
        return np.asarray(bound) >= upper - 1e-9 * max(1.0, abs(upper))

    def cost(self, is_open: NDArray) -> float:
        """The plan's objective (each demand on its cheapest open arc); inf if any is cut off."""
        return kernels.plan_cost(is_open, self.wc, self.s, self.bounds, self.base_cost)

    def initial_multipliers(self) -> NDArray:
        """Each demand's cost to its k-th cheapest site, k ≈ sites per open site."""
        counts = np.diff(np.r_[self.starts, len(self.d)])
        target = max(1, self.hi + int(self.forced.sum()))
        rank = np.minimum(counts - 1, max(1, self.m // target))
        return np.minimum(self.wc[self.starts + rank].astype(float), self.cap)


def _power_of_two(k: int) -> bool:
    return k > 0 and k & (k - 1) == 0


def fix_sites(
    problem: LocationProblem,
    upper_plan: NDArray,
    time_limit_s: float,
    polish: Callable[[NDArray], NDArray] | None = None,
    gap: float = 0.0,
    start: NDArray | None = None,
) -> Fixing:
    """Subgradient ascent from a good plan's cost, then fix what the bound proves.

    ``polish`` improves a plan (local search); it is applied to the relaxed plan at
    doubling intervals, because a tighter upper bound fixes many more sites (measured on
    pmed22: 303 sites left free with the greedy plan's bound, 104 with the optimum's).
    Where every cost is a whole number the bound proves the plan optimal as soon as it is
    within 1 of it; with ``gap``, the ascent also stops once within that relative gap.
    ``start``: multipliers to begin from (a previous ascent's), else an initial guess."""
    started = time.perf_counter()
    rel = Relaxation(problem)
    best_ub, best_plan = rel.cost(upper_plan), upper_plan.copy()
    tried: set[bytes] = set()

    def offer(plan: NDArray) -> None:
        nonlocal best_ub, best_plan
        cost = rel.cost(plan)
        if cost < best_ub:
            best_ub, best_plan = cost, plan.copy()

    lam = rel.initial_multipliers() if start is None else start.copy()
    best = (-np.inf, lam, None)
    step, stall, iterations = 2.0, 0, 0
    while iterations < MAX_ITERATIONS and step > MIN_STEP:
        iterations += 1
        bound, is_open, rho, grad = rel.evaluate(lam)
        if bound > best[0] + 1e-9 * max(1.0, abs(bound)):
            best, stall = (bound, lam.copy(), rho), 0
        else:
            stall += 1
            if stall >= STALL:
                step, stall = step / 2, 0
        offer(is_open)
        if (
            polish is not None
            and iterations >= POLISH_FIRST
            and _power_of_two(iterations // POLISH_FIRST)
            and iterations % POLISH_FIRST == 0
        ):
            key = np.packbits(is_open).tobytes()
            if key not in tried:
                tried.add(key)
                offer(polish(is_open))
        norm = float(grad @ grad)
        if norm == 0 or rel.proven(best[0], best_ub):
            break  # the relaxed plan is feasible, or the bound meets the plan: proven
        if gap > 0 and best_ub - best[0] <= gap * abs(best_ub):
            break  # close enough for the gap asked for
        if time.perf_counter() - started > time_limit_s:
            break
        # Cut arc lists may leave no plan yet priced (inf): aim a little above the bound.
        target = best_ub if np.isfinite(best_ub) else bound + 0.1 * abs(bound) + 1.0
        lam = np.minimum(lam + step * (target - bound) / norm * grad, rel.cap)
    closed, opened, dropped = _fixed(rel, best[1], best[0], best_ub)
    return Fixing(
        closed,
        opened,
        best[0],
        best_ub,
        iterations,
        time.perf_counter() - started,
        proven=bool(rel.proven(best[0], best_ub)),
        multipliers=best[1],
        plan=best_plan,
        dropped_arcs=dropped,
    )


@dataclass(frozen=True)
class Penalties:
    """What forcing each free site open (``with_site``) or shut (``without_site``) makes of
    the relaxed bound at given multipliers; ``order`` lists the free sites by ρ."""

    bound: float
    order: NDArray
    with_site: NDArray
    without_site: NDArray


def penalties(rel: Relaxation, lam: NDArray) -> Penalties:
    """Both bounds for every free site at once, from the sorted ρ (Beasley's penalty test)."""
    bound, _, rho, _ = rel.evaluate(lam)
    free = np.flatnonzero(~rel.forced & ~rel.closed)
    order = free[np.argsort(rho[free], kind="stable")]
    values = rho[order]
    prefix = np.r_[0.0, np.cumsum(values)]
    base = float(lam.sum() + rho[rel.forced].sum())
    rank = np.arange(len(order))
    negative = int(np.searchsorted(values, 0.0, side="left"))
    neg_others = negative - (values < 0)  # negatives among the other free sites

    def others_prefix(k: NDArray) -> NDArray:
        # Sum of the k cheapest free sites other than the one at `rank`.
        return np.where(
            k <= rank,
            prefix[np.minimum(k, len(values))],
            prefix[np.minimum(k + 1, len(values))] - values,
        )

    k_with = np.clip(neg_others, rel.lo - 1, rel.hi - 1).clip(min=0)
    with_site = base + values + others_prefix(k_with)
    if rel.hi < 1:
        with_site = np.full(len(order), np.inf)
    k_without = np.clip(neg_others, rel.lo, rel.hi)
    feasible_without = k_without <= len(values) - 1
    without_site = np.where(feasible_without, base + others_prefix(k_without), np.inf)
    return Penalties(bound, order, with_site, without_site)


def arc_lift(rel: Relaxation, lam: NDArray, pen: Penalties) -> NDArray:
    """How much serving each arc's demand from its site would add to the relaxed bound:
    the site's opening penalty plus the arc's positive reduced cost w·c − λ_i."""
    site_lift = np.zeros(rel.m)
    site_lift[pen.order] = np.maximum(pen.with_site - pen.bound, 0.0)
    return site_lift[rel.s] + np.maximum(rel.wc - lam[rel.d], 0.0)


def _fixed(rel: Relaxation, lam: NDArray, bound: float, ub: float):
    """Sites whose forced opening (closing) lifts the relaxed bound above the upper bound,
    and arcs whose use would."""
    pen = penalties(rel, lam)
    margin = 1e-9 * max(1.0, abs(ub))
    closed = np.zeros(rel.m, bool)
    opened = np.zeros(rel.m, bool)
    closed[pen.order[pen.with_site > ub + margin]] = True
    opened[pen.order[pen.without_site > ub + margin]] = True
    lift = arc_lift(rel, lam, pen)
    dropped = rel.arcs[(pen.bound + lift > ub + margin) | closed[rel.s]]
    return closed, opened, dropped
