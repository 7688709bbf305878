"""When crime happens: incidents of one unit by day of week and hour of day, in a window.

Counted straight from ``incident`` and its assignment (``assignment_with_method``):
the hour is the source's recorded time, which ``daily_count`` does not keep. Rows
without a time cannot be placed on the grid; they are left out and their number is
returned, so the chart can say how many it does not show.

Bases (which quadrant an incident counts in):

* ``recorded``: the source's own quadrant where this vintage has it, else the point's;
* ``spatial``: the quadrant that holds the point;
* ``source``: only the quadrant the source recorded; rows it left unassigned go to
  ``FUERA`` (the unit outside every quadrant).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
from sqlalchemy import Connection, bindparam, text

from compstat.errors import InvalidQueryError, NotFoundError
from compstat.queries.counts import OUTSIDE_ID, vintage_exists

LEVELS = ("zone", "region", "sector", "quadrant", "city")
BASES = ("recorded", "spatial", "source")
WEEKDAYS = 7
HOURS = 24

#: The quadrant an incident counts in, per basis (fixed SQL, never user text).
_QUADRANT = {
    "recorded": "a.quadrant_id",
    "spatial": "a.spatial_quadrant_id",
    "source": "CASE WHEN a.recorded THEN a.quadrant_id END",
}
#: The unit code an incident counts in, per level (fixed SQL, never user text).
_UNIT = {"quadrant": "q.code", "sector": "s.code", "region": "r.code", "zone": "z.code"}


@dataclass(frozen=True)
class TimeOfDayQuery:
    """A request for one unit's day-of-week x hour-of-day counts.

    Attributes
    ----------
    vintage : str
        Territory vintage name.
    level : str
        One of :data:`LEVELS`; ``city`` counts every incident of the vintage.
    unit : str or None
        Unit code at ``level`` (``FUERA`` for the unassigned); ignored for ``city``.
    start, end : date
        First and last day of the window, both included.
    categories : tuple of str
        Canonical category codes counted (a group's categories); must not be empty.
    basis : str
        One of :data:`BASES`.
    """

    vintage: str
    level: str
    unit: str | None
    start: date
    end: date
    categories: tuple[str, ...] = field(default_factory=tuple)
    basis: str = "recorded"

    def __post_init__(self) -> None:
        for name, allowed in (("level", LEVELS), ("basis", BASES)):
            if getattr(self, name) not in allowed:
                raise InvalidQueryError(f"{name} must be one of {allowed}")
        if self.start > self.end:
            raise InvalidQueryError("the start date is after the end date")
        if not self.categories:
            raise InvalidQueryError("at least one category is needed")
        if self.level != "city" and not self.unit:
            raise InvalidQueryError(f"a {self.level} code is needed")


@dataclass
class TimeOfDay:
    """Incidents by weekday (rows, Monday first) and hour (columns, 0 to 23).

    Attributes
    ----------
    counts : numpy.ndarray
        Shape (7, 24), integer counts of incidents with a recorded time.
    without_time : int
        Incidents in the window and unit with no recorded time (not in ``counts``).
    """

    counts: np.ndarray
    without_time: int

    @property
    def with_time(self) -> int:
        """Number of incidents placed on the grid."""
        return int(self.counts.sum())


def _sql(q: TimeOfDayQuery) -> str:
    unit_filter = ""
    if q.level != "city":
        unit_filter = f"AND coalesce({_UNIT[q.level]}, :outside) = :unit"
    return f"""
        SELECT extract(isodow FROM i.occurred_date)::int - 1 AS weekday,
               extract(hour FROM i.occurred_time)::int AS hour,
               count(*) AS n
        FROM incident i
        JOIN assignment_with_method a ON a.incident_id = i.id
        JOIN territory_vintage v ON v.id = a.vintage_id
        JOIN category c ON c.id = i.category_id
        LEFT JOIN quadrant q ON q.id = {_QUADRANT[q.basis]}
        LEFT JOIN sector s ON s.id = q.sector_id
        LEFT JOIN region r ON r.id = s.region_id
        LEFT JOIN zone z ON z.id = r.zone_id
        WHERE v.name = :vintage AND i.retired_run_id IS NULL
          AND i.occurred_date BETWEEN :start AND :end
          AND c.code IN :categories
          {unit_filter}
        GROUP BY 1, 2
    """


def time_of_day(conn: Connection, q: TimeOfDayQuery) -> TimeOfDay:
    """Return the unit's incidents by weekday and hour, and the number without a time.

    Raises
    ------
    NotFoundError
        The vintage is not loaded.
    """
    if not vintage_exists(conn, q.vintage):
        raise NotFoundError(f"vintage {q.vintage!r} is not loaded")
    statement = text(_sql(q)).bindparams(bindparam("categories", expanding=True))
    params = {
        "vintage": q.vintage,
        "start": q.start,
        "end": q.end,
        "categories": list(q.categories),
    }
    if q.level != "city":
        params |= {"unit": q.unit, "outside": OUTSIDE_ID}
    # JIT compilation costs more (about 0.6 s) than it saves on this small aggregate.
    conn.execute(text("SET LOCAL jit = off"))
    grid = np.zeros((WEEKDAYS, HOURS), dtype=np.int64)
    without_time = 0
    for weekday, hour, n in conn.execute(statement, params):
        if hour is None:
            without_time += n
        else:
            grid[weekday, hour] += n
    return TimeOfDay(grid, without_time)
