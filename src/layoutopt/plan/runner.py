"""The regional runner: one programme over every region, on an executor.

It owns what every programme would otherwise repeat: the loop over regions, the "today"
solve, solve names, the change and school tables, and the KPI roll-up from county to
prefecture and province. A programme only says what its problems and outcomes are.
"""

from __future__ import annotations

import pickle
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.decisions import words
from layoutopt.engine import LocationSolution, SolverOptions
from layoutopt.engine.report import SolveReport, SolveStatus
from layoutopt.errors import LayoutoptError
from layoutopt.ledger import ACCOUNT_COLUMNS, FLOW_COLUMNS
from layoutopt.plan.executors import SerialExecutor
from layoutopt.plan.kpi import met
from layoutopt.plan.ledger_figures import LABELS, ledger_kpis
from layoutopt.plan.registry import REGISTRY
from layoutopt.plan.reuse import Earlier, Solved, priced, region_key
from layoutopt.plan.search import Results, search_price
from layoutopt.programmes.base import (
    CommonAction,
    CountTarget,
    Kpi,
    KpiSpec,
    Programme,
    RegionOutcome,
    RegionSolves,
)
from layoutopt.programmes.common import change_row
from layoutopt.progress import Progress
from layoutopt.results import (
    CHANGE_COLUMNS,
    KPI_COLUMNS,
    SCHOOL_AFTER_COLUMNS,
    SCHOOL_FIGURES,
    SCHOOL_REVIEW_COLUMNS,
    SECTION_ROW_COLUMNS,
    ProgrammeResult,
)
from layoutopt.scenario import Scenario
from layoutopt.state import PlanState


def solve_region(
    programme_name: str,
    region_id: str,
    region: Any,
    options: SolverOptions,
    price: float | None,
    today: LocationSolution | None,
) -> tuple[RegionSolves, RegionOutcome]:
    """One region's solves and outcome (runs in a worker). ``today`` is solved here unless
    an earlier pass (another project price) already did."""
    programme = REGISTRY[programme_name]
    solves = programme.solve(region_id, region, options, price, today)
    return solves, programme.extract(region, solves)


def largest_first(regions: dict[str, Any]) -> list[str]:
    """Region ids, the largest region first, by its pickled size (which follows its travel
    table, and so its problem). A large county started last keeps one worker busy after
    the others are done: in Shanxi's high-school pass, one county of 117 takes a third of
    the solving time. The results are put in region order whatever order they ran in."""
    size = {r: len(pickle.dumps(region, pickle.HIGHEST_PROTOCOL)) for r, region in regions.items()}
    return sorted(regions, key=lambda r: (-size[r], r))


@dataclass
class RegionalRunner:
    """Runs a programme region by region on ``executor``. Its result lists every solve that
    ran (today's once per region, then the plan's at each price tried), in region order
    within each pass, whatever order the regions finished in."""

    executor: Executor
    scenario: Scenario
    progress: Progress
    earlier: Earlier | None = None  # an earlier run's prices and solved regions

    def run(self, programme: Programme, state: PlanState) -> tuple[ProgrammeResult, PlanState]:
        """The programme's result, and the plan after it (its result in the ledger). The
        change rows' school figures are then read from the ledger."""
        result = self.result(programme, state)
        after = programme.hand_on(state, result)
        figures = school_figures(result, after)
        result.changes = with_figures(
            result.changes, figures, programme.people, self.scenario.horizon_year
        )
        shared = ledger_kpis(
            after.ledger, programme.name, regions_table(state), programme.scope, result.changes
        )
        if len(shared):
            result.kpis = pd.concat([result.kpis, shared], ignore_index=True)
            result.kpi_labels |= LABELS
        return result, after

    def result(self, programme: Programme, state: PlanState) -> ProgrammeResult:
        self.progress.say(f"{programme.name}: preparing inputs (students at the horizon, travel)")
        inputs = programme.prepare(state, self.scenario)
        regions = programme.split(inputs)
        options = solver_options(self.scenario)
        keys = {r: region_key(programme.name, r, region, options) for r, region in regions.items()}
        todays: dict[str, LocationSolution] = {}
        solves: list[SolveReport] = []

        target = self._started(programme, programme.count_target(inputs))
        unit = target.unit.replace("_", "-") if target else ""

        def evaluate(price: float | None, kept: Results) -> Results:
            todo = {r: region for r, region in regions.items() if r not in kept}
            label = programme.name if price is None else f"{programme.name} @ {price:,.0f} {unit}"
            done = self._pass(programme.name, label, todo, options, price, todays, keys)
            for region_id, (region_solves, _) in done.items():
                if region_id not in todays and region_solves.today is not None:
                    todays[region_id] = region_solves.today
                    solves.append(region_solves.today.report)
                solves.append(region_solves.plan.report)
            return dict(sorted({**kept, **done}.items()))

        if target is None:
            final, search = evaluate(None, {}), {}
        else:
            final, search = search_price(target, evaluate)
        price = search.get(f"price_{target.unit}") if target else None
        outcomes = [provisional(*final[r]) for r in sorted(final)]
        result = self._result(programme, inputs, state, outcomes, solves, search)
        result.regions = {r: Solved(priced(keys[r], price), *final[r]) for r in sorted(final)}
        return result

    def _started(self, programme: Programme, target: CountTarget | None) -> CountTarget | None:
        """The count target, its price search started where the earlier run's ended."""
        earlier = self.earlier.price(programme.name) if self.earlier else None
        if target is None or earlier is None:
            return target
        return replace(target, start=earlier)

    def _pass(
        self,
        name: str,
        label: str,
        regions: dict[str, Any],
        options: SolverOptions,
        price: float | None,
        todays: dict[str, LocationSolution],
        keys: dict[str, str],
    ) -> Results:
        taken = self._taken(name, regions, price, keys)
        regions = {r: region for r, region in regions.items() if r not in taken}
        if not regions:
            return taken
        futures: dict[str, Future] = {}
        order = (
            list(regions) if isinstance(self.executor, SerialExecutor) else largest_first(regions)
        )
        with self.progress.regions(label, len(regions)) as advance:
            for region_id in order:
                future = self.executor.submit(
                    solve_region,
                    name,
                    region_id,
                    regions[region_id],
                    options,
                    price,
                    todays.get(region_id),
                )
                future.add_done_callback(lambda _f: advance())
                futures[region_id] = future
            try:
                done = {region_id: futures[region_id].result() for region_id in sorted(futures)}
                return dict(sorted({**taken, **done}.items()))
            except BrokenProcessPool:
                raise LayoutoptError(
                    f"{name}: a worker process stopped before its regions were solved (out "
                    "of memory, killed, or a script that calls make_plan without "
                    "`if __name__ == '__main__':`) (fix: run again with --workers 1, or guard "
                    "the script's entry point)"
                ) from None
            except Exception as exc:
                if type(exc).__name__ != "KilledWorker":  # Dask gave up on a region
                    raise
                raise LayoutoptError(
                    f"{name}: Dask workers died running the same region again and again "
                    f"({exc}) (fix: give workers more memory, or raise "
                    "distributed.scheduler.allowed-failures)"
                ) from None

    def _taken(
        self, name: str, regions: dict[str, Any], price: float | None, keys: dict[str, str]
    ) -> Results:
        """The regions the earlier run solved from the same inputs at this price."""
        if self.earlier is None:
            return {}
        taken: Results = {}
        for region_id in regions:
            found = self.earlier.find(name, region_id, priced(keys[region_id], price))
            self.earlier.count(name, region_id, taken=found is not None)
            if found is not None:
                taken[region_id] = (found.solves, found.outcome)
        if taken:
            self.progress.say(
                f"{name}: {len(taken)} of {len(regions)} regions taken from {self.earlier.run} "
                "(their inputs are unchanged)"
            )
        return taken

    def _result(
        self,
        programme: Programme,
        inputs: Any,
        state: PlanState,
        outcomes: list[RegionOutcome],
        solves: list[SolveReport],
        search: dict[str, Any],
    ) -> ProgrammeResult:
        regions = regions_table(state)
        finish = programme.finish(inputs, outcomes)
        schools = schools_after(programme, outcomes, regions, state.dataset.schools.crs)
        for column, values in finish.school_values.items():
            schools[column] = values.reindex(schools["school_id"]).to_numpy()
        # A row names its own county where the region is wider (a prefecture programme).
        rows = [{"region_id": o.region_id, **c} for o in outcomes for c in o.changes]
        rows += finish.changes
        rows = decided_rows(rows, state.decisions.of(programme.name))
        names = pd.concat(
            [state.schools.set_index("school_id")["name"], schools.set_index("school_id")["name"]]
        )
        changes = changes_table(rows, regions, names[~names.index.duplicated()], programme)
        return ProgrammeResult(
            programme=programme.name,
            sections=_frames([o.sections for o in outcomes], SECTION_ROW_COLUMNS),
            flows=_frames([o.flows for o in outcomes], FLOW_COLUMNS)
            if any(o.flows is not None for o in outcomes)
            else pd.DataFrame(columns=FLOW_COLUMNS),
            accounts=pd.DataFrame(
                [a for o in outcomes for a in o.accounts], columns=ACCOUNT_COLUMNS[1:]
            ),
            title=programme.title,
            people=programme.people,
            actions=programme.actions,
            kpi_labels={k.name: (k.zh, k.meaning) for k in programme.kpis},
            changes=changes,
            kpis=roll_up(programme, inputs, outcomes, regions),
            schools_after=_with_headline(schools, changes, programme),
            solves=solves,
            summary={**search, **finish.summary},
            region_layers=finish.region_layers,
            region_breaks=finish.region_breaks,
            service_areas=finish.service_areas,
            school_layers=finish.school_layers,
            point_layers=finish.point_layers,
            tables=finish.tables,
            map_actions=programme.map_actions,
            plans_schools=programme.plans_schools,
            section_columns=programme.school_columns
            if programme.section_columns is None
            else programme.section_columns,
        )


def decided_rows(rows: list[dict], decided: pd.DataFrame) -> list[dict]:
    """Every row of a school or site the review decided on says so, first in its reason; a
    decision that leaves no row of its own (a school kept that the plan keeps anyway, a
    site not built on) gets one, so each decision is seen in the change list."""
    if decided.empty:
        return rows
    said = {school_id: words(row) for school_id, row in decided.iterrows()}
    out = [
        dict(r, reason=f"{said[r['school_id']]}; {r['reason']}") if r["school_id"] in said else r
        for r in rows
    ]
    listed = {r["school_id"] for r in rows}
    for school_id, row in decided.iterrows():
        if school_id not in listed:
            made = change_row(CommonAction.AS_DECIDED, str(school_id), reason=said[school_id])
            out.append({"region_id": row["region_id"], **made})
    return out


def _frames(frames: list[pd.DataFrame | None], columns: list[str]) -> pd.DataFrame | None:
    """The regions' tables as one, or None where the programme gives none."""
    given = [f for f in frames if f is not None]
    if not given:
        return None
    filled = [f for f in given if len(f)]
    table = pd.concat(filled, ignore_index=True) if filled else pd.DataFrame(columns=columns)
    return table.reindex(columns=columns)


def provisional(solves: RegionSolves, outcome: RegionOutcome) -> RegionOutcome:
    """A region whose solves did not all finish (time limit, error) infers nothing: its
    shortfall rows are dropped, its other rows marked provisional, and one row names the
    solve, its status and gap."""
    unfinished = [r for r in solves.reports if r.status != SolveStatus.OPTIMAL]
    if not unfinished:
        return outcome
    said = "; ".join(
        f"{r.name} {r.status}" + ("" if r.gap is None else f", gap {r.gap:.1%}") for r in unfinished
    )
    rows = [
        dict(c, reason=f"provisional ({said}): {c['reason']}")
        for c in outcome.changes
        if c["action"] != CommonAction.SHORTFALL
    ]
    rows.append(
        change_row(
            CommonAction.UNFINISHED,
            reason=f"{said}: this region's plan is not proven and no shortfall is inferred "
            "from it (fix: raise solver.time_limit_s, or solver.mip_gap)",
        )
    )
    return replace(outcome, changes=rows)


def regions_table(state: PlanState) -> pd.DataFrame:
    """region_id, county, prefecture_id, prefecture of every county."""
    regions = pd.DataFrame(state.dataset.regions.drop(columns="geometry"))
    regions = regions.rename(columns={"name": "county", "prefecture_name": "prefecture"})
    return regions[["region_id", "county", "prefecture_id", "prefecture"]]


def schools_after(
    programme: Programme, outcomes: list[RegionOutcome], regions: pd.DataFrame, crs: Any
) -> gpd.GeoDataFrame:
    """The regions' school rows as one table in school_id order, county and prefecture named
    (the headline action is added once the change table is known)."""
    frames = [o.schools for o in outcomes if len(o.schools)]
    if not frames:
        return gpd.GeoDataFrame(
            columns=[*SCHOOL_AFTER_COLUMNS, *SCHOOL_REVIEW_COLUMNS, "geometry"], crs=crs
        )
    frame = pd.concat(frames, ignore_index=True)
    by_region = regions.set_index("region_id")
    frame["county"] = by_region["county"].reindex(frame["region_id"]).to_numpy()
    frame["prefecture"] = by_region["prefecture"].reindex(frame["region_id"]).to_numpy()
    frame = frame.sort_values("school_id", kind="stable").reset_index(drop=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=crs)


def _with_headline(
    schools: gpd.GeoDataFrame, changes: pd.DataFrame, programme: Programme
) -> gpd.GeoDataFrame:
    """Each school's headline action: the first of its change rows in the programme's
    order; ``keep`` without one, ``closed`` if it closes without one."""
    order = programme.action_order
    rows = changes[changes["school_id"] != ""][["school_id", "action"]]
    rows = rows.assign(order=rows["action"].map(order.index))
    first = rows.sort_values(["school_id", "order"]).drop_duplicates("school_id")
    action = first.set_index("school_id")["action"].reindex(schools["school_id"])
    action = action.fillna(str(CommonAction.KEEP)).to_numpy(dtype=object)
    closed = ~schools["open"].astype(bool).to_numpy() & (action == CommonAction.KEEP)
    action[closed] = str(CommonAction.CLOSED)
    schools = schools.assign(action=action)
    extra = [c for c in programme.school_columns if c in schools.columns]
    columns = [*SCHOOL_AFTER_COLUMNS, *SCHOOL_REVIEW_COLUMNS, *extra, "geometry"]
    return gpd.GeoDataFrame(schools[columns], geometry="geometry", crs=schools.crs)


def roll_up(
    programme: Programme, inputs: Any, outcomes: list[RegionOutcome], regions: pd.DataFrame
) -> pd.DataFrame:
    """KPIs for the province, each prefecture and (for county programmes) each county."""
    ids = [o.region_id for o in outcomes]
    counts = pd.DataFrame([o.counts for o in outcomes], index=ids)
    prefecture = pd.Series(ids, index=ids, dtype=str)  # a prefecture programme's regions
    if programme.scope == "county":
        prefecture = regions.set_index("region_id")["prefecture_id"].reindex(ids).astype(str)
    scopes: list[tuple[str, str, list[int]]] = [("province", "all", list(range(len(ids))))]
    for pid in sorted(set(prefecture)):
        scopes.append(("prefecture", pid, list(np.flatnonzero(prefecture.to_numpy() == pid))))
    if programme.scope == "county":
        scopes += [("county", rid, [k]) for k, rid in sorted(enumerate(ids), key=lambda x: x[1])]
    rows = []
    for scope, scope_id, members in scopes:
        totals = counts.iloc[members].sum(numeric_only=True)
        group = [outcomes[k] for k in members]
        worked_out = {k.name: k for k in programme.indicators(inputs, scope, totals, group)}
        for spec in programme.kpis:
            kpi = worked_out.get(spec.name) if spec.planned is None else summed(spec, totals)
            if kpi is not None:
                rows.append(_kpi_row(programme.name, scope, scope_id, kpi, spec.digits))
    return pd.DataFrame(rows, columns=KPI_COLUMNS)


def summed(spec: KpiSpec, totals: pd.Series) -> Kpi:
    """A KPI read off the scope's summed counts."""
    baseline = float(totals[spec.baseline]) if spec.baseline else None
    target = baseline if spec.target == "baseline" else spec.target
    assert spec.planned is not None
    return Kpi(spec.name, baseline, target, float(totals[spec.planned]), spec.rule)


def _kpi_row(programme: str, scope: str, scope_id: str, kpi: Kpi, digits: int) -> dict:
    return {
        "programme": programme,
        "indicator": kpi.name,
        "scope": scope,
        "scope_id": scope_id,
        "baseline": _round(kpi.baseline, digits),
        "target": _round(kpi.target, digits),
        "planned": _round(kpi.planned, digits),
        "met": met(kpi),
    }


def _round(value: float | None, digits: int) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return round(float(value), digits)


def solver_options(scenario: Scenario) -> SolverOptions:
    """The engine's options from the scenario's [solver] section."""
    solver = scenario.solver
    return SolverOptions(
        backend=solver.backend,
        time_limit_s=solver.time_limit_s,
        mip_gap=solver.mip_gap,
        threads=solver.threads,
    )


WHOLE = ["students_moved", "students_unseated", "beds_added", "teachers"]
FIGURES = [c for c in SCHOOL_FIGURES if c != "size_unit"]
PREFECTURE_WIDE = "全市 prefecture-wide"  # the county cell of a prefecture's own row


def changes_table(
    rows: list[dict], regions: pd.DataFrame, names: pd.Series, programme: Programme
) -> pd.DataFrame:
    """A programme's change rows (each with ``region_id`` and ``minutes`` = (before, after))
    as CHANGE_COLUMNS: names, county and prefecture, whole numbers, stable order; the
    school's figures are added by ``with_figures``. ``names``: school and site names by
    id."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    by_region = regions.set_index("region_id")
    frame["programme"] = programme.name
    frame["school_name"] = names.reindex(frame["school_id"]).fillna("").to_numpy()
    frame["target_name"] = names.reindex(frame["target_id"]).fillna("").to_numpy()
    # A prefecture's own row (a prefecture programme's shortfall) names the prefecture.
    prefectures = regions.drop_duplicates("prefecture_id").set_index("prefecture_id")
    county_of = by_region["prefecture"].reindex(frame["region_id"]).to_numpy()
    own = prefectures["prefecture"].reindex(frame["region_id"]).to_numpy()
    frame["prefecture"] = np.where(pd.isna(county_of), own, county_of)
    county = by_region["county"].reindex(frame["region_id"]).to_numpy()
    frame["county"] = np.where(pd.isna(county), np.where(pd.isna(own), "", PREFECTURE_WIDE), county)
    frame["subject"] = frame["subject"].fillna("")
    frame["travel_min_before"] = [round(m[0], 1) for m in frame["minutes"]]
    frame["travel_min_after"] = [round(m[1], 1) for m in frame["minutes"]]
    for column in WHOLE:
        frame[column] = frame[column].astype(float).round().astype("Int64")
    for column in SCHOOL_FIGURES:
        frame[column] = pd.NA
    frame["order"] = frame["action"].map(programme.action_order.index)
    frame = frame.sort_values(["region_id", "order", "school_id"], kind="stable")
    return frame[CHANGE_COLUMNS].reset_index(drop=True)


def school_figures(result: ProgrammeResult, state: PlanState) -> pd.DataFrame:
    """Each school's figures as the change list shows them: the sections the programme
    planned, added up from the ledger (a complete secondary school's junior section for
    boarding, its senior one for high schools); a programme without sections (staffing),
    its own table's."""
    if result.sections is None:
        table = result.schools_after
        if table is None or table.empty:
            return pd.DataFrame(columns=["school_id", *SCHOOL_FIGURES]).set_index("school_id")
        return table.set_index("school_id")[SCHOOL_FIGURES]
    sections = state.ledger.sections
    keys = pd.MultiIndex.from_frame(result.sections[["school_id", "section"]])
    mine = sections.set_index(["school_id", "section"]).reindex(keys).reset_index()
    by = mine.groupby("school_id", sort=False)
    figures = by[FIGURES].sum(min_count=1)
    figures["size_unit"] = by["size_unit"].first()
    return figures[SCHOOL_FIGURES]


def with_figures(
    changes: pd.DataFrame, figures: pd.DataFrame, people: str, horizon_year: int
) -> pd.DataFrame:
    """The change rows with their school's register, horizon and after figures, in their
    columns and, in words, after their reason."""
    if changes.empty:
        return changes
    frame = changes.copy()
    for column in SCHOOL_FIGURES:
        frame[column] = figures[column].reindex(frame["school_id"]).to_numpy()
    frame["size_unit"] = frame["size_unit"].fillna("")
    for column in FIGURES:
        frame[column] = frame[column].astype(float).round().astype("Int64")
    frame["reason"] = [
        _with_figures(r, people, horizon_year) for r in frame.itertuples(index=False)
    ]
    return frame[CHANGE_COLUMNS]


def _with_figures(row: Any, people: str, horizon_year: int) -> str:
    """The reason, then the school's register and plan figures in words."""
    if pd.isna(row.students_register):
        return str(row.reason)
    unit = row.size_unit
    parts = []
    if row.students_register or row.size_register:
        parts.append(
            f"{row.students_register} {people} on the register ({row.size_register} {unit})"
        )
    # Said with its figures even at 0: a complete secondary school whose senior section
    # merges is not closed, only its senior streams are.
    parts.append(
        f"{row.students_after} expected in {horizon_year} after the plan ({row.size_after} {unit})"
    )
    return "; ".join([str(row.reason), *parts]) if row.reason else "; ".join(parts)
