"""Write a location problem's full model as an LP or MPS file that reads like the model:
``open[school]``, ``assign[settlement,school]``, ``capacity[school]``, ``serve[settlement]``.

MPS keeps these names as they are (Chinese ids included). The LP format accepts fewer
characters, so there brackets become parentheses and any other character it refuses an
underscore, or ``uXXXX`` when it is not ASCII: ``assign(140105_U0003,140105_KG013)``.
"""

from __future__ import annotations

import re
from pathlib import Path

import highspy
import numpy as np

from layoutopt.engine.backends import _highs_lp, _new_highs
from layoutopt.engine.model import build_model
from layoutopt.engine.problem import LocationProblem
from layoutopt.errors import LayoutoptError

SUFFIXES = (".lp", ".mps")


def write_model(problem: LocationProblem, path: Path) -> Path:
    """The whole model over every usable arc (no sparse restriction), in the format of
    ``path``'s suffix (.lp or .mps), written by HiGHS."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise LayoutoptError(f"{path}: a model file ends in .lp or .mps (fix: rename it)")
    usable = np.isnan(problem.arc_travel) | (
        problem.arc_travel <= problem.max_travel[problem.arc_demand]
    )
    model = build_model(problem, np.flatnonzero(usable), np.full(problem.n_demand, np.nan))
    lp = _highs_lp(model)
    columns, rows = model.column_names(), model.row_names()
    if path.suffix == ".lp":
        columns, rows = lp_names(columns), lp_names(rows)
    lp.col_names_ = columns
    lp.row_names_ = rows
    h = _new_highs()
    h.silent()
    h.passModel(lp)
    if h.writeModel(str(path)) != highspy.HighsStatus.kOk:
        raise LayoutoptError(f"{path}: HiGHS could not write the model")
    return path


LP_SAFE = re.compile(r"[A-Za-z0-9_.(),{}#~@&]")


def lp_names(names: list[str]) -> list[str]:
    """Names the LP writer accepts, kept distinct."""
    out, seen = [], set()
    for name in names:
        safe = "".join(_lp_char(c) for c in name.replace("[", "(").replace("]", ")"))
        while safe in seen:
            safe += "#"
        seen.add(safe)
        out.append(safe)
    return out


def _lp_char(c: str) -> str:
    if LP_SAFE.fullmatch(c):
        return c
    return f"u{ord(c):04x}" if ord(c) > 127 else "_"
