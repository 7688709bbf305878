"""The overview page (``/``), its JSON and CSV twins, and each table in every export format."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue

from web import render
from web.database import run, run_audited
from web.handlers import overview as handlers
from web.handlers.overview import OverviewQuery

bp = Blueprint("overview", __name__)

TABLE_NAMES = ", ".join(handlers.TABLES)
TABLE_FORMATS = ", ".join(render.TABLE_FORMATS)


def _query(fmt: str) -> OverviewQuery:
    return OverviewQuery.from_args(
        request.args,
        with_map=fmt == "html",
        runs=current_app.config["RECENT_RUNS"],
        tolerance=current_app.config["MAP_TOLERANCE"],
    )


@bp.get("/")
def index() -> ResponseReturnValue:
    """Show the overview (``?format=json|csv`` for its twins)."""
    return summary(render.requested_format())


@bp.get("/resumen.<any(json, csv):fmt>")
def summary(fmt: str) -> ResponseReturnValue:
    """Return the overview as HTML, JSON (every table) or CSV (the territory table)."""
    if fmt == "csv":
        return table("territorio", fmt)
    if fmt == "json":
        parameters = {"format": fmt, **request.args.to_dict()}
        return render.overview(
            run_audited("export", parameters, handlers.overview, _query(fmt)), fmt
        )
    return render.overview(run(handlers.overview, _query(fmt)), fmt)


@bp.get(f"/<any({TABLE_NAMES}):name>.<any({TABLE_FORMATS}):fmt>")
def table(name: str, fmt: str) -> ResponseReturnValue:
    """Return one overview table in an export format (CSV, JSON, XLSX, Parquet, Stata)."""
    parameters = {"table": name, "format": fmt, **request.args.to_dict()}
    return render.table(run_audited("export", parameters, handlers.table, name, _query(fmt)), fmt)
