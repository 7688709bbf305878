"""Responses: overview tables as HTML or in export formats, errors in the asked-for format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Response, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue

from compstat import exports
from compstat.errors import InvalidQueryError
from web import assets, mapping, security
from web.handlers.overview import Overview
from web.i18n import SOURCE
from web.tables import Table, jsonable
from web.templating import t

FORMATS = ("html", "json", "csv")
#: Export formats each overview table downloads in (``/<table>.<format>``).
TABLE_FORMATS = ("json", "csv", "xlsx", "parquet", "dta")
#: Machine-readable ``error.code`` of JSON errors, by HTTP status.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    422: "unreadable_file",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def requested_format(fmt: str | None = None) -> str:
    """Return ``fmt`` or the ``?format=`` argument (default ``html``), checked."""
    fmt = fmt or request.args.get("format") or "html"
    if fmt not in FORMATS:
        raise InvalidQueryError(f"format must be one of {FORMATS}, not {fmt!r}")
    return fmt


def json_response(data: Any, status: int = 200) -> Response:
    """Return ``data`` as compact UTF-8 JSON (dates as ISO 8601 text)."""
    body = json.dumps(jsonable(data), ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(body, status=status, mimetype="application/json")


def export_response(frame: Any, fmt: str, meta: dict[str, Any], *name_parts: object) -> Response:
    """Return ``frame`` written by the export registry, with a descriptive file name.

    JSON and CSV open in the browser (``inline``); the other formats download.
    """
    body = exports.export(frame, fmt, meta)
    response = current_app.response_class(body, content_type=exports.get(fmt).media_type)
    disposition = "inline" if fmt in ("json", "csv", "geojson") else "attachment"
    name = exports.file_name(*name_parts, extension=fmt)
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    return response


def _map_assets() -> dict[str, str]:
    def local(path: str) -> str:
        return url_for("vendor.asset", filename=path)

    return assets.asset_urls(local)


def _map_html(ov: Overview, urls: dict[str, str], missing: list[str]) -> str | None:
    if not ov.shapes or missing:
        return None
    labels = {
        "name": t("name"),
        "code": t("code"),
        "count": t("count"),
        "caption": t("map_caption", year=ov.year),
    }
    return security.allow_inline(
        mapping.sector_map(
            ov.shapes, ov.sector_counts(), labels, urls, current_app.config["MAP_HEIGHT"]
        )
    )


def overview(ov: Overview, fmt: str) -> ResponseReturnValue:
    """Return the overview page or its JSON twin."""
    if fmt == "json":
        return json_response(ov.as_json())
    missing = assets.missing_packages(Path(current_app.config["JS_DIR"]))
    return render_template(
        "overview.html", ov=ov, map_html=_map_html(ov, _map_assets(), missing), missing=missing
    )


def table(tab: Table, fmt: str) -> ResponseReturnValue:
    """Return one overview table in an export format (:data:`TABLE_FORMATS`)."""
    meta = {"table": tab.name, **tab.meta}
    return export_response(
        tab.as_frame(), fmt, meta, tab.name, tab.meta.get("vintage"), tab.meta.get("year")
    )


def error_format() -> str:
    """Return the format an error should take: ``json``, ``csv`` (plain text) or ``html``."""
    if request.path.startswith("/api/"):
        return "json"
    fmt = (request.view_args or {}).get("fmt") or request.args.get("format")
    if fmt in FORMATS:
        return fmt
    suffix = request.path.rpartition(".")[2]
    return suffix if suffix in ("json", "csv") else "json" if suffix in TABLE_FORMATS else "html"


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
    title = t(key) if key in SOURCE else t("error_title")
    fmt = error_format()
    if fmt == "json":
        code = ERROR_CODES.get(status, "error")
        return json_response(
            {
                "error": {
                    "code": code,
                    "message": message,
                    "status": status,
                    "type": kind,
                    "title": title,
                }
            },
            status,
        )
    if fmt == "csv":
        body = f"error {status}: {title}: {message}\n"
        return current_app.response_class(body, status=status, mimetype="text/plain")
    return render_template("error.html", status=status, title=title, message=message), status
