"""The specialty categories (专业大类) of secondary vocational schools.

The 19 categories of the 2021 vocational education specialty catalogue (职业教育专业目录),
FACTS.md "national norms"; the two-digit codes of the secondary level (61-79, in the
catalogue's order) are the project's reading of it. A school's ``specialties`` cell lists
its category codes separated by ``;`` (e.g. ``66;71;73``).
"""

from __future__ import annotations

SEPARATOR = ";"

CATALOGUE: dict[str, str] = {
    "61": "农林牧渔",
    "62": "资源环境与安全",
    "63": "能源动力与材料",
    "64": "土木建筑",
    "65": "水利",
    "66": "装备制造",
    "67": "生物与化工",
    "68": "轻工纺织",
    "69": "食品药品与粮食",
    "70": "交通运输",
    "71": "电子与信息",
    "72": "医药卫生",
    "73": "财经商贸",
    "74": "旅游",
    "75": "文化艺术",
    "76": "新闻传播",
    "77": "教育与体育",
    "78": "公安与司法",
    "79": "公共管理与服务",
}


def codes(cell: object) -> list[str]:
    """The category codes of one cell, in the order written, blanks dropped."""
    if not isinstance(cell, str):
        return []
    return [c.strip() for c in cell.split(SEPARATOR) if c.strip()]


def joined(categories: object) -> str:
    """Codes as one cell, sorted and without repeats."""
    return SEPARATOR.join(sorted(set(categories)))  # type: ignore[arg-type]


def named(categories: object) -> str:
    """Codes with their Chinese names, for reasons: ``66 装备制造, 71 电子与信息``."""
    return ", ".join(f"{c} {CATALOGUE.get(c, '?')}" for c in sorted(set(categories)))  # type: ignore[arg-type]
