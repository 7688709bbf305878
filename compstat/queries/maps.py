"""Map layers: simplified unit geometry and the span of days with counts."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text


def sector_geojson(conn: Connection, vintage: str, tolerance: float = 0.0005) -> list[dict]:
    """Return the sectors of a vintage with simplified GeoJSON geometry.

    Parameters
    ----------
    conn : sqlalchemy.Connection
    vintage : str
        Territory vintage name, e.g. ``"2016"``.
    tolerance : float
        Simplification tolerance in degrees (0.0005 is about 50 m in Mexico City).

    Returns
    -------
    list of dict
        ``code``, ``name`` and ``geojson`` (a GeoJSON geometry as text, 5 decimals),
        ordered by code; empty when the vintage is not loaded.
    """
    rows = (
        conn.execute(
            text(
                "SELECT s.code, s.name, "
                "ST_AsGeoJSON(ST_SimplifyPreserveTopology(s.geom, :tol), 5) AS geojson "
                "FROM sector s JOIN territory_vintage v ON v.id = s.vintage_id "
                "WHERE v.name = :v ORDER BY s.code"
            ),
            {"v": vintage, "tol": tolerance},
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


def count_span(conn: Connection, vintage: str) -> tuple[date, date] | None:
    """Return the first and last day with counts placed in a vintage, or ``None``."""
    row = conn.execute(
        text(
            "SELECT min(day), max(day) FROM daily_count "
            "WHERE vintage_id = (SELECT id FROM territory_vintage WHERE name = :v)"
        ),
        {"v": vintage},
    ).first()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]
