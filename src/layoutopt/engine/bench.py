"""The benchmark command: solve published instances and compare with their known optima.

Each instance is solved by the engine (sparse arcs, HiGHS loaded in bulk). With
``compare_dense`` it is also solved, in the same process, by a plain dense formulation
built the way spopt builds it (one PuLP variable per demand-site pair, passed to HiGHS
through PuLP), and the speed and memory ratios are reported.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from layoutopt.engine.backends import BackendOptions, solve_pulp
from layoutopt.engine.benchmarks import Instance, list_instances, read_instance
from layoutopt.engine.model import build_model
from layoutopt.engine.problem import LocationProblem
from layoutopt.engine.solver import SolverOptions, solve
from layoutopt.errors import LayoutoptError

COLUMNS = [
    "instance",
    "known_optimum",
    "objective",
    "bound",
    "gap_to_known",
    "proven_gap",
    "status",
    "seconds",
    "peak_rss_mb",
    "arcs",
    "pairs",
    "reproduced",
]
DENSE_COLUMNS = [
    "dense_objective",
    "dense_status",
    "dense_seconds",
    "dense_peak_rss_mb",
    "speed_ratio",
    "memory_ratio",
]


class PeakMemory:
    """Peak resident memory a block adds to this process (sampled every 10 ms), so that
    instances solved one after another in the same process are measured alike."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self) -> PeakMemory:
        _return_freed_memory()
        self.start = self.process.memory_info().rss
        self.peak = self.start
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def mb(self) -> float:
        return round((self.peak - self.start) / 2**20, 1)


def _return_freed_memory() -> None:
    """Give the heap a previous solve freed back to the system (glibc keeps it otherwise),
    so that a solve after a large one is not measured as adding nothing: pmed17's engine
    solve read 0.9 MB after pmed16's dense one without this, 28 MB with it (20 MB alone in
    a fresh process)."""
    # Not glibc (no malloc_trim): the figure may then read low after a large solve.
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)


# Bytes an arc costs the engine's solve at its peak: the problem's four arc arrays, the
# relaxation's and the heuristic's copies, and sorting indices (8 bytes a number).
BYTES_PER_ARC = 160


@dataclass(frozen=True)
class BenchOptions:
    time_limit_s: float = 3600.0
    compare_dense: bool = False
    threads: int = 2
    gap: float = 0.0  # relative gap accepted (0: exact, as the published optima need)
    probe_capacity_bound: bool = False  # also measure engine.capacity_bound's best case
    memory_mb: float | None = None  # arcs kept so that the solve stays within this

    @property
    def max_arcs(self) -> int | None:
        return None if self.memory_mb is None else int(self.memory_mb * 2**20 / BYTES_PER_ARC)


def run_bench(
    suite: str,
    folder: Path,
    options: BenchOptions,
    names: list[str] | None = None,
    progress: Callable[[dict], None] | None = None,
) -> pd.DataFrame:
    has_optima = suite == "holmberg" or (folder / "optima.txt").is_file()
    instances = list_instances(suite, folder) if has_optima or not names else []
    if names:
        instances = [i for i in instances if i.name in names] + _without_optimum(
            suite, folder, sorted(set(names) - {i.name for i in instances})
        )
    rows = []
    for instance in instances:
        row = bench_instance(suite, instance, options)
        rows.append(row)
        if progress:
            progress(row)
    columns = COLUMNS + (DENSE_COLUMNS if options.compare_dense else [])
    return pd.DataFrame(rows, columns=columns + [c for c in rows[0] if c not in columns])


def _without_optimum(suite: str, folder: Path, names: list[str]) -> list[Instance]:
    """Instances named on the command line that have a file but no known optimum (a
    generated instance too large to prove): solved and reported with their bound."""
    missing = [n for n in names if suite != "pmed" or not (folder / f"{n}.txt").is_file()]
    if missing:
        raise LayoutoptError(f"no instance named {', '.join(missing)} in {folder}")
    return [Instance(n, folder / f"{n}.txt", float("nan")) for n in names]


def bench_instance(suite: str, instance: Instance, options: BenchOptions) -> dict:
    problem = read_instance(suite, instance, options.max_arcs)
    # Exact optima to the published precision: no relative gap allowed unless asked.
    solver = SolverOptions(
        time_limit_s=options.time_limit_s,
        mip_gap=options.gap,
        threads=options.threads,
        name=instance.name,
    )
    with PeakMemory() as memory:
        solution = solve(problem, solver)
    report = solution.report
    row = {
        "instance": instance.name,
        "known_optimum": instance.known_optimum,
        "objective": _round(report.objective),
        "bound": _round(report.bound),
        "gap_to_known": _gap(report.objective, instance.known_optimum),
        "proven_gap": report.gap,
        "status": report.status,
        "seconds": report.seconds,
        "peak_rss_mb": memory.mb,
        "arcs": len(problem.arc_cost),
        "pairs": problem.n_demand * problem.n_sites,
    }
    row["reproduced"] = reproduced(row, instance.decimals, options.gap)
    if options.probe_capacity_bound:
        row |= _probe(problem, instance, solver)
    if options.compare_dense:
        if problem.beyond_cost is not None:
            row |= {"dense_status": "not built: pairs exceed the memory budget"}
        else:
            row |= _dense(problem, options, report.seconds, memory.mb)
    return row


def _probe(problem: LocationProblem, instance: Instance, solver: SolverOptions) -> dict:
    """The capacitated Lagrangian bound's best case: the sites it fixes given the known
    optimum, and the solve of what is left (to set against the row's ``seconds``)."""
    from layoutopt.engine.capacity_bound import probe
    from layoutopt.engine.solver import _subproblem

    found = probe(problem, instance.known_optimum)
    keep = np.flatnonzero(~found.closed)
    rest = _subproblem(problem, keep, np.zeros(len(keep), bool), np.array([], dtype=np.int64))
    report = solve(rest, solver).report
    return {
        "probe_root_gap": round(found.root_gap, 6),
        "probe_sites_shut": found.fixed_closed,
        "probe_seconds": round(found.seconds, 3),
        "probe_rest_objective": _round(report.objective),
        "probe_rest_seconds": report.seconds,
    }


def _dense(problem: LocationProblem, options: BenchOptions, seconds: float, mb: float) -> dict:
    """The spopt way: every pair a PuLP variable, HiGHS reached through PuLP."""
    all_arcs = np.arange(len(problem.arc_cost))
    model = build_model(problem, all_arcs, np.full(problem.n_demand, np.nan))
    started = time.perf_counter()
    with PeakMemory() as memory:
        raw = solve_pulp(
            model,
            BackendOptions(time_limit_s=options.time_limit_s, mip_gap=0.0, threads=options.threads),
            solver="highs",
        )
    dense_seconds = time.perf_counter() - started
    return {
        "dense_objective": _round(raw.objective),
        "dense_status": raw.status,
        "dense_seconds": round(dense_seconds, 3),
        "dense_peak_rss_mb": memory.mb,
        "speed_ratio": round(dense_seconds / max(seconds, 1e-9), 2),
        "memory_ratio": round(memory.mb / max(mb, 1e-9), 2),
    }


def _percent(value: float | None) -> str:
    return "-" if value is None or pd.isna(value) else f"{100 * value:.3f}%"


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _gap(objective: float | None, known: float) -> float | None:
    if objective is None or np.isnan(known):
        return None
    return (objective - known) / abs(known) if known else objective - known


def reproduced(row: dict, decimals: int, gap: float = 0.0) -> bool:
    """The known optimum, to one unit of its printed precision, with a proof of optimality
    (or, with ``gap``, a plan within that relative gap of the optimum, proven so).

    One unit rather than half: the published files round the same optimum both ways
    (cap91 796648.438, cap101 796648.437).
    """
    known = row["known_optimum"]
    if row["objective"] is None or row["status"] != "optimal" or np.isnan(known):
        return False
    allowed = 10.0**-decimals + 1e-9 * abs(known)
    if gap > 0:
        return known - allowed <= row["objective"] <= known + gap * abs(known) + allowed
    return abs(row["objective"] - known) <= allowed


def summary(table: pd.DataFrame, compare_dense: bool) -> list[str]:
    known = table["known_optimum"].notna()
    ok = table["reproduced"]
    lines = [
        f"{int(ok.sum())} of {int(known.sum())} known optima reproduced and proven optimal; "
        f"engine seconds in total {table['seconds'].sum():.1f}"
    ]
    for row in table[~known].itertuples():
        lines.append(
            f"{row.instance} (no known optimum): {row.status}, objective {row.objective}, "
            f"bound {row.bound}, gap {_percent(row.proven_gap)}, {row.seconds:.1f} s, "
            f"{row.peak_rss_mb} MB added, {row.arcs:,} arcs of {row.pairs:,} pairs"
        )
    if "probe_rest_seconds" in table:
        rest = table["probe_rest_seconds"].sum() + table["probe_seconds"].sum()
        lines.append(
            f"capacitated Lagrangian bound, best case (the known optimum as upper bound): "
            f"{int(table['probe_sites_shut'].sum())} sites shut, root gap up to "
            f"{100 * table['probe_root_gap'].max():.2f}%; bound and solve of the rest "
            f"{rest:.1f} s against {table['seconds'].sum():.1f} s for the whole"
        )
    if not compare_dense or "dense_seconds" not in table:
        return lines
    built = table[table["dense_seconds"].notna()]
    if not len(built):
        return lines
    dense = built["dense_seconds"].sum()
    lines.append(
        f"dense formulation (spopt-style, PuLP + HiGHS) seconds in total {dense:.1f}: "
        f"engine {dense / max(built['seconds'].sum(), 1e-9):.1f}× faster; peak memory "
        f"{built['dense_peak_rss_mb'].max():.0f} MB vs {built['peak_rss_mb'].max():.0f} MB"
    )
    families = built["instance"].str.split("-").str[0]
    if families.nunique() > 1:  # generated instances: <family>-n<N>-p<P>-s<seed>
        for family, part in built.groupby(families, sort=True):
            ratio = part["dense_seconds"].sum() / max(part["seconds"].sum(), 1e-9)
            lines.append(
                f"  {family}: {len(part)} instances, engine {part['seconds'].sum():.1f} s, "
                f"dense {part['dense_seconds'].sum():.1f} s, {ratio:.1f}× faster"
            )
    if built["pairs"].nunique() > 1:
        # Memory grows with the pairs; the slope leaves out PuLP's own start-up memory.
        slope, base = np.polyfit(built["pairs"] / 1e6, built["dense_peak_rss_mb"], 1)
        fits = (24 * 1024 - max(base, 0.0)) / slope
        lines.append(
            f"dense model memory: {slope:,.0f} MB per million pairs (fitted over "
            f"{len(built)} instances), so 24 GiB holds about {fits:,.0f} million pairs (n ≈ "
            f"{np.sqrt(fits * 1e6):,.0f} points for a p-median on every point); "
            f"10,000 points (100 million pairs) would need about {slope * 100 / 1024:,.0f} GiB"
        )
    return lines


def run_facility(spec, options: BenchOptions) -> dict:
    """A generated facility-location instance too large for a model: built with cut arc
    lists (the memory budget), solved by bound; build and solve timed and measured apart."""
    from layoutopt.engine.generate import facility_problem

    if options.max_arcs is None:
        raise LayoutoptError("bench facility needs --memory-mb (the budget the lists are cut to)")
    started = time.perf_counter()
    with PeakMemory() as built:
        problem = facility_problem(spec, options.max_arcs)
    build_seconds = time.perf_counter() - started
    solver = SolverOptions(
        time_limit_s=options.time_limit_s, mip_gap=options.gap, threads=options.threads,
        name=spec.name,
    )  # fmt: skip
    with PeakMemory() as memory:
        solution = solve(problem, solver)
    report = solution.report
    return {
        "instance": spec.name,
        "demand_points": problem.n_demand,
        "sites": problem.n_sites,
        "arcs": len(problem.arc_cost),
        "pairs": problem.n_demand * problem.n_sites,
        "sites_open": int(solution.is_open.sum()),
        "objective": _round(report.objective),
        "bound": _round(report.bound),
        "proven_gap": report.gap,
        "status": report.status,
        "build_seconds": round(build_seconds, 3),
        "seconds": report.seconds,
        "build_peak_rss_mb": built.mb,
        "peak_rss_mb": memory.mb,
    }
