"""Incident counts rolled up by territory level and period, from ``daily_count``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from compstat.errors import InvalidQueryError, NotFoundError
from compstat.groups import group
from compstat.queries import as_of_run
from compstat.taxonomy import categories as taxonomy_categories

LEVELS = ("quadrant", "sector", "region", "zone", "city")
PERIODS = ("day", "week", "month", "year")
BASES = ("recorded", "spatial", "source")
#: Unit id of incidents that fall in no quadrant of the vintage (or have no location).
OUTSIDE_ID = "FUERA"
OUTSIDE_NAME = "Fuera de todo cuadrante o sin ubicación"
CITY_ID = "CDMX"
CITY_NAME = "Ciudad de México"
COLUMNS = [
    "vintage",
    "level",
    "unit_id",
    "unit_name",
    "period_start",
    "period_end",
    "category",
    "count",
    "partial",
]

_UNIT = {
    "quadrant": ("q.code", "q.code"),
    "sector": ("s.code", "s.name"),
    "region": ("r.code", "r.name"),
    "zone": ("z.code", "z.name"),
}
#: The territory table of each level, for listing every unit with ``zeros``.
_UNIT_TABLE = {
    "quadrant": "quadrant q",
    "sector": "sector s",
    "region": "region r",
    "zone": "zone z",
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
        Category or group codes (see :mod:`compstat.groups`); each code asked for is one
        ``category`` of the output, summing its member categories. Empty gives every
        canonical category on its own.
    basis : str
        ``recorded`` (the source's own quadrant where it has one, else spatial),
        ``spatial`` (point in polygon only) or ``source`` (exactly the quadrant the
        source recorded, ``FUERA`` where it recorded none; spatial for sources and
        vintages without recorded quadrants).
    zeros : bool
        Whether to list every unit x period x category, zeros included.
    as_of_run : int or None
        Count what was known after that load run, from the raw tables
        (:mod:`compstat.queries.as_of_run`), instead of ``daily_count``.

    Raises
    ------
    InvalidQueryError
        A parameter is not allowed, the dates are reversed, or a code is neither a
        category nor a group (the message lists the valid codes).
    """

    vintage: str
    level: str = "quadrant"
    period: str = "month"
    start: date | None = None
    end: date | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)
    basis: str = "recorded"
    zeros: bool = False
    as_of_run: int | None = None

    def __post_init__(self) -> None:
        for name, allowed in (("level", LEVELS), ("period", PERIODS), ("basis", BASES)):
            if getattr(self, name) not in allowed:
                raise InvalidQueryError(f"{name} must be one of {allowed}")
        if self.start and self.end and self.start > self.end:
            raise InvalidQueryError("the start date is after the end date")
        for code in self.categories:
            group(code)


def _wanted(codes: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Return parallel lists (output code, member category) for the codes asked for.

    Without codes, every category of the taxonomy stands for itself (the SQL adds any
    other category the database holds, so no stored count is left out).
    """
    if not codes:
        every = [c.code for c in taxonomy_categories()]
        return every, every
    pairs = [(code, member) for code in dict.fromkeys(codes) for member in group(code).categories]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _unit_sql(level: str) -> tuple[str, str]:
    if level == "city":
        return f"'{CITY_ID}'", f"'{CITY_NAME}'"
    code, name = _UNIT[level]
    return f"coalesce({code}, '{OUTSIDE_ID}')", f"coalesce({name}, '{OUTSIDE_NAME}')"


_WANTED_CTE = """
    wanted AS (
        SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:members AS text[]))
            AS w(category, member)
    )"""

_EVERY_CATEGORY_CTE = """
    wanted AS (
        SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:members AS text[]))
            AS w(category, member)
        UNION SELECT code, code FROM category
    )"""

_COUNTED_CTE = """
    counted AS (
        SELECT {unit_id} AS unit_id, {unit_name} AS unit_name,
               date_trunc(:period, dc.day)::date AS first_day,
               w.category, sum(dc.n_{basis})::bigint AS count
        FROM {counts_table} dc
        JOIN territory_vintage v ON v.id = dc.vintage_id
        JOIN category c ON c.id = dc.category_id
        JOIN wanted w ON w.member = c.code
        LEFT JOIN quadrant q ON q.id = dc.quadrant_id
        LEFT JOIN sector s ON s.id = q.sector_id
        LEFT JOIN region r ON r.id = s.region_id
        LEFT JOIN zone z ON z.id = r.zone_id
        WHERE v.name = :vintage
          AND (CAST(:start AS date) IS NULL OR dc.day >= :start)
          AND (CAST(:end AS date) IS NULL OR dc.day <= :end)
        GROUP BY 1, 2, 3, 4
    )"""

_LAST_DAY = "(first_day + CAST(:step AS interval) - interval '1 day')::date"

_NON_ZERO = f"""
    SELECT unit_id, unit_name, first_day, {_LAST_DAY} AS last_day, category, count
    FROM counted WHERE count > 0
    ORDER BY first_day, unit_id, category
"""

_GRID = f"""
    SELECT u.unit_id, u.unit_name, p.first_day, {_LAST_DAY} AS last_day, k.category,
           coalesce(counted.count, 0) AS count
    FROM units u
    CROSS JOIN (
        SELECT generate_series(date_trunc(:period, CAST(:grid_from AS date)),
                               CAST(:grid_to AS date),
                               CAST(:step AS interval))::date AS first_day
    ) p
    CROSS JOIN (SELECT DISTINCT category FROM wanted) k
    LEFT JOIN counted USING (unit_id, unit_name, first_day, category)
    ORDER BY first_day, unit_id, category
"""


def _units_cte(level: str) -> str:
    """Every unit of the level in the vintage, plus :data:`OUTSIDE_ID` below the city."""
    if level == "city":
        return f"units AS (SELECT '{CITY_ID}' AS unit_id, '{CITY_NAME}' AS unit_name)"
    code, name = _UNIT[level]
    return f"""
    units AS (
        SELECT {code} AS unit_id, {name} AS unit_name
        FROM {_UNIT_TABLE[level]}
        JOIN territory_vintage v ON v.id = vintage_id AND v.name = :vintage
        UNION ALL SELECT '{OUTSIDE_ID}', '{OUTSIDE_NAME}'
    )"""


def _sql(q: CountsQuery) -> str:
    unit_id, unit_name = _unit_sql(q.level)
    wanted = _WANTED_CTE if q.categories else _EVERY_CATEGORY_CTE
    table = "daily_count" if q.as_of_run is None else f"({as_of_run.counts_relation(q.basis)})"
    counted = _COUNTED_CTE.format(
        unit_id=unit_id, unit_name=unit_name, basis=q.basis, counts_table=table
    )
    ctes = [wanted, counted]
    if q.zeros:
        ctes.append(_units_cte(q.level))
    return "WITH " + ",".join(ctes) + (_GRID if q.zeros else _NON_ZERO)


def vintage_exists(conn: Connection, vintage: str) -> bool:
    """Return whether a vintage of that name is loaded."""
    found = conn.execute(text("SELECT 1 FROM territory_vintage WHERE name = :v"), {"v": vintage})
    return found.first() is not None


#: Spans already read, by database and the state of its incident loads (see data_spans).
_SPANS: dict[tuple, list[tuple[date, date]]] = {}


def data_spans(conn: Connection) -> list[tuple[date, date]]:
    """Return the days the loaded incidents cover: each source's first to last day, merged.

    Days between two sources' spans (the SSP ends in 2016, the FGJ starts in 2019) are
    not covered: counts there are unknown, not zero. Incidents change only through load
    runs, so the spans are read again (a scan of every incident) only after a run.
    """
    runs = conn.execute(
        text("SELECT count(*), max(id), max(finished_at) FROM load_run WHERE kind = 'incidents'")
    ).one()
    key = (conn.engine.url.render_as_string(hide_password=True), *runs)
    if key not in _SPANS:
        if len(_SPANS) > 64:
            _SPANS.clear()
        _SPANS[key] = _read_spans(conn)
    return _SPANS[key]


def _read_spans(conn: Connection) -> list[tuple[date, date]]:
    rows = conn.execute(
        text(
            "SELECT min(occurred_date), max(occurred_date) FROM incident "
            "WHERE retired_run_id IS NULL GROUP BY source_id ORDER BY 1"
        )
    ).all()
    return as_of_run.merge_spans(rows)


def counts(conn: Connection, q: CountsQuery) -> pd.DataFrame:
    """Return counts in long form with columns :data:`COLUMNS`.

    ``period_start`` and ``period_end`` are the first and last day of the period inside
    the requested range; ``partial`` is true when the period is cut by ``q.start`` or
    ``q.end`` or is not wholly inside the days the loaded data covers
    (:func:`data_spans`). Zero rows are omitted unless ``q.zeros``.
    """
    if not vintage_exists(conn, q.vintage):
        raise NotFoundError(f"vintage {q.vintage!r} is not loaded")
    if q.as_of_run is None:
        spans = data_spans(conn)
    else:
        as_of_run.check_run(conn, q.as_of_run)
        spans = as_of_run.spans(conn, q.as_of_run)
    codes, members = _wanted(q.categories)
    params = {
        "period": q.period,
        "step": f"1 {q.period}",
        "vintage": q.vintage,
        "start": q.start,
        "end": q.end,
        "codes": codes,
        "members": members,
        "as_of_run": q.as_of_run,
    }
    if q.zeros:
        grid = _grid_range(q, spans)
        if grid is None:
            return _label(pd.DataFrame(columns=["unit_id"]), q, spans)
        params["grid_from"], params["grid_to"] = grid
    rows = conn.execute(text(_sql(q)), params).all()
    frame = pd.DataFrame(
        rows, columns=["unit_id", "unit_name", "first_day", "last_day", "category", "count"]
    )
    return _label(frame, q, spans)


def _grid_range(q: CountsQuery, spans: list[tuple[date, date]]) -> tuple[date, date] | None:
    """Return the days whose periods ``zeros`` lists: the range, else the data's span."""
    first = q.start or (spans[0][0] if spans else None)
    last = q.end or (spans[-1][1] if spans else None)
    if first is None or last is None or first > last:
        return None
    return first, last


def _label(frame: pd.DataFrame, q: CountsQuery, spans: list[tuple[date, date]]) -> pd.DataFrame:
    """Clip the periods to the requested range and flag the partial ones."""
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    first, last = frame["first_day"], frame["last_day"]
    start = first if q.start is None else first.where(first >= q.start, q.start)
    end = last if q.end is None else last.where(last <= q.end, q.end)
    covered = np.zeros(len(frame), dtype=bool)
    for lo, hi in spans:
        covered |= ((first >= lo) & (last <= hi)).to_numpy()
    partial = (start != first) | (end != last) | ~covered
    return pd.DataFrame(
        {
            "vintage": q.vintage,
            "level": q.level,
            "unit_id": frame["unit_id"],
            "unit_name": frame["unit_name"],
            "period_start": start,
            "period_end": end,
            "category": frame["category"],
            "count": frame["count"].astype("int64"),
            "partial": partial.astype(bool),
        },
        columns=COLUMNS,
    )
