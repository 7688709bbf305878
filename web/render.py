"""Responses: each overview table as HTML, JSON or CSV, and errors in the asked-for format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Response, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue

from compstat.errors import InvalidQueryError
from web import assets, mapping
from web.handlers.overview import Overview
from web.i18n import DEFAULT_LANGUAGE, MESSAGES
from web.tables import Table, jsonable
from web.templating import t

FORMATS = ("html", "json", "csv")


def requested_format(fmt: str | None = None) -> str:
    """Return ``fmt`` or the ``?format=`` argument (default ``html``), checked."""
    fmt = fmt or request.args.get("format") or "html"
    if fmt not in FORMATS:
        raise InvalidQueryError(f"format must be one of {FORMATS}, not {fmt!r}")
    return fmt


def json_response(data: Any, status: int = 200) -> Response:
    """Return ``data`` as UTF-8 JSON (dates as ISO 8601 text)."""
    body = json.dumps(jsonable(data), ensure_ascii=False)
    return current_app.response_class(body, status=status, mimetype="application/json")


def csv_response(table: Table) -> Response:
    """Return a table as UTF-8 CSV with a header of column keys."""
    response = current_app.response_class(table.as_csv(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'inline; filename="{table.name}.csv"'
    return response


def _map_assets() -> dict[str, str]:
    def local(path: str) -> str:
        return url_for("vendor.asset", filename=path)

    return assets.asset_urls(Path(current_app.config["JS_DIR"]), local)


def _map_html(ov: Overview, urls: dict[str, str]) -> str | None:
    if not ov.shapes:
        return None
    labels = {"name": t("name"), "code": t("code"), "count": t("count"),
              "caption": t("map_caption", year=ov.year)}  # fmt: skip
    return mapping.sector_map(ov.shapes, ov.sector_counts(), labels, urls,
                              current_app.config["MAP_HEIGHT"])  # fmt: skip


def overview(ov: Overview, fmt: str) -> ResponseReturnValue:
    """Return the overview page or its JSON twin."""
    if fmt == "json":
        return json_response(ov.as_json())
    urls = _map_assets()
    return render_template("overview.html", ov=ov, map_html=_map_html(ov, urls),
                           map_offline=assets.all_local(urls))  # fmt: skip


def table(tab: Table, fmt: str) -> ResponseReturnValue:
    """Return one overview table as JSON or CSV."""
    return json_response(tab.as_json()) if fmt == "json" else csv_response(tab)


def _error_format() -> str:
    fmt = (request.view_args or {}).get("fmt") or request.args.get("format")
    if fmt in FORMATS:
        return fmt
    suffix = request.path.rpartition(".")[2]
    return suffix if suffix in ("json", "csv") else "html"


def error(status: int, kind: str, message: str) -> ResponseReturnValue:
    """Return an error in the format the request asked for (JSON, plain text or HTML).

    Parameters
    ----------
    status : int
        HTTP status.
    kind : str
        Error class name, e.g. ``NotFoundError``.
    message : str
        What went wrong, for the user.
    """
    key = f"error_{status}"
    title = t(key) if key in MESSAGES[DEFAULT_LANGUAGE] else t("error_title")
    fmt = _error_format()
    if fmt == "json":
        return json_response({"error": {"status": status, "type": kind, "title": title,
                                         "message": message}}, status)  # fmt: skip
    if fmt == "csv":
        body = f"error {status}: {title}: {message}\n"
        return current_app.response_class(body, status=status, mimetype="text/plain")
    return render_template("error.html", status=status, title=title, message=message), status
