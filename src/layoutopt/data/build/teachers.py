"""Synthetic teachers by school and subject group, adding up to each school's ``teachers``.

Each school's teachers are shared among subject groups by its level's mix (the calibration
file's `[teachers.mix]`, an assumption read from the 2022 compulsory curriculum plan's
class hours), blended by section for combined schools, with a little seeded noise. Rural
schools (hosted by a village or a town centre) have only a share of the PE, arts and
mental-health teachers the mix would give them (`rural_share`); the posts they lack go to
Chinese, maths and "other", so rural schools are short in some subjects and over in others,
as the plan describes (9.(3)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layoutopt.data.build.common import largest_remainder
from layoutopt.data.calibration import Calibration

SUBJECTS = ("chinese", "maths", "english", "science", "humanities", "pe", "arts", "it")
SUBJECTS += ("mental_health", "vocational", "preschool", "other")
# Where the teachers a rural school lacks in the short subjects are counted instead.
SURPLUS_SUBJECTS = ("chinese", "maths", "other")
SECTION_LEVELS = {
    "primary_enrolment": "primary",
    "junior_enrolment": "junior",
    "senior_enrolment": "senior_high",
}
NOISE = 0.15  # log-normal spread of a school's subject shares


def make_teachers(
    schools: pd.DataFrame, demand: pd.DataFrame, cal: Calibration, seed: int
) -> pd.DataFrame:
    """school_id, subject, teachers: one row per school and subject group it has."""
    spec = cal.teachers
    if spec is None:
        return pd.DataFrame(columns=["school_id", "subject", "teachers"])
    rng = np.random.default_rng([seed, 17])
    host_kind = demand.set_index("demand_id")["kind"].reindex(schools["demand_id"]).to_numpy()
    mixes = _mixes(schools, spec.mix)
    rural = np.isin(host_kind, ("village", "town"))
    short = np.array([spec.rural_share.get(s, 1.0) for s in SUBJECTS])
    mixes[rural] = _move_to_surplus(mixes[rural], short)
    mixes *= rng.lognormal(0.0, NOISE, mixes.shape)
    counts = np.vstack(
        [
            largest_remainder(mix, int(total))
            for mix, total in zip(mixes, schools["teachers"], strict=True)
        ]
    )
    table = pd.DataFrame(counts, columns=list(SUBJECTS))
    table["school_id"] = schools["school_id"].to_numpy()
    long = table.melt(id_vars="school_id", var_name="subject", value_name="teachers")
    long = long[long["teachers"] > 0]
    order = {s: k for k, s in enumerate(SUBJECTS)}
    long = long.assign(order=long["subject"].map(order)).sort_values(["school_id", "order"])
    return long[["school_id", "subject", "teachers"]].reset_index(drop=True)


def _mixes(schools: pd.DataFrame, mix: dict[str, dict[str, float]]) -> np.ndarray:
    """Each school's subject shares: its level's, or its sections' blended by enrolment."""

    def row(level: str) -> np.ndarray:
        shares = np.array([mix.get(level, {}).get(s, 0.0) for s in SUBJECTS])
        return shares / shares.sum() if shares.sum() else np.eye(len(SUBJECTS))[-1]

    out = np.vstack([row(level) for level in schools["level"]])
    sections = [c for c in SECTION_LEVELS if c in schools.columns]
    weights = schools[sections].to_numpy(float)
    combined = schools["level"].isin(["nine_year", "complete_secondary"]).to_numpy()
    combined = combined & (weights.sum(axis=1) > 0)
    blended = weights @ np.vstack([row(SECTION_LEVELS[c]) for c in sections])
    out[combined] = blended[combined] / weights[combined].sum(axis=1, keepdims=True)
    return out


def _move_to_surplus(mixes: np.ndarray, short: np.ndarray) -> np.ndarray:
    """Scale the short subjects down and give what they lose to the surplus subjects."""
    kept = mixes * short
    lost = (mixes - kept).sum(axis=1, keepdims=True)
    surplus = np.isin(SUBJECTS, SURPLUS_SUBJECTS)
    base = mixes[:, surplus]
    share = base / np.maximum(base.sum(axis=1, keepdims=True), 1e-12)
    kept[:, surplus] += lost * share
    return kept
