"""Where regions are solved: one after another, or on a pool of local processes.

Both are ``concurrent.futures.Executor``s, and so is the Dask one (``cluster.py``): any takes
the others' place without touching a programme. Results do
not depend on the executor: every solve is deterministic (fixed seed, fixed threads) and
the runner assembles regions in their own order, not in the order they finish.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

from layoutopt.errors import LayoutoptError
from layoutopt.scenario import SolverSettings


class SerialExecutor(Executor):
    """Runs each task at once, in this process (``workers = 1``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to whoever reads the future, as a pool does
            future.set_exception(exc)
        return future


def default_workers() -> int:
    return os.cpu_count() or 1


def region_executor(
    workers: int, kind: str = "processes", scheduler: str | None = None, timeout_s: float = 20.0
) -> Executor:
    """Where regions run. ``processes``: serial for one worker, else a pool of ``workers``
    fresh processes ("spawn": a worker never inherits a half-initialised solver from this
    process). ``dask``: the cluster at ``scheduler``, or a ``LocalCluster`` of ``workers``."""
    if workers < 1:
        raise LayoutoptError(
            f"workers = {workers}: no region could be solved (fix: give 1 or more)"
        )
    if kind == "dask":
        from layoutopt.plan.cluster import dask_executor

        return dask_executor(workers, scheduler, timeout_s)
    if kind != "processes":
        raise LayoutoptError(f"executor '{kind}' is not known (fix: 'processes' or 'dask')")
    if workers == 1:
        return SerialExecutor()
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def executor_choice(
    solver: SolverSettings, executor: str | None, scheduler: str | None
) -> tuple[str, str | None]:
    """The executor and Dask address a run uses: a scheduler given on the command line
    implies Dask; otherwise the command line's executor, else the scenario's, whose
    scheduler counts only with Dask."""
    if scheduler:
        return "dask", scheduler
    kind = executor or solver.executor
    return kind, solver.scheduler if kind == "dask" else None


def executor_record(executor: Any, workers: int) -> dict[str, Any]:
    """What ran the regions, for the manifest: the executor's own record where it keeps one
    (Dask: workers lost and regions run again), else the process pool's size."""
    record = getattr(executor, "record", None)
    if record is not None:
        return {"workers": workers, **record()}
    return {"executor": "processes", "workers": workers}
