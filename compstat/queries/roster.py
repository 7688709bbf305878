"""Commander roster: who was in charge of each unit on a day, and the whole roster."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import Connection, text

from compstat.errors import InvalidQueryError, NotFoundError

LEVELS = ("zone", "region", "sector", "quadrant")
COLUMNS = ["vintage", "level", "unit_id", "name", "rank", "start_date", "end_date", "fictitious"]
#: The term of a row as a closed date range; the same expression as the exclusion
#: constraint of ``commander``, so its GiST index serves the lookup.
TERM = "daterange(c.start_date, c.end_date, '[]')"


@dataclass(frozen=True)
class Commander:
    """One commander's term over a unit.

    Attributes
    ----------
    name, rank : str
        As the roster gives them.
    start_date : date
        First day in charge.
    end_date : date or None
        Last day in charge (inclusive); None while still in charge.
    fictitious : bool
        The roster is invented (the demo roster), not real officers.
    """

    name: str
    rank: str
    start_date: date
    end_date: date | None
    fictitious: bool


def _check_vintage(conn: Connection, vintage: str) -> None:
    found = conn.execute(text("SELECT 1 FROM territory_vintage WHERE name = :v"), {"v": vintage})
    if found.first() is None:
        raise NotFoundError(f"vintage {vintage!r} is not loaded")


def commanders_at(conn: Connection, vintage: str, level: str, day: date) -> dict[str, Commander]:
    """Return the commander in charge of each unit of ``level`` on ``day``.

    Returns
    -------
    dict
        Unit code to :class:`Commander`; a unit with nobody in charge that day is absent.
    """
    if level not in LEVELS:
        raise InvalidQueryError(f"level must be one of {LEVELS}")
    _check_vintage(conn, vintage)
    rows = conn.execute(
        text(
            "SELECT c.unit_code, c.name, c.rank, c.start_date, c.end_date, c.fictitious "
            "FROM commander c JOIN territory_vintage v ON v.id = c.vintage_id "
            f"WHERE v.name = :vintage AND c.level = :level AND {TERM} @> CAST(:day AS date)"
        ),
        {"vintage": vintage, "level": level, "day": day},
    ).all()
    return {row[0]: Commander(*row[1:]) for row in rows}


def roster_is_fictitious(conn: Connection, vintage: str) -> bool:
    """Return whether the loaded roster of ``vintage`` is invented (False when none is loaded)."""
    query = (
        "SELECT coalesce(bool_or(c.fictitious), false) FROM commander c "
        "JOIN territory_vintage v ON v.id = c.vintage_id WHERE v.name = :v"
    )
    return bool(conn.execute(text(query), {"v": vintage}).scalar_one())


def roster_version(conn: Connection, vintage: str) -> str | None:
    """Return a token that changes with every roster load of ``vintage`` (None: no roster).

    Cached tables that show commanders belong in a key with this token.
    """
    query = (
        "SELECT max(c.loaded_at)::text FROM commander c "
        "JOIN territory_vintage v ON v.id = c.vintage_id WHERE v.name = :v"
    )
    return conn.execute(text(query), {"v": vintage}).scalar_one()


def roster(conn: Connection, vintage: str | None = None, at: date | None = None) -> pd.DataFrame:
    """Return the roster with columns :data:`COLUMNS`, optionally of one vintage and day.

    Rows come by vintage, level (zone down to quadrant), unit and start date.
    """
    if vintage is not None:
        _check_vintage(conn, vintage)
    rows = conn.execute(
        text(
            "SELECT v.name, c.level, c.unit_code, c.name, c.rank, c.start_date, c.end_date, "
            "c.fictitious FROM commander c JOIN territory_vintage v ON v.id = c.vintage_id "
            "WHERE (CAST(:vintage AS text) IS NULL OR v.name = :vintage) "
            f"AND (CAST(:day AS date) IS NULL OR {TERM} @> CAST(:day AS date)) "
            "ORDER BY v.name, array_position(CAST(:levels AS text[]), c.level), c.unit_code, "
            "c.start_date"
        ),
        {"vintage": vintage, "day": at, "levels": list(LEVELS)},
    ).all()
    return pd.DataFrame(rows, columns=COLUMNS)


def commander_labels(
    conn: Connection, vintage: str, level: str, day: date
) -> tuple[dict[str, str], bool]:
    """Return ``{unit: "rank name"}`` of those in charge on ``day``, and whether invented.

    The weekly table's commander lookup (``compstat.queries.accountability``).
    """
    found = commanders_at(conn, vintage, level, day)
    labels = {unit: f"{c.rank} {c.name}" for unit, c in found.items()}
    return labels, roster_is_fictitious(conn, vintage)
