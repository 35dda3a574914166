"""Summaries of a data set: counts by level and prefecture, totals, calibration."""

from __future__ import annotations

import pandas as pd

from layoutopt.data.calibration import load_calibration
from layoutopt.data.calibration_report import calibration_table
from layoutopt.data.dataset import Dataset

CALIBRATION_FILE = "calibration.toml"


def totals(dataset: Dataset) -> dict[str, int]:
    d, s = dataset.demand, dataset.schools
    found = {
        "counties": len(dataset.regions),
        "prefectures": dataset.regions["prefecture_id"].nunique(),
        "population (census, counties)": int(dataset.regions["population_2020"].sum()),
        "settlements": len(d),
        "population (settlements)": int(d["population"].sum()),
        "schools": len(s),
        "students": int(s["enrolment"].sum()),
        "teachers": int(s["teachers"].sum()),
    }
    if dataset.sites is not None:
        found["candidate sites"] = len(dataset.sites)
    if dataset.road_edges is not None:
        found["road edges"] = len(dataset.road_edges)
    return found


def by_level(dataset: Dataset) -> pd.DataFrame:
    s = dataset.schools
    table = s.groupby("level").agg(
        schools=("school_id", "size"),
        students=("enrolment", "sum"),
        classes=("classes", "sum"),
        teachers=("teachers", "sum"),
    )
    return table.reset_index()


def schools_by_prefecture(dataset: Dataset) -> pd.DataFrame:
    prefecture = dataset.regions.set_index("region_id")["prefecture_name"]
    s = dataset.schools.assign(prefecture=dataset.schools["region_id"].map(prefecture))
    table = s.pivot_table(
        index="prefecture", columns="level", values="school_id", aggfunc="count", fill_value=0
    )
    return table.reset_index()


def calibration(dataset: Dataset) -> pd.DataFrame | None:
    """Calibration against the build's figures, when the data set carries its calibration."""
    path = dataset.folder / CALIBRATION_FILE
    if not path.is_file():
        return None
    cal = load_calibration(path)
    return calibration_table(dataset.regions, dataset.demand, dataset.schools, cal)
