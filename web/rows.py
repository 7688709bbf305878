"""Long-form rows as plain Python values (None for NaN/NA, int and float for NumPy numbers).

The weekly table and the trend pages hand these rows to templates and JSON; the files
they download come from the export registry (``compstat.exports``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


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
