"""Indicators of the staffing plan at province, prefecture and county scope.

"Gap" is posts not filled: before redeployment (today's teachers against the posts after
the plan), and after redeployment (what must be recruited). Counts add up across scopes;
shares and the plan's province figure are worked out here.
"""

from __future__ import annotations

import pandas as pd

from layoutopt.programmes.base import Kpi, RegionOutcome, Rule, kpi_table
from layoutopt.scenario import StaffingSection

# name | digits | baseline | target | planned | rule | 中文 | meaning
KPI_SPECS = kpi_table("""
teacher_posts | 0 | teachers_register | - | posts | - | 教师编制需求 | posts the schools open after the plan need at the horizon (baseline: full-time teachers on the register)
schools_with_posts | 0 | - | - | schools_with_posts | - | 核定编制的学校数 | open schools whose posts are worked out (special schools keep theirs)
teacher_gap | 0 | gap_before | - | gap_after | - | 教师缺口 | posts unfilled: before redeployment, every school (baseline); after it, public schools (planned: to recruit)
private_school_gap | 0 | - | - | private_gap | - | 民办学校缺编 | posts of private schools their own teachers do not fill (reported; the county neither moves nor recruits teachers for them)
teacher_gap_pe | 0 | gap_before_pe | - | gap_after_pe | - | 体育教师缺口 | PE posts unfilled, before and after redeployment
teacher_gap_arts | 0 | gap_before_arts | - | gap_after_arts | - | 艺术教师缺口 | arts posts unfilled, before and after redeployment
teacher_gap_mental_health | 0 | gap_before_mental_health | - | gap_after_mental_health | - | 心理健康教师缺口 | mental-health posts unfilled, before and after redeployment
pe_arts_gap_after_recruitment | 0 | - | 0 | pe_arts_gap_final | at_most | 补充后体育艺术教师缺口 | PE and arts posts of public schools still unfilled once the recruits are in (the plan: closed within three years)
mental_health_coverage | 3 | - | 1 | - | at_least | 心理健康教师覆盖率 | public schools that need a full-time mental-health teacher and have one: today (baseline), after redeployment and recruitment (planned)
mental_health_covered_by_redeployment | 0 | mh_covered_today | - | mh_covered_redeploy | - | 调配后有心理健康教师的学校数 | of the schools that need one (baseline: today)
teachers_moved | 0 | - | - | moved | - | 交流调配教师数 | public teachers who move to another public school of their county, within their level band
teachers_covering_another_subject | 0 | - | - | covered | - | 转岗任教教师数 | teachers who teach another subject at their own school
teachers_to_recruit | 0 | - | - | gap_after | - | 需补充招聘教师数 | posts left after redeployment (recruit rows)
surplus_teachers | 0 | surplus_before | - | surplus_after | - | 富余教师数 | teachers of public schools beyond their school's posts, before and after redeployment
surplus_redeployed_share | 3 | - | - | - | - | 富余教师调配比例 | share of surplus teachers redeployed (moved or covering another subject)
kindergarten_nurse_posts | 0 | - | - | nurse_posts | - | 幼儿园保育员编制 | nurse posts of kindergartens (1 per class), besides the teachers
teachers_after_plan | 0 | teachers_register | - | - | - | 规划后专任教师数 | today's teachers plus the recruits (province: against plan_teachers, which counts all levels including higher education)
""")


def indicators(
    scope: str, totals: pd.Series, outcomes: list[RegionOutcome], section: StaffingSection
) -> list[Kpi]:
    needing = float(totals["mh_needing"])
    surplus = float(totals["surplus_before"])
    kpis = [
        Kpi(
            "mental_health_coverage",
            float(totals["mh_covered_today"]) / needing if needing else None,
            1.0,
            float(totals["mh_covered_after"]) / needing if needing else 1.0,
            Rule.AT_LEAST,
        ),
        Kpi(
            "surplus_redeployed_share",
            None,
            None,
            (surplus - float(totals["surplus_after"])) / surplus if surplus else None,
        ),
    ]
    # The plan's 487,300 counts every level, higher education included: reported, not judged.
    target = float(section.plan_teachers) if scope == "province" and section.plan_teachers else None
    register, after = float(totals["teachers_register"]), float(totals["teachers_after"])
    kpis.append(Kpi("teachers_after_plan", register, target, after))
    return kpis
