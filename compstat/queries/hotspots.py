"""Hotspot map layers: a window's counts, rates, densities, changes, Gi* and a KDE surface.

Counts come from the vintage's count cube with the weekly table's own functions
(:mod:`compstat.queries.accountability`), so a unit's count on the map equals its count
in the weekly table for the same window, group and basis. Shapes are read once per
data version, simplified in PostGIS and kept apart from the numbers: switching a
window recomputes (and caches) only the numbers (:func:`layer_values`).

Statistics are the pure functions of :mod:`compstat.stats` and :mod:`geo`: Gi* with
queen contiguity between the level's units (conditional permutations, explicit count
and seed, FDR), emerging hot spots over the weeks ending with the window, and a
quartic kernel density of the window's incident points on a metric grid.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
from sqlalchemy import Connection, text

from compstat import bulk
from compstat import windows as win
from compstat.errors import InvalidQueryError
from compstat.groups import Group, group
from compstat.queries import accountability as acc
from compstat.queries import cube as cubes
from compstat.stats.change import change_flag, change_z, flag_labels, pct_change
from compstat.stats.emerging import emerging_hotspots
from compstat.stats.getis_ord import gi_star
from geo.grid import Grid, square_grid, study_area, to_lonlat, to_metric
from geo.kde import density
from geo.topology import Layer, topology
from geo.weights import queen_weights

LEVELS = cubes.LEVELS
BASES = cubes.BASES
WINDOWS = win.KINDS
MEASURES = ("count", "rate", "density")
#: Table holding each level's polygons (identifiers are never taken from user input).
_TABLES = {"zone": "zone", "region": "region", "sector": "sector", "quadrant": "quadrant"}
#: Simplification tolerance in degrees (about 20 m in Mexico City), GeoJSON decimals
#: (4: about 11 m) and the map topology's grid (10,000 steps over the city: about 5 m).
SIMPLIFY_DEGREES = 0.0002
GEOJSON_DECIMALS = 4
TOPOLOGY_QUANTIZATION = 10_000
#: Columns of the layer table, the CSV contract of ``compstat hotspots map``.
COLUMNS = [
    "vintage",
    "level",
    "unit_id",
    "unit_name",
    "parent_id",
    "group",
    "window",
    "start",
    "end",
    "count",
    "rate_per_100k",
    "density_km2",
    "previous",
    "previous_pct_change",
    "previous_z",
    "previous_flag",
    "year_ago",
    "year_ago_pct_change",
    "year_ago_z",
    "year_ago_flag",
    "gi_z",
    "gi_p",
    "gi_bin",
    "emerging",
    "population",
    "area_km2",
]
#: Columns that depend only on the unit and the query, not on the numbers.
STATIC_COLUMNS = ["vintage", "level", "unit_id", "unit_name", "parent_id", "group", "window"]
#: Columns fixed per unit whatever the window (sent once with the shapes).
STATIC_COLUMNS += ["population", "area_km2", "start", "end"]


@dataclass(frozen=True)
class HotspotQuery:
    """What a hotspot map is asked for.

    Attributes
    ----------
    vintage : str
    level : str
        One of :data:`LEVELS`.
    window : str
        ``week`` (Monday to ``as_of``), ``28d``, ``ytd`` or ``custom`` (``start``, ``end``).
    as_of : date or None
        Last day of the window; ``None`` means the last Sunday of the loaded data.
    start, end : date or None
        The days of a ``custom`` window.
    group : str
        Group or category code.
    basis : str
        One of :data:`BASES`.
    measure : str
        What the map shades: ``count``, ``rate`` or ``density``.
    gi_measure : str
        What Gi* is computed on (default ``density``: on raw counts, large quadrants
        look hot by their size alone).
    permutations, seed : int
        Gi* conditional permutations and their seed; 0 permutations means analytic
        p-values.
    emerging_weeks : int
        Weeks (ending with the window's last complete week) for emerging hot spots.
    """

    vintage: str
    level: str = "quadrant"
    window: str = "28d"
    as_of: date | None = None
    start: date | None = None
    end: date | None = None
    group: str = "alto_impacto"
    basis: str = "recorded"
    measure: str = "count"
    gi_measure: str = "density"
    permutations: int = 999
    seed: int = 12345
    emerging_weeks: int = 12

    def __post_init__(self) -> None:
        cubes.check_choice("level", self.level, LEVELS)
        cubes.check_choice("basis", self.basis, BASES)
        cubes.check_choice("window", self.window, WINDOWS)
        cubes.check_choice("measure", self.measure, MEASURES)
        cubes.check_choice("Gi* measure", self.gi_measure, MEASURES)
        if self.window == "custom" and (self.start is None or self.end is None):
            raise InvalidQueryError("a custom window needs --from and --to")
        if self.start and self.end and self.start > self.end:
            raise InvalidQueryError(f"the window starts {self.start} after it ends {self.end}")
        if self.permutations < 0 or self.emerging_weeks < 2:
            raise InvalidQueryError("permutations must be >= 0 and emerging weeks >= 2")


@dataclass
class HotspotLayer:
    """One map layer's numbers: a row per unit in :data:`COLUMNS` order, and its periods.

    Attributes
    ----------
    query : HotspotQuery
        The query with its defaults resolved (``as_of``).
    window, previous, year_ago : Window
        The displayed window and the periods it is compared with.
    rows : pandas.DataFrame
        One row per unit (natural code order), columns :data:`COLUMNS`.
    emerging_span : Window or None
        The weeks the emerging hot spots were computed over.
    notes : list of dict
        Periods loaded data do not cover (their counts are missing, never zero).
    """

    query: HotspotQuery
    window: win.Window
    previous: win.Window
    year_ago: win.Window
    rows: pd.DataFrame
    emerging_span: win.Window | None = None
    notes: list[dict] = field(default_factory=list)


def resolve_window(q: HotspotQuery, c: cubes.Cube) -> win.Window:
    """Return the query's window, ``as_of`` defaulting to the last complete loaded week."""
    if q.window == "custom":
        return win.custom(q.start, q.end)
    as_of = q.as_of or acc.default_as_of(c)
    if q.window == "week":
        return win.week_to_date(as_of)
    if q.window == "28d":
        return win.last_days(as_of, 28)
    return win.year_to_date(as_of)


def layer(conn: Connection, q: HotspotQuery) -> HotspotLayer:
    """Return the layer for ``q``, computed once per data version (read-only).

    Raises
    ------
    NotFoundError
        The vintage is not loaded.
    InvalidQueryError
        Unknown group, level, basis, window or measure.
    """
    return cubes.cached_table(conn, ("hotspot_layer", q), lambda: compute_layer(conn, q))


def compute_layer(conn: Connection, q: HotspotQuery) -> HotspotLayer:
    """Compute the layer for ``q`` (see :class:`HotspotLayer`), uncached."""
    g = group(q.group)
    c = cubes.cube(conn, q.vintage)
    window = resolve_window(q, c)
    q = replace(q, as_of=window.end)
    frame = cubes.units(c, q.level)
    counter = UnitCounter(c, frame, q.level, q.basis, g)
    comparisons = {"previous": win.previous_period(window), "year_ago": win.year_ago(window)}
    counts = {"count": counter(window)} | {k: counter(w) for k, w in comparisons.items()}
    notes = _notes({"current": window, **comparisons}, c, g)
    rows = _base_rows(q, frame, window, counts)
    weights = level_weights(conn, q.vintage, q.level, frame["unit_id"].tolist())
    values = rows[_MEASURE_COLUMN[q.gi_measure]].to_numpy(float, na_value=np.nan)
    rows = rows.assign(**_gi_columns(values, weights, q))
    span = emerging_span(window, q.emerging_weeks)
    key = ("hotspot_emerging", q.vintage, q.level, q.basis, q.group, span)
    rows["emerging"] = cubes.cached_table(
        conn, key, lambda: _emerging_column(counter, len(frame), weights, span)
    )
    return HotspotLayer(
        query=q,
        window=window,
        previous=comparisons["previous"],
        year_ago=comparisons["year_ago"],
        rows=rows[COLUMNS],
        emerging_span=span,
        notes=notes,
    )


_MEASURE_COLUMN = {"count": "count", "rate": "rate_per_100k", "density": "density_km2"}


class UnitCounter:
    """Counts a group's incidents per unit of a level in any window, from the cube.

    Uses the weekly table's own functions, so the numbers are the weekly table's.
    """

    def __init__(
        self, c: cubes.Cube, frame: pd.DataFrame, level: str, basis: str, g: Group
    ) -> None:
        self.cube, self.basis, self.group, self.units = c, basis, g, len(frame)
        self.lookup = acc.slot_lookup(c, frame, level, outside=False)
        self.matrix = acc.group_matrix(c, [g])

    def __call__(self, window: win.Window) -> np.ndarray:
        """Return incidents per unit in ``window``; NaN everywhere when data do not cover it."""
        return self.periods(window, 1)[:, 0]

    def periods(self, span: win.Window, periods: int) -> np.ndarray:
        """Return units x ``periods`` counts over ``span`` cut into equal periods.

        NaN everywhere when the data do not cover the whole span.
        """
        if acc.coverage(self.cube, span, [self.group])[0]:
            return np.full((self.units, periods), np.nan)
        counts = acc.period_counts(
            self.cube, self.basis, span, periods, self.lookup, self.units, self.matrix
        )
        return counts[:, :, 0]


def unit_counts(
    c: cubes.Cube, frame: pd.DataFrame, level: str, basis: str, window: win.Window, g: Group
) -> np.ndarray:
    """Return the group's incidents per unit of ``frame`` in ``window`` (NaN: not covered)."""
    return UnitCounter(c, frame, level, basis, g)(window)


def _notes(periods: dict[str, win.Window], c: cubes.Cube, g: Group) -> list[dict]:
    notes = []
    for period, w in periods.items():
        reason = acc.coverage(c, w, [g])[0]
        if reason:
            notes.append({"code": reason, "period": period, "start": w.start, "end": w.end})
    return notes


def _base_rows(
    q: HotspotQuery, frame: pd.DataFrame, window: win.Window, counts: dict[str, np.ndarray]
) -> pd.DataFrame:
    current = counts["count"]
    population = frame["population"].to_numpy(float)
    area = frame["area_km2"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(population > 0, current / population * 100_000, np.nan)
        per_km2 = np.where(area > 0, current / area, np.nan)
    columns = {
        "vintage": q.vintage,
        "level": q.level,
        "unit_id": frame["unit_id"].array,
        "unit_name": frame["unit_name"].array,
        "parent_id": frame["parent_id"].array,
        "group": q.group,
        "window": q.window,
        "start": window.start,
        "end": window.end,
        "count": _whole(current),
        "rate_per_100k": np.round(rate, 2),
        "density_km2": np.round(per_km2, 3),
        "population": _whole(population),
        "area_km2": np.round(area, 4),
    }
    for period in ("previous", "year_ago"):
        z = change_z(current, counts[period])
        columns[period] = _whole(counts[period])
        columns[f"{period}_pct_change"] = np.round(pct_change(current, counts[period]), 1)
        columns[f"{period}_z"] = np.round(z, 3)
        columns[f"{period}_flag"] = flag_labels(change_flag(z))
    return pd.DataFrame(columns)


def _whole(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Return whole numbers as nullable integers (NaN, e.g. a period without data, as missing)."""
    return pd.array(np.round(values), dtype="Int64")


def _gi_columns(values: np.ndarray, weights, q: HotspotQuery) -> dict[str, np.ndarray]:
    """Return Gi* z-score, p-value (pseudo, or analytic without permutations) and bin per unit.

    Units without a value (no population for a rate) count as 0; a window without
    data gets no Gi* at all (NaN z and p, bin 0).
    """
    n = len(values)
    if n < 3 or np.isnan(values).all():
        return {"gi_z": np.full(n, np.nan), "gi_p": np.full(n, np.nan), "gi_bin": np.zeros(n, int)}
    result = gi_star(np.nan_to_num(values), weights, permutations=q.permutations, seed=q.seed)
    p = result.p_sim if result.p_sim is not None else result.p_norm
    return {"gi_z": np.round(result.z, 3), "gi_p": np.round(p, 4), "gi_bin": result.bins("fdr")}


def emerging_span(window: win.Window, weeks: int) -> win.Window:
    """Return the ``weeks`` complete Monday-to-Sunday weeks ending on or before the window's end."""
    last = win.last_complete_sunday(window.end)
    return win.custom(last - timedelta(days=7 * weeks - 1), last)


def weekly_counts(counter: UnitCounter, span: win.Window) -> np.ndarray:
    """Return units x weeks counts over ``span`` (whole weeks, oldest first).

    NaN everywhere unless the data cover every week.
    """
    return counter.periods(span, span.days // 7)


def _emerging_column(counter: UnitCounter, n_units: int, weights, span: win.Window) -> list:
    """Return each unit's emerging hot spot category, None when some week lacks data."""
    counts = weekly_counts(counter, span)
    if np.isnan(counts).any() or n_units < 3:
        return [None] * n_units
    return list(emerging_hotspots(counts, weights))


# -- shapes ------------------------------------------------------------------------------

_SHAPES = (
    "SELECT u.code AS unit_id, ST_AsGeoJSON(ST_SimplifyPreserveTopology(u.geom, :tolerance), "
    ":decimals) AS geojson FROM {table} u JOIN territory_vintage v ON v.id = u.vintage_id "
    "WHERE v.name = :vintage"
)
_POLYGONS = (
    "SELECT u.code AS unit_id, ST_AsBinary(u.geom) AS wkb FROM {table} u "
    "JOIN territory_vintage v ON v.id = u.vintage_id WHERE v.name = :vintage"
)


def simplified_shapes(
    conn: Connection, vintage: str, level: str, tolerance: float = SIMPLIFY_DEGREES
) -> dict[str, dict]:
    """Return each unit's simplified GeoJSON geometry (WGS 84, 4 decimals), cached."""
    cubes.check_choice("level", level, LEVELS)

    def compute() -> dict[str, dict]:
        sql = text(_SHAPES.format(table=_TABLES[level]))
        params = {"tolerance": tolerance, "decimals": GEOJSON_DECIMALS, "vintage": vintage}
        rows = conn.execute(sql, params).all()
        return {code: json.loads(geojson) for code, geojson in rows}

    return cubes.cached_table(conn, ("hotspot_shapes", vintage, level, tolerance), compute)


def polygons(conn: Connection, vintage: str, level: str) -> gpd.GeoDataFrame:
    """Return the level's full polygons (``unit_id``, EPSG:4326), cached per data version."""
    cubes.check_choice("level", level, LEVELS)

    def compute() -> gpd.GeoDataFrame:
        rows = conn.execute(text(_POLYGONS.format(table=_TABLES[level])), {"vintage": vintage})
        frame = pd.DataFrame(rows.all(), columns=["unit_id", "wkb"])
        geometry = shapely.from_wkb(frame["wkb"].map(bytes).to_numpy())
        return gpd.GeoDataFrame({"unit_id": frame["unit_id"]}, geometry=geometry, crs=4326)

    return cubes.cached_table(conn, ("hotspot_polygons", vintage, level), compute)


def level_weights(conn: Connection, vintage: str, level: str, unit_ids: list[str]):
    """Return queen contiguity between the level's units, in the order of ``unit_ids``."""

    def compute():
        shapes = polygons(conn, vintage, level).set_index("unit_id").loc[unit_ids]
        return queen_weights(gpd.GeoSeries(shapes.geometry, crs=4326))

    return cubes.cached_table(conn, ("hotspot_weights", vintage, level, tuple(unit_ids)), compute)


# -- kernel density ----------------------------------------------------------------------

_POINTS = (
    "SELECT ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, "
    "(i.occurred_date - DATE '1970-01-01') AS day, i.category_id AS category "
    "FROM incident i JOIN assignment_with_method m ON m.incident_id = i.id "
    "WHERE m.vintage_id = %s AND i.geom IS NOT NULL AND m.spatial_quadrant_id IS NOT NULL "
    "AND i.retired_run_id IS NULL "
    "ORDER BY i.occurred_date"
)
_POINT_TYPES = {"lon": pa.float64(), "lat": pa.float64(), "day": pa.int32(), "category": pa.int16()}


@dataclass(frozen=True)
class Points:
    """A vintage's located incidents inside its quadrants, sorted by day.

    Attributes
    ----------
    x, y : numpy.ndarray
        EPSG:32614 metres.
    day : numpy.ndarray
        Days since 1970-01-01, ascending.
    category : numpy.ndarray
        Category id.
    """

    x: np.ndarray
    y: np.ndarray
    day: np.ndarray
    category: np.ndarray

    def select(self, start: date, end: date, category_ids: list[int]) -> np.ndarray:
        """Return the positions of the points of some categories in ``[start, end]``."""
        lo, hi = np.searchsorted(self.day, cubes.day_bounds(start, end, self.day.dtype))
        return lo + np.flatnonzero(np.isin(self.category[lo:hi], category_ids))

    def between(self, start: date, end: date, category_ids: list[int]) -> np.ndarray:
        """Return the ``(n, 2)`` metric points of some categories in ``[start, end]``."""
        at = self.select(start, end, category_ids)
        return np.column_stack([self.x[at], self.y[at]])


def incident_points(conn: Connection, vintage: str) -> Points:
    """Return the vintage's located incidents inside its quadrants, cached per data version.

    An incident is kept when its point lies in one of the vintage's quadrants (the
    spatial basis of ``assignment_with_method``): the surface shows where incidents
    happened, whatever quadrant a source recorded.
    """

    def compute() -> Points:
        raw = bulk.copy_out_text(conn, _POINTS, (cubes.vintage_id(conn, vintage),))
        options = pacsv.ConvertOptions(column_types=_POINT_TYPES)
        table = pacsv.read_csv(io.BytesIO(raw), convert_options=options)
        x, y = to_metric(table.column("lon").to_numpy(), table.column("lat").to_numpy())
        day = table.column("day").to_numpy()
        return Points(np.asarray(x), np.asarray(y), day, table.column("category").to_numpy())

    return cubes.cached_table(conn, ("hotspot_points", vintage), compute)


#: The most incident points the map draws for one window (a year of every offence is
#: 200,000): above it the layer says how many there are and draws none.
MAX_MAP_POINTS = 50_000


def window_points(conn: Connection, q: HotspotQuery, limit: int = MAX_MAP_POINTS) -> dict:
    """Return the window's incident points of the group, column-wise, for the map.

    ``{"window": {"start", "end"}, "total", "drawn", "categories": [{"code", "name_es",
    "name_en"}], "lon", "lat" (5 decimals, about 1 m), "category" (index into
    ``categories``), "day" (days after the window's start)}``; the points are those of
    :func:`incident_points` (inside the vintage's quadrants). Over ``limit`` points,
    none are sent (``drawn`` is 0) and ``total`` says how many there are.
    """
    c = cubes.cube(conn, q.vintage)
    window = resolve_window(q, c)
    points = incident_points(conn, q.vintage)
    at = points.select(window.start, window.end, group_category_ids(c, group(q.group)))
    drawn = at if len(at) <= limit else at[:0]
    lon, lat = to_lonlat(points.x[drawn], points.y[drawn])
    codes, index = np.unique(points.category[drawn], return_inverse=True)
    return {
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "total": len(at),
        "drawn": len(drawn),
        "categories": _category_names(conn, codes.tolist()),
        "lon": np.round(lon, 5).tolist(),
        "lat": np.round(lat, 5).tolist(),
        "category": index.tolist(),
        "day": (points.day[drawn] - cubes.day_number(window.start)).tolist(),
    }


def _category_names(conn: Connection, ids: list[int]) -> list[dict[str, str]]:
    """Return code and names of the categories ``ids``, in that order."""
    sql = text("SELECT id, code, name_es, name_en FROM category WHERE id = ANY(:ids)")
    rows = {r.id: r for r in conn.execute(sql, {"ids": ids})}
    return [
        {"code": rows[i].code, "name_es": rows[i].name_es, "name_en": rows[i].name_en} for i in ids
    ]


def group_category_ids(c: cubes.Cube, g: Group) -> list[int]:
    """Return the ids of the group's categories known to the database."""
    return [c.category_ids[code] for code in g.categories if code in c.category_ids]


def vintage_grid(conn: Connection, vintage: str, cell_size: float, rule: str = "clip") -> Grid:
    """Return the square grid over the union of the vintage's quadrants, cached."""

    def compute() -> Grid:
        return square_grid(study_area(polygons(conn, vintage, "quadrant")), cell_size, rule=rule)

    return cubes.cached_table(conn, ("hotspot_grid", vintage, cell_size, rule), compute)


@dataclass(frozen=True)
class KdeSurface:
    """A kernel density surface on a grid: incidents per km² at each cell centre."""

    grid: Grid
    density: np.ndarray
    bandwidth: float
    points: int
    window: win.Window


def kde_surface(
    conn: Connection, q: HotspotQuery, *, cell_size: float = 250.0, bandwidth: float = 250.0
) -> KdeSurface:
    """Return the quartic KDE of the window's incident points of the group, cached.

    The bandwidth (search radius) defaults to 250 m, the street scale of patrols
    (``docs/hotspots.md``); the grid clips 250 m cells to the quadrants' union.
    """

    def compute() -> KdeSurface:
        c = cubes.cube(conn, q.vintage)
        window = resolve_window(q, c)
        ids = group_category_ids(c, group(q.group))
        points = incident_points(conn, q.vintage).between(window.start, window.end, ids)
        grid = vintage_grid(conn, q.vintage, cell_size)
        surface = density(points, grid.centres, bandwidth)
        return KdeSurface(grid, surface, bandwidth, len(points), window)

    key = ("hotspot_kde", q, cell_size, bandwidth)
    return cubes.cached_table(conn, key, compute)


def kde_geojson(surface: KdeSurface, min_share: float = 0.01) -> dict:
    """Return the surface's cells above ``min_share`` of its peak as a GeoJSON FeatureCollection."""
    peak = float(surface.density.max(initial=0.0))
    keep = np.flatnonzero(surface.density > min_share * peak) if peak > 0 else np.array([], int)
    cells = gpd.GeoSeries(surface.grid.geometry[keep], crs=32614).to_crs(4326)
    features = [
        {
            "type": "Feature",
            "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-5))),
            "properties": {"cell_id": int(cid), "density_km2": round(float(value), 2)},
        }
        for geom, cid, value in zip(
            cells.values, surface.grid.cell_ids[keep], surface.density[keep], strict=True
        )
    ]
    return {"type": "FeatureCollection", "features": features}


# -- outputs -----------------------------------------------------------------------------


def _records(frame: pd.DataFrame) -> list[dict]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
        for row in clean.to_dict("records")
    ]


def layer_frame(result: HotspotLayer) -> pd.DataFrame:
    """Return the displayed layer as a table (columns :data:`COLUMNS`), ready for CSV."""
    return result.rows.copy()


#: Columns that change with the window, group or measure: what a window switch sends.
VALUE_COLUMNS = [c for c in COLUMNS if c not in STATIC_COLUMNS]
#: Columns of words that :func:`layer_values` sends as codes (:func:`coded`): the same few
#: words 847 times would be a fifth of a window's JSON.
CODED_COLUMNS = ("previous_flag", "year_ago_flag", "emerging")


def layer_values(conn: Connection, q: HotspotQuery) -> dict:
    """Return the layer's numbers without shapes, column-wise: the JSON a window switch sends.

    ``{"window", "previous", "year_ago": {"start", "end"}, "emerging_span", "notes",
    "unit_ids": [...], "columns": {name: [value per unit]}}``, with the columns of
    :data:`VALUE_COLUMNS` in the order of ``unit_ids`` (the order of the shapes); those of
    :data:`CODED_COLUMNS` as :func:`coded` words.
    """
    result = layer(conn, q)
    periods = {
        name: None if w is None else {"start": w.start.isoformat(), "end": w.end.isoformat()}
        for name, w in (
            ("window", result.window),
            ("previous", result.previous),
            ("year_ago", result.year_ago),
            ("emerging_span", result.emerging_span),
        )
    }
    columns = {
        name: result.rows[name].to_numpy(dtype=object, na_value=None).tolist()
        for name in VALUE_COLUMNS
    }
    return {
        **periods,
        "notes": _records(pd.DataFrame(result.notes)) if result.notes else [],
        "unit_ids": result.rows["unit_id"].tolist(),
        "columns": {
            name: coded(column) if name in CODED_COLUMNS else column
            for name, column in columns.items()
        },
    }


def coded(values: list[str | None]) -> dict[str, list]:
    """Return words as ``{"levels": [each distinct word], "codes": [its index or None]}``."""
    levels = sorted({v for v in values if v is not None})
    index = {word: i for i, word in enumerate(levels)}
    return {"levels": levels, "codes": [None if v is None else index[v] for v in values]}


def shapes_topology(conn: Connection, vintage: str, level: str, outline: str | None) -> dict:
    """Return the level's shapes as a TopoJSON topology, cached per data version.

    Object ``units`` holds the level's units in the order of
    :func:`compstat.queries.cube.units` (``id`` the unit, ``properties.name`` where the
    name is not the code); object ``outlines``, when ``outline`` names a level, that
    level's units, drawn over them for orientation (sharing their arcs). Arcs are
    simplified once (:data:`SIMPLIFY_DEGREES`), so neighbours stay aligned, and quantised
    on a :data:`TOPOLOGY_QUANTIZATION` grid (:mod:`geo.topology`).
    """
    cubes.check_choice("level", level, LEVELS)

    def compute() -> dict:
        layers = {"units": _topology_layer(conn, vintage, level)}
        if outline is not None:
            layers["outlines"] = _topology_layer(conn, vintage, outline)
        return topology(layers, quantization=TOPOLOGY_QUANTIZATION, tolerance=SIMPLIFY_DEGREES)

    return cubes.cached_table(conn, ("hotspot_topology", vintage, level, outline), compute)


def _topology_layer(conn: Connection, vintage: str, level: str) -> Layer:
    frame = cubes.units(cubes.cube(conn, vintage), level)
    shapes = polygons(conn, vintage, level).set_index("unit_id").geometry
    ids = frame["unit_id"].tolist()
    names = [
        None if name == unit else {"name": name}
        for unit, name in zip(ids, frame["unit_name"], strict=True)
    ]
    return Layer([shapes.get(unit) for unit in ids], ids, names)


def unit_facts(conn: Connection, vintage: str, level: str) -> dict[str, list]:
    """Return the units' fixed facts column-wise.

    ``{"unit_ids", "parent_id", "population", "area_km2"}``, in the order of the shapes.
    """
    frame = cubes.units(cubes.cube(conn, vintage), level)
    return {
        "unit_ids": frame["unit_id"].tolist(),
        "parent_id": frame["parent_id"].tolist(),
        "population": [None if pd.isna(v) else int(v) for v in frame["population"]],
        "area_km2": frame["area_km2"].astype(float).round(4).tolist(),
    }


def shapes_json(conn: Connection, vintage: str, level: str, outline: str | None) -> bytes:
    """Return :func:`shapes_topology` as compact UTF-8 JSON, written once per data version.

    A first map of each vintage and level sends it; writing its hundred thousand
    numbers anew for every map would cost more than computing the window's numbers.
    """

    def compute() -> bytes:
        topology = shapes_topology(conn, vintage, level, outline)
        return json.dumps(topology, ensure_ascii=False, separators=(",", ":")).encode()

    return cubes.cached_table(conn, ("hotspot_topology_json", vintage, level, outline), compute)


def layer_geojson(conn: Connection, q: HotspotQuery) -> dict:
    """Return the displayed layer as a GeoJSON FeatureCollection (simplified shapes, numbers)."""
    result = layer(conn, q)
    shapes = simplified_shapes(conn, q.vintage, q.level)
    features = [
        {"type": "Feature", "geometry": shapes.get(row["unit_id"]), "properties": row}
        for row in _records(result.rows)
    ]
    return {
        "type": "FeatureCollection",
        "properties": {
            "window": {
                "start": result.window.start.isoformat(),
                "end": result.window.end.isoformat(),
            },
            "notes": _records(pd.DataFrame(result.notes)) if result.notes else [],
        },
        "features": features,
    }
