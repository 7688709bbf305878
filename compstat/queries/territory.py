"""Territory facts: units per level, vintages and load history."""

from __future__ import annotations

from sqlalchemy import Connection, text

from compstat.errors import NotFoundError


def level_counts(conn: Connection, vintage: str) -> dict[str, int]:
    """Return ``{"zones": n, "regions": n, "sectors": n, "quadrants": n}`` for a vintage."""
    row = conn.execute(
        text(
            "SELECT v.id, (SELECT count(*) FROM zone WHERE vintage_id = v.id), "
            "(SELECT count(*) FROM region WHERE vintage_id = v.id), "
            "(SELECT count(*) FROM sector WHERE vintage_id = v.id), "
            "(SELECT count(*) FROM quadrant WHERE vintage_id = v.id) "
            "FROM territory_vintage v WHERE v.name = :v"
        ),
        {"v": vintage},
    ).first()
    if row is None:
        raise NotFoundError(f"vintage {vintage!r} is not loaded")
    return dict(zip(("zones", "regions", "sectors", "quadrants"), row[1:], strict=True))


def vintages(conn: Connection) -> list[dict]:
    """Return the loaded vintages with their source file and validation report."""
    rows = (
        conn.execute(
            text(
                "SELECT name, source_file, source_crs, loaded_at, report FROM territory_vintage "
                "ORDER BY name"
            )
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


def load_runs(conn: Connection, limit: int = 50) -> list[dict]:
    """Return the most recent load runs."""
    rows = (
        conn.execute(
            text(
                "SELECT r.id, r.kind, s.code AS source, r.file_name, r.started_at, r.finished_at, "
                "r.n_read, r.n_loaded, r.n_duplicate, r.n_quarantined FROM load_run r "
                "LEFT JOIN source s ON s.id = r.source_id ORDER BY r.id DESC LIMIT :n"
            ),
            {"n": limit},
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


def incident_totals(conn: Connection) -> list[dict]:
    """Return incidents (with their date range) and quarantined rows per source."""
    rows = (
        conn.execute(
            text(
                "SELECT s.code AS source, s.name, count(i.id) AS incidents, "
                "(SELECT count(*) FROM quarantine x WHERE x.source_id = s.id) AS quarantined, "
                "min(i.occurred_date) AS first, max(i.occurred_date) AS last "
                "FROM source s LEFT JOIN incident i ON i.source_id = s.id "
                "AND i.retired_run_id IS NULL "
                "GROUP BY s.id ORDER BY s.id"
            )
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


#: Code and name of a unit per level, and its zone (fixed SQL, never user text).
_UNITS = {
    "zone": ("z.code", "z.name", "FROM zone z"),
    "region": ("r.code", "r.name", "FROM region r JOIN zone z ON z.id = r.zone_id"),
    "sector": (
        "s.code",
        "s.name",
        "FROM sector s JOIN region r ON r.id = s.region_id JOIN zone z ON z.id = r.zone_id",
    ),
    "quadrant": (
        "q.code",
        "q.code",
        "FROM quadrant q JOIN sector s ON s.id = q.sector_id "
        "JOIN region r ON r.id = s.region_id JOIN zone z ON z.id = r.zone_id",
    ),
}


def units(conn: Connection, vintage: str, level: str) -> list[dict]:
    """Return every unit of ``level`` in ``vintage`` with its zone, ordered by code.

    Returns
    -------
    list of dict
        ``code``, ``name``, ``zone_code``, ``zone_name``.

    Raises
    ------
    NotFoundError
        Unknown level.
    """
    if level not in _UNITS:
        raise NotFoundError(f"no territory level {level!r}; expected one of {tuple(_UNITS)}")
    code, name, tables = _UNITS[level]
    rows = conn.execute(
        text(
            f"SELECT {code} AS code, {name} AS name, z.code AS zone_code, z.name AS zone_name "
            f"{tables} JOIN territory_vintage v ON v.id = z.vintage_id "
            "WHERE v.name = :v ORDER BY 1"
        ),
        {"v": vintage},
    ).mappings()
    return [dict(r) for r in rows]
