"""How the plan scales with the number of counties: ``layoutopt bench scale``.

Each size is a set of provinces of a national data set (those with a calibration of their
own first, then the others in code order, until the counties reach the size), planned
province by province as a ministry would (each province has its own targets), all on one
executor: the process pool, then a Dask ``LocalCluster``. Every run computes its travel
tables afresh (a cache of its own) and writes no outputs: the figures are the planning
itself. Peak memory is sampled from the worker processes four times a second.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import psutil

from layoutopt.errors import LayoutoptError
from layoutopt.plan import make_plan
from layoutopt.plan.executors import region_executor
from layoutopt.scenario import scenario_from_dict

COLUMNS = [
    "size",
    "executor",
    "provinces",
    "counties",
    "schools",
    "programme",
    "seconds",
    "seconds_per_county",
    "seconds_per_1000_schools",
    "peak_worker_mb",
    "peak_main_mb",
    "solves",
    "solves_by_status",
]


def provinces_for(index: pd.DataFrame, counties: int) -> pd.DataFrame:
    """The provinces built from a calibration of their own (the reference: Shanxi in the
    bundled national file), then the others in code order, until ``counties`` reached."""
    own = index["calibration"] == "own"
    ordered = pd.concat([index[own], index[~own]])
    reached = ordered["counties"].astype(int).cumsum()
    needed = int((reached < counties).sum()) + 1
    return ordered.head(needed)


@dataclass
class PeakMemory:
    """The largest resident memory seen in any child process (the workers) and in this
    process, sampled by a thread while a run lasts."""

    every_s: float = 0.25
    worker_mb: float = 0.0
    main_mb: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            self.main_mb = max(self.main_mb, me.memory_info().rss / 2**20)
            for child in me.children(recursive=True):
                try:
                    self.worker_mb = max(self.worker_mb, child.memory_info().rss / 2**20)
                except psutil.Error:  # a worker that ended between listing and reading
                    continue
            self._stop.wait(self.every_s)


def run_size(
    national: Path,
    provinces: pd.DataFrame,
    executor: str,
    programmes: list[str],
    workers: int,
    say: Callable[[str], None],
) -> list[dict]:
    """One size on one executor: every province planned, rows by programme."""
    seconds: Counter = Counter()
    statuses: dict[str, Counter] = {p: Counter() for p in programmes}
    schools = 0
    with tempfile.TemporaryDirectory(prefix="layoutopt-scale-") as cache, PeakMemory() as peak:
        pool = region_executor(workers, executor)
        try:
            for entry in provinces.itertuples():
                say(
                    f"{executor}: {entry.province_code} {entry.province}, {entry.counties} counties"
                )
                scenario = scenario_from_dict(
                    {
                        "name": f"scale-{entry.province_code}",
                        "data": str(national / entry.folder),
                        "travel": {"cache_dir": f"{cache}/{entry.province_code}"},
                    }
                )
                plan = make_plan(scenario, only=programmes, workers=workers, shared=pool)
                schools += len(plan.dataset.schools)
                seconds.update(plan.execution["programme_seconds"])
                for result in plan.results:
                    statuses[result.programme].update(str(s.status) for s in result.solves)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    counties = int(provinces["counties"].astype(int).sum())
    return [
        {
            "executor": "dask LocalCluster" if executor == "dask" else "process pool",
            "provinces": len(provinces),
            "counties": counties,
            "schools": schools,
            "programme": name,
            "seconds": round(seconds[name], 1),
            "seconds_per_county": round(seconds[name] / counties, 3),
            "seconds_per_1000_schools": round(seconds[name] / schools * 1000, 2),
            "peak_worker_mb": round(peak.worker_mb),
            "peak_main_mb": round(peak.main_mb),
            "solves": sum(statuses[name].values()),
            "solves_by_status": ";".join(f"{k}:{v}" for k, v in sorted(statuses[name].items())),
        }
        for name in programmes
    ]


def run_scale(
    national: Path,
    sizes: list[int],
    executors: list[str],
    programmes: list[str],
    workers: int,
    say: Callable[[str], None],
) -> pd.DataFrame:
    """The scale table: every size on every executor."""
    index_path = national / "provinces.csv"
    if not index_path.is_file():
        raise LayoutoptError(
            f"{index_path}: not found (fix: build the national data set first, "
            "bash data/build-china.sh)"
        )
    index = pd.read_csv(index_path, dtype=str, encoding="utf-8-sig")
    rows = []
    for size in sizes:
        chosen = provinces_for(index, size)
        for executor in executors:
            began = time.perf_counter()
            found = run_size(national, chosen, executor, programmes, workers, say)
            rows += [{"size": size, **row} for row in found]
            say(f"size {size} on {executor}: {time.perf_counter() - began:.0f} s")
    return pd.DataFrame(rows, columns=COLUMNS)


def growth_lines(table: pd.DataFrame) -> list[str]:
    """Seconds per county at each size against the smallest, by executor and programme:
    at most 1.0 means no worse than linear."""
    lines = []
    for (executor, programme), rows in table.groupby(["executor", "programme"], sort=False):
        rows = rows.sort_values("counties")
        base = rows["seconds_per_county"].iloc[0]
        ratios = ", ".join(
            f"{r.counties} counties {r.seconds_per_county / base:.2f}" for r in rows.itertuples()
        )
        lines.append(f"{executor} · {programme}: seconds per county against the smallest: {ratios}")
    return lines
