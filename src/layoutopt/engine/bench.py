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
    "gap_to_known",
    "proven_gap",
    "status",
    "seconds",
    "peak_rss_mb",
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


@dataclass(frozen=True)
class BenchOptions:
    time_limit_s: float = 3600.0
    compare_dense: bool = False
    threads: int = 2


def run_bench(
    suite: str,
    folder: Path,
    options: BenchOptions,
    names: list[str] | None = None,
    progress: Callable[[dict], None] | None = None,
) -> pd.DataFrame:
    instances = list_instances(suite, folder)
    if names:
        unknown = sorted(set(names) - {i.name for i in instances})
        if unknown:
            raise LayoutoptError(f"no instance named {', '.join(unknown)} in {folder}")
        instances = [i for i in instances if i.name in names]
    rows = []
    for instance in instances:
        row = bench_instance(suite, instance, options)
        rows.append(row)
        if progress:
            progress(row)
    return pd.DataFrame(rows, columns=COLUMNS + (DENSE_COLUMNS if options.compare_dense else []))


def bench_instance(suite: str, instance: Instance, options: BenchOptions) -> dict:
    problem = read_instance(suite, instance)
    # Exact optima to the published precision: no relative gap allowed.
    solver = SolverOptions(
        time_limit_s=options.time_limit_s, mip_gap=0.0, threads=options.threads, name=instance.name
    )
    with PeakMemory() as memory:
        solution = solve(problem, solver)
    report = solution.report
    row = {
        "instance": instance.name,
        "known_optimum": instance.known_optimum,
        "objective": _round(report.objective),
        "gap_to_known": _gap(report.objective, instance.known_optimum),
        "proven_gap": report.gap,
        "status": report.status,
        "seconds": report.seconds,
        "peak_rss_mb": memory.mb,
    }
    row["reproduced"] = reproduced(row, instance.decimals)
    if options.compare_dense:
        row |= _dense(problem, options, report.seconds, memory.mb)
    return row


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


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _gap(objective: float | None, known: float) -> float | None:
    if objective is None:
        return None
    return (objective - known) / abs(known) if known else objective - known


def reproduced(row: dict, decimals: int) -> bool:
    """The known optimum, to one unit of its printed precision, with a proof of optimality.

    One unit rather than half: the published files round the same optimum both ways
    (cap91 796648.438, cap101 796648.437).
    """
    if row["objective"] is None or row["status"] != "optimal":
        return False
    return abs(row["objective"] - row["known_optimum"]) <= 10.0**-decimals + 1e-9 * abs(
        row["known_optimum"]
    )


def summary(table: pd.DataFrame, compare_dense: bool) -> list[str]:
    ok = table["reproduced"]
    lines = [
        f"{int(ok.sum())} of {len(table)} known optima reproduced and proven optimal; "
        f"engine seconds in total {table['seconds'].sum():.1f}"
    ]
    if compare_dense:
        dense = table["dense_seconds"].sum()
        lines.append(
            f"dense formulation (spopt-style, PuLP + HiGHS) seconds in total {dense:.1f}: "
            f"engine {dense / max(table['seconds'].sum(), 1e-9):.1f}× faster; peak memory "
            f"{table['dense_peak_rss_mb'].max():.0f} MB vs {table['peak_rss_mb'].max():.0f} MB"
        )
    return lines
