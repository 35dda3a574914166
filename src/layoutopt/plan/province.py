"""The province's own figures, which the code never holds: the plan's counts and totals,
its births, the general/vocational split.

A scenario gives them. Where it leaves one out, the run either derives it from the data set
and says so (a note printed and kept in the manifest; the resolved scenario shows the value
used), or, where nothing in the data set can stand for it, stops and names every missing
key at once.
"""

from __future__ import annotations

from typing import Any

from layoutopt.data.calibration import load_calibration
from layoutopt.data.dataset import Dataset
from layoutopt.data.info import CALIBRATION_FILE
from layoutopt.errors import ScenarioError
from layoutopt.scenario import Scenario


class _Figures:
    """What completing a scenario found: values derived by section, notes, missing keys."""

    def __init__(self, programmes: list[str]) -> None:
        self.updates: dict[str, dict[str, Any]] = {name: {} for name in programmes}
        self.notes: list[str] = []
        self.missing: list[str] = []

    def derive(self, key: str, value: Any, how: str) -> None:
        """Use ``value`` for ``key`` if its programme runs, and say how it was found."""
        section, name = key.split(".")
        if section in self.updates:
            self.updates[section][name] = value
            self.notes.append(f"{key} not in the scenario: {how}")


def complete(
    scenario: Scenario, dataset: Dataset, programmes: list[str]
) -> tuple[Scenario, list[str]]:
    """The scenario with every province figure the ``programmes`` need filled in, and one
    note for each figure derived or left without a target."""
    found = _Figures(programmes)
    if "highschool" in programmes or "vocational" in programmes:
        _shares(scenario, dataset, found)
    _targets(scenario, found)
    _births(scenario, dataset, found, "kindergarten" in programmes)
    if found.missing:
        where = scenario.source or "scenario"
        raise ScenarioError(
            f"{where}: {len(found.missing)} province figure(s) missing:\n"
            + "\n".join("  " + m for m in found.missing)
        )
    sections = {
        name: getattr(scenario, name).model_copy(update=values)
        for name, values in found.updates.items()
        if values
    }
    return scenario.model_copy(update=sections), found.notes


def _shares(scenario: Scenario, dataset: Dataset, found: _Figures) -> None:
    """General and vocational shares: the register's, or the complement of the other."""
    hs, voc = scenario.highschool, scenario.vocational
    register = "the register's share of upper-secondary students"
    general = _general_share(scenario, dataset)
    if hs.general_share is None:
        share, how = general, register
        if voc.vocational_share:
            share, how = 1 - voc.vocational_share, "1 - vocational.vocational_share"
        found.derive("highschool.general_share", share, f"{share:.3f}, {how}")
    if voc.vocational_share is None:
        share, how = 1 - general, register
        if hs.general_share:
            share, how = 1 - hs.general_share, "1 - highschool.general_share"
        found.derive("vocational.vocational_share", share, f"{share:.3f}, {how}")


def _targets(scenario: Scenario, found: _Figures) -> None:
    """Plan totals left out: the projection unscaled; counts left out: no target."""
    for section in ("highschool", "vocational"):
        if getattr(scenario, section).plan_students is None:
            found.derive(f"{section}.plan_students", 0, "the cohort projection is not scaled")
    kg, voc = scenario.kindergarten, scenario.vocational
    if kg.projects is None:
        found.derive(
            "kindergarten.projects",
            None,
            f"no target for the number of projects; each is priced at project_price_start "
            f"({kg.project_price_start:,.0f} yuan)",
        )
    if voc.schools_kept is None:
        found.derive(
            "vocational.schools_kept",
            None,
            f"no target for the number of schools; each is priced at school_price_start "
            f"({voc.school_price_start:,.0f} student-min)",
        )
    if scenario.staffing.plan_teachers is None:
        found.derive("staffing.plan_teachers", None, "teachers after the plan, no target")
    if scenario.boarding.plan_projects is None:
        found.derive("boarding.plan_projects", None, "dormitory projects, no target")


def _births(scenario: Scenario, dataset: Dataset, found: _Figures, needed: bool) -> None:
    """Births left out: those the data set was generated with, else a missing key."""
    kg = scenario.kindergarten
    if kg.births is not None:
        return
    births = _data_set_births(dataset)
    if births:
        found.derive(
            "kindergarten.births",
            births,
            "the births the data set was built with (its calibration.toml, [cohorts.births])",
        )
    elif needed:
        years = ", ".join(
            f'"{scenario.horizon_year - age}" = ...' for age in sorted(kg.ages, reverse=True)
        )
        found.missing.append(
            "kindergarten.births: the province's births by year, for the children of "
            f"kindergarten age in {scenario.horizon_year}; the data set carries none (fix: "
            f"births = {{ {years} }})"
        )


def _data_set_births(dataset: Dataset) -> dict[str, int] | None:
    """Births by year from the calibration a generated data set carries, if it has one."""
    path = dataset.folder / CALIBRATION_FILE
    if not path.is_file():
        return None
    return dict(load_calibration(path).cohorts.births)


def _general_share(scenario: Scenario, dataset: Dataset) -> float:
    """General high-school students / (general + vocational) on the register."""
    schools = dataset.schools
    general_rows = schools["level"].isin(scenario.highschool.levels)
    senior = schools.get("senior_enrolment", schools["enrolment"]).fillna(schools["enrolment"])
    general = float(senior[general_rows].sum())
    vocational = float(
        schools.loc[schools["level"].isin(scenario.vocational.levels), "enrolment"].sum()
    )
    if general + vocational <= 0:
        raise ScenarioError(
            "highschool.general_share is not in the scenario and the register has no upper-"
            "secondary students to derive it from (fix: give highschool.general_share)"
        )
    return general / (general + vocational)
