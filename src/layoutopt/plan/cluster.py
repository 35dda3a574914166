"""Regions on Dask distributed: a ``LocalCluster`` on this machine, or a running cluster.

A ``LocalCluster``'s worker processes end with the plan even when it is killed outright:
distributed's own process wrapper ends a child whose parent's pipe closes
(``tests/test_interrupts.py`` checks it).

Dask is an optional extra (``pip install -e ".[dask]"``). A region is a pure task: the
scheduler runs it again elsewhere when the worker running it dies (up to
``distributed.scheduler.allowed-failures`` times), and the runner reads results in region
order, so outputs are those of the process pool. What the cluster lost and ran again is
read back from the scheduler's event log for the manifest.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from layoutopt.errors import LayoutoptError

INSTALL_HINT = 'pip install -e ".[dask]"'


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise LayoutoptError(
            "executor = 'dask' needs Dask distributed, which is not installed here "
            f"(fix: {INSTALL_HINT}, or set solver.executor = 'processes')"
        ) from None
    return distributed


def dask_executor(workers: int, scheduler: str | None, timeout_s: float = 20.0) -> DaskExecutor:
    """A client of the cluster at ``scheduler``, or of a new ``LocalCluster`` of
    ``workers`` single-threaded worker processes. ``timeout_s``: how long the scheduler
    has to answer."""
    distributed = _distributed()
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout=f"{timeout_s}s")
        except (OSError, TimeoutError) as exc:
            raise LayoutoptError(
                f"no Dask scheduler answered at {scheduler} ({exc}) (fix: start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS`, or leave "
                "--scheduler out for a cluster on this machine)"
            ) from None
        return DaskExecutor(client, None, scheduler)
    cluster = distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,  # one solve at a time per worker, as in the process pool
        processes=True,
        dashboard_address=None,
        # No dashboard; its HTTP server (health, metrics) on a free port, not 8787, so that
        # two plans on one machine never meet on a port.
        scheduler_kwargs={"dashboard_address": ":0"},
        silence_logs=logging.ERROR,
    )
    return DaskExecutor(distributed.Client(cluster), cluster, f"LocalCluster(n_workers={workers})")


class DaskExecutor(Executor):
    """A ``concurrent.futures`` executor over a Dask client: futures that the runner reads
    as it reads a process pool's."""

    def __init__(self, client: Any, cluster: Any | None, where: str) -> None:
        self.client, self.cluster, self.where = client, cluster, where
        self._labels: dict[str, str] = {}
        self._running: dict[str, Any] = {}
        self._started = client.get_events("all")  # events before this run are not its own

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        label = " ".join(a for a in args if isinstance(a, str))
        key = f"{fn.__name__}-{label.replace(' ', '-')}-{uuid.uuid4().hex[:8]}"
        self._labels[key] = label
        dask_future = self.client.submit(fn, *args, key=key, pure=False, **kwargs)
        future: Future = Future()

        # Dask forgets a task whose future nobody holds: hold it until its result is read.
        self._running[key] = dask_future

        def hand_over(done: Any) -> None:
            try:
                future.set_result(done.result())
            except BaseException as exc:
                future.set_exception(exc)
            finally:
                self._running.pop(key, None)

        dask_future.add_done_callback(hand_over)
        return future

    def record(self) -> dict[str, Any]:
        """The executor, and every worker lost since the last record (a run; each variant
        of a sweep) with the tasks it was running, which the scheduler ran again elsewhere."""
        events = self.client.get_events("all")
        lost = [
            {
                "worker": msg.get("worker", ""),
                "rerun": sorted(self._labels.get(k, k) for k in msg.get("processing-tasks", [])),
            }
            for _, msg in events[len(self._started) :]
            if isinstance(msg, dict) and msg.get("action") == "remove-worker"
        ]
        self._started = events
        workers = len(self.client.scheduler_info(n_workers=-1)["workers"])
        return {
            "executor": "dask",
            "scheduler": self.where,
            "dask_workers": workers,
            "workers_lost": lost,
            "regions_rerun": sum(len(w["rerun"]) for w in lost),
        }

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
