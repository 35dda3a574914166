"""Tables for people: CSV that Excel opens with Chinese intact, and the same as .xlsx.

CSV files are UTF-8 with a byte-order mark (Excel then reads them as UTF-8), one header
row, rows in the order the programme sorted them, numbers without trailing noise, so
that the same plan always gives the same bytes. In the .xlsx copy id columns are text
cells, so an administrative code is never turned into a number.
"""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

ID_COLUMNS = ("school_id", "region_id", "target_id", "scope_id", "prefecture_id")


def csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV text (the BOM is added when the file is written)."""
    return frame.to_csv(index=False, lineterminator="\n", float_format="%.10g")


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, frame in sheets.items():
        sheet = workbook.create_sheet(title[:31])
        sheet.append(list(frame.columns))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False):
            sheet.append([_cell(v) for v in row])
        for j, column in enumerate(frame.columns, 1):
            letter = get_column_letter(j)
            if column in ID_COLUMNS:
                for cell in sheet[letter][1:]:
                    cell.number_format = "@"
            width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200)])
            sheet.column_dimensions[letter].width = min(60, max(8, width + 2))
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value
