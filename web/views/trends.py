"""Trend pages (``/tendencia``, ``/tendencias``) and the JSON their charts draw from."""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from web import pages
from web.database import run
from web.handlers import timeofday, trends
from web.handlers.timeofday import TimeOfDayRequest
from web.handlers.trends import TrendRequest

bp = Blueprint("trends", __name__)


@bp.get("/tendencia")
def unit() -> ResponseReturnValue:
    """Show one unit's weekly and monthly series and its day-and-hour chart."""
    return pages.trend_unit(run(trends.unit_page, TrendRequest.from_args(request.args)))


@bp.get("/tendencias")
def explorer() -> ResponseReturnValue:
    """Show the planner's explorer: series of several units."""
    return pages.trend_explorer(run(trends.explorer_page, TrendRequest.from_args(request.args)))


@bp.get("/tendencias.json")
def series() -> ResponseReturnValue:
    """Return weekly or monthly series of one or several units, with the year-ago counts."""
    return pages.data(run(trends.trend_data, TrendRequest.from_args(request.args)))


@bp.get("/hora.json")
def time_of_day() -> ResponseReturnValue:
    """Return one unit's incidents by weekday and hour in a window, and those without time."""
    return pages.data(run(timeofday.time_of_day_data, TimeOfDayRequest.from_args(request.args)))
