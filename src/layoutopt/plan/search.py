"""The search for a price that steers a province-wide count into its range."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from layoutopt.programmes.base import CountTarget, RegionOutcome, RegionSolves

Results = dict[str, tuple[RegionSolves, RegionOutcome]]
# evaluate(price, kept): every region's solves and outcome at that price; the regions in
# ``kept`` are taken as they are, not solved again.
Evaluate = Callable[[float | None, Results], Results]


def search_price(target: CountTarget, evaluate: Evaluate) -> tuple[Results, dict[str, Any]]:
    """The price per counted item at which the province's count falls in the range, the
    plans at that price, and the trace of prices tried (for the manifest).

    Secant steps toward the middle of the range (at most four times the last step) until
    the count is bracketed, then bisection; the count is a step function of the price,
    so the search ends as soon as a count falls in the range. A region whose plan is the
    same at both ends of a bracket is optimal at every price between: it is not solved
    again."""
    lo, hi = target.lo, target.hi
    middle = (lo + hi) / 2
    trace: list[dict] = []

    def run(price: float, reuse: dict) -> tuple[float, int, dict]:
        plans = evaluate(price, reuse)
        count = sum(int(o.counts[target.count]) for _, o in plans.values())
        solved = len(plans) - len(reuse)
        trace.append(
            {f"price_{target.unit}": round(price, 2), target.count: count, "regions_solved": solved}
        )
        return price, count, plans

    def found(point: tuple[float, int, dict]) -> tuple[dict, dict[str, Any]]:
        return point[2], {f"price_{target.unit}": point[0], "price_search": trace}

    points = [run(target.start, {})]
    step = target.step
    while len(trace) < target.evaluations:
        price, count, _ = points[-1]
        if lo <= count <= hi:
            return found(points[-1])
        below = [p for p in points if p[1] < lo]
        above = [p for p in points if p[1] > hi]
        if below and above:  # bracketed: a higher price gives fewer projects
            low = max(above, key=lambda p: p[0])  # highest price still above the range
            high = min(below, key=lambda p: p[0])  # lowest price already below it
            same = {
                r: low[2][r]
                for r in low[2]
                if np.array_equal(low[2][r][0].plan.is_open, high[2][r][0].plan.is_open)
            }
            points.append(run((low[0] + high[0]) / 2, same))
            continue
        if len(points) == 1:
            step = target.step if count > hi else -target.step
        elif points[-1][1] != points[-2][1]:
            (p0, c0, _), (p1, c1, _) = points[-2], points[-1]
            secant = (middle - c1) * (p1 - p0) / (c1 - c0)
            step = float(np.clip(abs(secant), abs(step), 4 * abs(step))) * np.sign(step)
        else:
            step *= 2
        points.append(run(price + step, {}))
    best = min(points, key=lambda p: max(lo - p[1], p[1] - hi, 0))
    trace.append({"note": "evaluation budget spent before the count fell in the range"})
    return found(best)
