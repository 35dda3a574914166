"""``layoutopt bench plan``: a scenario's whole run (the README's first command), timed and
measured phase by phase.

Phases: loading and checking the data (with the pool's start), each programme (preparing
its inputs, its regions' solves, its outcome), and writing the outputs (tables, workbook,
maps, audit). For each: wall seconds, the largest resident memory seen in this process
and in any worker (sampled four times a second), and for a programme its solves and the
seconds its solver reported, summed over the regions (so over the workers too: with 2
workers a programme's solver seconds may reach twice its wall seconds).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from layoutopt.plan import make_plan
from layoutopt.plan.memory import PhasePeaks
from layoutopt.progress import Progress
from layoutopt.results import Plan
from layoutopt.scenario import Scenario

COLUMNS = [
    "phase",
    "seconds",
    "share_of_run",
    "peak_main_mb",
    "peak_worker_mb",
    "solves",
    "solver_seconds",
    "solver_share",
]
LOAD, OUTPUTS, TOTAL = "load and check", "write outputs", "whole run"


@dataclass
class _Phases(Progress):
    """Passes the run's messages on and tells the sampler which programme runs."""

    inner: Progress
    peaks: PhasePeaks

    def say(self, message: str) -> None:
        self.inner.say(message)

    def programme(self, name: str) -> None:
        self.peaks.phase = name
        self.inner.programme(name)

    @contextmanager
    def regions(self, label: str, total: int) -> Iterator[Callable[[], None]]:
        with self.inner.regions(label, total) as advance:
            yield advance


def bench_plan(
    scenario: Scenario,
    write: Callable[[Plan, Path], object],
    out: Path | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Run ``scenario`` whole and ``write`` its outputs (the report layer's writer, handed
    down) into ``out``, else a temporary folder removed after; one row per phase, then the
    whole run."""
    inner = progress or Progress()
    scratch_folder = tempfile.TemporaryDirectory(prefix="layoutopt-bench-")
    with scratch_folder as scratch, PhasePeaks(phase=LOAD) as peaks:
        target = out or Path(scratch) / scenario.name
        started = time.perf_counter()
        plan = make_plan(scenario, workers=workers, progress=_Phases(inner, peaks))
        planned = time.perf_counter()
        peaks.phase = OUTPUTS
        write(plan, target)
        ended = time.perf_counter()
    seconds = plan.execution["programme_seconds"]
    whole = ended - started
    rows = [_row(LOAD, planned - started - sum(seconds.values()), whole, peaks)]
    for result in plan.results:
        solver = sum(s.seconds for s in result.solves)
        row = _row(result.programme, seconds[result.programme], whole, peaks)
        rows.append(
            row
            | {
                "solves": len(result.solves),
                "solver_seconds": round(solver, 1),
                "solver_share": round(solver / max(row["seconds"] * plan.workers, 1e-9), 3),
            }
        )
    rows.append(_row(OUTPUTS, ended - planned, whole, peaks))
    total = _row(TOTAL, whole, whole, peaks)
    total["peak_main_mb"] = round(peaks.main_peak_mb)
    total["peak_worker_mb"] = round(peaks.worker_peak_mb)
    total["solves"] = sum(r.get("solves", 0) for r in rows)
    total["solver_seconds"] = round(sum(r.get("solver_seconds", 0.0) for r in rows), 1)
    total["solver_share"] = round(total["solver_seconds"] / (whole * plan.workers), 3)
    rows.append(total)
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    table["solves"] = table["solves"].astype("Int64")
    return table


def _row(phase: str, seconds: float, whole: float, peaks: PhasePeaks) -> dict:
    return {
        "phase": phase,
        "seconds": round(seconds, 1),
        "share_of_run": round(seconds / whole, 3),
        "peak_main_mb": round(peaks.main_mb.get(phase, 0.0)),
        "peak_worker_mb": round(peaks.worker_mb.get(phase, 0.0)),
    }


def against(table: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    """``table`` with each phase's seconds as a ratio of ``baseline``'s (an earlier
    ``bench plan --out``): below 1 is faster."""
    before = baseline.set_index("phase")["seconds"]
    ratio = table["seconds"] / before.reindex(table["phase"]).to_numpy()
    return table.assign(
        baseline_seconds=before.reindex(table["phase"]).to_numpy(), ratio=ratio.round(2)
    )


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """The table as text for the terminal: seconds to a tenth, shares in percent, memory in
    whole MB, blanks where a phase has no solves."""
    out = pd.DataFrame({"phase": table["phase"]})
    for column in table.columns[1:]:
        values = table[column]
        if column.endswith("share") or column == "share_of_run":
            out[column] = [f"{v:.1%}" if pd.notna(v) else "" for v in values]
        elif column.endswith("seconds"):
            out[column] = [f"{v:,.1f}" if pd.notna(v) else "" for v in values]
        elif column == "ratio":
            out[column] = [f"×{v:.2f}" if pd.notna(v) else "" for v in values]
        else:
            out[column] = [f"{int(v):,}" if pd.notna(v) else "" for v in values]
    return out
