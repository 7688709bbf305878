"""Reader for the SSP's official monthly crime-by-quadrant pivot spreadsheet.

The SSP (Secretaría de Seguridad Pública de la CDMX) answered transparency request 275416
(June 2016) with ``275416.xlsx``, a pivot-table export with one block per police quadrant::

    CUADRANTE/DELITO | 2013  |         | ... | Total 2013 | 2014  | ... | Total 2016 | Total
                     | ENERO | FEBRERO | ... |            | ENERO | ... |            |
    C-1.1.1          |   4   |    4    | ... |     36     |   2   | ... |     33     |  169
    Homicidio doloso |       |         | ... |            |       | ... |            |    7
    ...
    (en blanco)      |  22   |   22    | ... |
    ...
    Total general    | 3777  |  3490   | ... |   43005    | 3313  | ... |   12738    | 124666

:func:`read_ssp_spreadsheet` turns it into a long table of non-zero monthly counts per quadrant
and crime category (spelled as in the SSP point file), checking every internal total on the way.
"""

from __future__ import annotations

import functools
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter

from compstat.errors import InputFileError

__all__ = [
    "SSP_CATEGORIES",
    "SpreadsheetCounts",
    "SpreadsheetError",
    "read_ssp_spreadsheet",
]

#: The 19 crime categories, spelled as in the ``crime`` column of the SSP point file (3a).
SSP_CATEGORIES: frozenset[str] = frozenset(
    {
        "HOMICIDIO DOLOSO",
        "LESIONES POR ARMA DE FUEGO",
        "ROBO A BORDO DE METRO C.V.",
        "ROBO A BORDO DE METRO S.V.",
        "ROBO A BORDO DE MICROBUS C.V.",
        "ROBO A BORDO DE MICROBUS S.V.",
        "ROBO A BORDO DE TAXI C.V.",
        "ROBO A CASA HABITACION C.V.",
        "ROBO A CUENTAHABIENTE C.V.",
        "ROBO A NEGOCIO C.V.",
        "ROBO A REPARTIDOR C.V.",
        "ROBO A REPARTIDOR S.V.",
        "ROBO A TRANSEUNTE C.V.",
        "ROBO A TRANSEUNTE S.V.",
        "ROBO A TRANSPORTISTA C.V.",
        "ROBO A TRANSPORTISTA S.V.",
        "ROBO DE VEHICULO AUTOMOTOR C.V.",
        "ROBO DE VEHICULO AUTOMOTOR S.V.",
        "VIOLACION",
    }
)

#: Preferred worksheet name; the first worksheet is used when it is absent.
SHEET_NAME = "Hoja1"

_HEADER_KEY = "CUADRANTE/DELITO"
_TOTAL_ROW_KEY = "TOTAL GENERAL"
_BLANK_QUADRANT_KEY = "(EN BLANCO)"
_QUADRANT_RE = re.compile(r"^[A-Z]{1,3}-\d+(?:\.\d+)+$", re.IGNORECASE)
_VIOLENCE_RE = re.compile(r"\s*\b([CS])\s*[/.]\s*V\b\.?$")
_VEHICLE_RE = re.compile(r"^ROBO DE VEHICULO(?! AUTOMOTOR)")
_MONTHS: dict[str, int] = {
    "ENERO": 1,
    "FEBRERO": 2,
    "MARZO": 3,
    "ABRIL": 4,
    "MAYO": 5,
    "JUNIO": 6,
    "JULIO": 7,
    "AGOSTO": 8,
    "SEPTIEMBRE": 9,
    "SETIEMBRE": 9,
    "OCTUBRE": 10,
    "NOVIEMBRE": 11,
    "DICIEMBRE": 12,
}

Row = tuple[Any, ...]
NumberedRows = Iterator[tuple[int, Row]]


class SpreadsheetError(InputFileError, ValueError):
    """The spreadsheet does not have the expected layout or its totals do not add up.

    Parameters
    ----------
    source : str
        The file (and archive member) being read.
    row : int or None
        1-based Excel row number the problem was found on, if it is tied to a row.
    reason : str
        What is wrong.
    """

    def __init__(self, source: str, row: int | None, reason: str) -> None:
        self.source = source
        self.row = row
        self.reason = reason
        where = f"{source}: row {row}" if row is not None else source
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True, eq=False)
class SpreadsheetCounts:
    """Parsed content of the SSP quadrant spreadsheet.

    Attributes
    ----------
    counts : pandas.DataFrame
        Long table with columns ``quadrant`` (str, as spelled in the sheet, the blank quadrant
        kept as ``"(en blanco)"``), ``category`` (str, one of :data:`SSP_CATEGORIES`),
        ``month`` (datetime64, first day of the month) and ``count`` (int64). Only non-zero
        cells are listed, in sheet order.
    yearly_totals : dict of int to int
        The ``Total YYYY`` cells of the sheet's ``Total general`` row.
    grand_total : int
        The sheet's overall total.
    extracted : date or None
        The day the workbook was created (its document properties), i.e. when the reply
        was drawn up: a month ending on or after it is covered only in part. ``None`` when
        the file does not say.
    """

    counts: pd.DataFrame
    yearly_totals: dict[int, int]
    grand_total: int
    extracted: date | None = None


@dataclass(frozen=True)
class _Layout:
    """Column layout found in the two header rows (0-based column indices)."""

    label_col: int
    month_cols: tuple[int, ...]
    months: tuple[tuple[int, int], ...]
    year_total_cols: dict[int, int]
    grand_total_col: int | None


@dataclass
class _Block:
    """A quadrant row and the running per-month sum of its crime rows."""

    quadrant: str
    row: int
    totals: list[int]
    sums: list[int]
    categories: set[str] = field(default_factory=set)


@dataclass
class _Accumulator:
    """Everything collected while walking the body of the sheet."""

    n_months: int
    quadrants: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    month_idx: list[int] = field(default_factory=list)
    values: list[int] = field(default_factory=list)
    seen_quadrants: set[str] = field(default_factory=set)
    block: _Block | None = None
    total_row: int | None = None
    total_cells: Row = ()
    month_sums: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.month_sums = [0] * self.n_months


def read_ssp_spreadsheet(path: str | Path) -> SpreadsheetCounts:
    """Read the SSP monthly crime-by-quadrant spreadsheet.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` file, or a ``.zip`` archive holding exactly one ``.xlsx`` member (read in
        memory).

    Returns
    -------
    SpreadsheetCounts
        The non-zero monthly counts per quadrant and category, and the sheet's totals.

    Raises
    ------
    SpreadsheetError
        If the header is missing or malformed, a row label is neither a quadrant id, a known
        crime category nor ``Total general``, a crime row precedes every quadrant row, a cell
        is not a non-negative whole number, a quadrant's monthly totals differ from the sum of
        its crime rows, or the ``Total general`` row disagrees with the parsed counts.
    """
    source, data = _load_xlsx_bytes(Path(path))
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = (
            workbook[SHEET_NAME] if SHEET_NAME in workbook.sheetnames else workbook.worksheets[0]
        )
        rows: NumberedRows = enumerate(sheet.iter_rows(values_only=True), start=1)
        layout = _read_layout(rows, source)
        acc = _read_body(rows, layout, source)
        extracted = _created_day(workbook)
    finally:
        workbook.close()
    yearly_totals, grand_total = _check_grand_totals(acc, layout, source)
    return SpreadsheetCounts(_to_frame(acc, layout), yearly_totals, grand_total, extracted)


def _created_day(workbook: openpyxl.Workbook) -> date | None:
    """Return the day the workbook says it was created (else last modified), if any."""
    properties = workbook.properties
    stamp = properties.created or properties.modified
    return stamp.date() if isinstance(stamp, datetime) else None


# --------------------------------------------------------------------------- file access


def _load_xlsx_bytes(path: Path) -> tuple[str, bytes]:
    """Return a display name and the bytes of the workbook at ``path`` (xlsx or zip of one)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "[Content_Types].xml" in names:
                return str(path), path.read_bytes()
            members = [n for n in names if _is_xlsx_member(n)]
            if len(members) != 1:
                reason = f"expected exactly one .xlsx member in the archive, found {members}"
                raise SpreadsheetError(str(path), None, reason)
            return f"{path}[{members[0]}]", archive.read(members[0])
    except zipfile.BadZipFile as exc:
        raise SpreadsheetError(str(path), None, "not an .xlsx file or a .zip archive") from exc
    except OSError as exc:
        raise SpreadsheetError(str(path), None, f"cannot read: {exc.strerror}") from exc


def _is_xlsx_member(name: str) -> bool:
    """Tell whether an archive member name is a real workbook (not a folder or macOS litter)."""
    base = name.rsplit("/", 1)[-1]
    return (
        name.lower().endswith(".xlsx")
        and not name.startswith("__MACOSX/")
        and not base.startswith(("._", "~$"))
    )


# --------------------------------------------------------------------------- header


def _read_layout(rows: NumberedRows, source: str) -> _Layout:
    """Consume rows up to and including the month-name row and map its columns."""
    header_row, year_cells, label_col = _find_header(rows, source)
    try:
        _, month_cells = next(rows)
    except StopIteration:
        raise SpreadsheetError(source, header_row + 1, "month-name row missing") from None
    return _map_columns(year_cells, month_cells, label_col, header_row, source)


def _find_header(rows: NumberedRows, source: str) -> tuple[int, Row, int]:
    """Return the row number, cells and label column of the ``CUADRANTE/DELITO`` row."""
    last = 0
    for number, cells in rows:
        last = number
        for col, value in enumerate(cells):
            if isinstance(value, str) and _norm(value).replace(" ", "") == _HEADER_KEY:
                return number, cells, col
    reason = f"header cell {_HEADER_KEY!r} not found (searched {last} rows)"
    raise SpreadsheetError(source, None, reason)


def _map_columns(
    year_cells: Row, month_cells: Row, label_col: int, header_row: int, source: str
) -> _Layout:
    """Map each column right of the label to a (year, month), a yearly total or the total."""
    month_cols: list[int] = []
    months: list[tuple[int, int]] = []
    year_total_cols: dict[int, int] = {}
    grand_total_col: int | None = None
    year: int | None = None
    for col in range(label_col + 1, max(len(year_cells), len(month_cells))):
        head, name = _cell(year_cells, col), _cell(month_cells, col)
        letter = get_column_letter(col + 1)
        if isinstance(head, str) and _norm(head).startswith("TOTAL"):
            total_year = _total_year(head, header_row, letter, source)
            if total_year is None:
                grand_total_col = col
            else:
                year_total_cols[total_year] = col
            year = None
            continue
        if not _is_blank(head):
            year = _year(head, header_row, letter, source)
        if _is_blank(name):
            if year is not None:
                reason = f"column {letter} falls under year {year} but has no month name"
                raise SpreadsheetError(source, header_row + 1, reason)
            continue
        key = (
            _require_year(year, header_row, letter, source),
            _month(name, letter, header_row, source),
        )
        if key in months:
            raise SpreadsheetError(
                source, header_row + 1, f"month {key} repeated in column {letter}"
            )
        month_cols.append(col)
        months.append(key)
    _check_layout(months, year_total_cols, header_row, source)
    return _Layout(label_col, tuple(month_cols), tuple(months), year_total_cols, grand_total_col)


def _total_year(head: str, row: int, letter: str, source: str) -> int | None:
    """Return the year of a ``Total YYYY`` header, or ``None`` for the overall ``Total``."""
    rest = _norm(head)[len("TOTAL") :].strip()
    return _year(rest, row, letter, source) if rest else None


def _year(value: Any, row: int, letter: str, source: str) -> int:
    """Parse a year header cell."""
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    text = text.strip()
    if not (text.isdigit() and 1900 <= int(text) <= 2100):
        reason = f"column {letter}: expected a year or 'Total ...' header, got {value!r}"
        raise SpreadsheetError(source, row, reason)
    return int(text)


def _require_year(year: int | None, row: int, letter: str, source: str) -> int:
    """Return ``year``, or fail when a month name has no year above it."""
    if year is None:
        raise SpreadsheetError(source, row, f"column {letter} has a month name but no year")
    return year


def _month(value: Any, letter: str, header_row: int, source: str) -> int:
    """Parse a Spanish month name (any case, accents or surrounding whitespace)."""
    number = _MONTHS.get(_norm(str(value)))
    if number is None:
        reason = f"column {letter}: {value!r} is not a Spanish month name"
        raise SpreadsheetError(source, header_row + 1, reason)
    return number


def _check_layout(
    months: Sequence[tuple[int, int]], year_total_cols: dict[int, int], row: int, source: str
) -> None:
    """Require at least one month column and a ``Total YYYY`` column for every year."""
    if not months:
        raise SpreadsheetError(source, row, "no month columns under the header")
    missing = sorted({y for y, _ in months} - year_total_cols.keys())
    if missing:
        raise SpreadsheetError(source, row, f"no 'Total YYYY' column for year(s) {missing}")


# --------------------------------------------------------------------------- body


def _read_body(rows: NumberedRows, layout: _Layout, source: str) -> _Accumulator:
    """Walk the quadrant blocks down to the ``Total general`` row."""
    acc = _Accumulator(len(layout.months))
    last = 0
    for number, cells in rows:
        last = number
        _read_row(acc, number, cells, layout, source)
    if acc.total_row is None:
        raise SpreadsheetError(source, last, "no 'Total general' row at the end of the sheet")
    return acc


def _read_row(acc: _Accumulator, number: int, cells: Row, layout: _Layout, source: str) -> None:
    """Dispatch one body row on its label."""
    label = _cell(cells, layout.label_col)
    if _is_blank(label):
        if any(not _is_blank(v) for v in cells):
            raise SpreadsheetError(source, number, "row has values but no label")
        return
    label = str(label).strip()
    if acc.total_row is not None:
        raise SpreadsheetError(source, number, f"row {label!r} after the 'Total general' row")
    category = _category_for(label)
    if category is not None:
        _add_crime_row(acc, number, category, _month_values(cells, number, layout, source), source)
    elif _norm(label) == _TOTAL_ROW_KEY:
        _close_block(acc, layout, source)
        acc.total_row, acc.total_cells = number, cells
    elif _QUADRANT_RE.match(label) or _norm(label) == _BLANK_QUADRANT_KEY:
        _close_block(acc, layout, source)
        _open_block(acc, number, label, _month_values(cells, number, layout, source), source)
    else:
        reason = (
            f"unrecognised row label {label!r}: not a quadrant id, 'Total general' "
            "or one of the 19 SSP crime categories"
        )
        raise SpreadsheetError(source, number, reason)


def _open_block(
    acc: _Accumulator, number: int, quadrant: str, totals: list[int], source: str
) -> None:
    """Start the block of a quadrant row."""
    if quadrant in acc.seen_quadrants:
        raise SpreadsheetError(source, number, f"quadrant {quadrant!r} appears twice")
    acc.seen_quadrants.add(quadrant)
    acc.block = _Block(quadrant, number, totals, [0] * len(totals))


def _add_crime_row(
    acc: _Accumulator, number: int, category: str, values: list[int], source: str
) -> None:
    """Record the non-zero cells of a crime row in the current block."""
    block = acc.block
    if block is None:
        reason = f"crime row {category!r} comes before any quadrant row"
        raise SpreadsheetError(source, number, reason)
    if category in block.categories:
        reason = f"category {category!r} repeated in quadrant {block.quadrant!r}"
        raise SpreadsheetError(source, number, reason)
    block.categories.add(category)
    for i, value in enumerate(values):
        if value:
            block.sums[i] += value
            acc.month_sums[i] += value
            acc.quadrants.append(block.quadrant)
            acc.categories.append(category)
            acc.month_idx.append(i)
            acc.values.append(value)


def _close_block(acc: _Accumulator, layout: _Layout, source: str) -> None:
    """Check the open block's quadrant totals against the sum of its crime rows."""
    block = acc.block
    acc.block = None
    if block is None:
        return
    for i, (total, summed) in enumerate(zip(block.totals, block.sums, strict=True)):
        if total != summed:
            reason = (
                f"quadrant {block.quadrant!r} total for {_month_label(layout, i)} is {total} "
                f"but its crime rows sum to {summed}"
            )
            raise SpreadsheetError(source, block.row, reason)


def _month_values(cells: Row, number: int, layout: _Layout, source: str) -> list[int]:
    """Return the counts in the month columns of a row (blank cells are 0)."""
    values = [_cell(cells, col) for col in layout.month_cols]
    if all(v is None or (type(v) is int and v >= 0) for v in values):
        return [v or 0 for v in values]
    return [
        _count(v, number, col, source) for v, col in zip(values, layout.month_cols, strict=True)
    ]


def _count(value: Any, number: int, col: int, source: str) -> int:
    """Convert one cell to a non-negative whole count."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0
        if text.isdigit():
            return int(text)
    reason = f"cell {get_column_letter(col + 1)}{number} is not a count: {value!r}"
    raise SpreadsheetError(source, number, reason)


# --------------------------------------------------------------------------- totals and output


def _check_grand_totals(
    acc: _Accumulator, layout: _Layout, source: str
) -> tuple[dict[int, int], int]:
    """Compare the ``Total general`` row with the parsed counts; return its totals."""
    row = acc.total_row if acc.total_row is not None else 0
    sheet_months = _month_values(acc.total_cells, row, layout, source)
    for i, (total, summed) in enumerate(zip(sheet_months, acc.month_sums, strict=True)):
        if total != summed:
            reason = f"'Total general' for {_month_label(layout, i)} is {total}, parsed {summed}"
            raise SpreadsheetError(source, row, reason)
    yearly = _yearly_totals(acc, layout, row, source)
    return yearly, _grand_total(acc, layout, row, source)


def _yearly_totals(acc: _Accumulator, layout: _Layout, row: int, source: str) -> dict[int, int]:
    """Read the ``Total YYYY`` cells of the total row and check them against the counts."""
    yearly: dict[int, int] = {}
    for year, col in sorted(layout.year_total_cols.items()):
        total = _count(_cell(acc.total_cells, col), row, col, source)
        months = zip(layout.months, acc.month_sums, strict=True)
        summed = sum(v for (y, _), v in months if y == year)
        if total != summed:
            reason = f"'Total general' for year {year} is {total}, parsed counts sum to {summed}"
            raise SpreadsheetError(source, row, reason)
        yearly[year] = total
    return yearly


def _grand_total(acc: _Accumulator, layout: _Layout, row: int, source: str) -> int:
    """Return the overall total, checked against the sheet's ``Total`` cell when present."""
    grand = sum(acc.month_sums)
    col = layout.grand_total_col
    if col is not None:
        sheet_grand = _count(_cell(acc.total_cells, col), row, col, source)
        if sheet_grand != grand:
            reason = f"'Total general' grand total is {sheet_grand}, parsed counts sum to {grand}"
            raise SpreadsheetError(source, row, reason)
    return grand


def _to_frame(acc: _Accumulator, layout: _Layout) -> pd.DataFrame:
    """Build the long ``quadrant, category, month, count`` table."""
    month_starts = np.array([f"{y:04d}-{m:02d}-01" for y, m in layout.months], "datetime64[ns]")
    return pd.DataFrame(
        {
            "quadrant": pd.Series(acc.quadrants, dtype=str),
            "category": pd.Series(acc.categories, dtype=str),
            "month": month_starts[np.asarray(acc.month_idx, dtype=np.intp)],
            "count": np.asarray(acc.values, dtype=np.int64),
        }
    )


# --------------------------------------------------------------------------- helpers


@functools.lru_cache(maxsize=256)
def _category_for(label: str) -> str | None:
    """Return the SSP point-file spelling of a spreadsheet crime label, or ``None``."""
    key = _VIOLENCE_RE.sub(r" \1.V.", _norm(label))
    key = _VEHICLE_RE.sub("ROBO DE VEHICULO AUTOMOTOR", key)
    return key if key in SSP_CATEGORIES else None


def _norm(text: str) -> str:
    """Upper-case ``text`` without accents and with single inner spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.upper().split())


def _month_label(layout: _Layout, index: int) -> str:
    """Format the month of column ``index`` as ``YYYY-MM``."""
    year, month = layout.months[index]
    return f"{year:04d}-{month:02d}"


def _cell(cells: Row, col: int) -> Any:
    """Return ``cells[col]``, or ``None`` past the end of a short row."""
    return cells[col] if col < len(cells) else None


def _is_blank(value: Any) -> bool:
    """Tell whether a cell is empty (``None`` or only whitespace)."""
    return value is None or (isinstance(value, str) and not value.strip())
