"""A plain table (named columns, rows as dicts) and its JSON and CSV forms."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass
class Table:
    """One table of a page, shown as HTML and served as JSON and CSV.

    Attributes
    ----------
    name : str
        URL name of the table, e.g. ``"territorio"`` (``/territorio.csv``).
    columns : tuple of str
        Column keys; the HTML header translates them, JSON and CSV keep them.
    rows : list of dict
        One dict per row, keyed by ``columns``.
    meta : dict
        Parameters the rows depend on (e.g. the vintage and year of sector counts).
    """

    name: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Return the JSON form: ``table``, the ``meta`` keys, ``columns`` and ``rows``."""
        rows = [{c: r.get(c) for c in self.columns} for r in self.rows]
        columns = list(self.columns)
        return jsonable({"table": self.name, **self.meta, "columns": columns, "rows": rows})

    def as_csv(self) -> str:
        """Return the CSV form: a header of column keys, then one line per row."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([csv_value(row.get(c)) for c in self.columns])
        return out.getvalue()


def jsonable(value: Any) -> Any:
    """Return ``value`` with dates as ISO 8601 text and decimals as numbers, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def csv_value(value: Any) -> str | int | float:
    """Return one CSV cell: empty for ``None``, ISO dates, lists joined by ``;``."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
