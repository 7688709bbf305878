"""The weekly CompStat table (``/semanal``) and its downloads (CSV, XLSX, JSON)."""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from web import pages
from web.database import run, run_audited
from web.handlers import weekly as handlers
from web.handlers.weekly import WeeklyQuery

bp = Blueprint("weekly", __name__)


@bp.get("/semanal")
def page() -> ResponseReturnValue:
    """Show the weekly table."""
    return pages.weekly_page(run(handlers.weekly, WeeklyQuery.from_args(request.args)))


@bp.get("/semanal.<any(csv, xlsx, json):fmt>")
def download(fmt: str) -> ResponseReturnValue:
    """Download the table's long-form rows (the CLI's accountability contract), audited."""
    query = WeeklyQuery.from_args(request.args)
    parameters = {**request.args.to_dict(), "format": fmt}
    return pages.weekly_download(run_audited("export", parameters, handlers.weekly, query), fmt)
