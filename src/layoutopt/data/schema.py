"""The data dictionary, kept as data in ``dictionary/*.csv``.

Each table of a data set has one dictionary file listing its fields with type, unit,
whether it is required, the allowed words, and a description in English and Chinese.
The validator, the readers and the data README all read these files.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

FIELD_TYPES = ("text", "integer", "number", "boolean", "point", "polygon", "linestring")
GEOMETRY_TYPES = ("point", "polygon", "linestring")


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    unit: str
    required: bool
    allowed: tuple[str, ...]
    description_en: str
    description_zh: str

    @property
    def is_geometry(self) -> bool:
        return self.type in GEOMETRY_TYPES


@dataclass(frozen=True)
class TableSpec:
    """Where a table lives in a data set folder and which dictionary describes it."""

    name: str
    file_stem: str
    layer: str
    id_field: str
    required: bool
    title: str
    # Fields that together name a row once (default: the id field alone).
    key: tuple[str, ...] = ()

    @property
    def unique(self) -> tuple[str, ...]:
        return self.key or (self.id_field,)

    @property
    def fields(self) -> tuple[Field, ...]:
        return dictionary(self.name)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def geometry_type(self) -> str:
        """point, polygon or linestring; "" for a table without geometry."""
        return next((f.type for f in self.fields if f.is_geometry), "")


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("regions", "regions", "counties", "region_id", True, "County-level units"),
        TableSpec("demand", "demand", "demand", "demand_id", True, "Settlements (demand units)"),
        TableSpec("schools", "schools", "schools", "school_id", True, "Schools of every level"),
        TableSpec("sites", "sites", "sites", "site_id", False, "Candidate sites for new schools"),
        TableSpec("road_nodes", "roads", "nodes", "node_id", False, "Road graph: nodes"),
        TableSpec("road_edges", "roads", "edges", "edge_id", False, "Road graph: edges"),
        TableSpec(
            "teachers",
            "teachers",
            "teachers",
            "school_id",
            False,
            "Teachers by school and subject",
            key=("school_id", "subject"),
        ),
    )
}


@cache
def dictionary(table: str) -> tuple[Field, ...]:
    """The fields of ``table`` as listed in its dictionary file."""
    text = (
        resources.files("layoutopt.data")
        .joinpath("dictionary", f"{table}.csv")
        .read_text(encoding="utf-8")
    )
    rows = csv.DictReader(text.splitlines())
    return tuple(
        Field(
            name=row["field"],
            type=row["type"],
            unit=row["unit"],
            required=row["required"] == "yes",
            allowed=tuple(w for w in row["allowed"].split("|") if w),
            description_en=row["description_en"],
            description_zh=row["description_zh"],
        )
        for row in rows
    )


def dictionary_markdown(table: str) -> str:
    """The dictionary of ``table`` as a Markdown table, for READMEs."""
    lines = [
        "| field | type | unit | required | allowed | description | 说明 |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in dictionary(table):
        allowed = ", ".join(f"`{w}`" for w in f.allowed)
        req = "yes" if f.required else "no"
        lines.append(
            f"| `{f.name}` | {f.type} | {f.unit} | {req} | {allowed} | "
            f"{f.description_en} | {f.description_zh} |"
        )
    return "\n".join(lines)
