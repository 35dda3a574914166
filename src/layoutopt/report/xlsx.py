"""A workbook of tables, written as Office Open XML a column at a time.

openpyxl builds and writes one cell object at a time: the reference plan's 2.6 million
cells took it 107 s, more than any programme's solves. A review workbook needs text and
numbers, a bold header row on a fill, column widths, a frozen header, a filter and a
print setup, and nothing else, so each sheet here is one XML string built with pandas'
vectorised string operations (a few seconds), zipped with deflate.

The file opens in Excel, WPS and LibreOffice, and openpyxl reads it (the tests do). The
same tables give the same bytes: no timestamp is written.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from itertools import chain
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
HEADER_FILL = "DDEBF7"  # the header row's pale blue
# Characters XML 1.0 does not allow; a cell never carries them.
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class Style:
    """Cell styles, by their index in styles.xml's cellXfs."""

    PLAIN = 0
    HEADER = 1  # bold, on the header fill, wrapped, top-aligned
    TEXT = 2  # number format "@": an id stays text when edited
    BOLD = 3


@dataclass
class Sheet:
    """One sheet: ``frame``'s cells under a ``header`` row. ``widths`` by column (in
    characters); ``text`` columns are text cells (ids); ``table``: a frozen, filtered
    header row; ``bold_first``: the first column in bold (a read-me's keys)."""

    name: str
    frame: pd.DataFrame
    header: list[str] | None = None
    widths: list[float] = field(default_factory=list)
    text: frozenset[str] = frozenset()
    table: bool = True
    header_height: float = 32
    bold_first: bool = False


def write_xlsx(sheets: list[Sheet]) -> bytes:
    """The workbook's bytes."""
    buffer = BytesIO()
    # Level 1: the sheets' XML is most of a run's output time at any higher level.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:

        def put(name: str, text: str) -> None:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            book.writestr(info, text.encode("utf-8"), compresslevel=1)

        put("[Content_Types].xml", _content_types(len(sheets)))
        put("_rels/.rels", _package_rels())
        put("xl/workbook.xml", _workbook(sheets))
        put("xl/_rels/workbook.xml.rels", _workbook_rels(len(sheets)))
        put("xl/styles.xml", _styles(HEADER_FILL))
        for i, sheet in enumerate(sheets, 1):
            put(f"xl/worksheets/sheet{i}.xml", _sheet(sheet))
    return buffer.getvalue()


def _sheet(sheet: Sheet) -> str:
    frame = sheet.frame
    columns = len(frame.columns)
    first = 2 if sheet.header is not None else 1
    last = first + len(frame) - 1
    end = f"{get_column_letter(max(columns, 1))}{max(last, first)}"
    parts = [
        HEAD,
        f'<worksheet xmlns="{MAIN}" xmlns:r="{RELS}">',
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>',
        f'<dimension ref="A1:{end}"/>',
        '<sheetViews><sheetView workbookViewId="0">',
    ]
    if sheet.table:
        parts.append(
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        )
    parts.append('</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>')
    if sheet.widths:
        parts.append("<cols>")
        parts += [
            f'<col min="{j}" max="{j}" width="{w}" customWidth="1"/>'
            for j, w in enumerate(sheet.widths, 1)
        ]
        parts.append("</cols>")
    parts.append("<sheetData>")
    if sheet.header is not None:
        cells = "".join(
            f'<c r="{get_column_letter(j)}1" s="{Style.HEADER}" t="inlineStr">'
            f"<is><t>{_text(h)}</t></is></c>"
            for j, h in enumerate(sheet.header, 1)
        )
        parts.append(f'<row r="1" ht="{sheet.header_height}" customHeight="1">{cells}</row>')
    if len(frame):
        parts.append(_rows(sheet, first))
    parts.append("</sheetData>")
    if sheet.table:
        parts.append(f'<autoFilter ref="A1:{end}"/>')
    parts.append(
        '<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" '
        'footer="0.3"/><pageSetup paperSize="9" orientation="landscape" fitToWidth="1" '
        'fitToHeight="0"/></worksheet>'
    )
    return "".join(parts)


def _rows(sheet: Sheet, first: int) -> str:
    """Every row of the frame, from row ``first``, as one string. A cell carries no
    reference (the spec's default: the next column), a row its number."""
    frame = sheet.frame
    opens = [f'<row r="{n}">' for n in range(first, first + len(frame))]
    cells = []
    for j, (name, column) in enumerate(frame.items(), 1):
        style = Style.BOLD if sheet.bold_first and j == 1 else Style.PLAIN
        if name in sheet.text:
            style = Style.TEXT
        cells.append(_cells(column.reset_index(drop=True), style, name in sheet.text))
    closes = ["</row>"] * len(frame)
    return "".join(chain.from_iterable(zip(opens, *cells, closes, strict=True)))


def _cells(column: pd.Series, style: int, text: bool) -> list[str]:
    """The column's cells as XML: a number, a text (inline), a boolean, or empty."""
    s = f' s="{style}"' if style else ""
    missing = column.isna().to_numpy().copy()
    if pd.api.types.is_float_dtype(column):
        missing |= ~np.isfinite(column.to_numpy(dtype=float, na_value=np.nan))
    if pd.api.types.is_bool_dtype(column):
        kinds = np.full(len(column), "b", dtype=object)
    elif pd.api.types.is_numeric_dtype(column) and not text:
        kinds = np.full(len(column), "n", dtype=object)
    elif column.dtype != object or text:  # a string dtype, or ids: every cell is text
        kinds = np.full(len(column), "s", dtype=object)
    else:
        kinds = column.map(_kind).to_numpy(dtype=object).copy()
    kinds[missing] = ""
    out = np.full(len(column), f"<c{s}/>", dtype=object)
    strings = kinds == "s"
    if strings.any():
        values = _texts(column[strings].astype(str))
        opening = f'<c{s} t="inlineStr"><is><t xml:space="preserve">'
        out[strings] = (opening + values + "</t></is></c>").to_numpy(dtype=object)
    for kind, attribute in (("n", ""), ("b", ' t="b"')):
        chosen = kinds == kind
        if chosen.any():
            values = column[chosen]
            if kind == "b":
                values = values.astype(bool).astype(int)
            values = values.map(_number) if values.dtype == object else values.astype(str)
            out[chosen] = (f"<c{s}{attribute}><v>" + values + "</v></c>").to_numpy(dtype=object)
    return out.tolist()


def _kind(value: object) -> str:
    """How a cell of a mixed column is written: s(tring), n(umber), b(oolean), or ""."""
    if isinstance(value, bool | np.bool_):
        return "b"
    if isinstance(value, int | float | np.integer | np.floating):
        return "" if value != value else "n"  # NaN is empty
    return "" if value is None or value is pd.NA else "s"


def _number(value: object) -> str:
    return str(value.item() if hasattr(value, "item") else value)


def _text(value: str) -> str:
    return escape(ILLEGAL.sub("", value))


def _texts(values: pd.Series) -> pd.Series:
    """``_text`` of each, vectorised."""
    values = values.str.replace(ILLEGAL.pattern, "", regex=True)
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        values = values.str.replace(char, entity, regex=False)
    return values


def _workbook(sheets: list[Sheet]) -> str:
    listed = "".join(
        f'<sheet name={quoteattr(s.name)} sheetId="{i}" r:id="rId{i}"/>'
        for i, s in enumerate(sheets, 1)
    )
    titles = "".join(
        f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">'
        f"{escape(_quoted(s.name))}!$1:$1</definedName>"
        for i, s in enumerate(sheets)
        if s.table
    )
    names = f"<definedNames>{titles}</definedNames>" if titles else ""
    return (
        f'{HEAD}<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><bookViews><workbookView/>'
        f"</bookViews><sheets>{listed}</sheets>{names}</workbook>"
    )


def _quoted(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _workbook_rels(count: int) -> str:
    sheets = "".join(
        f'<Relationship Id="rId{i}" Type="{RELS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, count + 1)
    )
    styles = f'<Relationship Id="rId{count + 1}" Type="{RELS}/styles" Target="styles.xml"/>'
    return f'{HEAD}<Relationships xmlns="{PACKAGE_RELS}">{sheets}{styles}</Relationships>'


def _package_rels() -> str:
    return (
        f'{HEAD}<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
        f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )


def _content_types(count: int) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{SHEET_TYPE}"/>'
        for i in range(1, count + 1)
    )
    office = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return (
        f'{HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{office}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{office}.styles+xml"/>'
        f"{sheets}</Types>"
    )


def _styles(fill: str) -> str:
    """Four cell styles (``Style``): plain, header, text, bold."""
    return (
        f'{HEAD}<styleSheet xmlns="{MAIN}">'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="3"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill>'
        f'<fill><patternFill patternType="solid"><fgColor rgb="FF{fill}"/></patternFill>'
        "</fill></fills>"
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
        "</borders>"
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        '<cellXfs count="4">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" '
        'applyFill="1" applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>'
        '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" '
        'applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        "</cellXfs>"
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
        "</cellStyles></styleSheet>"
    )
