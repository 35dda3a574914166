"""Students as flows from settlements to schools, who moves between two plans, and the
named flows between places in whole students."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
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


# Named flows between places, in whole students ------------------------------------------

PAIR_COLUMNS = ["from_id", "to_id", "band", "students", "minutes_before", "minutes_after"]
LEAN = 10  # the weight of a rounding lean against the nearest whole
PAIR_COLUMNS += ["beds_needed"]


def pair_flows(moved: pd.DataFrame, band: str = "", bed: str | None = None) -> pd.DataFrame:
    """Settlement-level ``moves`` summed by (from_id, to_id) and band: students, their
    students-weighted mean trips before and after, and, where ``bed`` names a boolean
    column of ``moved``, the students of the pair who need a bed."""
    frame = moved.assign(
        band=moved.get("band", band),
        needs=moved["students"] * (moved[bed].astype(bool) if bed else False),
        w_before=moved["students"] * moved.get("minutes_before", np.nan),
        w_after=moved["students"] * moved.get("minutes_after", np.nan),
        n_before=moved["students"] * np.isfinite(moved.get("minutes_before", np.nan)),
        n_after=moved["students"] * np.isfinite(moved.get("minutes_after", np.nan)),
    )
    frame[["w_before", "w_after"]] = frame[["w_before", "w_after"]].fillna(0.0)
    if frame.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    sums = frame.groupby(["from_id", "to_id", "band"], as_index=False)[
        ["students", "needs", "w_before", "w_after", "n_before", "n_after"]
    ].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        sums["minutes_before"] = np.round(sums["w_before"] / sums["n_before"], 1)
        sums["minutes_after"] = np.round(sums["w_after"] / sums["n_after"], 1)
        sums["bed_share"] = sums["needs"] / sums["students"]
    return sums.rename(columns={"bed_share": "beds_needed"})[PAIR_COLUMNS]


@dataclass
class WholeFlows:
    """A region's loads and flows in whole students. ``today`` and ``after``: students by
    place (NO_SEAT: those without a place); ``pairs``: PAIR_COLUMNS with whole students
    and beds, zero flows dropped. For every place, today − out + in = after exactly."""

    today: pd.Series
    after: pd.Series
    pairs: pd.DataFrame

    def load(self, which: str, places) -> np.ndarray:
        series = self.today if which == "today" else self.after
        return series.reindex(list(places)).fillna(0).to_numpy(np.int64)

    def moved(self, place: str, end: str) -> pd.DataFrame:
        """The pairs leaving (``end`` = "from") or reaching ("to") ``place``."""
        return self.pairs[self.pairs[f"{end}_id"] == place]


@dataclass(frozen=True)
class Tallies:
    """Sums of loads after the plan that must each round as a whole, and their side.

    ``of``: a place's tallies, innermost first (the public places of a county:
    ``("public", "inclusive", "placed")``); two places that share a tally share every tally
    around it, so the tallies nest. ``lean``: a tally that should rather round up (+1) or
    down (-1) where it may go either way (a target's side)."""

    of: dict[str, tuple[str, ...]]
    lean: dict[str, int]

    def parents(self) -> dict[str, str]:
        """Each tally's enclosing tally ("" for the outermost); refuses tallies that cross."""
        parent: dict[str, str] = {}
        for chain in self.of.values():
            for inner, outer in zip(chain, (*chain[1:], ""), strict=True):
                if parent.setdefault(inner, outer) != outer:
                    raise ValueError(f"tally {inner!r} inside both {parent[inner]!r} and {outer!r}")
        return parent


def whole_flows(
    today: pd.Series, after: pd.Series, pairs: pd.DataFrame, tallies: Tallies | None = None
) -> WholeFlows:
    """Round a region's loads and flows to whole students keeping every balance.

    ``today`` and ``after`` are students by place (NO_SEAT included), ``pairs`` the
    flows between them (PAIR_COLUMNS, ``beds_needed`` a share of the pair's students);
    for each place today − out + in = after. The figures form a circulation (source →
    place for today's load, place → sink for the load after, sink → source for the
    total), so whole values exist with each one its own value rounded down or up and
    every balance kept; a minimum-cost flow finds them, each figure rounded to its
    nearest whole where the balances allow. ``tallies``: sums of loads after the plan
    that round as a whole too (a place's load goes to the sink through its tallies), so
    that a county's share of public places, a ratio of two tallies, is not broken by
    rounding each place on its own; a tally's ``lean`` outweighs the nearest whole."""
    tallies = tallies or Tallies({}, {})
    ends = set(pairs["from_id"]) | set(pairs["to_id"])
    places = sorted(set(today.index) | set(after.index) | ends)
    parent = tallies.parents()
    graph = nx.MultiDiGraph()
    nodes = [("place", p) for p in places] + [("tally", t) for t in sorted(parent)]
    graph.add_nodes_from([*nodes, "source", "sink"], demand=0)
    edges: list[tuple] = []
    into: dict[str, float] = dict.fromkeys(parent, 0.0)  # each tally's value
    for place in places:
        load = float(after.get(place, 0.0))
        chain = tallies.of.get(place, ())
        edges.append(("source", ("place", place), float(today.get(place, 0.0)), "today"))
        edges.append((("place", place), ("tally", chain[0]) if chain else "sink", load, "after"))
        for tally in chain:
            into[tally] += load
    for tally in sorted(parent):
        outer = ("tally", parent[tally]) if parent[tally] else "sink"
        edges.append((("tally", tally), outer, into[tally], "tally"))
    side = {("tally", t): direction for t, direction in tallies.lean.items()}
    for k, row in enumerate(pairs.itertuples(index=False)):
        edges.append((("place", row.from_id), ("place", row.to_id), float(row.students), k))
    edges.append(("sink", "source", float(today.sum()), "total"))
    for u, v, value, key in edges:
        low, high = np.floor(value + EPS), np.ceil(value - EPS)
        high = max(high, low)
        graph.nodes[u]["demand"] += int(low)
        graph.nodes[v]["demand"] -= int(low)
        nearest = 1 if value - low < 0.5 else -1  # a unit above the floor: cheap if > .5
        # A tally's lean outweighs the nearest (a unit above the floor: 10 less if up).
        weight = nearest - (LEAN * side.get(u, 0) if key == "tally" else 0)
        graph.add_edge(u, v, key=key, capacity=int(high - low), weight=weight, low=int(low))
    try:
        _, flow = nx.network_simplex(graph)
    except nx.NetworkXUnfeasible as error:  # the fractional figures did not balance
        raise RuntimeError(f"whole_flows: the region's flows do not balance ({error})") from None
    whole: dict[object, int] = {}
    for u, targets in flow.items():
        for v, keyed in targets.items():
            for key, amount in keyed.items():
                whole[(u, v, key)] = graph.edges[u, v, key]["low"] + int(amount)
    after_arc = {u[1]: n for (u, _, key), n in whole.items() if key == "after"}
    loads = {
        name: pd.Series(
            {p: after_arc[p] for p in places}
            if name == "after"
            else {p: whole[("source", ("place", p), "today")] for p in places},
            dtype=np.int64,
        )
        for name in ("today", "after")
    }
    out = pairs.copy()
    out["students"] = [
        whole[(("place", r.from_id), ("place", r.to_id), k)]
        for k, r in enumerate(pairs.itertuples(index=False))
    ]
    share = out["beds_needed"].fillna(0.0).to_numpy(float) if len(out) else np.zeros(0)
    out["beds_needed"] = np.minimum(np.round(out["students"] * share), out["students"]).astype(
        np.int64
    )
    out = out[out["students"] > 0].reset_index(drop=True)
    return WholeFlows(loads["today"], loads["after"], out.astype({"students": np.int64}))


def region_flows(
    today: pd.DataFrame,
    after: pd.DataFrame,
    moved: pd.DataFrame,
    bed: str | None = None,
    tallies: Tallies | None = None,
) -> WholeFlows:
    """A region's flows in whole students, from two flow tables (``solution_flows``) and
    their settlement-level ``moves``."""
    return whole_flows(
        today.groupby("place_id")["students"].sum(),
        after.groupby("place_id")["students"].sum(),
        pair_flows(moved, bed=bed),
        tallies,
    )
