"""Rows of ``schools_after`` for the programmes that count schools in streams (轨): high
schools and vocational schools."""

from __future__ import annotations

import numpy as np
import pandas as pd

SIZES = ("students_register", "students_horizon_today", "students_after", "size_register")
SIZES += ("size_after", "beds_register", "beds_after")


def stream_schools_after(
    schools: pd.DataFrame,
    places: pd.DataFrame,
    private_after: np.ndarray,
    stream_size: int,
    *,
    level: str,
    sites: pd.DataFrame,
) -> pd.DataFrame:
    """The region's schools (with ``students_register``, ``streams``, ``boarding_beds``) and
    each new school, as rows of schools_after: the register, the horizon's students in
    today's network, and the plan.

    Public schools read their plan from ``places`` (indexed by place_id: open, streams_after,
    students_horizon_today, students_after, beds_added, kind); a private school keeps
    ``private_after`` students and its streams. Sites of ``places`` that open become new
    public schools of ``level``, named and placed from ``sites`` (indexed by place_id)."""
    schools = pd.DataFrame(schools)  # plain: the runner sets the geometry and CRS
    public = (schools["ownership"] == "public").to_numpy()
    at = places.reindex(schools["school_id"])
    schools["open"] = np.where(public, at["open"].fillna(False).astype(bool), True)
    schools["students_horizon_today"] = np.where(
        public, at["students_horizon_today"], private_after
    )
    schools["students_after"] = np.where(public, at["students_after"], private_after)
    schools["size_register"] = schools["streams"]
    schools["size_after"] = np.where(public, at["streams_after"], schools["streams"])
    schools["beds_register"] = schools["boarding_beds"]
    beds = schools["boarding_beds"] + np.where(public, at["beds_added"].fillna(0), 0)
    schools["beds_after"] = np.where(schools["open"], beds, 0)
    new = _new_schools(places, sites, level)
    frame = pd.concat([schools, new], ignore_index=True) if len(new) else schools
    frame["size_unit"] = "streams"
    for column in SIZES:
        frame[column] = frame[column].fillna(0).round().astype(np.int64)
    frame["capacity_register"] = frame["size_register"] * stream_size
    frame["capacity_after"] = frame["size_after"] * stream_size
    frame["open"] = frame["open"].astype(bool)
    return frame


def _new_schools(places: pd.DataFrame, sites: pd.DataFrame, level: str) -> pd.DataFrame:
    opened = places[(places["kind"] == "site") & places["open"]]
    where = sites.loc[opened.index]
    return pd.DataFrame(
        {
            "school_id": opened.index.to_numpy(),
            "name": where["name"].to_numpy(),
            "level": level,
            "ownership": "public",
            "quality_tier": "standard",
            "region_id": where["region_id"].to_numpy(),
            "open": True,
            "students_register": 0,
            "students_horizon_today": 0,
            "students_after": opened["students_after"].to_numpy(),
            "size_register": 0,
            "size_after": opened["streams_after"].to_numpy(),
            "beds_register": 0,
            "beds_after": opened["beds_added"].to_numpy(),
            "geometry": where["geometry"].to_numpy(),
        }
    )


def stream_sections(
    frame: pd.DataFrame, places: pd.DataFrame, section: str, sites: pd.DataFrame
) -> pd.DataFrame:
    """The region's stream sections as the ledger takes them (results.SECTION_ROW_COLUMNS)
    from its ``stream_schools_after`` rows. ``places`` (by place_id) may give
    ``beds_needed_in``, the moved students who need a bed (else its beds added): the
    section's bed need after the plan is its register boarders plus those, while open."""
    new = frame["school_id"].isin(sites.index).to_numpy()
    needed = places.get("beds_needed_in", places["beds_added"])
    needed = needed.reindex(frame["school_id"]).fillna(0).to_numpy(float)
    boarders = frame.get("boarders", pd.Series(0, index=frame.index)).fillna(0).to_numpy(float)
    is_open = frame["open"].to_numpy(bool)
    return pd.DataFrame(
        {
            "school_id": frame["school_id"].to_numpy(),
            "section": section,
            "level": frame["level"].to_numpy(),
            "ownership": frame["ownership"].to_numpy(),
            "region_id": frame["region_id"].astype(str).to_numpy(),
            "name": frame["name"].to_numpy(),
            "new": new,
            "site_id": np.where(new, frame["school_id"], ""),
            "open": is_open,
            "size_after": frame["size_after"].to_numpy(np.int64),
            "capacity_after": frame["capacity_after"].to_numpy(np.int64),
            "students_horizon_today": frame["students_horizon_today"].to_numpy(float),
            "students_after": frame["students_after"].to_numpy(float),
            "beds_added": np.where(is_open, frame["beds_after"] - frame["beds_register"], 0),
            "beds_after": frame["beds_after"].to_numpy(np.int64),
            "bed_need_after": np.where(is_open, np.where(new, 0, boarders) + needed, 0.0),
            "geometry": frame["geometry"].to_numpy(),
        }
    )
