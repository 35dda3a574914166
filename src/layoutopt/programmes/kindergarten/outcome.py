"""Read a county's kindergarten solves back as buildings after the plan and changes."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from layoutopt.programmes.common import change_row, exchange_rows, flow_words, pairs_row
from layoutopt.programmes.flows import (
    NO_SEAT,
    Tallies,
    WholeFlows,
    moves_with_minutes,
    region_flows,
    solution_flows,
)
from layoutopt.programmes.kindergarten.county import FLOOR, PROJECTS, KgCountyPlan, rule_bounds
from layoutopt.programmes.kindergarten.network import INCLUSIVE_PRIVATE, OTHER_PRIVATE, PUBLIC
from layoutopt.scenario import KindergartenSection

EXISTING = (PUBLIC, INCLUSIVE_PRIVATE, OTHER_PRIVATE)


@dataclass
class KgCountyOutcome:
    region_id: str
    buildings: pd.DataFrame  # one row per kindergarten or opened site, after the plan
    today: pd.DataFrame  # flows by building (place_id = building)
    after: pd.DataFrame
    whole: WholeFlows  # children by building and named flows, in whole children
    changes: list[dict]
    unreachable_children: float  # children with no kindergarten or site within reach


def county_outcome(
    plan: KgCountyPlan, section: KindergartenSection, names: pd.Series
) -> KgCountyOutcome:
    options = plan.options.assign(open=plan.plan.is_open, added=plan.plan.modules)
    base_of = options.set_index("site_id")["base_id"]
    today = _by_building(solution_flows(plan.today), base_of)
    after = _by_building(solution_flows(plan.plan), base_of)
    moved = moves_with_minutes(today, after, plan.county.reach)
    loads = after.groupby("place_id")["students"].sum()
    whole = region_flows(today, after, moved, tallies=_tallies(options, plan, section, loads))
    buildings = _buildings(plan, options, whole, section)
    # A kindergarten closed with no child to move does not merge: it closes.
    leaving = whole.pairs.groupby("from_id")["students"].sum()
    empty = buildings["place_id"].map(leaving).fillna(0) < 1
    buildings.loc[(buildings["action"] == "merge_into") & empty, "action"] = "close"
    reached = set(plan.county.reach["demand_id"])
    demand = plan.county.demand
    unreachable = float(demand.loc[~demand["demand_id"].isin(reached), "children"].sum())
    changes = _changes(plan, buildings, whole, section, names, unreachable)
    return KgCountyOutcome(
        plan.county.region_id, buildings, today, after, whole, changes, unreachable
    )


def _tallies(
    options: pd.DataFrame, plan: KgCountyPlan, section: KindergartenSection, after: pd.Series
) -> Tallies:
    """The county's rules as tallies of whole children: public places, inclusive places
    (public and inclusive private), children placed and children without a place each
    round as a whole. A rule the plan holds within a child leans its tallies to its side
    (a share: its places up and the children placed down; the enrolment rate: children
    without a place down), so that rounding to whole children never breaks it."""
    kind = options.groupby("base_id")["role"].first()
    chosen = (options["role"] == "recognise_inclusive") & options["open"].astype(bool)
    recognised = set(options.loc[chosen, "base_id"])
    of = {NO_SEAT: ("unplaced",)}
    for base, role in kind.items():
        if role in (PUBLIC, *PROJECTS):
            of[str(base)] = ("public", "inclusive", "placed")
        elif role == INCLUSIVE_PRIVATE or base in recognised:
            of[str(base)] = ("inclusive", "placed")
        else:
            of[str(base)] = ("placed",)
    part = after.groupby(lambda p: of.get(p, ("placed",))[0]).sum()  # by innermost tally
    public = float(part.get("public", 0.0))
    inclusive = public + float(part.get("inclusive", 0.0))
    placed = inclusive + float(part.get("placed", 0.0))
    total = placed + float(part.get("unplaced", 0.0))
    bound = rule_bounds(plan.county, section)
    lean: dict[str, int] = {}
    for rule, places in (("public", public), ("inclusive", inclusive)):
        if places - bound[rule] * placed < 1:
            lean.update({rule: 1, "placed": -1})
    if "placed" not in lean and placed - bound["enrolment"] * total < 1:
        lean["unplaced"] = -1
    return Tallies(of, lean)


def _by_building(flows: pd.DataFrame, base_of: pd.Series) -> pd.DataFrame:
    out = flows.copy()
    seated = out["place_id"] != NO_SEAT
    out.loc[seated, "place_id"] = base_of.reindex(out.loc[seated, "place_id"]).to_numpy()
    return out.groupby(["demand_id", "place_id"], as_index=False).agg(
        students=("students", "sum"), minutes=("minutes", "first")
    )


def _buildings(plan: KgCountyPlan, options, whole: WholeFlows, section) -> pd.DataFrame:
    """Each existing kindergarten and each opened site: open, classes, places, kind after."""
    kgs = plan.county.kgs.set_index("school_id")
    rows = []
    by_base = options.groupby("base_id")
    for base, group in by_base:
        role = dict(zip(group["role"], group.index, strict=True))
        existing = base in kgs.index
        if not existing and not group["open"].any():
            continue
        classes = int(kgs.at[base, "classes"]) if existing else 0
        added = int(group["added"].sum())
        main = (
            group.loc[role[next(r for r in role if r in EXISTING)]] if existing else group.iloc[0]
        )
        recognised = "recognise_inclusive" in role and bool(
            group.loc[role["recognise_inclusive"], "open"]
        )
        is_open = bool(group["open"].any())
        kind_register = kgs.at[base, "kind"] if existing else PUBLIC
        rows.append(
            {
                "place_id": base,
                "existing": existing,
                "kind_register": kind_register,
                "kind_after": INCLUSIVE_PRIVATE if recognised else kind_register,
                "action": _action(group, role, existing, recognised, is_open),
                "open": is_open,
                "classes_register": classes,
                "classes_after": (classes + added) if is_open else 0,
                "capacity_register": float(kgs.at[base, "capacity"]) if existing else 0.0,
                "capacity_after": (float(main["capacity"]) if existing else 0.0)
                + added * plan.county.class_size
                if is_open
                else 0.0,
                "children_horizon_today": float(whole.today.get(base, 0)),
                "children_after": float(whole.after.get(base, 0)),
            }
        )
    return pd.DataFrame(rows)


def _action(group, role, existing, recognised, is_open) -> str:
    if not existing:
        return str(group["role"].iloc[0])  # new_kindergarten | convert_building
    if not is_open:
        return "merge_into"
    if "expand" in role and bool(group.loc[role["expand"], "open"]):
        return "expand"
    return "recognise_inclusive" if recognised else "keep"


def _changes(plan, buildings, whole: WholeFlows, section, names, unreachable) -> list[dict]:
    rows = []
    pairs = whole.pairs
    for b in buildings.itertuples():
        if b.action == "keep":
            continue
        incoming = pairs[pairs["to_id"] == b.place_id]
        outgoing = pairs[pairs["from_id"] == b.place_id]
        words = flow_words(b.place_id, pairs, names, "children")
        if b.action == "merge_into":
            by_target = outgoing.groupby("to_id")["students"].sum()
            by_target = by_target.sort_index().sort_values(ascending=False, kind="stable")
            target = str(by_target.index[0]) if len(by_target) else ""
            reason = (
                f"{b.classes_register} classes with places to spare nearby: its children "
                f"expected at the horizon go to the kindergartens named; {words}"
            )
            rows.append(pairs_row("merge_into", b.place_id, outgoing, reason, target=target))
            continue
        if b.action == "close":
            reason = (
                f"{b.classes_register} classes: no child expected within reach at the horizon "
                "in today's network; closes"
            )
        elif b.action == "expand":
            reason = f"public: adds {b.classes_after - b.classes_register} class(es)"
        elif b.action == "recognise_inclusive":
            reason = (
                f"private kindergarten recognised as inclusive (普惠) for "
                f"{section.recognise_cost_per_child * b.capacity_register:,.0f} yuan "
                f"over {b.capacity_register:.0f} places"
            )
        else:
            what = (
                "new public kindergarten"
                if b.action == "new_kindergarten"
                else ("empty building converted to a public kindergarten")
            )
            reason = f"{what} of {b.classes_after} classes"
        reason += f"; {words}" if words else ""
        rows.append(pairs_row(b.action, b.place_id, incoming, reason, place="place"))
    rows += exchange_rows(pairs, {r["school_id"] for r in rows}, names, "children")
    rows += _shortfall_rows(plan, section, unreachable, buildings)
    return rows + _decisions_not_held(plan, buildings, section)


def _decisions_not_held(plan: KgCountyPlan, buildings: pd.DataFrame, section) -> list[dict]:
    """A shortfall row for each site the review decided to build on, or kindergarten to
    expand, where the plan could not within its rules."""
    decided = plan.county.decided["decision"]
    action = buildings.set_index("place_id")["action"] if len(buildings) else pd.Series()
    rows = []
    for place_id, what in decided[decided.isin(("build", "expand"))].sort_index().items():
        if what == "build" and action.get(place_id) in ("new_kindergarten", "convert_building"):
            continue
        if what == "expand" and action.get(place_id) == "expand":
            continue
        if what == "build" and place_id not in set(plan.county.sites["place_id"]):
            cause = (
                "the site is not a kindergarten candidate here: an earlier programme took it "
                "(fix: another site, or take the decision out)"
            )
        elif what == "build":
            cause = (
                f"too few children live within reach of the site for a new kindergarten of "
                f"{section.new_min_classes} classes (fix: another site, or lower "
                "kindergarten.new_min_classes)"
            )
        else:
            cause = (
                f"it cannot grow: it is at the {section.max_classes}-class cap, or no child "
                "within its reach needs a place (fix: take the decision out)"
            )
        rows.append(
            change_row(
                "shortfall", str(place_id), reason=f"rule decided_{what}: {place_id}: {cause}"
            )
        )
    return rows


def _shortfall_rows(
    plan: KgCountyPlan, section, unreachable: float, buildings: pd.DataFrame
) -> list[dict]:
    """A row per county rule the plan cannot keep: a target, or (unless allow_decrease) a
    register value that falls, each with its cause."""
    rows = []
    short = plan.plan.share_shortfall
    bounds = _bounds(plan, section)
    reach = _reach_words(unreachable, buildings)
    if short.get("enrolment", 0.0) >= 0.5:
        cause = (
            f"{round(short['enrolment'])} more children would need a place to reach "
            f"{bounds['enrolment']}; {reach}"
        )
        rows.append(_shortfall("enrolment_rate", cause, unplaced=short["enrolment"]))
    for rule in ("public", "inclusive"):
        if short.get(rule, 0.0) >= 0.5:
            rows.append(
                _shortfall(
                    f"{rule}_share",
                    f"{rule} places short of {bounds[rule]} of enrolled children by "
                    f"{round(short[rule])}: no project or recognition within reach closes the "
                    "gap, and private kindergartens keep their register children",
                )
            )
    rows += _decrease_rows(plan, short, buildings, reach)
    return rows


FALL = 0.01  # children: a register value's floor short by more than this has fallen


def _decrease_rows(plan: KgCountyPlan, short: dict, buildings: pd.DataFrame, reach: str):
    """A row for each register value the county's plan falls below (rule ``<rule>_no_
    decrease``), naming the register value, the plan's and the cause."""
    rows = []
    floors = plan.county.floors
    children = float(plan.county.demand["children"].sum())
    enrolled = float(buildings["children_after"].sum()) if len(buildings) else 0.0
    after = {"enrolment": enrolled / children if children else 0.0}
    for rule, kinds in (("public", [PUBLIC]), ("inclusive", [PUBLIC, INCLUSIVE_PRIVATE])):
        mine = buildings["kind_after"].isin(kinds) if len(buildings) else []
        placed = float(buildings.loc[mine, "children_after"].sum()) if len(buildings) else 0.0
        after[rule] = placed / enrolled if enrolled else 0.0
    for rule in ("enrolment", "public", "inclusive"):
        gap = short.get(rule + FLOOR, 0.0)
        if gap <= FALL:
            continue
        name = "enrolment_rate" if rule == "enrolment" else f"{rule}_share"
        cause = (
            reach
            if rule == "enrolment"
            else "no project or recognition within reach keeps it, and private kindergartens "
            "keep their register children"
        )
        rows.append(
            _shortfall(
                name + FLOOR,
                f"the county's {name.replace('_', ' ')} falls from {floors[rule]:.1%} on the "
                f"register to {after[rule]:.1%} after the plan ({gap:,.1f} children short of "
                f"holding it; allow_decrease = false): {cause}",
            )
        )
    return rows


def _reach_words(unreachable: float, buildings: pd.DataFrame) -> str:
    """Why children go without a place: beyond every kindergarten and site, or full
    places; the plan's merges and closures are not the cause (their children are placed
    at the kindergartens their rows name)."""
    if unreachable >= 0.5:
        text = (
            f"{round(unreachable)} children live where no kindergarten or candidate site is "
            "within the service radius (fix: add candidate sites or widen "
            "kindergarten.radius_km)"
        )
    else:
        text = "the places within reach are full and no project fits"
    merged = int((buildings["action"] == "merge_into").sum()) if len(buildings) else 0
    closed = int((buildings["action"] == "close").sum()) if len(buildings) else 0
    if merged or closed:
        text += (
            f"; the plan's {merged} merge(s) place every child at the kindergartens their "
            f"rows name and its {closed} closure(s) had no child within reach"
        )
    return text


def _bounds(plan: KgCountyPlan, section) -> dict[str, str]:
    """Each target in words (the register values are floors of their own rules)."""
    return {
        "enrolment": f"{section.enrolment_rate:.1%}",
        "public": f"{section.public_share:.1%}",
        "inclusive": f"{section.inclusive_share:.1%}",
    }


def _shortfall(target: str, reason: str, unplaced: float = 0.0) -> dict:
    return change_row("shortfall", unseated_students=unplaced, reason=f"{target}: {reason}")
