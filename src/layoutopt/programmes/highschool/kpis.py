"""Indicators of the high-school plan at province, prefecture and county scope. Counts add
up across scopes (the runner sums them); travel is worked out from each scope's flows.

For the ``*_vs_greedy`` indicators the ``baseline`` column holds the greedy plan's figure.
"""

from __future__ import annotations

import pandas as pd

from layoutopt.programmes.base import Kpi, RegionOutcome, Rule, kpi_table
from layoutopt.programmes.flows import FLOW_COLUMNS as FLOWS
from layoutopt.programmes.flows import NO_SEAT, weighted_quantile
from layoutopt.scenario import HighSchoolSection

# name | digits | baseline | target | planned | rule | 中文 | meaning
KPI_SPECS = kpi_table("""
small_public_schools | 1 | small_register | 0 | small_after | at_most | 小规模公办高中数 | open public schools of small_max_streams or fewer
small_public_schools_not_exempt | 1 | small_register | 0 | small_not_exempt | at_most | 未豁免的小规模公办高中数 | the same, less those kept with a reason
schools_above_max_streams | 1 | above_register | baseline | above_after | at_most | 超过规模上限的学校数 | schools above max_streams (held, never grown)
schools_grown_above_max_streams | 1 | - | 0 | grown_above | at_most | 扩建后超过上限的学校数 | schools the plan grows above max_streams
counties_without_public_high_school | 1 | no_public_register | 0 | no_public_after | at_most | 无公办高中的县数 | counties without an open public high school
counties_without_quality_public_high_school | 1 | no_quality_register | 0 | no_quality_after | at_most | 无优质公办高中的县数 | counties without an open school of quality_tiers
students_without_seat | 1 | unseated_horizon_today | 0 | unseated_after | at_most | 无学位学生数 | horizon students without a seat (today's network, the plan)
streams_added | 1 | - | - | streams_added | - | 新增轨数 | streams (轨) added
new_schools | 1 | - | - | new_schools | - | 新建学校数 | new schools opened
small_schools_left_vs_greedy | 1 | greedy_small_left | baseline | small_after | at_most | 保留小规模学校数（对比贪心方案） | baseline: the greedy plan
streams_added_vs_greedy | 1 | greedy_streams_added | - | streams_added | - | 新增轨数（对比贪心方案） | baseline: the greedy plan
capital_cost_yuan_streams_vs_greedy | 0 | greedy_capital_yuan_streams | - | capital_yuan_streams | - | 扩建投资（元，对比贪心方案） | yuan for the streams added (stream_capital_yuan, assumption); baseline: the greedy plan
added_travel_student_min_vs_greedy | 1 | greedy_added_travel | - | plan_added_travel | - | 新增通学时间（人·分钟，对比贪心方案） | student-minutes a day, one way
students_without_seat_vs_greedy | 1 | greedy_unseated | baseline | unseated_after | at_most | 无学位学生数（对比贪心方案） | baseline: the greedy plan
mean_travel_min | 1 | - | - | - | - | 平均通学时间（分钟） | mean trip of seated horizon students, minutes
p95_travel_min | 1 | - | - | - | - | 95%分位通学时间（分钟） | 95th percentile trip, minutes, against max_travel_min
general_high_school_students | 1 | - | - | - | - | 普通高中在校生数 | register students (baseline), plan_students (target), placed (planned)
capital_cost_yuan_streams | 0 | - | - | capital_yuan_streams | - | 扩建投资（元） | streams added × stream_capital_yuan (assumption)
capital_cost_yuan_new_schools | 0 | - | - | capital_yuan_new_schools | - | 新建学校投资（元） | new schools × new_school_capital_yuan, besides their streams (assumption)
capital_cost_yuan_beds | 0 | - | - | capital_yuan_beds | - | 床位投资（元） | boarding beds added × bed_capital_yuan (assumption)
capital_cost_yuan_total | 0 | - | - | capital_yuan_total | - | 投资合计（元） | the three above
""")


def indicators(
    scope: str,
    totals: pd.Series,
    outcomes: list[RegionOutcome],
    section: HighSchoolSection,
    enrolled_today: float,
) -> list[Kpi]:
    """The indicators the counts cannot give: travel from the flows of the scope's counties,
    and the province's students against the plan's figure."""
    today, after = _flows(outcomes, "today"), _flows(outcomes, "after")
    kpis = [
        Kpi(name, _travel(today, stat), target, _travel(after, stat), Rule.AT_MOST)
        for name, stat, target in (
            ("mean_travel_min", "mean", None),
            ("p95_travel_min", "p95", section.max_travel_min),
        )
    ]
    if scope == "province":
        plan = float(section.plan_students) if section.plan_students else None
        students = float(totals["students"])
        kpis.append(Kpi("general_high_school_students", enrolled_today, plan, students, Rule.EQUAL))
    return kpis


def _travel(flows: pd.DataFrame, stat: str) -> float:
    seated = flows[flows["place_id"] != NO_SEAT]
    w, v = seated["students"].to_numpy(float), seated["minutes"].to_numpy(float)
    if stat == "mean":
        return float((w * v).sum() / w.sum()) if w.sum() > 0 else float("nan")
    return weighted_quantile(v, w, 0.95)


def _flows(outcomes: list[RegionOutcome], which: str) -> pd.DataFrame:
    frames = [o.detail[which] for o in outcomes if len(o.detail[which])]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FLOWS)
