"""What changed between two runs: schools whose recommended action differs, and the KPIs
side by side. Reads the folders ``layoutopt plan`` (or a sweep's variant) wrote."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from layoutopt.errors import LayoutoptError

NONE = "(no change)"
KEYS = ["programme", "indicator", "scope", "scope_id"]


def read_table(run: Path, name: str) -> pd.DataFrame:
    """A run's CSV as text, exactly as written (ids keep their leading zeros)."""
    path = run / name
    if not path.is_file():
        raise LayoutoptError(
            f"{path}: not found (fix: give a folder written by `layoutopt plan` or a sweep)"
        )
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def school_actions(changes: pd.DataFrame) -> pd.DataFrame:
    """Each school's actions by programme, joined with ';' (a school may have several)."""
    rows = changes[changes["school_id"] != ""]
    return (
        rows.groupby(["programme", "school_id"], sort=True)
        .agg(
            school_name=("school_name", "first"),
            county=("county", "first"),
            action=("action", lambda a: ";".join(sorted(set(a)))),
        )
        .reset_index()
    )


def changed_schools(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Schools whose actions differ between run A's and run B's changes, by programme."""
    both = school_actions(a).merge(
        school_actions(b), on=["programme", "school_id"], how="outer", suffixes=("_a", "_b")
    )
    for column in ("action_a", "action_b"):
        both[column] = both[column].fillna(NONE)
    for column in ("school_name", "county"):
        both[column] = both[f"{column}_a"].fillna(both[f"{column}_b"])
    differ = both[both["action_a"] != both["action_b"]]
    columns = ["programme", "school_id", "school_name", "county", "action_a", "action_b"]
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


def compare_runs(run_a: Path, run_b: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(changed schools, province KPIs side by side) of two run folders."""
    schools = changed_schools(read_table(run_a, "changes.csv"), read_table(run_b, "changes.csv"))
    kpis = kpis_side_by_side(read_table(run_a, "kpis.csv"), read_table(run_b, "kpis.csv"))
    return schools, kpis
