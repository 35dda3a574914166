"""The plan a planner would draw by hand, for comparison: merge each small school into the
nearest school that has room.

Small closable schools are taken smallest first (then by id). Each goes, whole, to the
school that stays open and is nearest to its students on average, among those that can
take all of them under the stream cap and within every student's travel limit; if there
is none it stays. Receiving schools then add the streams their new load needs. Students
without a seat today stay without one: the greedy plan builds no new school.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from layoutopt.programmes.flows import NO_SEAT
from layoutopt.programmes.highschool.county import CountyPlan
from layoutopt.scenario import HighSchoolSection


@dataclass(frozen=True)
class GreedyOutcome:
    small_schools_left: int
    streams_added: int
    travel_student_min: float  # daily one-way, seated students
    unseated: float
    merges: dict[str, str]  # closed school -> receiving school


def greedy_county(
    plan: CountyPlan, today: pd.DataFrame, section: HighSchoolSection, stream_size: int
) -> GreedyOutcome:
    schools = plan.sites[plan.sites["kind"] == "school"].set_index("place_id")
    flows = today.copy()
    load = flows.groupby("place_id")["students"].sum().reindex(schools.index).fillna(0.0)
    minutes = plan.county.travel.set_index(["place_id", "demand_id"])["minutes"]
    minutes = minutes[~minutes.index.duplicated()]
    receivers = schools.index[~schools["closable"]]
    order = schools[schools["closable"]].assign(load=load).sort_values(["streams", "load"])
    merges: dict[str, str] = {}
    for school in sorted(order.index, key=lambda s: (order.at[s, "streams"], load[s], s)):
        mine = flows[flows["place_id"] == school]
        if mine.empty:  # nobody to move: it simply closes
            merges[school] = NO_SEAT
            continue
        target = _nearest_with_room(mine, receivers, schools, load, minutes, plan, stream_size)
        if target is None:
            continue
        merges[school] = target
        load[target] += load[school]
        load[school] = 0.0
        moved = flows["place_id"] == school
        flows.loc[moved, "place_id"] = target
        flows.loc[moved, "minutes"] = [
            minutes.get((target, d), np.nan) for d in flows.loc[moved, "demand_id"]
        ]
    is_open = ~schools.index.isin(list(merges))
    needed = np.ceil(load.to_numpy() / stream_size - 1e-9)
    streams_after = np.where(is_open, np.maximum(schools["streams"].to_numpy(), needed), 0)
    small_left = int((is_open & (streams_after <= section.small_max_streams)).sum())
    seated = flows[flows["place_id"] != NO_SEAT]
    return GreedyOutcome(
        small_schools_left=small_left,
        streams_added=int((streams_after - schools["streams"].to_numpy())[is_open].sum()),
        travel_student_min=float((seated["students"] * seated["minutes"]).sum()),
        unseated=float(flows.loc[flows["place_id"] == NO_SEAT, "students"].sum()),
        merges=merges,
    )


def _nearest_with_room(mine, receivers, schools, load, minutes, plan, stream_size):
    limit = plan.max_travel.reindex(mine["demand_id"]).to_numpy()
    best, best_minutes = None, np.inf
    for target in receivers:
        trip = np.array([minutes.get((target, d), np.nan) for d in mine["demand_id"]])
        if np.isnan(trip).any() or (trip > limit).any():
            continue
        room = schools.at[target, "limit"] * stream_size - load[target]
        if room < load[mine["place_id"].iloc[0]] - 1e-9:
            continue
        mean = float((trip * mine["students"]).sum() / mine["students"].sum())
        if mean < best_minutes - 1e-9:
            best, best_minutes = target, mean
    return best
