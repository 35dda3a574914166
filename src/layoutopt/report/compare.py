"""What changed between two runs, and why: the scenario keys and review decisions that
differ, the schools whose recommended action differs (with the students each run moves),
and the KPIs side by side. Reads the folders ``layoutopt plan`` (or a sweep's variant)
wrote; only the programmes both runs planned are compared."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from layoutopt.errors import LayoutoptError

NONE = "(no action in this run)"  # the run proposes nothing for the school
NOT_DECIDED = "(no decision)"
KEYS = ["programme", "indicator", "scope", "scope_id"]


def read_table(run: Path, name: str, required: bool = True) -> pd.DataFrame | None:
    """A run's CSV as text, exactly as written (ids keep their leading zeros)."""
    path = run / name
    if not path.is_file():
        if not required:
            return None
        raise LayoutoptError(
            f"{path}: not found (fix: give a folder written by `layoutopt plan` or a sweep)"
        )
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def read_manifest(run: Path) -> dict[str, Any]:
    path = run / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def school_actions(changes: pd.DataFrame) -> pd.DataFrame:
    """Each school's actions by programme, joined with ';' (a school may have several),
    and the students (children, pupils) its rows move."""
    rows = changes[changes["school_id"] != ""]
    moved = pd.to_numeric(rows.get("students_moved", pd.Series(0, index=rows.index)))
    return (
        rows.assign(moved=moved.fillna(0.0))
        .groupby(["programme", "school_id"], sort=True)
        .agg(
            school_name=("school_name", "first"),
            county=("county", "first"),
            action=("action", lambda a: ";".join(sorted(set(a)))),
            students_moved=("moved", "sum"),
        )
        .reset_index()
    )


def changed_schools(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Schools whose actions differ between run A's and run B's changes, by programme, with
    the students each run's rows of the school move; schools whose actions are the same in
    both runs are not listed."""
    both = school_actions(a).merge(
        school_actions(b), on=["programme", "school_id"], how="outer", suffixes=("_a", "_b")
    )
    for column in ("action_a", "action_b"):
        both[column] = both[column].fillna(NONE)
    for column in ("students_moved_a", "students_moved_b"):
        both[column] = both[column].fillna(0.0).round().astype("int64")
    for column in ("school_name", "county"):
        both[column] = both[f"{column}_a"].fillna(both[f"{column}_b"])
    differ = both[both["action_a"] != both["action_b"]]
    columns = [
        "programme",
        "school_id",
        "school_name",
        "county",
        "action_a",
        "action_b",
        "students_moved_a",
        "students_moved_b",
    ]
    return differ[columns].sort_values(["programme", "school_id"]).reset_index(drop=True)


def kpis_side_by_side(a: pd.DataFrame, b: pd.DataFrame, scope: str = "province") -> pd.DataFrame:
    """Run A's and run B's figures of every KPI at ``scope``, with ``changed`` = yes where
    the target, plan or verdict differ."""
    figures = ["baseline", "target", "planned", "met"]
    pick = [*KEYS, *figures]
    both = a.loc[a["scope"] == scope, pick].merge(
        b.loc[b["scope"] == scope, pick], on=KEYS, how="outer", suffixes=("_a", "_b")
    )
    both = both.fillna("")
    same = pd.Series(True, index=both.index)
    for figure in ("target", "planned", "met"):
        same &= both[f"{figure}_a"] == both[f"{figure}_b"]
    both["changed"] = (~same).map({True: "yes", False: "no"})
    columns = [*KEYS, *(f"{f}_{r}" for f in figures for r in "ab"), "changed"]
    return both[columns].reset_index(drop=True)


def _flat(tree: Any, prefix: str = "") -> dict[str, str]:
    """A resolved scenario as dotted keys and their values as text."""
    if isinstance(tree, dict):
        out: dict[str, str] = {}
        for key, value in tree.items():
            out |= _flat(value, f"{prefix}{key}.")
        return out
    return {prefix[:-1]: json.dumps(tree, ensure_ascii=False, sort_keys=True)}


def scenario_differences(a: dict[str, Any], b: dict[str, Any]) -> pd.DataFrame:
    """The scenario keys whose resolved values differ between two manifests."""
    flat_a, flat_b = _flat(a.get("scenario", {})), _flat(b.get("scenario", {}))
    rows = [
        (key, flat_a.get(key, "(not set)"), flat_b.get(key, "(not set)"))
        for key in sorted(set(flat_a) | set(flat_b))
        if flat_a.get(key) != flat_b.get(key)
    ]
    return pd.DataFrame(rows, columns=["key", "value_a", "value_b"])


def decision_differences(a: pd.DataFrame | None, b: pd.DataFrame | None) -> pd.DataFrame:
    """The review decisions (each run's decisions.csv) that one run has and the other has
    not, or has otherwise."""
    columns = ["programme", "school_id", "decision_a", "decision_b"]

    def said(table: pd.DataFrame | None) -> pd.DataFrame:
        if table is None or table.empty:
            return pd.DataFrame(columns=["programme", "school_id", "decision"])
        target = table["target_id"].where(table["target_id"] == "", " " + table["target_id"])
        return table.assign(decision=table["decision"] + target)[
            ["programme", "school_id", "decision"]
        ]

    both = said(a).merge(said(b), on=["programme", "school_id"], how="outer", suffixes=("_a", "_b"))
    both = both.fillna(NOT_DECIDED)
    differ = both[both["decision_a"] != both["decision_b"]]
    return differ[columns].sort_values(["programme", "school_id"]).reset_index(drop=True)


@dataclass
class Comparison:
    schools: pd.DataFrame
    kpis: pd.DataFrame
    scenario: pd.DataFrame
    decisions: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def compare_runs(run_a: Path, run_b: Path) -> Comparison:
    """Two run folders compared on the programmes both planned."""
    changes_a, changes_b = read_table(run_a, "changes.csv"), read_table(run_b, "changes.csv")
    kpis_a, kpis_b = read_table(run_a, "kpis.csv"), read_table(run_b, "kpis.csv")
    assert changes_a is not None and changes_b is not None
    assert kpis_a is not None and kpis_b is not None
    manifest_a, manifest_b = read_manifest(run_a), read_manifest(run_b)
    ran_a = set(manifest_a.get("programmes_run", changes_a["programme"].unique()))
    ran_b = set(manifest_b.get("programmes_run", changes_b["programme"].unique()))
    warnings = []
    apart = ran_a ^ ran_b
    if apart:
        warnings.append(
            f"the runs planned different programmes (A: {', '.join(sorted(ran_a)) or 'none'}; "
            f"B: {', '.join(sorted(ran_b)) or 'none'}): only those both planned are compared, "
            f"{', '.join(sorted(apart))} left out"
        )

    def common(table: pd.DataFrame) -> pd.DataFrame:
        return table[~table["programme"].isin(apart)]

    return Comparison(
        schools=changed_schools(common(changes_a), common(changes_b)),
        kpis=kpis_side_by_side(common(kpis_a), common(kpis_b)),
        scenario=scenario_differences(manifest_a, manifest_b),
        decisions=decision_differences(
            read_table(run_a, "decisions.csv", required=False),
            read_table(run_b, "decisions.csv", required=False),
        ),
        warnings=warnings,
    )
