"""A vintage's daily counts and territory held in memory, cached per data version.

Loads are the only writers of counts and territory, and each one adds a ``load_run``
row, so the data version is the newest load run (and the newest roster). A reader
checks it with one cheap query and reuses the arrays it built for that version: the
weekly table then sums a few slices of sorted arrays instead of scanning tables. A
new load changes the version and the next read rebuilds from ``daily_count``.
"""

from __future__ import annotations

import io
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection, text

from compstat import bulk
from compstat.errors import InvalidQueryError, NotFoundError

LEVELS = ("zone", "region", "sector", "quadrant")
BASES = ("recorded", "spatial", "source")
OUTSIDE_ID = "FUERA"
OUTSIDE_NAME = "Sin cuadrante / fuera"
CITY_ID = "CDMX"
CITY_NAME = "Ciudad de México"
EPOCH = np.datetime64("1970-01-01", "D")
T = TypeVar("T")

# The database's oid changes when a database of the same name is dropped and created again
# (as the tests' module databases are), so a cached table never outlives its database.
_VERSION = """
SELECT (SELECT oid FROM pg_database WHERE datname = current_database()),
       (SELECT coalesce(max(id), 0) FROM load_run),
       (SELECT count(*) FROM load_run),
       (SELECT coalesce(max(finished_at)::text, '') FROM load_run),
       (SELECT coalesce(max(loaded_at)::text, '') || count(*) FROM commander)
"""

_COUNTS = (
    "SELECT (day - DATE '1970-01-01') AS day, coalesce(quadrant_id, -1) AS quadrant, "
    "category_id AS category, n_recorded AS recorded, n_spatial AS spatial, n_source AS source "
    "FROM daily_count WHERE vintage_id = %s ORDER BY day"
)
_COUNT_TYPES = {
    "day": pa.int32(),
    "quadrant": pa.int32(),
    "category": pa.int16(),
    "recorded": pa.int32(),
    "spatial": pa.int32(),
    "source": pa.int32(),
}

_UNITS = """
SELECT q.id AS quadrant_id, q.code AS quadrant, q.code AS quadrant_name,
       q.population AS quadrant_population, q.area_km2 AS quadrant_area,
       s.code AS sector, s.name AS sector_name, s.population AS sector_population,
       s.area_km2 AS sector_area,
       r.code AS region, r.name AS region_name, r.population AS region_population,
       r.area_km2 AS region_area,
       z.code AS zone, z.name AS zone_name, z.population AS zone_population,
       z.area_km2 AS zone_area
FROM quadrant q
JOIN sector s ON s.id = q.sector_id
JOIN region r ON r.id = s.region_id
JOIN zone z ON z.id = r.zone_id
WHERE q.vintage_id = :vintage_id
"""
_SPANS = """
SELECT s.code, s.name, s.high_impact_only, min(i.occurred_date) AS first,
       max(i.occurred_date) AS last
FROM source s JOIN incident i ON i.source_id = s.id
WHERE i.retired_run_id IS NULL
GROUP BY s.id ORDER BY min(i.occurred_date)
"""


def data_version(conn: Connection) -> tuple:
    """Return a value that changes whenever a load or a roster changes what reads return.

    It names the database itself (its oid), so a database dropped and created again
    under the same name never meets the arrays cached for the old one. It is read once
    per transaction: a request's cached tables all belong to one version, and a map's
    half-dozen cache lookups cost one round trip.
    """
    transaction = conn.get_transaction()
    seen = conn.info.get(_VERSION_SEEN)
    if transaction is not None and seen is not None and seen[0] is transaction:
        return seen[1]
    version = tuple(conn.execute(text(_VERSION)).one())
    if transaction is None:
        transaction = conn.get_transaction()  # begun by the statement above
    conn.info[_VERSION_SEEN] = (transaction, version)
    return version


#: Where :func:`data_version` keeps the version read in the connection's transaction.
_VERSION_SEEN = "compstat_data_version"


def natural_key(code: str) -> tuple:
    """Return a sort key that orders ``C-1.10`` after ``C-1.9``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", code))


@dataclass(frozen=True)
class SourceSpan:
    """The days a source's loaded incidents cover."""

    code: str
    name: str
    high_impact_only: bool
    first: date
    last: date

    def overlap_days(self, start: date, end: date) -> int:
        """Return how many days of ``[start, end]`` the source covers."""
        return max(0, (min(end, self.last) - max(start, self.first)).days + 1)


@dataclass(frozen=True)
class Cube:
    """One vintage's counts (rows sorted by day) and territory.

    Attributes
    ----------
    vintage : str
    day : numpy.ndarray
        Days since 1970-01-01, ascending.
    quadrant : numpy.ndarray
        Quadrant id, -1 outside every quadrant.
    category : numpy.ndarray
        Category id.
    counts : dict of str to numpy.ndarray
        Incidents per row on each basis of :data:`BASES`.
    territory : pandas.DataFrame
        One row per quadrant with its sector, region and zone codes, names,
        populations and areas.
    spans : list of SourceSpan
        Loaded sources and the days they cover, oldest first.
    category_ids : dict of str to int
        Category id of each category code.
    """

    vintage: str
    day: np.ndarray
    quadrant: np.ndarray
    category: np.ndarray
    counts: dict[str, np.ndarray]
    territory: pd.DataFrame
    spans: list[SourceSpan]
    category_ids: dict[str, int]
    #: Tables derived from the cube alone (:func:`derived`), built on first use: a cube
    #: never changes.
    derived_tables: dict[tuple, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def last_day(self) -> date | None:
        """Return the last day with counts, or None when there are none."""
        return None if not len(self.day) else to_date(self.day[-1])

    @property
    def first_day(self) -> date | None:
        """Return the first day with counts, or None when there are none."""
        return None if not len(self.day) else to_date(self.day[0])

    def rows_between(self, start: date, end: date) -> slice:
        """Return the slice of rows whose day lies in ``[start, end]``."""
        lo, hi = np.searchsorted(self.day, day_bounds(start, end, self.day.dtype))
        return slice(int(lo), int(hi))

    def covered_days(self, start: date, end: date) -> int:
        """Return how many days of ``[start, end]`` some loaded source covers."""
        return sum(span.overlap_days(start, end) for span in self.spans)

    def sources_in(self, start: date, end: date) -> list[SourceSpan]:
        """Return the sources that cover some day of ``[start, end]``."""
        return [span for span in self.spans if span.overlap_days(start, end)]


def day_number(day: date) -> int:
    """Return days since 1970-01-01."""
    return int((np.datetime64(day, "D") - EPOCH).astype(np.int64))


def day_bounds(start: date, end: date, dtype: np.dtype) -> np.ndarray:
    """Return ``[start, end + 1)`` as day numbers of ``dtype``, for :func:`numpy.searchsorted`.

    Of the haystack's own type: a wider needle would make NumPy copy the whole haystack.
    """
    return np.array([day_number(start), day_number(end) + 1], dtype=dtype)


def to_date(number: int) -> date:
    """Return the date ``number`` days after 1970-01-01."""
    return (EPOCH + np.timedelta64(int(number), "D")).astype(object)


_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[tuple, Cube]] = {}


def vintage_id(conn: Connection, vintage: str) -> int:
    """Return a loaded vintage's id.

    Raises
    ------
    NotFoundError
        No vintage of that name is loaded.
    """
    found = conn.execute(text("SELECT id FROM territory_vintage WHERE name = :v"), {"v": vintage})
    row = found.first()
    if row is None:
        raise NotFoundError(f"vintage {vintage!r} is not loaded")
    return int(row[0])


def cube(conn: Connection, vintage: str) -> Cube:
    """Return the vintage's cube for the current data version, building it when stale."""
    key = (conn.engine.url.render_as_string(hide_password=True), vintage)
    version = data_version(conn)
    with _lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    built = build_cube(conn, vintage)
    with _lock:
        _cache[key] = (version, built)
    return built


def clear_cache() -> None:
    """Forget every cached cube and table (benchmarks measure cold reads with it)."""
    with _lock:
        _cache.clear()
        _tables.clear()


#: Computed tables kept per data version, newest last (least recently used first out).
TABLE_CACHE_SIZE = 128
_tables: OrderedDict[tuple, object] = OrderedDict()


def cached_table(conn: Connection, key: tuple, compute: Callable[[], T]) -> T:
    """Return ``compute()``, reused for the same ``key`` while the data version holds.

    Callers must treat the returned value as read-only: later requests share it.
    """
    full_key = (conn.engine.url.render_as_string(hide_password=True), data_version(conn), key)
    with _lock:
        if full_key in _tables:
            _tables.move_to_end(full_key)
            return _tables[full_key]  # type: ignore[return-value]
    value = compute()
    with _lock:
        _tables[full_key] = value
        while len(_tables) > TABLE_CACHE_SIZE:
            _tables.popitem(last=False)
    return value


def build_cube(conn: Connection, vintage: str) -> Cube:
    """Read a vintage's counts, territory and source spans from the database."""
    vid = vintage_id(conn, vintage)
    raw = bulk.copy_out_text(conn, _COUNTS, (vid,))
    options = pacsv.ConvertOptions(column_types=_COUNT_TYPES)
    table = pacsv.read_csv(io.BytesIO(raw), convert_options=options)
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    territory = pd.DataFrame(conn.execute(text(_UNITS), {"vintage_id": vid}).mappings().all())
    spans = [SourceSpan(**row) for row in conn.execute(text(_SPANS)).mappings().all()]
    return Cube(
        vintage=vintage,
        day=columns["day"],
        quadrant=columns["quadrant"],
        category=columns["category"],
        counts={basis: columns[basis] for basis in BASES},
        territory=territory,
        spans=spans,
        category_ids=dict(conn.execute(text("SELECT code, id FROM category")).all()),
    )


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    """Raise InvalidQueryError naming ``name`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise InvalidQueryError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


def units(c: Cube, level: str) -> pd.DataFrame:
    """Return the units of a level, in natural code order (built once per cube; read-only).

    The columns are ``unit_id``, ``unit_name``, ``parent_id``, ``population``,
    ``area_km2`` and the code of every level above.
    """
    check_choice("level", level, LEVELS)
    return derived(c, ("units", level), lambda: _units(c, level))


def derived(c: Cube, key: tuple, compute: Callable[[], T]) -> T:
    """Return ``compute()``, kept with the cube: it depends on the cube alone (read-only)."""
    if key not in c.derived_tables:
        c.derived_tables[key] = compute()
    return c.derived_tables[key]  # type: ignore[return-value]


def _units(c: Cube, level: str) -> pd.DataFrame:
    above = LEVELS[: LEVELS.index(level)]
    parent = above[-1] if above else None
    t = c.territory
    frame = pd.DataFrame(
        {
            "unit_id": t[level],
            "unit_name": t[f"{level}_name"],
            "parent_id": t[parent] if parent else CITY_ID,
            "population": t[f"{level}_population"],
            "area_km2": t[f"{level}_area"],
            **{name: t[name] for name in above},
        }
    ).drop_duplicates("unit_id")
    order = sorted(range(len(frame)), key=lambda i: natural_key(frame["unit_id"].iloc[i]))
    return frame.iloc[order].reset_index(drop=True)


def find_unit(c: Cube, unit_id: str) -> tuple[str, str]:
    """Return the level and name of a unit id of any level.

    Raises
    ------
    NotFoundError
        No unit of the vintage has that id.
    """
    if unit_id == CITY_ID:
        return "city", CITY_NAME
    if unit_id == OUTSIDE_ID:
        return "outside", OUTSIDE_NAME
    for level in LEVELS:
        match = c.territory.loc[c.territory[level] == unit_id, f"{level}_name"]
        if len(match):
            return level, str(match.iloc[0])
    raise NotFoundError(f"no unit {unit_id!r} in vintage {c.vintage}")


def quadrants_of(c: Cube, unit_id: str) -> np.ndarray:
    """Return the quadrant ids inside a unit of any level (``[-1]`` for FUERA)."""
    level, _ = find_unit(c, unit_id)
    if level == "city":
        return np.append(c.territory["quadrant_id"].to_numpy(np.int32), -1)
    if level == "outside":
        return np.array([-1], np.int32)
    return c.territory.loc[c.territory[level] == unit_id, "quadrant_id"].to_numpy(np.int32)
