"""Run a scenario: load and check the data, then each programme in registry order on the
network the programmes before it left, regions on an executor. Returns a ``Plan``; writing
it is the report layer's job."""

from __future__ import annotations

import time

import geopandas as gpd
import pandas as pd

from layoutopt.data.dataset import load_dataset
from layoutopt.geo.travel import road_notes
from layoutopt.plan.executors import default_workers, region_executor
from layoutopt.plan.registry import selected
from layoutopt.plan.runner import RegionalRunner
from layoutopt.progress import Progress
from layoutopt.results import Plan, ProgrammeResult
from layoutopt.scenario import Scenario
from layoutopt.state import PlanState

__all__ = ["Plan", "Progress", "make_plan"]


def make_plan(
    scenario: Scenario,
    *,
    only: list[str] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Plan:
    """The scenario's plan. ``only`` picks programmes (default: those enabled);
    ``workers`` regions are solved at once (default: ``solver.workers``, else the cores)."""
    started = time.perf_counter()
    progress = progress or Progress()
    programmes = selected(scenario, only)
    if workers is None:
        workers = scenario.solver.workers or default_workers()
    executor = region_executor(workers)  # refuses fewer than one worker before any work
    results: list[ProgrammeResult] = []
    try:
        progress.say(f"loading and checking {scenario.data}")
        dataset = load_dataset(scenario.data, scenario.validation, scenario.files)
        dataset.notes.extend(road_notes(dataset, scenario.travel))
        for note in dataset.notes:
            progress.say(f"note: {note}")
        state = PlanState.start(dataset)
        runner = RegionalRunner(executor, scenario, progress)
        for programme in programmes:
            result = runner.run(programme, state)
            results.append(result)
            if result.schools_after is not None:
                state = programme.hand_on(state, result)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return Plan(
        scenario=scenario,
        dataset=dataset,
        results=results,
        schools_after=final_schools(results),
        state=state,
        workers=workers,
        seconds=time.perf_counter() - started,
    )


def final_schools(results: list[ProgrammeResult]) -> gpd.GeoDataFrame | None:
    """Every school the programmes planned, each as the last programme to plan it left it."""
    frames = [r.schools_after for r in results if r.schools_after is not None and r.plans_schools]
    if not frames:
        return None
    table = pd.concat(frames, ignore_index=True)
    table = table.drop_duplicates("school_id", keep="last")
    return gpd.GeoDataFrame(table.reset_index(drop=True), geometry="geometry", crs=frames[0].crs)
