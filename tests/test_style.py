"""The code stays ruff clean (lint and format), checked with the ruff of the test extra."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

RUFF = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))


@pytest.mark.skipif(
    not Path(RUFF).exists(), reason="ruff is not installed (pip install -e .[test])"
)
@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_clean(args):
    result = subprocess.run(
        [RUFF, *args, "src", "tests"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
