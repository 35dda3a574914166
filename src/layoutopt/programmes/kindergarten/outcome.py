"""Read a county's kindergarten solves back as buildings after the plan and changes."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from layoutopt.programmes.common import change_row
from layoutopt.programmes.flows import NO_SEAT, mean_minutes, moves_with_minutes, solution_flows
from layoutopt.programmes.kindergarten.county import KgCountyPlan
from layoutopt.programmes.kindergarten.network import INCLUSIVE_PRIVATE, OTHER_PRIVATE, PUBLIC
from layoutopt.scenario import KindergartenSection

EXISTING = (PUBLIC, INCLUSIVE_PRIVATE, OTHER_PRIVATE)


@dataclass
class KgCountyOutcome:
    region_id: str
    buildings: pd.DataFrame  # one row per kindergarten or opened site, after the plan
    today: pd.DataFrame  # flows by building (place_id = building)
    after: pd.DataFrame
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
    buildings = _buildings(plan, options, today, after, section)
    # A kindergarten closed with no child to move does not merge: it closes.
    leaving = moved.groupby("from_id")["students"].sum()
    empty = buildings["place_id"].map(leaving).fillna(0.0) < 0.5
    buildings.loc[(buildings["action"] == "merge_into") & empty, "action"] = "close"
    reached = set(plan.county.reach["demand_id"])
    demand = plan.county.demand
    unreachable = float(demand.loc[~demand["demand_id"].isin(reached), "children"].sum())
    changes = _changes(plan, buildings, moved, section, names, unreachable)
    return KgCountyOutcome(plan.county.region_id, buildings, today, after, changes, unreachable)


def _by_building(flows: pd.DataFrame, base_of: pd.Series) -> pd.DataFrame:
    out = flows.copy()
    seated = out["place_id"] != NO_SEAT
    out.loc[seated, "place_id"] = base_of.reindex(out.loc[seated, "place_id"]).to_numpy()
    return out.groupby(["demand_id", "place_id"], as_index=False).agg(
        students=("students", "sum"), minutes=("minutes", "first")
    )


def _buildings(plan: KgCountyPlan, options, today, after, section) -> pd.DataFrame:
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
                "children_horizon_today": _load(today, base),
                "children_after": _load(after, base),
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


def _load(flows: pd.DataFrame, place: str) -> float:
    return float(flows.loc[flows["place_id"] == place, "students"].sum())


def _changes(plan, buildings, moved, section, names, unreachable) -> list[dict]:
    rows = []
    for b in buildings.itertuples():
        if b.action == "keep":
            continue
        incoming = moved[moved["to_id"] == b.place_id]
        outgoing = moved[moved["from_id"] == b.place_id]
        row = change_row(
            b.action,
            b.place_id,
            students=float(incoming["students"].sum()),
            minutes=(
                mean_minutes(incoming, "minutes_before"),
                mean_minutes(incoming, "minutes_after"),
            ),
        )
        if b.action == "merge_into":
            by_target = outgoing.groupby("to_id")["students"].sum()
            by_target = by_target[by_target >= 0.5].sort_values(ascending=False, kind="stable")
            target = str(by_target.index[0]) if len(by_target) else ""
            where = ", ".join(f"{names.get(t, t) or t} ({round(n)})" for t, n in by_target.items())
            row.update(
                target_id=target,
                students_moved=float(outgoing["students"].sum()),
                minutes=(
                    mean_minutes(outgoing, "minutes_before"),
                    mean_minutes(outgoing, "minutes_after"),
                ),
                reason=f"{b.classes_register} classes with places to spare nearby: its children "
                f"expected at the horizon go to {where}",
            )
        elif b.action == "close":
            row["reason"] = (
                f"{b.classes_register} classes: no child expected within reach at the horizon "
                "in today's network; closes"
            )
        elif b.action == "expand":
            row["reason"] = f"public: adds {b.classes_after - b.classes_register} class(es)"
        elif b.action == "recognise_inclusive":
            row["reason"] = (
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
            row["reason"] = f"{what} of {b.classes_after} classes"
        rows.append(row)
    rows += _shortfall_rows(plan, section, unreachable)
    return rows


def _shortfall_rows(plan: KgCountyPlan, section, unreachable: float) -> list[dict]:
    """A row per county rule the plan cannot keep (a target, or a register value it may
    not fall below), with its cause."""
    rows = []
    short = plan.plan.share_shortfall
    bounds = _bounds(plan, section)
    if short.get("enrolment", 0.0) >= 0.5:
        cause = (
            f"{round(short['enrolment'])} more children would need a place to reach "
            f"{bounds['enrolment']}"
        )
        if unreachable >= 0.5:
            cause += (
                f"; {round(unreachable)} children live where no kindergarten or candidate "
                "site is within the service radius (fix: add candidate sites or widen "
                "kindergarten.radius_km)"
            )
        else:
            cause += "; the places within reach are full and no project fits"
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
    return rows


def _bounds(plan: KgCountyPlan, section) -> dict[str, str]:
    """Each rule's bound in words: the plan's target, or the county's register value
    where that is higher (and may not fall)."""
    floors = {} if section.allow_decrease else plan.county.floors
    targets = {
        "enrolment": section.enrolment_rate,
        "public": section.public_share,
        "inclusive": section.inclusive_share,
    }
    out = {}
    for rule, target in targets.items():
        floor = min(1.0, floors.get(rule, 0.0))
        out[rule] = (
            f"{floor:.1%} (the county's register value, which may not fall; target {target:.1%})"
            if floor > target
            else f"{target:.1%}"
        )
    return out


def _shortfall(target: str, reason: str, unplaced: float = 0.0) -> dict:
    return change_row("shortfall", unseated_students=unplaced, reason=f"{target}: {reason}")
