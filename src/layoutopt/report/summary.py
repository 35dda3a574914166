"""The closing lines of a run: what a planning officer must look at first, then where the
outputs are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from layoutopt.results import Plan

SHOWN = 8  # names listed before "and N more"


def summary_lines(plan: Plan, beds: pd.DataFrame | None) -> list[str]:
    """What a planning officer must look at first: targets missed, shortfall rows and
    boarders left without a bed, programme by programme (kept in the manifest)."""
    lines = []
    for result in plan.results:
        lines += _missed(result.programme, result.kpis)
        lines += _shortfalls(result.programme, result.changes)
        if beds is not None and len(beds):
            lines += _beds_short(result.programme, beds)
    return lines


def closing_lines(plan: Plan, manifest: dict[str, Any], out: Path) -> list[str]:
    lines = list(manifest.get("summary", []))
    lines += _audit(manifest.get("audit"))
    lines += _solves(manifest["solves"])
    lines.append(f"  tables and manifest: {out}/")
    lines += [f"  map: {path}" for path in manifest["outputs"]["maps"]]
    return lines


def _beds_short(programme: str, beds: pd.DataFrame) -> list[str]:
    mine = beds[(beds["programme"] == programme) & (beds["region_id"] != "all")]
    short = mine[mine["beds_short_after"].fillna(0) > 0]
    if short.empty:
        return []
    counties = sorted(short["county"].astype(str))
    shown = "、".join(counties[:SHOWN])
    more = f" and {len(counties) - SHOWN} more" if len(counties) > SHOWN else ""
    total = int(short["beds_short_after"].sum())
    return [
        f"  {programme}: boarders without a bed after the plan: {total:,} in {len(counties)} "
        f"counties: {shown}{more} (beds.csv, kpis.csv beds_short_after)"
    ]


def _audit(audit: dict[str, Any] | None) -> list[str]:
    if not audit:
        return []
    counts = audit["violations"]
    total = sum(counts.values())
    if not total:
        return [f"  audit: 0 violations of {len(counts)} invariants (layoutopt audit)"]
    bad = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
    return [f"  audit: {total} violation(s): {bad} (manifest.json audit; layoutopt audit)"]


def _missed(programme: str, kpis: pd.DataFrame) -> list[str]:
    if kpis.empty:
        return []
    missed = kpis[kpis["met"] == "no"]
    province = missed[missed["scope"] == "province"]
    lines = [
        f"  target missed: {programme} {r.indicator} planned {r.planned} against {r.target}"
        for r in province.itertuples()
    ]
    counties = missed[missed["scope"] == "county"]
    if len(counties):
        lines.append(
            f"  {programme}: {len(counties)} county target(s) missed in "
            f"{counties['scope_id'].nunique()} counties (kpis.csv, met = no)"
        )
    return lines


def _shortfalls(programme: str, changes: pd.DataFrame) -> list[str]:
    if changes.empty:
        return []
    rows = changes[changes["action"] == "shortfall"]
    if rows.empty:
        return []
    # A prefecture's own row (a prefecture programme's) names no county: say the prefecture.
    places = (
        rows["county"]
        .fillna("")
        .astype(str)
        .where(rows["county"].fillna("") != "", rows["prefecture"].astype(str))
    )
    counties = sorted(set(places))
    shown = "、".join(counties[:SHOWN])
    more = f" and {len(counties) - SHOWN} more" if len(counties) > SHOWN else ""
    return [
        f"  {programme}: shortfall rows in {len(counties)} counties or prefectures: "
        f"{shown}{more} (changes.csv, action = shortfall)"
    ]


def _solves(solves: list[dict]) -> list[str]:
    if not solves:
        return []
    statuses: dict[str, int] = {}
    for s in solves:
        statuses[s["status"]] = statuses.get(s["status"], 0) + 1
    worst = max((s["gap"] or 0.0) for s in solves)
    seconds = sum(s["seconds"] for s in solves)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    lines = [f"  solves: {counts}; largest gap {worst:.2%}; {seconds:.1f} s in the solver"]
    odd = [s for s in solves if s["status"] != "optimal"]
    for s in odd[:SHOWN]:
        gap = "" if s["gap"] is None else f", gap {s['gap']:.2%}"
        lines.append(f"  not optimal: {s['name']} {s['status']}{gap}")
    if len(odd) > SHOWN:
        lines.append(f"  … and {len(odd) - SHOWN} more not optimal (manifest.json, solves)")
    return lines
