"""Greedy opening then swap interchange (Teitz and Bart, with Whitaker's fast evaluation).

For uncapacitated cost problems (p-median, uncapacitated facility location): a good
starting solution for the MIP, and the whole answer in heuristic-only mode. Demand with
no open site among its arcs pays its ``fallback`` cost (overflow or penalty).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from layoutopt.engine import kernels
from layoutopt.engine.problem import MUST_KEEP, LocationProblem

MAX_PASSES = 1000  # swaps at most (best improvement: one a pass)


def applicable(problem: LocationProblem) -> bool:
    return (
        problem.objective == "cost"
        and not problem.capacitated
        and not (problem.min_load > 0).any()
        and not (problem.max_modules > 0).any()
        and not problem.region_open
        and not problem.group_open
        and not len(problem.open_implies)
        and problem.arc_max_share is None
        and not problem.load_shares
        and not problem.arc_caps
        and not problem.served_shares
    )


class _State:
    """The arcs as compiled loops want them: by demand point, and by site."""

    def __init__(self, problem: LocationProblem, arcs: NDArray, fallback: NDArray):
        self.p = problem
        order = arcs[np.argsort(problem.arc_demand[arcs], kind="stable")]
        self.d = problem.arc_demand[order].astype(np.int64)
        self.s = problem.arc_site[order].astype(np.int64)
        self.wc = problem.weight[self.d] * problem.arc_cost[order]
        counts = np.bincount(self.d, minlength=problem.n_demand)
        self.starts = np.r_[0, np.cumsum(counts)].astype(np.int64)
        self.site_arcs = np.argsort(self.s, kind="stable").astype(np.int64)
        self.by_site = np.r_[0, np.cumsum(np.bincount(self.s, minlength=problem.n_sites))]
        self.by_site = self.by_site.astype(np.int64)
        self.fallback = problem.weight * fallback
        self.site_cost = (problem.fixed_cost + problem.close_saving).astype(float)


def greedy_interchange(problem: LocationProblem, arcs: NDArray, fallback: NDArray) -> NDArray:
    """Open sites (boolean per site) from greedy opening, then improving swaps."""
    state = _State(problem, arcs, fallback)
    fixed_open = problem.status == MUST_KEEP
    lo, hi = _count_limits(problem)
    is_open = kernels.greedy(
        fixed_open.copy(),
        state.wc,
        state.d,
        state.s,
        state.starts,
        state.fallback,
        state.site_cost,
        lo,
        hi,
    )
    return _interchange(state, is_open, fixed_open)


def polish(problem: LocationProblem, arcs: NDArray, fallback: NDArray, is_open: NDArray) -> NDArray:
    """Improving swaps from a given plan (for example a Lagrangian relaxation's)."""
    state = _State(problem, arcs, fallback)
    return _interchange(state, is_open.copy(), problem.status == MUST_KEEP)


def _count_limits(problem: LocationProblem) -> tuple[int, int]:
    lo, hi = problem.open_count
    return (0 if lo is None else lo), (problem.n_sites if hi is None else hi)


def _interchange(state: _State, is_open: NDArray, fixed_open: NDArray) -> NDArray:
    return kernels.interchange(
        is_open,
        fixed_open,
        state.wc,
        state.d,
        state.s,
        state.starts,
        state.by_site,
        state.site_arcs,
        state.fallback,
        state.site_cost,
        MAX_PASSES,
    )


def start_vector(
    model_columns: dict[str, slice],
    n_cols: int,
    problem: LocationProblem,
    arcs: NDArray,
    overflow_demand: NDArray,
    is_open: NDArray,
) -> NDArray:
    """A full MIP start: open sites, each demand on its cheapest open arc, else overflow."""
    x = np.zeros(n_cols)
    x[model_columns["open"]] = is_open.astype(float)
    d, s, c = problem.arc_demand[arcs], problem.arc_site[arcs], problem.arc_cost[arcs]
    usable = np.flatnonzero(is_open[s])
    order = usable[np.lexsort((c[usable], d[usable]))]
    first = order[np.r_[True, d[order][1:] != d[order][:-1]]] if len(order) else order
    x[model_columns["assign"].start + first] = 1.0
    served = np.zeros(problem.n_demand, bool)
    served[d[first]] = True
    spill = np.flatnonzero(~served[overflow_demand])
    x[model_columns["overflow"].start + spill] = 1.0
    unmet_demand = np.flatnonzero(np.isfinite(problem.unmet_penalty))
    left = ~served[unmet_demand] & ~np.isin(unmet_demand, overflow_demand)
    x[model_columns["unmet"].start + np.flatnonzero(left)] = 1.0
    return x
