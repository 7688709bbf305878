"""The weekly CompStat table: one row per unit with each window's counts and changes.

The page is a pivot of the long-form rows of
:func:`compstat.queries.accountability.accountability` (one row per unit x group x
window): each unit's three windows side by side, the total of the shown units, the
unassigned unit ``FUERA`` when it has incidents. Its downloads are those long-form
rows, unchanged. Nothing here knows about Flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Protocol

import pandas as pd
from sqlalchemy import Connection

from compstat.errors import InvalidQueryError
from compstat.groups import HIGH_IMPACT, Group, group
from compstat.queries import territory
from compstat.queries.accountability import (
    COLUMNS,
    VALUE_COLUMNS,
    AccountabilityQuery,
    accountability,
)
from compstat.windows import WindowSet
from web.handlers.args import choice, date_arg, resolve_vintage, text_arg
from web.rows import records

LEVELS = ("zone", "region", "sector", "quadrant")
BASES = ("recorded", "spatial", "source")
#: The level one step down, where a unit's name links to.
CHILD = {"zone": "region", "region": "sector", "sector": "quadrant"}
OUTSIDE_ID = "FUERA"


class AccountabilityResult(Protocol):
    """What the page reads of :class:`compstat.queries.accountability.Accountability`."""

    query: Any
    windows: dict[str, WindowSet]
    rows: pd.DataFrame
    totals: pd.DataFrame
    breadcrumb: list[dict]
    sources: list[dict]
    notes: list[dict]
    census: str
    roster_fictitious: bool


@dataclass(frozen=True)
class WeeklyQuery:
    """What the weekly table was asked for.

    Attributes
    ----------
    vintage : str or None
        Territory vintage; ``None`` picks the newest loaded.
    level : str
        One of :data:`LEVELS`.
    group : str
        Category group code.
    basis : str
        One of :data:`BASES`.
    as_of : date or None
        Last day of the windows; ``None``: the last complete Sunday of the loaded data.
    parent : str or None
        A unit above ``level``: show only its descendants.
    """

    vintage: str | None = None
    level: str = "sector"
    group: str = HIGH_IMPACT
    basis: str = "recorded"
    as_of: date | None = None
    parent: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> WeeklyQuery:
        """Build a query from request arguments, checked (``InvalidQueryError`` if bad)."""
        level = choice(args, "level", LEVELS, "sector")
        parent = text_arg(args, "parent")
        if parent is not None and level == "zone":
            raise InvalidQueryError("zones have no parent unit")
        code = text_arg(args, "group") or HIGH_IMPACT
        group(code)
        return cls(
            vintage=text_arg(args, "vintage"),
            level=level,
            group=code,
            basis=choice(args, "basis", BASES, "recorded"),
            as_of=date_arg(args, "as_of"),
            parent=parent,
        )


@dataclass
class Cell:
    """One window of one unit: counts, changes and the flag."""

    current: int | None
    year_ago: int | None
    pct_change: float | None
    two_year_ago: int | None
    two_year_pct_change: float | None
    z: float | None
    flag: str | None
    rate_per_100k: float | None
    rank: int | None


@dataclass
class UnitRow:
    """One unit of the table: its three windows side by side."""

    unit_id: str
    unit_name: str
    parent_id: str | None
    commander: str | None
    cells: dict[str, Cell]

    @property
    def label(self) -> str:
        """Return ``code name``; the name alone when it holds the code (``Región P-1``)."""
        if not self.unit_name or self.unit_name.split()[-1] == self.unit_id:
            return self.unit_name or self.unit_id
        return f"{self.unit_id} {self.unit_name}"

    @property
    def outside(self) -> bool:
        """Whether this is the unit outside every quadrant."""
        return self.unit_id == OUTSIDE_ID


@dataclass
class Section:
    """Rows of one zone (the whole table when it is not split by zone)."""

    zone_code: str | None
    zone_name: str | None
    rows: list[UnitRow]


@dataclass
class WeeklyPage:
    """Everything the weekly page shows, and the long-form rows it downloads as."""

    query: WeeklyQuery
    vintages: list[str]
    group: Group
    windows: dict[str, WindowSet]
    sections: list[Section]
    outside: UnitRow | None
    total: UnitRow | None
    breadcrumb: list[dict]
    sources: list[dict]
    notes: list[dict]
    census: str | None
    roster_fictitious: bool
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def child_level(self) -> str | None:
        """The level a unit's name links down to (None at quadrants)."""
        return CHILD.get(self.query.level)

    @property
    def peers(self) -> int:
        """Number of ranked units (every shown unit but ``FUERA``)."""
        return sum(len(s.rows) for s in self.sections)

    @property
    def split_by_zone(self) -> bool:
        """Whether the rows are grouped by zone (one printed page per zone)."""
        return len(self.sections) > 1


def _cell(row: dict[str, Any]) -> Cell:
    return Cell(*(row[k] for k in VALUE_COLUMNS))


def pivot(rows: list[dict[str, Any]]) -> list[UnitRow]:
    """Return one :class:`UnitRow` per unit of the long-form ``rows``, in their order."""
    units: dict[str, UnitRow] = {}
    for row in rows:
        unit = units.get(row["unit_id"])
        if unit is None:
            unit = units[row["unit_id"]] = UnitRow(
                row["unit_id"], row["unit_name"], row["parent_id"], row["commander"], {}
            )
        unit.cells[row["window"]] = _cell(row)
    return list(units.values())


def split_by_zone(rows: list[UnitRow], zones: dict[str, tuple[str, str]]) -> list[Section]:
    """Return ``rows`` grouped by zone in zone-code order (one section if ``zones`` is empty)."""
    if not zones:
        return [Section(None, None, rows)]
    sections: dict[str, Section] = {}
    for row in rows:
        code, name = zones[row.unit_id]
        sections.setdefault(code, Section(code, name, [])).rows.append(row)
    return [sections[code] for code in sorted(sections)]


def describe_note(note: dict[str, Any]) -> dict[str, Any]:
    """Return a coverage note with ``detail``: the sources compared, for a cross-source note."""
    if note.get("code") != "cross_source":
        return note
    now = ", ".join(s.upper() for s in note.get("sources", []))
    then = ", ".join(s.upper() for s in note.get("compared_with", []))
    return {**note, "detail": f"{now} vs {then}"}


def build_page(
    acc: AccountabilityResult,
    query: WeeklyQuery,
    vintages: list[str],
    zones: dict[str, tuple[str, str]],
) -> WeeklyPage:
    """Return the page of an accountability result for one group (pure).

    Parameters
    ----------
    acc : Accountability
        The result for ``query`` (one group).
    query : WeeklyQuery
        The query, with vintage and as-of resolved.
    vintages : list of str
        Loaded vintages, for the chooser.
    zones : dict
        Unit id to (zone code, zone name), to split the rows by zone; empty: one section.
    """
    long_rows = records(acc.rows, COLUMNS)
    units = pivot(long_rows)
    outside = next((u for u in units if u.outside), None)
    shown = [u for u in units if not u.outside]
    totals = pivot(records(acc.totals, COLUMNS))
    return WeeklyPage(
        query,
        vintages,
        group(query.group),
        acc.windows,
        split_by_zone(shown, zones),
        outside,
        totals[0] if totals else None,
        acc.breadcrumb,
        acc.sources,
        [describe_note(n) for n in acc.notes],
        acc.census,
        acc.roster_fictitious,
        long_rows,
    )


def _accountability(conn: Connection, q: WeeklyQuery) -> AccountabilityResult:
    aq = AccountabilityQuery(
        vintage=q.vintage,
        level=q.level,
        as_of=q.as_of,
        groups=(q.group,),
        basis=q.basis,
        parent=q.parent,
    )
    return accountability(conn, aq)


def zones_of(conn: Connection, q: WeeklyQuery) -> dict[str, tuple[str, str]]:
    """Return unit id to (zone code, zone name) when the page splits by zone, else empty."""
    if q.level == "zone" or q.parent is not None:
        return {}
    return {
        u["code"]: (u["zone_code"], u["zone_name"])
        for u in territory.units(conn, str(q.vintage), q.level)
    }


def weekly(conn: Connection, q: WeeklyQuery) -> WeeklyPage:
    """Return the weekly page for ``q``.

    Raises
    ------
    NotFoundError
        The vintage or parent unit is not loaded.
    InvalidQueryError
        No vintage is loaded, or a bad parameter.
    """
    vintage, names = resolve_vintage(conn, q.vintage)
    q = replace(q, vintage=vintage)
    acc = _accountability(conn, q)
    q = replace(q, as_of=acc.query.as_of)
    return build_page(acc, q, names, zones_of(conn, q))


def download_name(q: WeeklyQuery) -> str:
    """Return the download's file name (no extension), naming what it holds."""
    parts = [
        "compstat",
        q.vintage,
        q.level,
        q.parent,
        q.group,
        q.basis,
        q.as_of.isoformat() if q.as_of else None,
    ]
    return "_".join(p for p in parts if p).replace("/", "-")
