"""``GET /healthz``: 200 when the app and its database answer, 503 otherwise (no log-in)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import Connection, text

from compstat.errors import DatabaseUnavailableError
from web.database import run

bp = Blueprint("health", __name__)


def _ping(conn: Connection) -> int:
    return conn.execute(text("SELECT 1")).scalar_one()


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Return ``{"status": "ok"}`` or, with the database unreachable, 503."""
    try:
        run(_ping)
    except DatabaseUnavailableError:
        return jsonify(status="unavailable", database=False), 503
    return jsonify(status="ok", database=True)
