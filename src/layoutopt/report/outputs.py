"""Write every output of a run: tables and manifest in one folder, maps in another."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from layoutopt.data.io import atomic_write_text, replace_folder, write_layer
from layoutopt.decisions import COLUMNS as DECISION_COLUMNS
from layoutopt.plan.reuse import STORE, write_store
from layoutopt.report.audit import audit, summarise
from layoutopt.report.background import FILE as BACKGROUND_FILE
from layoutopt.report.background import background_js
from layoutopt.report.ledger_tables import beds_table, flows_table
from layoutopt.report.manifest import build_manifest
from layoutopt.report.maps import review_map
from layoutopt.report.summary import summary_lines
from layoutopt.report.tables import csv_text
from layoutopt.report.workbook import plan_workbook
from layoutopt.results import (
    CHANGE_COLUMNS,
    KPI_COLUMNS,
    SCHOOL_AFTER_COLUMNS,
    Plan,
    ProgrammeResult,
)


def combined(results: list[ProgrammeResult], attribute: str, columns: list[str]) -> pd.DataFrame:
    frames = [getattr(r, attribute) for r in results if getattr(r, attribute) is not None]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


AUDIT_SHOWN = 50  # violations listed in the manifest (``layoutopt audit`` lists them all)


def _json(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, ensure_ascii=False, indent=2, default=str) + "\n"


def ledger_tables(plan: Plan) -> dict[str, pd.DataFrame]:
    """The ledger's tables written beside changes.csv: the flows, and the beds where a
    programme places boarders."""
    tables = {"flows.csv": flows_table(plan)}
    beds = beds_table(plan)
    if len(beds):
        tables["beds.csv"] = beds
    return tables


def write_plan(
    plan: Plan, out: Path, maps_dir: Path | None = None, say: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Write a plan's tables and manifest into ``out`` and its maps into ``maps_dir``
    (default ``out/maps``), each folder whole or not at all; returns the manifest."""
    manifest = build_manifest(plan)
    heading = plan.scenario.title or plan.scenario.name
    maps = maps_dir if maps_dir is not None else out / "maps"
    write_run(out, maps, plan, manifest, heading, say or (lambda _msg: None))
    return manifest


def write_run(
    out: Path,
    maps_dir: Path,
    plan: Plan,
    manifest: dict[str, Any],
    heading: str,
    say: Callable[[str], None],
) -> None:
    """Fill ``out`` (and ``maps_dir``) whole or not at all."""
    results, regions = plan.results, plan.dataset.regions
    maps = {f"{r.programme}.html": r for r in results if r.schools_after is not None}
    extra = ledger_tables(plan) | {name: table for r in results for name, table in r.tables.items()}
    manifest["outputs"] = {
        "tables": ["changes.csv", "kpis.csv", *sorted(extra), "plan.xlsx", "manifest.json"]
        + (["decisions.csv"] if plan.state.decisions.file is not None else [])
        + (["schools_after.csv", "schools_after.gpkg"] if maps else []),
        "maps": [str(maps_dir / name) for name in sorted(maps)],
        "solved_regions": f"{STORE}/<programme>.pkl (for plan --reuse)",
    }

    def fill_maps(folder: Path) -> None:
        if maps:
            say("drawing the offline background of the maps")
            atomic_write_text(folder / BACKGROUND_FILE, background_js(plan.dataset))
        for name, result in maps.items():
            say(f"drawing map {name}")
            title = f"{heading} · {result.title}"
            decided = plan.state.decisions.of(result.programme)
            atomic_write_text(folder / name, review_map(result, regions, title, decided))

    def fill_tables(folder: Path) -> None:
        changes = combined(results, "changes", CHANGE_COLUMNS)
        kpis = combined(results, "kpis", KPI_COLUMNS)
        atomic_write_text(folder / "changes.csv", csv_text(changes), bom=True)
        atomic_write_text(folder / "kpis.csv", csv_text(kpis), bom=True)
        for name, table in sorted(extra.items()):
            atomic_write_text(folder / name, csv_text(table), bom=True)
        decided = plan.state.decisions.table
        if plan.state.decisions.file is not None:
            # The decisions the plan took, beside it: `compare` reads them.
            atomic_write_text(
                folder / "decisions.csv", csv_text(decided[DECISION_COLUMNS]), bom=True
            )
        (folder / "plan.xlsx").write_bytes(plan_workbook(plan, kpis, manifest, extra))
        # Each region's solves, for a later `plan --reuse` of this folder.
        write_store(folder, {r.programme: r.regions for r in results if r.regions})
        schools = plan.schools_after
        if schools is not None:
            table = pd.DataFrame(schools.drop(columns="geometry"))
            table["lon"] = schools.geometry.x.round(6)
            table["lat"] = schools.geometry.y.round(6)
            atomic_write_text(folder / "schools_after.csv", csv_text(table), bom=True)
            write_layer(
                schools,
                folder / "schools_after.gpkg",
                "schools_after",
                metadata={"columns": ", ".join(SCHOOL_AFTER_COLUMNS)},
            )
        manifest["summary"] = summary_lines(plan, extra.get("beds.csv"))
        # The audit reads the tables as written, before the manifest that records it.
        atomic_write_text(folder / "manifest.json", _json(manifest))
        violations = audit(folder)
        manifest["audit"] = {
            "violations": summarise(violations),
            "first": [asdict(v) for v in violations[:AUDIT_SHOWN]],
        }
        if maps_dir.resolve().is_relative_to(out.resolve()):
            fill_maps(folder / maps_dir.resolve().relative_to(out.resolve()))
        else:
            replace_folder(maps_dir, fill_maps)
        text = _json(manifest)
        atomic_write_text(folder / "manifest.json", text)

    replace_folder(out, fill_tables)
