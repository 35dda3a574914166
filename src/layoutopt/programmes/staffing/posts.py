"""Teacher posts each open school needs after the plan, at the horizon, by subject group.

A school's students at the horizon are, section by section, the ledger's: the plan's
figure after the plan where a programme planned the section (kindergartens, high schools'
senior sections, vocational schools, the primary and junior sections the boarding
programme placed, a complete secondary school's junior section among them), else its
register students times its county's cohort change between the base year and the
horizon (primary ages 6-11, junior 12-14, senior 15-17). A closed section has none: a
complete secondary school whose senior section merges keeps its junior section's posts.

Posts, by section:
- students ÷ the section's students per post (2014 norms: primary 19, junior 13.5, senior
  12.5); a small rural school takes the class : teacher ratio where that needs more;
- kindergartens: teachers per class (2); vocational schools: 1 post per 20 students, at
  least 60 (the 2010 standard);
- one post per ``boarders_per_extra_post`` boarders (in the total);
- PE and arts from class hours: classes × periods a week × the subject's share ÷ a
  teacher's load;
- a full-time mental-health teacher in every school of ``mental_health_min_students`` or
  more, and in at least one school of each town centre;
- the rest shared among the other subject groups by ``subject_shares``.
Special-education schools keep the posts they have (no norm in FACTS.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layoutopt.demand.cohorts import cohort_at_horizon
from layoutopt.programmes.common import host_settlements, whole_keeping_total
from layoutopt.scenario import Scenario
from layoutopt.state import PlanState

SECTIONS = {  # section: (ages, levels that have it)
    "primary": (range(6, 12), ("teaching_point", "primary", "nine_year")),
    "junior": (range(12, 15), ("junior", "nine_year", "complete_secondary")),
    "senior": (range(15, 18), ("senior_high", "complete_secondary")),
}
OWN_SECTIONS = ("kindergarten", "vocational", "special")  # one-level sections of their own
RURAL = ("village", "town")


def horizon_students(state: PlanState, scenario: Scenario) -> pd.DataFrame:
    """school_id and students at the horizon by section (primary, junior, senior,
    kindergarten, vocational, special), for every school with an open section."""
    sections = state.ledger.sections
    sections = sections[sections["open"].astype(bool)]
    factor = _county_factors(state, scenario)
    register = sections["students_register"].to_numpy(float)
    grown = register.copy()
    for name in SECTIONS:
        mine = (sections["section"] == name).to_numpy()
        change = factor[name].reindex(sections["region_id"]).fillna(1.0).to_numpy()
        grown[mine] = register[mine] * change[mine]
    planned = sections["students_after"].to_numpy(float)
    value = np.where(np.isnan(planned), grown, planned)
    table = pd.DataFrame(
        {"school_id": sections["school_id"], "section": sections["section"], "value": value}
    )
    out = table.pivot_table(index="school_id", columns="section", values="value", aggfunc="sum")
    out = out.reindex(columns=[*SECTIONS, *OWN_SECTIONS]).fillna(0.0)
    return out.reset_index().round(0)


def _county_factors(state: PlanState, scenario: Scenario) -> pd.DataFrame:
    """Each county's cohort at the horizon over its cohort in the base year, by section."""
    demand = state.dataset.demand
    counties = demand["region_id"].astype(str).to_numpy()
    factors = {}
    for section, (ages, _) in SECTIONS.items():
        horizon = cohort_at_horizon(demand, list(ages), scenario.base_year, scenario.horizon_year)
        base = demand[[f"age_{a}" for a in ages]].sum(axis=1).to_numpy(float)
        ratio = pd.Series(horizon.to_numpy(), index=counties).groupby(level=0).sum()
        ratio /= pd.Series(base, index=counties).groupby(level=0).sum().replace(0, np.nan)
        factors[section] = ratio.fillna(1.0)
    return pd.DataFrame(factors)


def needed_posts(
    state: PlanState, scenario: Scenario, today: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Posts by school and subject (school_id, subject, posts), and each open school's
    figures (students at the horizon, posts, nurses, whether it needs a mental-health
    teacher). ``today``: the teachers table, for the schools that keep their posts."""
    section = scenario.staffing
    schools = state.open_schools(state.schools["level"].unique()).set_index("school_id")
    by_section = horizon_students(state, scenario).set_index("school_id")
    students = by_section.reindex(schools.index).fillna(0.0)
    kind = state.dataset.demand.set_index("demand_id")["kind"]
    hosts = host_settlements(schools, state.dataset.demand)
    host = kind.reindex(hosts).fillna("").to_numpy()
    total_students = students[[*SECTIONS, "kindergarten", "vocational"]].sum(axis=1)
    info = pd.DataFrame(
        {
            "students_horizon": total_students,
            "main": _main_section(schools, students),
            "rural": np.isin(host, RURAL),
            "town_host": np.where(host == "town", hosts, ""),
        },
        index=schools.index,
    )
    info["mental_health"] = total_students >= section.mental_health_min_students
    info.loc[~info["main"].isin(["primary", "junior", "senior", "vocational"]), "mental_health"] = (
        False
    )
    info = _one_per_town(info)
    rows, nurses = [], {}
    # Plain records: a pandas row per school cost more than the norms themselves.
    by_school = zip(
        schools.index,
        schools.to_dict("records"),
        students.to_dict("records"),
        info.to_dict("records"),
        strict=True,
    )
    for school_id, school, school_students, school_info in by_school:
        if school["level"] == "special":
            continue  # keeps the posts it has (no norm)
        posts, nurse = school_posts(school, school_students, school_info, scenario)
        nurses[school_id] = nurse
        rows += [(school_id, subject, n) for subject, n in posts.items() if n > 0]
    kept = today[today["school_id"].isin(schools.index[schools["level"] == "special"])]
    table = pd.DataFrame(rows, columns=["school_id", "subject", "posts"])
    kept = kept.rename(columns={"teachers": "posts"})[["school_id", "subject", "posts"]]
    table = pd.concat([table, kept], ignore_index=True)
    info["nurse_posts"] = pd.Series(nurses).reindex(info.index).fillna(0)
    return table.sort_values(["school_id", "subject"], ignore_index=True), info


def _main_section(schools: pd.DataFrame, students: pd.DataFrame) -> pd.Series:
    """The section that sets a school's subject mix: its largest by students."""
    main = students[["primary", "junior", "senior"]].idxmax(axis=1)
    main = main.where(students[["primary", "junior", "senior"]].sum(axis=1) > 0, "primary")
    main[schools["level"] == "kindergarten"] = "kindergarten"
    main[schools["level"] == "vocational"] = "vocational"
    main[schools["level"] == "special"] = "special"
    return main


def _one_per_town(info: pd.DataFrame) -> pd.DataFrame:
    """A town centre whose schools need no mental-health teacher yet gets one, in its
    largest school."""
    eligible = info[(info["town_host"] != "") & info["main"].isin(["primary", "junior", "senior"])]
    for _, group in eligible.groupby("town_host", sort=True):
        if not group["mental_health"].any():
            largest = group.sort_values("students_horizon", ascending=False, kind="stable").index[0]
            info.loc[largest, "mental_health"] = True
    return info


def school_posts(school, students, info, scenario: Scenario) -> tuple[dict[str, int], float]:
    """One school's posts by subject and its nurse posts. ``school``: its state row (level,
    classes, streams, boarding_beds); ``students``: by section at the horizon; ``info``:
    students_horizon, main (section), rural, mental_health."""
    section = scenario.staffing
    if school["level"] == "kindergarten":
        classes = float(school.get("classes", 0) or 0)
        return (
            {"preschool": int(np.ceil(classes * section.kindergarten_teachers_per_class))},
            classes * section.kindergarten_nurses_per_class,
        )
    posts, hours = 0.0, {"pe": 0.0, "arts": 0.0}
    for name in ("primary", "junior", "senior"):
        n = float(students[name])
        if n <= 0:
            continue
        need = n / section.students_per_teacher[name]
        classes = _classes(school, name, students, scenario)
        if info["rural"] and info["students_horizon"] < section.small_school_students:
            need = max(need, classes * section.teachers_per_class.get(name, 0.0))
        posts += need
        periods = classes * section.weekly_periods[name] / section.teaching_load_periods
        hours["pe"] += periods * section.pe_share[name]
        hours["arts"] += periods * section.arts_share[name]
    if school["level"] == "vocational":
        voc = scenario.vocational
        n = float(students["vocational"])
        posts = max(float(voc.standard_teachers), n / voc.students_per_teacher)
        periods = (
            _classes(school, "vocational", students, scenario) * section.weekly_periods["senior"]
        )
        hours["pe"] += periods / section.teaching_load_periods * section.pe_share["senior"]
        hours["arts"] += periods / section.teaching_load_periods * section.arts_share["senior"]
    boarders = min(float(school.get("boarding_beds", 0) or 0), float(info["students_horizon"]))
    posts += boarders / section.boarders_per_extra_post
    fixed = {
        "pe": round(hours["pe"]),
        "arts": round(hours["arts"]),
        "mental_health": int(bool(info["mental_health"])),
    }
    total = max(int(np.ceil(posts - 1e-9)), sum(fixed.values()))
    shares = section.subject_shares.get(info["main"], {"other": 1.0})
    names = np.array(list(shares), dtype=object)
    values = np.array(list(shares.values()), dtype=float)
    # Boarding posts are in the total, shared like the rest.
    rest = whole_keeping_total(values / values.sum() * (total - sum(fixed.values())), names)
    return {**fixed, **{k: int(v) for k, v in zip(names, rest, strict=True)}}, 0.0


def _classes(school, section_name: str, students, scenario: Scenario) -> float:
    """Classes of a section after the plan: streams × grades for stream levels, else the
    register's classes shared by section enrolment."""
    streams = float(school.get("streams", 0) or 0)
    if section_name in ("senior", "vocational") and streams > 0:
        stage = scenario.vocational if section_name == "vocational" else scenario.highschool
        return streams * stage.grades
    classes = float(school.get("classes", 0) or 0)
    sections = ["primary", "junior", "senior"]
    total = float(sum(students[s] for s in sections)) or 1.0
    return classes * float(students[section_name] if section_name in sections else 0) / total
