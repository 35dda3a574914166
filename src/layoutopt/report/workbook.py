"""``plan.xlsx``: the review workbook a planning meeting works from.

Sheets: a read-me (scenario, its hash, units and sources), one sheet of changes per
programme (Chinese and English headers, action labels, filter, frozen header, widths,
landscape printing fitted to the page width), the KPIs with place names and Chinese
labels, and one row per county with today's and the plan's figures.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd

from layoutopt import __version__
from layoutopt.report.tables import ID_COLUMNS
from layoutopt.report.xlsx import Sheet, write_xlsx
from layoutopt.results import Plan, ProgrammeResult

# Column -> Chinese label (the English name stays beside it).
ZH = {
    "programme": "规划项目",
    "action": "措施",
    "action_label": "措施说明",
    "school_id": "学校代码",
    "school_name": "学校名称",
    "region_id": "县级代码",
    "county": "县（市、区）",
    "prefecture": "市",
    "target_id": "接收学校代码",
    "target_name": "接收学校",
    "students_register": "现有在校生（名册）",
    "students_horizon_today": "规划年学生（现状布局）",
    "students_after": "规划年学生（规划后）",
    "students_moved": "调整学生数",
    "students_unseated": "无学位学生数",
    "size_unit": "规模单位",
    "size_register": "现有规模",
    "size_after": "规划后规模",
    "beds_added": "新增床位",
    "subject": "学科",
    "teachers": "教师数",
    "posts_needed": "编制需求",
    "section": "学段部",
    "kind": "类别",
    "from_id": "调出学校代码",
    "from_name": "调出学校",
    "from_section": "调出学段部",
    "from_county": "调出县",
    "to_id": "接收学校代码",
    "to_name": "接收学校",
    "to_section": "接收学段部",
    "to_county": "接收县",
    "band": "年级段",
    "students": "学生数",
    "beds_needed": "需要床位",
    "beds_register": "现有床位（名册）",
    "beds_after": "规划后床位",
    "boarders_register": "现有寄宿生（名册）",
    "bed_need_after": "规划后床位需求",
    "beds_short_register": "现有床位缺口（名册）",
    "beds_short_after": "规划后床位缺口",
    "ownership": "办学性质",
    "cover_out": "本校转任他科",
    "cover_in": "本校他科转入",
    "teachers_after": "规划后教师",
    "teachers_register": "现有教师（名册）",
    "moved_out": "调出",
    "moved_in": "调入",
    "recruited": "招聘",
    "surplus_after": "调配后富余",
    "gap_after": "调配招聘后缺口",
    "level": "学段",
    "open": "规划后开办",
    "travel_min_before": "调整前通学时间（分钟）",
    "travel_min_after": "调整后通学时间（分钟）",
    "reason": "原因",
    "indicator": "指标",
    "indicator_zh": "指标名称",
    "scope": "范围",
    "scope_id": "范围代码",
    "scope_name": "范围名称",
    "baseline": "基期值",
    "target": "目标值",
    "planned": "规划值",
    "met": "是否达标",
    "meaning": "说明",
}
WIDE = {"reason": 80, "meaning": 50, "action_label": 28, "school_name": 26, "target_name": 26}


def plan_workbook(
    plan: Plan,
    kpis: pd.DataFrame,
    manifest: dict[str, Any],
    tables: dict[str, pd.DataFrame] | None = None,
) -> bytes:
    """The workbook; ``tables``: the CSVs written beside changes.csv (flows, beds,
    staffing), a sheet each."""
    sheets = [_read_me(plan, manifest)]
    sheets += [_table(f"{r.programme} 调整", _changes(r)) for r in plan.results]
    sheets += [
        _table(f"{name.removesuffix('.csv')} 明细", table)
        for name, table in sorted((tables or {}).items())
    ]
    sheets.append(_table("指标 KPIs", _kpis(plan, kpis)))
    sheets.append(_table("县汇总 counties", county_summary(plan, kpis, tables or {})))
    return write_xlsx(sheets)


def scenario_hash(manifest: dict[str, Any]) -> str:
    """sha256 of the scenario as resolved (every default filled in)."""
    text = json.dumps(manifest["scenario"], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_me(plan: Plan, manifest: dict[str, Any]) -> Sheet:
    scenario = plan.scenario
    rows = [
        ("规划方案 scenario", scenario.name),
        ("标题 title", scenario.title),
        ("方案文件 file", manifest.get("scenario_file") or ""),
        ("方案哈希 scenario sha256 (as resolved)", scenario_hash(manifest)),
        ("数据 data set", str(scenario.data)),
        ("基期 base year", scenario.base_year),
        ("规划年 horizon year", scenario.horizon_year),
        ("规划项目 programmes, in order", ", ".join(plan.programmes)),
        ("软件 layoutopt", __version__),
        ("", ""),
        ("三类数字 three kinds of figure", ""),
        ("…_register", "名册: the data set as it is today (base year)"),
        ("…_horizon_today", "现状布局: the horizon year's students placed in today's network"),
        ("…_after", "规划后: the plan's result at the horizon"),
        ("", ""),
        ("单位 units", ""),
        (
            "students / children",
            "persons; size_unit says streams (轨, classes per grade) or classes (班)",
        ),
        ("travel_min_*", "minutes, one way, mean over the students moved by the row"),
        (
            "*_yuan",
            "yuan at the scenario's unit costs (assumptions, see the scenario's "
            "documented defaults); objective weights never appear as money",
        ),
        (
            "来源 sources",
            "targets and norms: FACTS.md of the project (14th Five-Year Plan, "
            "national standards); schools, settlements and roads of the bundled data set are "
            "synthetic (data/shanxi/README.md)",
        ),
    ]
    frame = pd.DataFrame(rows, columns=["key", "value"])
    return Sheet("说明 read me", frame, widths=[38, 100], table=False, bold_first=True)


def _changes(result: ProgrammeResult) -> pd.DataFrame:
    labels = {str(a.code): a.label for a in result.actions}
    frame = result.changes.copy()
    frame.insert(2, "action_label", frame["action"].map(labels).fillna(frame["action"]))
    return frame.drop(columns=["programme"])


def _kpis(plan: Plan, kpis: pd.DataFrame) -> pd.DataFrame:
    labels = {k: v for r in plan.results for k, v in r.kpi_labels.items()}
    names = _scope_names(plan)
    frame = kpis.copy()
    frame.insert(2, "indicator_zh", frame["indicator"].map(lambda k: labels.get(k, ("", ""))[0]))
    scope_name = [
        names.get((s, i), "") for s, i in zip(frame["scope"], frame["scope_id"], strict=True)
    ]
    frame.insert(5, "scope_name", scope_name)
    frame["meaning"] = frame["indicator"].map(lambda k: labels.get(k, ("", ""))[1])
    return frame


def _scope_names(plan: Plan) -> dict[tuple[str, str], str]:
    regions = plan.dataset.regions
    names = {("province", "all"): "全省 province"}
    names |= {("county", r): n for r, n in zip(regions["region_id"], regions["name"], strict=True)}
    prefectures = zip(regions["prefecture_id"].astype(str), regions["prefecture_name"], strict=True)
    return names | {("prefecture", p): n for p, n in prefectures}


def county_summary(plan: Plan, kpis: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per county, from the ledger: each programme's schools and students on the
    register and after the plan (the sections it planned), beds added and short
    (``beds.csv``'s figures), targets missed and shortfall rows."""
    regions = pd.DataFrame(plan.dataset.regions.drop(columns="geometry"))
    frame = regions[["region_id", "name", "prefecture_name"]].rename(
        columns={"name": "county", "prefecture_name": "prefecture"}
    )
    frame = frame.sort_values("region_id").set_index("region_id")
    sections = plan.schools_after
    beds = tables.get("beds.csv", pd.DataFrame(columns=["programme", "region_id"]))
    for result in plan.results:
        p = result.programme
        if sections is not None and result.plans_schools:
            mine = sections[sections["planned_by"] == p]
            existing = mine[~mine["new"].astype(bool)]
            frame[f"{p}_schools_register"] = existing.groupby("region_id")["school_id"].nunique()
            opened = mine[mine["open"].astype(bool)]
            frame[f"{p}_schools_after"] = opened.groupby("region_id")["school_id"].nunique()
            frame[f"{p}_{result.people}_register"] = mine.groupby("region_id")[
                "students_register"
            ].sum()
            frame[f"{p}_{result.people}_after"] = mine.groupby("region_id")["students_after"].sum()
        mine_beds = beds[beds["programme"] == p].set_index("region_id")
        for column in ("beds_added", "beds_short_after"):
            if len(mine_beds):
                frame[f"{p}_{column}"] = mine_beds[column].drop("all", errors="ignore")
        county = kpis[(kpis["programme"] == p) & (kpis["scope"] == "county")]
        frame[f"{p}_targets_missed"] = county[county["met"] == "no"].groupby("scope_id").size()
        changes = result.changes
        short = changes[changes["action"] == "shortfall"]
        frame[f"{p}_shortfall_rows"] = short.groupby("region_id").size()
    return frame.fillna(0).reset_index()


def _table(name: str, frame: pd.DataFrame) -> Sheet:
    """A sheet of a table: Chinese and English headers, ids as text, widths from the
    first rows, frozen and filtered header, printed landscape one page wide."""
    columns = list(frame.columns)
    widths = []
    for column in columns:
        sample = [len(str(v)) for v in frame[column].head(200)]
        widths.append(
            WIDE.get(column, min(30, max([len(ZH.get(column, column)) * 2, *sample]) + 2))
        )
    return Sheet(
        name,
        frame,
        header=[f"{ZH[c]}\n{c}" if c in ZH else c for c in columns],
        widths=widths,
        text=frozenset(c for c in columns if c in ID_COLUMNS),
    )
