"""Tables for people: CSV that Excel opens with Chinese intact.

CSV files are UTF-8 with a byte-order mark (Excel then reads them as UTF-8), one header
row, rows in the order the programme sorted them, numbers without trailing noise, so
that the same plan always gives the same bytes. In ``plan.xlsx`` (``report.workbook``)
id columns are text cells, so an administrative code is never turned into a number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ID_COLUMNS = ("school_id", "region_id", "target_id", "scope_id", "prefecture_id")


def csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV text (the BOM is added when the file is written)."""
    return frame.to_csv(index=False, lineterminator="\n", float_format=plain_number)


def plain_number(value: float) -> str:
    """Whole numbers in full, others to ten significant digits, never an exponent: Excel
    shows 12997500000 as it is, and a planner reads yuan in billions, not 1.29975e+10."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return np.format_float_positional(value, precision=10, fractional=False, trim="-")
