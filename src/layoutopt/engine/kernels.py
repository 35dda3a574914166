"""Compiled inner loops of the Lagrangian bound and the swap heuristic (numba).

The loops run millions of times on small arrays (a tree node's relaxation) or a few
thousand times on large ones (a province's settlements). In numpy each step paid a
dozen array calls; measured on a generated 1,000-point Euclidean p-median (p = 100) the
tree search spent 287 s in 4.6 million evaluations, most of it in call overhead. Here one
evaluation is one pass over the arcs.

Conventions: arcs are sorted by demand point (``starts[i]`` is demand i's first arc, the
last entry the arc count); ``wc`` is weight × cost; ``site_cost`` is ``inf`` for a shut
site. Compiled once and cached beside this file (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

INF = np.inf


@njit(cache=True)
def relaxed(lam, wc, d, s, site_cost, forced, closed, lo, hi, n, m):
    """The Lagrangian relaxation at ``lam``: bound, open sites, ρ per site, subgradient.

    Opening site j is worth ρ_j = f_j + Σ_i min(0, w_i c_ij − λ_i); the relaxed plan opens
    the forced sites and the cheapest free ρ, at least ``lo`` and at most ``hi`` of them,
    taking every negative one in between (ties by site index, as a stable sort)."""
    rho = site_cost.copy()
    for a in range(len(wc)):
        r = wc[a] - lam[d[a]]
        if r < 0.0:
            rho[s[a]] += r
    is_open = forced.copy()
    n_free = 0
    for j in range(m):
        if not forced[j] and not closed[j]:
            n_free += 1
    free = np.empty(n_free, np.int64)
    k = 0
    for j in range(m):
        if not forced[j] and not closed[j]:
            free[k] = j
            k += 1
    order = free[np.argsort(rho[free], kind="mergesort")]
    negative = 0
    while negative < n_free and rho[order[negative]] < 0.0:
        negative += 1
    count = min(max(negative, lo), hi)
    bound = 0.0
    for i in range(n):
        bound += lam[i]
    for t in range(count):
        is_open[order[t]] = True
    for j in range(m):
        if is_open[j]:
            bound += rho[j]
    grad = np.ones(n)
    for a in range(len(wc)):
        if is_open[s[a]] and wc[a] - lam[d[a]] < 0.0:
            grad[d[a]] -= 1.0
    return bound, is_open, rho, grad


@njit(cache=True)
def proven(bound, upper, integral):
    """Whether ``bound`` shows no plan is cheaper than ``upper`` (whole costs: within 1)."""
    if integral:
        return np.ceil(bound - 1e-6) >= upper - 1e-9
    return bound >= upper - 1e-9 * max(1.0, abs(upper))


@njit(cache=True)
def ascend(
    lam,
    cap,
    wc,
    d,
    s,
    site_cost,
    forced,
    closed,
    lo,
    hi,
    n,
    m,
    upper,
    integral,
    iterations,
    step,
    stall_limit,
):
    """Subgradient steps toward ``upper``: best bound, its multipliers and relaxed plan.

    λ never exceeds ``cap`` (w × the cheapest arc left out of the lists, ``inf`` where none
    is): every arc not listed then has a reduced cost of at least 0 and the bound of the
    listed arcs is a bound of the whole problem."""
    top, top_lam, top_plan = -INF, lam.copy(), np.zeros(m, np.bool_)
    stall = 0
    for _ in range(iterations):
        bound, is_open, _, grad = relaxed(lam, wc, d, s, site_cost, forced, closed, lo, hi, n, m)
        if bound > top:
            top, top_lam, top_plan, stall = bound, lam.copy(), is_open, 0
        else:
            stall += 1
            if stall >= stall_limit:
                step, stall = step / 2, 0
        norm = 0.0
        for i in range(n):
            norm += grad[i] * grad[i]
        if norm == 0.0 or not np.isfinite(bound) or proven(top, upper, integral):
            break
        lam = np.minimum(lam + step * (upper - bound) / norm * grad, cap)
    return top, top_lam, top_plan


@njit(cache=True)
def plan_cost(is_open, wc, s, starts, base_cost):
    """Each demand on its cheapest listed open arc plus the open sites' costs; ``inf`` when
    a demand point has none."""
    total = 0.0
    for i in range(len(starts) - 1):
        best = INF
        for a in range(starts[i], starts[i + 1]):
            if is_open[s[a]] and wc[a] < best:
                best = wc[a]
        if best == INF:
            return INF
        total += best
    for j in range(len(is_open)):
        if is_open[j]:
            total += base_cost[j]
    return total


@njit(cache=True)
def best_two(is_open, wc, s, starts, fallback):
    """Per demand point: cheapest and second-cheapest weighted cost among open sites (the
    fallback where fewer are listed) and the cheapest site (-1 for the fallback)."""
    n = len(starts) - 1
    b1 = fallback.copy()
    b2 = fallback.copy()
    site1 = np.full(n, -1, np.int64)
    for i in range(n):
        for a in range(starts[i], starts[i + 1]):
            j = s[a]
            if not is_open[j]:
                continue
            c = wc[a]
            if c < b1[i]:
                b2[i] = b1[i]
                b1[i], site1[i] = c, j
            elif c < b2[i]:
                b2[i] = c
    return b1, b2, site1


@njit(cache=True)
def greedy(is_open, wc, d, s, starts, fallback, site_cost, lo, hi):
    """Open the site that saves most, one at a time, while it saves (or below ``lo``)."""
    m = len(is_open)
    count = 0
    for j in range(m):
        if is_open[j]:
            count += 1
    while count < hi:
        b1, _, _ = best_two(is_open, wc, s, starts, fallback)
        saving = -site_cost.copy()
        for a in range(len(wc)):
            gain = b1[d[a]] - wc[a]
            if gain > 0.0:
                saving[s[a]] += gain
        best, best_saving = -1, -INF
        for j in range(m):
            if not is_open[j] and saving[j] > best_saving:
                best, best_saving = j, saving[j]
        if best < 0 or (best_saving <= 0.0 and count >= lo):
            break
        is_open[best] = True
        count += 1
    return is_open


@njit(cache=True)
def interchange(
    is_open, fixed_open, wc, d, s, starts, by_site, site_arcs, fallback, site_cost, max_passes
):
    """Best-improvement swaps (one open site out, one closed in) until none improves,
    with Whitaker's evaluation: one pass over the arcs prices every swap.

    ``by_site[k]..by_site[k+1]`` index ``site_arcs``, the arcs of site k."""
    m = len(is_open)
    for _ in range(max_passes):
        b1, b2, site1 = best_two(is_open, wc, s, starts, fallback)
        total = 0.0
        removal = -site_cost.copy()  # loss of removing j alone, less its cost saved
        for j in range(m):
            if not is_open[j]:
                removal[j] = 0.0
            else:
                total += site_cost[j]
        for i in range(len(b1)):
            total += b1[i]
            if site1[i] >= 0:
                removal[site1[i]] += b2[i] - b1[i]
        removable = np.flatnonzero(is_open & ~fixed_open)
        if len(removable) == 0:
            break
        best_delta = -1e-9 * max(1.0, abs(total))
        best_out, best_in = -1, -1
        correction = np.zeros(m)
        for k in range(m):
            if is_open[k]:
                continue
            add = site_cost[k]
            touched = site_arcs[by_site[k] : by_site[k + 1]]
            for a in touched:
                i = d[a]
                c = wc[a]
                if c < b1[i]:
                    add += c - b1[i]
                if site1[i] >= 0:
                    # If i's best site goes, k serves it at min(c, b2) instead of b2.
                    fix = (min(c, b2[i]) - min(c, b1[i])) - (b2[i] - b1[i])
                    correction[site1[i]] += fix
            for j in removable:
                delta = add + removal[j] + correction[j]
                if delta < best_delta:
                    best_delta, best_out, best_in = delta, j, k
            for a in touched:
                if site1[d[a]] >= 0:
                    correction[site1[d[a]]] = 0.0
        if best_out < 0:
            break
        is_open[best_out] = False
        is_open[best_in] = True
    return is_open


def warm_up() -> None:
    """Load (or, the first time, compile) every kernel on a two-point problem, so that a
    benchmark can report start-up apart from the solves."""
    from layoutopt.engine import heuristic, lagrange
    from layoutopt.engine.problem import LocationProblem

    problem = LocationProblem.from_cost_matrix(
        np.array([[0.0, 1.0], [1.0, 0.0]]), open_count=(1, 1)
    )
    arcs = np.arange(len(problem.arc_cost))
    plan = heuristic.greedy_interchange(problem, arcs, np.full(2, 10.0))
    relaxation = lagrange.Relaxation(problem)
    relaxation.cost(plan)
    relaxation.ascend(relaxation.initial_multipliers(), 1.0, 2, 1.0, 1)
