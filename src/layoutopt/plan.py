"""Run a scenario: load and check the data, run each programme, write the outputs whole."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from layoutopt.data.dataset import Dataset, load_dataset
from layoutopt.data.io import sha256_file
from layoutopt.errors import LayoutoptError
from layoutopt.programmes import highschool, kindergarten
from layoutopt.report.outputs import write_run
from layoutopt.results import ProgrammeResult
from layoutopt.scenario import Scenario, resolved
from layoutopt.versions import software_versions

Progress = Callable[[str], None]
Programme = Callable[[Dataset, Scenario, Progress], ProgrammeResult]

# Programmes in the order they run; later issues add to this registry.
PROGRAMMES: dict[str, Programme] = {"highschool": highschool.run, "kindergarten": kindergarten.run}
KNOWN_PROGRAMMES = ("highschool", "kindergarten", "vocational", "boarding", "staffing")


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
    maps_dir: Path | None = None,
    only: list[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the scenario; tables and manifest go to ``out``, maps to ``maps_dir`` (default
    ``out/maps``), each folder replaced whole or left untouched."""
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
        results.append(PROGRAMMES[name](dataset, scenario, say))
    manifest = build_manifest(scenario, dataset, results, pending)
    heading = scenario.title or scenario.name
    maps = maps_dir if maps_dir is not None else out / "maps"
    write_run(out, maps, results, dataset.regions, manifest, heading, say)
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
        "programmes": {r.programme: r.summary for r in results},
        "notes": dataset.notes,
    }
