"""The vocational programme's definition: its inputs, prefecture problems and outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.data.specialties import codes, joined
from layoutopt.decisions import CLOSING, HOLDING
from layoutopt.engine import LocationProblem, LocationSolution
from layoutopt.programmes import base
from layoutopt.programmes.common import change_row, section_flows
from layoutopt.programmes.flows import NO_SEAT, travel_sum
from layoutopt.programmes.streams import stream_schools_after, stream_sections
from layoutopt.programmes.vocational import highlevel
from layoutopt.programmes.vocational import prefecture as problems
from layoutopt.programmes.vocational.greedy import GreedyOutcome, greedy_prefecture
from layoutopt.programmes.vocational.kpis import KPI_SPECS, indicators
from layoutopt.programmes.vocational.network import Network, build_network
from layoutopt.programmes.vocational.outcome import (
    PrefectureOutcome,
    categories_after,
    decided_builds_not_held,
    decided_expansions_not_held,
    prefecture_outcome,
)
from layoutopt.programmes.vocational.prefecture import PrefectureInput, categories_offered
from layoutopt.scenario import Scenario, VocationalSection
from layoutopt.state import PlanState


class Action(StrEnum):
    MERGE_INTO = "merge_into"
    STRENGTHEN = "strengthen"
    NEW_SCHOOL = "new_school"
    EXPAND = "expand"
    ADD_BEDS = "add_beds"
    KEEP_EXEMPT = "keep_exempt"
    BELOW_STANDARD_PRIVATE = "below_standard_private"
    HIGH_LEVEL = "high_level"


# code | colour | 中文 | English | meaning
ACTIONS = base.action_table(
    Action,
    """
merge_into | #d7301f | 合并撤销 | merge into another school | a school below the standard (or beyond the count) closes; its students and categories go to the receiver
strengthen | #762a83 | 达标建设 | strengthen to the standard | a county's vocational education centre (职教中心) below the standard is kept and grown to it
new_school | #1a9850 | 新建 | new school | a new public school where a county has none
expand | #2c7fb8 | 扩建 | expand | a school adds streams (up to max_streams) for the students it receives
add_beds | #74a9cf | 增加床位 | add boarding beds | a school adds beds only: students it receives travel beyond boarding_travel_min
keep_exempt | #fdae61 | 保留（豁免） | below the standard, kept (exempt) | a school below the standard kept with its reason (exempt or must_keep)
below_standard_private | #bf812d | 民办未达标 | private, below the standard | a private school below the standard: reported, not the plan's to close
high_level | #ffd700 | 省级高水平 | provincial high-level school | one of the high_level_schools picked among kept public schools
""",
)
SCHOOL_COLUMNS = ("centre", "specialties_register", "specialties_after", "high_level")
# Classes of the general : vocational map around the plan's "roughly equal" (1.0).
RATIO_BREAKS = (0.8, 1.0, 1.2, 1.5)
HIGH_LEVEL_LAYER = "省级高水平中职学校 high-level schools"


@dataclass(frozen=True)
class Prefecture:
    """What the runner hands a worker for one prefecture."""

    problem: PrefectureInput
    section: VocationalSection
    stream_size: int
    standard_streams: int
    schools: gpd.GeoDataFrame  # every vocational school of the prefecture
    sites: gpd.GeoDataFrame  # its candidate sites
    students: float  # all its students at the horizon
    general_register: float
    general_after: float
    names: pd.Series  # school and site names by id


class Vocational(base.Programme):
    """中等职业学校布局调整: toward about 320 schools, a strong public one per county (6.(1))."""

    name = "vocational"
    title = "中职学校布局调整 Vocational consolidation"
    scope = base.Scope.PREFECTURE
    actions = ACTIONS
    kpis = KPI_SPECS
    school_columns = SCHOOL_COLUMNS

    def prepare(self, state: PlanState, scenario: Scenario) -> Network:
        return build_network(state, scenario)

    def split(self, inputs: Network) -> dict[str, Prefecture]:
        return {p: prefecture_input(inputs, p) for p in inputs.prefecture_ids}

    def today_problem(self, region: Prefecture) -> LocationProblem:
        return problems.today_problem(region.problem, region.section, region.stream_size)

    def plan_problem(
        self, region: Prefecture, today: LocationSolution, price: float | None
    ) -> LocationProblem:
        return problems.plan_problem(
            region.problem,
            today,
            region.section,
            region.stream_size,
            region.standard_streams,
            price,
        )

    def count_target(self, inputs: Network) -> base.CountTarget | None:
        section = inputs.section
        if section.schools_kept is None:
            return None
        lo, hi = section.schools_kept
        return base.CountTarget(
            "schools_after",
            lo,
            hi,
            section.school_price_start,
            section.price_step,
            section.price_evaluations,
            unit="student_min",
        )

    def extract(self, region: Prefecture, solves: base.RegionSolves) -> base.RegionOutcome:
        outcome = prefecture_outcome(
            region.problem,
            solves.today,
            solves.plan,
            region.section,
            region.stream_size,
            region.standard_streams,
            region.names,
        )
        greedy = greedy_prefecture(
            outcome.places, outcome.today, region.problem.travel, region.section, region.stream_size
        )
        schools = prefecture_schools_after(region, outcome)
        changes = outcome.changes + _private_rows(region, schools)
        changes += decided_builds_not_held(region.problem, region.problem.decided)
        changes += decided_expansions_not_held(
            outcome.places, region.problem.decided, region.section
        )
        prefecture_id = region.problem.prefecture_id
        places = outcome.places.set_index("place_id")
        sites = region.sites.set_index("place_id")
        return base.RegionOutcome(
            region_id=prefecture_id,
            changes=changes,
            schools=schools,
            counts=prefecture_counts(region, outcome, greedy, schools),
            detail={"greedy": greedy.merges},
            sections=stream_sections(schools, places, "vocational", sites),
            flows=section_flows(outcome.whole.pairs, "vocational", prefecture_id),
            accounts=[
                {
                    "region_id": prefecture_id,
                    "section": "vocational",
                    "students_horizon": region.students,
                    "unplaced_horizon_today": float(outcome.whole.today.get(NO_SEAT, 0)),
                    "unplaced_after": float(outcome.whole.after.get(NO_SEAT, 0)),
                    "far_without_bed_after": 0.0,
                }
            ],
        )

    def indicators(
        self, inputs: Network, scope: str, totals: pd.Series, outcomes: list[base.RegionOutcome]
    ) -> list[base.Kpi]:
        # The pick is province-wide: made once, in finish, and counted here by scope.
        assert inputs.high_level is not None, "finish picks the high-level schools first"
        return indicators(scope, totals, outcomes, inputs.section, inputs.high_level)

    def finish(self, inputs: Network, outcomes: list[base.RegionOutcome]) -> base.Finish:
        schools = pd.concat([o.schools for o in outcomes if len(o.schools)], ignore_index=True)
        picked = highlevel.pick(schools, inputs.section)
        inputs.high_level = picked
        score_rule = highlevel.rule(inputs.section)
        flag = schools["school_id"].isin(picked["school_id"])
        region = schools.set_index("school_id")["region_id"]
        rows = [
            dict(
                change_row(
                    Action.HIGH_LEVEL,
                    row.school_id,
                    reason=f"rank {row.rank} of {len(picked)} by score {row.score:.2f} "
                    f"({score_rule})",
                ),
                region_id=region[row.school_id],
            )
            for row in picked.itertuples()
        ]
        layers = _ratio_layers(inputs, outcomes)
        closed_pins = sorted(set(inputs.section.high_level_pin) - set(picked["school_id"]))
        return base.Finish(
            summary={
                "projection": inputs.projection,
                "stream_size_students": inputs.stream_size,
                "standard_streams": inputs.standard_streams,
                "general_students_source": inputs.general_source,
                "high_level_pinned_not_kept": closed_pins,
                "greedy_merges": {
                    k: v for o in outcomes for k, v in sorted(o.detail["greedy"].items())
                },
            },
            region_layers=layers,
            region_breaks=dict.fromkeys(layers, RATIO_BREAKS),
            changes=rows,
            school_values={"high_level": pd.Series(flag.to_numpy(), index=schools["school_id"])},
            school_layers={HIGH_LEVEL_LAYER: list(picked["school_id"])},
        )


def prefecture_input(network: Network, prefecture_id: str) -> Prefecture:
    regions = network.regions[network.regions["prefecture_id"] == prefecture_id]
    counties = tuple(sorted(regions["region_id"]))
    schools = network.schools[network.schools["prefecture_id"] == prefecture_id]
    public = schools[schools["ownership"] == "public"]
    private = schools[schools["ownership"] != "public"]
    sites = network.sites[network.sites["region_id"].isin(counties)]
    demand = network.demand[network.demand["prefecture_id"] == prefecture_id]
    section = network.section
    standard = section.standard_students
    # A school at the standard (on the register or with its own students at the horizon)
    # is not closed: the standard is what closing is for.
    at_standard = (public["students_register"] >= standard) | (
        public["students_horizon"] >= standard
    )
    exempt = public["school_id"].isin(section.exempt)
    alone = _isolated(public["school_id"], network.travel, section.max_travel_min)
    decided = network.decided[network.decided["region_id"].isin(counties)]
    said = decided["decision"].reindex(public["school_id"]).fillna("")
    merges = decided.loc[decided["decision"] == "merge_into", "target_id"]
    by_review = said.isin(HOLDING).to_numpy() | public["school_id"].isin(merges)
    held = public["centre"] | public["must_keep"].astype(bool) | exempt | at_standard | alone
    held = (held | by_review) & ~said.isin(CLOSING).to_numpy()
    built = decided["decision"].reindex(sites["place_id"]).fillna("").to_numpy()
    sites, built = sites[built != "do_not_build"], built[built != "do_not_build"]
    reason = [
        "by the review's decision"
        if s in set(merges) or said[s] in ("keep", "no_change")
        else f"exempt in the scenario: {section.exempt[s]}"
        if s in section.exempt
        else (
            f"at the {standard:,}-student standard ({r:.0f} on the register, {h:.0f} of its "
            "own at the horizon)"
            if max(r, h) >= standard
            else (
                f"its students can reach no other school within the "
                f"{section.max_travel_min:g}-min travel limit"
                if lone
                else "marked must_keep"
            )
        )
        for s, r, h, lone in zip(
            public["school_id"],
            public["students_register"],
            public["students_horizon"],
            alone,
            strict=True,
        )
    ]
    places = pd.concat(
        [
            pd.DataFrame(
                {
                    "place_id": public["school_id"],
                    "kind": "school",
                    "region_id": public["region_id"],
                    "streams": public["streams"].astype(int),
                    "teachers": public["teachers"],
                    "spare_beds": (public["boarding_beds"] - public["boarders"]).clip(lower=0),
                    "centre": public["centre"].astype(bool),
                    "held": held.astype(bool),
                    "exempt_reason": reason,
                    "specialties": public["specialties"],
                    "decided": said.to_numpy(),
                    "merge_target": merges.reindex(public["school_id"]).fillna("").to_numpy(),
                }
            ),
            pd.DataFrame(
                {
                    "place_id": sites["place_id"],
                    "kind": "site",
                    "region_id": sites["region_id"],
                    "streams": 0,
                    "teachers": 0,
                    "spare_beds": 0,
                    "centre": True,
                    "held": False,
                    "exempt_reason": "",
                    "specialties": "",
                    "decided": built,
                    "merge_target": "",
                }
            ),
        ],
        ignore_index=True,
    )
    travel = network.travel[
        network.travel["place_id"].isin(places["place_id"])
        & network.travel["demand_id"].isin(demand["demand_id"])
    ]
    problem = PrefectureInput(
        prefecture_id=prefecture_id,
        places=places,
        demand=demand[["demand_id", "students", "own", "region_id"]].reset_index(drop=True),
        travel=travel.reset_index(drop=True),
        counties=counties,
        private_categories=frozenset(c for cell in private["specialties"] for c in codes(cell)),
        decided=decided[["decision", "target_id", "region_id"]],
    )
    names = pd.concat([schools.set_index("school_id")["name"], sites.set_index("place_id")["name"]])
    names = pd.concat([names, network.regions.set_index("region_id")["county"]])
    students = network.county_students
    return Prefecture(
        problem,
        section,
        network.stream_size,
        network.standard_streams,
        schools.reset_index(drop=True),
        sites.reset_index(drop=True),
        float(students.loc[students["prefecture_id"] == prefecture_id, "students"].sum()),
        float(network.general_register.get(prefecture_id, 0.0)),
        float(network.general_students.get(prefecture_id, 0.0)),
        names,
    )


def _isolated(schools: pd.Series, travel: pd.DataFrame, limit: float) -> np.ndarray:
    """Whether each school's own students (its demand point) reach no other place within
    the travel limit, or their trip to it today where that is longer: closing it would
    leave them without a place."""
    point = "school:" + schools.astype(str)
    mine = travel[travel["demand_id"].isin(set(point))]
    own = mine["place_id"].to_numpy() == mine["demand_id"].str.removeprefix("school:").to_numpy()
    today = mine[own].set_index("demand_id")["minutes"]
    allowed = np.maximum(today.reindex(mine["demand_id"]).fillna(0).to_numpy(), limit)
    reach = mine[~own & (mine["minutes"].to_numpy() <= allowed)]
    return ~point.isin(set(reach["demand_id"])).to_numpy()


def prefecture_schools_after(region: Prefecture, outcome: PrefectureOutcome) -> pd.DataFrame:
    """The prefecture's vocational schools and each new school, as rows of schools_after,
    with their centre flag and specialty categories (register; after: own and taken over).
    A private school keeps its register students grown at the prefecture's rate."""
    places = outcome.places.set_index("place_id")
    frame = stream_schools_after(
        region.schools,
        places,
        region.schools["students_private_after"].to_numpy(),
        region.stream_size,
        level="vocational",
        sites=region.sites.set_index("place_id"),
    )
    new = frame["school_id"].isin(region.sites["place_id"])
    frame["centre"] = frame["centre"].where(~new, True).astype(bool)
    frame["specialties_register"] = frame["specialties"].fillna("")
    taken = places["taken_over"].reindex(frame["school_id"]).fillna("").to_numpy()
    frame["specialties_after"] = [
        joined([*codes(own), *codes(more)]) if is_open else ""
        for own, more, is_open in zip(
            frame["specialties_register"], taken, frame["open"], strict=True
        )
    ]
    frame["high_level"] = False
    return frame


def _private_rows(region: Prefecture, schools: pd.DataFrame) -> list[dict]:
    """A row for each private school below the standard after the plan (reported only)."""
    standard = region.section.standard_students
    private = schools[(schools["ownership"] != "public") & (schools["students_after"] < standard)]
    return [
        dict(
            change_row(
                Action.BELOW_STANDARD_PRIVATE,
                row.school_id,
                reason=f"private: {row.students_after} students expected, below the "
                f"{standard:,}-student standard; not the plan's to close (for the "
                "department's review of its licence and support)",
            ),
            region_id=row.region_id,
        )
        for row in private.itertuples()
    ]


def prefecture_counts(
    region: Prefecture, outcome: PrefectureOutcome, greedy: GreedyOutcome, schools: pd.DataFrame
) -> dict[str, float]:
    """The prefecture's figures before and after the plan, and the greedy plan's."""
    section = region.section
    standard = section.standard_students
    places = outcome.places
    open_places = places[places["open"]]
    is_open = schools["open"].to_numpy(bool)
    public = (schools["ownership"] == "public").to_numpy()
    register = ~schools["school_id"].isin(region.sites["place_id"])  # not a new school
    counties = region.problem.counties
    with_public = set(schools.loc[public & is_open, "region_id"])
    with_public_register = set(schools.loc[public & register.to_numpy(), "region_id"])
    offered = categories_offered(region.problem)
    after = categories_after(places, region.problem.private_categories)
    below = is_open & (schools["students_after"].to_numpy() < standard)
    explained = (
        schools["centre"].to_numpy(bool)
        | schools["school_id"].isin(places.loc[places["held"], "place_id"]).to_numpy()
    )
    new_schools = int((open_places["kind"] == "site").sum())
    streams_added = int((open_places["streams_after"] - open_places["streams"]).sum())
    beds = float(places["beds_added"].sum())
    capital = {  # yuan, at the scenario's unit costs (never the objective's weights)
        "capital_yuan_streams": streams_added * section.stream_capital_yuan,
        "capital_yuan_new_schools": new_schools * section.new_school_capital_yuan,
        "capital_yuan_beds": beds * section.bed_capital_yuan,
    }
    private_count = int((~public).sum())
    today_travel = travel_sum(outcome.today)
    return {
        "students": region.students,
        "schools_register": int(register.sum()),
        "schools_after": int(is_open.sum()),
        "counties": len(counties),
        "counties_public_register": len(with_public_register & set(counties)),
        "counties_public_after": len(with_public & set(counties)),
        "below_register": int((register & (schools["students_register"] < standard)).sum()),
        "below_after": int(below.sum()),
        "below_unexplained": int((below & public & ~explained).sum()),
        "private_below_after": int((below & ~public).sum()),
        "categories_register": len(offered),
        "categories_after": len(offered & after),
        "categories_lost": len(offered - after),
        "unseated_horizon_today": float(outcome.whole.today.get(NO_SEAT, 0)),
        "unseated_after": float(outcome.whole.after.get(NO_SEAT, 0)),
        "students_placed_after": float(schools.loc[is_open, "students_after"].sum()),
        "vocational_register": float(schools["students_register"].sum()),
        "general_register": region.general_register,
        "general_after": region.general_after,
        "streams_added": streams_added,
        "strengthened": int(sum(1 for c in outcome.changes if c["action"] == "strengthen")),
        "new_schools": new_schools,
        "beds_added": beds,
        **capital,
        "capital_yuan_total": sum(capital.values()),
        "plan_added_travel": travel_sum(outcome.after) - today_travel,
        "greedy_schools_after": greedy.public_kept + private_count,
        "greedy_below_left": greedy.below_standard_left,
        "greedy_streams_added": greedy.streams_added,
        "greedy_added_travel": greedy.travel_student_min - today_travel,
        "greedy_unseated": greedy.unseated,
    }


def _ratio_layers(inputs: Network, outcomes: list[base.RegionOutcome]) -> dict[str, pd.Series]:
    """General : vocational students by prefecture, painted on its counties: the register
    (left pane) and after the plans (right pane)."""
    prefecture = inputs.regions.set_index("region_id")["prefecture_id"]
    counts = {o.region_id: o.counts for o in outcomes}

    def layer(general: str, vocational: str) -> pd.Series:
        values = {
            p: c[general] / c[vocational] if c[vocational] else np.nan for p, c in counts.items()
        }
        return prefecture.map(values).astype(float)

    return {
        "普职比 general : vocational, register": layer("general_register", "vocational_register"),
        "普职比 general : vocational, after the plan": layer(
            "general_after", "students_placed_after"
        ),
    }
