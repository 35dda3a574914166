"""The engine's compiled kernels, generated instance families and arc lists cut to a memory
budget: each checked against a plain reference or a brute force worked out in full."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, shortest_path

from layoutopt.engine import heuristic, kernels, lagrange
from layoutopt.engine.bench import BenchOptions, run_bench, summary
from layoutopt.engine.benchmarks import read_pmed
from layoutopt.engine.generate import (
    FacilitySpec,
    Spec,
    edges,
    facility_problem,
    generate,
    write_instance,
)
from layoutopt.engine.problem import MUST_KEEP, LocationProblem
from layoutopt.engine.solver import SolverOptions, solve
from layoutopt.errors import LayoutoptError
from test_engine import random_uncapacitated, uncapacitated

# Kernels against the numpy they replaced ---------------------------------------------------


def numpy_relaxed(rel: lagrange.Relaxation, lam: np.ndarray):
    """The Lagrangian evaluation as it was written in numpy before the kernels."""
    reduced = rel.wc - lam[rel.d]
    rho = rel.site_cost + np.bincount(rel.s, weights=np.minimum(reduced, 0.0), minlength=rel.m)
    is_open = rel.forced.copy()
    free = np.flatnonzero(~rel.forced & ~rel.closed)
    order = free[np.argsort(rho[free], kind="stable")]
    negative = int(np.searchsorted(rho[order], 0.0, side="left"))
    is_open[order[: int(np.clip(negative, rel.lo, rel.hi))]] = True
    bound = float(lam.sum() + rho[is_open].sum())
    served = np.bincount(rel.d[(reduced < 0) & is_open[rel.s]], minlength=rel.n)
    return bound, is_open, rho, 1.0 - served


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uncapacitated, st.integers(0, 1000))
def test_the_compiled_relaxation_is_the_numpy_one(instance, lam_seed):
    rel = lagrange.Relaxation(random_uncapacitated(*instance))
    lam = np.random.default_rng(lam_seed).uniform(0, 150, rel.n)
    got = rel.evaluate(lam)
    want = numpy_relaxed(rel, lam)
    assert got[0] == pytest.approx(want[0], rel=1e-12, abs=1e-9)
    for a, b in zip(got[1:], want[1:], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9)


def brute_cost(problem: LocationProblem, is_open: np.ndarray) -> float:
    costs = np.full((problem.n_demand, problem.n_sites), np.inf)
    costs[problem.arc_demand, problem.arc_site] = problem.arc_cost
    best = np.where(is_open[None, :], costs, np.inf).min(axis=1)
    return float(problem.weight @ best + (problem.fixed_cost + problem.close_saving)[is_open].sum())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uncapacitated)
def test_the_swap_heuristic_ends_where_no_single_swap_improves(instance):
    problem = random_uncapacitated(*instance)
    arcs = np.arange(len(problem.arc_cost))
    plan = heuristic.greedy_interchange(problem, arcs, np.full(problem.n_demand, 1e6))
    lo, hi = problem.open_count
    assert (lo or 0) <= plan.sum() <= (problem.n_sites if hi is None else hi)
    assert plan[problem.status == MUST_KEEP].all()
    cost = brute_cost(problem, plan)
    assert lagrange.Relaxation(problem).cost(plan) == pytest.approx(
        cost - problem.close_saving[plan].sum() + problem.close_saving[plan].sum()
    )
    for out in np.flatnonzero(plan & (problem.status != MUST_KEEP)):
        for into in np.flatnonzero(~plan):
            swapped = plan.copy()
            swapped[out], swapped[into] = False, True
            assert brute_cost(problem, swapped) >= cost - 1e-6 * max(1.0, abs(cost))


# Generated families ----------------------------------------------------------------------


def distances(spec: Spec) -> np.ndarray:
    """Shortest paths, an edge written twice counting as its last line (OR-Library's rule)."""
    graph = np.full((spec.n, spec.n), np.inf)
    for i, j, c in edges(spec).tolist():
        graph[i - 1, j - 1] = graph[j - 1, i - 1] = c
    return shortest_path(graph, directed=False)


@pytest.mark.parametrize("family", ["graph", "euclid", "clustered", "road"])
def test_each_family_is_connected_seeded_and_has_its_edge_count(family, tmp_path):
    spec = Spec(family, 120, 6, 3)
    rows = edges(spec)
    assert (rows[:, 2] >= 1).all() and (rows[:, 0] != rows[:, 1]).all()
    graph = coo_matrix((rows[:, 2], (rows[:, 0] - 1, rows[:, 1] - 1)), shape=(120, 120))
    assert connected_components(graph, directed=False)[0] == 1
    expected = {
        "graph": 120 * 120 // 50,  # OR-Library's n² / 50 below 1,000 points
        "euclid": 120 * 119 // 2,  # every pair
        "clustered": 120 * 119 // 2,
    }
    if family == "road":  # a triangulation: at most 3n − 6 edges, planar
        assert 2 * 120 <= len(rows) <= 3 * 120 - 6
    else:
        assert len(rows) == expected[family]
    first = write_instance(spec, tmp_path / "a").read_bytes()
    assert first == write_instance(spec, tmp_path / "b").read_bytes()
    assert first != write_instance(Spec(family, 120, 6, 4), tmp_path / "c").read_bytes()


def test_a_spec_out_of_range_says_how_to_fix_it():
    with pytest.raises(LayoutoptError, match="graph or road"):
        Spec("euclid", 5000, 10, 1).check()
    with pytest.raises(LayoutoptError, match="1 ≤ p < n"):
        Spec("graph", 10, 10, 1).check()
    with pytest.raises(LayoutoptError, match="unknown family"):
        Spec("grid", 10, 2, 1).check()


def test_generated_optima_are_the_brute_force_optima(tmp_path):
    # 9 points and 2 or 3 medians: every choice of medians (36 or 84) tried by hand.
    specs = [Spec(f, 9, p, 5) for f in ("graph", "euclid", "clustered", "road") for p in (2, 3)]
    generate(specs, tmp_path, time_limit_s=60)
    recorded = dict(line.split() for line in (tmp_path / "optima.txt").read_text().splitlines())
    assert sorted(recorded) == sorted(s.name for s in specs)
    for spec in specs:
        d = distances(spec)
        best = min(d[:, list(c)].min(axis=1).sum() for c in combinations(range(9), spec.p))
        assert float(recorded[spec.name]) == best, spec.name


# Arc lists cut to a memory budget ----------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["graph", "road"]),
    st.integers(12, 40),
    st.integers(1, 4),
    st.integers(3, 8),
    st.integers(0, 50),
)
def test_a_bound_on_cut_lists_holds_for_the_whole_problem(family, n, p, k, seed):
    spec = Spec(family, n, p, seed)
    tokens = f"{n} {len(edges(spec))} {p} " + " ".join(map(str, edges(spec).ravel()))
    whole = read_pmed(tokens.split())
    cut = read_pmed(tokens.split(), max_arcs=n * k)
    assert len(cut.arc_cost) == n * min(k, n - 1) and cut.beyond_cost is not None
    exact = solve(whole, SolverOptions(mip_gap=0.0)).report.objective
    report = solve(cut, SolverOptions(mip_gap=0.0, time_limit_s=10)).report
    assert report.method == "lagrangian bound (arc lists cut to a memory budget)"
    if report.objective is None:  # a list too short to serve some point from the plan
        return
    assert report.bound <= exact + 1e-6 <= report.objective + 2e-6
    if report.status == "optimal":
        assert report.objective == pytest.approx(exact)


def test_bench_solves_an_instance_without_optimum_by_bound_and_says_so(tmp_path):
    spec = Spec("road", 300, 10, 2)
    write_instance(spec, tmp_path)
    options = BenchOptions(time_limit_s=60, gap=0.01, memory_mb=300 * 60 * 160 / 2**20)
    table = run_bench("pmed", tmp_path, options, [spec.name])
    row = table.iloc[0]
    assert row["arcs"] == 300 * 60 and row["pairs"] == 300 * 300
    assert np.isnan(row["known_optimum"]) and not row["reproduced"]
    assert row["bound"] <= row["objective"]
    lines = summary(table, compare_dense=False)
    assert lines[0].startswith("0 of 0 known optima")
    assert "no known optimum" in lines[1] and "18,000 arcs of 90,000 pairs" in lines[1]
    with pytest.raises(LayoutoptError, match="no instance named nowhere"):
        run_bench("pmed", tmp_path, options, ["nowhere"])


def test_kernels_warm_up_runs():
    kernels.warm_up()


@pytest.mark.parametrize("family", ["euclid", "road"])
def test_facility_location_on_cut_lists_brackets_the_whole_problems_optimum(family):
    spec = FacilitySpec(family, 150, 30, 4)
    whole = facility_problem(spec, max_arcs=150 * 30)  # every pair: an ordinary problem
    assert whole.beyond_cost is None and len(whole.arc_cost) == 150 * 30
    exact = solve(whole, SolverOptions(mip_gap=0.0)).report
    assert exact.status == "optimal"
    cut = facility_problem(spec, max_arcs=150 * 6)
    assert len(cut.arc_cost) == 150 * 6
    # No site left out of a list is nearer than the listed ones.
    assert (cut.arc_cost.reshape(150, 6).max(axis=1) <= cut.beyond_cost).all()
    report = solve(cut, SolverOptions(mip_gap=0.0, time_limit_s=30)).report
    assert report.status in ("optimal", "feasible_gap", "error")
    if report.objective is not None:
        assert report.bound <= exact.objective + 1e-6 <= report.objective + 2e-6


# The capacitated bound's measurement ---------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.integers(4, 20), st.integers(2, 8))
def test_the_capacitated_bound_is_a_bound_and_shuts_only_sites_no_optimum_opens(seed, n, m):
    from layoutopt.engine.capacity_bound import probe

    rng = np.random.default_rng(seed)
    weight = rng.integers(1, 10, n).astype(float)
    problem = LocationProblem.from_cost_matrix(
        rng.uniform(1, 20, (n, m)).round(1),
        weight=weight,
        fixed_cost=rng.uniform(5, 60, m).round(1),
        capacity=np.full(m, np.ceil(weight.sum() * 0.6)),  # two sites or more must open
    )
    optimal = solve(problem, SolverOptions(mip_gap=0.0))
    assert optimal.report.status == "optimal"
    found = probe(problem, optimal.report.objective)
    assert found.bound <= optimal.report.objective + 1e-6 * max(1.0, optimal.report.objective)
    assert not (found.closed & optimal.is_open).any()
