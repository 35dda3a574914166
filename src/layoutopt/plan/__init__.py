"""Run a scenario: load and check the data, then each programme in registry order on the
network the programmes before it left, regions on an executor. Returns a ``Plan``; writing
it is the report layer's job."""

from __future__ import annotations

import time
from collections.abc import Collection
from concurrent.futures import Executor

import geopandas as gpd
import pandas as pd

from layoutopt.data.dataset import load_dataset
from layoutopt.decisions import read_decisions
from layoutopt.geo.travel import road_notes
from layoutopt.plan.executors import (
    default_workers,
    executor_choice,
    executor_record,
    region_executor,
)
from layoutopt.plan.province import complete
from layoutopt.plan.registry import selected
from layoutopt.plan.reuse import Earlier
from layoutopt.plan.runner import RegionalRunner, regions_table
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
    executor: str | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    shared: Executor | None = None,
    counties: Collection[str] | None = None,
    earlier: Earlier | None = None,
) -> Plan:
    """The scenario's plan. ``only`` picks programmes (default: those enabled);
    ``workers`` regions are solved at once (default: ``solver.workers``, else the cores) on
    ``executor`` ("processes" or "dask", default ``solver.executor``; ``scheduler``: a Dask
    cluster's address, default ``solver.scheduler``). ``shared``: an executor already open
    (a sweep's), used and left open. ``counties``: plan only these counties (region_id) of
    the data set. ``earlier``: a run whose final prices start this one's price searches,
    and (``--reuse``) whose regions are taken again where their inputs are unchanged."""
    started = time.perf_counter()
    progress = progress or Progress()
    programmes = selected(scenario, only)
    if workers is None:
        workers = scenario.solver.workers or default_workers()
    kind, address = executor_choice(scenario.solver, executor, scheduler)
    # Refuses fewer than one worker, or a missing Dask, before any work.
    pool = shared or region_executor(workers, kind, address, scenario.solver.scheduler_timeout_s)
    results: list[ProgrammeResult] = []
    try:
        progress.say(f"loading and checking {scenario.data}")
        dataset = load_dataset(scenario.data, scenario.validation, scenario.files)
        if counties is not None:
            dataset = dataset.of_counties(counties)
        scenario, figures = complete(scenario, dataset, [p.name for p in programmes])
        dataset.notes.extend(figures)
        dataset.notes.extend(road_notes(dataset, scenario.travel))
        for note in dataset.notes:
            progress.say(f"note: {note}")
        names = [p.name for p in programmes]
        # Every decision is checked before any solve; one that is refused stops the run.
        decisions = read_decisions(scenario.decisions, dataset, scenario, names)
        state = PlanState.start(dataset, scenario, decisions)
        runner = RegionalRunner(pool, scenario, progress, earlier)
        seconds = {}
        for programme in programmes:
            progress.programme(programme.name)
            began = time.perf_counter()
            result, state = runner.run(programme, state)
            results.append(result)
            seconds[programme.name] = round(time.perf_counter() - began, 1)
        execution = {**executor_record(pool, workers), "programme_seconds": seconds}
    finally:
        if shared is None:
            pool.shutdown(wait=True, cancel_futures=True)
    for note in earlier.notes if earlier else []:
        progress.say(f"note: {note}")
    for lost in execution.get("workers_lost", []):
        progress.say(
            f"note: Dask lost worker {lost['worker']}; ran again: "
            f"{', '.join(lost['rerun']) or 'nothing it was running'}"
        )
    return Plan(
        scenario=scenario,
        dataset=dataset,
        results=results,
        schools_after=final_schools(state, results),
        state=state,
        workers=workers,
        seconds=time.perf_counter() - started,
        execution=execution,
        reuse=earlier.record() if earlier else None,
    )


def final_schools(state: PlanState, results: list[ProgrammeResult]) -> gpd.GeoDataFrame | None:
    """Every section the programmes planned, as the ledger holds it (None where no
    programme planned schools)."""
    if not any(r.plans_schools for r in results):
        return None
    regions = regions_table(state)
    sections = state.ledger.sections_after(regions)
    sections = sections[sections["planned_by"] != ""].reset_index(drop=True)
    # Each programme's own columns (a vocational school's high-level flag, a
    # kindergarten's kind after the plan, a school kept as a teaching point), on the rows
    # of the sections it planned.
    for result in results:
        extra = list(result.section_columns) if result.plans_schools else []
        if not extra or result.schools_after is None:
            continue
        own = result.schools_after.set_index("school_id")[extra]
        mine = (sections["planned_by"] == result.programme).to_numpy()
        for column in extra:
            values = own[column].reindex(sections.loc[mine, "school_id"]).to_numpy()
            if column not in sections:
                sections[column] = pd.Series(pd.NA, index=sections.index, dtype=object)
            sections.loc[mine, column] = values
    columns = [c for c in sections.columns if c != "geometry"] + ["geometry"]
    return gpd.GeoDataFrame(sections[columns], geometry="geometry", crs=sections.crs)
