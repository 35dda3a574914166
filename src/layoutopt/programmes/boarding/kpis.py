"""Indicators of the boarding plan at county, prefecture and province scope. Counts add up
across counties (the runner sums them); shares and the plan's 1,700 are worked out here.
``_today`` figures are the horizon's pupils in today's network; ``_after`` the plan's."""

from __future__ import annotations

import pandas as pd

from layoutopt.programmes.base import Kpi, RegionOutcome, Rule, kpi_table
from layoutopt.scenario import BoardingSection

# name | digits | baseline | target | planned | rule | 中文 | meaning
KPI_SPECS = kpi_table("""
far_pupils | 0 | far_today | - | far_after | - | 超出走读范围的学生 | pupils of the boarding grades with no school of their band within the day threshold at the horizon (today's network; after the plan)
far_pupils_with_bed | 0 | boarders_today | - | boarders_after | - | 有床位的远距离学生 | far pupils with a boarding bed (today's beds only; after the plan)
far_pupils_without_bed | 0 | far_no_bed_today | 0 | far_no_bed_after | at_most | 无床位的远距离学生 | far pupils left without a bed; each is in a shortfall row naming the settlement
left_behind_share_of_far_pupils | 3 | - | - | - | - | 远距离学生中留守儿童占比 | left-behind pupils among far pupils (today's network; after the plan)
left_behind_share_of_boarders | 3 | - | - | - | - | 寄宿生中留守儿童占比 | left-behind pupils among those with a bed after the plan; target: their share among far pupils (at least)
young_pupils_without_school_in_reach | 0 | young_no_school_today | 0 | young_no_school_after | at_most | 无校可达的低年级学生 | pupils of the young grades with no school within the primary threshold; each is in a shortfall row
living_area_m2_per_added_bed | 2 | - | - | - | - | 新增床位人均居住面积（平方米） | indoor living area of the modules per bed; target: min_area_per_boarder_m2 (FACTS: 3 m²)
dormitory_projects | 0 | - | - | - | - | 宿舍建设项目学校数 | schools adding dormitory modules; province target: the plan period's "over 1,700" (reported, not forced)
capital_cost_yuan_beds | 0 | - | - | capital_yuan_beds | - | 床位投资（元） | beds added × bed_capital_yuan (assumption)
classrooms_added | 0 | - | - | classrooms_added | - | 新增教室 | classrooms added so that each section holds its pupils at the horizon (its own and those it takes in) within its places
classroom_projects | 0 | - | - | classroom_projects | - | 增加教室的学校数 | schools adding classrooms (add_classrooms rows)
capital_cost_yuan_classrooms | 0 | - | - | capital_yuan_classrooms | - | 教室投资（元） | classrooms added × classroom_capital_yuan (assumption)
small_schools_merged | 0 | - | - | merges | - | 撤并的小规模学校 | small rural schools (or their upper grades) merged
small_schools_kept_for_young_pupils | 0 | - | - | kept_small_rural | - | 为低年级保留的小规模学校和教学点 | kept because young pupils have no other school in reach, or kept as a teaching point
teaching_points | 0 | - | - | teaching_points_after | - | 教学点 | teaching points after the plan (teaching_point schools and schools kept for the young grades only)
far_pupils_base_year_bus | 0 | boarders_register | - | far_base_bus | - | 基期远距离学生（校车） | the rule by bus on the register year's pupils (census ages); baseline: boarders on the register
far_pupils_base_year_walk | 0 | boarders_register | - | far_base_walk | - | 基期远距离学生（步行） | the rule on foot on the register year's pupils; baseline: boarders on the register
""")


def indicators(
    scope: str, totals: pd.Series, outcomes: list[RegionOutcome], section: BoardingSection
) -> list[Kpi]:
    far_share_today = _share(totals["far_lb_today"], totals["far_today"])
    far_share = _share(totals["far_lb_after"], totals["far_after"])
    kpis = [
        Kpi("left_behind_share_of_far_pupils", far_share_today, None, far_share),
        Kpi(
            "left_behind_share_of_boarders",
            _share(totals["boarders_lb_today"], totals["boarders_today"]),
            far_share,
            _share(totals["boarders_lb_after"], totals["boarders_after"]),
            Rule.AT_LEAST,
            tolerance=5e-4,
        ),
    ]
    kpis.append(
        Kpi(
            "living_area_m2_per_added_bed",
            None,
            section.min_area_per_boarder_m2,
            _share(totals["area_added_m2"], totals["beds_added"]),  # none where none added
            Rule.AT_LEAST,
        )
    )
    # The plan's "over 1,700" is a province figure: reported there, not forced.
    province = scope == "province"
    kpis.append(
        Kpi(
            "dormitory_projects",
            None,
            float(section.plan_projects) if province and section.plan_projects else None,
            float(totals["dormitory_projects"]),
            Rule.AT_LEAST if province else None,
        )
    )
    return kpis


def _share(part: float, whole: float) -> float | None:
    return float(part) / float(whole) if whole else None
