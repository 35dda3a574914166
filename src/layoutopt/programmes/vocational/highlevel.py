"""The provincial high-level vocational schools (省级高水平中职学校, plan column 7), picked
among the public schools the plan keeps.

Score = students after the plan / the standard's students + 0.25 × specialty categories
after the plan (own and taken over) + 1 for a provincial-model tier, 0.5 for a
municipal-model one: size first, then breadth, then quality. The pick takes the pinned
schools, then the best school of each prefecture that has none yet, then the best of the
rest until the number is reached. With the per-prefecture floor this is the largest total
score possible (a swap could only lower it), so no solver is needed.
"""

from __future__ import annotations

import pandas as pd

from layoutopt.data.specialties import codes
from layoutopt.scenario import VocationalSection

TIER_SCORE = {"provincial_model": 1.0, "municipal_model": 0.5}
BREADTH = 0.25  # score per specialty category


def score(schools: pd.DataFrame, section: VocationalSection) -> pd.Series:
    """Each school's score (by school_id)."""
    breadth = schools["specialties_after"].map(lambda cell: len(codes(cell)))
    tier = schools["quality_tier"].map(TIER_SCORE).fillna(0.0)
    value = schools["students_after"] / section.standard_students + BREADTH * breadth + tier
    return pd.Series(value.round(4).to_numpy(), index=schools["school_id"].to_numpy())


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
