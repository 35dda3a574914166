"""The plan's bed ledger: one table of beds by programme and county (``beds.csv``).

For the compulsory grades (this programme): need = far pupils at the horizon after the
plan; today = beds on the register of the planned schools; added = the dormitory modules;
short = far pupils left without a bed.

For the programmes before it (high schools, vocational schools), read from the plan state
they left: today = beds on the register of their schools; after = beds of their schools
still open; added = the beds their schools gained (for moved students beyond their
``boarding_travel_min``, net of spare beds); need = the register's boarders of the schools
still open plus those added beds (the programmes record no more: a closed school's
boarders are moved students, counted where they need a bed); short = need beyond the beds
after the plan, which is where the register has more boarders than beds. A programme that
did not run has no rows.
"""

from __future__ import annotations

import pandas as pd

from layoutopt.state import PlanState

EARLIER = {  # programme: its levels
    "highschool": ("senior_high", "complete_secondary"),
    "vocational": ("vocational",),
}
COLUMNS = [
    "programme",
    "region_id",
    "county",
    "prefecture",
    "bed_need_after",
    "beds_register",
    "beds_added",
    "beds_after",
    "beds_short_after",
]


def earlier_beds(state: PlanState) -> pd.DataFrame:
    """Ledger rows of the programmes that ran before boarding, by county."""
    register = state.dataset.schools.set_index("school_id")
    now = state.schools.set_index("school_id")
    frames = []
    for programme, levels in EARLIER.items():
        if programme not in state.order:
            continue
        mine = register[register["level"].isin(levels)]
        after = now.loc[now.index.isin(mine.index)]
        beds_after = after["boarding_beds"].where(after["open"].astype(bool), 0).astype(float)
        before = mine["boarding_beds"].reindex(after.index).astype(float)
        added = (beds_after - before).clip(lower=0)
        # A closed school's boarders are moved students: counted where they need a bed.
        boarders = mine["boarders"].reindex(after.index).astype(float)
        boarders = boarders.where(after["open"].astype(bool), 0.0)
        table = (
            pd.DataFrame(
                {
                    "region_id": mine["region_id"].astype(str),
                    "beds_register": mine["boarding_beds"].astype(float),
                }
            )
            .groupby("region_id")
            .sum()
        )
        region = after["region_id"].astype(str)
        table["beds_added"] = added.groupby(region).sum()
        table["beds_after"] = beds_after.groupby(region).sum()
        table["boarders"] = boarders.groupby(region).sum()
        table = table.fillna(0.0)
        table["bed_need_after"] = table["boarders"] + table["beds_added"]
        table["beds_short_after"] = (table["bed_need_after"] - table["beds_after"]).clip(lower=0)
        frames.append(table.reset_index().assign(programme=programme))
    if not frames:
        return pd.DataFrame(columns=[c for c in COLUMNS if c not in ("county", "prefecture")])
    return pd.concat(frames, ignore_index=True).drop(columns="boarders")


def bed_ledger(
    earlier: pd.DataFrame, counts: dict[str, dict[str, float]], regions: pd.DataFrame
) -> pd.DataFrame:
    """One table: the earlier programmes' rows and boarding's (``counts`` by county), each
    programme's county rows then its province total, names in Chinese."""
    own = pd.DataFrame(
        [
            {
                "programme": "boarding",
                "region_id": region_id,
                "bed_need_after": c["far_after"],
                "beds_register": c["beds_register"],
                "beds_added": c["beds_added"],
                "beds_after": c["beds_after"],
                "beds_short_after": c["far_no_bed_after"],
            }
            for region_id, c in sorted(counts.items())
        ]
    )
    table = pd.concat([earlier, own], ignore_index=True)
    names = regions.set_index("region_id")
    table["county"] = names["county"].reindex(table["region_id"]).fillna("").to_numpy()
    table["prefecture"] = names["prefecture"].reindex(table["region_id"]).fillna("").to_numpy()
    figures = COLUMNS[4:]
    totals = table.groupby("programme", sort=False)[figures].sum().reset_index()
    totals["region_id"] = "all"
    totals["county"] = "全省 province"
    totals["prefecture"] = ""
    table = pd.concat([table, totals], ignore_index=True)
    order = {p: k for k, p in enumerate([*EARLIER, "boarding"])}
    table["order"] = table["programme"].map(order)
    table["is_total"] = table["region_id"] == "all"
    table = table.sort_values(["order", "is_total", "region_id"], kind="stable")
    table[figures] = table[figures].astype(float).round().astype("Int64")
    return table[COLUMNS].reset_index(drop=True)
