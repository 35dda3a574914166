"""A measurement, not a solve path: how much a Lagrangian bound could fix on capacitated
problems (Beasley 1988, 1993), before building it into the solver.

Relaxing "each demand point is served once" with multipliers λ splits the capacitated
problem by site: site j is worth v_j = f_j + the cheapest filling of its capacity with
demand of negative reduced cost w_i c_ij − λ_i (a continuous knapsack: split assignment;
single-source problems get the same, weaker, bound). L(λ) = Σ λ_i + Σ_j min(0, v_j) is a
lower bound. Given an upper bound, a site whose forced opening (closing) lifts L above it
is fixed shut (open), exactly as ``engine.lagrange`` does for uncapacitated problems.

``probe`` takes the *known optimum* as the upper bound: the most any such fixing could
ever achieve. If even that fixes few sites, the MIP that remains is no smaller and the
method cannot pay; ``layoutopt bench cap --probe-capacity-bound`` prints it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from layoutopt.engine.problem import LocationProblem

ITERATIONS = 600
STALL = 20


@dataclass(frozen=True)
class Probe:
    bound: float  # best Lagrangian bound found
    root_gap: float  # (optimum − bound) / optimum
    fixed_closed: int  # sites the bound shuts, given the optimum as upper bound
    fixed_open: int
    sites: int
    seconds: float
    closed: NDArray  # the sites shut (mask)


def _site_values(problem: LocationProblem, lam: NDArray) -> tuple[NDArray, NDArray]:
    """v_j per site and, per arc, the share of its demand the site's knapsack takes."""
    d, s = problem.arc_demand, problem.arc_site
    w = problem.weight[d]
    reduced = w * problem.arc_cost - lam[d]
    share = np.zeros(len(d))
    value = problem.fixed_cost.astype(float).copy()
    negative = np.flatnonzero(reduced < 0)
    if not len(negative):
        return value, share
    # Cheapest reduced cost per unit of demand first, site by site.
    order = negative[np.lexsort((reduced[negative] / w[negative], s[negative]))]
    sites = s[order]
    starts = np.r_[0, np.flatnonzero(sites[1:] != sites[:-1]) + 1]
    for a, b in zip(starts, np.r_[starts[1:], len(order)], strict=True):
        arcs = order[a:b]
        room = problem.capacity[sites[a]]
        filled = np.cumsum(w[arcs])
        take = np.clip((room - (filled - w[arcs])) / w[arcs], 0.0, 1.0)
        share[arcs] = take
        value[sites[a]] += float(reduced[arcs] @ take)
    return value, share


def probe(problem: LocationProblem, optimum: float) -> Probe:
    """Subgradient ascent toward the known optimum; the sites its bound would fix."""
    started = time.perf_counter()
    d = problem.arc_demand
    cheapest = np.full(problem.n_demand, np.inf)
    np.minimum.at(cheapest, d, problem.weight[d] * problem.arc_cost)
    lam = cheapest.copy()
    best, best_lam, step, stall = -np.inf, lam, 2.0, 0
    for _ in range(ITERATIONS):
        value, share = _site_values(problem, lam)
        is_open = value < 0
        bound = float(lam.sum() + value[is_open].sum())
        if bound > best:
            best, best_lam, stall = bound, lam.copy(), 0
        else:
            stall += 1
            if stall >= STALL:
                step, stall = step / 2, 0
        served = np.bincount(d, weights=share * is_open[problem.arc_site], minlength=len(lam))
        grad = 1.0 - served
        norm = float(grad @ grad)
        if norm == 0 or best >= optimum - 1e-9 * abs(optimum):
            break
        lam = lam + step * (optimum - bound) / norm * grad
    value, _ = _site_values(problem, best_lam)
    margin = optimum - best
    return Probe(
        bound=best,
        root_gap=max(0.0, (optimum - best) / abs(optimum)),
        fixed_closed=int((value > margin).sum()),  # opening it would cost more than the gap
        fixed_open=int((-value > margin).sum()),
        sites=problem.n_sites,
        seconds=time.perf_counter() - started,
        closed=value > margin,
    )
