"""A plain table (named columns, rows as dicts), its JSON form and its frame for exports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from compstat.exports import jsonable

__all__ = ["Table", "jsonable"]


@dataclass
class Table:
    """One table of a page, shown as HTML and exported through :mod:`compstat.exports`.

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

    def as_frame(self) -> pd.DataFrame:
        """Return the rows as a frame of Python values (``object`` columns), for exports."""
        rows = [[r.get(c) for c in self.columns] for r in self.rows]
        return pd.DataFrame(rows, columns=list(self.columns), dtype=object)
