"""Indicators of the vocational plan at province and prefecture scope. Counts add up across
prefectures (the runner sums them); ratios, ranges and the high-level pick are worked out
here. For the ``*_vs_greedy`` indicators the ``baseline`` column holds the greedy plan's
figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layoutopt.programmes.base import Kpi, RegionOutcome, Rule, kpi_table
from layoutopt.scenario import VocationalSection

# name | digits | baseline | target | planned | rule | 中文 | meaning
KPI_SPECS = kpi_table("""
vocational_schools | 0 | schools_register | - | schools_after | - | 中职学校数 | open vocational schools, public and private (register, after the plan)
vocational_schools_at_least | 0 | schools_register | - | - | - | 中职学校数（不少于） | province: against the low end of schools_kept
vocational_schools_at_most | 0 | schools_register | - | - | - | 中职学校数（不多于） | province: against the high end of schools_kept
counties_with_public_vocational_school | 0 | counties_public_register | - | - | - | 有公办中职学校的县数 | counties with an open public vocational school; target: every county of the scope
schools_below_standard | 0 | below_register | - | below_after | - | 未达设置标准的学校数 | schools under standard_students (register students; horizon students after the plan)
public_below_standard_without_reason | 0 | - | 0 | below_unexplained | at_most | 无理由低于标准的公办学校数 | open public schools under the standard that are neither a strengthened county centre nor exempt
private_below_standard | 0 | - | - | private_below_after | - | 低于标准的民办学校数 | private schools under the standard after the plan (not the plan's to close)
specialty_categories | 0 | categories_register | - | categories_after | - | 专业大类数 | categories offered, summed over prefectures (each prefecture counts its own)
specialty_categories_lost | 0 | - | 0 | categories_lost | at_most | 减少的专业大类数 | categories a prefecture offered on the register and no longer offers after the plan
students_without_place | 0 | unseated_horizon_today | 0 | unseated_after | at_most | 无学位学生数 | horizon students without a place (today's network, the plan)
vocational_students | 0 | - | - | - | - | 中职在校生数 | register students (baseline), plan_students (target), placed after the plan (planned)
general_to_vocational_ratio | 2 | - | - | - | - | 普职比 | general : vocational upper-secondary students (register; after the plans), against "roughly equal" (1.0)
high_level_schools | 0 | - | - | - | - | 省级高水平中职学校数 | picked among kept public schools; target: high_level_schools (province), 1 (prefecture)
streams_added | 0 | - | - | streams_added | - | 新增轨数 | streams added: expansions, strengthened centres, new schools
strengthened_centres | 0 | - | - | strengthened | - | 达标建设的县级职教中心数 | county centres strengthened (below the standard's streams, teachers or students)
new_schools | 0 | - | - | new_schools | - | 新建学校数 | new public schools in counties without one
vocational_schools_vs_greedy | 0 | greedy_schools_after | - | schools_after | - | 中职学校数（对比贪心方案） | baseline: the greedy plan
schools_below_standard_vs_greedy | 0 | greedy_below_left | - | below_unexplained | - | 无理由低于标准的学校数（对比贪心方案） | baseline: the greedy plan
streams_added_vs_greedy | 0 | greedy_streams_added | - | streams_added | - | 新增轨数（对比贪心方案） | baseline: the greedy plan
added_travel_student_min_vs_greedy | 0 | greedy_added_travel | - | plan_added_travel | - | 新增通学时间（人·分钟，对比贪心方案） | student-minutes a day, one way; baseline: the greedy plan
students_without_place_vs_greedy | 0 | greedy_unseated | baseline | unseated_after | at_most | 无学位学生数（对比贪心方案） | baseline: the greedy plan
capital_cost_yuan_streams | 0 | - | - | capital_yuan_streams | - | 扩建投资（元） | streams added × stream_capital_yuan (assumption)
capital_cost_yuan_new_schools | 0 | - | - | capital_yuan_new_schools | - | 新建学校投资（元） | new schools × new_school_capital_yuan, besides their streams (assumption)
capital_cost_yuan_beds | 0 | - | - | capital_yuan_beds | - | 床位投资（元） | beds added × bed_capital_yuan (assumption)
capital_cost_yuan_total | 0 | - | - | capital_yuan_total | - | 投资合计（元） | the three above
""")


def indicators(
    scope: str,
    totals: pd.Series,
    outcomes: list[RegionOutcome],
    section: VocationalSection,
    high_level: pd.DataFrame,
) -> list[Kpi]:
    """The indicators the summed counts cannot give."""
    register, after = float(totals["schools_register"]), float(totals["schools_after"])
    ids = {o.region_id for o in outcomes}
    picked = float(high_level["prefecture_id"].isin(ids).sum())
    kpis = [
        Kpi(
            "counties_with_public_vocational_school",
            float(totals["counties_public_register"]),
            float(totals["counties"]),
            float(totals["counties_public_after"]),
            Rule.AT_LEAST,
        ),
        Kpi(
            "general_to_vocational_ratio",
            _ratio(totals["general_register"], totals["vocational_register"]),
            1.0,
            _ratio(totals["general_after"], totals["students_placed_after"]),
        ),
    ]
    if scope == "province":
        lo, hi = section.schools_kept or (None, None)
        plan = float(section.plan_students) if section.plan_students else None
        kpis += [
            Kpi("vocational_schools_at_least", register, lo, after, Rule.AT_LEAST),
            Kpi("vocational_schools_at_most", register, hi, after, Rule.AT_MOST),
            Kpi(
                "vocational_students",
                float(totals["vocational_register"]),
                plan,
                float(totals["students_placed_after"]),
                Rule.EQUAL,
            ),
            Kpi(
                "high_level_schools",
                None,
                float(section.high_level_schools),
                picked,
                Rule.EQUAL,
            ),
        ]
    else:
        kpis.append(Kpi("high_level_schools", None, 1.0, picked, Rule.AT_LEAST))
    return kpis


def _ratio(general: float, vocational: float) -> float:
    return float(general) / float(vocational) if vocational else float(np.nan)
