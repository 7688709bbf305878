"""The overview: loaded territory vintages, incidents, load runs and sector counts.

Nothing here knows about Flask: a view turns the request into an
:class:`OverviewQuery` and calls :func:`overview` or :func:`table`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection

from compstat.errors import InvalidQueryError, NotFoundError
from compstat.queries import maps, territory
from compstat.queries.counts import CountsQuery, counts
from web.tables import Table

TABLES = ("territorio", "validacion", "incidentes", "cargas", "sectores")
LEVELS = ("zones", "regions", "sectors", "quadrants")
REPORT_NUMBERS = ("area_km2", "gaps", "gap_km2", "overlapping_pairs", "overlap_km2")
REPORT_LISTS = ("repaired_polygons", "id_sector_mismatches", "lowercase_zone_codes")
RUN_COLUMNS = (
    "id",
    "kind",
    "source",
    "file_name",
    "started_at",
    "finished_at",
    "n_read",
    "n_loaded",
    "n_duplicate",
    "n_quarantined",
)


@dataclass(frozen=True)
class OverviewQuery:
    """What the overview was asked for.

    Attributes
    ----------
    vintage : str or None
        Vintage of the sector counts and map; ``None`` picks the newest loaded.
    year : int or None
        Year of the sector counts; ``None`` picks the last full year with data.
    with_map : bool
        Also fetch the (simplified) sector shapes for the map.
    runs : int
        How many recent load runs to list.
    tolerance : float
        Simplification tolerance of the sector shapes, in degrees.
    """

    vintage: str | None = None
    year: int | None = None
    with_map: bool = False
    runs: int = 20
    tolerance: float = 0.0005

    @classmethod
    def from_args(cls, args: Mapping[str, str], **options: Any) -> OverviewQuery:
        """Build a query from request arguments (``vintage``, ``year``) and ``options``."""
        year = (args.get("year") or "").strip()
        if year and not (year.isdigit() and 1900 <= int(year) <= 2100):
            raise InvalidQueryError(f"year must be a four-digit year, not {year!r}")
        vintage = (args.get("vintage") or "").strip() or None
        return cls(vintage=vintage, year=int(year) if year else None, **options)


@dataclass
class Overview:
    """Everything the overview page shows.

    Attributes
    ----------
    vintages : list of str
        Names of the loaded vintages, oldest first.
    vintage : str or None
        The vintage of the sector counts and map (``None`` when nothing is loaded).
    year : int or None
        The year of the sector counts (``None`` when the vintage has no counts).
    full_year : bool
        Whether the loaded data cover all of ``year``.
    tables : dict of str to Table
        The tables, keyed by :data:`TABLES` names.
    shapes : list of dict
        Sector ``code``, ``name`` and ``geojson`` for the map (empty unless asked for).
    """

    vintages: list[str]
    vintage: str | None
    year: int | None
    full_year: bool
    tables: dict[str, Table]
    shapes: list[dict] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Return the JSON form: the parameters and every table's rows."""
        return {
            "vintages": self.vintages,
            "vintage": self.vintage,
            "year": self.year,
            "full_year": self.full_year,
            "tables": {n: t.as_json()["rows"] for n, t in self.tables.items()},
        }

    def sector_counts(self) -> dict[str, int]:
        """Return incidents per sector code in :attr:`year` (sectors without any left out)."""
        return {r["code"]: r["count"] for r in self.tables["sectores"].rows}


def choose_vintage(loaded: list[str], requested: str | None) -> str | None:
    """Return the requested vintage, or the newest loaded one when none is requested.

    Raises
    ------
    NotFoundError
        The requested vintage is not loaded.
    """
    if requested is None:
        return loaded[-1] if loaded else None
    if requested not in loaded:
        raise NotFoundError(f"vintage {requested!r} is not loaded")
    return requested


def last_full_year(first: date, last: date) -> tuple[int, bool]:
    """Return the last calendar year inside ``[first, last]``, or ``last``'s year if none.

    Returns
    -------
    year : int
    full : bool
        Whether ``[first, last]`` covers the whole of ``year``.
    """
    year = last.year if (last.month, last.day) == (12, 31) else last.year - 1
    if first <= date(year, 1, 1):
        return year, True
    return last.year, False


def choose_year(
    conn: Connection, vintage: str | None, requested: int | None
) -> tuple[int | None, bool]:
    """Return the year of the sector counts and whether the data cover all of it."""
    span = maps.count_span(conn, vintage) if vintage else None
    if span is None:
        return requested, False
    if requested is None:
        return last_full_year(*span)
    return requested, span[0] <= date(requested, 1, 1) and span[1] >= date(requested, 12, 31)


def territory_table(conn: Connection, rows: list[dict]) -> Table:
    """Return units per level of each loaded vintage, with its source file."""
    out = [
        {
            "vintage": r["name"],
            **territory.level_counts(conn, r["name"]),
            "source_file": r["source_file"],
            "source_crs": r["source_crs"],
            "loaded_at": r["loaded_at"],
        }
        for r in rows
    ]
    columns = ("vintage", *LEVELS, "source_file", "source_crs", "loaded_at")
    return Table("territorio", columns, out)


def _report_row(vintage: str, stored: dict) -> dict[str, Any]:
    report = stored.get("report") or {}
    renamed = report.get("sector_names_normalised") or {}
    return {
        "vintage": vintage,
        **{k: report.get(k) for k in REPORT_NUMBERS},
        **{k: list(report.get(k) or []) for k in REPORT_LISTS},
        "sector_names_normalised": [f"{a}→{b}" for a, b in renamed.items()],
        "crosswalk_pairs": stored.get("crosswalk_pairs"),
    }


def validation_table(rows: list[dict]) -> Table:
    """Return the highlights of each vintage's validation report."""
    columns = (
        "vintage",
        *REPORT_NUMBERS,
        *REPORT_LISTS,
        "sector_names_normalised",
        "crosswalk_pairs",
    )
    return Table("validacion", columns, [_report_row(r["name"], r["report"] or {}) for r in rows])


def incidents_table(conn: Connection) -> Table:
    """Return incidents loaded per source: count, date range and quarantined rows."""
    columns = ("source", "name", "incidents", "first", "last", "quarantined")
    return Table("incidentes", columns, territory.incident_totals(conn))


def runs_table(conn: Connection, limit: int) -> Table:
    """Return the most recent load runs, newest first."""
    return Table("cargas", RUN_COLUMNS, territory.load_runs(conn, limit))


def sectors_table(conn: Connection, vintage: str | None, year: int | None, full: bool) -> Table:
    """Return incidents per sector of ``vintage`` in ``year``, most first."""
    meta = {"vintage": vintage, "year": year, "full_year": full}
    table = Table("sectores", ("code", "name", "count"), meta=meta)
    if vintage is None or year is None:
        return table
    q = CountsQuery(
        vintage, level="sector", period="year", start=date(year, 1, 1), end=date(year, 12, 31)
    )
    frame = counts(conn, q)
    summed = frame.groupby(["unit_id", "unit_name"], as_index=False)["count"].sum()
    summed = summed.sort_values(["count", "unit_id"], ascending=[False, True])
    table.rows = [{"code": c, "name": n, "count": int(k)} for c, n, k in summed.itertuples(False)]
    return table


def overview(conn: Connection, q: OverviewQuery) -> Overview:
    """Return everything the overview page shows.

    Raises
    ------
    NotFoundError
        ``q.vintage`` is not loaded.
    """
    loaded = territory.vintages(conn)
    names = [r["name"] for r in loaded]
    vintage = choose_vintage(names, q.vintage)
    year, full = choose_year(conn, vintage, q.year)
    tables = [
        territory_table(conn, loaded),
        validation_table(loaded),
        incidents_table(conn),
        runs_table(conn, q.runs),
        sectors_table(conn, vintage, year, full),
    ]
    shapes = []
    if q.with_map and vintage:
        shapes = maps.sector_geojson(conn, vintage, q.tolerance)
    return Overview(names, vintage, year, full, {t.name: t for t in tables}, shapes)


def table(conn: Connection, name: str, q: OverviewQuery) -> Table:
    """Return one table of the overview by its :data:`TABLES` name.

    Raises
    ------
    NotFoundError
        Unknown table name, or ``q.vintage`` is not loaded.
    """
    if name not in TABLES:
        raise NotFoundError(f"no table named {name!r}; expected one of {TABLES}")
    if name == "incidentes":
        return incidents_table(conn)
    if name == "cargas":
        return runs_table(conn, q.runs)
    loaded = territory.vintages(conn)
    vintage = choose_vintage([r["name"] for r in loaded], q.vintage)
    if name == "sectores":
        return sectors_table(conn, vintage, *choose_year(conn, vintage, q.year))
    return territory_table(conn, loaded) if name == "territorio" else validation_table(loaded)
