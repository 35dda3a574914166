"""Whether a KPI meets its target."""

from __future__ import annotations

import numpy as np

from layoutopt.programmes.base import Kpi


def met(kpi: Kpi) -> str:
    """ "yes" or "no" against the target by the KPI's rule; "" where there is none."""
    planned, target = kpi.planned, kpi.target
    if kpi.rule is None or target is None or planned is None or np.isnan(planned):
        return ""
    ok = {
        "at_most": planned <= target + kpi.tolerance,
        "at_least": planned >= target - kpi.tolerance,
        "above": planned > target,
        "equal": abs(planned - target) <= 0.5,
    }[kpi.rule]
    return "yes" if ok else "no"
