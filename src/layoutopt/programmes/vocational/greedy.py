"""The plan a planner would draw by hand, for comparison: merge every school below the
standard into its nearest kept neighbour with room.

Schools that may close and hold fewer than ``standard_students`` at the horizon in today's
network are taken smallest first (then by id). Each goes, whole, to the kept school of the
prefecture nearest to its students on average that can take them all under the stream
cap; if there is none it stays. Receivers then add the streams their new load needs, and
county centres below the standard are strengthened as in the plan. No new school, no
count target, no specialty rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from layoutopt.engine.problem import CLOSABLE
from layoutopt.programmes.flows import NO_SEAT
from layoutopt.scenario import VocationalSection


@dataclass(frozen=True)
class GreedyOutcome:
    public_kept: int
    below_standard_left: int
    streams_added: int
    travel_student_min: float  # daily one-way, seated students
    unseated: float
    merges: dict[str, str]  # closed school -> receiving school


def greedy_prefecture(
    places: pd.DataFrame,
    today: pd.DataFrame,
    travel: pd.DataFrame,
    section: VocationalSection,
    stream_size: int,
) -> GreedyOutcome:
    schools = places[places["kind"] == "school"].set_index("place_id")
    flows = today.copy()
    load = flows.groupby("place_id")["students"].sum().reindex(schools.index).fillna(0.0)
    minutes = travel.set_index(["place_id", "demand_id"])["minutes"]
    minutes = minutes[~minutes.index.duplicated()]
    small = (schools["status"] == CLOSABLE) & (load < section.standard_students)
    receivers = list(schools.index[~small])
    merges: dict[str, str] = {}
    for school in sorted(schools.index[small], key=lambda s: (load[s], s)):
        mine = flows[flows["place_id"] == school]
        target = _nearest_with_room(mine, receivers, schools, load, minutes, stream_size)
        if target is None and not mine.empty:
            continue
        merges[school] = target or NO_SEAT
        if target is not None:
            load[target] += load[school]
            moved = flows["place_id"] == school
            flows.loc[moved, "place_id"] = target
            flows.loc[moved, "minutes"] = [
                minutes.get((target, d), np.nan) for d in flows.loc[moved, "demand_id"]
            ]
        load[school] = 0.0
    is_open = ~schools.index.isin(list(merges))
    needed = np.ceil(load.to_numpy() / stream_size - 1e-9)
    base = schools["streams_open"].to_numpy()
    streams_after = np.where(is_open, np.maximum(base, needed), 0)
    held = schools["status"].to_numpy() != CLOSABLE
    below = is_open & ~held & (load.to_numpy() < section.standard_students)
    seated = flows[flows["place_id"] != NO_SEAT]
    return GreedyOutcome(
        public_kept=int(is_open.sum()),
        below_standard_left=int(below.sum()),
        streams_added=int((streams_after - schools["streams"].to_numpy())[is_open].sum()),
        travel_student_min=float((seated["students"] * seated["minutes"]).sum()),
        unseated=float(flows.loc[flows["place_id"] == NO_SEAT, "students"].sum()),
        merges=merges,
    )


def _nearest_with_room(mine, receivers, schools, load, minutes, stream_size) -> str | None:
    best, best_minutes = None, np.inf
    if mine.empty:
        return None
    for target in receivers:
        trip = np.array([minutes.get((target, d), np.nan) for d in mine["demand_id"]])
        if np.isnan(trip).any():
            continue
        room = schools.at[target, "limit"] * stream_size - load[target]
        if room < mine["students"].sum() - 1e-9:
            continue
        mean = float((trip * mine["students"]).sum() / mine["students"].sum())
        if mean < best_minutes - 1e-9:
            best, best_minutes = target, mean
    return best
