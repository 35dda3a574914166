"""A location problem as arrays: demand, sites, sparse arcs and counting rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from layoutopt.errors import LayoutoptError

MUST_KEEP = "existing_must_keep"
CLOSABLE = "existing_closable"
CANDIDATE = "candidate"
SITE_STATUSES = (MUST_KEEP, CLOSABLE, CANDIDATE)

Bounds = tuple[int | None, int | None]

# Per-site arrays other than ids and status, aligned with ``site_ids``.
SITE_ARRAYS = (
    "capacity",
    "fixed_cost",
    "close_saving",
    "min_load",
    "module_capacity",
    "module_cost",
    "max_modules",
    "min_modules",
    "site_region",
)


@dataclass(frozen=True)
class ServedShare:
    """At least ``min_share`` of the weight of ``demand`` (indices) is served; a shortfall
    costs ``penalty`` per unit of weight (nan: none allowed)."""

    name: str
    demand: NDArray
    min_share: float
    penalty: float = float("nan")


@dataclass(frozen=True)
class LoadShare:
    """The load of ``sites`` is at least ``min_share`` of the load of ``of_sites``
    (site indices). A shortfall costs ``penalty`` per unit of load (nan: none allowed)."""

    name: str
    sites: NDArray
    of_sites: NDArray
    min_share: float
    penalty: float = float("nan")


@dataclass(frozen=True)
class ArcCap:
    """The weight carried along ``arcs`` (arc indices) is at most ``capacity`` plus the
    capacity of the modules added at ``module_sites`` (site indices): places shared by
    several sites, or held by part of a site's demand (a school section's classrooms, used
    by its day pupils and by the boarders of its grades)."""

    name: str
    arcs: NDArray
    capacity: float
    module_sites: NDArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _array(values: ArrayLike | None, n: int, default: float, dtype=float) -> NDArray:
    if values is None:
        return np.full(n, default, dtype=dtype)
    out = np.asarray(values, dtype=dtype)
    if out.ndim == 0:
        return np.full(n, out.item(), dtype=dtype)
    return out


@dataclass(frozen=True)
class LocationProblem:
    """Demand points, sites and arcs; every per-item value is an array aligned with its ids.

    Costs are per unit of demand weight along an arc; ``fixed_cost`` is paid when a site is
    open, ``close_saving`` earned when an existing closable site is closed. Capacity is in
    demand-weight units (``inf`` for none); ``modules`` add ``module_capacity`` each at
    ``module_cost``, from ``min_modules`` (a decided expansion; it opens the site) up to
    ``max_modules``. ``unmet_penalty`` (per unit of weight, ``nan``
    where demand must be served) lets an impossible policy come back as a priced shortfall.
    """

    demand_ids: NDArray
    weight: NDArray
    site_ids: NDArray
    status: NDArray
    arc_demand: NDArray
    arc_site: NDArray
    arc_cost: NDArray
    arc_travel: NDArray
    capacity: NDArray
    fixed_cost: NDArray
    close_saving: NDArray
    min_load: NDArray
    module_capacity: NDArray
    module_cost: NDArray
    max_modules: NDArray
    min_modules: NDArray
    site_region: NDArray
    demand_region: NDArray
    unmet_penalty: NDArray
    max_travel: NDArray
    single_source: bool = False
    open_count: Bounds = (None, None)
    region_open: dict[str, Bounds] = field(default_factory=dict)
    # Named sets of sites (indices) with bounds on how many of them are open.
    group_open: dict[str, tuple[NDArray, Bounds]] = field(default_factory=dict)
    # Groups whose lower bound may fall short, at this price per site short (a priced rule);
    # the others are hard.
    group_penalty: dict[str, float] = field(default_factory=dict)
    # Pairs (a, b) of site indices: site a may open only if site b is open.
    open_implies: NDArray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    # Largest share of its demand point's weight an arc may carry (None: any, up to all).
    arc_max_share: NDArray | None = None
    load_shares: tuple[LoadShare, ...] = ()
    served_shares: tuple[ServedShare, ...] = ()
    arc_caps: tuple[ArcCap, ...] = ()
    objective: Literal["cost", "coverage"] = "cost"
    coverage_radius: float | None = None
    # Most capacity that modules may add over all sites together (a budget cap; None: none).
    module_cap: float | None = None
    # Per demand point, the least cost per unit of any arc left out of its list (arc lists
    # cut to fit a memory budget); None: every arc is listed. Solved by bound only.
    beyond_cost: NDArray | None = None

    @property
    def n_demand(self) -> int:
        return len(self.demand_ids)

    @property
    def n_sites(self) -> int:
        return len(self.site_ids)

    @property
    def capacitated(self) -> bool:
        return bool(np.isfinite(self.capacity).any())

    @classmethod
    def build(
        cls,
        *,
        demand_ids: ArrayLike,
        weight: ArrayLike,
        site_ids: ArrayLike,
        arc_demand: ArrayLike,
        arc_site: ArrayLike,
        arc_cost: ArrayLike,
        arc_travel: ArrayLike | None = None,
        status: ArrayLike | None = None,
        capacity: ArrayLike | None = None,
        fixed_cost: ArrayLike | None = None,
        close_saving: ArrayLike | None = None,
        min_load: ArrayLike | None = None,
        module_capacity: ArrayLike | None = None,
        module_cost: ArrayLike | None = None,
        max_modules: ArrayLike | None = None,
        min_modules: ArrayLike | None = None,
        site_region: ArrayLike | None = None,
        demand_region: ArrayLike | None = None,
        unmet_penalty: ArrayLike | None = None,
        max_travel: ArrayLike | None = None,
        single_source: bool = False,
        open_count: Bounds = (None, None),
        region_open: dict[str, Bounds] | None = None,
        group_open: dict[str, tuple[ArrayLike, Bounds]] | None = None,
        group_penalty: dict[str, float] | None = None,
        open_implies: ArrayLike | None = None,
        arc_max_share: ArrayLike | None = None,
        load_shares: list[LoadShare] | tuple[LoadShare, ...] = (),
        served_shares: list[ServedShare] | tuple[ServedShare, ...] = (),
        arc_caps: list[ArcCap] | tuple[ArcCap, ...] = (),
        objective: Literal["cost", "coverage"] = "cost",
        coverage_radius: float | None = None,
        module_cap: float | None = None,
    ) -> LocationProblem:
        """Build and check a problem; scalars broadcast, omitted values take neutral defaults."""
        demand_ids = np.asarray(demand_ids).astype(str)
        site_ids = np.asarray(site_ids).astype(str)
        n, m = len(demand_ids), len(site_ids)
        arc_cost = np.asarray(arc_cost, dtype=float)
        problem = cls(
            demand_ids=demand_ids,
            weight=_array(weight, n, 1.0),
            site_ids=site_ids,
            status=_array(status, m, CANDIDATE, dtype=object).astype(str),
            arc_demand=np.asarray(arc_demand, dtype=np.int64),
            arc_site=np.asarray(arc_site, dtype=np.int64),
            arc_cost=arc_cost,
            arc_travel=_array(arc_travel, len(arc_cost), np.nan),
            capacity=_array(capacity, m, np.inf),
            fixed_cost=_array(fixed_cost, m, 0.0),
            close_saving=_array(close_saving, m, 0.0),
            min_load=_array(min_load, m, 0.0),
            module_capacity=_array(module_capacity, m, 0.0),
            module_cost=_array(module_cost, m, 0.0),
            max_modules=_array(max_modules, m, 0, dtype=np.int64),
            min_modules=_array(min_modules, m, 0, dtype=np.int64),
            site_region=_array(site_region, m, "", dtype=object).astype(str),
            demand_region=_array(demand_region, n, "", dtype=object).astype(str),
            unmet_penalty=_array(unmet_penalty, n, np.nan),
            max_travel=_array(max_travel, n, np.inf),
            single_source=single_source,
            open_count=open_count,
            region_open=dict(region_open or {}),
            group_open={
                name: (np.asarray(sites, dtype=np.int64), bounds)
                for name, (sites, bounds) in (group_open or {}).items()
            },
            group_penalty=dict(group_penalty or {}),
            open_implies=np.asarray(
                [] if open_implies is None else open_implies, dtype=np.int64
            ).reshape(-1, 2),
            arc_max_share=None if arc_max_share is None else np.asarray(arc_max_share, dtype=float),
            load_shares=tuple(load_shares),
            served_shares=tuple(served_shares),
            arc_caps=tuple(
                ArcCap(
                    c.name,
                    np.asarray(c.arcs, dtype=np.int64),
                    float(c.capacity),
                    np.asarray(c.module_sites, dtype=np.int64),
                )
                for c in arc_caps
            ),
            objective=objective,
            coverage_radius=coverage_radius,
            module_cap=module_cap,
        )
        problem.check()
        return problem

    def check(self) -> None:
        """Raise one error listing every inconsistency of the arrays."""
        n, m, a = self.n_demand, self.n_sites, len(self.arc_cost)
        problems = []
        for name, length in (
            ("weight", n),
            ("demand_region", n),
            ("unmet_penalty", n),
            ("max_travel", n),
        ):
            if len(getattr(self, name)) != length:
                problems.append(f"{name} has {len(getattr(self, name))} values for {length} demand")
        for name in ("status", *SITE_ARRAYS):
            if len(getattr(self, name)) != m:
                problems.append(f"{name} has {len(getattr(self, name))} values for {m} sites")
        for name in ("arc_demand", "arc_site", "arc_travel"):
            if len(getattr(self, name)) != a:
                problems.append(f"{name} has {len(getattr(self, name))} values for {a} arcs")
        if a and (self.arc_demand.min() < 0 or self.arc_demand.max() >= n):
            problems.append("arc_demand refers to demand outside 0..n-1")
        if a and (self.arc_site.min() < 0 or self.arc_site.max() >= m):
            problems.append("arc_site refers to sites outside 0..m-1")
        if (
            len(self.min_modules) == m
            and ((self.min_modules < 0) | (self.min_modules > self.max_modules)).any()
        ):
            problems.append("min_modules must lie between 0 and max_modules at every site")
        unknown = sorted(set(self.status) - set(SITE_STATUSES))
        if unknown:
            problems.append(f"unknown site status {unknown} (use {', '.join(SITE_STATUSES)})")
        if (self.weight < 0).any():
            problems.append("negative demand weight")
        for name, (sites, _) in self.group_open.items():
            if len(sites) and (sites.min() < 0 or sites.max() >= m):
                problems.append(f"group {name} refers to sites outside 0..m-1")
        unknown_groups = sorted(set(self.group_penalty) - set(self.group_open))
        if unknown_groups:
            problems.append(f"group_penalty names groups not in group_open: {unknown_groups}")
        if any(not v >= 0 for v in self.group_penalty.values()):
            problems.append("group_penalty needs a price of 0 or more per site short")
        share = self.arc_max_share
        if share is not None and (len(share) != a or (share < 0).any() or (share > 1).any()):
            problems.append("arc_max_share needs one share within 0..1 per arc")
        pairs = self.open_implies
        if len(pairs) and (pairs.min() < 0 or pairs.max() >= m):
            problems.append("open_implies refers to sites outside 0..m-1")
        for rule in self.load_shares:
            for sites in (rule.sites, rule.of_sites):
                if len(sites) and (np.min(sites) < 0 or np.max(sites) >= m):
                    problems.append(f"load share {rule.name} refers to sites outside 0..m-1")
            if not 0 <= rule.min_share <= 1:
                problems.append(f"load share {rule.name}: min_share must be within 0..1")
        for served in self.served_shares:
            if len(served.demand) and (np.min(served.demand) < 0 or np.max(served.demand) >= n):
                problems.append(f"served share {served.name} refers to demand outside 0..n-1")
        for cap in self.arc_caps:
            if len(cap.arcs) and (cap.arcs.min() < 0 or cap.arcs.max() >= a):
                problems.append(f"arc cap {cap.name} refers to arcs outside 0..{a - 1}")
            sites = cap.module_sites
            if len(sites) and (sites.min() < 0 or sites.max() >= m):
                problems.append(f"arc cap {cap.name} refers to sites outside 0..m-1")
            if not cap.capacity >= 0:
                problems.append(f"arc cap {cap.name} needs a capacity of 0 or more")
        if self.module_cap is not None and not self.module_cap >= 0:
            problems.append("module_cap needs 0 or more capacity")
        if self.objective == "coverage" and self.coverage_radius is None:
            problems.append("the coverage objective needs a coverage_radius")
        if problems:
            raise LayoutoptError("location problem: " + "; ".join(problems))

    @classmethod
    def from_frames(
        cls,
        demand: pd.DataFrame,
        sites: pd.DataFrame,
        arcs: pd.DataFrame,
        **options,
    ) -> LocationProblem:
        """A problem from tables, the GIS entry point.

        ``demand``: ``demand_id``, ``weight`` (and optionally ``unmet_penalty``,
        ``max_travel``, ``region``); ``sites``: ``site_id`` and any per-site column named in
        SITE_ARRAYS or ``status``; ``arcs``: ``demand_id``, ``site_id``, ``cost`` (and
        optionally ``travel``). Arcs naming an unknown demand point or site are an error.
        Other keywords go to ``build`` as they are.
        """
        d_index = pd.Index(demand["demand_id"].astype(str))
        s_index = pd.Index(sites["site_id"].astype(str))
        arc_demand = d_index.get_indexer(arcs["demand_id"].astype(str))
        arc_site = s_index.get_indexer(arcs["site_id"].astype(str))
        unknown = int(((arc_demand < 0) | (arc_site < 0)).sum())
        if unknown:
            raise LayoutoptError(
                f"{unknown} arc(s) name a demand point or site not in the tables "
                "(fix: give arcs only between listed demand_id and site_id values)"
            )
        per_demand = {"unmet_penalty": "unmet_penalty", "max_travel": "max_travel"}
        per_demand |= {"demand_region": "region"}
        columns = {k: demand[c].to_numpy() for k, c in per_demand.items() if c in demand}
        columns |= {k: sites[k].to_numpy() for k in (*SITE_ARRAYS, "status") if k in sites}
        if "travel" in arcs:
            columns["arc_travel"] = arcs["travel"].to_numpy(float)
        return cls.build(
            demand_ids=d_index,
            weight=demand["weight"].to_numpy(float),
            site_ids=s_index,
            arc_demand=arc_demand,
            arc_site=arc_site,
            arc_cost=arcs["cost"].to_numpy(float),
            **columns,
            **options,
        )

    @classmethod
    def from_cost_matrix(
        cls,
        costs: ArrayLike,
        *,
        weight: ArrayLike | None = None,
        **options,
    ) -> LocationProblem:
        """A problem from a dense (demand × sites) cost-per-unit matrix; ``inf`` = no arc."""
        matrix = np.asarray(costs, dtype=float)
        rows, cols = np.nonzero(np.isfinite(matrix))
        return cls.build(
            demand_ids=[f"d{i}" for i in range(matrix.shape[0])],
            weight=np.ones(matrix.shape[0]) if weight is None else weight,
            site_ids=[f"s{j}" for j in range(matrix.shape[1])],
            arc_demand=rows,
            arc_site=cols,
            arc_cost=matrix[rows, cols],
            **options,
        )
