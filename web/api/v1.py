"""The data endpoints of API v1 (one line of role rule each in :data:`web.access.RULES`)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from flask import current_app
from flask.typing import ResponseReturnValue

from compstat import exports
from compstat.presets import DEFAULT_PRESET, presets
from compstat.queries import accountability as acc
from compstat.queries import covariates as cq
from compstat.queries import trends as trends_query
from compstat.queries.counts import BASES, LEVELS, PERIODS
from compstat.queries.units import UNIT_LEVELS
from web import render
from web.api import Param, bp, endpoint
from web.database import run_audited
from web.handlers import api as handlers
from web.handlers import hotspots as hotspot_handlers

__all__ = ["bp"]

VINTAGE = Param("vintage", "Territory vintage, e.g. 2016 or 2023.", required=True, example="2016")
FROM = Param("from", "First day of occurrence (inclusive).", "date", example="2015-01-01")
TO = Param("to", "Last day of occurrence (inclusive).", "date", example="2015-12-31")
CATEGORY = Param(
    "category",
    "Canonical category code; repeat for several (default: all).",
    multiple=True,
    example="robo_transeunte_cv",
)
GEOMETRY = Param(
    "geometry", "Include each unit's geometry (GeoJSON).", "boolean", default=False, example="false"
)
UNKNOWN_VINTAGE = "The vintage is not loaded."


def _tolerance() -> float:
    return current_app.config["API_GEOMETRY_TOLERANCE"]


def _audited(handler, args: dict[str, Any], *extra: object) -> Any:
    """Run ``handler(conn, args, *extra)`` audited, within the API's time limit."""
    timeout = current_app.config["API_STATEMENT_TIMEOUT"]
    return run_audited("api", args, handler, args, *extra, timeout=timeout)


def _units_response(data: dict[str, Any], geometry: bool) -> ResponseReturnValue:
    """Return units as JSON, or as a GeoJSON FeatureCollection when geometry is asked."""
    if not geometry:
        for row in data["data"]:
            row.pop("geometry", None)
        return render.json_response(data)
    frame = pd.DataFrame(data.pop("data"))
    if frame.empty:
        frame = pd.DataFrame(columns=["code", "geometry"])
    body = exports.export(frame, "geojson", data)
    return current_app.response_class(body, content_type=exports.GEOJSON.media_type)


@endpoint("/vintages", "Loaded territory vintages")
def vintages(args: dict[str, Any]) -> ResponseReturnValue:
    """Return the loaded vintages, with their number of zones, regions, sectors and quadrants."""
    return render.json_response(_audited(handlers.vintages, args))


@endpoint(
    "/units",
    "Territory units of one level",
    paginated=True,
    media_types=("application/json", "application/geo+json"),
    not_found=UNKNOWN_VINTAGE,
    params=[
        VINTAGE,
        Param("level", "Unit level.", choices=UNIT_LEVELS, default="sector", example="sector"),
        GEOMETRY,
    ],
)
def units(args: dict[str, Any]) -> ResponseReturnValue:
    """Return the zones, regions, sectors or quadrants of a vintage.

    Each with code, name, parent (the code of the unit above), population and area.
    With ``geometry=true`` the answer is a GeoJSON FeatureCollection (simplified shapes).
    """
    data = _audited(handlers.unit_list, args, _tolerance())
    return _units_response(data, args["geometry"])


@endpoint(
    "/units/<code>",
    "One territory unit",
    not_found="No unit of that code in the vintage.",
    media_types=("application/json", "application/geo+json"),
    params=[
        Param(
            "code",
            "Unit code (zone, region, sector or quadrant).",
            location="path",
            example="P-1.4",
        ),
        VINTAGE,
        GEOMETRY,
    ],
)
def unit(args: dict[str, Any]) -> ResponseReturnValue:
    """Return one unit by code, at the finest level that has the code."""
    data = _audited(handlers.unit, args, _tolerance())
    return _units_response(data, args["geometry"])


@endpoint(
    "/counts",
    "Incident counts by unit and period",
    paginated=True,
    not_found=UNKNOWN_VINTAGE,
    media_types=tuple(f.media_type for f in exports.REGISTRY.values() if not f.needs_geometry),
    params=[
        VINTAGE,
        Param("level", "Roll-up level.", choices=LEVELS, default="quadrant", example="sector"),
        Param(
            "period",
            "Period (weeks start on Monday).",
            choices=PERIODS,
            default="month",
            example="month",
        ),
        FROM,
        TO,
        CATEGORY,
        Param(
            "assignment",
            "Quadrant basis: the source's own or point in polygon.",
            choices=BASES,
            default="recorded",
            example="recorded",
        ),
        Param(
            "format",
            "json (paginated) or a file of every row.",
            choices=tuple(n for n, f in exports.REGISTRY.items() if not f.needs_geometry),
            default="json",
            example="json",
        ),
    ],
)
def counts(args: dict[str, Any]) -> ResponseReturnValue:
    """Return the rows of ``compstat counts``: vintage, level, unit, period, category, count.

    Zero counts are omitted. The finest grain is the quadrant-day.
    """
    result = _audited(handlers.counts, args)
    if isinstance(result, dict):
        return render.json_response(result)
    meta = {k: args[k] for k in ("vintage", "level", "period", "from", "to", "assignment")}
    return render.export_response(
        result,
        args["format"],
        {"table": "conteos", **meta},
        "conteos",
        args["level"],
        args["period"],
        "version",
        args["vintage"],
        args["from"],
        args["to"],
    )


@endpoint(
    "/incidents",
    "Incident points (commanders, planners and admins only)",
    paginated=True,
    not_found="The vintage is not loaded, or the unit is not one of its units.",
    params=[
        VINTAGE,
        Param("unit", "Zone, region, sector or quadrant code.", example="P-1.4"),
        FROM,
        TO,
        CATEGORY,
    ],
)
def incidents(args: dict[str, Any]) -> ResponseReturnValue:
    """Return each incident with its day, time, category, quadrant and point; ordered by id."""
    return render.json_response(_audited(handlers.incidents, args))


@endpoint(
    "/hotspots",
    "Hotspot map layer of a window (GeoJSON)",
    not_found=UNKNOWN_VINTAGE,
    media_types=("application/geo+json",),
    params=[
        VINTAGE,
        Param(
            "level",
            "Map level.",
            choices=hotspot_handlers.LEVELS,
            default="quadrant",
            example="sector",
        ),
        Param(
            "window",
            "week (Monday to as_of), 28d, ytd or custom (from, to).",
            choices=hotspot_handlers.WINDOWS,
            default="28d",
            example="28d",
        ),
        Param("as_of", "Last day of the window (default: the last loaded Sunday).", "date"),
        Param("from", "First day of a custom window.", "date"),
        Param("to", "Last day of a custom window.", "date"),
        Param("group", "Category group or category code.", default="alto_impacto"),
        Param(
            "assignment",
            "Quadrant basis: the source's own, point in polygon, or the source's count.",
            choices=hotspot_handlers.BASES,
            default="recorded",
            example="recorded",
        ),
    ],
)
def hotspots(args: dict[str, Any]) -> ResponseReturnValue:
    """Return the map layer of a window as GeoJSON, one feature per unit.

    Per unit: count, rate per 100,000 residents, density per km², the changes against
    the previous period and the year before (with the weekly table's Poisson flag), Gi*
    on densities (z, pseudo p-value from 999 permutations with seed 12345, bin after FDR),
    the 12-week emerging hot spot class, and the unit's simplified shape. The map page
    /mapa draws the same numbers.
    """
    data = _audited(hotspot_handlers.api_layer, args)
    body = json.dumps(exports.jsonable(data), ensure_ascii=False)
    return current_app.response_class(body, content_type=exports.GEOJSON.media_type)


ASSIGNMENT = Param(
    "assignment",
    "Quadrant basis: recorded, spatial (point in polygon) or source.",
    choices=acc.BASES,
    default="recorded",
    example="recorded",
)


@endpoint(
    "/accountability",
    "The weekly CompStat table in long form",
    paginated=True,
    not_found="The vintage or the parent unit is not loaded.",
    params=[
        VINTAGE,
        Param("level", "Unit level.", choices=acc.LEVELS, default="sector", example="sector"),
        Param(
            "as_of",
            "Last day of the windows (default: the last Sunday of the loaded data).",
            "date",
            example="2015-03-15",
        ),
        Param(
            "group",
            "Group or category code; repeat for several (default: alto_impacto).",
            multiple=True,
            example="alto_impacto",
        ),
        Param("parent", "Only the units under this unit id."),
        ASSIGNMENT,
    ],
)
def accountability(args: dict[str, Any]) -> ResponseReturnValue:
    """Return the rows of ``compstat accountability``: one per unit x group x window.

    The same columns and values as the CLI's JSON output (``rows``), paginated.
    """
    return render.json_response(_audited(handlers.accountability, args))


@endpoint(
    "/trends",
    "Weekly or monthly counts of units, with the year-ago values",
    paginated=True,
    not_found="The vintage or a unit is not loaded.",
    params=[
        VINTAGE,
        Param(
            "unit",
            "Unit id of any level (CDMX: the city); required, repeat for several.",
            multiple=True,
            example="P-1.4",
        ),
        Param("group", "Group code.", default="alto_impacto", example="alto_impacto"),
        Param("period", "Period.", choices=trends_query.PERIODS, default="week", example="week"),
        FROM,
        TO,
        ASSIGNMENT,
    ],
)
def trends(args: dict[str, Any]) -> ResponseReturnValue:
    """Return the rows of ``compstat trends``: one per unit x period, paginated."""
    return render.json_response(_audited(handlers.trends, args))


@endpoint(
    "/covariates",
    "Sector or quadrant covariates and the higher-crime moderator",
    paginated=True,
    not_found="The vintage is not loaded, or a listed unit is not one of its units.",
    params=[
        Param(
            "vintage",
            f"Territory vintage ({', '.join(cq.CENSUS)}: those with census populations).",
            required=True,
            example="2016",
        ),
        Param("level", "Unit level.", choices=cq.LEVELS, default="sector", example="sector"),
        Param(
            "from", "First day of the counts' window.", "date", required=True, example="2015-01-01"
        ),
        Param(
            "to",
            "Last day of the window (the moderator's window ends here).",
            "date",
            required=True,
            example="2015-06-30",
        ),
        Param(
            "unit",
            "A unit of the comparison set (ranks and cut-off); repeat (default: every unit).",
            multiple=True,
        ),
        Param("preset", "Moderator preset.", choices=tuple(presets()), default=DEFAULT_PRESET),
        Param("assignment", "Assignment basis.", choices=cq.BASES, default="recorded"),
        Param(
            "census",
            "Census of the populations (default: the vintage's own).",
            choices=tuple(sorted(set(cq.CENSUS.values()))),
        ),
    ],
)
def covariates(args: dict[str, Any]) -> ResponseReturnValue:
    """Return the rows of ``compstat covariates`` (one per unit, zeros included) as JSON.

    ``metadata`` holds what the export's manifest records: parameters, preset and
    version, vintage, census, load runs and their files' SHA-256, windows, notes, code
    version and row count.
    """
    return render.json_response(_audited(handlers.covariates, args))
