"""What every programme fills in, and what it hands back to the regional runner.

A programme is a thin policy adapter over the location engine. Its steps are public and
can be called one by one (as ``layoutopt.plan.runner`` calls them):

1. ``prepare(state, scenario)``: the programme's inputs, from the network as the programmes
   before it left it (``PlanState``) and its scenario section;
2. ``split(inputs)``: one picklable input per region (county or prefecture);
3. ``today_problem(region)`` and ``plan_problem(region, today, price)``: the engine problems;
4. ``extract(region, solves)``: a ``RegionOutcome`` (change rows, school rows, KPI counts);
5. ``finish(inputs, outcomes)``: what is worked out over every region at once (the
   manifest's summary, the map's extras, province-wide picks and their rows);
6. ``indicators(inputs, scope, totals, outcomes)``: KPI values for one scope, which the
   runner calls, after ``finish``, for the province, each prefecture and each county;
7. optionally ``count_target(inputs)``, a province-wide count the regions meet together
   (found by a price search), and ``hand_on(state, result)``, the plan it leaves for
   the next programme: by default its sections, flows and region figures written into
   the ledger.

A programme does not loop over regions, solve, write tables or roll KPIs up: the runner does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, ClassVar

import pandas as pd

from layoutopt.engine import LocationProblem, LocationSolution, SolverOptions, solve
from layoutopt.engine.report import SolveReport
from layoutopt.results import ActionSpec, ProgrammeResult
from layoutopt.scenario import Scenario
from layoutopt.state import PlanState


class Scope(StrEnum):
    """The region a programme plans on its own."""

    COUNTY = "county"
    PREFECTURE = "prefecture"


class Rule(StrEnum):
    """How a planned figure is judged against its target in ``kpis.csv``'s ``met``."""

    AT_MOST = "at_most"
    AT_LEAST = "at_least"
    ABOVE = "above"
    EQUAL = "equal"  # within half a unit


class CommonAction(StrEnum):
    """Headline actions of a school that no programme row names."""

    KEEP = "keep"
    CLOSED = "closed"
    AS_DECIDED = "as_decided"
    SHORTFALL = "shortfall"
    UNFINISHED = "unfinished_solve"
    RECEIVE = "receive_students"
    SEND = "send_students"


# Shown for every programme after its own actions (the map legend's order).
COMMON_ACTIONS = (
    ActionSpec(
        CommonAction.SHORTFALL,
        "#000000",
        "缺口",
        "shortfall",
        "a rule of the policy that cannot hold in this region, with its cause and fix",
    ),
    ActionSpec(
        CommonAction.UNFINISHED,
        "#000000",
        "求解未完成",
        "unfinished solve",
        "a solve of this region stopped before proving its plan: its rows are provisional",
    ),
    ActionSpec(
        CommonAction.RECEIVE,
        "#8c96c6",
        "接收学生",
        "takes in students",
        "stays open with no other change and takes in the students its row names (from "
        "schools that close or send them; flows.csv)",
    ),
    ActionSpec(
        CommonAction.SEND,
        "#c994c7",
        "分流学生",
        "sends students",
        "stays open with no other change; some of its students at the horizon go to the "
        "schools its row names (flows.csv)",
    ),
    ActionSpec(
        CommonAction.AS_DECIDED,
        "#636363",
        "按评审决定",
        "as decided at review",
        "a school or site the review meeting decided on (decisions.csv) and the plan changes "
        "in no other way: kept, left unchanged or not built on, as its row says",
    ),
    ActionSpec(CommonAction.KEEP, "#969696", "不变", "unchanged", "no change proposed"),
    ActionSpec(CommonAction.CLOSED, "#252525", "关闭", "closed", "closed by the plan"),
)


@dataclass(frozen=True)
class KpiSpec:
    """An indicator of ``kpis.csv`` (its unit in its name). ``baseline`` and ``planned``
    name region counts that the runner sums over each scope; without ``planned`` the
    programme's ``indicators`` works the row out. ``target`` is a number, or "baseline":
    not above the baseline."""

    name: str
    digits: int
    meaning: str
    zh: str = ""
    baseline: str | None = None
    target: float | str | None = None
    planned: str | None = None
    rule: Rule | None = None


def kpi_table(table: str) -> tuple[KpiSpec, ...]:
    """Indicators one a line: ``name | digits | baseline | target | planned | rule | 中文 |
    meaning``, with ``-`` for none (the programme's indicators, in the order of kpis.csv)."""

    def cell(text: str) -> str | None:
        return None if text == "-" else text

    specs = []
    for line in table.strip().splitlines():
        name, digits, baseline, target, planned, rule, zh, meaning = (
            c.strip() for c in line.split("|")
        )
        goal = cell(target)
        specs.append(
            KpiSpec(
                name,
                int(digits),
                meaning,
                zh,
                cell(baseline),
                goal if goal in (None, "baseline") else float(goal),
                cell(planned),
                Rule(rule) if cell(rule) else None,
            )
        )
    return tuple(specs)


def action_table(codes: type[StrEnum], table: str) -> tuple[ActionSpec, ...]:
    """A programme's actions one a line: ``code | colour | 中文 | English | meaning``, in the
    order the change list and the map legend show them."""
    rows = [[c.strip() for c in line.split("|")] for line in table.strip().splitlines()]
    return tuple(ActionSpec(codes(code), *rest) for code, *rest in rows)


@dataclass(frozen=True)
class Kpi:
    """One indicator's figures at one scope; ``tolerance`` is how far off still counts as
    met."""

    name: str
    baseline: float | None
    target: float | None
    planned: float | None
    rule: Rule | None = None
    tolerance: float = 1e-9


@dataclass
class RegionSolves:
    """The solves of one region: today's network (None where a programme has no such
    solve) and the plan (at one project price). Each has a ``report`` (SolveReport)."""

    today: Any
    plan: Any

    @property
    def reports(self) -> list[SolveReport]:
        return [s.report for s in (self.today, self.plan) if s is not None]


@dataclass
class RegionOutcome:
    """What a region's solves mean, for the runner to assemble.

    ``changes``: change rows (``programmes.common.change_row``); ``schools``: the
    region's rows of the programme's own schools table (SCHOOL_AFTER_COLUMNS, then
    ``name``, the programme's extra columns and a WGS-84 point ``geometry``), for its map
    and reasons; ``counts``: figures that add up across regions (the KPI roll-up sums
    them); ``detail``: what the programme's own indicators and summary need besides.
    """

    region_id: str
    changes: list[dict]
    schools: pd.DataFrame
    counts: dict[str, float]
    detail: dict[str, Any] = field(default_factory=dict)
    # What the ledger takes: the region's sections (results.SECTION_ROW_COLUMNS), its
    # named flows in whole students (ledger.FLOW_COLUMNS) and its region figures (ledger
    # ACCOUNT_COLUMNS without programme), one row per section the region places.
    sections: pd.DataFrame | None = None
    flows: pd.DataFrame | None = None
    accounts: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class CountTarget:
    """A province-wide count that ties the regions together (the plan's "about 500"
    projects, "about 320" schools): the runner searches a price per counted item, added
    to each one's cost in ``plan_problem``, until the regions' ``counts[count]`` add up to
    ``lo``-``hi``. ``start`` is the first price tried, ``step`` the first move,
    ``evaluations`` the most prices tried. ``start`` and ``step`` are in ``unit``."""

    count: str
    lo: int
    hi: int
    start: float
    step: float
    evaluations: int
    unit: str = "yuan"  # the price's unit: the objective's (yuan, or student_min)


class Programme(ABC):
    """A programme's definition; one instance per programme lives in the registry."""

    name: ClassVar[str]
    title: ClassVar[str]  # zh and en, for maps and the closing summary
    people: ClassVar[str] = "students"  # whom it places, as reasons and popups say it
    scope: ClassVar[Scope] = Scope.COUNTY
    actions: ClassVar[tuple[ActionSpec, ...]]
    kpis: ClassVar[tuple[KpiSpec, ...]]
    # Columns of its own in its schools table (map, workbook), after the shared ones; and
    # those of them that describe each of its sections, written to schools_after.csv.
    school_columns: ClassVar[tuple[str, ...]] = ()
    section_columns: ClassVar[tuple[str, ...] | None] = None  # None: its school_columns
    # A programme that plans schools (opens, closes, sizes them) puts its rows in the plan's
    # schools_after; one that only reads them (staffing) keeps its rows to itself.
    plans_schools: ClassVar[bool] = True
    # A programme over every school maps only those named (as school or target) in rows of
    # these actions; by default its map shows all its schools.
    map_actions: ClassVar[tuple[str, ...]] = ()

    def section(self, scenario: Scenario) -> Any:
        """The programme's scenario section (named like the programme)."""
        return getattr(scenario, self.name)

    @property
    def action_order(self) -> list[str]:
        return [str(a.code) for a in (*self.actions, *COMMON_ACTIONS)]

    @abstractmethod
    def prepare(self, state: PlanState, scenario: Scenario) -> Any: ...

    @abstractmethod
    def split(self, inputs: Any) -> dict[str, Any]: ...

    def today_problem(self, region: Any) -> LocationProblem:
        """Today's network as an engine problem (a location programme fills this in)."""
        raise NotImplementedError(f"{self.name} solves no location problem")

    def plan_problem(
        self, region: Any, today: LocationSolution, price: float | None
    ) -> LocationProblem:
        """The plan as an engine problem at ``price`` (a location programme fills this in)."""
        raise NotImplementedError(f"{self.name} solves no location problem")

    def solve(
        self,
        region_id: str,
        region: Any,
        options: SolverOptions,
        price: float | None,
        today: LocationSolution | None,
    ) -> RegionSolves:
        """A region's solves: today's (unless an earlier pass at another price did it) and
        the plan's, as named engine solves. A programme that solves something else (the
        staffing flow) overrides this."""
        if today is None:
            name = f"{self.name}-today:{region_id}"
            today = solve(self.today_problem(region), replace(options, name=name))
        name = f"{self.name}-plan:{region_id}"
        if price is not None:
            name += f"@{price:.0f}"
        plan = solve(self.plan_problem(region, today, price), replace(options, name=name))
        return RegionSolves(today, plan)

    @abstractmethod
    def extract(self, region: Any, solves: RegionSolves) -> RegionOutcome: ...

    @abstractmethod
    def indicators(
        self, inputs: Any, scope: str, totals: pd.Series, outcomes: list[RegionOutcome]
    ) -> list[Kpi]: ...

    def count_target(self, inputs: Any) -> CountTarget | None:
        """A province-wide count the regions must meet together; by default none, and
        each region is planned once, on its own."""
        return None

    def finish(self, inputs: Any, outcomes: list[RegionOutcome]) -> Finish:
        """The manifest's summary of the programme and the map's extras."""
        return Finish()

    def hand_on(self, state: PlanState, result: ProgrammeResult) -> PlanState:
        """The plan after this programme, for the next one: its result written into the
        ledger (``PlanState.record``)."""
        return state.record(result)


@dataclass
class Finish:
    """A programme's closing extras, worked out over every region at once: the manifest's
    summary, choropleths (label -> value by county region_id), service areas, change rows
    (each with its ``region_id``), values of its own schools_after columns (column ->
    value by school_id) and map layers of named schools (label -> school ids)."""

    summary: dict[str, Any] = field(default_factory=dict)
    region_layers: dict[str, pd.Series] = field(default_factory=dict)
    # Class limits of a choropleth (its four inner breaks, e.g. around a ratio's target);
    # a layer without them is classed 0, then by quarters of its largest value.
    region_breaks: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    service_areas: pd.Series | None = None
    changes: list[dict] = field(default_factory=list)
    school_values: dict[str, pd.Series] = field(default_factory=dict)
    school_layers: dict[str, list[str]] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # extra CSVs, by file name
    # Circles of settlements (or other places) for the map: label -> (colour, rows of
    # [lat, lon, metres, tooltip]); a label ending in "(shown)" is on when the map opens.
    point_layers: dict[str, tuple[str, list[list]]] = field(default_factory=dict)
