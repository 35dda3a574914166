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
