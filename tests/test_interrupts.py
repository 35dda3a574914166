"""Interrupted runs leave no staging folder behind: SIGTERM and Ctrl-C clean up on the way
out, and a run killed outright (SIGKILL) has its staging folder swept by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# A run that fills its output folder and is stopped while doing so.
RUN = """
import os, signal, sys, time
from pathlib import Path
from layoutopt.cli import _guarded
from layoutopt.data.io import replace_folder

out = Path(sys.argv[1])
how = sys.argv[2]
# Ctrl-C as at a terminal: a run started in the background (nohup, `&`) inherits SIGINT
# ignored, and Python keeps it so; the test would then wait out the sleep.
signal.signal(signal.SIGINT, signal.default_int_handler)

def fill(folder):
    (folder / "changes.csv").write_text("half", encoding="utf-8")
    (out.parent / "filling").write_text("", encoding="utf-8")
    if how == "self":
        os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(60)

try:
    _guarded(lambda: replace_folder(out, fill))
except Exception as done:  # typer.Exit, as the command line would end
    sys.exit(getattr(done, "exit_code", 2))
"""


def staging(out: Path) -> list[Path]:
    return list(out.parent.glob(f".{out.name}.*"))


def start(out: Path, how: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", RUN, str(out), how],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (out.parent / "filling").exists():
        assert time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    return process


def test_sigterm_while_writing_leaves_no_staging_folder(tmp_path):
    out = tmp_path / "out"
    process = start(out, "self")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "interrupted; no output was written" in err
    assert not staging(out) and not out.exists()


def test_sigint_from_outside_leaves_no_staging_folder(tmp_path):
    out = tmp_path / "out"
    process = start(out, "wait")
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 130
    assert not staging(out) and not out.exists()


def test_a_run_killed_outright_has_its_staging_swept_by_the_next(tmp_path):
    from layoutopt.data.io import replace_folder

    out = tmp_path / "out"
    process = start(out, "wait")
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    assert len(staging(out)) == 1  # SIGKILL cannot be handled
    replace_folder(out, lambda folder: (folder / "changes.csv").write_text("whole"))
    assert not staging(out)
    assert (out / "changes.csv").read_text() == "whole"
    assert not (out / ".layoutopt-owner").exists()


# Plans killed outright (SIGKILL) in the middle of a solve: their workers must end too. A
# sitecustomize module, which every Python process on PYTHONPATH imports at start, makes
# each worker's solve (HiGHS's startSolve) mark a flag and wait, so the kill lands inside
# a solve; the plan's own process (the first to start) solves as usual.
SLOW_SOLVES = """
import os

root = os.environ.setdefault("LAYOUTOPT_TEST_PLAN_PID", str(os.getpid()))
if root != str(os.getpid()):
    import time

    import highspy

    start = highspy.Highs.startSolve

    def slow(self, *args, **kwargs):
        flag = os.path.join(os.environ["LAYOUTOPT_TEST_FLAGS"], f"solving-{os.getpid()}")
        open(flag, "w").close()
        time.sleep(120)
        return start(self, *args, **kwargs)

    highspy.Highs.startSolve = slow
"""


def kill_mid_solve(tmp_path: Path, data: Path, executor: str) -> list:
    """Starts a 2-worker plan of the tiny province, kills it (SIGKILL) once a worker is in
    a solve, and returns the processes it had started (recorded before the kill)."""
    import psutil

    from conftest import TINY

    hook, flags = tmp_path / "hook", tmp_path / "flags"
    hook.mkdir()
    flags.mkdir()
    (hook / "sitecustomize.py").write_text(SLOW_SOLVES, encoding="utf-8")
    scenario = tmp_path / "tiny.toml"
    settings = TINY.format(cache=(tmp_path / "cache").as_posix(), projects="[0, 1000]")
    scenario.write_text(f'name = "t"\ndata = "{data.as_posix()}"\n{settings}', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "LAYOUTOPT_TEST_PLAN_PID"}
    path = os.pathsep.join(p for p in (str(hook), env.get("PYTHONPATH", "")) if p)
    env.update(PYTHONPATH=path, LAYOUTOPT_TEST_FLAGS=str(flags))
    command = "from layoutopt.cli import app; app()"
    args = ["plan", str(scenario), "--workers", "2", "--executor", executor]
    # Its output to a file, not a pipe: workers that outlive it would hold a pipe open.
    log = tmp_path / "plan.log"
    with log.open("wb") as output:
        plan = subprocess.Popen(
            [sys.executable, "-c", command, *args, "--out", str(tmp_path / "out")],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while not any(flags.iterdir()):
            assert plan.poll() is None, log.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "no worker started a solve in 120 s"
            time.sleep(0.1)
        started = psutil.Process(plan.pid).children(recursive=True)
    finally:
        plan.kill()
        plan.wait()
    solving = {int(flag.name.split("-")[1]) for flag in flags.iterdir()}
    assert solving <= {p.pid for p in started}  # the kill landed while they solved
    return started


def alive_after(processes: list, seconds: float) -> list[int]:
    """The processes still running (zombies aside) once `seconds` have passed, or as
    soon as none is."""
    import psutil

    def running(p) -> bool:
        try:
            return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + seconds
    while any(running(p) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in processes if running(p)]
    for p in left:  # leave nothing behind for the next test
        p.kill()
    return [p.pid for p in left]


def test_a_plan_killed_outright_takes_its_pool_workers_with_it(tiny_dataset_dir, tmp_path):
    started = kill_mid_solve(tmp_path, tiny_dataset_dir, "processes")
    assert len(started) >= 2  # two workers (and multiprocessing's resource tracker)
    assert alive_after(started, 10) == []


def test_a_plan_killed_outright_takes_its_dask_workers_with_it(tiny_dataset_dir, tmp_path):
    started = kill_mid_solve(tmp_path, tiny_dataset_dir, "dask")
    assert len(started) >= 2
    assert alive_after(started, 10) == []


# The guard's second line, as on a system without the parent-death signal: the worker's
# own thread sees its parent gone. The worker is a grandchild of the test: started by a
# parent that the test kills outright.
WATCHED = """
import os, sys, time, multiprocessing

def worker(parent, flag):
    from layoutopt.plan import executors

    executors._kill_me_when_parent_dies = lambda: None  # only the watching thread guards
    executors.end_with_parent(parent)
    open(flag, "w").write(str(os.getpid()))
    time.sleep(120)

if __name__ == "__main__":
    context = multiprocessing.get_context("spawn")
    context.Process(target=worker, args=(os.getpid(), sys.argv[1])).start()
    time.sleep(120)
"""


def test_a_worker_watches_its_parent_where_the_kernel_does_not(tmp_path):
    import psutil

    script, flag = tmp_path / "watched.py", tmp_path / "worker"
    script.write_text(WATCHED, encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script), str(flag)])
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() or not flag.read_text():
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.05)
        worker = psutil.Process(int(flag.read_text()))
    finally:
        parent.kill()
        parent.wait()
    assert alive_after([worker], 10) == []
