"""Indicators of the kindergarten plan at province, prefecture and county scope.

``baseline`` is the data set's base year (2020: enrolled children over the census's
children aged 3-5), ``planned`` the horizon after the plan. Rates are shares (0-1).
"""

from __future__ import annotations

import pandas as pd

from layoutopt.programmes.base import Kpi, Rule, kpi_table
from layoutopt.scenario import KindergartenSection


def indicators(scope: str, s: pd.Series, section: KindergartenSection) -> list[Kpi]:
    """The rates (children placed, inclusive, public) against their targets, the province's
    project range, and where projects went; ``s`` sums the scope's county counts."""
    rates = [
        ("enrolment_rate", "enrolled", "children", section.enrolment_rate),
        ("inclusive_coverage", "inclusive", "enrolled", section.inclusive_share),
        ("public_share", "public", "enrolled", section.public_share),
    ]
    kpis = []
    for name, part, whole, target in rates:
        register = _ratio(s[f"{part}_register"], s[f"{whole}_register"])
        if scope == "county" and not section.allow_decrease and register is not None:
            target = max(target, min(1.0, register))  # a county's value may not fall
        after = _ratio(s[f"{part}_after"], s[f"{whole}_after"])
        tolerance = _half_child(s[f"{whole}_after"])
        kpis.append(Kpi(name, register, target, after, Rule.AT_LEAST, tolerance))
    if scope == "province":
        lo, hi = section.projects or (None, None)
        kpis.append(Kpi("public_projects_at_least", None, lo, s.projects, Rule.AT_LEAST, TOLERANCE))
        kpis.append(Kpi("public_projects_at_most", None, hi, s.projects, Rule.AT_MOST, TOLERANCE))
    children = _ratio(s.children_growth, s.children_after)
    share = _ratio(s.projects_growth, s.projects)
    name = "projects_in_growth_or_migrant_areas_share"
    kpis.append(Kpi(name, children, children, share, Rule.ABOVE, TOLERANCE))
    return kpis


def _ratio(a: float, b: float) -> float | None:
    return None if not b else float(a) / float(b)


def _half_child(children: float) -> float:
    """A rate short by less than half a child is met: shortfall rows start at half a child."""
    return max(TOLERANCE, 0.5 / children) if children else TOLERANCE


TOLERANCE = 5e-5  # half the last digit shown
# name | digits | baseline | target | planned | rule | 中文 | meaning
KPI_SPECS = kpi_table("""
enrolment_rate | 4 | - | - | - | - | 学前三年毛入园率 | children placed / children aged 3-5 (register 2020; plan at the horizon)
inclusive_coverage | 4 | - | - | - | - | 普惠性幼儿园覆盖率 | children in inclusive (普惠) places / children placed
public_share | 4 | - | - | - | - | 公办园在园幼儿占比 | children in public kindergartens / children placed
children_aged_3_5 | 0 | children_register | - | children_after | - | 3-5岁儿童数 | children: census (baseline), horizon projection (planned)
places_added | 0 | - | - | places_added | - | 新增学位 | places built or added by projects
public_projects | 0 | - | - | projects | - | 公办园项目数 | new, converted and expanded public kindergartens
public_projects_at_least | 0 | - | - | - | - | 公办园项目数（下限） | the province's project range, lower end
public_projects_at_most | 0 | - | - | - | - | 公办园项目数（上限） | the province's project range, upper end
new_kindergarten_count | 0 | - | - | new_kindergarten | - | 新建园数 | kindergartens with this action
convert_building_count | 0 | - | - | convert_building | - | 改建园数 | kindergartens with this action
expand_count | 0 | - | - | expand | - | 扩建园数 | kindergartens with this action
recognise_inclusive_count | 0 | - | - | recognise_inclusive | - | 认定普惠园数 | kindergartens with this action
merge_into_count | 0 | - | - | merge_into | - | 撤并园数 | kindergartens with this action
close_count | 0 | - | - | close | - | 关闭园数 | kindergartens with this action
children_without_place | 0 | - | - | unenrolled | - | 未入园儿童数 | horizon children without a place after the plan
projects_in_growth_or_migrant_areas_share | 4 | - | - | - | - | 增长及流动人口区项目占比 | projects there / all projects, against those areas' share of children
capital_cost_yuan_new_kindergarten | 0 | - | - | capital_yuan_new_kindergarten | - | 新建园投资（元） | new kindergartens: new_cost + classes × class_cost (assumptions)
capital_cost_yuan_convert_building | 0 | - | - | capital_yuan_convert_building | - | 改建园投资（元） | conversions: convert_cost + classes × class_cost (assumptions)
capital_cost_yuan_expand | 0 | - | - | capital_yuan_expand | - | 扩建投资（元） | expansions: expand_cost + classes added × class_cost (assumptions)
capital_cost_yuan_recognise_inclusive | 0 | - | - | capital_yuan_recognise_inclusive | - | 普惠认定补助（元） | recognition subsidy: places × recognise_cost_per_child (assumption)
capital_cost_yuan_total | 0 | - | - | capital_yuan_total | - | 投资合计（元） | the four above
""")
