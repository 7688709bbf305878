"""Long-form rows as CSV, XLSX and JSON files: the weekly table's downloads.

The smallest writers the weekly table needs, kept in one module so that the
project's export registry can replace them in one place. Every format carries the
same cells: ``None`` (and NaN) is an empty CSV cell, an empty spreadsheet cell and
JSON ``null``; dates are ISO 8601 text in CSV and JSON and dates in the spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font

from web.tables import csv_value, jsonable

FORMATS = ("csv", "xlsx", "json")
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def plain(value: Any) -> Any:
    """Return ``value`` as a plain Python value: None for NaN/NA, int/float for numpy numbers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Return the rows of ``frame`` as dicts keyed by ``columns``, in that order, plain values."""
    return [
        {c: plain(v) for c, v in zip(columns, row, strict=True)}
        for row in frame[list(columns)].itertuples(index=False, name=None)
    ]


def to_csv(rows: list[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """Return UTF-8 CSV: a header of ``columns``, then one line per row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_value(row[c]) for c in columns])
    return out.getvalue().encode("utf-8")


def to_json(rows: list[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """Return a UTF-8 JSON array of row objects keyed by ``columns`` (``null`` for missing)."""
    body = [{c: row[c] for c in columns} for row in rows]
    return json.dumps(jsonable(body), ensure_ascii=False).encode("utf-8")


def to_xlsx(rows: list[dict[str, Any]], columns: Sequence[str], sheet: str = "datos") -> bytes:
    """Return an XLSX workbook with one sheet: a header of ``columns``, then the rows."""
    book = Workbook()
    ws = book.active
    ws.title = sheet[:31]
    ws.append(list(columns))
    for row in rows:
        ws.append([row[c] for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for column_cells in ws.iter_cols(min_row=2):
        for cell in column_cells:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


WRITERS = {"csv": to_csv, "json": to_json, "xlsx": to_xlsx}


def write(rows: list[dict[str, Any]], columns: Sequence[str], fmt: str) -> bytes:
    """Return ``rows`` in ``fmt`` (one of :data:`FORMATS`)."""
    return WRITERS[fmt](rows, columns)
