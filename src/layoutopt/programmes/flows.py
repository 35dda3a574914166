"""Students as flows from settlements to schools, and who moves between two plans."""

from __future__ import annotations

import numpy as np
import pandas as pd

from layoutopt.engine import LocationSolution

NO_SEAT = ""  # place_id of students without a seat
FLOW_COLUMNS = ["demand_id", "place_id", "students", "minutes"]
MOVE_COLUMNS = ["demand_id", "from_id", "to_id", "students"]
EPS = 1e-6


def solution_flows(solution: LocationSolution) -> pd.DataFrame:
    """``demand_id, place_id, students, minutes`` of a solve; unseated students get NO_SEAT."""
    seated = pd.DataFrame(
        {
            "demand_id": solution.assignment["demand_id"].astype(str),
            "place_id": solution.assignment["site_id"].astype(str),
            "students": solution.assignment["weight"].astype(float),
            "minutes": solution.assignment["travel"].astype(float),
        }
    )
    unseated = pd.DataFrame(
        {
            "demand_id": solution.unmet["demand_id"].astype(str),
            "place_id": NO_SEAT,
            "students": solution.unmet["weight"].astype(float),
            "minutes": np.nan,
        }
    )
    frames = [f for f in (seated, unseated) if len(f)]
    if not frames:  # a county without students of the stage (a tiny or empty unit)
        return pd.DataFrame(columns=FLOW_COLUMNS)
    flows = pd.concat(frames, ignore_index=True)
    return flows[flows["students"] > EPS][FLOW_COLUMNS].reset_index(drop=True)


def moves(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Students who change place between two flow tables, settlement by settlement.

    Within a settlement, students who keep their place stay; those who leave a place are
    shared among the places that gain, in proportion to the gains.
    """
    b = before.groupby(["demand_id", "place_id"])["students"].sum().rename("before")
    a = after.groupby(["demand_id", "place_id"])["students"].sum().rename("after")
    both = pd.concat([b, a], axis=1).fillna(0.0).reset_index()
    stay = np.minimum(both["before"], both["after"])
    both["out"] = both["before"] - stay
    both["in"] = both["after"] - stay
    outs = both.loc[both["out"] > EPS, ["demand_id", "place_id", "out"]]
    ins = both.loc[both["in"] > EPS, ["demand_id", "place_id", "in"]]
    pairs = outs.merge(ins, on="demand_id", suffixes=("_from", "_to"))
    if pairs.empty:
        return pd.DataFrame(columns=MOVE_COLUMNS)
    gained = ins.groupby("demand_id")["in"].sum()
    pairs["students"] = pairs["out"] * pairs["in"] / gained.reindex(pairs["demand_id"]).to_numpy()
    pairs = pairs.rename(columns={"place_id_from": "from_id", "place_id_to": "to_id"})
    return pairs[MOVE_COLUMNS].sort_values(["demand_id", "from_id", "to_id"], ignore_index=True)


def moves_with_minutes(
    before: pd.DataFrame, after: pd.DataFrame, travel: pd.DataFrame
) -> pd.DataFrame:
    """``moves`` with each moving share's trip before and after (from ``travel``:
    demand_id, place_id, minutes; nan where either end is no seat)."""
    moved = moves(before, after)
    minutes = travel.set_index(["demand_id", "place_id"])["minutes"]
    minutes = minutes[~minutes.index.duplicated()]
    for column, end in (("minutes_before", "from_id"), ("minutes_after", "to_id")):
        pairs = pd.MultiIndex.from_arrays([moved["demand_id"], moved[end]])
        moved[column] = minutes.reindex(pairs).to_numpy()
    return moved


def mean_minutes(frame: pd.DataFrame, column: str) -> float:
    """Students-weighted mean of a minutes column, to 0.1 min (nan when none is known)."""
    w = frame["students"].to_numpy(float)
    v = frame[column].to_numpy(float)
    ok = np.isfinite(v) & (w > 0)
    return float(np.round((v[ok] * w[ok]).sum() / w[ok].sum(), 1)) if ok.any() else np.nan


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The q-quantile of values repeated by weights (the lower value at a tie)."""
    keep = (weights > 0) & np.isfinite(values)
    if not keep.any():
        return float("nan")
    order = np.argsort(values[keep], kind="stable")
    v, w = values[keep][order], weights[keep][order]
    cumulative = np.cumsum(w)
    return float(v[np.searchsorted(cumulative, q * cumulative[-1] - 1e-9)])


def unseated(flows: pd.DataFrame) -> float:
    """Students (or children) of a flow table without a seat."""
    return float(flows.loc[flows["place_id"] == NO_SEAT, "students"].sum())


def travel_sum(flows: pd.DataFrame) -> float:
    """Student-minutes (one way, a day) of the seated students of a flow table."""
    seated = flows[flows["place_id"] != NO_SEAT]
    return float((seated["students"] * seated["minutes"]).sum())
