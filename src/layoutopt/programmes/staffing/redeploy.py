"""Redeployment within a county (县管校聘) as a minimum-cost flow on OR-Tools'
``SimpleMinCostFlow`` (compiled, exact, integral); networkx's network simplex and HiGHS's
linear programme of the same network are the references the tests hold it to.

One network per county, of its public schools (county redeployment covers public teachers
in public schools; a private school's gap is reported, not filled). Each school-and-subject
with more teachers than posts supplies its surplus; each with fewer demands its shortage.
A teacher may:
- move to another school of the county of a level ``move_bands`` allows for their own
  school's level (a teacher's certificate is for a level), within ``max_move_min``
  (straight line × circuity
  at the town speed of the travel settings: the mode this programme uses), to teach the
  same subject (cost: the trip's minutes) or one the ``cover`` table allows (plus its
  penalty); a closing school's teachers prefer the school that receives its students
  (``follow_bonus_min`` less);
- teach another subject at the same school (the cover penalty alone);
- stay where they are, as surplus (cost 0).
A shortage no move fills is recruited, at ``recruit_cost_min`` each: far above any move.
At most ``rotation_share`` of an open school's teachers may leave it (its allowance is
shared among its surplus subjects in proportion to their surplus); a closing school's
teachers all may. Costs are whole minutes-equivalent, so the flow is whole teachers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from layoutopt.data.build.common import largest_remainder
from layoutopt.geo.distance import great_circle_m
from layoutopt.scenario import StaffingSection

STAY, RECRUIT = ("stay",), ("recruit",)


@dataclass(frozen=True)
class CountyStaff:
    """One county's teachers and posts.

    ``holdings``: school_id, subject, teachers (today), posts (after the plan; 0 where the
    school closes or needs none); ``schools``: school_id, level, open, lon, lat, teachers
    (today's total); ``receivers``: closing school -> the school that receives its
    students."""

    region_id: str
    holdings: pd.DataFrame
    schools: pd.DataFrame
    receivers: dict[str, str]
    minutes_per_km: float


@dataclass
class Redeployment:
    # from_id, to_id, subject_from, subject, teachers, cost (from_id == to_id: another
    # subject at the same school)
    moves: pd.DataFrame
    recruit: pd.DataFrame  # school_id, subject, teachers
    surplus: pd.DataFrame  # school_id, subject, teachers left over
    cost: float  # NaN unless the flow is optimal
    status: str  # OR-Tools' word: "OPTIMAL", or why not
    nodes: int
    arcs: int
    flow_seconds: float


@dataclass(frozen=True)
class FlowNetwork:
    """A county's network as arrays, in OR-Tools' form: ``supply`` > 0 where teachers (or
    recruits) come from, < 0 where they are needed. Arcs without a rotation cap carry the
    network's whole supply as capacity: no flow of this acyclic network can exceed it."""

    nodes: list[tuple]
    supply: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    capacity: np.ndarray
    cost: np.ndarray

    def as_networkx(self) -> nx.DiGraph:
        """The same network for networkx's network simplex (the tests' reference)."""
        graph = nx.DiGraph()
        for node, supply in zip(self.nodes, self.supply.tolist(), strict=True):
            graph.add_node(node, demand=-supply)
        for u, v, cap, cost in zip(
            self.tail.tolist(),
            self.head.tolist(),
            self.capacity.tolist(),
            self.cost.tolist(),
            strict=True,
        ):
            graph.add_edge(self.nodes[u], self.nodes[v], capacity=cap, weight=cost)
        return graph


def redeploy(county: CountyStaff, section: StaffingSection) -> Redeployment:
    network = flow_network(county, section)
    started = time.perf_counter()
    solver = SimpleMinCostFlow()
    arcs = solver.add_arcs_with_capacity_and_unit_cost(
        network.tail, network.head, network.capacity, network.cost
    )
    solver.set_nodes_supplies(np.arange(len(network.nodes)), network.supply)
    status = solver.solve()
    flow_seconds = time.perf_counter() - started
    optimal = status == SimpleMinCostFlow.OPTIMAL
    flows = solver.flows(arcs) if optimal else np.zeros(len(arcs), dtype=np.int64)
    moves, recruit, surplus = _read(network, flows)
    return Redeployment(
        moves,
        recruit,
        surplus,
        float(solver.optimal_cost()) if optimal else float("nan"),
        status.name,
        len(network.nodes),
        len(arcs),
        flow_seconds,
    )


def flow_network(county: CountyStaff, section: StaffingSection) -> FlowNetwork:
    """The county's network: supplies, gates (the rotation allowance), shortages."""
    h = county.holdings
    surplus = h[h["teachers"] > h["posts"]].assign(n=lambda f: f["teachers"] - f["posts"])
    short = h[h["posts"] > h["teachers"]].assign(n=lambda f: f["posts"] - f["teachers"])
    nodes: list[tuple] = [STAY, RECRUIT]
    supply: list[int] = [-int(surplus["n"].sum()), int(short["n"].sum())]
    arcs: list[tuple[int, int, int, int]] = []  # tail, head, capacity (-1: none), cost
    # Balance: every shortage a move fills leaves one recruit unused, and one surplus
    # teacher fewer stays; the unused recruits close the count at the stay node.
    arcs.append((1, 0, -1, 0))
    recruit = int(section.recruit_cost_min)
    targets = list(range(len(nodes), len(nodes) + len(short)))
    for school_id, subject, n in zip(short["school_id"], short["subject"], short["n"], strict=True):
        nodes.append(("t", school_id, subject))
        supply.append(-int(n))
        arcs.append((1, len(nodes) - 1, -1, recruit))
    shortages = Shortages.of(short, county)
    allowance = _allowance(county, surplus, section)
    for row, cap in zip(surplus.itertuples(), allowance, strict=True):
        nodes.append(("s", row.school_id, row.subject))
        source = len(nodes) - 1
        supply.append(int(row.n))
        arcs.append((source, 0, -1, 0))
        covers = section.cover.get(row.subject, {})
        for k in shortages.at_school.get(row.school_id, []):  # another subject, same school
            if shortages.subject[k] in covers:
                arcs.append((source, targets[k], -1, round(covers[shortages.subject[k]])))
        if cap <= 0:
            continue
        nodes.append(("g", row.school_id, row.subject))
        gate = len(nodes) - 1
        supply.append(0)
        arcs.append((source, gate, int(cap), 0))
        for k, cost in shortages.options(row.school_id, row.subject, county, section):
            arcs.append((gate, targets[k], -1, cost))
    table = np.array(arcs, dtype=np.int64).reshape(-1, 4)
    whole = int(sum(s for s in supply if s > 0))
    capacity = np.where(table[:, 2] < 0, whole, table[:, 2])
    return FlowNetwork(
        nodes, np.array(supply, dtype=np.int64), table[:, 0], table[:, 1], capacity, table[:, 3]
    )


@dataclass(frozen=True)
class Shortages:
    """A county's shortages as arrays, with the minutes from every school to theirs. The
    penalties by subject and the level bands by level are computed once a county, not once
    a surplus row."""

    school: np.ndarray  # school_id of each shortage
    level: np.ndarray  # its school's level
    subject: np.ndarray
    minutes: np.ndarray  # (school of the county, shortage) minutes
    row_of: dict[str, int]  # school_id -> its row of ``minutes``
    at_school: dict[str, list[int]]  # school_id -> its shortages
    level_of: dict[str, str]  # school_id -> its level, every school of the county
    _penalties: dict[str, np.ndarray] = field(default_factory=dict, compare=False)
    _bands: dict[str, np.ndarray] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, short: pd.DataFrame, county: CountyStaff) -> Shortages:
        minutes = school_minutes(county)
        school = short["school_id"].to_numpy()
        at_school: dict[str, list[int]] = {}
        for k, school_id in enumerate(school):
            at_school.setdefault(school_id, []).append(k)
        level = county.schools.set_index("school_id")["level"]
        return cls(
            school,
            level.reindex(school).fillna("").to_numpy(),
            short["subject"].to_numpy(),
            minutes.reindex(columns=school).to_numpy(),
            {s: k for k, s in enumerate(minutes.index)},
            at_school,
            dict(zip(county.schools["school_id"], county.schools["level"], strict=True)),
        )

    def penalty(self, subject: str, section: StaffingSection) -> np.ndarray:
        """Each shortage's penalty for a teacher of ``subject`` (0 for the same subject,
        the ``cover`` table's otherwise, NaN where it may not teach it)."""
        if subject not in self._penalties:
            covers = {subject: 0.0, **section.cover.get(subject, {})}
            self._penalties[subject] = np.array([covers.get(t, np.nan) for t in self.subject])
        return self._penalties[subject]

    def band(self, level: str, section: StaffingSection) -> np.ndarray:
        """Which shortages a teacher of a school of ``level`` may fill (``move_bands``)."""
        if level not in self._bands:
            self._bands[level] = np.isin(self.level, section.move_bands.get(level, []))
        return self._bands[level]

    def options(self, school_id: str, subject: str, county: CountyStaff, section):
        """The ``move_options`` cheapest shortages of other schools within ``max_move_min``
        and the level band of ``school_id`` that a teacher of ``subject`` may fill:
        (shortage, whole cost)."""
        band = self.band(self.level_of[school_id], section)
        penalty = self.penalty(subject, section)
        trip = self.minutes[self.row_of[school_id]]
        follows = self.school == county.receivers.get(school_id, "")
        cost = trip + penalty - follows * section.follow_bonus_min
        ok = ~np.isnan(penalty) & (self.school != school_id) & (trip <= section.max_move_min)
        ok &= band
        candidates = np.flatnonzero(ok)
        order = np.lexsort((self.subject[candidates], self.school[candidates], cost[candidates]))
        chosen = candidates[order[: section.move_options]]
        return [(int(k), round(float(cost[k]))) for k in chosen]


def _allowance(county: CountyStaff, surplus: pd.DataFrame, section: StaffingSection) -> list[int]:
    """Teachers each surplus row may send to other schools: all of a closing school's, else
    the school's rotation allowance shared by surplus."""
    schools = county.schools
    is_open = dict(zip(schools["school_id"], schools["open"], strict=True))
    teachers = dict(zip(schools["school_id"], schools["teachers"], strict=True))
    n = surplus["n"].to_numpy(np.int64)
    out = np.zeros(len(surplus), dtype=np.int64)
    for school_id, rows in surplus.groupby("school_id", sort=True).indices.items():
        if not bool(is_open[school_id]):
            out[rows] = n[rows]
            continue
        allowed = int(np.floor(section.rotation_share * float(teachers[school_id])))
        out[rows] = largest_remainder(n[rows].astype(float), min(allowed, int(n[rows].sum())))
    return out.tolist()


def school_minutes(county: CountyStaff) -> pd.DataFrame:
    """Minutes between every two schools of the county (straight line × circuity)."""
    s = county.schools
    lon, lat = s["lon"].to_numpy(float), s["lat"].to_numpy(float)
    metres = great_circle_m(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    ids = s["school_id"].to_numpy()
    return pd.DataFrame(np.round(metres / 1000 * county.minutes_per_km, 1), index=ids, columns=ids)


def lp_check(network: FlowNetwork) -> float:
    """The same network's minimum cost as a linear programme on HiGHS (scipy): a reference
    for the tests."""
    n_arcs = len(network.tail)
    rows = np.r_[network.head, network.tail]
    cols = np.r_[np.arange(n_arcs), np.arange(n_arcs)]
    values = np.r_[np.ones(n_arcs), -np.ones(n_arcs)]
    matrix = coo_matrix((values, (rows, cols)), shape=(len(network.nodes), n_arcs)).tocsr()
    bounds = list(zip(np.zeros(n_arcs), network.capacity.astype(float), strict=True))
    result = linprog(
        network.cost.astype(float),
        A_eq=matrix,
        b_eq=-network.supply.astype(float),
        bounds=bounds,
        method="highs",
    )
    if result.status != 0:
        return float("nan")
    return float(result.fun)


def _read(network: FlowNetwork, flows: np.ndarray) -> tuple[pd.DataFrame, ...]:
    moves, recruit, surplus = [], [], []
    nodes = network.nodes
    for k in np.flatnonzero(flows > 0).tolist():
        u, v, amount = nodes[network.tail[k]], nodes[network.head[k]], int(flows[k])
        if u == RECRUIT and v != STAY:
            recruit.append((v[1], v[2], amount))
        elif v == STAY and u != RECRUIT:
            surplus.append((u[1], u[2], amount))
        elif u[0] in ("g", "s") and v[0] == "t":
            moves.append((u[1], v[1], u[2], v[2], amount, int(network.cost[k])))
    moves_frame = pd.DataFrame(
        moves, columns=["from_id", "to_id", "subject_from", "subject", "teachers", "cost"]
    )
    columns = ["school_id", "subject", "teachers"]
    return (
        moves_frame.sort_values(["from_id", "to_id", "subject_from", "subject"], ignore_index=True),
        pd.DataFrame(recruit, columns=columns).sort_values(columns[:2], ignore_index=True),
        pd.DataFrame(surplus, columns=columns).sort_values(columns[:2], ignore_index=True),
    )
