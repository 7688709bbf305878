"""A unit's weekly or monthly series for one group, with the line of a year earlier.

Weeks run Monday to Sunday and their year-ago value is the week 52 weeks earlier (so
weekdays align, as in the weekly table); a month's is the same month a year earlier.
A period that loaded data do not fully cover, or that only a high-impact-only source
covers for a group with other categories, has no value (``None``), never a false zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from compstat import windows as win
from compstat.errors import InvalidQueryError
from compstat.groups import HIGH_IMPACT, group
from compstat.queries import cube as cubes
from compstat.queries.accountability import coverage, group_matrix

PERIODS = ("week", "month")
COLUMNS = ["unit_id", "unit_name", "period_start", "period_end", "current", "year_ago"]
#: How many periods back the year-ago value lies.
YEAR_BACK = {"week": 52, "month": 12}


@dataclass(frozen=True)
class TrendQuery:
    """What a trend chart is asked for.

    Attributes
    ----------
    vintage : str
    units : tuple of str
        Unit ids of any level (``CDMX`` for the city, ``FUERA`` for outside).
    group : str
        Group code.
    period : str
        ``week`` or ``month``.
    start, end : date or None
        First and last day; default the first day of data and the end of the last
        complete period.
    basis : str
        One of ``recorded``, ``spatial``, ``source``.
    """

    vintage: str
    units: tuple[str, ...]
    group: str = HIGH_IMPACT
    period: str = "week"
    start: date | None = None
    end: date | None = None
    basis: str = "recorded"

    def __post_init__(self) -> None:
        cubes.check_choice("period", self.period, PERIODS)
        cubes.check_choice("basis", self.basis, cubes.BASES)
        if not self.units:
            raise InvalidQueryError("units: name at least one unit")
        if self.start and self.end and self.start > self.end:
            raise InvalidQueryError("from: the start date is after the end date")


def period_index(days: np.ndarray, period: str) -> np.ndarray:
    """Return each day's period number: weeks since the Monday 1969-12-29, or months since 1970."""
    if period == "week":
        return (days.astype(np.int64) + 3) // 7
    months = (cubes.EPOCH + days.astype("timedelta64[D]")).astype("datetime64[M]")
    return months.astype(np.int64)


def period_bounds(index: np.ndarray, period: str) -> tuple[list[date], list[date]]:
    """Return the first and last day of each period number."""
    if period == "week":
        starts = index * 7 - 3
        return [cubes.to_date(d) for d in starts], [cubes.to_date(d + 6) for d in starts]
    months = index.astype("datetime64[M]")
    first = months.astype("datetime64[D]")
    last = (months + 1).astype("datetime64[D]") - 1
    return list(first.astype(object)), list(last.astype(object))


def last_complete_period(last: date, period: str) -> date:
    """Return the last day of the last week or month that ends on or before ``last``."""
    if period == "week":
        return win.last_complete_sunday(last)
    if (last + timedelta(days=1)).day == 1:
        return last
    return last.replace(day=1) - timedelta(days=1)


def trend(conn: Connection, q: TrendQuery) -> pd.DataFrame:
    """Return one row per unit and period with columns :data:`COLUMNS` (read-only, cached)."""
    return cubes.cached_table(conn, ("trend", q), lambda: compute_trend(conn, q))


def compute_trend(conn: Connection, q: TrendQuery) -> pd.DataFrame:
    """Compute :func:`trend`, uncached."""
    grp = group(q.group)
    c = cubes.cube(conn, q.vintage)
    if c.last_day is None:
        return pd.DataFrame(columns=COLUMNS)
    start, end = q.start or c.first_day, q.end or last_complete_period(c.last_day, q.period)
    wanted = group_matrix(c, [grp])[:, 0] > 0
    in_group = wanted[c.category]
    index = period_index(c.day, q.period)
    first, last = period_index(np.array([cubes.day_number(d) for d in (start, end)]), q.period)
    span = np.arange(first - YEAR_BACK[q.period], last + 1)
    starts, ends = period_bounds(span, q.period)
    in_span = in_group & (index >= span[0]) & (index <= span[-1])
    missing = np.array(
        [
            coverage(c, win.custom(s, e), [grp])[0] is not None
            for s, e in zip(starts, ends, strict=True)
        ]
    )
    frames = []
    for unit in q.units:
        _, name = cubes.find_unit(c, unit)
        mine = in_span & np.isin(c.quadrant, cubes.quadrants_of(c, unit))
        counts = np.bincount(
            index[mine] - span[0], weights=c.counts[q.basis][mine], minlength=len(span)
        )[: len(span)]
        frames.append(_unit_frame(unit, name, counts, missing, starts, ends, q.period))
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def _unit_frame(unit, name, counts, missing, starts, ends, period) -> pd.DataFrame:
    back = YEAR_BACK[period]
    values = [None if m else int(v) for v, m in zip(counts, missing, strict=True)]
    return pd.DataFrame(
        {
            "unit_id": unit,
            "unit_name": name,
            "period_start": starts[back:],
            "period_end": ends[back:],
            "current": pd.Series(values[back:], dtype=object),
            "year_ago": pd.Series(values[:-back], dtype=object),
        }
    )
