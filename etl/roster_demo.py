"""An invented commander roster for the demo: every unit of a vintage, seeded.

The names are combinations of common Mexican given names and surnames, each
followed by "(ficticio)", so no one can take them for real officers; a roster
written here is loaded with ``--fictitious`` and shown as invented. About half
the units change commander once or twice inside the period of the loaded
incidents, so "who was in charge at the end of the window" has something to show.
"""

from __future__ import annotations

import csv
import io
import itertools
import random
from datetime import date, timedelta

from sqlalchemy import Connection, text

from compstat.errors import NotFoundError
from compstat.queries.roster import LEVELS

GIVEN_NAMES = (
    "José",
    "Juan",
    "Luis",
    "Carlos",
    "Jorge",
    "Miguel",
    "Francisco",
    "Alejandro",
    "Roberto",
    "Fernando",
    "María",
    "Guadalupe",
    "Verónica",
    "Patricia",
    "Leticia",
    "Adriana",
    "Gabriela",
    "Claudia",
    "Alejandra",
    "Rosa",
)
SURNAMES = (
    "Hernández",
    "García",
    "Martínez",
    "López",
    "González",
    "Pérez",
    "Rodríguez",
    "Sánchez",
    "Ramírez",
    "Cruz",
    "Flores",
    "Gómez",
    "Morales",
    "Vázquez",
    "Jiménez",
    "Reyes",
    "Díaz",
    "Torres",
    "Gutiérrez",
    "Ruiz",
)
MARK = "(ficticio)"
RANKS = {
    "zone": ("Comisario General",),
    "region": ("Comisario",),
    "sector": ("Primer Superintendente", "Superintendente"),
    "quadrant": ("Segundo Inspector",),
}
COLUMNS = ["vintage", "level", "unit_id", "name", "rank", "start_date", "end_date"]
#: Number of term changes per unit, with their weights.
CHANGES, CHANGE_WEIGHTS = (0, 1, 2), (50, 35, 15)
#: Period used when the database holds no incidents yet.
FALLBACK_PERIOD = (date(2016, 1, 1), date(2016, 12, 31))


def vintage_units(conn: Connection, vintage: str) -> dict[str, list[str]]:
    """Return the unit codes of ``vintage`` per level, sorted."""
    units = {}
    for level in LEVELS:  # the table of a level has the level's name
        query = (
            f"SELECT u.code FROM {level} u JOIN territory_vintage v ON v.id = u.vintage_id "
            "WHERE v.name = :v ORDER BY u.code"
        )
        units[level] = list(conn.execute(text(query), {"v": vintage}).scalars())
    if not units["zone"]:
        raise NotFoundError(f"vintage {vintage!r} is not loaded")
    return units


def data_period(conn: Connection) -> tuple[date, date]:
    """Return the first and last day of the loaded incidents (a fixed year when none)."""
    first, last = conn.execute(
        text(
            "SELECT min(occurred_date), max(occurred_date) FROM incident "
            "WHERE retired_run_id IS NULL"
        )
    ).one()
    return (first, last) if first else FALLBACK_PERIOD


def _names(rng: random.Random, count: int) -> list[str]:
    combos = [(g, a, b) for g, a, b in itertools.product(GIVEN_NAMES, SURNAMES, SURNAMES) if a != b]
    return [f"{g} {a} {b} {MARK}" for g, a, b in rng.sample(combos, count)]


def _terms(rng: random.Random, period: tuple[date, date]) -> list[tuple[date, date | None]]:
    first, last = period
    start = first - timedelta(days=rng.randint(30, 1500))
    span = (last - first).days
    count = min(rng.choices(CHANGES, CHANGE_WEIGHTS)[0], max(span - 1, 0))
    changes = sorted(first + timedelta(days=d) for d in rng.sample(range(1, span), count))
    starts = [start, *changes]
    ends = [day - timedelta(days=1) for day in changes] + [None]
    return list(zip(starts, ends, strict=True))


def demo_roster(
    vintage: str, units: dict[str, list[str]], period: tuple[date, date], seed: int
) -> list[dict]:
    """Return an invented roster covering every unit from before ``period`` on, seeded.

    Rows have :data:`COLUMNS`; the last term of every unit is open (no end date).
    """
    rng = random.Random(seed)
    plan = [(level, unit, _terms(rng, period)) for level in LEVELS for unit in units[level]]
    names = iter(_names(rng, sum(len(terms) for _, _, terms in plan)))
    return [
        {
            "vintage": vintage,
            "level": level,
            "unit_id": unit,
            "name": next(names),
            "rank": rng.choice(RANKS[level]),
            "start_date": start.isoformat(),
            "end_date": end.isoformat() if end else "",
        }
        for level, unit, terms in plan
        for start, end in terms
    ]


def to_csv(rows: list[dict]) -> str:
    """Return roster rows as the CSV that ``compstat commanders load`` reads."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
