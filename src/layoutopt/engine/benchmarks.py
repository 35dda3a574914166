"""Readers for published facility-location instances and their known optima.

Formats as described in the benchmarks' README: OR-Library p-median (``pmed``),
OR-Library capacitated warehouse location (``cap``; ``uncap`` reads the same files with
capacities ignored) and Holmberg's single-source set (``holmberg``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import shortest_path

from layoutopt.engine.problem import LocationProblem
from layoutopt.errors import LayoutoptError

SUITES = ("pmed", "cap", "uncap", "holmberg")
# Where the published sets are: this variable, else ../shared/benchmarks from the working
# folder (the project's layout: shared/ beside the project). Read there, never copied.
BENCHMARKS_ENV = "LAYOUTOPT_BENCHMARKS"
DEFAULT_ROOT = Path("..") / "shared" / "benchmarks"
DEFAULT_FOLDERS = {
    "pmed": "orlib/pmed",
    "cap": "orlib/cap",
    "uncap": "orlib/cap",
    "holmberg": "holmberg",
}


def benchmarks_root() -> Path:
    """The folder of the published sets: $LAYOUTOPT_BENCHMARKS, else ../shared/benchmarks."""
    return Path(os.environ.get(BENCHMARKS_ENV) or DEFAULT_ROOT)


def suite_folder(suite: str, data: Path | None = None) -> Path:
    """The folder of ``suite``'s instances: ``data`` if given, else its place under
    ``benchmarks_root()``; an error that says how to point at it when it is missing."""
    folder = data if data is not None else benchmarks_root() / DEFAULT_FOLDERS[suite]
    if not folder.is_dir():
        raise LayoutoptError(
            f"benchmark folder {folder} not found (fix: give --data FOLDER, or set "
            f"{BENCHMARKS_ENV} to the folder holding orlib/ and holmberg/)"
        )
    return folder


@dataclass(frozen=True)
class Instance:
    name: str
    path: Path
    known_optimum: float
    capacity: float | None = None  # capa/b/c: the capacity every warehouse gets
    decimals: int = 0  # printed precision of the known optimum


def list_instances(suite: str, folder: Path) -> list[Instance]:
    """Every instance of ``suite`` in ``folder`` that has a known optimum, in file order."""
    if suite not in SUITES:
        raise LayoutoptError(f"unknown suite '{suite}' (choose from {', '.join(SUITES)})")
    if not folder.is_dir():
        raise LayoutoptError(f"{folder}: benchmark folder not found")
    if suite == "holmberg":
        return _holmberg_instances(folder)
    optima_file = folder / "optima.txt"
    if suite == "uncap" and (folder / "optima_uncapacitated.txt").is_file():
        optima_file = folder / "optima_uncapacitated.txt"
    instances = []
    for name, text in _read_optima(optima_file):
        stem, _, capacity = name.partition("_")
        path = _instance_file(folder, stem)
        instances.append(
            Instance(
                name, path, float(text), float(capacity) if capacity else None, _decimals(text)
            )
        )
    return instances


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _read_optima(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        raise LayoutoptError(f"{path}: optima file not found")
    pairs = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r"-?[\d.]+", parts[1]):
            pairs.append((parts[0], parts[1]))
    return pairs


def _instance_file(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.txt", folder / stem):
        if candidate.is_file():
            return candidate
    raise LayoutoptError(f"{folder}: no instance file for {stem}")


def _holmberg_instances(folder: Path) -> list[Instance]:
    optima_file = folder / "optima.txt"
    if not optima_file.is_file():
        raise LayoutoptError(f"{optima_file}: optima file not found")
    optima = optima_file.read_text().split()
    files = sorted(
        (p for p in folder.iterdir() if re.fullmatch(r"p\d+", p.name)),
        key=lambda p: int(p.name[1:]),
    )
    if len(files) < len(optima):
        raise LayoutoptError(f"{folder}: {len(optima)} optima but {len(files)} instance files")
    return [
        Instance(p.name, p, float(v), None, _decimals(v))
        for p, v in zip(files, optima, strict=False)
    ]


def read_instance(suite: str, instance: Instance, max_arcs: int | None = None) -> LocationProblem:
    """The instance as a problem; a pmed graph whose n × n pairs exceed ``max_arcs`` keeps
    each point's nearest ``max_arcs // n`` (see ``read_pmed``)."""
    # Some published files are padded with NUL bytes at the end.
    tokens = instance.path.read_bytes().replace(b"\x00", b"").decode("ascii").split()
    if suite == "pmed":
        return read_pmed(tokens, max_arcs)
    if suite == "holmberg":
        return read_holmberg(tokens)
    return read_cap(tokens, capacitated=suite == "cap", capacity=instance.capacity)


def read_pmed(tokens: list[str], max_arcs: int | None = None) -> LocationProblem:
    """A p-median problem from OR-Library's graph format (distances: shortest paths).

    Where ``n × n`` exceeds ``max_arcs``, each point keeps its ``max_arcs // n`` nearest
    sites and the distance to the next one as its ``beyond_cost``: no n × n array is made
    (distances come by Dijkstra in batches of rows)."""
    n, m, p = (int(t) for t in tokens[:3])
    edges = np.array(tokens[3 : 3 + 3 * m], dtype=float).reshape(m, 3)
    a = np.minimum(edges[:, 0], edges[:, 1]).astype(np.int64) - 1
    b = np.maximum(edges[:, 0], edges[:, 1]).astype(np.int64) - 1
    # OR-Library convention: where an edge appears twice, the last occurrence counts.
    key = a * n + b
    last = len(key) - 1 - np.unique(key[::-1], return_index=True)[1]
    graph = coo_matrix((edges[last, 2], (a[last], b[last])), shape=(n, n)).tocsr()
    if max_arcs is None or n * n <= max_arcs:
        distance = shortest_path(graph, method="D", directed=False)
        return LocationProblem.from_cost_matrix(distance, open_count=(p, p))
    return _nearest_sites(graph, n, p, max(2, max_arcs // n))


ROWS_PER_BATCH = 256  # Dijkstra sources at once: 256 rows of n distances in memory


def nearest_on_graph(
    graph: csr_matrix, take: int, targets: NDArray | None = None
) -> tuple[NDArray, NDArray]:
    """Each node's ``take`` nearest targets (every node where ``targets`` is None) by
    shortest path, nearest first: distances and indices into the targets, ``n × take``
    each. Dijkstra runs in batches of rows, so no ``n × targets`` array is made."""
    n = graph.shape[0]
    distance, nearest = np.empty((n, take)), np.empty((n, take), np.int64)
    for start in range(0, n, ROWS_PER_BATCH):
        rows = np.arange(start, min(n, start + ROWS_PER_BATCH))
        to_all = shortest_path(graph, method="D", directed=False, indices=rows)
        to_targets = to_all if targets is None else to_all[:, targets]
        part = np.argpartition(to_targets, take - 1, axis=1)[:, :take]
        order = np.argsort(np.take_along_axis(to_targets, part, 1), axis=1, kind="stable")
        nearest[rows] = np.take_along_axis(part, order, 1)
        distance[rows] = np.take_along_axis(to_targets, nearest[rows], 1)
    return distance, nearest


def _nearest_sites(graph: csr_matrix, n: int, p: int, k: int) -> LocationProblem:
    k = min(k, n - 1)
    distance, nearest = nearest_on_graph(graph, k + 1)
    problem = LocationProblem.build(
        demand_ids=[f"d{i}" for i in range(n)],
        weight=np.ones(n),
        site_ids=[f"s{j}" for j in range(n)],
        arc_demand=np.repeat(np.arange(n), k),
        arc_site=nearest[:, :k].ravel(),
        arc_cost=distance[:, :k].ravel(),
        open_count=(p, p),
    )
    # The (k+1)-th nearest: no site left out is nearer.
    return replace(problem, beyond_cost=distance[:, k])


def read_cap(tokens: list[str], *, capacitated: bool, capacity: float | None) -> LocationProblem:
    m, n = int(tokens[0]), int(tokens[1])
    pos = 2
    capacities, fixed = np.zeros(m), np.zeros(m)
    for j in range(m):
        cap_token = tokens[pos]
        capacities[j] = capacity if cap_token == "capacity" else float(cap_token)
        fixed[j] = float(tokens[pos + 1])
        pos += 2
    demand = np.zeros(n)
    costs = np.zeros((n, m))
    for i in range(n):
        demand[i] = float(tokens[pos])
        costs[i] = np.array(tokens[pos + 1 : pos + 1 + m], dtype=float)
        pos += 1 + m
    # A file cost is for serving all of a customer's demand: per unit, divide by demand.
    return LocationProblem.from_cost_matrix(
        costs / demand[:, None],
        weight=demand,
        fixed_cost=fixed,
        capacity=capacities if capacitated else np.inf,
    )


def read_holmberg(tokens: list[str]) -> LocationProblem:
    m, n = int(tokens[0]), int(tokens[1])
    values = np.array(tokens[2:], dtype=float)
    capacities, fixed = values[0 : 2 * m : 2], values[1 : 2 * m : 2]
    demand = values[2 * m : 2 * m + n]
    costs = values[2 * m + n : 2 * m + n + m * n].reshape(m, n).T
    return LocationProblem.from_cost_matrix(
        costs / demand[:, None],
        weight=demand,
        fixed_cost=fixed,
        capacity=capacities,
        single_source=True,
    )
