"""The ledger's own tables: ``schools_after`` (one row per school section), ``flows.csv``
(every movement of students, named from school to school) and ``beds.csv``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from layoutopt.plan.ledger_figures import beds_csv
from layoutopt.plan.runner import regions_table
from layoutopt.results import Plan

FLOWS_COLUMNS = [
    "programme",
    "region_id",
    "county",
    "prefecture",
    "kind",
    "from_id",
    "from_name",
    "from_section",
    "from_county",
    "to_id",
    "to_name",
    "to_section",
    "to_county",
    "band",
    "students",
    "travel_min_before",
    "travel_min_after",
    "beds_needed",
]
KINDS = {  # a flow's kind, by which of its ends is a school
    (True, True): "move",
    (False, True): "newly_placed",
    (True, False): "left_without_place",
}


def flows_table(plan: Plan) -> pd.DataFrame:
    """flows.csv: one row per programme, region, pair of sections and band: how many
    students go from one school to another (``newly_placed``: they had no place in today's
    network at the horizon; ``left_without_place``: they have none after the plan), their
    mean trips before and after, and how many of them need a bed there."""
    ledger = plan.state.ledger
    flows = ledger.flows
    if flows.empty:
        return pd.DataFrame(columns=FLOWS_COLUMNS)
    regions = regions_table(plan.state)
    by_region = regions.set_index("region_id")
    prefectures = regions.drop_duplicates("prefecture_id").set_index("prefecture_id")
    places = ledger.places.set_index("school_id")
    frame = flows.copy()
    for end in ("from", "to"):
        ids = frame[f"{end}_id"]
        frame[f"{end}_name"] = places["name"].reindex(ids).fillna("").to_numpy()
        county = places["region_id"].astype(str).reindex(ids)
        frame[f"{end}_county"] = by_region["county"].reindex(county).fillna("").to_numpy()
    county = by_region["county"].reindex(frame["region_id"]).to_numpy()
    prefecture = by_region["prefecture"].reindex(frame["region_id"]).to_numpy()
    own = prefectures["prefecture"].reindex(frame["region_id"]).to_numpy()
    frame["county"] = np.where(pd.isna(county), "全市 prefecture-wide", county)
    frame["prefecture"] = np.where(pd.isna(prefecture), own, prefecture)
    ends = zip(frame["from_id"], frame["to_id"], strict=True)
    frame["kind"] = [KINDS.get((bool(a), bool(b)), "") for a, b in ends]
    for column in ("students", "beds_needed"):
        frame[column] = frame[column].astype(float).round().astype("Int64")
    for column in ("travel_min_before", "travel_min_after"):
        frame[column] = frame[column].astype(float).round(1)
    order = {name: k for k, name in enumerate(plan.programmes)}
    frame["order"] = frame["programme"].map(order)
    frame = frame.sort_values(
        ["order", "region_id", "from_id", "to_id", "band"], kind="stable"
    ).reset_index(drop=True)
    return frame[FLOWS_COLUMNS]


def beds_table(plan: Plan) -> pd.DataFrame:
    """beds.csv, from the ledger (``plan.ledger_figures.beds_csv``)."""
    return beds_csv(plan.state.ledger, plan.programmes, regions_table(plan.state))
