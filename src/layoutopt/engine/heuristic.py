"""Greedy opening then swap interchange (Teitz and Bart, with Whitaker's fast evaluation).

For uncapacitated cost problems (p-median, uncapacitated facility location): a good
starting solution for the MIP, and the whole answer in heuristic-only mode. Demand with
no open site among its arcs pays its ``fallback`` cost (overflow or penalty).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from layoutopt.engine.problem import MUST_KEEP, LocationProblem

MAX_PASSES = 50


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
        and not problem.served_shares
    )


class _State:
    def __init__(self, problem: LocationProblem, arcs: NDArray, fallback: NDArray):
        self.p = problem
        self.d = problem.arc_demand[arcs]
        self.s = problem.arc_site[arcs]
        self.c = problem.arc_cost[arcs]
        self.w = problem.weight
        self.fallback = fallback
        self.site_cost = problem.fixed_cost + problem.close_saving
        self.by_site = [np.flatnonzero(self.s == j) for j in range(problem.n_sites)]

    def best_two(self, is_open: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """Cheapest and second-cheapest cost per demand among open sites, and the cheapest site."""
        n = self.p.n_demand
        b1 = self.fallback.copy()
        b2 = self.fallback.copy()
        site1 = np.full(n, -1)
        on = np.flatnonzero(is_open[self.s])
        order = on[np.lexsort((self.c[on], self.d[on]))]
        if len(order) == 0:
            return b1, b2, site1
        d, c = self.d[order], self.c[order]
        first = np.r_[True, d[1:] != d[:-1]]
        second = np.r_[False, (d[1:] == d[:-1]) & first[:-1]]
        take1 = first & (c < b1[d])
        b1[d[take1]], site1[d[take1]] = c[take1], self.s[order][take1]
        b2[d[first & ~take1]] = np.minimum(b2[d[first & ~take1]], c[first & ~take1])
        b2[d[second]] = np.minimum(b2[d[second]], c[second])
        return b1, b2, site1

    def total(self, is_open: NDArray) -> float:
        b1, _, _ = self.best_two(is_open)
        return float(self.w @ b1 + self.site_cost[is_open].sum())


def greedy_interchange(problem: LocationProblem, arcs: NDArray, fallback: NDArray) -> NDArray:
    """Open sites (boolean per site) from greedy opening, then improving swaps."""
    state = _State(problem, arcs, fallback)
    fixed_open = problem.status == MUST_KEEP
    is_open = _greedy(state, fixed_open.copy())
    return _interchange(state, is_open, fixed_open)


def polish(problem: LocationProblem, arcs: NDArray, fallback: NDArray, is_open: NDArray) -> NDArray:
    """Improving swaps from a given plan (for example a Lagrangian relaxation's)."""
    state = _State(problem, arcs, fallback)
    return _interchange(state, is_open.copy(), problem.status == MUST_KEEP)


def _count_limits(problem: LocationProblem) -> tuple[int, int]:
    lo, hi = problem.open_count
    return (0 if lo is None else lo), (problem.n_sites if hi is None else hi)


def _greedy(state: _State, is_open: NDArray) -> NDArray:
    lo, hi = _count_limits(state.p)
    while is_open.sum() < hi:
        b1, _, _ = state.best_two(is_open)
        saving = (
            np.bincount(
                state.s,
                weights=state.w[state.d] * np.maximum(b1[state.d] - state.c, 0),
                minlength=state.p.n_sites,
            )
            - state.site_cost
        )
        saving[is_open] = -np.inf
        best = int(np.argmax(saving))
        if saving[best] == -np.inf or (saving[best] <= 0 and is_open.sum() >= lo):
            break
        is_open[best] = True
    return is_open


def _interchange(state: _State, is_open: NDArray, fixed_open: NDArray) -> NDArray:
    """Best-improvement swaps (one open site out, one closed site in) until none improves."""
    for _ in range(MAX_PASSES):
        b1, b2, site1 = state.best_two(is_open)
        w = state.w
        # Loss of removing j alone: its demand falls back to its second-best cost.
        removal = (
            np.bincount(
                np.maximum(site1, 0),
                weights=np.where(site1 >= 0, w * (b2 - b1), 0),
                minlength=state.p.n_sites,
            )
            - state.site_cost
        )
        best_delta, best_move = -1e-9 * max(1.0, abs(state.total(is_open))), None
        removable = np.flatnonzero(is_open & ~fixed_open)
        if len(removable) == 0:
            break
        for k in np.flatnonzero(~is_open):
            arcs = state.by_site[k]
            d, c = state.d[arcs], state.c[arcs]
            add = w[d] * (np.minimum(c, b1[d]) - b1[d])
            # Demand whose best site is removed, now able to use k instead of its second best.
            fix = w[d] * ((np.minimum(c, b2[d]) - np.minimum(c, b1[d])) - (b2[d] - b1[d]))
            correction = np.bincount(
                np.maximum(site1[d], 0),
                weights=np.where(site1[d] >= 0, fix, 0),
                minlength=state.p.n_sites,
            )
            delta = add.sum() + state.site_cost[k] + removal[removable] + correction[removable]
            j = int(np.argmin(delta))
            if delta[j] < best_delta:
                best_delta, best_move = delta[j], (int(removable[j]), int(k))
        if best_move is None:
            break
        is_open[best_move[0]], is_open[best_move[1]] = False, True
    return is_open


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
