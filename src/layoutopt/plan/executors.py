"""Where regions are solved: one after another, or on a pool of local processes.

Both are ``concurrent.futures.Executor``s, and so is the Dask one (``cluster.py``): any takes
the others' place without touching a programme. Results do
not depend on the executor: every solve is deterministic (fixed seed, fixed threads) and
the runner assembles regions in their own order, not in the order they finish.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
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
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=end_with_parent,
        initargs=(os.getpid(),),
    )


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
PARENT_CHECK_S = 1.0


def end_with_parent(parent: int) -> None:
    """Make this pool worker end when the plan that started it is gone. A plan killed
    outright (SIGKILL: the out-of-memory killer, a scheduler's hard stop) runs no handler,
    so its workers would go on solving for nobody. On Linux the kernel sends the worker
    SIGKILL when its parent dies, even in the middle of a solve; elsewhere, and as a
    second guard, a thread checks the parent's pid every second. The multiprocessing
    resource tracker ends by itself once the plan and its workers have closed its pipe."""
    _kill_me_when_parent_dies()
    if os.getppid() != parent:  # the plan died before the guard was in place
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _kill_me_when_parent_dies() -> None:
    """Linux's parent-death signal (prctl PR_SET_PDEATHSIG): SIGKILL from the kernel."""
    # The signal is tied to the thread that started the worker: a pool starts its workers
    # in the thread that submits, the plan's own, which lives as long as the plan.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


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
