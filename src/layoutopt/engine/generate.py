"""Generated p-median instances, written in OR-Library's pmed format with proven optima.

Three families, so that the engine is measured on instances it was not tuned on:

* ``graph``: OR-Library's own recipe (Beasley 1985): a random connected graph, edge costs
  drawn whole from 1 to 100, distances the shortest paths. A random spanning tree keeps
  it connected; further edges make ``n × min(n / 50, 20)`` in all (OR-Library's pmed
  files have n² / 50; the cap at 20 a node keeps very large graphs sparse, as road
  networks are).
* ``euclid``: points uniform in a 1,000 × 1,000 square, every pair an edge of its
  straight-line length (rounded up to a whole number, at least 1).
* ``clustered``: the same, with the points drawn around n / 50 centres (normal, spread 30),
  as settlements gather around towns.
* ``road``: a road network's shape: uniform points joined by their Delaunay triangulation
  (planar and connected, about three edges a point), each edge its straight-line length
  times a detour factor drawn from 1 to 1.4 (rounded up), distances the shortest paths.

``euclid`` and ``clustered`` write every pair, so they stop at ``MAX_COMPLETE`` points;
``graph`` and ``road`` go to any size. Each file is named ``<family>-n<N>-p<P>-s<seed>.txt`` and its
optimum, proven by the engine's exact solve at gap 0 (Lagrangian site fixing, then the
tree search or HiGHS on what is left), is added to ``optima.txt`` beside it; the dense
formulation of ``bench --compare dense`` checks it independently (every pair, HiGHS);
above ``PROVE_UP_TO`` points none is recorded (``bench pmed --memory-mb`` solves those by
bound and reports the gap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from layoutopt.errors import LayoutoptError

FAMILIES = ("graph", "euclid", "clustered", "road")
MAX_COMPLETE = 2000  # points of a family written as a complete graph
PROVE_UP_TO = 2000  # points; larger instances are written without a proven optimum
SIDE = 1000.0  # the square the points are drawn in
CLUSTER_SIZE = 50  # points per cluster centre, on average
CLUSTER_SPREAD = 30.0
MAX_EDGE_COST = 100  # graph family: edge costs 1..100, as OR-Library's
MAX_DEGREE = 20  # graph family: edges per node at most (on average)
MAX_DETOUR = 1.4  # road family: an edge is 1 to 1.4 times its straight line


@dataclass(frozen=True)
class Spec:
    family: str
    n: int
    p: int
    seed: int

    @property
    def name(self) -> str:
        return f"{self.family}-n{self.n}-p{self.p}-s{self.seed}"

    def check(self) -> None:
        if self.family not in FAMILIES:
            raise LayoutoptError(
                f"unknown family '{self.family}' (choose from {', '.join(FAMILIES)})"
            )
        if self.n < 2 or not 1 <= self.p < self.n:
            raise LayoutoptError(f"{self.name}: needs n ≥ 2 and 1 ≤ p < n")
        if self.family in ("euclid", "clustered") and self.n > MAX_COMPLETE:
            raise LayoutoptError(
                f"{self.name}: the {self.family} family writes every pair, up to "
                f"{MAX_COMPLETE} points (fix: use --family graph or road for larger instances)"
            )


def edges(spec: Spec) -> NDArray:
    """The instance's edges as rows (i, j, cost), nodes numbered from 1."""
    spec.check()
    rng = np.random.default_rng([spec.seed, spec.n, spec.p, FAMILIES.index(spec.family)])
    if spec.family == "graph":
        return _random_graph(spec.n, rng)
    if spec.family == "road":
        return _road_graph(spec.n, rng)
    points = _points(spec.family, spec.n, rng)
    i, j = np.triu_indices(spec.n, k=1)
    length = np.hypot(*(points[i] - points[j]).T)
    return np.column_stack([i + 1, j + 1, np.maximum(1, np.ceil(length))]).astype(np.int64)


def _random_graph(n: int, rng: np.random.Generator) -> NDArray:
    tree_from = np.arange(1, n)
    tree_to = (rng.random(n - 1) * tree_from).astype(np.int64)  # an earlier node
    extra = max(0, int(n * min(n / 50, MAX_DEGREE)) - (n - 1))
    a = rng.integers(0, n, extra)
    b = (a + rng.integers(1, n, extra)) % n  # never a loop
    i = np.r_[tree_from, a]
    j = np.r_[tree_to, b]
    cost = rng.integers(1, MAX_EDGE_COST + 1, len(i))
    return np.column_stack([i + 1, j + 1, cost]).astype(np.int64)


def _road_graph(n: int, rng: np.random.Generator) -> NDArray:
    from scipy.spatial import Delaunay

    points = rng.random((n, 2)) * SIDE
    triangles = Delaunay(points).simplices
    pairs = np.sort(np.r_[triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [0, 2]]], 1)
    i, j = np.unique(pairs, axis=0).T
    length = np.hypot(*(points[i] - points[j]).T) * rng.uniform(1.0, MAX_DETOUR, len(i))
    return np.column_stack([i + 1, j + 1, np.maximum(1, np.ceil(length))]).astype(np.int64)


def _points(family: str, n: int, rng: np.random.Generator) -> NDArray:
    if family == "euclid":
        return rng.random((n, 2)) * SIDE
    centres = rng.random((max(2, n // CLUSTER_SIZE), 2)) * SIDE
    around = centres[rng.integers(0, len(centres), n)]
    return np.clip(around + rng.normal(0.0, CLUSTER_SPREAD, (n, 2)), 0.0, SIDE)


def write_instance(spec: Spec, folder: Path) -> Path:
    """The instance file in pmed format: ``n edges p``, then one ``i j cost`` line an edge."""
    rows = edges(spec)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{spec.name}.txt"
    body = "\n".join(f"{i} {j} {c}" for i, j, c in rows.tolist())
    tmp = path.with_suffix(".txt.tmp")
    tmp.write_text(f"{spec.n} {len(rows)} {spec.p}\n{body}\n", encoding="ascii")
    tmp.replace(path)
    return path


def record_optimum(folder: Path, name: str, value: float) -> None:
    """Add (or replace) ``name value`` in ``folder/optima.txt``, lines sorted by name."""
    path = folder / "optima.txt"
    lines = (
        dict(line.split(maxsplit=1) for line in path.read_text().splitlines() if line.strip())
        if path.is_file()
        else {}
    )
    lines[name] = f"{value:.0f}"
    path.write_text("".join(f"{k} {v}\n" for k, v in sorted(lines.items())))


def generate(
    specs: list[Spec],
    folder: Path,
    time_limit_s: float,
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """Write each instance and prove its optimum; one row per instance."""
    from layoutopt.engine.benchmarks import read_pmed
    from layoutopt.engine.solver import SolverOptions, solve

    for spec in specs:
        spec.check()
    rows = []
    for spec in specs:
        path = write_instance(spec, folder)
        if spec.n > PROVE_UP_TO:
            if progress:
                progress(
                    f"{spec.name}: written, no optimum recorded (above {PROVE_UP_TO} points; "
                    f"solve it by bound: bench pmed --data {folder} --instances {spec.name} "
                    "--memory-mb MB --gap G)"
                )
            continue
        problem = read_pmed(path.read_text().split())
        options = SolverOptions(time_limit_s=time_limit_s, mip_gap=0.0, name=spec.name)
        report = solve(problem, options).report
        row = {
            "instance": spec.name,
            "status": report.status,
            "optimum": report.objective,
            "seconds": report.seconds,
        }
        if report.status != "optimal" or report.objective is None:
            raise LayoutoptError(
                f"{spec.name}: not proven optimal in {time_limit_s:.0f} s ({report.status}, "
                f"gap {report.gap}); fix: give a longer --time-limit"
            )
        record_optimum(folder, spec.name, report.objective)
        rows.append(row)
        if progress:
            progress(f"{spec.name}: optimum {report.objective:.0f}, {report.seconds:.1f} s")
    return rows


FACILITY_FAMILIES = ("euclid", "road")
FIXED_COST_SPAN = (0.5, 1.5)  # a site's opening cost: this range × the typical cost below


@dataclass(frozen=True)
class FacilitySpec:
    """Uncapacitated facility location at a province's size: ``n`` settlements (weights
    drawn lognormal, like village populations) against ``sites`` candidate sites among
    them (``road``: nodes of the road graph; ``euclid``: points, straight lines); opening a
    site costs 0.5 to 1.5 times what serving 10 × n / sites average settlements at the
    typical distance to their nearest site would (so a tenth of the sites or so open)."""

    family: str
    n: int
    sites: int
    seed: int

    @property
    def name(self) -> str:
        return f"ufl-{self.family}-n{self.n}-m{self.sites}-s{self.seed}"

    def check(self) -> None:
        if self.family not in FACILITY_FAMILIES:
            raise LayoutoptError(
                f"facility instances come in {', '.join(FACILITY_FAMILIES)} (got '{self.family}')"
            )
        if not 1 <= self.sites <= self.n:
            raise LayoutoptError(f"{self.name}: needs 1 ≤ sites ≤ n")


def facility_problem(spec: FacilitySpec, max_arcs: int):
    """The instance as a problem keeping each settlement's ``max_arcs // n`` nearest sites
    (and the distance to the next as its ``beyond_cost``); no n × sites array is made."""
    from dataclasses import replace

    from scipy.sparse import coo_matrix
    from scipy.spatial import cKDTree

    from layoutopt.engine.benchmarks import nearest_on_graph
    from layoutopt.engine.problem import LocationProblem

    spec.check()
    rng = np.random.default_rng([spec.seed, spec.n, spec.sites, 7])
    k = int(min(spec.sites, max(2, max_arcs // spec.n)))
    take = min(k + 1, spec.sites)  # the listed sites and the first one left out, if any
    weight = np.round(rng.lognormal(6.0, 0.8, spec.n))  # people, median about 400
    site_nodes = np.sort(rng.choice(spec.n, spec.sites, replace=False))
    if spec.family == "euclid":
        points = rng.random((spec.n, 2)) * SIDE
        dist, near = cKDTree(points[site_nodes]).query(points, take)
        dist, near = dist.reshape(spec.n, take), near.reshape(spec.n, take)
    else:
        rows = _road_graph(spec.n, rng)
        graph = coo_matrix((rows[:, 2], (rows[:, 0] - 1, rows[:, 1] - 1)), (spec.n, spec.n))
        dist, near = nearest_on_graph(graph.tocsr(), take, site_nodes)
    spacing = np.median(dist[:, 0]) + 1.0  # a settlement to its nearest site, typically
    typical = spacing * weight.mean() * 10 * spec.n / spec.sites
    problem = LocationProblem.build(
        demand_ids=[f"v{i}" for i in range(spec.n)],
        weight=weight,
        site_ids=[f"s{j}" for j in site_nodes],
        arc_demand=np.repeat(np.arange(spec.n), k),
        arc_site=near[:, :k].ravel(),
        arc_cost=np.ceil(dist[:, :k]).ravel(),
        fixed_cost=np.round(rng.uniform(*FIXED_COST_SPAN, spec.sites) * typical),
    )
    return replace(problem, beyond_cost=np.ceil(dist[:, k]) if k < spec.sites else None)
