"""Incident points of a vintage's units: exact places and times (restricted roles only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, text

from compstat.errors import InvalidQueryError
from compstat.queries.units import find_unit

COLUMNS = (
    "id",
    "source",
    "occurred_date",
    "occurred_time",
    "category",
    "quadrant",
    "sector",
    "method",
    "longitude",
    "latitude",
)
#: The column of the placed unit each level filters on.
_UNIT_COLUMN = {"quadrant": "q.code", "sector": "s.code", "region": "r.code", "zone": "z.code"}


@dataclass(frozen=True)
class IncidentsQuery:
    """A page of incident points.

    Attributes
    ----------
    vintage : str
        Territory vintage the points are placed in.
    unit : str or None
        Code of a zone, region, sector or quadrant to keep (recorded basis).
    start, end : date or None
        Inclusive bounds on the day of occurrence.
    categories : tuple of str
        Canonical category codes to keep; empty keeps all.
    limit, offset : int
        The page.
    """

    vintage: str
    unit: str | None = None
    start: date | None = None
    end: date | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)
    limit: int = 1000
    offset: int = 0

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise InvalidQueryError("the start date is after the end date")


@dataclass
class IncidentsPage:
    """One page of points and how many match in all."""

    items: list[dict[str, Any]]
    total: int


def incidents(conn: Connection, q: IncidentsQuery) -> IncidentsPage:
    """Return a page of the points placed in ``q.unit`` (recorded basis), oldest id first.

    Raises
    ------
    NotFoundError
        The vintage is not loaded, or ``q.unit`` is not one of its units.
    """
    unit_filter = ""
    params: dict[str, Any] = {
        "v": q.vintage,
        "start": q.start,
        "end": q.end,
        "limit": q.limit,
        "offset": q.offset,
    }
    if q.unit is not None:
        level = find_unit(conn, q.vintage, q.unit)["level"]
        unit_filter = f"AND {_UNIT_COLUMN[level]} = :unit"
        params["unit"] = q.unit
    category_filter = "AND c.code IN :categories" if q.categories else ""
    statement = text(f"""
        SELECT i.id, src.code AS source, i.occurred_date, i.occurred_time, c.code AS category,
               q.code AS quadrant, s.code AS sector, a.method::text AS method,
               round(ST_X(i.geom)::numeric, 6)::float AS longitude,
               round(ST_Y(i.geom)::numeric, 6)::float AS latitude,
               count(*) OVER () AS total
        FROM incident i
        JOIN assignment_with_method a ON a.incident_id = i.id
        JOIN territory_vintage v ON v.id = a.vintage_id AND v.name = :v
        JOIN source src ON src.id = i.source_id
        JOIN category c ON c.id = i.category_id
        LEFT JOIN quadrant q ON q.id = a.quadrant_id
        LEFT JOIN sector s ON s.id = q.sector_id
        LEFT JOIN region r ON r.id = s.region_id
        LEFT JOIN zone z ON z.id = r.zone_id
        WHERE i.retired_run_id IS NULL
          AND (CAST(:start AS date) IS NULL OR i.occurred_date >= :start)
          AND (CAST(:end AS date) IS NULL OR i.occurred_date <= :end)
          {unit_filter} {category_filter}
        ORDER BY i.id LIMIT :limit OFFSET :offset
    """)
    if q.categories:
        statement = statement.bindparams(bindparam("categories", expanding=True))
        params["categories"] = list(q.categories)
    rows = [dict(r) for r in conn.execute(statement, params).mappings()]
    total = rows[0].pop("total") if rows else 0
    for row in rows[1:]:
        row.pop("total")
    if not rows and q.offset:
        total = incidents(
            conn, IncidentsQuery(q.vintage, q.unit, q.start, q.end, q.categories, limit=1, offset=0)
        ).total
    return IncidentsPage(rows, total)
