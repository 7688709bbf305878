"""Responses of the weekly table, trend and map pages: HTML, JSON and their downloads."""

from __future__ import annotations

import functools
import json
from typing import Any

import pandas as pd
from flask import Response, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue

from compstat import exports
from compstat.groups import groups
from compstat.stats.emerging import CATEGORIES
from web import assets
from web.handlers import research
from web.handlers.hotspots import LEVELS, MEASURES, LayerDownload, MapPage, MethodsPage
from web.handlers.research import Download, ResearchPage
from web.handlers.trends import TrendPage
from web.handlers.weekly import COLUMNS, WeeklyPage, download_name
from web.render import export_response, json_response
from web.templating import current_language, t


def chart_url() -> str:
    """Return the URL of Chart.js, served by the app from Debian's ``libjs-chart.js``."""
    return url_for("vendor.asset", filename=assets.OTHER["chart"])


def weekly_page(page: WeeklyPage) -> ResponseReturnValue:
    """Return the weekly table as HTML."""
    return render_template(
        "weekly.html", page=page, lang=current_language(), groups=list(groups().values())
    )


def weekly_download(page: WeeklyPage, fmt: str) -> ResponseReturnValue:
    """Return the table's long-form rows as a CSV, XLSX or JSON file (exactly its numbers)."""
    frame = pd.DataFrame(page.rows, columns=COLUMNS)
    body = exports.export(frame, fmt, download_meta(page))
    response = Response(body, mimetype=exports.get(fmt).media_type)
    disposition = "inline" if fmt == "json" else "attachment"
    name = f"{download_name(page.query)}.{fmt}"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    return response


def download_meta(page: WeeklyPage) -> dict[str, Any]:
    """Return what a download says about its rows (the JSON's keys, the XLSX's metadata)."""
    q = page.query
    return {
        "table": "compstat_semanal",
        "vintage": q.vintage,
        "level": q.level,
        "as_of": page.windows["week"].current.end if page.windows else q.as_of,
        "group": q.group,
        "assignment": q.basis,
        "parent": q.parent,
        "roster_fictitious": page.roster_fictitious,
    }


def trend_unit(page: TrendPage) -> ResponseReturnValue:
    """Return a unit's trend page (the charts load their JSON)."""
    return render_template("trend.html", page=page, chart_url=chart_url())


def trend_explorer(page: TrendPage) -> ResponseReturnValue:
    """Return the trend explorer (the chart loads its JSON)."""
    return render_template("explorer.html", page=page, chart_url=chart_url())


def data(payload: dict[str, Any]) -> ResponseReturnValue:
    """Return a chart's data as JSON."""
    response = json_response(payload)
    response.headers["Cache-Control"] = "no-cache"
    return response


def cached_json(body: bytes) -> ResponseReturnValue:
    """Return JSON text that a browser keeps and revalidates (ETag; 304 when unchanged)."""
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Cache-Control"] = "private, no-cache"
    response.add_etag()
    return response.make_conditional(request)


#: Messages the map's script needs (passed as JSON in a data- attribute: no inline script).
MAP_LABELS = (
    *(f"measure_{m}" for m in MEASURES),
    *(f"window_{w}_short" for w in ("week", "28d", "ytd")),
    *(f"level_{level}" for level in LEVELS),
    *(f"gi_{side}_{level}" for side in ("hot", "cold") for level in (99, 95, 90)),
    *(f"flag_{f}" for f in ("increase", "strong_increase", "decrease", "strong_decrease")),
    *(f"emerging_{category}" for category in CATEGORIES),
    *(f"map_note_{code}" for code in ("no_data", "partial_data", "out_of_scope", "cross_source")),
    "window_custom",
    "gi_none",
    "gi_legend",
    "count",
    "map_period",
    "map_compared",
    "map_previous",
    "map_year_ago",
    "map_density",
    "map_population",
    "area_km2",
    "map_gi",
    "map_emerging",
    "map_trend_link",
    "map_legend_quantiles",
    "map_legend_zero",
    "map_legend_nodata",
    "map_legend_change",
    "map_legend_emerging",
    "map_kde_legend",
    "map_kde_points",
    "map_points_legend",
    "map_points_too_many",
    "layer_places",
    "map_places_legend",
    "map_places_note",
    "map_places_title",
    "map_places_what",
    "map_places_count",
    "map_places_types",
    "map_places_desk",
    "map_places_top",
    "map_places_quadrant",
    "map_total",
    "map_error",
    "map_loading",
    "period_current",
    "period_year_ago",
    "commander",
    "no_commander",
    "fictitious",
    "no_data",
    "rate",
    "months_short",
)


def map_page(page: MapPage) -> ResponseReturnValue:
    """Return the hotspot map page (the map loads its numbers as JSON)."""
    language = current_language()
    labels = _map_labels(language)
    return render_template("map.html", page=page, lang=language, labels=labels, measures=MEASURES)


@functools.cache
def _map_labels(language: str) -> dict[str, str]:
    """Return the map script's messages in ``language`` (the request's), once per language."""
    return {key: t(key) for key in MAP_LABELS}


def layer_download(download: LayerDownload, fmt: str) -> ResponseReturnValue:
    """Return the displayed map layer as GeoJSON or CSV, written by the export registry."""
    frame = download.frame if fmt == "geojson" else download.frame.drop(columns="geometry")
    return export_response(frame, fmt, download.meta, *download.name_parts)


def methods_page(page: MethodsPage) -> ResponseReturnValue:
    """Return the planner's page: which hotspot method predicts best (the stored evaluation)."""
    return render_template("map_methods.html", page=page, chart_url=chart_url())


def research_page(page: ResearchPage) -> ResponseReturnValue:
    """Return the researcher page (its map draws from a JSON data block, not a script)."""
    collection = {"type": "FeatureCollection", "features": page.features}
    status = 400 if page.error else 200
    body = render_template(
        "research.html",
        page=page,
        map_data=json.dumps(collection, ensure_ascii=False).replace("</", "<\\/"),
        leaflet_js=url_for("vendor.asset", filename=assets.ASSETS["leaflet"]),
        leaflet_css=url_for("vendor.asset", filename=assets.ASSETS["leaflet_css"]),
        formats=research.FORMATS,
    )
    return body, status


def research_download(download: Download) -> ResponseReturnValue:
    """Return the zip of the export and its manifest."""
    response = Response(download.body, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{download.name}"'
    return response
