"""The audit of a run: the invariants that make the outputs one plan, checked on the files.

``audit(run_dir)`` reads a run's tables and manifest and lists every violation of each
invariant, with the rows it concerns. ``layoutopt plan`` runs it on the tables it has just
written and keeps the result in the manifest and its closing lines; ``layoutopt audit``
runs it on any run folder.

The invariants (``INVARIANTS``):

- ``sites_used_once``: a candidate site is built on by one programme, as one school;
- ``students_conserved``: by programme and region, students at the horizon = placed after
  the plan + left without a place, and placed = the sum of the sections' students_after;
- ``flows_balance``: every section's students after the plan are its horizon in today's
  network, less the flows out, plus the flows in;
- ``flows_land_open``: every flow starts at a section and lands at an open one (or, named
  so, nowhere);
- ``flows_named``: every school a flow leaves or reaches has a row in changes.csv;
- ``within_places``: no open section holds more than its places, and a section whose
  places grow has a row of an action that adds them;
- ``beds_agree``: one figure for beds added per programme and county in changes.csv,
  beds.csv, kpis.csv and schools_after.csv; beds after within register + added;
- ``staffing``: posts from the sections' figures after the plan, moves that balance, stay
  public and stay within their level bands, no recruit at a private school;
- ``shortfalls_reported``: every shortfall row and bed shortfall is in the KPIs and the
  run's closing summary;
- ``rows_name_county``: every row of changes.csv and flows.csv names its county;
- ``kindergarten_no_decrease``: a county rate that falls below its register has a
  shortfall row saying so (unless allow_decrease);
- ``vocational_standard``: no vocational school at the establishment standard is closed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from layoutopt.errors import LayoutoptError
from layoutopt.ledger import SECTIONS

TOLERANCE = 0.5  # whole students, beds and teachers: a difference of one counts
ADDS_PLACES = {
    "expand",
    "new_school",
    "strengthen",
    "add_classrooms",
    "new_kindergarten",
    "convert_building",
}
RATES = {  # kindergarten KPI: the rule its shortfall row names
    "enrolment_rate": "enrolment_rate_no_decrease",
    "public_share": "public_share_no_decrease",
    "inclusive_coverage": "inclusive_share_no_decrease",
}


@dataclass
class Violation:
    invariant: str
    file: str
    key: str  # the row: a school, section, county or programme
    message: str


@dataclass
class Run:
    """A run's tables (ids as text) and manifest."""

    folder: Path
    manifest: dict[str, Any]
    changes: pd.DataFrame
    kpis: pd.DataFrame
    sections: pd.DataFrame
    flows: pd.DataFrame
    beds: pd.DataFrame | None
    staffing: pd.DataFrame | None
    programmes: list[str] = field(default_factory=list)

    def decided(self, programme: str, decisions: tuple[str, ...]) -> set[str]:
        """The ids the run's review decisions (its decisions.csv) gave one of ``decisions``
        in ``programme``."""
        path = self.folder / "decisions.csv"
        if not path.is_file():
            return set()
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        mine = table[(table["programme"] == programme) & table["decision"].isin(decisions)]
        return set(mine["school_id"])

    @property
    def scenario(self) -> dict[str, Any]:
        return self.manifest.get("scenario", {})

    def kpi(self, programme: str, indicator: str, scope: str | None = None) -> pd.DataFrame:
        k = self.kpis
        rows = k[(k["programme"] == programme) & (k["indicator"] == indicator)]
        return rows if scope is None else rows[rows["scope"] == scope]


def read_run(folder: Path) -> Run:
    """A run folder's tables and manifest; a missing one is an error naming it."""
    required = ["manifest.json", "changes.csv", "kpis.csv"]
    missing = [name for name in required if not (folder / name).is_file()]
    if missing:
        raise LayoutoptError(
            f"{folder}: not a run folder of layoutopt plan (missing {', '.join(missing)}) "
            "(fix: give the folder a plan wrote, e.g. out/shanxi-2025)"
        )
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))

    def table(name: str) -> pd.DataFrame | None:
        path = folder / name
        if not path.is_file():
            return None
        return pd.read_csv(
            path,
            encoding="utf-8-sig",
            dtype={
                c: str
                for c in (
                    "school_id",
                    "target_id",
                    "region_id",
                    "scope_id",
                    "from_id",
                    "to_id",
                    "site_id",
                    "from_section",
                    "to_section",
                    "band",
                    "section",
                )
            },
            keep_default_na=False,
            na_values=[""],
            low_memory=False,
        )

    flows = table("flows.csv")
    sections = table("schools_after.csv")
    return Run(
        folder,
        manifest,
        table("changes.csv"),
        table("kpis.csv"),
        sections if sections is not None else pd.DataFrame(columns=["school_id", "section"]),
        flows if flows is not None else pd.DataFrame(columns=["programme", "from_id", "to_id"]),
        table("beds.csv"),
        table("staffing.csv"),
        list(manifest.get("programmes_run", [])),
    )


def audit(folder: Path, summary: list[str] | None = None) -> list[Violation]:
    """Every violation of every invariant in the run at ``folder`` (none: the plan is
    one). ``summary``: the run's closing lines, else the manifest's."""
    run = read_run(folder)
    if summary is not None:
        run.manifest = {**run.manifest, "summary": summary}
    found: list[Violation] = []
    for check in INVARIANTS.values():
        found += check(run)
    return found


def summarise(violations: list[Violation]) -> dict[str, int]:
    """Violations by invariant, every invariant named (0 where none)."""
    counts = dict.fromkeys(INVARIANTS, 0)
    for v in violations:
        counts[v.invariant] += 1
    return counts


# ------------------------------------------------------------------------------ checks


def _sites_used_once(run: Run) -> list[Violation]:
    out = []
    taken = pd.DataFrame(
        run.manifest.get("ledger", {}).get("sites_taken", []), columns=["site_id", "programme"]
    )
    for site, group in taken.groupby("site_id"):
        if len(group) > 1:
            who = ", ".join(group["programme"])
            out.append(
                _v(
                    "sites_used_once",
                    "manifest.json",
                    site,
                    f"site taken {len(group)} times: {who}",
                )
            )
    s = run.sections
    if "site_id" in s:
        new = s[s["site_id"].fillna("") != ""]
        for site, group in new.groupby("site_id"):
            schools = group["school_id"].unique()
            if len(schools) > 1 or group["planned_by"].nunique() > 1:
                out.append(
                    _v(
                        "sites_used_once",
                        "schools_after.csv",
                        site,
                        f"one site, schools {', '.join(schools)} of "
                        + ", ".join(group["planned_by"].unique()),
                    )
                )
            mine = taken[taken["site_id"] == site]
            if mine.empty or set(mine["programme"]) != set(group["planned_by"]):
                out.append(
                    _v(
                        "sites_used_once",
                        "schools_after.csv",
                        site,
                        "a new school on a site no programme took",
                    )
                )
    return out


def _students_conserved(run: Run) -> list[Violation]:
    out = []
    s = run.sections
    for programme in run.programmes:
        horizon = run.kpi(programme, "students_horizon")
        if horizon.empty:
            continue
        placed = run.kpi(programme, "students_placed_after").set_index(["scope", "scope_id"])
        unplaced = run.kpi(programme, "students_unplaced_after").set_index(["scope", "scope_id"])
        mine = s[s["planned_by"] == programme]
        scope = "prefecture" if programme == "vocational" else "county"
        sums = _by_scope(mine, run, scope)
        for r in horizon.itertuples():
            key = (r.scope, r.scope_id)
            p = placed["planned"].get(key, np.nan)
            u = unplaced["planned"].get(key, np.nan)
            if not abs(r.planned - p - u) <= TOLERANCE:
                out.append(
                    _v(
                        "students_conserved",
                        "kpis.csv",
                        f"{programme} {r.scope} {r.scope_id}",
                        f"horizon {r.planned:g} ≠ placed {p:g} + unplaced {u:g}",
                    )
                )
            table = sums.get(key)
            if table is not None and not abs(table - p) <= TOLERANCE:
                out.append(
                    _v(
                        "students_conserved",
                        "schools_after.csv",
                        f"{programme} {r.scope} {r.scope_id}",
                        f"sections hold {table:g} after the plan, kpis.csv says {p:g}",
                    )
                )
    return out


def _by_scope(sections: pd.DataFrame, run: Run, scope: str) -> dict:
    """students_after summed by (scope, scope_id): province, prefectures, counties."""
    prefecture = _prefectures(run)
    pid = prefecture.reindex(sections["region_id"]).to_numpy()
    after = sections["students_after"].fillna(0).to_numpy(float)
    out = {("province", "all"): float(after.sum())}
    for p, v in pd.Series(after).groupby(pid).sum().items():
        out[("prefecture", p)] = float(v)
    if scope == "county":
        for c, v in pd.Series(after).groupby(sections["region_id"].to_numpy()).sum().items():
            out[("county", c)] = float(v)
    return out


def _prefectures(run: Run) -> pd.Series:
    """prefecture_id by county region_id (the manifest's ledger record)."""
    return pd.Series(run.manifest.get("ledger", {}).get("prefecture_of", {}), dtype=str)


def _flows_balance(run: Run) -> list[Violation]:
    out = []
    s, f = run.sections, run.flows
    planned = s[s["planned_by"].fillna("") != ""]
    for programme, mine in planned.groupby("planned_by"):
        flows = f[f["programme"] == programme]
        leaving = (
            flows[flows["from_id"].notna()].groupby(["from_id", "from_section"])["students"].sum()
        )
        coming = flows[flows["to_id"].notna()].groupby(["to_id", "to_section"])["students"].sum()
        keys = pd.MultiIndex.from_frame(mine[["school_id", "section"]])
        expected = (
            mine["students_horizon_today"].fillna(0).to_numpy(float)
            - leaving.reindex(keys).fillna(0).to_numpy(float)
            + coming.reindex(keys).fillna(0).to_numpy(float)
        )
        after = mine["students_after"].fillna(0).to_numpy(float)
        for k in np.flatnonzero(np.abs(expected - after) > TOLERANCE)[:50]:
            out.append(
                _v(
                    "flows_balance",
                    "schools_after.csv",
                    f"{keys[k][0]}/{keys[k][1]}",
                    f"{programme}: horizon {mine['students_horizon_today'].iloc[k]:g} − out + in "
                    f"= {expected[k]:g}, after = {after[k]:g}",
                )
            )
    return out


def _flows_land_open(run: Run) -> list[Violation]:
    out = []
    s, f = run.sections, run.flows
    if f.empty:
        return out
    index = s.set_index(["school_id", "section"])
    for end in ("from", "to"):
        named = f[f[f"{end}_id"].notna()]
        keys = pd.MultiIndex.from_frame(named[[f"{end}_id", f"{end}_section"]])
        found = index.index.get_indexer(keys)
        for k in np.flatnonzero(found < 0)[:50]:
            out.append(
                _v(
                    "flows_land_open",
                    "flows.csv",
                    f"{keys[k][0]}/{keys[k][1]}",
                    f"{end} a section not in schools_after",
                )
            )
        if end == "to":
            shut = ~index["open"].astype(bool).to_numpy()[np.maximum(found, 0)] & (found >= 0)
            for k in np.flatnonzero(shut)[:50]:
                out.append(
                    _v(
                        "flows_land_open",
                        "flows.csv",
                        f"{keys[k][0]}/{keys[k][1]}",
                        "lands at a closed section",
                    )
                )
    lost = f[f["to_id"].isna() & (f["kind"] != "left_without_place")]
    for r in lost.head(50).itertuples():
        out.append(
            _v(
                "flows_land_open",
                "flows.csv",
                str(r.from_id),
                "a flow to no school not named as such",
            )
        )
    return out


def _flows_named(run: Run) -> list[Violation]:
    out = []
    c, f = run.changes, run.flows
    for programme, flows in f.groupby("programme"):
        rowed = set(c.loc[c["programme"] == programme, "school_id"].dropna())
        ends = set(flows["from_id"].dropna()) | set(flows["to_id"].dropna())
        for school in sorted(ends - rowed)[:50]:
            out.append(
                _v(
                    "flows_named",
                    "changes.csv",
                    school,
                    f"{programme}: takes in or sends students, no row",
                )
            )
    return out


def _within_places(run: Run) -> list[Violation]:
    out = []
    s, c = run.sections, run.changes
    planned = s[(s["planned_by"].fillna("") != "") & s["open"].astype(bool)]
    over = planned[planned["students_after"] > planned["capacity_after"] + TOLERANCE]
    for r in over.head(50).itertuples():
        out.append(
            _v(
                "within_places",
                "schools_after.csv",
                f"{r.school_id}/{r.section}",
                f"{r.students_after:g} students after the plan for {r.capacity_after:g} places",
            )
        )
    grown = planned[planned["capacity_after"] > planned["capacity_register"]]
    adding = c[c["action"].isin(ADDS_PLACES)][["programme", "school_id"]]
    have = set(zip(adding["programme"], adding["school_id"], strict=True))
    for r in grown.itertuples():
        if (r.planned_by, r.school_id) not in have:
            out.append(
                _v(
                    "within_places",
                    "changes.csv",
                    f"{r.school_id}/{r.section}",
                    f"{r.planned_by}: places {r.capacity_register:g} → {r.capacity_after:g} with "
                    "no row of an action that adds them",
                )
            )
    return out


def _beds_agree(run: Run) -> list[Violation]:
    out = []
    if run.beds is None:
        return out
    s, c, b = run.sections, run.changes, run.beds
    for programme, rows in b.groupby("programme"):
        mine = s[s["planned_by"] == programme]
        figures = {
            "changes.csv": float(c.loc[c["programme"] == programme, "beds_added"].fillna(0).sum()),
            "beds.csv": float(rows.loc[rows["region_id"] == "all", "beds_added"].sum()),
            "kpis.csv": float(run.kpi(programme, "beds_added", "province")["planned"].sum()),
            "schools_after.csv": float(mine["beds_added"].fillna(0).sum()),
        }
        if max(figures.values()) - min(figures.values()) > TOLERANCE:
            said = ", ".join(f"{k} {v:,.0f}" for k, v in figures.items())
            out.append(_v("beds_agree", "beds.csv", programme, f"beds added: {said}"))
        by_county = mine.groupby("region_id")["beds_added"].sum()
        kpi = run.kpi(programme, "beds_added", "county").set_index("scope_id")["planned"]
        short = run.kpi(programme, "beds_short_after", "county").set_index("scope_id")["planned"]
        for r in rows[rows["region_id"] != "all"].itertuples():
            seen = {
                "schools_after.csv": float(by_county.get(r.region_id, 0.0)),
                "kpis.csv": float(kpi.get(r.region_id, np.nan)),
            }
            if any(not abs(v - r.beds_added) <= TOLERANCE for v in seen.values()):
                out.append(
                    _v(
                        "beds_agree",
                        "beds.csv",
                        f"{programme} {r.region_id}",
                        f"beds added {r.beds_added} against {seen}",
                    )
                )
            if not abs(float(short.get(r.region_id, np.nan)) - r.beds_short_after) <= TOLERANCE:
                out.append(
                    _v(
                        "beds_agree",
                        "kpis.csv",
                        f"{programme} {r.region_id}",
                        "beds_short_after differs from beds.csv",
                    )
                )
        shut = mine[~mine["open"].astype(bool) & (mine["beds_after"] > 0)]
        wide = mine[mine["beds_after"] > mine["beds_register"] + mine["beds_added"] + TOLERANCE]
        for r in pd.concat([shut, wide]).head(50).itertuples():
            out.append(
                _v(
                    "beds_agree",
                    "schools_after.csv",
                    f"{r.school_id}/{r.section}",
                    "beds after beyond the register and those added",
                )
            )
    return out


def _staffing(run: Run) -> list[Violation]:
    out = []
    t = run.staffing
    if t is None or "staffing" not in run.programmes:
        return out
    s = run.sections
    # Posts from each school's open sections after the plan (where a programme planned
    # every section of the school: others are the register grown, not in schools_after).
    planned = s.groupby("school_id")["section"].nunique()
    levels = s.drop_duplicates("school_id").set_index("school_id")["level"]
    sections_of = levels.reindex(planned.index).map(lambda level: len(SECTIONS[level]))
    whole = planned.index[planned.to_numpy() == sections_of.to_numpy()]
    opened = s[s["open"].astype(bool) & s["students_after"].notna()]
    students = opened.groupby("school_id")["students_after"].sum()
    students = students[students.index.isin(whole)]
    per_school = t.groupby("school_id").agg(
        students=("students_after", "first"), posts=("posts_needed", "sum")
    )
    known = per_school.index.intersection(students.index)
    differ = per_school.loc[known, "students"] - students.reindex(known)
    for school in differ[differ.abs() > TOLERANCE].index[:50]:
        out.append(
            _v(
                "staffing",
                "staffing.csv",
                school,
                f"posts for {per_school.at[school, 'students']:g} students, the sections hold "
                f"{students[school]:g}",
            )
        )
    for school in students.index[(students > 0)].difference(per_school.index)[:50]:
        if s.loc[s["school_id"] == school, "level"].iloc[0] != "special":
            out.append(
                _v("staffing", "staffing.csv", school, "an open section with students and no posts")
            )
    for region, rows in t.groupby("region_id"):
        if rows["moved_out"].sum() != rows["moved_in"].sum():
            out.append(_v("staffing", "staffing.csv", region, "moves out and in do not balance"))
    cover = t.groupby("school_id")[["cover_out", "cover_in"]].sum()
    for school in cover.index[cover["cover_out"] != cover["cover_in"]][:50]:
        out.append(_v("staffing", "staffing.csv", school, "covering out and in do not balance"))
    private = t[t["ownership"] != "public"]
    touched = private[(private[["moved_out", "moved_in", "recruited"]].sum(axis=1)) > 0]
    for r in touched.head(50).itertuples():
        out.append(
            _v(
                "staffing",
                "staffing.csv",
                f"{r.school_id} {r.subject}",
                "a private school's teachers moved or recruited",
            )
        )
    out += _bands(run, t)
    return out


def _bands(run: Run, t: pd.DataFrame) -> list[Violation]:
    out = []
    bands = run.scenario.get("staffing", {}).get("move_bands", {})
    level = t.drop_duplicates("school_id").set_index("school_id")["level"]
    owner = t.drop_duplicates("school_id").set_index("school_id")["ownership"]
    c = run.changes
    moves = c[(c["programme"] == "staffing") & (c["action"] == "move_teachers")]
    for r in moves.itertuples():
        a, b = level.get(r.school_id), level.get(r.target_id)
        if b not in bands.get(a, []):
            out.append(
                _v(
                    "staffing",
                    "changes.csv",
                    f"{r.school_id}→{r.target_id}",
                    f"a {a} teacher moves to a {b} school",
                )
            )
        if owner.get(r.school_id) != "public" or owner.get(r.target_id) != "public":
            out.append(
                _v(
                    "staffing",
                    "changes.csv",
                    f"{r.school_id}→{r.target_id}",
                    "a move to or from a private school",
                )
            )
    return out[:100]


def _shortfalls_reported(run: Run) -> list[Violation]:
    out = []
    c = run.changes
    summary = "\n".join(run.manifest.get("summary", []))
    for programme in run.programmes:
        rows = c[(c["programme"] == programme) & (c["action"] == "shortfall")]
        counted = run.kpi(programme, "shortfall_rows", "county").set_index("scope_id")["planned"]
        if programme == "vocational":
            counted = run.kpi(programme, "shortfall_rows", "prefecture").set_index("scope_id")[
                "planned"
            ]
        by_region = rows.groupby("region_id").size()
        if programme == "vocational":
            by_region = _vocational_regions(rows, run)
        for region, n in by_region.items():
            if not abs(float(counted.get(region, 0)) - n) <= TOLERANCE:
                out.append(
                    _v(
                        "shortfalls_reported",
                        "kpis.csv",
                        f"{programme} {region}",
                        f"{n} shortfall row(s), kpis.csv counts {counted.get(region, 0)}",
                    )
                )
        if len(rows) and f"{programme}: shortfall rows" not in summary:
            out.append(
                _v(
                    "shortfalls_reported",
                    "manifest.json",
                    programme,
                    "shortfall rows the closing summary does not name",
                )
            )
        short = run.kpi(programme, "beds_short_after", "province")
        if (
            len(short)
            and short["planned"].sum() > TOLERANCE
            and f"{programme}: boarders without a bed" not in summary
        ):
            out.append(
                _v(
                    "shortfalls_reported",
                    "manifest.json",
                    programme,
                    "a bed shortfall the closing summary does not name",
                )
            )
    return out


def _vocational_regions(rows: pd.DataFrame, run: Run) -> pd.Series:
    prefecture = _prefectures(run)
    pid = [prefecture.get(r, r) for r in rows["region_id"]]
    return pd.Series(pid, dtype=str).value_counts()


def _rows_name_county(run: Run) -> list[Violation]:
    out = []
    for name, table in (("changes.csv", run.changes), ("flows.csv", run.flows)):
        if table.empty or "county" not in table:
            continue
        blank = table[table["county"].fillna("") == ""]
        for r in blank.head(50).itertuples():
            out.append(
                _v(
                    "rows_name_county",
                    name,
                    f"{r.programme} {getattr(r, 'school_id', '')}",
                    "no county",
                )
            )
    return out


def _kindergarten_no_decrease(run: Run) -> list[Violation]:
    out = []
    if "kindergarten" not in run.programmes:
        return out
    if run.scenario.get("kindergarten", {}).get("allow_decrease", False):
        return out
    c = run.changes
    rows = c[(c["programme"] == "kindergarten") & (c["action"] == "shortfall")]
    children = run.kpi("kindergarten", "students_horizon", "county").set_index("scope_id")
    enrolled = run.kpi("kindergarten", "students_placed_after", "county").set_index("scope_id")
    for indicator, rule in RATES.items():
        k = run.kpi("kindergarten", indicator, "county")
        # Places are whole children: a rate within half a child of its register value (and
        # the 4 digits of kpis.csv) has not fallen.
        whole = (children if indicator == "enrolment_rate" else enrolled)["planned"]
        half = 0.5 / whole.reindex(k["scope_id"]).clip(lower=1).to_numpy(float)
        fell = k[k["planned"].to_numpy() < k["baseline"].to_numpy() - half - 5e-5]
        for r in fell.itertuples():
            mine = rows[(rows["region_id"] == r.scope_id) & rows["reason"].str.startswith(rule)]
            if mine.empty:
                out.append(
                    _v(
                        "kindergarten_no_decrease",
                        "changes.csv",
                        r.scope_id,
                        f"{indicator} falls {r.baseline:g} → {r.planned:g} with no {rule} row",
                    )
                )
    return out


def _vocational_standard(run: Run) -> list[Violation]:
    out = []
    if "vocational" not in run.programmes:
        return out
    standard = run.scenario.get("vocational", {}).get("standard_students", 1200)
    s = run.sections
    closed = s[(s["planned_by"] == "vocational") & ~s["open"].astype(bool)]
    # A school the review meeting closed is the meeting's call, not the plan's.
    at = closed[
        (closed["students_register"] >= standard)
        & ~closed["school_id"].isin(run.decided("vocational", ("close", "merge_into")))
    ]
    for r in at.itertuples():
        out.append(
            _v(
                "vocational_standard",
                "schools_after.csv",
                r.school_id,
                f"closed with {r.students_register:g} students on the register "
                f"(standard {standard:,})",
            )
        )
    return out


def _v(invariant: str, file: str, key: str, message: str) -> Violation:
    return Violation(invariant, file, str(key), message)


INVARIANTS: dict[str, Callable[[Run], list[Violation]]] = {
    "sites_used_once": _sites_used_once,
    "students_conserved": _students_conserved,
    "flows_balance": _flows_balance,
    "flows_land_open": _flows_land_open,
    "flows_named": _flows_named,
    "within_places": _within_places,
    "beds_agree": _beds_agree,
    "staffing": _staffing,
    "shortfalls_reported": _shortfalls_reported,
    "rows_name_county": _rows_name_county,
    "kindergarten_no_decrease": _kindergarten_no_decrease,
    "vocational_standard": _vocational_standard,
}
