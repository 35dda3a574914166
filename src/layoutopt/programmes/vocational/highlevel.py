"""The provincial high-level vocational schools (省级高水平中职学校, plan column 7), picked
among the public schools the plan keeps.

Score (``vocational.high_level_score``, defaults in brackets) = students after the plan
÷ the standard's students × "students" (1) + specialty categories after the plan (own
and taken over) × "category" (0.25) + the school's tier value (provincial model 1,
municipal model 0.5): size first, then breadth, then quality. The pick takes the pinned
schools, then the best school of each prefecture that has none yet, then the best of the
rest until the number is reached. With the per-prefecture floor this is the largest total
score possible (a swap could only lower it), so no solver is needed.
"""

from __future__ import annotations

import pandas as pd

from layoutopt.data.specialties import codes
from layoutopt.scenario import VocationalSection


def score(schools: pd.DataFrame, section: VocationalSection) -> pd.Series:
    """Each school's score (by school_id)."""
    weights = section.high_level_score
    breadth = schools["specialties_after"].map(lambda cell: len(codes(cell)))
    tier = schools["quality_tier"].map(weights).fillna(0.0)
    size = schools["students_after"] / section.standard_students
    value = weights.get("students", 0.0) * size + weights.get("category", 0.0) * breadth + tier
    return pd.Series(value.round(4).to_numpy(), index=schools["school_id"].to_numpy())


def rule(section: VocationalSection) -> str:
    """The score in words, for the change rows."""
    w = section.high_level_score
    tiers = ", ".join(f"{k} {v:g}" for k, v in w.items() if k not in ("students", "category"))
    return (
        f"students after ÷ {section.standard_students:,} × {w.get('students', 0):g} "
        f"+ categories × {w.get('category', 0):g} + tier ({tiers})"
    )


def pick(schools: pd.DataFrame, section: VocationalSection) -> pd.DataFrame:
    """school_id, prefecture_id, score, rank (1 = best) of the picked schools, best first."""
    kept = schools[
        schools["open"].astype(bool)
        & (schools["ownership"] == "public")
        & ~schools["school_id"].isin(section.high_level_exclude)
    ].copy()
    kept["score"] = score(kept, section).to_numpy()
    kept = kept.sort_values(["score", "school_id"], ascending=[False, True])
    chosen = [s for s in section.high_level_pin if s in set(kept["school_id"])]
    for _, mine in kept.groupby("prefecture_id", sort=True):
        if not set(mine["school_id"]) & set(chosen):
            chosen.append(str(mine["school_id"].iloc[0]))
    for school_id in kept["school_id"]:
        if len(chosen) >= section.high_level_schools:
            break
        if school_id not in chosen:
            chosen.append(school_id)
    out = kept.set_index("school_id").loc[chosen, ["prefecture_id", "score"]].reset_index()
    out = out.sort_values(["score", "school_id"], ascending=[False, True], ignore_index=True)
    out["rank"] = range(1, len(out) + 1)
    return out
