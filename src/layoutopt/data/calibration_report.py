"""How closely a data set matches the provincial figures it was calibrated to."""

from __future__ import annotations

import pandas as pd

from layoutopt.data.calibration import Calibration

HS_LEVELS = ("senior_high", "complete_secondary")
JUNIOR_LEVELS = ("junior", "nine_year")  # statistical convention: junior counts nine-year


def calibration_table(
    regions: pd.DataFrame, demand: pd.DataFrame, schools: pd.DataFrame, cal: Calibration
) -> pd.DataFrame:
    """Rows of figure, target, generated and difference (%), with the target's source."""
    levels = schools["level"]
    stages = cal.schools.stages
    facts = cal.figures  # the calibration file's own label of its published figures
    count = {lv: spec.schools for lv, spec in cal.schools.levels.items()}
    kg = schools[levels == "kindergarten"]
    kg_public = kg.loc[kg["ownership"] == "public", "enrolment"].sum()
    kg_inclusive = kg.loc[kg["inclusive"], "enrolment"].sum()
    ages_0_14 = demand[[f"age_{a}" for a in range(15)]].to_numpy().sum()
    urban = demand.loc[demand["kind"] != "village", "population"].sum()
    rows = [
        ("counties", 0, len(regions), "regions"),
        ("population", cal.province.population, int(regions["population_2020"].sum()), "census"),
        (
            "population in settlements",
            cal.province.population,
            int(demand["population"].sum()),
            "census",
        ),
        ("urban share", cal.province.urban_share, urban / demand["population"].sum(), "census"),
        ("residents aged 0-14", cal.province.children_0_14, int(ages_0_14), "census"),
        ("kindergartens", count["kindergarten"], int((levels == "kindergarten").sum()), facts),
        ("kindergarten classes", stages["kindergarten"].classes, int(kg["classes"].sum()), facts),
        (
            "kindergarten children",
            stages["kindergarten"].students,
            int(kg["enrolment"].sum()),
            facts,
        ),
        (
            "kindergarten public share of children",
            cal.schools.kindergarten_public_share_of_children,
            kg_public / kg["enrolment"].sum(),
            "assumption",
        ),
        (
            "kindergarten inclusive coverage",
            cal.schools.kindergarten_inclusive_coverage,
            kg_inclusive / kg["enrolment"].sum(),
            facts,
        ),
        ("primary schools", count["primary"], int((levels == "primary").sum()), facts),
        (
            "primary students",
            stages["primary"].students,
            int(schools["primary_enrolment"].sum()),
            "derived",
        ),
        *_teaching_point_rows(schools, cal),
        (
            "junior schools (incl. nine-year)",
            count["junior"] + count["nine_year"],
            int(levels.isin(JUNIOR_LEVELS).sum()),
            facts,
        ),
        (
            "junior students",
            stages["junior"].students,
            int(schools["junior_enrolment"].sum()),
            "derived",
        ),
        (
            "general high schools (incl. complete secondary)",
            count["senior_high"] + count["complete_secondary"],
            int(levels.isin(HS_LEVELS).sum()),
            facts,
        ),
        (
            "general high-school students",
            stages["senior"].students,
            int(schools.loc[levels.isin(HS_LEVELS), "senior_enrolment"].sum()),
            facts,
        ),
        (
            "secondary vocational schools",
            count["vocational"],
            int((levels == "vocational").sum()),
            "assumption",
        ),
        (
            "secondary vocational students",
            stages["vocational"].students,
            int(schools.loc[levels == "vocational", "enrolment"].sum()),
            facts,
        ),
    ]
    table = pd.DataFrame(rows, columns=["figure", "target", "generated", "source"])
    table.loc[0, "target"] = len(regions)
    table["difference_pct"] = (table["generated"] / table["target"] - 1) * 100
    return table[["figure", "target", "generated", "difference_pct", "source"]]


def format_value(value: float) -> str:
    if isinstance(value, float) and value < 1:
        return f"{value:.4f}"
    return f"{round(value):,}"


def calibration_markdown(table: pd.DataFrame) -> str:
    lines = [
        "| figure | target | generated | difference | target's source |",
        "|---|---:|---:|---:|---|",
    ]
    for row in table.itertuples(index=False):
        lines.append(
            f"| {row.figure} | {format_value(row.target)} | "
            f"{format_value(row.generated)} | {row.difference_pct:+.2f}% | {row.source} |"
        )
    return "\n".join(lines)


def _teaching_point_rows(schools: pd.DataFrame, cal: Calibration) -> list[tuple]:
    """Teaching points (not counted as primary schools), where the calibration places any."""
    spec = cal.schools.teaching_points
    if spec is None:
        return []
    points = schools["level"] == "teaching_point"
    return [("teaching points", spec.count, int(points.sum()), "assumption")]
