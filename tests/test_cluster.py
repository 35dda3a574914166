"""Regions on Dask distributed: the same outputs as the process pool, a lost worker's
region run again and named in the manifest, a clear message without Dask."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cloudpickle
import pytest
from distributed import Client, LocalCluster, WorkerPlugin

from conftest import run_plan, write_scenario
from layoutopt.errors import LayoutoptError
from layoutopt.plan import make_plan
from layoutopt.scenario import load_scenario

CSVS = ("changes.csv", "kpis.csv", "schools_after.csv")
SCENARIO = """
[solver]
executor = "{executor}"
scheduler = "{scheduler}"
scheduler_timeout_s = 2
[travel]
cache_dir = "{cache}"
[highschool]
plan_students = 0
"""

# The workers are fresh processes that cannot import this test module: send the plugin by
# value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


class DieOnFirstRegion(WorkerPlugin):
    """Kills its worker process the first time any worker starts a region (the flag file
    makes it once in the whole cluster, the restarted worker included)."""

    def __init__(self, flag: str) -> None:
        self.flag = flag

    def transition(self, key: str, start: str, finish: str, **kwargs: object) -> None:
        if finish != "executing" or "solve_region" not in str(key):
            return
        try:
            with open(self.flag, "x", encoding="utf-8") as first:
                first.write(str(key))
        except FileExistsError:
            return
        os._exit(1)  # as the kernel's OOM killer would: no goodbye to the scheduler


def scenario(tmp_path: Path, data: Path, executor: str, scheduler: str = "") -> object:
    text = SCENARIO.format(
        executor=executor, scheduler=scheduler, cache=(tmp_path / "cache").as_posix()
    )
    return load_scenario(write_scenario(tmp_path / f"{executor}.toml", data, text))


def test_a_worker_killed_mid_run_loses_no_region_and_the_outputs_are_the_pools(
    tiny_dataset_dir, tmp_path
):
    pool = run_plan(
        scenario(tmp_path, tiny_dataset_dir, "processes"),
        tmp_path / "pool",
        only=["highschool"],
        workers=2,
    )
    flag = tmp_path / "killed"
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"},  # as the planner's own cluster
        ) as cluster,
        Client(cluster) as client,
    ):
        client.register_plugin(DieOnFirstRegion(str(flag)))
        dask = run_plan(
            scenario(tmp_path, tiny_dataset_dir, "dask", cluster.scheduler_address),
            tmp_path / "dask",
            only=["highschool"],
            workers=2,
        )
    assert flag.exists(), "no worker was killed: the test did not test a lost worker"
    killed_key = flag.read_text(encoding="utf-8")
    run = dask["run"]
    assert run["executor"] == "dask" and run["scheduler"] == cluster.scheduler_address
    assert pool["run"]["executor"] == "processes"
    assert len(run["workers_lost"]) == 1
    # The manifest names the region the dead worker was solving, which ran again.
    rerun = run["workers_lost"][0]["rerun"]
    assert run["regions_rerun"] == len(rerun) >= 1
    assert any(killed_key.startswith("solve_region-" + r.replace(" ", "-")) for r in rerun)
    for name in CSVS:
        assert (tmp_path / "pool" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes()
    assert [s["name"] for s in pool["solves"]] == [s["name"] for s in dask["solves"]]


def test_without_dask_the_dask_executor_says_how_to_install_it(
    tiny_dataset_dir, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if absent
    with pytest.raises(LayoutoptError, match=r'pip install -e "\.\[dask\]"'):
        make_plan(scenario(tmp_path, tiny_dataset_dir, "dask"), only=["highschool"])


def test_an_unreachable_scheduler_is_named_with_the_fix(tiny_dataset_dir, tmp_path):
    sc = scenario(tmp_path, tiny_dataset_dir, "dask", "tcp://127.0.0.1:9")
    with pytest.raises(LayoutoptError, match=r"no Dask scheduler answered at tcp://127\.0\.0\.1:9"):
        make_plan(sc, only=["highschool"])


def test_a_scheduler_on_the_command_line_means_dask_and_the_scenarios_only_with_dask():
    from layoutopt.plan.executors import executor_choice
    from layoutopt.scenario import SolverSettings

    dask_there = SolverSettings(executor="dask", scheduler="tcp://h:8786")
    assert executor_choice(dask_there, None, None) == ("dask", "tcp://h:8786")
    assert executor_choice(dask_there, "processes", None) == ("processes", None)
    assert executor_choice(SolverSettings(), None, "tcp://x:1") == ("dask", "tcp://x:1")
    assert executor_choice(SolverSettings(), "dask", None) == ("dask", None)  # LocalCluster


def test_a_scheduler_without_the_dask_executor_is_refused_by_name(tiny_dataset_dir, tmp_path):
    text = '[solver]\nscheduler = "tcp://h:8786"\n'
    with pytest.raises(LayoutoptError, match=r"'solver.scheduler' \(tcp://h:8786\) is set but"):
        load_scenario(write_scenario(tmp_path / "s.toml", tiny_dataset_dir, text))
