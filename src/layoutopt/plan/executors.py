"""Where regions are solved: one after another, or on a pool of local processes.

Both are ``concurrent.futures.Executor``s, so a distributed one (Dask's
``Client.get_executor()``) can take their place without touching any programme. Results do
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


def region_executor(workers: int) -> Executor:
    """Serial for one worker, else a pool of ``workers`` fresh processes ("spawn": a worker
    never inherits a half-initialised solver from this process)."""
    if workers < 1:
        raise LayoutoptError(
            f"workers = {workers}: no region could be solved (fix: give 1 or more)"
        )
    if workers == 1:
        return SerialExecutor()
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
