"""The figures every programme shares, read off the ledger: its beds and its students.

Each programme that places students gets the same rows in ``kpis.csv``, from the ledger
and nowhere else, so that the beds and students a table shows are the ledger's:

- students: at the horizon (its projection), placed after the plan (its sections'
  ``students_after``) and left without a place, by its region (county; prefecture for a
  prefecture programme) and for the province;
- beds (programmes with boarders): on the register, added, after the plan, the need
  after the plan (boarders to bed) and the shortfall (need beyond the beds, plus far
  pupils left without a bed), by county, prefecture and province;

and the bed table ``beds.csv``, one row per programme and county, then its province total.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layoutopt.ledger import Ledger
from layoutopt.plan.kpi import met
from layoutopt.programmes.base import Kpi, Rule, kpi_table
from layoutopt.results import KPI_COLUMNS

# name | digits | baseline | target | planned | rule | 中文 | meaning
STUDENT_KPIS = kpi_table("""
students_horizon | 0 | - | - | - | - | 规划年学生（预测） | students (children, pupils) at the horizon: the programme's projection for the scope
students_placed_after | 0 | - | - | - | - | 规划后入学学生 | at its schools after the plan: the sum of its sections' students_after (schools_after.csv)
students_unplaced_after | 0 | - | - | - | - | 规划后无学位学生 | left without a place after the plan (baseline: in today's network at the horizon); horizon = placed + unplaced
shortfall_rows | 0 | - | 0 | - | at_most | 缺口行数 | shortfall rows of changes.csv: rules of the policy that cannot hold in the scope, each naming the rule, the place and the cause
""")
BED_KPIS = kpi_table("""
beds | 0 | - | - | - | - | 寄宿床位 | beds of its sections: register (baseline), after the plan (planned)
beds_added | 0 | - | - | - | - | 新增床位 | beds the plan adds (the same figure as changes.csv, beds.csv and schools_after.csv)
bed_need_after | 0 | - | - | - | - | 规划后床位需求 | boarders to bed: register (baseline); after the plan (planned: the register's boarders of open sections and the moved students who need a bed, or for boarding the far pupils)
beds_short_after | 0 | - | 0 | - | at_most | 床位缺口 | boarders without a bed: register (baseline: boarders above beds), after the plan (planned: need above beds, far pupils without a bed included)
""")
BEDS_COLUMNS = [
    "programme",
    "region_id",
    "county",
    "prefecture",
    "beds_register",
    "beds_added",
    "beds_after",
    "boarders_register",
    "bed_need_after",
    "beds_short_register",
    "beds_short_after",
]
BEDS = ("highschool", "vocational", "boarding")  # programmes whose students board


def bed_table(ledger: Ledger, programme: str, regions: pd.DataFrame) -> pd.DataFrame:
    """A programme's beds by county (BEDS_COLUMNS without the names)."""
    s = ledger.planned(programme)
    short = np.where(s["open"], np.maximum(s["bed_need_after"] - s["beds_after"], 0), 0)
    register_short = np.maximum(s["boarders_register"] - s["beds_register"], 0)
    table = (
        s.assign(beds_short_after=short, beds_short_register=register_short)
        .groupby("region_id")[BEDS_COLUMNS[4:]]
        .sum()
    )
    # Far pupils without a bed are in no section: the region's own figure.
    accounts = ledger.accounts[ledger.accounts["programme"] == programme]
    far = accounts.groupby("region_id")["far_without_bed_after"].sum()
    far = far[far.index.isin(regions["region_id"])]
    table = table.reindex(table.index.union(far.index)).fillna(0.0)
    extra = far.reindex(table.index).fillna(0.0)
    table["bed_need_after"] += extra
    table["beds_short_after"] += extra
    return table.reset_index().assign(programme=programme)


def beds_csv(ledger: Ledger, programmes: list[str], regions: pd.DataFrame) -> pd.DataFrame:
    """beds.csv: each programme's county rows, then its province total, names in Chinese."""
    names = regions.set_index("region_id")
    frames = []
    for programme in programmes:
        if programme not in BEDS or ledger.planned(programme).empty:
            continue
        table = bed_table(ledger, programme, regions).sort_values("region_id")
        total = table.drop(columns=["region_id", "programme"]).sum().to_frame().T
        total = total.assign(programme=programme, region_id="all")
        frames += [table, total]
    if not frames:
        return pd.DataFrame(columns=BEDS_COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    table["county"] = names["county"].reindex(table["region_id"]).fillna("全省 province").to_numpy()
    table["prefecture"] = names["prefecture"].reindex(table["region_id"]).fillna("").to_numpy()
    figures = BEDS_COLUMNS[4:]
    table[figures] = table[figures].astype(float).round().astype("Int64")
    return table[BEDS_COLUMNS].reset_index(drop=True)


def ledger_kpis(
    ledger: Ledger, programme: str, regions: pd.DataFrame, scope: str, changes: pd.DataFrame
) -> pd.DataFrame:
    """The programme's student, shortfall and bed rows of kpis.csv (KPI_COLUMNS).
    ``scope``: the programme's region, "county" or "prefecture"; ``regions``: region_id,
    prefecture_id; ``changes``: its change table (for its shortfall rows)."""
    rows = _student_rows(ledger, programme, regions, scope)
    rows += _shortfall_rows(changes, programme, regions, scope, ledger)
    if programme in BEDS and not ledger.planned(programme).empty:
        rows += _bed_rows(ledger, programme, regions)
    return pd.DataFrame(rows, columns=KPI_COLUMNS)


def _student_rows(ledger, programme, regions, scope) -> list[dict]:
    accounts = ledger.accounts[ledger.accounts["programme"] == programme]
    if accounts.empty:
        return []
    sections = ledger.planned(programme)
    prefecture = regions.set_index("region_id")["prefecture_id"]
    region = sections["region_id"]
    if scope == "prefecture":
        region = prefecture.reindex(region).to_numpy()
    placed = sections["students_after"].fillna(0).groupby(np.asarray(region)).sum()
    table = accounts.groupby("region_id")[
        ["students_horizon", "unplaced_horizon_today", "unplaced_after"]
    ].sum()
    table["placed"] = placed.reindex(table.index).fillna(0.0)
    rows = []
    for kind, ids in _scopes(table.index, prefecture, scope):
        t = table.loc[ids].sum()
        kpis = [
            Kpi("students_horizon", None, None, t["students_horizon"]),
            Kpi("students_placed_after", None, None, t["placed"]),
            Kpi("students_unplaced_after", t["unplaced_horizon_today"], None, t["unplaced_after"]),
        ]
        rows += [_row(programme, kind, ids.name, k) for k in kpis]
    return rows


def _shortfall_rows(changes, programme, regions, scope, ledger) -> list[dict]:
    """Shortfall rows counted by the programme's regions (a prefecture programme's county
    rows count in their prefecture)."""
    accounts = ledger.accounts[ledger.accounts["programme"] == programme]
    if accounts.empty or changes.empty:
        return []
    prefecture = regions.set_index("region_id")["prefecture_id"]
    rows = changes[changes["action"] == "shortfall"]
    region = rows["region_id"].astype(str)
    if scope == "prefecture":
        region = region.map(lambda r: prefecture.get(r, r))
    counts = region.value_counts()
    ids = pd.Index(sorted(set(accounts["region_id"]) | set(counts.index)))
    table = counts.reindex(ids).fillna(0)
    out = []
    for kind, members in _scopes(ids, prefecture, scope):
        kpi = Kpi("shortfall_rows", None, 0.0, float(table.loc[members].sum()), Rule.AT_MOST)
        out.append(_row(programme, kind, members.name, kpi))
    return out


def _bed_rows(ledger, programme, regions) -> list[dict]:
    table = bed_table(ledger, programme, regions).set_index("region_id")
    prefecture = regions.set_index("region_id")["prefecture_id"]
    rows = []
    for kind, ids in _scopes(table.index, prefecture, "county"):
        t = table.loc[ids].sum()
        kpis = [
            Kpi("beds", t["beds_register"], None, t["beds_after"]),
            Kpi("beds_added", None, None, t["beds_added"]),
            Kpi("bed_need_after", t["boarders_register"], None, t["bed_need_after"]),
            Kpi(
                "beds_short_after",
                t["beds_short_register"],
                0.0,
                t["beds_short_after"],
                Rule.AT_MOST,
            ),
        ]
        rows += [_row(programme, kind, ids.name, k) for k in kpis]
    return rows


def _scopes(ids: pd.Index, prefecture: pd.Series, scope: str):
    """(scope kind, region ids named by the scope's id) for the province, each prefecture
    and, for a county programme, each county."""
    everything = pd.Index(sorted(ids), name="all")
    yield "province", everything
    if scope == "county":
        of = prefecture.reindex(everything)
        for pid in sorted(set(of.dropna())):
            yield "prefecture", pd.Index(everything[of.to_numpy() == pid], name=pid)
        for rid in everything:
            yield "county", pd.Index([rid], name=rid)
    else:
        for pid in everything:
            yield "prefecture", pd.Index([pid], name=pid)


def _row(programme: str, scope: str, scope_id: str, kpi: Kpi) -> dict:
    def whole(value: float | None) -> float | None:
        return None if value is None else round(float(value))

    return {
        "programme": programme,
        "indicator": kpi.name,
        "scope": scope,
        "scope_id": scope_id,
        "baseline": whole(kpi.baseline),
        "target": whole(kpi.target),
        "planned": whole(kpi.planned),
        "met": met(kpi),
    }


LABELS = {k.name: (k.zh, k.meaning) for k in (*STUDENT_KPIS, *BED_KPIS)}
