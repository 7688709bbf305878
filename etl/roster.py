"""Load a commander roster: read and validate the whole file, then replace the named vintages.

File format (CSV, UTF-8, header row): ``level, unit_id, name, rank, start_date,
end_date`` and, optionally, ``vintage``. Dates are ``YYYY-MM-DD``; ``end_date`` is
the last day in charge (inclusive) and empty while the commander is still in
charge. A row without a vintage belongs to ``default_vintage`` when given, else
to the newest loaded vintage (the one whose name sorts last: 2023 over 2016).

A load replaces every term of the vintages the file names and stores the new
ones in one transaction; any invalid row stops the load with one
:class:`RosterError` (``FILE, row N: reason``, the header being row 1) and
nothing is stored. This module is the only writer of the ``commander`` table.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from compstat.db import transaction
from compstat.errors import InputFileError
from compstat.queries.roster import LEVELS
from etl import runs

REQUIRED = ("level", "unit_id", "name", "rank", "start_date", "end_date")
OPTIONAL = ("vintage",)
#: The columns the loader writes, in order (``loaded_at`` takes the transaction's time).
STORED = (
    "vintage_id",
    "level",
    "unit_code",
    "name",
    "rank",
    "start_date",
    "end_date",
    "fictitious",
    "source_file",
    "file_sha256",
    "source_row",
)
INSERT = text(
    f"INSERT INTO commander ({', '.join(STORED)}) VALUES ({', '.join(':' + c for c in STORED)})"
)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class RosterError(InputFileError):
    """An invalid roster file: names the file, the row and the reason."""

    def __init__(self, source: str, row: int | None, reason: str) -> None:
        self.source, self.row, self.reason = source, row, reason
        super().__init__(f"{source}, row {row}: {reason}" if row else f"{source}: {reason}")


@dataclass(frozen=True)
class Term:
    """One validated row of a roster file."""

    row: int
    vintage: str
    level: str
    unit_id: str
    name: str
    rank: str
    start_date: date
    end_date: date | None

    def overlaps(self, other: Term) -> bool:
        """Return whether the two terms share at least one day."""
        self_end, other_end = self.end_date or date.max, other.end_date or date.max
        return self.start_date <= other_end and other.start_date <= self_end

    def span(self) -> str:
        """Return the term as ``start..end`` (``open`` for no end)."""
        return f"{self.start_date}..{self.end_date or 'open'}"


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Return ``(row number, record)`` for every data row, the header being row 1."""
    source = str(path)
    if not path.is_file():
        raise RosterError(source, None, "no such file")
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError(source, None, f"not UTF-8 text: {exc}") from exc
    reader = csv.reader(io.StringIO(content))
    header = [h.strip().lower() for h in next(reader, [])]
    if not header:
        raise RosterError(source, None, "the file is empty (no header line)")
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if missing or unknown:
        reason = f"header lacks columns {missing}" if missing else f"unknown columns {unknown}"
        raise RosterError(source, 1, f"{reason}; expected {list(REQUIRED + OPTIONAL)}")
    rows = []
    for values in reader:
        number = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise RosterError(source, number, f"{len(values)} fields, expected {len(header)}")
        rows.append((number, {k: v.strip() for k, v in zip(header, values, strict=True)}))
    if not rows:
        raise RosterError(source, None, "the roster has no rows")
    return rows


def _parse_date(source: str, row: int, record: dict[str, str], column: str) -> date | None:
    value = record[column]
    if not value:
        if column == "end_date":
            return None
        raise RosterError(source, row, f"missing {column}")
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise RosterError(source, row, f"bad {column} {value!r} (expected YYYY-MM-DD)") from None


def unit_codes(conn: Connection) -> dict[tuple[str, str], set[str]]:
    """Return the unit codes of every loaded vintage, keyed ``(vintage, level)``."""
    units: dict[tuple[str, str], set[str]] = {
        (name, level): set() for name in vintage_ids(conn) for level in LEVELS
    }
    for level in LEVELS:  # the table of a level has the level's name
        rows = conn.execute(
            text(
                f"SELECT v.name, u.code FROM {level} u "
                "JOIN territory_vintage v ON v.id = u.vintage_id"
            )
        )
        for vintage, code in rows:
            units[(vintage, level)].add(code)
    return units


def vintage_ids(conn: Connection) -> dict[str, int]:
    """Return the id of every loaded vintage by name."""
    return dict(conn.execute(text("SELECT name, id FROM territory_vintage")).all())


def newest_vintage(names: list[str]) -> str | None:
    """Return the vintage whose name sorts last (years compare as numbers), or None."""
    return max(names, key=lambda n: (n.isdigit(), int(n) if n.isdigit() else 0, n), default=None)


def parse_term(
    source: str, row: int, record: dict[str, str], units: dict, default_vintage: str
) -> Term:
    """Validate one record against the loaded territory and return its :class:`Term`."""
    vintage = record.get("vintage") or default_vintage
    level = record["level"].lower()
    if level not in LEVELS:
        raise RosterError(source, row, f"unknown level {record['level']!r} (one of {LEVELS})")
    if vintage not in {v for v, _ in units}:
        raise RosterError(source, row, f"unknown vintage {vintage!r} (not loaded)")
    if not record["unit_id"]:
        raise RosterError(source, row, "missing unit_id")
    if record["unit_id"] not in units.get((vintage, level), set()):
        raise RosterError(
            source, row, f"unknown {level} {record['unit_id']!r} in vintage {vintage}"
        )
    for column in ("name", "rank"):
        if not record[column]:
            raise RosterError(source, row, f"missing {column}")
    start = _parse_date(source, row, record, "start_date")
    end = _parse_date(source, row, record, "end_date")
    if end is not None and end < start:
        raise RosterError(source, row, f"end_date {end} is before start_date {start}")
    return Term(row, vintage, level, record["unit_id"], record["name"], record["rank"], start, end)


def check_overlaps(source: str, terms: list[Term]) -> None:
    """Raise :class:`RosterError` at the first row whose term shares a day with an earlier row's."""
    seen: dict[tuple[str, str, str], list[Term]] = defaultdict(list)
    for term in terms:
        key = (term.vintage, term.level, term.unit_id)
        for earlier in seen[key]:
            if term.overlaps(earlier):
                raise RosterError(
                    source,
                    term.row,
                    f"term {term.span()} of {term.level} {term.unit_id} "
                    f"overlaps row {earlier.row} ({earlier.span()})",
                )
        seen[key].append(term)


def validate(conn: Connection, path: Path, default_vintage: str | None = None) -> list[Term]:
    """Read ``path`` and return its terms, or raise :class:`RosterError` at the first bad row."""
    rows = read_rows(path)
    units = unit_codes(conn)
    fallback = default_vintage or newest_vintage(list(vintage_ids(conn)))
    if fallback is None:
        raise RosterError(str(path), None, "no territory vintage is loaded")
    terms = [parse_term(str(path), row, record, units, fallback) for row, record in rows]
    check_overlaps(str(path), terms)
    return terms


def store(conn: Connection, path: Path, terms: list[Term], fictitious: bool) -> None:
    """Delete the roster of every vintage named by ``terms`` and insert ``terms``."""
    ids = vintage_ids(conn)
    named = sorted({ids[t.vintage] for t in terms})
    conn.execute(text("DELETE FROM commander WHERE vintage_id = ANY(:ids)"), {"ids": named})
    common = {
        "fictitious": fictitious,
        "source_file": path.name,
        "file_sha256": runs.file_sha256(path),
    }
    conn.execute(
        INSERT,
        [
            {
                "vintage_id": ids[t.vintage],
                "level": t.level,
                "unit_code": t.unit_id,
                "name": t.name,
                "rank": t.rank,
                "start_date": t.start_date,
                "end_date": t.end_date,
                "source_row": t.row,
                **common,
            }
            for t in terms
        ],
    )


def load_roster(
    engine: Engine, path: str | Path, fictitious: bool = False, default_vintage: str | None = None
) -> dict[str, dict[str, int]]:
    """Validate the roster at ``path`` and replace the rosters of the vintages it names.

    Returns
    -------
    dict
        Per vintage: ``terms`` stored and ``units`` covered.
    """
    path = Path(path)
    with transaction(engine) as conn:
        runs.lock_loads(conn)
        terms = validate(conn, path, default_vintage)
        store(conn, path, terms, fictitious)
    summary: dict[str, dict[str, int]] = {}
    for vintage in sorted({t.vintage for t in terms}):
        mine = [t for t in terms if t.vintage == vintage]
        units = {(t.level, t.unit_id) for t in mine}
        summary[vintage] = {"terms": len(mine), "units": len(units)}
    return summary
