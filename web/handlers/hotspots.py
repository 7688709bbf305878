"""The hotspot map (``/mapa``): its page, the JSON a window switch fetches, downloads, methods.

The page holds no numbers: the browser fetches the shapes once per vintage and level
(:func:`map_data` with ``shapes``) and, for each window, group or basis, only the
numbers (:func:`compstat.queries.hotspots.layer_values`), with each unit's commander.
Counts are the weekly table's (the layer reads the same count cube with the same
functions). Nothing here knows about Flask.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from compstat.errors import InvalidQueryError
from compstat.groups import HIGH_IMPACT, Group, group, groups
from compstat.queries import cube as cubes
from compstat.queries import hotspots as hs
from compstat.queries import reporting_places as rp
from compstat.queries.hotspot_evaluation import DEFAULT_METHOD
from compstat.queries.roster import commander_labels
from web.handlers.args import choice, date_arg, list_arg, resolve_vintage, text_arg

LEVELS = hs.LEVELS
BASES = hs.BASES
WINDOWS = hs.WINDOWS
#: What the map shades: the layer's measures and the change against the two comparisons.
MEASURES = (*hs.MEASURES, "change_previous", "change_year_ago", "emerging")
#: Map overlays a user can switch on (``gi``: Gi* hot and cold spots; ``kde``: density;
#: ``points``: the incidents, clustered; ``places``: reporting places).
LAYERS = ("gi", "kde", "points", "places")
#: Overlays finer than a quadrant: only for the roles that see points.
POINT_LAYERS = ("kde", "points", "places")
#: Days of the reporting places' span, ending with the window (they need a year of data).
PLACES_DAYS = 365
#: The level whose outlines are drawn under every other level, for orientation.
OUTLINE_LEVEL = "zone"
#: Density cells below this share of the peak are not sent (the map's lightest class starts there).
KDE_MIN_SHARE = 0.03


@dataclass(frozen=True)
class MapRequest:
    """What the map was asked for: the whole view state of its URL.

    Attributes
    ----------
    vintage : str or None
        ``None``: the newest loaded.
    level, window, group, basis, measure : str
        Choices of :data:`LEVELS`, :data:`WINDOWS`, group codes, :data:`BASES`, :data:`MEASURES`.
    as_of : date or None
        Last day of a ``week``, ``28d`` or ``ytd`` window (``None``: the last loaded Sunday).
    start, end : date or None
        The days of a ``custom`` window.
    layers : tuple of str
        Overlays switched on (:data:`LAYERS`).
    """

    vintage: str | None = None
    level: str = "quadrant"
    window: str = "28d"
    as_of: date | None = None
    start: date | None = None
    end: date | None = None
    group: str = HIGH_IMPACT
    basis: str = "recorded"
    measure: str = "count"
    layers: tuple[str, ...] = field(default=("gi",))

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> MapRequest:
        """Build a request from URL arguments, checked (``InvalidQueryError`` if bad)."""
        code = text_arg(args, "group") or HIGH_IMPACT
        group(code)
        window = choice(args, "window", WINDOWS, "28d")
        start, end = date_arg(args, "from"), date_arg(args, "to")
        if window == "custom" and (start is None or end is None):
            raise InvalidQueryError("a custom window needs from and to (YYYY-MM-DD)")
        if start and end and start > end:
            raise InvalidQueryError(f"the window starts {start} after it ends {end}")
        # absent: the default overlays; present but empty (``layers=``): none
        layers = list_arg(args, "layers") if "layers" in args else ("gi",)
        unknown = [name for name in layers if name not in LAYERS]
        if unknown:
            raise InvalidQueryError(f"layers must be among {LAYERS}, not {unknown}")
        return cls(
            vintage=text_arg(args, "vintage"),
            level=choice(args, "level", LEVELS, "quadrant"),
            window=window,
            as_of=date_arg(args, "as_of"),
            start=start if window == "custom" else None,
            end=end if window == "custom" else None,
            group=code,
            basis=choice(args, "basis", BASES, "recorded"),
            measure=choice(args, "measure", MEASURES, "count"),
            layers=layers,
        )

    def hotspot_query(self) -> hs.HotspotQuery:
        """Return the layer query (the vintage must be resolved)."""
        if self.vintage is None:
            raise InvalidQueryError("no vintage chosen")
        shaded = self.measure if self.measure in hs.MEASURES else "count"
        return hs.HotspotQuery(
            vintage=self.vintage,
            level=self.level,
            window=self.window,
            as_of=None if self.window == "custom" else self.as_of,
            start=self.start,
            end=self.end,
            group=self.group,
            basis=self.basis,
            measure=shaded,
        )


@dataclass
class MapPage:
    """What the page's choosers need (the numbers come as JSON)."""

    request: MapRequest
    vintages: list[str]
    group: Group
    groups: list[Group]
    sees_points: bool
    default_method: str = DEFAULT_METHOD


def map_page(conn: Connection, r: MapRequest, sees_points: bool) -> MapPage:
    """Return the map page for ``r``: vintage resolved, choosers filled.

    ``sees_points``: whether the user may see finer than a quadrant (the KDE overlay).

    Raises
    ------
    NotFoundError
        No vintage, or the requested one, is loaded.
    """
    vintage, names = resolve_vintage(conn, r.vintage)
    r = replace(r, vintage=vintage)
    if not sees_points:
        r = replace(r, layers=tuple(name for name in r.layers if name not in POINT_LAYERS))
    return MapPage(r, names, group(r.group), list(groups().values()), sees_points)


def _resolved(conn: Connection, r: MapRequest) -> MapRequest:
    vintage, _ = resolve_vintage(conn, r.vintage)
    return replace(r, vintage=vintage)


def map_data(conn: Connection, r: MapRequest) -> dict[str, Any]:
    """Return the numbers of the requested window, column-wise in the order of the shapes.

    ``{"vintage", "level", "group", "basis", **layer_values}``. The shapes come apart
    (:func:`map_shapes`), once per vintage and level, and what only a pop-up shows when
    one first needs it (:func:`map_units`), so a window switch carries numbers only.
    """
    r = _resolved(conn, r)
    chosen = group(r.group)
    return {
        "vintage": r.vintage,
        "level": r.level,
        "basis": r.basis,
        "group": {"code": chosen.code, "name_es": chosen.name_es, "name_en": chosen.name_en},
        **hs.layer_values(conn, r.hotspot_query()),
    }


@dataclass(frozen=True)
class ShapesRequest:
    """Which shapes a map draws: a vintage's units of a level."""

    vintage: str | None
    level: str

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ShapesRequest:
        """Build a request from URL arguments, checked."""
        return cls(
            vintage=text_arg(args, "vintage"), level=choice(args, "level", LEVELS, "quadrant")
        )


def map_shapes(conn: Connection, r: ShapesRequest) -> bytes:
    """Return the level's shapes as TopoJSON text (:func:`compstat.queries.hotspots.shapes_json`).

    Object ``units`` holds the units in the order of the numbers; ``outlines`` the zones,
    drawn over them for orientation, unless the level is zones.
    """
    vintage, _ = resolve_vintage(conn, r.vintage)
    outline = None if r.level == OUTLINE_LEVEL else OUTLINE_LEVEL
    return hs.shapes_json(conn, vintage, r.level, outline)


@dataclass(frozen=True)
class UnitsRequest:
    """Which units a map's pop-ups describe: a vintage's units of a level, on a day."""

    vintage: str | None
    level: str
    day: date

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> UnitsRequest:
        """Build a request from URL arguments (``day`` required), checked."""
        day = date_arg(args, "day")
        if day is None:
            raise InvalidQueryError("day is required (YYYY-MM-DD)")
        level = choice(args, "level", LEVELS, "quadrant")
        return cls(vintage=text_arg(args, "vintage"), level=level, day=day)


def map_units(conn: Connection, r: UnitsRequest) -> dict[str, Any]:
    """Return what a pop-up tells of each unit besides its numbers.

    ``{"day", "commanders": {unit: label}, "roster_fictitious", "facts":
    unit_facts(...)}``: each unit's commander on ``r.day`` as the weekly table names them
    (units nobody commands are absent), its parent, population and area. The map asks
    for them when a pop-up first needs them, so a first map and a window switch carry
    shapes and numbers only.
    """
    vintage, _ = resolve_vintage(conn, r.vintage)
    labels, fictitious = commander_labels(conn, vintage, r.level, r.day)
    return {
        "day": r.day.isoformat(),
        "commanders": labels,
        "roster_fictitious": fictitious,
        "facts": hs.unit_facts(conn, vintage, r.level),
    }


def points_data(conn: Connection, r: MapRequest) -> dict[str, Any]:
    """Return the window's incident points of the group (not for researchers: exact places).

    :func:`compstat.queries.hotspots.window_points`, with ``row_count`` (the points sent)
    for the audit log.
    """
    payload = hs.window_points(conn, _resolved(conn, r).hotspot_query())
    return {**payload, "row_count": payload["drawn"]}


def density_data(conn: Connection, r: MapRequest) -> dict[str, Any]:
    """Return the window's kernel density surface as GeoJSON cells (incidents per km²)."""
    q = _resolved(conn, r).hotspot_query()
    surface = hs.kde_surface(conn, q)
    collection = hs.kde_geojson(surface, min_share=KDE_MIN_SHARE)
    collection["properties"] = {
        "bandwidth_m": surface.bandwidth,
        "points": surface.points,
        "window": {"start": surface.window.start, "end": surface.window.end},
        "peak_km2": round(float(surface.density.max(initial=0.0)), 2),
    }
    return collection


def places_data(conn: Connection, r: MapRequest) -> dict[str, Any]:
    """Return the reporting places of the year to the window's end as GeoJSON points.

    Each feature's properties are a row of :func:`compstat.queries.reporting_places.places`
    (without ``lon``/``lat``); the collection's ``properties`` hold the span and the rule.
    """
    q = _resolved(conn, r).hotspot_query()
    end = hs.resolve_window(q, cubes.cube(conn, q.vintage)).end
    query = rp.PlacesQuery(q.vintage, end - timedelta(days=PLACES_DAYS - 1), end)
    result = rp.as_json(conn, query)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [row.pop("lon"), row.pop("lat")]},
            "properties": row,
        }
        for row in result.pop("places")
    ]
    return {"type": "FeatureCollection", "properties": result, "features": features}


@dataclass
class LayerDownload:
    """The displayed layer as a table (with its simplified geometry) and what it holds."""

    frame: pd.DataFrame
    meta: dict[str, Any]
    name_parts: tuple[object, ...]

    @property
    def rows(self) -> list[dict]:
        """The rows (the audit log counts them)."""
        return self.frame.to_dict("records")


def layer_download(conn: Connection, r: MapRequest) -> LayerDownload:
    """Return the layer of ``r`` as a table: columns ``COLUMNS`` plus ``geometry`` (GeoJSON).

    The numbers are :func:`compstat.queries.hotspots.layer_frame`'s, the CLI's contract.
    """
    r = _resolved(conn, r)
    q = r.hotspot_query()
    result = hs.layer(conn, q)
    frame = hs.layer_frame(result)
    shapes = hs.simplified_shapes(conn, q.vintage, q.level)
    frame["geometry"] = [json.dumps(shapes.get(unit)) for unit in frame["unit_id"]]
    meta = {
        "table": "mapa_delictivo",
        "vintage": q.vintage,
        "level": q.level,
        "group": q.group,
        "assignment": q.basis,
        "window": q.window,
        "start": result.window.start,
        "end": result.window.end,
        "previous": {"start": result.previous.start, "end": result.previous.end},
        "year_ago": {"start": result.year_ago.start, "end": result.year_ago.end},
        "gi": {"measure": q.gi_measure, "permutations": q.permutations, "seed": q.seed},
        "notes": result.notes,
    }
    parts = ("mapa", q.vintage, q.level, q.group, q.basis, result.window.start, result.window.end)
    return LayerDownload(frame, meta, parts)


def api_layer(conn: Connection, args: Mapping[str, Any]) -> dict[str, Any]:
    """Return the layer as a GeoJSON FeatureCollection for API v1's parsed ``args``."""
    r = MapRequest(
        vintage=args["vintage"],
        level=args["level"],
        window=args["window"],
        as_of=args["as_of"],
        start=args["from"],
        end=args["to"],
        group=args["group"] or HIGH_IMPACT,
        basis=args["assignment"],
    )
    group(r.group)
    if r.window == "custom" and (r.start is None or r.end is None):
        raise InvalidQueryError("a custom window needs from and to")
    return hs.layer_geojson(conn, r.hotspot_query())


# -- the planner's page: the stored evaluation ---------------------------------------------


@dataclass
class MethodsPage:
    """The stored ``compstat hotspots evaluate --format json`` output, if configured and present.

    Attributes
    ----------
    path : str or None
        The configured file (``COMPSTAT_HOTSPOT_EVALUATION``).
    evaluation : dict or None
        Its JSON (the issue's contract), ``None`` when unset, missing or unreadable.
    problem : str or None
        ``unset``, ``missing`` or ``unreadable`` when there is nothing to show.
    """

    path: str | None
    evaluation: dict | None
    problem: str | None

    @property
    def baskets(self) -> list[tuple[str, list[dict]]]:
        """The summary rows grouped by basket, in file order."""
        out: dict[str, list[dict]] = {}
        for row in (self.evaluation or {}).get("methods", []):
            out.setdefault(row.get("basket", ""), []).append(row)
        return list(out.items())

    def window_pai(self, basket: str) -> dict[str, Any]:
        """Return each method's PAI per test window of ``basket``, for the page's plot.

        ``{"windows": [test start, ...], "series": [{"method", "pai": [...]}]}``, methods
        and windows in file order; ``None`` where a method has no score for a window.
        """
        rows = [w for w in (self.evaluation or {}).get("windows", []) if w.get("basket") == basket]
        starts = list(dict.fromkeys(w["test_start"] for w in rows))
        scores: dict[str, dict[str, float]] = {}
        for w in rows:
            scores.setdefault(w["method"], {})[w["test_start"]] = w["pai"]
        series = [
            {"method": method, "pai": [by_start.get(start) for start in starts]}
            for method, by_start in scores.items()
        ]
        return {"windows": starts, "series": series}


def methods_page(path: str | None) -> MethodsPage:
    """Return the stored evaluation at ``path`` (no database: the evaluation takes minutes)."""
    if not path:
        return MethodsPage(None, None, "unset")
    file = Path(path)
    if not file.is_file():
        return MethodsPage(path, None, "missing")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return MethodsPage(path, None, "unreadable")
    if not isinstance(data, dict) or not isinstance(data.get("methods"), list):
        return MethodsPage(path, None, "unreadable")
    return MethodsPage(path, data, None)
