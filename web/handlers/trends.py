"""Trend pages: a unit's weekly and monthly series with the year-ago line, and the explorer.

The pages themselves hold no numbers: the browser fetches the series from
:func:`trend_data` (the JSON twin) and draws them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection

from compstat.errors import InvalidQueryError, NotFoundError
from compstat.groups import HIGH_IMPACT, Group, group, groups
from compstat.queries import territory
from compstat.queries.trends import TrendQuery, trend
from compstat.windows import WindowSet, standard_windows
from web.handlers.args import (
    choice,
    date_arg,
    default_as_of,
    list_arg,
    resolve_vintage,
    text_arg,
)
from web.rows import records

LEVELS = ("zone", "region", "sector", "quadrant")
BASES = ("recorded", "spatial", "source")
PERIODS = ("week", "month")
OUTSIDE_ID = "FUERA"
#: At most this many units in one chart (each adds two lines).
MAX_UNITS = 8
#: Weeks in a unit page's weekly chart.
WEEKS_SHOWN = 104
SERIES_COLUMNS = ("unit_id", "unit_name", "period_start", "period_end", "current", "year_ago")


@dataclass(frozen=True)
class TrendRequest:
    """Units of one level, a category group, a period and a date range.

    Attributes
    ----------
    vintage : str or None
        ``None``: the newest loaded.
    level : str
        One of :data:`LEVELS`.
    units : tuple of str
        Unit codes at ``level``.
    group : str
        Category group code.
    period : str
        ``week`` or ``month``.
    start, end : date or None
        Range of the series (``None``: the query's defaults).
    basis : str
        One of :data:`BASES`.
    as_of : date or None
        End of the time-of-day windows on the unit page.
    """

    vintage: str | None = None
    level: str = "sector"
    units: tuple[str, ...] = ()
    group: str = HIGH_IMPACT
    period: str = "week"
    start: date | None = None
    end: date | None = None
    basis: str = "recorded"
    as_of: date | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> TrendRequest:
        """Build a request from arguments (``unit`` repeated or comma-separated), checked."""
        code = text_arg(args, "group") or HIGH_IMPACT
        group(code)
        units = list_arg(args, "unit")
        if len(units) > MAX_UNITS:
            raise InvalidQueryError(f"at most {MAX_UNITS} units in one chart, not {len(units)}")
        start, end = date_arg(args, "start"), date_arg(args, "end")
        if start and end and start > end:
            raise InvalidQueryError("the start date is after the end date")
        return cls(
            vintage=text_arg(args, "vintage"),
            level=choice(args, "level", LEVELS, "sector"),
            units=units,
            group=code,
            period=choice(args, "period", PERIODS, "week"),
            start=start,
            end=end,
            basis=choice(args, "basis", BASES, "recorded"),
            as_of=date_arg(args, "as_of"),
        )


def unit_names(
    conn: Connection, vintage: str, level: str, codes: tuple[str, ...]
) -> dict[str, str]:
    """Return the name of each unit in ``codes`` (``FUERA`` included), checked.

    Raises
    ------
    NotFoundError
        A code is no unit of ``level`` in ``vintage``.
    """
    known = {u["code"]: u["name"] for u in territory.units(conn, vintage, level)}
    known[OUTSIDE_ID] = OUTSIDE_ID
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise NotFoundError(f"no {level} {', '.join(unknown)} in vintage {vintage!r}")
    return {c: known[c] for c in codes}


def trend_data(conn: Connection, r: TrendRequest) -> dict[str, Any]:
    """Return the series of each unit: per period its dates, count and year-ago count.

    Raises
    ------
    NotFoundError
        Unknown vintage or unit.
    InvalidQueryError
        No unit asked for, or a bad parameter.
    """
    if not r.units:
        raise InvalidQueryError("at least one unit is needed (?unit=...)")
    vintage, _ = resolve_vintage(conn, r.vintage)
    names = unit_names(conn, vintage, r.level, r.units)
    q = TrendQuery(
        vintage=vintage,
        units=r.units,
        group=r.group,
        period=r.period,
        start=r.start,
        end=r.end,
        basis=r.basis,
    )
    rows = records(trend(conn, q), SERIES_COLUMNS)
    series = {code: {"unit_id": code, "unit_name": names[code], "points": []} for code in r.units}
    for row in rows:
        point = {k: row[k] for k in ("period_start", "period_end", "current", "year_ago")}
        series[row["unit_id"]]["points"].append(point)
    chosen = group(r.group)
    return {
        "vintage": vintage,
        "level": r.level,
        "period": r.period,
        "basis": r.basis,
        "group": {"code": chosen.code, "name_es": chosen.name_es, "name_en": chosen.name_en},
        "series": list(series.values()),
    }


@dataclass
class TrendPage:
    """A unit's trend page, or the explorer: what the choosers and charts need.

    Attributes
    ----------
    request : TrendRequest
        With the vintage resolved.
    vintages : list of str
    group : Group
    groups : list of Group
        Every group, for the chooser.
    names : dict of str to str
        Name of each chosen unit.
    units : list of dict
        Every unit of the level (``code``, ``name``), for the explorer's chooser.
    as_of : date or None
        End of the time-of-day windows (unit page only).
    windows : dict of str to WindowSet
        The meeting's windows ending on ``as_of`` (unit page only).
    """

    request: TrendRequest
    vintages: list[str]
    group: Group
    groups: list[Group]
    names: dict[str, str]
    units: list[dict] = field(default_factory=list)
    as_of: date | None = None
    windows: dict[str, WindowSet] = field(default_factory=dict)

    @property
    def weekly_start(self) -> date | None:
        """First day (a Monday) of the weekly chart: :data:`WEEKS_SHOWN` weeks up to ``as_of``."""
        if self.as_of is None:
            return None
        return self.as_of - timedelta(days=self.as_of.weekday() + 7 * (WEEKS_SHOWN - 1))


def unit_page(conn: Connection, r: TrendRequest) -> TrendPage:
    """Return a unit's trend page (exactly one unit).

    Raises
    ------
    NotFoundError
        Unknown vintage or unit, or no incidents placed in the vintage.
    InvalidQueryError
        Not exactly one unit.
    """
    if len(r.units) != 1:
        raise InvalidQueryError("the trend page shows one unit (?unit=...)")
    vintage, names = resolve_vintage(conn, r.vintage)
    r = replace(r, vintage=vintage)
    as_of = r.as_of or default_as_of(conn, vintage)
    return TrendPage(
        r,
        names,
        group(r.group),
        list(groups().values()),
        unit_names(conn, vintage, r.level, r.units),
        as_of=as_of,
        windows=standard_windows(as_of),
    )


def explorer_page(conn: Connection, r: TrendRequest) -> TrendPage:
    """Return the explorer: the choosers, and the chosen units' names (charts drawn from JSON).

    Units that are not of the chosen level (left over from a change of level) are dropped.

    Raises
    ------
    NotFoundError
        Unknown vintage.
    """
    vintage, names = resolve_vintage(conn, r.vintage)
    units = [
        {"code": u["code"], "name": u["name"]} for u in territory.units(conn, vintage, r.level)
    ]
    known = {u["code"]: u["name"] for u in units}
    chosen = tuple(code for code in r.units if code in known)
    r = replace(r, vintage=vintage, units=chosen)
    return TrendPage(
        r, names, group(r.group), list(groups().values()), {c: known[c] for c in chosen}, units
    )
