"""Incident counts rolled up by territory level and period, from ``daily_count``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from sqlalchemy import Connection, bindparam, text

from compstat.errors import InvalidQueryError, NotFoundError

LEVELS = ("quadrant", "sector", "region", "zone", "city")
PERIODS = ("day", "week", "month", "year")
BASES = ("recorded", "spatial", "source")
#: Unit id of incidents that fall in no quadrant of the vintage (or have no location).
OUTSIDE_ID = "FUERA"
OUTSIDE_NAME = "Fuera de todo cuadrante o sin ubicación"
CITY_ID = "CDMX"
COLUMNS = ["vintage", "level", "unit_id", "unit_name", "period_start", "category", "count"]

_UNIT = {
    "quadrant": ("q.code", "q.code"),
    "sector": ("s.code", "s.name"),
    "region": ("r.code", "r.name"),
    "zone": ("z.code", "z.name"),
}


@dataclass(frozen=True)
class CountsQuery:
    """A request for rolled-up counts.

    Attributes
    ----------
    vintage : str
        Territory vintage name, e.g. ``"2016"``.
    level : str
        One of :data:`LEVELS`.
    period : str
        One of :data:`PERIODS`; ``week`` starts on Monday.
    start, end : date or None
        Inclusive bounds on the day of occurrence.
    categories : tuple of str
        Canonical category codes to keep; empty keeps all.
    basis : str
        ``recorded`` (the source's own quadrant where it has one, else spatial),
        ``spatial`` (point in polygon only) or ``source`` (exactly the quadrant the
        source recorded, ``FUERA`` where it recorded none; spatial for sources and
        vintages without recorded quadrants).
    """

    vintage: str
    level: str = "quadrant"
    period: str = "month"
    start: date | None = None
    end: date | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)
    basis: str = "recorded"

    def __post_init__(self) -> None:
        for name, allowed in (("level", LEVELS), ("period", PERIODS), ("basis", BASES)):
            if getattr(self, name) not in allowed:
                raise InvalidQueryError(f"{name} must be one of {allowed}")
        if self.start and self.end and self.start > self.end:
            raise InvalidQueryError("the start date is after the end date")


def _unit_sql(level: str) -> tuple[str, str]:
    if level == "city":
        return f"'{CITY_ID}'", "'Ciudad de México'"
    code, name = _UNIT[level]
    return f"coalesce({code}, '{OUTSIDE_ID}')", f"coalesce({name}, '{OUTSIDE_NAME}')"


def _sql(q: CountsQuery) -> str:
    unit_id, unit_name = _unit_sql(q.level)
    category_filter = "AND c.code IN :categories" if q.categories else ""
    return f"""
        SELECT v.name AS vintage, :level AS level, {unit_id} AS unit_id,
               {unit_name} AS unit_name,
               date_trunc(:period, dc.day)::date AS period_start,
               c.code AS category, sum(dc.n_{q.basis})::bigint AS count
        FROM daily_count dc
        JOIN territory_vintage v ON v.id = dc.vintage_id
        JOIN category c ON c.id = dc.category_id
        LEFT JOIN quadrant q ON q.id = dc.quadrant_id
        LEFT JOIN sector s ON s.id = q.sector_id
        LEFT JOIN region r ON r.id = s.region_id
        LEFT JOIN zone z ON z.id = r.zone_id
        WHERE v.name = :vintage
          AND (CAST(:start AS date) IS NULL OR dc.day >= :start)
          AND (CAST(:end AS date) IS NULL OR dc.day <= :end)
          {category_filter}
        GROUP BY 1, 2, 3, 4, 5, 6
        HAVING sum(dc.n_{q.basis}) > 0
        ORDER BY period_start, unit_id, category
    """


def vintage_exists(conn: Connection, vintage: str) -> bool:
    """Return whether a vintage of that name is loaded."""
    found = conn.execute(text("SELECT 1 FROM territory_vintage WHERE name = :v"), {"v": vintage})
    return found.first() is not None


def counts(conn: Connection, q: CountsQuery) -> pd.DataFrame:
    """Return counts in long form with columns :data:`COLUMNS` (zero rows omitted)."""
    if not vintage_exists(conn, q.vintage):
        raise NotFoundError(f"vintage {q.vintage!r} is not loaded")
    statement = text(_sql(q))
    params = {"level": q.level, "period": q.period, "vintage": q.vintage,
              "start": q.start, "end": q.end}  # fmt: skip
    if q.categories:
        statement = statement.bindparams(bindparam("categories", expanding=True))
        params["categories"] = list(q.categories)
    rows = conn.execute(statement, params).all()
    return pd.DataFrame(rows, columns=COLUMNS)
