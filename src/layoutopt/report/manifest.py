"""The manifest of a run: what went in, how it was solved, what came out."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from layoutopt.data.io import sha256_file
from layoutopt.results import Plan
from layoutopt.scenario import resolved
from layoutopt.versions import software_versions


def build_manifest(plan: Plan) -> dict[str, Any]:
    """Inputs' hashes, the scenario as resolved, versions, the programmes in the order they
    ran, and every solve that ran (each price of a search included) with its status and
    gap. Wall-clock figures are kept apart from the reproducible tables."""
    scenario, dataset = plan.scenario, plan.dataset
    return {
        "scenario": resolved(scenario),
        "scenario_file": str(scenario.source) if scenario.source else None,
        "inputs": {
            name: {"file": str(src.path), "layer": src.layer, "sha256": sha256_file(src.path)}
            for name, src in sorted(dataset.sources.items())
        },
        "decisions": plan.state.decisions.record(),
        "versions": software_versions(),
        "programmes_run": plan.programmes,
        "plan_state_order": list(plan.state.order),
        "run": {"workers": plan.workers, **plan.execution, "seconds": round(plan.seconds, 1)},
        # A solve of a region taken from an earlier run (`reuse`) is listed as it ran there.
        "reuse": plan.reuse,
        "solves": [asdict(s) for r in plan.results for s in r.solves],
        "programmes": {r.programme: r.summary for r in plan.results},
        "notes": dataset.notes,
        "ledger": ledger_record(plan),
    }


def ledger_record(plan: Plan) -> dict[str, Any]:
    """What the ledger's tables do not hold: the sites each programme took, and each
    county's prefecture (for the audit's roll-ups)."""
    ledger = plan.state.ledger
    taken = ledger.sites[ledger.sites["taken_by"] != ""]
    regions = plan.dataset.regions
    return {
        "sites_taken": [
            {"site_id": str(r.site_id), "programme": str(r.taken_by)} for r in taken.itertuples()
        ],
        "prefecture_of": dict(
            zip(
                regions["region_id"].astype(str),
                regions["prefecture_id"].astype(str),
                strict=True,
            )
        ),
    }
