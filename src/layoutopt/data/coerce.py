"""Turn a raw table into a typed one following the data dictionary, gathering problems."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layoutopt.data.io import TableSource
from layoutopt.data.schema import Field, TableSpec
from layoutopt.errors import Problem

# Problems of one kind in one column beyond this many are summarised in one line.
MAX_ROWS_LISTED = 20

_TRUE = {"true", "1", "yes", "y", "t", "是"}
_FALSE = {"false", "0", "no", "n", "f", "否", ""}


def row_labels(frame: pd.DataFrame, spec: TableSpec, source: TableSource) -> pd.Series:
    """How a row is named in messages: its id, and its line number in a CSV."""
    ids = frame[spec.id_field].astype(str) if spec.id_field in frame.columns else None
    if source.format == "csv":
        lines = pd.Series([f"line {i + 2}" for i in range(len(frame))], index=frame.index)
        return lines if ids is None else spec.id_field + "=" + ids + " (" + lines + ")"
    if ids is None:
        return pd.Series([f"feature {i + 1}" for i in range(len(frame))], index=frame.index)
    return spec.id_field + "=" + ids


def cell_problems(
    mask: pd.Series,
    labels: pd.Series,
    base: Problem,
    column: str,
    message: str,
    fix: str,
    values: pd.Series | None = None,
) -> list[Problem]:
    """One problem per flagged row (with its cell's value where ``values`` are given), the
    tail summarised when there are many."""
    flagged = labels[mask.fillna(False).astype(bool)]
    shown = flagged.iloc[:MAX_ROWS_LISTED]
    cells = [""] * len(shown) if values is None else [_shown(values[i]) for i in shown.index]
    problems = [
        Problem(base.file, base.layer, row, column, message, fix, value)
        for row, value in zip(shown, cells, strict=True)
    ]
    if len(flagged) > MAX_ROWS_LISTED:
        rest = len(flagged) - MAX_ROWS_LISTED
        problems.append(
            Problem(base.file, base.layer, f"and {rest} more rows", column, message, fix)
        )
    return problems


def _shown(value: object) -> str:
    """A cell as a message shows it: quoted text, plain numbers, 'empty' for none."""
    if value is None or (isinstance(value, float) and value != value):
        return "empty"
    if hasattr(value, "geom_type"):  # a geometry, as WKT to about a metre
        return "empty" if value.is_empty else shapely.to_wkt(value, rounding_precision=5)[:60]
    if isinstance(value, str):
        return repr(value) if value else "empty"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def typed_table(
    raw: gpd.GeoDataFrame, spec: TableSpec, source: TableSource
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Columns converted to their dictionary types; every conversion problem gathered."""
    base = Problem(file=source.label, layer=source.layer or "")
    frame = raw.copy()
    labels = row_labels(frame, spec, source)
    problems: list[Problem] = []
    for field in spec.fields:
        if field.is_geometry:
            continue
        if field.name not in frame.columns:
            if field.required:
                fix = f"add a column '{field.name}' ({field.type}, {field.description_en})"
                problems.append(
                    replace(base, column=field.name, message="required column is missing", fix=fix)
                )
            continue
        converted, found = _convert(frame[field.name], field, labels, base, source)
        frame[field.name] = converted
        problems += found
    return frame, problems


def _convert(
    values: pd.Series, field: Field, labels: pd.Series, base: Problem, source: TableSource
) -> tuple[pd.Series, list[Problem]]:
    if field.type == "text":
        return _to_text(values, field, labels, base, source)
    if field.type in ("integer", "number"):
        return _to_number(values, field, labels, base)
    return _to_boolean(values, field, labels, base)


def _to_text(values, field, labels, base, source) -> tuple[pd.Series, list[Problem]]:
    problems: list[Problem] = []
    if source.format != "csv" and pd.api.types.is_numeric_dtype(values):
        message = f"stored as numbers ({values.dtype}); codes and ids must be text"
        problems.append(
            replace(
                base,
                column=field.name,
                message=message,
                fix="store the column as text so leading digits are kept",
            )
        )
        values = values.map(
            lambda v: "" if pd.isna(v) else str(int(v)) if float(v).is_integer() else str(v)
        )
    text = values.astype("string").fillna("").str.strip()
    if field.required:
        problems += cell_problems(
            text == "", labels, base, field.name, "empty", f"fill in {field.description_en.lower()}"
        )
    if field.allowed:
        unknown = (text != "") & ~text.isin(field.allowed)
        for word in sorted(set(text[unknown])):
            problems += cell_problems(
                text == word,
                labels,
                base,
                field.name,
                f"unknown word '{word}'",
                "use one of " + ", ".join(field.allowed),
            )
    return text.astype(object), problems


def _to_number(values, field, labels, base) -> tuple[pd.Series, list[Problem]]:
    as_text = values.astype("string").fillna("").str.strip()
    numbers = pd.to_numeric(as_text.where(as_text != ""), errors="coerce")
    problems = cell_problems(
        (as_text != "") & numbers.isna(),
        labels,
        base,
        field.name,
        "not a number",
        f"enter a number ({field.unit or field.type})",
        values=as_text,
    )
    if field.required:
        problems += cell_problems(
            as_text == "",
            labels,
            base,
            field.name,
            "empty",
            f"enter {field.description_en.lower()}",
        )
    if field.type == "integer":
        fractional = numbers.notna() & (numbers != np.floor(numbers.fillna(0)))
        problems += cell_problems(
            fractional,
            labels,
            base,
            field.name,
            "not a whole number",
            "enter a whole number",
            values=as_text,
        )
        return numbers.fillna(0).round().astype("int64"), problems
    return numbers.astype("float64"), problems


def _to_boolean(values, field, labels, base) -> tuple[pd.Series, list[Problem]]:
    if pd.api.types.is_bool_dtype(values):
        return values.astype(bool), []
    text = values.astype("string").fillna("").str.strip().str.lower()
    unknown = ~text.isin(_TRUE | _FALSE)
    problems = cell_problems(
        unknown,
        labels,
        base,
        field.name,
        "not true or false",
        "enter true or false",
        values=text,
    )
    return text.isin(_TRUE), problems
