"""Read a prefecture's solves back as schools after the plan, moves and recommended changes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from layoutopt.data.specialties import codes, joined, named
from layoutopt.programmes.common import (
    change_row,
    exchange_rows,
    expansion_shortfalls,
    flow_words,
    pairs_row,
)
from layoutopt.programmes.flows import (
    NO_SEAT,
    WholeFlows,
    moves_with_minutes,
    region_flows,
    solution_flows,
)
from layoutopt.programmes.vocational.prefecture import (
    CATEGORY,
    PRESENCE,
    PrefectureInput,
    site_table,
)
from layoutopt.scenario import VocationalSection

SHORT = 0.5  # a priced rule's shortfall above this counts (sites or students)


@dataclass
class PrefectureOutcome:
    prefecture_id: str
    places: pd.DataFrame  # site_table + open, modules, streams_after, loads, beds, categories
    today: pd.DataFrame  # flows today
    after: pd.DataFrame  # flows after the plan
    moved: pd.DataFrame  # demand_id, from_id, to_id, students, minutes_before, minutes_after
    whole: WholeFlows  # loads and named flows between schools, in whole students
    shortfall: dict[str, float]  # priced rules short, by group name
    changes: list[dict]


def prefecture_outcome(
    prefecture: PrefectureInput,
    today_solution,
    plan_solution,
    section: VocationalSection,
    stream_size: int,
    standard_streams: int,
    names: pd.Series,
) -> PrefectureOutcome:
    today, after = solution_flows(today_solution), solution_flows(plan_solution)
    moved = moves_with_minutes(today, after, prefecture.travel)
    moved["needs_bed"] = (moved["to_id"] != NO_SEAT) & (
        moved["minutes_after"] > section.boarding_travel_min
    )
    places = site_table(prefecture, section, standard_streams)
    places["open"] = plan_solution.is_open
    places["modules"] = plan_solution.modules
    places["streams_after"] = np.where(
        places["open"], places["streams_open"] + places["modules"], 0
    )
    whole = region_flows(today, after, moved, bed="needs_bed")
    places["students_horizon_today"] = whole.load("today", places["place_id"])
    places["students_after"] = whole.load("after", places["place_id"])
    # Beds for moved students whose trip is long, net of the receiver's spare beds.
    needs = whole.pairs.groupby("to_id")["beds_needed"].sum()
    needs = needs.reindex(places["place_id"]).fillna(0).to_numpy(np.int64)
    places["beds_needed_in"] = needs
    spare = places["spare_beds"].to_numpy(float)
    places["beds_added"] = np.maximum(needs - spare, 0).astype(np.int64)
    places["taken_over"] = _taken_over(places, whole.pairs)
    shortfall = {k: v for k, v in plan_solution.share_shortfall.items() if v > SHORT}
    outcome = PrefectureOutcome(
        prefecture.prefecture_id, places, today, after, moved, whole, shortfall, []
    )
    outcome.changes = _changes(prefecture, outcome, section, names, stream_size)
    return outcome


def receivers(places: pd.DataFrame, pairs: pd.DataFrame) -> pd.Series:
    """Each closed school's receiver: the open school that takes most of its students."""
    closed = places.loc[(places["kind"] == "school") & ~places["open"], "place_id"]
    out = pairs[pairs["from_id"].isin(closed) & (pairs["to_id"] != NO_SEAT)]
    by = out.groupby(["from_id", "to_id"])["students"].sum().reset_index()
    by = by.sort_values(["from_id", "students", "to_id"], ascending=[True, False, True])
    return by.drop_duplicates("from_id").set_index("from_id")["to_id"]


def _taken_over(places: pd.DataFrame, pairs: pd.DataFrame) -> list[str]:
    """Categories each open school takes over from the schools merged into it (those it
    does not teach already)."""
    own = dict(zip(places["place_id"], places["specialties"].map(codes), strict=True))
    taken: dict[str, set[str]] = {}
    for closed, receiver in receivers(places, pairs).items():
        taken.setdefault(receiver, set()).update(set(own[closed]) - set(own[receiver]))
    return [joined(taken.get(p, ())) for p in places["place_id"]]


def _changes(
    prefecture: PrefectureInput,
    outcome: PrefectureOutcome,
    section: VocationalSection,
    names: pd.Series,
    stream_size: int,
) -> list[dict]:
    """A headline row per school that changes, a row for every other school that takes in
    or sends students, then the prefecture's shortfall rows. Each row carries its school's
    county (``region_id``)."""
    places, pairs = outcome.places, outcome.whole.pairs
    rows = _merge_rows(places, pairs, section, names)
    for place in places[places["open"]].itertuples():
        row = _open_row(place, pairs, section, stream_size, names)
        rows += [row] if row else []
    rows += exchange_rows(pairs, {r["school_id"] for r in rows}, names, "students")
    county = places.set_index("place_id")["region_id"]
    rows = [dict(r, region_id=county[r["school_id"]]) for r in rows]
    return rows + _shortfall_rows(prefecture, outcome, section)


def decided_builds_not_held(prefecture: PrefectureInput, decided: pd.DataFrame) -> list[dict]:
    """A shortfall row for each site the review decided to build on that is not a
    candidate of the prefecture (its county has a public vocational school, or an earlier
    programme took the site): the model opens every candidate it is told to."""
    built = decided.index[decided["decision"] == "build"]
    candidates = set(prefecture.places.loc[prefecture.places["kind"] == "site", "place_id"])
    return [
        {
            "region_id": decided.at[site_id, "region_id"],
            **change_row(
                "shortfall",
                str(site_id),
                reason=f"rule decided_build: a new school at {site_id} cannot open: new "
                "vocational schools go only to counties without a public one, and on sites no "
                "earlier programme took (fix: another site, or take the decision out)",
            ),
        }
        for site_id in sorted(set(built) - candidates)
    ]


def decided_expansions_not_held(
    places: pd.DataFrame, decided: pd.DataFrame, section: VocationalSection
) -> list[dict]:
    """A shortfall row for each school the review decided to expand that could not grow:
    it is at or above ``max_streams`` (or opens at the standard it is strengthened to)."""
    expanded = set(places.loc[places["modules"] > 0, "place_id"])
    cause = (
        f"a stream: it is at or above vocational.max_streams ({section.max_streams}) (fix: "
        "take the decision out, or raise max_streams)"
    )
    rows = expansion_shortfalls(decided, expanded, cause)
    # A prefecture's row names the school's own county.
    return [{"region_id": decided.at[r["school_id"], "region_id"], **r} for r in rows]


def _merge_rows(places, pairs, section: VocationalSection, names: pd.Series) -> list[dict]:
    """A row per closed school: its students to the receivers it names, each trip and
    county line said against the travel limit."""
    rows = []
    receiver = receivers(places, pairs)
    own = places.set_index("place_id")["specialties"].map(codes)
    county = places.set_index("place_id")["region_id"]
    for place in places[(places["kind"] == "school") & ~places["open"]].itertuples():
        out = pairs[pairs["from_id"] == place.place_id]
        target = str(receiver.get(place.place_id, NO_SEAT))
        standard = section.standard_students
        why = (
            f"below the standard at the horizon ({place.students_horizon_today:.0f} of its own "
            f"students in today's network < {standard:,})"
        )
        if target == NO_SEAT:  # nobody reaches another school: nobody to move
            stranded = int(out["students"].sum())
            reason = (
                f"{why}: {stranded} of its students at the horizon can reach no other school "
                f"within the {section.max_travel_min:g}-min limit: left without a place (the "
                "prefecture's shortfall row)"
                if stranded
                else f"{why}: no student of the horizon is at it in today's network"
            )
            reason += "; it closes with no receiver; its categories stay with the schools "
            reason += "that teach them"
            rows.append(pairs_row("closed", place.place_id, out, reason, place="place"))
            continue
        reason = f"{why}; merges into {names.get(target, target)}; "
        reason += flow_words(place.place_id, pairs, names, "students")
        reason += _trip_words(out, county, place.region_id, names, section)
        taken = sorted(set(own[place.place_id]) - set(own.get(target, [])))
        if taken:
            reason += f"; the receiver takes over its categories {named(taken)}"
        beds = int(out["beds_needed"].sum())
        if beds:
            reason += (
                f"; {beds} need a bed at their receiver (trip over "
                f"{section.boarding_travel_min:g} min)"
            )
        rows.append(pairs_row("merge_into", place.place_id, out, reason, target=target))
    return rows


def _trip_words(out, county, home: str, names, section: VocationalSection) -> str:
    """The trips of a closed school's students, against the travel limit, and any county
    line they cross."""
    words = []
    for r in out[out["to_id"] != NO_SEAT].itertuples():
        there = county.get(r.to_id, home)
        if there != home:
            words.append(
                f"{r.students} cross into {names.get(there, there)}: "
                f"{r.minutes_after:.0f} min against {r.minutes_before:.0f} before, within "
                f"the {section.max_travel_min:g}-min limit"
                if r.minutes_after <= section.max_travel_min
                else f"{r.students} cross into {names.get(there, there)}: "
                f"{r.minutes_after:.0f} min, no nearer school ({r.minutes_before:.0f} before)"
            )
    if not words:
        worst = out["minutes_after"].max() if len(out) else np.nan
        if np.isfinite(worst):
            words.append(f"longest trip {worst:.0f} min (limit {section.max_travel_min:g})")
    return "; " + "; ".join(words) if words else ""


def _open_row(place, pairs, section: VocationalSection, stream_size: int, names):
    """The headline row of an open school, or None when nothing changes."""
    standard = section.standard_students
    beds = float(place.beds_added)
    reasons = []
    if place.kind == "site":
        action = "new_school"
        reasons.append(
            f"the county has no public vocational school: a new one of {place.streams_after} "
            f"streams ({place.streams_after * stream_size:,} places, built to the standard; at "
            f"least {section.standard_teachers} full-time teachers) as its vocational "
            "education centre (职教中心)"
        )
        if place.students_after < standard:
            reasons.append(
                f"{place.students_after:.0f} students expected, below the standard's "
                f"{standard:,}: kept as the county's centre (every county keeps a public school)"
            )
    elif place.centre and (
        place.strengthen
        or place.students_after < standard
        or place.teachers < section.standard_teachers
    ):
        action = "strengthen"
        reasons.append(_strengthen_text(place, section, stream_size))
    elif place.modules > 0:
        action = "expand"
        reasons.append(f"adds {place.modules} stream(s) for the students it receives")
    elif beds >= 0.5:
        action = "add_beds"
        reasons.append(f"adds {round(beds)} boarding bed(s) for students it receives")
    elif place.held and place.students_after < standard:
        action = "keep_exempt"
    else:
        return None
    if place.held and not place.centre and place.students_after < standard:
        reasons.append(
            f"below the standard ({place.students_after:.0f} < {standard:,}), kept: "
            f"{place.exempt_reason}"
        )
    if place.taken_over:
        reasons.append(f"takes over categories {named(codes(place.taken_over))}")
    if beds >= 0.5 and action != "add_beds":
        reasons.append(f"adds {round(beds)} boarding bed(s)")
    words = flow_words(place.place_id, pairs, names, "students")
    if words:
        reasons.append(words)
    incoming = pairs[pairs["to_id"] == place.place_id]
    return pairs_row(action, place.place_id, incoming, "; ".join(reasons), beds=beds, place="place")


def _strengthen_text(place, section: VocationalSection, stream_size: int) -> str:
    """Why and how a county's centre is strengthened to the standard."""
    text = "the county's vocational education centre (职教中心), kept and strengthened"
    if place.streams_after > place.streams:
        text += (
            f": {place.streams} → {place.streams_after} streams "
            f"({place.streams_after * stream_size:,} places)"
        )
    teachers = max(
        section.standard_teachers, np.ceil(place.students_after / section.students_per_teacher)
    )
    text += f"; needs at least {teachers:.0f} full-time teachers (standard: "
    text += f"{section.standard_teachers}, 1:{section.students_per_teacher:g}; "
    text += f"{place.teachers:.0f} on the register)"
    if place.students_after < section.standard_students:
        text += (
            f"; {place.students_after:.0f} students expected, below the standard's "
            f"{section.standard_students:,}: kept as the county's centre (every county "
            "keeps a public school)"
        )
    return text


def _shortfall_rows(
    prefecture: PrefectureInput, outcome: PrefectureOutcome, section: VocationalSection
) -> list[dict]:
    """One row per rule that cannot hold, naming the rule and the place."""
    rows = []
    places = outcome.places
    for group in sorted(outcome.shortfall):
        kind, _, key = group.partition(":")
        if kind == PRESENCE:
            mine = places[places["region_id"] == key]
            cause = (
                "it has no public vocational school and no candidate site "
                f"(fix: add a site of kinds {', '.join(section.new_school_site_kinds)} in the "
                "sites table)"
                if mine.empty
                else "none of its schools or sites can open under the other rules"
            )
            reason = (
                f"rule county_presence (每县一所公办中职): county {key} keeps no public "
                f"vocational school: {cause}"
            )
            rows.append(dict(change_row("shortfall", reason=reason), region_id=key))
        elif kind == CATEGORY:
            teaching = places[places["specialties"].map(lambda c, k=key: k in codes(c))]
            reason = (
                f"rule specialty_coverage (专业大类不减少): prefecture {prefecture.prefecture_id} "
                f"stops offering category {named([key])}: its {len(teaching)} school(s) that "
                f"teach it ({', '.join(teaching['place_id'])}) cannot stay open at the "
                f"{section.standard_students:,}-student standard (fix: name one in "
                "vocational.exempt, or accept the category's loss)"
            )
            rows.append(
                dict(change_row("shortfall", reason=reason), region_id=prefecture.prefecture_id)
            )
    unseated = float(outcome.whole.after.get(NO_SEAT, 0))
    if unseated >= 0.5:
        cause = (
            f"its schools hold too few streams at the {section.max_streams}-stream cap within "
            f"{section.travel_cutoff_min:g} min (fix: raise vocational.max_streams or add a "
            "candidate site)"
        )
        if _beyond_limit(prefecture, outcome, section):
            cause = (
                f"their school closes below the standard and no open school is within the "
                f"{section.max_travel_min:g}-min travel limit (fix: name the school in "
                "vocational.exempt, or raise vocational.max_travel_min)"
            )
        reason = (
            f"rule places: {round(unseated)} students at the horizon have no place in "
            f"prefecture {prefecture.prefecture_id}: {cause}"
        )
        rows.append(
            dict(
                change_row("shortfall", unseated_students=unseated, reason=reason),
                region_id=prefecture.prefecture_id,
            )
        )
    return rows


def _beyond_limit(prefecture: PrefectureInput, outcome, section: VocationalSection) -> bool:
    """Whether the students without a place have an open school within the cut-off but
    none within the travel limit (their trip today, where longer)."""
    after = outcome.after
    points = set(after.loc[after["place_id"] == NO_SEAT, "demand_id"])
    travel = prefecture.travel[prefecture.travel["demand_id"].isin(points)]
    is_open = set(outcome.places.loc[outcome.places["open"], "place_id"])
    reach = travel[travel["place_id"].isin(is_open)]
    return bool(len(reach)) and bool((reach["minutes"] > section.max_travel_min).all())


def categories_after(places: pd.DataFrame, private_categories: frozenset[str]) -> set[str]:
    """Categories offered after the plan: kept schools' own and those they take over,
    and the private schools'."""
    open_ = places[places["open"]]
    found = {c for cell in open_["specialties"] for c in codes(cell)}
    found |= {c for cell in open_["taken_over"] for c in codes(cell)}
    return found | set(private_categories)
