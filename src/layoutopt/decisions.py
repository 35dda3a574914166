"""A review meeting's decisions: ``decisions.csv``, read as rules of the programmes' models.

One row a decision, in these columns (UTF-8, ids as text):

* ``programme``: the programme it binds (``highschool``, ...);
* ``school_id``: a school of the programme's levels, or a candidate site (``site_id``);
* ``decision``: ``keep`` (stays open, never merged), ``close`` (closes; its students go
  where the plan places them), ``merge_into`` (closes; its students go to ``target_id``),
  ``build`` (a new school on the site), ``do_not_build`` (the site is not built on),
  ``expand`` (grows) or ``no_change`` (stays open as it is: not closed, not grown);
* ``target_id``: the receiving school of a ``merge_into``, blank otherwise;
* ``reason``, ``decided_by``: free text, carried into every output row that follows;
* ``date``: the day of the review, YYYY-MM-DD.

Every problem is gathered before any solve and reported with its line of the file: a
column or word that is not known, a school given two decisions, a merge into a school that
closes or lies in another county, a build on a site of the wrong kind. A decision that is
well formed but that the plan cannot honour within its rules comes back as a ``shortfall``
row of the programme, never as a crash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from layoutopt.data.dataset import Dataset
from layoutopt.errors import InputError, Problem
from layoutopt.scenario import Scenario

COLUMNS = ["programme", "school_id", "decision", "target_id", "reason", "decided_by", "date"]
KINDS = ("keep", "close", "merge_into", "build", "do_not_build", "expand", "no_change")
ON_SITES = ("build", "do_not_build")  # the rest are about schools
CLOSING = ("close", "merge_into")
# Decisions under which a school may not close (an expansion grows it, so it stays).
HOLDING = ("keep", "no_change", "expand")
# A county's decisions as a programme's model reads them (decision, target_id by school_id).
NO_DECISIONS = pd.DataFrame({"decision": [], "target_id": []}, dtype=str)

# The decisions each programme takes into its model. A decision for a programme or of a
# kind not listed is refused before any solve, never dropped in silence.
HONOURED: dict[str, tuple[str, ...]] = {
    "highschool": KINDS,
    "kindergarten": KINDS,
    "vocational": KINDS,
    # Boarding builds no school: a school's sections are kept, closed, merged, left as
    # they are, or expanded by a module of beds.
    "boarding": ("keep", "close", "merge_into", "expand", "no_change"),
}
NOT_YET = "not yet taken into that programme's model (issue 31)"
# Why a programme takes no decision of a kind it does not list.
NEVER = {"boarding": "not one it plans: boarding builds no school (fix: take the row out)"}

# A programme's schools and candidate sites, as the scenario defines them.
Scope = Callable[[Scenario], tuple[list[str], list[str]]]
SCOPES: dict[str, Scope] = {
    "highschool": lambda s: (s.highschool.levels, s.highschool.new_school_site_kinds),
    "kindergarten": lambda s: (
        ["kindergarten"],
        [*s.kindergarten.new_site_kinds, *s.kindergarten.convert_site_kinds],
    ),
    "vocational": lambda s: (s.vocational.levels, s.vocational.new_school_site_kinds),
    "boarding": lambda s: (list(BOARDING_LEVELS), []),
}
# The levels whose primary or junior sections the boarding programme plans (its
# BAND_LEVELS; a test holds the two together).
BOARDING_LEVELS = ("complete_secondary", "junior", "nine_year", "primary", "teaching_point")
# Programmes whose every county keeps a public school of theirs (a rule of the model).
COUNTY_KEEPS_ONE = ("highschool",)
# Programmes that build at most one new school a county (a rule of the model).
ONE_NEW_A_COUNTY = ("vocational",)


@dataclass(frozen=True)
class Decisions:
    """The decisions of a run (none by default), one row each, with the line of the file
    it came from and its county (``region_id``)."""

    table: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=[*COLUMNS, "line", "region_id"])
    )
    file: Path | None = None
    sha256: str = ""

    def of(self, programme: str, region_id: str | None = None) -> pd.DataFrame:
        """The decisions binding ``programme`` (in one county if given), by school_id."""
        rows = self.table[self.table["programme"] == programme]
        if region_id is not None:
            rows = rows[rows["region_id"] == region_id]
        return rows.set_index("school_id", drop=False)

    def record(self) -> dict[str, str] | None:
        """The file and its hash, for the manifest."""
        if self.file is None:
            return None
        return {"file": str(self.file), "sha256": self.sha256, "decisions": str(len(self.table))}


def words(row: pd.Series | dict) -> str:
    """What an output row says of the decision behind it: 'decided at review 2026-12-03
    by 县教育局: kept (county request)'."""
    verb = {
        "keep": "kept",
        "close": "closed",
        "merge_into": f"merged into {row['target_id']}",
        "build": "built",
        "do_not_build": "not built on",
        "expand": "expanded",
        "no_change": "left unchanged",
    }[row["decision"]]
    by = f" by {row['decided_by']}" if row["decided_by"] else ""
    why = f" ({row['reason']})" if row["reason"] else ""
    return f"decided at review {row['date']}{by}: {verb}{why}"


def read_decisions(
    path: Path | None, dataset: Dataset, scenario: Scenario, programmes: list[str]
) -> Decisions:
    """The decisions file checked against itself, the data set and the scenario; raises
    ``InputError`` listing every problem by line. ``programmes``: those this run plans
    (a decision for another is refused: it would bind nothing)."""
    if path is None:
        return Decisions()
    if not path.is_file():
        raise _refused(path, [(0, "decisions file not found (fix: give the path of a CSV)")])
    raw = path.read_bytes()
    try:
        table = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True
        )
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise _refused(path, [(0, f"not a readable UTF-8 CSV ({exc})")]) from None
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        text = f"column(s) {', '.join(missing)} missing (fix: the header is {','.join(COLUMNS)})"
        raise _refused(path, [(1, text)])
    table = table[COLUMNS].apply(lambda c: c.str.strip())
    table["line"] = range(2, len(table) + 2)  # the header is line 1
    places = _places(dataset)
    table["region_id"] = places["region_id"].reindex(table["school_id"]).fillna("").to_numpy()
    problems = _row_problems(table, programmes)
    problems += _conflicts(table)
    problems += _scope_problems(table, places, scenario)
    problems += _county_problems(table, places, scenario)
    if problems:
        raise _refused(path, problems)
    return Decisions(table.reset_index(drop=True), path, hashlib.sha256(raw).hexdigest())


def _refused(path: Path, problems: list[tuple[int, str]]) -> InputError:
    """Every problem, by its line of the file (0: the file as a whole), in line order."""
    listed = [
        Problem(str(path), row=f"line {line}" if line else "", message=text)
        for line, text in sorted(problems, key=lambda p: p[0])
    ]
    return InputError(listed, context="the review's decisions")


def _places(dataset: Dataset) -> pd.DataFrame:
    """Every school and candidate site: region_id, kind ('school' or 'site'), level (a
    school's) or site kind, ownership."""
    schools = pd.DataFrame(
        {
            "region_id": dataset.schools["region_id"].astype(str).to_numpy(),
            "kind": "school",
            "level": dataset.schools["level"].astype(str).to_numpy(),
            "public": (dataset.schools["ownership"] == "public").to_numpy(),
        },
        index=dataset.schools["school_id"].astype(str).to_numpy(),
    )
    if dataset.sites is None:  # a data set without candidate sites
        return schools
    sites = pd.DataFrame(
        {
            "region_id": dataset.sites["region_id"].astype(str).to_numpy(),
            "kind": "site",
            "level": dataset.sites["kind"].astype(str).to_numpy(),
            "public": True,
        },
        index=dataset.sites["site_id"].astype(str).to_numpy(),
    )
    places = pd.concat([schools, sites])
    return places[~places.index.duplicated()]  # a school's id wins over a site's


def _row_problems(table: pd.DataFrame, programmes: list[str]) -> list[tuple[int, str]]:
    """Each row on its own: known programme and decision, a target where one is needed and
    only there, a date."""
    problems = []
    for row in table.itertuples():
        say = problems.append
        if row.programme not in HONOURED and row.programme not in SCOPES:
            if row.programme in programmes:
                say((row.line, f"programme '{row.programme}': decisions are {NOT_YET}"))
            else:
                known = ", ".join(sorted(set(programmes) | set(HONOURED)))
                say((row.line, f"programme '{row.programme}' is not known (fix: one of {known})"))
        elif row.programme not in programmes:
            say(
                (
                    row.line,
                    f"programme '{row.programme}' is not planned in this run, so the "
                    "decision would bind nothing (fix: plan it, or take the row out)",
                )
            )
        if row.decision not in KINDS:
            say(
                (
                    row.line,
                    f"decision '{row.decision}' is not known (fix: one of {', '.join(KINDS)})",
                )
            )
        elif row.programme in HONOURED and row.decision not in HONOURED[row.programme]:
            why = NEVER.get(row.programme, NOT_YET)
            say((row.line, f"decision '{row.decision}' for {row.programme} is {why}"))
        if not row.school_id:
            say((row.line, "school_id is blank (fix: the school's or candidate site's id)"))
        if row.decision == "merge_into" and not row.target_id:
            say((row.line, "merge_into without a target_id (fix: the receiving school's id)"))
        if row.decision != "merge_into" and row.target_id:
            say((row.line, f"target_id {row.target_id} given for '{row.decision}' (fix: blank)"))
        if row.target_id and row.target_id == row.school_id:
            say((row.line, f"{row.school_id} merges into itself (fix: another school)"))
        try:
            dt.date.fromisoformat(row.date)
        except ValueError:
            say((row.line, f"date '{row.date}' is not a day YYYY-MM-DD (fix: e.g. 2026-12-03)"))
    return problems


def _conflicts(table: pd.DataFrame) -> list[tuple[int, str]]:
    """A school given two decisions in one programme, and a merge into a school that
    itself closes."""
    problems = []
    key = table["programme"] + "/" + table["school_id"]
    for _, rows in table[key.duplicated(keep=False)].groupby(key[key.duplicated(keep=False)]):
        first = rows.iloc[0]
        for row in rows.iloc[1:].itertuples():
            problems.append(
                (
                    row.line,
                    f"{row.school_id} ({row.programme}) is decided twice: '{row.decision}' "
                    f"here and '{first['decision']}' at line {first['line']} (fix: keep one)",
                )
            )
    builds = table[table["decision"] == "build"]
    for row in builds[builds["school_id"].duplicated(keep="first")].itertuples():
        first = builds[builds["school_id"] == row.school_id].iloc[0]
        problems.append(
            (
                row.line,
                f"site {row.school_id} is built on by {row.programme} here and by "
                f"{first['programme']} at line {first['line']}: a site takes one school "
                "(fix: keep one)",
            )
        )
    closing = table[table["decision"].isin(CLOSING)]
    closes = set(zip(closing["programme"], closing["school_id"], strict=True))
    for row in table[table["decision"] == "merge_into"].itertuples():
        if (row.programme, row.target_id) in closes:
            problems.append(
                (
                    row.line,
                    f"{row.school_id} merges into {row.target_id}, which closes by another "
                    "decision (fix: merge into a school that stays open)",
                )
            )
    return problems


def _scope_problems(
    table: pd.DataFrame, places: pd.DataFrame, scenario: Scenario
) -> list[tuple[int, str]]:
    """Ids that the data set does not hold, or that are not the programme's: a school of
    another level, a private school, a candidate site of a kind it may not build on."""
    problems = []
    for row in table.itertuples():
        if row.programme not in SCOPES or row.decision not in KINDS:
            continue
        levels, site_kinds = SCOPES[row.programme](scenario)
        for role, place_id in (("school_id", row.school_id), ("target_id", row.target_id)):
            if not place_id:
                continue
            text = _out_of_scope(place_id, places, row.decision, role, levels, site_kinds)
            if text:
                problems.append((row.line, text.format(programme=row.programme)))
    return problems


def _out_of_scope(place_id, places, decision, role, levels, site_kinds) -> str:
    if place_id not in places.index:
        return (
            f"{role} {place_id} is neither a school nor a candidate site of the data set "
            "(fix: a school_id of the schools table, or a site_id of the sites table)"
        )
    place = places.loc[place_id]
    wants_site = decision in ON_SITES and role == "school_id"
    if wants_site and place["kind"] != "site":
        return f"'{decision}' is for candidate sites; {place_id} is a school (fix: a site_id)"
    if wants_site and place["level"] not in site_kinds:
        return (
            f"site {place_id} is a {place['level']} site, where {{programme}} does not build "
            f"(fix: a site of kind {', '.join(site_kinds)})"
        )
    if not wants_site and place["kind"] != "school":
        return (
            f"'{decision}' is for schools; {place_id} is a candidate site (fix: a school_id, "
            "or build / do_not_build for a site)"
        )
    if not wants_site and place["level"] not in levels:
        return (
            f"{role} {place_id} is a {place['level']} school, not one that {{programme}} plans "
            f"(fix: a school of level {', '.join(levels)}, or the programme that plans it)"
        )
    if not wants_site and not place["public"]:
        return (
            f"{role} {place_id} is a private school: not the plan's to close, keep or grow "
            "(fix: take the row out)"
        )
    return ""


def _county_problems(
    table: pd.DataFrame, places: pd.DataFrame, scenario: Scenario
) -> list[tuple[int, str]]:
    """Merges across a county line, and a county left with no school of the programme."""
    problems = []
    region = places["region_id"]
    for row in table[table["decision"] == "merge_into"].itertuples():
        known = row.target_id in region.index and row.school_id in region.index
        if known and region[row.target_id] != region[row.school_id]:
            problems.append(
                (
                    row.line,
                    f"{row.school_id} (county {region[row.school_id]}) merges into "
                    f"{row.target_id} in county {region[row.target_id]}: a merge stays "
                    "within its county (fix: a school of the same county)",
                )
            )
    builds = table[(table["decision"] == "build") & table["programme"].isin(ONE_NEW_A_COUNTY)]
    for (programme, region_id), rows in builds.groupby(["programme", "region_id"]):
        for row in rows.iloc[1:].itertuples():
            problems.append(
                (
                    row.line,
                    f"{programme} builds at most one new school a county; county {region_id} "
                    f"already has the build at line {rows['line'].iloc[0]} (fix: keep one)",
                )
            )
    for programme in sorted(set(table["programme"]) & set(COUNTY_KEEPS_ONE)):
        levels, _ = SCOPES[programme](scenario)
        mine = table[table["programme"] == programme]
        public = places[
            (places["kind"] == "school") & places["level"].isin(levels) & places["public"]
        ]
        closing = mine[mine["decision"].isin(CLOSING)]
        building = set(mine.loc[mine["decision"] == "build", "region_id"])
        for region_id, rows in closing.groupby("region_id"):
            left = set(public.index[public["region_id"] == region_id]) - set(rows["school_id"])
            if not left and region_id not in building:
                problems.append(
                    (
                        int(rows["line"].max()),
                        f"the decisions close every public school of {programme} in county "
                        f"{region_id}, which must keep one (fix: keep one, or build one)",
                    )
                )
    return problems
