"""Run a scenario: load and check the data, run each programme, write the outputs whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from layoutopt.data.dataset import Dataset, load_dataset
from layoutopt.data.io import atomic_write_text, replace_folder, sha256_file
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
            name: {"file": str(src.path), "layer": src.layer, "sha256": sha256_file(src.path)}
            for name, src in sorted(dataset.sources.items())
        },
        "versions": software_versions(),
        "programmes_run": [r.programme for r in results],
        "programmes_not_yet_available": pending,
        "solves": [asdict(s) for r in results for s in r.solves],
        "notes": dataset.notes,
    }


def write_outputs(out: Path, files: dict[str, str]) -> None:
    """Write every file of a run, whole or not at all."""

    def fill(folder: Path) -> None:
        for name, text in files.items():
            atomic_write_text(folder / name, text if text.endswith("\n") else text + "\n")

    replace_folder(out, fill)
