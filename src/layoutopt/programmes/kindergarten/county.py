"""One county's kindergartens as engine problems: today's network, and the plan.

Every child of kindergarten age is demand; a child left without a place costs
``unenrolled_cost``, and the county's enrolment rate is a served-share rule.
The plan may expand a public kindergarten by whole classes (up to the size cap), build
a new one at a candidate site, convert an empty building, recognise a private
kindergarten as inclusive (for a subsidy per place), or merge a small public one where
places are spare. Places are assigned within each settlement's service radius; the
county's three targets are load-share rules: public places ≥ ``public_share`` and
inclusive places ≥ ``inclusive_share`` of the children placed, and every needed place
filled (enrolment rate). A target that cannot be met is priced, not infeasible.

Each public project also carries ``project_price``: the programme sets it so that the
province's number of projects falls in the plan's range (see ``programme``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from layoutopt.decisions import CLOSING, NO_DECISIONS
from layoutopt.engine import LocationProblem, LocationSolution
from layoutopt.engine.problem import CANDIDATE, CLOSABLE, MUST_KEEP, LoadShare, ServedShare
from layoutopt.programmes.common import arcs_under_merges, decision_groups
from layoutopt.programmes.kindergarten.network import INCLUSIVE_PRIVATE, OTHER_PRIVATE, PUBLIC
from layoutopt.scenario import KindergartenSection

PROJECTS = ("expand", "new_kindergarten", "convert_building")


@dataclass(frozen=True)
class KgCountyInput:
    """``kgs``: school_id, kind, capacity, classes (and optionally enrolment, the register,
    and demand_id, the settlement it stands in); ``sites``: place_id, action, max_classes
    (and optionally demand_id); ``demand``: demand_id, children; ``reach``: place_id,
    demand_id, distance_km; ``class_size``: children per class; ``floors``: the county's
    register shares ("public", "inclusive", "enrolment") that the plan may not fall below
    unless the scenario allows it; ``decided``: the review's decisions on its kindergartens
    and sites (decision, target_id), by school_id."""

    region_id: str
    class_size: int
    kgs: pd.DataFrame
    sites: pd.DataFrame
    demand: pd.DataFrame
    reach: pd.DataFrame
    growth_places: frozenset[str] = frozenset()
    floors: dict[str, float] = field(default_factory=dict)
    decided: pd.DataFrame = field(default_factory=lambda: NO_DECISIONS)


@dataclass
class KgCountyPlan:
    county: KgCountyInput
    options: pd.DataFrame  # one row per engine site: site_id, base_id, role, ...
    today: LocationSolution
    plan: LocationSolution


def option_table(county: KgCountyInput, section: KindergartenSection) -> pd.DataFrame:
    """Every choice the plan has, one engine site each, with the groups it counts in."""
    kgs = county.kgs.assign(enrolment=county.kgs.get("enrolment", county.kgs["capacity"]))
    decided = county.decided["decision"]
    receivers = set(county.decided.loc[decided == "merge_into", "target_id"])
    rows: list[dict] = []
    for kg in kgs.itertuples():
        public = kg.kind == PUBLIC
        said = decided.get(kg.school_id, "")
        small = public and kg.classes <= section.merge_max_classes
        closable = (small or kg.kind == OTHER_PRIVATE) and said not in (
            "keep",
            "no_change",
            "expand",
        )
        closable = (closable and kg.school_id not in receivers) or said in CLOSING
        rows.append(
            _option(
                kg.school_id,
                kg.school_id,
                kg.kind,
                CLOSABLE if closable else MUST_KEEP,
                capacity=kg.capacity,
                register=kg.enrolment,
                saving=section.merge_saving if small else 0.0,
                public=public,
                inclusive=kg.kind != OTHER_PRIVATE,
                decided=said if said != "expand" else "",
            )
        )
        # A kindergarten the review closes or leaves unchanged has no expansion to choose;
        # one it expands does, even if small (the merge rule does not apply to it).
        growable = (not small or said == "expand") and said not in (*CLOSING, "no_change")
        if public and growable and kg.classes < section.max_classes:
            rows.append(
                _option(
                    f"{kg.school_id}+expand",
                    kg.school_id,
                    "expand",
                    CANDIDATE,
                    modules=section.max_classes - kg.classes,
                    fixed=section.expand_cost,
                    # At least one child, so at least one class: a project with no
                    # class is no project (even when the project price pays for it).
                    min_classes=1,
                    public=True,
                    inclusive=True,
                    decided="expand" if said == "expand" else "",
                )
            )
        if kg.kind == OTHER_PRIVATE:
            rows.append(
                _option(
                    f"{kg.school_id}+inclusive",
                    kg.school_id,
                    "recognise_inclusive",
                    CANDIDATE,
                    capacity=kg.capacity,
                    register=kg.enrolment,
                    fixed=section.recognise_cost_per_child * kg.capacity,
                    public=False,
                    inclusive=True,
                )
            )
    for site in county.sites.itertuples():
        new = site.action == "new_kindergarten"
        said = decided.get(site.place_id, "")
        if said == "do_not_build":
            continue
        rows.append(
            _option(
                site.place_id,
                site.place_id,
                site.action,
                CANDIDATE,
                modules=site.max_classes,
                fixed=section.new_cost if new else section.convert_cost,
                min_classes=section.new_min_classes if new else 1,
                public=True,
                inclusive=True,
                decided=said,
            )
        )
    return pd.DataFrame(rows)


def _option(
    site_id,
    base_id,
    role,
    status,
    *,
    capacity=0.0,
    register=0.0,
    modules=0,
    fixed=0.0,
    saving=0.0,
    min_classes=0,
    public,
    inclusive,
    decided="",
) -> dict:
    return {
        "site_id": site_id,
        "base_id": base_id,
        "role": role,
        "status": status,
        "capacity": float(capacity),
        "register": float(register),
        "modules": int(modules),
        "fixed": float(fixed),
        "saving": float(saving),
        "min_classes": int(min_classes),
        "public": public,
        "inclusive": inclusive,
        "project": role in PROJECTS,
        "decided": decided,
    }


def _arcs(county: KgCountyInput, table: pd.DataFrame, section: KindergartenSection) -> dict:
    """Arcs of every option: each reaches the settlements its building reaches."""
    option_of = pd.DataFrame({"base_id": table["base_id"], "site": np.arange(len(table))})
    reach = county.reach.merge(option_of, left_on="place_id", right_on="base_id")
    d_index = pd.Index(county.demand["demand_id"])
    reach = reach[reach["demand_id"].isin(d_index)]
    reach = reach.sort_values(["demand_id", "site"], kind="stable")
    km = reach["distance_km"].to_numpy(float)
    return {
        "arc_demand": d_index.get_indexer(reach["demand_id"]),
        "arc_site": reach["site"].to_numpy(),
        "arc_cost": km * section.travel_cost_per_child_km,
        "arc_travel": km,
    }


def today_problem(county: KgCountyInput, section: KindergartenSection) -> LocationProblem:
    """Today's kindergartens at their places; children as near as places allow."""
    table = option_table(county, section)
    existing = table[table["role"].isin([PUBLIC, INCLUSIVE_PRIVATE, OTHER_PRIVATE])]
    return LocationProblem.build(
        demand_ids=county.demand["demand_id"],
        weight=county.demand["children"].to_numpy(float),
        site_ids=existing["site_id"],
        status=MUST_KEEP,
        capacity=existing["capacity"].to_numpy(float),
        unmet_penalty=section.unenrolled_cost,
        demand_region=county.region_id,
        **_arcs(county, existing.reset_index(drop=True), section),
    )


def plan_problem(
    county: KgCountyInput,
    section: KindergartenSection,
    project_price: float,
    today: LocationSolution | None = None,
) -> LocationProblem:
    """The plan's choices, each project carrying ``project_price`` on top of its cost, under
    the county's targets and floors and the rules on private kindergartens and merges.
    ``today`` (today's network at the horizon) bounds what a private kindergarten keeps."""
    table = option_table(county, section)
    # Projects outside growth or migrant settlements weigh more: the plan's priority.
    outside = table["project"] & ~table["base_id"].isin(county.growth_places)
    weight = np.where(outside, section.outside_growth_cost_factor, 1.0)
    fixed = table["fixed"].to_numpy() * weight + np.where(table["project"], project_price, 0.0)
    pairs = {
        f"pair:{base}": (group.index.to_numpy(), (1, 1))
        for base, group in table[
            table["base_id"].isin(table.loc[table["role"] == "recognise_inclusive", "base_id"])
        ].groupby("base_id")
    }
    capacity, keep = _private_places(table, section, _today_loads(table, today))
    arcs = _arcs(county, table, section)
    kept = _merged_arcs(county, table, arcs, today)
    arcs = {name: values[kept] for name, values in arcs.items()}
    # Nor does a private kindergarten gain a settlement's children over today's network:
    # no public kindergarten's children are sent to it.
    shares_today = _today_shares(county, table, today, arcs)
    arcs["arc_max_share"] = np.where(keep[arcs["arc_site"]] > 0, shares_today, 1.0)
    # Private kindergartens are filled first, up to their register: parents chose them.
    arcs["arc_cost"] = arcs["arc_cost"] - keep[arcs["arc_site"]] * section.private_keep_weight
    # A child placed at another kindergarten than today's pays the switch: the plan does not
    # reshuffle children between kindergartens that stay.
    if today is not None:
        arcs["arc_cost"] = arcs["arc_cost"] + section.switch_cost_per_child * (shares_today <= 0)
    shares, served = county_rules(county, table, section)
    return LocationProblem.build(
        demand_ids=county.demand["demand_id"],
        weight=county.demand["children"].to_numpy(float),
        site_ids=table["site_id"],
        status=table["status"].to_numpy(),
        capacity=capacity,
        fixed_cost=fixed,
        close_saving=table["saving"].to_numpy(float),
        min_load=np.maximum(table["min_classes"] - 1, 0) * county.class_size
        + (table["min_classes"] > 0),
        module_capacity=float(county.class_size),
        module_cost=section.class_cost * weight,
        max_modules=table["modules"].to_numpy(int),
        unmet_penalty=section.unenrolled_cost,
        demand_region=county.region_id,
        group_open={
            **pairs,
            **decision_groups(
                table["decided"].to_numpy(), ("build", "expand"), _can_fill(county, table, arcs)
            ),
        },
        open_implies=_no_merge_beside_a_build(county, table),
        load_shares=shares,
        served_shares=served,
        **arcs,
    )


FLOOR = "_no_decrease"  # a rule's name suffix for the county's register value as its floor


def county_rules(
    county: KgCountyInput, table: pd.DataFrame, section: KindergartenSection
) -> tuple[list[LoadShare], list[ServedShare]]:
    """The county's targets (public and inclusive shares of the children placed, the
    enrolment rate), each priced at ``shortfall_penalty`` a child short; and, unless
    ``allow_decrease``, the county's register values as floors of their own, priced higher
    (``decrease_penalty``), so that the plan lets a rate fall only where it cannot hold it
    and a shortfall row then says so."""
    every = np.arange(len(table))
    children = np.arange(len(county.demand))
    floors = {} if section.allow_decrease else county.floors
    shares, served = [], []
    for rule, target in (("public", section.public_share), ("inclusive", section.inclusive_share)):
        sites = np.flatnonzero(table[rule])
        shares.append(LoadShare(rule, sites, every, target, section.shortfall_penalty))
        if floors.get(rule, 0.0) > 0:
            floor = min(1.0, floors[rule])
            shares.append(LoadShare(rule + FLOOR, sites, every, floor, section.decrease_penalty))
    rate = min(1.0, section.enrolment_rate)
    served.append(ServedShare("enrolment", children, rate, section.shortfall_penalty))
    if floors.get("enrolment", 0.0) > 0:
        floor = min(1.0, floors["enrolment"])
        served.append(ServedShare("enrolment" + FLOOR, children, floor, section.decrease_penalty))
    return shares, served


def rule_bounds(county: KgCountyInput, section: KindergartenSection) -> dict[str, float]:
    """Each rule's highest bound in the county: its target, or its register value where
    that is higher and may not fall (public and inclusive shares of the children placed,
    the enrolment rate)."""
    floors = {} if section.allow_decrease else county.floors
    targets = {
        "public": section.public_share,
        "inclusive": section.inclusive_share,
        "enrolment": section.enrolment_rate,
    }
    return {rule: min(1.0, max(t, floors.get(rule, 0.0))) for rule, t in targets.items()}


PRIVATE_ROLES = (INCLUSIVE_PRIVATE, OTHER_PRIVATE, "recognise_inclusive")


def _private_places(table: pd.DataFrame, section: KindergartenSection, today: np.ndarray):
    """Each option's places in the plan, and which are private places kept for their own
    children. A private kindergarten keeps its children up to its register, and takes no
    more than it has in today's network at the horizon (so no public kindergarten merges
    into it), unless the scenario lets public ones merge into inclusive private ones
    (``merge_into_private``)."""
    capacity = table["capacity"].to_numpy(float)
    private = table["role"].isin(PRIVATE_ROLES).to_numpy() & section.private_keep_register
    grows = table["role"].isin([INCLUSIVE_PRIVATE, "recognise_inclusive"]).to_numpy()
    capped = private & ~(grows & section.merge_into_private)
    own = np.minimum(table["register"].to_numpy(float), today)
    places = np.where(capped, np.minimum(capacity, own), capacity)
    return places, capped.astype(float)


def _today_shares(
    county: KgCountyInput, table: pd.DataFrame, today: LocationSolution | None, arcs: dict
) -> np.ndarray:
    """Each arc's share of its settlement's children in today's network (1 without it)."""
    if today is None:
        return np.ones(len(arcs["arc_site"]))
    share = today.assignment.groupby(["demand_id", "site_id"])["share"].sum()
    demand = county.demand["demand_id"].to_numpy()[arcs["arc_demand"]]
    base = table["base_id"].to_numpy()[arcs["arc_site"]]
    pairs = pd.MultiIndex.from_arrays([demand, base])
    return np.clip(share.reindex(pairs).fillna(0.0).to_numpy(float), 0.0, 1.0)


def _today_loads(table: pd.DataFrame, today: LocationSolution | None) -> np.ndarray:
    """Children each option's building holds in today's network (inf without it)."""
    if today is None:
        return np.full(len(table), np.inf)
    load = today.assignment.groupby("site_id")["weight"].sum()
    return load.reindex(table["base_id"]).fillna(0.0).to_numpy(float)


def _can_fill(county: KgCountyInput, table: pd.DataFrame, arcs: dict) -> np.ndarray:
    """Per option, whether the children within its reach reach its least load."""
    weight = county.demand["children"].to_numpy(float)
    reach = np.bincount(arcs["arc_site"], weights=weight[arcs["arc_demand"]], minlength=len(table))
    least = np.maximum(table["min_classes"] - 1, 0) * county.class_size + (table["min_classes"] > 0)
    return reach >= least.to_numpy()


def _merged_arcs(
    county: KgCountyInput, table: pd.DataFrame, arcs: dict, today: LocationSolution | None
) -> np.ndarray:
    """Which arcs stay under the review's merges (``arcs_under_merges``); an arc to a
    kindergarten's expansion is an arc to the kindergarten."""
    merges = county.decided.loc[county.decided["decision"] == "merge_into", "target_id"]
    if today is None:
        return np.ones(len(arcs["arc_demand"]), dtype=bool)
    return arcs_under_merges(
        dict(merges.items()),
        today.assignment,
        county.demand["demand_id"].to_numpy()[arcs["arc_demand"]],
        table["site_id"].to_numpy()[arcs["arc_site"]],
        table["base_id"].to_numpy()[arcs["arc_site"]],
    )


def _no_merge_beside_a_build(county: KgCountyInput, table: pd.DataFrame) -> np.ndarray:
    """Pairs (new building, small public kindergarten) of one settlement: the building may
    open only if the kindergarten stays open, so the plan never merges one away while
    building beside it."""
    if "demand_id" not in county.kgs or "demand_id" not in county.sites:
        return np.zeros((0, 2), dtype=np.int64)
    host = pd.concat(
        [
            county.kgs.set_index("school_id")["demand_id"],
            county.sites.set_index("place_id")["demand_id"],
        ]
    ).astype(str)
    where = host.reindex(table["base_id"]).to_numpy()
    closable = np.flatnonzero((table["status"] == CLOSABLE) & (table["role"] == PUBLIC))
    builds = np.flatnonzero(table["role"].isin(["new_kindergarten", "convert_building"]))
    return np.array(
        [[b, k] for b in builds for k in closable if where[b] == where[k]], dtype=np.int64
    ).reshape(-1, 2)
