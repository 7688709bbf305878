"""Responses of the weekly table and trend pages: HTML, JSON and the table's downloads."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from flask import Response, render_template, url_for
from flask.typing import ResponseReturnValue

from compstat import exports
from compstat.groups import groups
from web import assets
from web.handlers import research
from web.handlers.research import Download, ResearchPage
from web.handlers.trends import TrendPage
from web.handlers.weekly import COLUMNS, WeeklyPage, download_name
from web.render import json_response
from web.templating import current_language


def chart_url() -> str:
    """Return the URL of Chart.js, served by the app from Debian's ``libjs-chart.js``."""
    return url_for("vendor.asset", filename=assets.LOCAL_ONLY["chart"])


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


def research_page(page: ResearchPage) -> ResponseReturnValue:
    """Return the researcher page (its map draws from a JSON data block, not a script)."""
    collection = {"type": "FeatureCollection", "features": page.features}
    status = 400 if page.error else 200
    body = render_template(
        "research.html",
        page=page,
        map_data=json.dumps(collection, ensure_ascii=False).replace("</", "<\\/"),
        leaflet_js=url_for("vendor.asset", filename=assets.ASSETS["leaflet"].path),
        leaflet_css=url_for("vendor.asset", filename=assets.ASSETS["leaflet_css"].path),
        formats=research.FORMATS,
    )
    return body, status


def research_download(download: Download) -> ResponseReturnValue:
    """Return the zip of the export and its manifest."""
    response = Response(download.body, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{download.name}"'
    return response
