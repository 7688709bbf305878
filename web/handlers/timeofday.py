"""When crime happens: one unit's day-of-week x hour-of-day counts in a window, as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from compstat.groups import HIGH_IMPACT, group
from compstat.queries.timeofday import BASES, LEVELS, TimeOfDayQuery, time_of_day
from compstat.windows import STANDARD, standard_windows
from web.handlers.args import choice, date_arg, default_as_of, resolve_vintage, text_arg


@dataclass(frozen=True)
class TimeOfDayRequest:
    """A unit, a window of the meeting and a category group.

    Attributes
    ----------
    vintage : str or None
        ``None``: the newest loaded.
    level, unit : str
        The unit (``level`` ``city`` needs no unit).
    group : str
        Category group code.
    window : str
        ``week``, ``28d`` or ``ytd``, ending on ``as_of``.
    as_of : date or None
        ``None``: the last complete Sunday of the loaded data.
    basis : str
        ``recorded``, ``spatial`` or ``source``.
    """

    vintage: str | None
    level: str
    unit: str | None
    group: str = HIGH_IMPACT
    window: str = "28d"
    as_of: date | None = None
    basis: str = "recorded"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> TimeOfDayRequest:
        """Build a request from arguments ``vintage, level, unit, group, window, as_of, basis``."""
        code = text_arg(args, "group") or HIGH_IMPACT
        group(code)
        return cls(
            vintage=text_arg(args, "vintage"),
            level=choice(args, "level", LEVELS, "sector"),
            unit=text_arg(args, "unit"),
            group=code,
            window=choice(args, "window", STANDARD, "28d"),
            as_of=date_arg(args, "as_of"),
            basis=choice(args, "basis", BASES, "recorded"),
        )


def time_of_day_data(conn: Connection, r: TimeOfDayRequest) -> dict[str, Any]:
    """Return the chart's data: counts by weekday (Monday first) and hour, and those without time.

    Raises
    ------
    NotFoundError
        The vintage is not loaded or has no incidents.
    InvalidQueryError
        A bad parameter (e.g. no unit below the city level).
    """
    vintage, _ = resolve_vintage(conn, r.vintage)
    as_of = r.as_of or default_as_of(conn, vintage)
    window = standard_windows(as_of)[r.window].current
    chosen = group(r.group)
    q = TimeOfDayQuery(
        vintage, r.level, r.unit, window.start, window.end, chosen.categories, r.basis
    )
    result = time_of_day(conn, q)
    return {
        "vintage": vintage,
        "level": r.level,
        "unit": r.unit,
        "group": chosen.code,
        "basis": r.basis,
        "window": r.window,
        "start": window.start,
        "end": window.end,
        "counts": result.counts.tolist(),
        "with_time": result.with_time,
        "without_time": result.without_time,
    }
