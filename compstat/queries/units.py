"""Territory units of a vintage, level by level, with optional GeoJSON geometry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from compstat.errors import NotFoundError
from compstat.queries.counts import vintage_exists

#: Unit levels, coarsest first, with their table and parent's table.
UNIT_LEVELS = ("zone", "region", "sector", "quadrant")
_PARENT = {"zone": None, "region": "zone", "sector": "region", "quadrant": "sector"}
_NAME = {"zone": "u.name", "region": "u.name", "sector": "u.name", "quadrant": "u.code"}


def _select(level: str, geometry: bool) -> str:
    # level comes from UNIT_LEVELS only (checked by the callers), never from a request
    parent = _PARENT[level]
    parent_code = (
        f"(SELECT p.code FROM {parent} p WHERE p.id = u.{parent}_id)" if parent else "NULL"
    )
    shape = "ST_AsGeoJSON(ST_SimplifyPreserveTopology(u.geom, :tol), 6)" if geometry else "NULL"
    return (
        f"SELECT '{level}' AS level, u.code, {_NAME[level]} AS name, {parent_code} AS parent, "
        f"u.population, u.area_km2, {shape} AS geometry "
        f"FROM {level} u JOIN territory_vintage v ON v.id = u.vintage_id WHERE v.name = :v"
    )


def _check_vintage(conn: Connection, vintage: str) -> None:
    if not vintage_exists(conn, vintage):
        raise NotFoundError(f"vintage {vintage!r} is not loaded")


def units(
    conn: Connection, vintage: str, level: str, *, geometry: bool = False, tolerance: float = 0.0
) -> list[dict[str, Any]]:
    """Return the units of ``level`` in ``vintage``, ordered by code.

    Each has ``level``, ``code``, ``name``, ``parent`` (the code of the unit above),
    ``population``, ``area_km2`` and ``geometry`` (GeoJSON text, or ``None`` unless asked).

    Raises
    ------
    NotFoundError
        The vintage is not loaded.
    """
    if level not in UNIT_LEVELS:
        raise ValueError(f"level must be one of {UNIT_LEVELS}")
    _check_vintage(conn, vintage)
    rows = conn.execute(
        text(_select(level, geometry) + " ORDER BY u.code"), {"v": vintage, "tol": tolerance}
    ).mappings()
    return [dict(r) for r in rows]


def find_unit(
    conn: Connection, vintage: str, code: str, *, geometry: bool = False, tolerance: float = 0.0
) -> dict[str, Any]:
    """Return the unit with ``code`` in ``vintage``, at the finest level that has it.

    Raises
    ------
    NotFoundError
        The vintage is not loaded, or no unit has that code.
    """
    _check_vintage(conn, vintage)
    for level in reversed(UNIT_LEVELS):
        row = (
            conn.execute(
                text(_select(level, geometry) + " AND u.code = :code"),
                {"v": vintage, "code": code, "tol": tolerance},
            )
            .mappings()
            .first()
        )
        if row is not None:
            return dict(row)
    raise NotFoundError(f"no unit {code!r} in vintage {vintage!r}")
