"""The plan as the programmes so far have left it, handed from one programme to the next.

Its record is the ledger (``layoutopt.ledger``): every school section and candidate site,
the named flows of students and the teachers. It starts as the data set's register and
takes each programme's result in turn (``record``), through the ledger's verbs only.
Programmes read their schools from here, never from the raw data set, so a school closed
by one programme is closed for the next, and a site one programme builds on is no
candidate for the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd

from layoutopt.data.dataset import Dataset
from layoutopt.decisions import Decisions
from layoutopt.ledger import Ledger, LedgerError
from layoutopt.results import ProgrammeResult
from layoutopt.scenario import Scenario


@dataclass(frozen=True)
class PlanState:
    """``ledger``: the plan so far; ``order``: the programmes run so far; ``changes``:
    their change tables."""

    dataset: Dataset
    ledger: Ledger
    order: tuple[str, ...] = ()
    changes: tuple[pd.DataFrame, ...] = field(default=(), repr=False)
    decisions: Decisions = field(default_factory=Decisions, repr=False)

    @classmethod
    def start(
        cls, dataset: Dataset, scenario: Scenario | None = None, decisions: Decisions | None = None
    ) -> PlanState:
        decisions = decisions or Decisions()
        if scenario is None:
            return cls(dataset, Ledger.start(dataset), decisions=decisions)
        grades = scenario.highschool.grades
        ledger = Ledger.start(dataset, scenario.norms.class_size, grades)
        return cls(dataset, ledger, decisions=decisions)

    @cached_property
    def schools(self) -> gpd.GeoDataFrame:
        """Every school, one row each (the ledger's school view): register columns,
        ``open`` (any section open) and places, capacity and beds after the plan so far."""
        return self.ledger.school_view()

    def open_schools(self, levels: list[str] | tuple[str, ...]) -> gpd.GeoDataFrame:
        """Open schools of these levels, as the programmes before left them."""
        schools = self.schools
        return schools[schools["level"].isin(list(levels)) & schools["open"].astype(bool)]

    def open_sections(self, sections: list[str] | tuple[str, ...]) -> pd.DataFrame:
        """Open sections of these stages, with their figures after the plan so far."""
        s = self.ledger.sections
        return s[s["section"].isin(list(sections)) & s["open"].astype(bool)]

    def record(self, result: ProgrammeResult) -> PlanState:
        """The plan after ``result``: its sites taken, new schools added, sections placed,
        closed, resized and given beds, its flows moved, its region figures kept; then
        every section's students after the plan as the flows give them, checked against
        the programme's own."""
        ledger = record_sections(self.ledger, result)
        if result.teachers is not None:
            ledger = ledger.staff(result.teachers)
        changes = (*self.changes, result.changes)
        order = (*self.order, result.programme)
        return PlanState(self.dataset, ledger, order, changes, self.decisions)


def record_sections(ledger: Ledger, result: ProgrammeResult) -> Ledger:
    """``result``'s sections and flows written into the ledger through its verbs."""
    name, sections = result.programme, result.sections
    if sections is None or sections.empty:
        return ledger.account(name, result.accounts) if result.accounts is not None else ledger
    new = sections[sections["new"].astype(bool)].drop_duplicates("school_id")
    if len(new):
        ledger = ledger.take_sites(name, new["site_id"])
        columns = ["school_id", "name", "level", "ownership", "region_id", "site_id", "geometry"]
        places = gpd.GeoDataFrame(new[columns], geometry="geometry", crs=ledger.places.crs)
        ledger = ledger.add_schools(name, places)
    ledger = ledger.place_horizon(name, sections)
    closed = sections[~sections["open"].astype(bool)]
    ledger = ledger.close_sections(name, closed)
    ledger = ledger.resize(name, sections[sections["open"].astype(bool)])
    ledger = ledger.add_beds(name, sections)
    ledger = ledger.move_students(name, result.flows)
    if result.accounts is not None:
        ledger = ledger.account(name, result.accounts)
    _check_after(ledger, name, sections)
    return ledger


def _check_after(ledger: Ledger, programme: str, sections: pd.DataFrame) -> None:
    """The programme's own students after the plan must be what its flows give: one
    figure, from two roads."""
    keys = pd.MultiIndex.from_frame(sections[["school_id", "section"]])
    mine = ledger.sections.set_index(["school_id", "section"])["students_after"].reindex(keys)
    own = sections["students_after"].to_numpy(float)
    differ = np.flatnonzero(np.abs(mine.to_numpy(float) - own) > 1e-6)
    if len(differ):
        shown = "; ".join(
            f"{keys[k][0]}/{keys[k][1]}: rows say {own[k]:g}, flows give {mine.iloc[k]:g}"
            for k in differ[:5]
        )
        raise LedgerError(
            f"{programme}: students after the plan disagree with its flows at "
            f"{len(differ)} section(s): {shown} (an internal error: please report it)"
        )
