"""Run a scenario: load and check the data, run each programme, write the outputs whole."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from layoutopt.data.dataset import Dataset, load_dataset
from layoutopt.errors import LayoutoptError
from layoutopt.results import ProgrammeResult
from layoutopt.scenario import Scenario, resolved
from layoutopt.versions import software_versions

Programme = Callable[[Dataset, Scenario], ProgrammeResult]

# Programmes in the order they run; later issues add to this registry.
PROGRAMMES: dict[str, Programme] = {}
KNOWN_PROGRAMMES = ("highschool", "kindergarten", "vocational", "boarding", "staffing")

Progress = Callable[[str], None]


def selected_programmes(scenario: Scenario, only: list[str] | None) -> list[str]:
    unknown = sorted(set(only or []) - set(KNOWN_PROGRAMMES))
    if unknown:
        raise LayoutoptError(
            f"unknown programme(s) {', '.join(unknown)} "
            f"(fix: choose from {', '.join(KNOWN_PROGRAMMES)})"
        )
    names = only or [n for n in KNOWN_PROGRAMMES if getattr(scenario, n).enabled]
    return [n for n in KNOWN_PROGRAMMES if n in names]


def run_plan(
    scenario: Scenario,
    out: Path,
    *,
    only: list[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the scenario and write its outputs into ``out`` (replaced whole)."""
    say = progress or (lambda _msg: None)
    names = selected_programmes(scenario, only)
    say(f"loading and checking {scenario.data}")
    dataset = load_dataset(scenario.data, scenario.validation, scenario.files)
    results: list[ProgrammeResult] = []
    pending = []
    for name in names:
        if name not in PROGRAMMES:
            pending.append(name)
            continue
        say(f"running programme {name}")
        results.append(PROGRAMMES[name](dataset, scenario))
    manifest = build_manifest(scenario, dataset, results, pending)
    write_outputs(out, {"manifest.json": json.dumps(manifest, ensure_ascii=False, indent=2)})
    return manifest


def build_manifest(
    scenario: Scenario, dataset: Dataset, results: list[ProgrammeResult], pending: list[str]
) -> dict[str, Any]:
    return {
        "scenario": resolved(scenario),
        "scenario_file": str(scenario.source) if scenario.source else None,
        "inputs": {
            name: {"file": str(src.path), "layer": src.layer, "sha256": _sha256(src.path)}
            for name, src in sorted(dataset.sources.items())
        },
        "versions": software_versions(),
        "programmes_run": [r.programme for r in results],
        "programmes_not_yet_available": pending,
        "solves": [asdict(s) for r in results for s in r.solves],
        "notes": dataset.notes,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_outputs(out: Path, files: dict[str, str]) -> None:
    """Write all files into a staging folder, then swap it in: whole or not at all."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    staging.chmod(0o755)  # mkdtemp makes a private folder; outputs are for sharing
    try:
        for name, text in files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
