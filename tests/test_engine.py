"""The location engine on hand-made cases whose answers can be worked out on paper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layoutopt.engine import LocationProblem, SolverOptions, solve
from layoutopt.engine.problem import CANDIDATE, CLOSABLE, MUST_KEEP, LoadShare
from layoutopt.errors import LayoutoptError

INF = np.inf
EXACT = SolverOptions(mip_gap=0.0, time_limit_s=60)


def open_ids(problem: LocationProblem, solution) -> list[str]:
    return [str(s) for s in problem.site_ids[solution.is_open]]


def test_p_median_by_hand():
    # Three villages on a line at 0, 1 and 10 km; one school: at the middle one (1 + 9 = 10).
    d = np.abs(np.subtract.outer([0, 1, 10], [0, 1, 10])).astype(float)
    problem = LocationProblem.from_cost_matrix(d, open_count=(1, 1))
    solution = solve(problem, EXACT)
    assert solution.report.status == "optimal"
    assert solution.report.objective == pytest.approx(10.0)
    assert open_ids(problem, solution) == ["s1"]


def test_must_keep_stays_open():
    # Site 0 must stay although site 1 alone would serve both villages more cheaply.
    costs = [[5.0, 1.0], [5.0, 1.0]]
    problem = LocationProblem.from_cost_matrix(
        costs, status=[MUST_KEEP, CANDIDATE], open_count=(1, 1)
    )
    solution = solve(problem, EXACT)
    assert open_ids(problem, solution) == ["s0"]
    assert solution.report.objective == pytest.approx(10.0)


def test_closing_saves_when_travel_added_is_small():
    # Closing s0 saves 100 and adds 2 × (3 - 1) = 4 of travel: close it (objective 4 - 100).
    costs = [[1.0, 3.0], [1.0, 3.0]]
    problem = LocationProblem.from_cost_matrix(
        costs, status=[CLOSABLE, MUST_KEEP], close_saving=[100.0, 0.0]
    )
    solution = solve(problem, EXACT)
    assert open_ids(problem, solution) == ["s1"]
    assert solution.report.objective == pytest.approx(6.0 - 100.0)


def test_module_expansion_in_whole_modules():
    # 18 pupils, room for 10, modules of 5 at 3 each: two modules (cost 6) beat the far site.
    problem = LocationProblem.from_cost_matrix(
        [[1.0, 50.0]],
        weight=[18.0],
        status=[MUST_KEEP, CANDIDATE],
        capacity=[10.0, 100.0],
        module_capacity=[5.0, 0.0],
        module_cost=[3.0, 0.0],
        max_modules=[4, 0],
        fixed_cost=[0.0, 1000.0],
    )
    solution = solve(problem, EXACT)
    assert solution.modules.tolist() == [2, 0]
    assert solution.report.objective == pytest.approx(18.0 + 6.0)


def test_min_modules_forces_an_expansion_and_opens_its_site():
    # 8 pupils fit the near site's room of 10: no module is needed, and the closable far
    # site closes (saving 1). A decided expansion of it (min_modules 1) keeps it open and
    # adds one module at 3; the pupils still go to the near site: 8 + 3, no saving.
    def problem(least):
        return LocationProblem.from_cost_matrix(
            [[1.0, 50.0]],
            weight=[8.0],
            status=[MUST_KEEP, CLOSABLE],
            capacity=[10.0, 10.0],
            module_capacity=[5.0, 5.0],
            module_cost=[3.0, 3.0],
            max_modules=[4, 2],
            min_modules=least,
            close_saving=[0.0, 1.0],
        )

    free = solve(problem([0, 0]), EXACT)
    assert free.modules.tolist() == [0, 0] and free.is_open.tolist() == [True, False]
    assert free.report.objective == pytest.approx(8.0 - 1.0)
    decided = solve(problem([0, 1]), EXACT)
    assert decided.modules.tolist() == [0, 1] and decided.is_open.tolist() == [True, True]
    assert decided.report.objective == pytest.approx(8.0 + 3.0)
    with pytest.raises(LayoutoptError, match="min_modules"):
        problem([0, 3])  # above max_modules


def test_a_module_cap_limits_the_capacity_modules_add_in_all():
    # Two schools, each 12 pupils and room for 2, modules of 5 at 1 each: without a cap
    # each adds two modules. A cap of 10 places allows two modules in all: both go to the
    # school with the cheaper trip (12 served at 1), the other serves 2 (at 2), and 10
    # pupils go unserved at 100 each.
    def problem(cap):
        return LocationProblem.from_cost_matrix(
            [[1.0, np.inf], [np.inf, 2.0]],
            weight=[12.0, 12.0],
            status=[MUST_KEEP, MUST_KEEP],
            capacity=[2.0, 2.0],
            module_capacity=[5.0, 5.0],
            module_cost=[1.0, 1.0],
            max_modules=[3, 3],
            unmet_penalty=[100.0, 100.0],
            module_cap=cap,
        )

    free = solve(problem(None), EXACT)
    assert free.modules.tolist() == [2, 2]
    capped = solve(problem(10.0), EXACT)
    assert int(capped.modules.sum()) == 2
    assert float(capped.unmet["weight"].sum()) == pytest.approx(10.0)
    assert capped.modules.tolist() == [2, 0]
    assert capped.report.objective == pytest.approx(12 * 1.0 + 2 * 2.0 + 2 * 1.0 + 10 * 100.0)
    with pytest.raises(LayoutoptError, match="module_cap"):
        problem(-1.0)


def test_minimum_size_when_open():
    # A new school needs at least 10 pupils: with 6 nearby it cannot open.
    problem = LocationProblem.from_cost_matrix(
        [[1.0, 4.0]], weight=[6.0], status=[CANDIDATE, MUST_KEEP], min_load=[10.0, 0.0]
    )
    solution = solve(problem, EXACT)
    assert open_ids(problem, solution) == ["s1"]
    assert solution.report.objective == pytest.approx(24.0)


def test_region_minimum_and_maximum():
    # Four sites, two per county; each county must have exactly one open although the
    # cheapest pair lies in county A.
    costs = [[1.0, 1.0, 9.0, 9.0], [1.0, 1.0, 9.0, 9.0]]
    problem = LocationProblem.from_cost_matrix(
        costs,
        site_region=["A", "A", "B", "B"],
        region_open={"A": (1, 1), "B": (1, None)},
        fixed_cost=[1.0, 1.0, 1.0, 1.0],
    )
    solution = solve(problem, EXACT)
    opened = open_ids(problem, solution)
    assert len(opened) == 2 and opened[1] in ("s2", "s3")
    assert solution.report.objective == pytest.approx(2 + 2.0)


def test_global_count_range():
    d = np.abs(np.subtract.outer([0, 10, 20], [0, 10, 20])).astype(float)
    problem = LocationProblem.from_cost_matrix(d, open_count=(2, 3), fixed_cost=[100.0] * 3)
    solution = solve(problem, EXACT)
    assert solution.is_open.sum() == 2  # at least two though one would be cheaper
    assert solution.report.objective == pytest.approx(200 + 10)


def test_single_source_versus_split():
    # Two schools of 10 places, three villages of 6 pupils: split fills both to 9 and 9;
    # single source sends two villages to one school only if it fits (it does not), so
    # one village must go to the far school.
    costs = [[1.0, 5.0], [1.0, 5.0], [1.0, 5.0]]
    common = dict(weight=[6.0, 6.0, 6.0], capacity=[12.0, 12.0], status=[MUST_KEEP] * 2)
    split = solve(LocationProblem.from_cost_matrix(costs, **common), EXACT)
    single = solve(LocationProblem.from_cost_matrix(costs, single_source=True, **common), EXACT)
    assert split.report.objective == pytest.approx(12 * 1 + 6 * 5)
    assert single.report.objective == pytest.approx(12 * 1 + 6 * 5)
    assert set(single.assignment["share"]) == {1.0}
    tight = dict(common, capacity=[10.0, 12.0])
    split = solve(LocationProblem.from_cost_matrix(costs, **tight), EXACT)
    single = solve(LocationProblem.from_cost_matrix(costs, single_source=True, **tight), EXACT)
    assert split.report.objective == pytest.approx(10 * 1 + 8 * 5)
    assert single.report.objective == pytest.approx(6 * 1 + 12 * 5)


def test_maximum_travel_and_priced_shortfall():
    # The only school is 50 minutes away; pupils may travel 30: the demand is unmet, priced.
    problem = LocationProblem.build(
        demand_ids=["near", "far"],
        weight=[10.0, 4.0],
        site_ids=["school"],
        arc_demand=[0, 1],
        arc_site=[0, 0],
        arc_cost=[1.0, 1.0],
        arc_travel=[10.0, 50.0],
        status=[MUST_KEEP],
        max_travel=30.0,
        unmet_penalty=100.0,
        demand_region=["140105", "140106"],
    )
    solution = solve(problem, EXACT)
    assert solution.report.objective == pytest.approx(10 * 1 + 4 * 100)
    assert solution.unmet[["demand_id", "region"]].values.tolist() == [["far", "140106"]]
    assert (solution.assignment["travel"] <= 30).all()


def test_infeasible_without_penalty_is_reported():
    problem = LocationProblem.from_cost_matrix(
        [[1.0]], weight=[20.0], capacity=[10.0], status=[MUST_KEEP]
    )
    solution = solve(problem, EXACT)
    assert solution.report.status == "infeasible"
    assert solution.report.objective is None


def test_coverage_objective():
    # Radius 5: site 0 covers villages 0 and 1 (weights 3 + 4), site 1 covers village 2 (9).
    problem = LocationProblem.build(
        demand_ids=["v0", "v1", "v2"],
        weight=[3.0, 4.0, 9.0],
        site_ids=["s0", "s1"],
        arc_demand=[0, 1, 2, 2],
        arc_site=[0, 0, 1, 0],
        arc_cost=[0.0] * 4,
        arc_travel=[2.0, 4.0, 1.0, 8.0],
        open_count=(1, 1),
        objective="coverage",
        coverage_radius=5.0,
    )
    solution = solve(problem, EXACT)
    assert open_ids(problem, solution) == ["s1"]
    assert solution.report.objective == pytest.approx(9.0)


def test_sparse_arcs_widen_until_exact():
    # Each village's 60 cheapest arcs point at sites too dear to open, so the first sparse
    # lists hold no usable site; the overflow guard must widen them until the true optimum
    # is proven. (A finite capacity keeps the heuristic from sizing the lists up front.)
    rng = np.random.default_rng(3)
    costs = rng.uniform(1, 10, (30, 100))
    costs[:, :60] = 0.5 + rng.uniform(0, 0.01, (30, 60))
    options = dict(fixed_cost=[1e6] * 60 + [5.0] * 40, capacity=1e9)
    dense = solve(
        LocationProblem.from_cost_matrix(costs, **options),
        SolverOptions(mip_gap=0.0, k_nearest=None),
    )
    sparse = solve(
        LocationProblem.from_cost_matrix(costs, **options), SolverOptions(mip_gap=0.0, k_nearest=1)
    )
    # Capacitated problems start from 4·sqrt(sites) = 40 arcs per village: it was widened.
    assert 30 * 40 < sparse.arcs_kept < 30 * 100
    assert sparse.report.objective == pytest.approx(dense.report.objective)
    assert sparse.report.status == "optimal"


def test_report_counts_model_size():
    problem = LocationProblem.from_cost_matrix(np.ones((4, 3)), open_count=(1, 1))
    report = solve(problem, EXACT).report
    assert report.variables > 0 and report.constraints > 0 and report.backend == "highs"


def test_time_limit_stop_is_not_called_optimal():
    rng = np.random.default_rng(0)
    costs = rng.uniform(0, 100, (300, 120))
    problem = LocationProblem.from_cost_matrix(
        costs,
        weight=rng.uniform(1, 5, 300),
        capacity=rng.uniform(20, 60, 120),
        fixed_cost=rng.uniform(50, 400, 120),
        single_source=True,
    )
    report = solve(problem, SolverOptions(mip_gap=0.0, time_limit_s=1.0)).report
    assert report.status in ("feasible_time_limit", "no_solution_time_limit")
    assert report.seconds < 1.0 + 10  # the wall clock is enforced
    if report.status == "feasible_time_limit":
        assert report.gap is not None and report.gap > 0


def test_heuristic_only_reports_its_gap_to_the_lp_bound():
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 100, (60, 2))
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    problem = LocationProblem.from_cost_matrix(d, open_count=(6, 6))
    heuristic = solve(problem, SolverOptions(heuristic_only=True)).report
    exact = solve(problem, EXACT).report
    assert heuristic.status == "heuristic" and heuristic.backend == "heuristic"
    assert heuristic.bound <= exact.objective + 1e-6 <= heuristic.objective + 2e-6
    assert heuristic.gap == pytest.approx(
        (heuristic.objective - heuristic.bound) / heuristic.objective
    )


def test_pulp_cbc_path_agrees():
    d = np.abs(np.subtract.outer([0, 1, 10, 12], [0, 1, 10, 12])).astype(float)
    problem = LocationProblem.from_cost_matrix(d, open_count=(2, 2))
    highs = solve(problem, EXACT)
    cbc = solve(problem, SolverOptions(backend="pulp_cbc", mip_gap=0.0))
    assert cbc.report.backend == "pulp_cbc"
    assert cbc.report.objective == pytest.approx(highs.report.objective) == pytest.approx(3.0)


# Property tests on random instances --------------------------------------------------------

instances = st.builds(
    lambda seed, n, m, capacitated, single: (seed, n, m, capacitated, single),
    st.integers(0, 10_000),
    st.integers(2, 12),
    st.integers(2, 6),
    st.booleans(),
    st.booleans(),
)


def random_problem(seed, n, m, capacitated, single, max_travel=INF) -> LocationProblem:
    rng = np.random.default_rng(seed)
    costs = rng.uniform(1, 20, (n, m)).round(1)
    weight = rng.integers(1, 10, n).astype(float)
    capacity = np.full(m, weight.sum() * 0.6) if capacitated else np.inf
    return LocationProblem.build(
        demand_ids=[f"d{i}" for i in range(n)],
        weight=weight,
        site_ids=[f"s{j}" for j in range(m)],
        arc_demand=np.repeat(np.arange(n), m),
        arc_site=np.tile(np.arange(m), n),
        arc_cost=costs.ravel(),
        arc_travel=costs.ravel(),
        capacity=capacity,
        fixed_cost=rng.uniform(5, 30, m).round(1),
        single_source=single,
        max_travel=max_travel,
        unmet_penalty=100.0,
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances, st.sampled_from([INF, 12.0]))
def test_invariants_on_random_instances(instance, max_travel):
    problem = random_problem(*instance, max_travel=max_travel)
    solution = solve(problem, SolverOptions(mip_gap=0.0, k_nearest=2))
    report = solution.report
    assert report.status == "optimal"
    assert report.objective >= report.bound - 1e-6 * max(1, abs(report.bound))
    load = solution.assignment.groupby("site_id")["weight"].sum()
    capacity = dict(zip(problem.site_ids, problem.capacity, strict=True))
    assert all(load[s] <= capacity[s] + 1e-6 for s in load.index)
    assert (solution.assignment["travel"] <= max_travel + 1e-9).all()
    served = solution.assignment.groupby("demand_id")["share"].sum()
    unmet = solution.unmet.groupby("demand_id")["share"].sum()
    total = served.add(unmet, fill_value=0)
    assert np.allclose(total.reindex(problem.demand_ids).fillna(0), 1.0)
    dense = solve(problem, SolverOptions(mip_gap=0.0, k_nearest=None))
    assert report.objective == pytest.approx(dense.report.objective, rel=1e-7, abs=1e-6)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances)
def test_pulp_and_direct_paths_agree(instance):
    problem = random_problem(*instance)
    direct = solve(problem, SolverOptions(mip_gap=0.0))
    via_pulp = solve(problem, SolverOptions(mip_gap=0.0, backend="pulp_highs"))
    assert via_pulp.report.status == direct.report.status == "optimal"
    assert via_pulp.report.objective == pytest.approx(direct.report.objective, rel=1e-7, abs=1e-6)


# Lagrangian site fixing (engine.lagrange) ----------------------------------------------------


def test_lagrangian_bound_proves_the_two_clusters_and_fixes_the_far_sites():
    # Villages at 0, 1 (west) and 10, 11 (east) km, a site at each; two schools. Any pair
    # with one school per side costs 2; the bound reaches 2, so every site whose opening
    # alone would cost more is fixed closed before the MIP sees it.
    from layoutopt.engine import heuristic, lagrange

    x = np.array([0.0, 1.0, 10.0, 11.0])
    problem = LocationProblem.from_cost_matrix(np.abs(np.subtract.outer(x, x)), open_count=(2, 2))
    plan = heuristic.greedy_interchange(problem, np.arange(16), np.full(4, 100.0))
    fixing = lagrange.fix_sites(problem, plan, 10.0)
    assert fixing.upper_bound == pytest.approx(2.0)
    assert fixing.lower_bound == pytest.approx(2.0, abs=1e-6)
    solution = solve(problem, EXACT)
    assert solution.report.objective == pytest.approx(2.0)
    assert solution.is_open.sum() == 2


uncapacitated = st.builds(
    lambda seed, n, m, count: (seed, n, m, count),
    st.integers(0, 10_000),
    st.integers(2, 25),
    st.integers(2, 12),
    st.sampled_from(["none", "exact", "range"]),
)


def random_uncapacitated(seed, n, m, count) -> LocationProblem:
    rng = np.random.default_rng(seed)
    costs = rng.uniform(1, 20, (n, m)).round(1)
    status = rng.choice([CANDIDATE, CLOSABLE, MUST_KEEP], m, p=[0.6, 0.3, 0.1])
    p = int(rng.integers(max(1, (status == MUST_KEEP).sum()), m + 1))
    bounds = {"none": (None, None), "exact": (p, p), "range": (1, p)}[count]
    if count == "range":
        bounds = (max(1, int((status == MUST_KEEP).sum())), p)
    return LocationProblem.from_cost_matrix(
        costs,
        weight=rng.integers(1, 10, n).astype(float),
        status=status,
        fixed_cost=rng.uniform(0, 40, m).round(1),
        close_saving=np.where(status == CLOSABLE, rng.uniform(0, 30, m).round(1), 0.0),
        open_count=bounds,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uncapacitated)
def test_site_fixing_never_changes_the_optimum(instance):
    problem = random_uncapacitated(*instance)
    fixed = solve(problem, SolverOptions(mip_gap=0.0))
    plain = solve(problem, SolverOptions(mip_gap=0.0, site_fixing=False))
    assert fixed.report.status == plain.report.status
    if plain.report.status == "optimal":
        assert fixed.report.objective == pytest.approx(plain.report.objective, rel=1e-7, abs=1e-6)
        assert fixed.report.objective >= fixed.report.bound - 1e-6 * max(1, abs(fixed.report.bound))


# Lagrangian branch and bound (engine.treesearch) ---------------------------------------------


def triangle() -> LocationProblem:
    # Three villages on the edges of a triangle of sites A, B, C; a village is served free
    # from either end of its edge, at 100 from the third site; a school costs 10. Two
    # schools serve all three (20). The relaxation opens each site by half (15): the bound
    # cannot prove 20 and the search has to branch.
    costs = np.array([[0.0, 0.0, 100.0], [100.0, 0.0, 0.0], [0.0, 100.0, 0.0]])
    return LocationProblem.from_cost_matrix(costs, fixed_cost=[10.0] * 3)


def test_tree_search_branches_past_the_half_open_triangle(monkeypatch):
    from layoutopt.engine import lagrange, solver, treesearch

    problem = triangle()
    everything = np.ones(3, bool)  # a poor start: all three open, 30
    fixing = lagrange.fix_sites(problem, everything, 10.0)
    assert not fixing.proven and fixing.lower_bound <= 15.0 + 1e-6
    tree = treesearch.search(problem, everything, fixing.multipliers, 10.0)
    assert tree.finished and tree.nodes > 1
    assert tree.upper_bound == pytest.approx(20.0) and tree.lower_bound == pytest.approx(20.0)
    assert tree.plan.sum() == 2
    # Fixing leaves the 6 free arcs of 3 villages (a 100 cannot be in a plan of 20): a
    # residual this small goes to the MIP, unless the threshold is lowered below 2 a village.
    for per_village, method in ((8, "lagrangian fixing + mip"), (1, "lagrangian tree search")):
        monkeypatch.setattr(solver, "TREE_ABOVE_ARCS_PER_DEMAND", per_village)
        solution = solve(problem, EXACT)
        assert solution.report.objective == pytest.approx(20.0)
        assert solution.report.status == "optimal" and solution.report.gap == pytest.approx(0.0)
        assert solution.report.method == method


def test_tree_search_out_of_time_proves_nothing():
    from layoutopt.engine import lagrange, treesearch

    problem = triangle()
    start = lagrange.Relaxation(problem).initial_multipliers()
    tree = treesearch.search(problem, np.ones(3, bool), start, 0.0)
    assert not tree.finished and tree.lower_bound < tree.upper_bound == pytest.approx(30.0)


def mip_out_of_time(bound: float | None):
    """A MIP that stops at its time limit without a plan, its dual bound at ``bound``."""
    from layoutopt.engine.backends import NO_SOLUTION_TIME_LIMIT, RawSolve

    def stopped(problem, model, arcs, overflow_cost, options, time_left):
        return RawSolve(NO_SOLUTION_TIME_LIMIT, None, None, bound, None, 1.0, "highs")

    return stopped


@pytest.mark.parametrize("tree", [False, True])
def test_a_mip_out_of_time_keeps_the_plan_fixing_found_and_says_its_gap(monkeypatch, tree):
    # The triangle's best plan, two schools (20), is the heuristic's; the relaxation gives
    # 15. The MIP that takes over (directly, or after a tree given no time) stops with no
    # plan and a bound of 18: the solve reports the plan it holds, bound 18, gap 2 / 20.
    from layoutopt.engine import solver

    monkeypatch.setattr(solver, "_solve_model", mip_out_of_time(18.0))
    if tree:
        monkeypatch.setattr(solver, "TREE_ABOVE_ARCS_PER_DEMAND", 1)
        monkeypatch.setattr(solver, "TREE_SHARE", 0.0)
    solution = solve(triangle(), EXACT)
    report = solution.report
    assert report.status == "feasible_time_limit"
    assert report.objective == pytest.approx(20.0) and report.bound == pytest.approx(18.0)
    assert report.gap == pytest.approx(0.1)
    assert solution.is_open.sum() == 2
    assert len(solution.assignment) == 3 and (solution.assignment["cost"] == 0).all()
    # Within a gap of 10%, the same plan and bound are a proof.
    assert solve(triangle(), SolverOptions(mip_gap=0.1)).report.status == "optimal"


def test_a_tree_out_of_time_hands_its_plan_and_bound_to_the_report(monkeypatch):
    # The tree stops with the plan A + B (20) and a bound of 19; the MIP after it finds
    # nothing and proves no bound: the report keeps the tree's plan and bound.
    from layoutopt.engine import solver, treesearch

    def stopped(problem, plan, multipliers, time_limit_s, gap=0.0):
        found = np.zeros(problem.n_sites, bool)
        found[:2] = True
        return treesearch.TreeResult(found, 20.0, 19.0, False, 1, 0.0)

    monkeypatch.setattr(solver, "TREE_ABOVE_ARCS_PER_DEMAND", 1)
    monkeypatch.setattr(treesearch, "search", stopped)
    monkeypatch.setattr(solver, "_solve_model", mip_out_of_time(None))
    report = solve(triangle(), EXACT).report
    assert report.status == "feasible_time_limit" and report.method == "lagrangian fixing + mip"
    assert report.objective == pytest.approx(20.0) and report.bound == pytest.approx(19.0)
    assert report.gap == pytest.approx(0.05)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uncapacitated, st.booleans(), st.integers(0, 1000))
def test_tree_search_finds_the_mip_optimum_from_any_plan(instance, whole, start_seed):
    from dataclasses import replace

    from layoutopt.engine import lagrange, treesearch

    problem = random_uncapacitated(*instance)
    if whole:  # whole-number costs: the search closes nodes within 1 of the plan
        problem = replace(problem, arc_cost=np.round(problem.arc_cost))
    plan = random_plan(problem, np.random.default_rng(start_seed))
    start = lagrange.Relaxation(problem).initial_multipliers()
    tree = treesearch.search(problem, plan, start, 60.0)
    mip = solve(problem, SolverOptions(mip_gap=0.0, site_fixing=False))
    assert tree.finished and mip.report.status == "optimal"
    # The search counts closable sites' savings as a cost of opening them (a constant).
    savings = problem.close_saving[problem.status == CLOSABLE].sum()
    optimum = mip.report.objective
    assert tree.upper_bound - savings == pytest.approx(optimum, rel=1e-7, abs=1e-6)
    assert tree.lower_bound - savings <= optimum + 1e-6 * max(1.0, abs(optimum))
    assert tree.plan[problem.status == MUST_KEEP].all()
    lo, hi = problem.open_count
    assert (lo or 0) <= tree.plan.sum() <= (problem.n_sites if hi is None else hi)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.booleans())
def test_tree_search_on_villages_and_sites_of_a_map(seed, with_fixed_costs):
    # Whole-kilometre distances on a 100 km square: the relaxation leaves gaps that the
    # search must branch on (about one instance in seven), unlike the tiny random ones.
    from layoutopt.engine import lagrange, treesearch

    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(20, 60)), int(rng.integers(10, 30))
    villages, sites = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 100, (m, 2))
    distance = np.round(np.hypot(*(villages[:, None, :] - sites[None, :, :]).transpose(2, 0, 1)))
    weight = rng.integers(1, 5, n).astype(float)
    if with_fixed_costs:
        problem = LocationProblem.from_cost_matrix(
            distance, weight=weight, fixed_cost=rng.integers(20, 200, m).astype(float)
        )
    else:
        count = int(rng.integers(2, 8))
        problem = LocationProblem.from_cost_matrix(
            distance, weight=weight, open_count=(count, count)
        )
    plan = random_plan(problem, rng)
    start = lagrange.Relaxation(problem).initial_multipliers()
    tree = treesearch.search(problem, plan, start, 60.0)
    mip = solve(problem, SolverOptions(mip_gap=0.0, site_fixing=False))
    assert tree.finished and tree.upper_bound == pytest.approx(mip.report.objective, abs=1e-6)
    assert solve(problem, EXACT).report.objective == pytest.approx(mip.report.objective, abs=1e-6)


def random_plan(problem: LocationProblem, rng: np.random.Generator) -> np.ndarray:
    """Any plan within the open counts, with at least one site open."""
    lo, hi = problem.open_count
    plan = problem.status == MUST_KEEP
    others = rng.permutation(np.flatnonzero(~plan))
    low = max((lo or 0) - plan.sum(), 0 if plan.any() else 1)
    high = (problem.n_sites if hi is None else hi) - plan.sum()
    plan[others[: int(rng.integers(low, high + 1))]] = True
    return plan


# Group counts and load shares (used by the kindergarten programme) ---------------------------


def test_group_open_takes_exactly_one_of_a_pair():
    # Two copies of one kindergarten: as it is (free) or recognised (costs 5). The group
    # says exactly one of them is open; the cheaper, as it is, wins.
    problem = LocationProblem.from_cost_matrix(
        [[1.0, 1.0]],
        status=[CLOSABLE, CANDIDATE],
        fixed_cost=[0.0, 5.0],
        group_open={"pair": ([0, 1], (1, 1))},
    )
    solution = solve(problem, EXACT)
    assert open_ids(problem, solution) == ["s0"]


def test_a_priced_group_may_fall_short_when_that_is_cheaper():
    # Both sites must be open (a group of 2), at 5 per site short: opening s1 costs 10,
    # so the rule is short by one site (5) and reported by name; at 20 per site, s1 opens.
    def problem(price: float) -> LocationProblem:
        return LocationProblem.from_cost_matrix(
            [[1.0, 1.0]],
            status=[MUST_KEEP, CANDIDATE],
            fixed_cost=[0.0, 10.0],
            group_open={"both": ([0, 1], (2, None))},
            group_penalty={"both": price},
        )

    cheap = solve(problem(5.0), EXACT)
    assert open_ids(problem(5.0), cheap) == ["s0"]
    assert cheap.share_shortfall == {"both": pytest.approx(1.0)}
    assert cheap.report.objective == pytest.approx(1.0 + 5.0)
    dear = solve(problem(20.0), EXACT)
    assert open_ids(problem(20.0), dear) == ["s0", "s1"]
    assert dear.share_shortfall == {"both": pytest.approx(0.0)}


def test_load_share_moves_children_to_public_places():
    # 10 children; a private place costs 1 per child, a public one 2. At least 60% must be
    # in public places: 6 public (12) + 4 private (4) = 16.
    problem = LocationProblem.from_cost_matrix(
        [[1.0, 2.0]],
        weight=[10.0],
        status=[MUST_KEEP, MUST_KEEP],
        load_shares=[LoadShare("public", np.array([1]), np.array([0, 1]), 0.6)],
    )
    solution = solve(problem, EXACT)
    assert solution.report.objective == pytest.approx(16.0)
    load = solution.assignment.groupby("site_id")["weight"].sum()
    assert load["s1"] == pytest.approx(6.0)


def test_load_share_short_of_its_target_is_priced_and_reported():
    # The public place holds only 3 of the 10 children: the 60% rule is short by
    # 0.6·10 − 3 = 3 units of load, at 100 each, reported by name.
    problem = LocationProblem.from_cost_matrix(
        [[1.0, 2.0]],
        weight=[10.0],
        status=[MUST_KEEP, MUST_KEEP],
        capacity=[INF, 3.0],
        load_shares=[LoadShare("public", np.array([1]), np.array([0, 1]), 0.6, 100.0)],
    )
    solution = solve(problem, EXACT)
    assert solution.share_shortfall["public"] == pytest.approx(3.0)
    assert solution.report.objective == pytest.approx(7 + 6 + 300)


def test_served_share_seats_the_cheapest_children_up_to_the_target():
    # Three settlements of 10 children; seating one costs 1, 2 or 50 per child and leaving
    # a child out costs 10. Alone, the model seats the first two (20 + 10·10 = 130). At
    # least 90% served (27 of 30) forces 7 of the third: 10 + 20 + 7·50 + 3·10 = 410.
    from layoutopt.engine.problem import ServedShare

    problem = LocationProblem.from_cost_matrix(
        [[1.0], [2.0], [50.0]],
        weight=[10.0, 10.0, 10.0],
        status=[MUST_KEEP],
        unmet_penalty=10.0,
        served_shares=[ServedShare("county", np.arange(3), 0.9)],
    )
    solution = solve(problem, EXACT)
    assert solution.report.objective == pytest.approx(410.0)
    assert solution.unmet["weight"].sum() == pytest.approx(3.0)


def test_an_exported_model_names_rows_and_columns_by_meaning(tmp_path):
    from layoutopt.engine.export import write_model

    demand = pd.DataFrame({"demand_id": ["村A", "村B"], "weight": [10.0, 5.0]})
    sites = pd.DataFrame(
        {"site_id": ["S1", "S2"], "capacity": [12.0, 20.0], "fixed_cost": [3.0, 4.0]}
    )
    arcs = pd.DataFrame(
        {"demand_id": ["村A", "村A", "村B"], "site_id": ["S1", "S2", "S2"], "cost": [1, 2, 1]}
    )
    problem = LocationProblem.from_frames(demand, sites, arcs)
    assert solve(problem, SolverOptions(mip_gap=0.0)).report.status == "optimal"
    mps = write_model(problem, tmp_path / "m.mps").read_text(encoding="utf-8")
    for name in ("open[S1]", "assign[村A,S2]", "capacity[S2]", "serve[村B]"):
        assert name in mps, name
    lp = write_model(problem, tmp_path / "m.lp").read_text(encoding="utf-8")
    for name in ("open(S1)", "assign(u6751A,S2)", "capacity(S2)", "serve(u6751B)"):
        assert name in lp, name
    assert "assign_0" not in mps + lp and " c0 " not in lp


def test_from_frames_refuses_an_arc_to_an_unknown_site():
    demand = pd.DataFrame({"demand_id": ["a"], "weight": [1.0]})
    sites = pd.DataFrame({"site_id": ["s"]})
    arcs = pd.DataFrame({"demand_id": ["a"], "site_id": ["x"], "cost": [1.0]})
    with pytest.raises(LayoutoptError, match="1 arc"):
        LocationProblem.from_frames(demand, sites, arcs)


def test_a_site_may_open_only_if_the_site_it_implies_is_open():
    # One village: A is cheap to open and near, B dear and far. Alone A wins (1 + 1 = 2);
    # if A may open only with B, opening both (1 + 10 + 1 = 12) beats B alone (10 + 5).
    costs = np.array([[1.0, 5.0]])
    plain = LocationProblem.from_cost_matrix(costs, fixed_cost=[1.0, 10.0])
    ruled = LocationProblem.from_cost_matrix(costs, fixed_cost=[1.0, 10.0], open_implies=[[0, 1]])
    exact = SolverOptions(mip_gap=0.0)
    assert solve(plain, exact).is_open.tolist() == [True, False]
    solution = solve(ruled, exact)
    assert solution.is_open.tolist() == [True, True]
    assert solution.report.objective == pytest.approx(12.0)
    with pytest.raises(LayoutoptError, match="open_implies"):
        LocationProblem.from_cost_matrix(costs, open_implies=[[0, 2]])


def test_an_arc_carries_no_more_than_its_largest_share():
    # Ten people, two sites at cost 1 and 3: all take the cheap one unless its arc may carry
    # only 40%; then 4 go there and 6 to the dear one: 4 × 1 + 6 × 3 = 22.
    costs = np.array([[1.0, 3.0]])
    problem = LocationProblem.from_cost_matrix(costs, weight=[10.0], arc_max_share=[0.4, 1.0])
    solution = solve(problem, SolverOptions(mip_gap=0.0))
    assert solution.report.objective == pytest.approx(22.0)
    with pytest.raises(LayoutoptError, match="arc_max_share"):
        LocationProblem.from_cost_matrix(costs, arc_max_share=[1.5, 1.0])


def test_a_solve_reports_the_time_limit_it_used():
    costs = np.array([[1.0, 3.0], [2.0, 1.0]])
    problem = LocationProblem.from_cost_matrix(costs, fixed_cost=[1.0, 1.0])
    asked = solve(problem, SolverOptions(time_limit_s=30.0, site_fixing=False)).report
    assert asked.time_limit_s == 30.0
    tiny = solve(problem, SolverOptions(time_limit_s=0.001, site_fixing=False)).report
    assert tiny.time_limit_s is not None and tiny.time_limit_s >= 1.0  # never hidden


def test_an_empty_problem_is_solved_with_nothing_to_decide():
    # A county with no students, schools or sites: HiGHS calls the model empty.
    problem = LocationProblem.build(
        demand_ids=[], weight=[], site_ids=[], arc_demand=[], arc_site=[], arc_cost=[]
    )
    solution = solve(problem, SolverOptions())
    assert solution.report.status == "optimal" and solution.report.objective == 0
    assert solution.assignment.empty and solution.unmet.empty


def test_an_arc_cap_shares_places_among_arcs_and_grows_with_its_modules():
    # d1 and d2, 10 each, are 1 from A and 5 from B. A cap of 12 on A's arcs sends 8 to B
    # (12 + 40 = 52); the cap may grow by modules of 5 at 3 each: two modules hold all 20 at
    # A (20 + 6 = 26). A cap on d1's arc into A alone (4) leaves d2 free: 4 + 30 + 10 = 44.
    from layoutopt.engine.problem import ArcCap

    def problem(caps, modules=0):
        return LocationProblem.build(
            demand_ids=["d1", "d2"],
            weight=[10.0, 10.0],
            site_ids=["A", "B"],
            status=MUST_KEEP,
            arc_demand=[0, 0, 1, 1],
            arc_site=[0, 1, 0, 1],
            arc_cost=[1.0, 5.0, 1.0, 5.0],
            module_capacity=[5.0, 0.0],
            module_cost=[3.0, 0.0],
            max_modules=[modules, 0],
            arc_caps=caps,
        )

    into_a = [0, 2]
    shared = solve(problem([ArcCap("A", into_a, 12.0)]), SolverOptions(mip_gap=0.0))
    assert shared.report.objective == pytest.approx(52)
    grown = solve(problem([ArcCap("A", into_a, 12.0, [0])], modules=2), SolverOptions(mip_gap=0))
    assert grown.report.objective == pytest.approx(26) and grown.modules[0] == 2
    part = solve(problem([ArcCap("d1 at A", [0], 4.0)]), SolverOptions(mip_gap=0.0))
    assert part.report.objective == pytest.approx(44)
    with pytest.raises(LayoutoptError, match="arc cap bad refers to arcs outside"):
        problem([ArcCap("bad", [7], 1.0)])
