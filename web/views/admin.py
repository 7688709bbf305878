"""Administration: the audit log (admins only)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from compstat import accounts
from compstat.errors import InvalidQueryError
from web.database import run
from web.tables import Table

bp = Blueprint("admin", __name__, url_prefix="/admin")
COLUMNS = ("id", "at", "user_name", "action", "target", "parameters", "row_count", "address")


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidQueryError(f"since must be an ISO date or time, not {value!r}") from None


@bp.get("/auditoria")
def audit() -> ResponseReturnValue:
    """List the audit log, newest first (``?since=`` and ``?user=`` narrow it)."""
    since, user = _since(request.args.get("since")), request.args.get("user") or None
    rows = run(accounts.audit_entries, since=since, user=user, limit=500)
    table = Table("auditoria", COLUMNS, rows)
    return render_template(
        "audit.html", table=table, since=request.args.get("since", ""), user=user or ""
    )
