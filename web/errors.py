"""The one place that maps domain and HTTP errors to responses."""

from __future__ import annotations

from flask import Flask, current_app
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from compstat.errors import CompstatError
from web import render


def compstat_error(exc: CompstatError) -> ResponseReturnValue:
    """Return a domain error with the HTTP status its class carries."""
    if exc.http_status >= 500:
        current_app.logger.error("%s: %s", type(exc).__name__, exc)
    return render.error(exc.http_status, type(exc).__name__, str(exc))


def http_error(exc: HTTPException) -> ResponseReturnValue:
    """Return an HTTP error (unknown page, wrong method) in the asked-for format."""
    return render.error(exc.code or 500, type(exc).__name__, exc.description or "")


def register(app: Flask) -> None:
    """Install the error handlers on ``app``."""
    app.register_error_handler(CompstatError, compstat_error)
    app.register_error_handler(HTTPException, http_error)
