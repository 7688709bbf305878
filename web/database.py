"""The app's database engine, resolved on first use, and handler calls inside a transaction.

The web process only ever connects: to the configured URL or to the local
server's default database. Provisioning (packages, cluster, database) belongs to
``compstat db setup`` and the Makefile, never to a request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from flask import current_app, request
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from compstat import accounts, db
from compstat.errors import DatabaseUnavailableError, QueryTimeoutError

EXTENSION = "compstat.engine"
R = TypeVar("R")


def get_engine() -> Engine:
    """Return the app's engine, resolving the database URL the first time.

    The URL is the ``DATABASE_URL`` config key (also set by the
    ``COMPSTAT_DATABASE_URL`` environment variable) or, failing that,
    :func:`compstat.db.connect_url` (``DATABASE_URL`` or the local default database),
    which never provisions anything.
    """
    engine = current_app.extensions.get(EXTENSION)
    if engine is None:
        url = current_app.config.get("DATABASE_URL") or db.connect_url()
        engine = current_app.extensions[EXTENSION] = db.engine(url)
    return engine


def run(handler: Callable[..., R], *args: object, **kwargs: object) -> R:
    """Call ``handler(conn, *args, **kwargs)`` in a transaction on the app's database.

    Raises
    ------
    DatabaseUnavailableError
        The database cannot be reached.
    """
    try:
        with db.transaction(get_engine()) as conn:
            return handler(conn, *args, **kwargs)
    except OperationalError as exc:
        if isinstance(exc.orig, psycopg.errors.QueryCanceled):
            raise QueryTimeoutError(
                "the query took too long and was stopped; narrow it (e.g. with unit, from and to)"
            ) from exc
        raise DatabaseUnavailableError(f"the database cannot be reached: {exc.orig}") from exc


def limit_time(conn: Connection, seconds: float | None) -> None:
    """Stop the rest of this transaction's statements after ``seconds`` each (None: no limit)."""
    if seconds:
        conn.execute(
            text("SELECT set_config('statement_timeout', :ms, true)"),
            {"ms": str(max(1, int(seconds * 1000)))},
        )


def row_count(result: Any) -> int | None:
    """Return how many rows ``result`` holds (a Table, DataFrame, page or list), if known."""
    for attribute in ("rows", "items"):
        if isinstance(getattr(result, attribute, None), list):
            return len(getattr(result, attribute))
    if isinstance(result, dict):
        if isinstance(result.get("row_count"), int):
            return result["row_count"]
        for key in ("data", "rows", "features"):
            if isinstance(result.get(key), list):
                return len(result[key])
    try:
        return len(result)
    except TypeError:
        return None


def run_audited(
    action: str,
    parameters: dict[str, Any],
    handler: Callable[..., R],
    *args: object,
    timeout: float | None = None,
) -> R:
    """Call ``handler(conn, *args)`` and append its audit row in the same transaction.

    The row says who (the logged-in user), what (``action`` and the endpoint), with
    which ``parameters`` and how many rows came back. ``timeout`` (seconds) bounds
    each of the handler's statements.
    """
    from web.security import user_name

    def audited(conn: Connection, *inner: object) -> R:
        limit_time(conn, timeout)
        result = handler(conn, *inner)
        accounts.audit(
            conn,
            action,
            user=user_name(),
            target=request.endpoint,
            parameters=parameters,
            row_count=row_count(result),
            address=request.remote_addr,
        )
        return result

    return run(audited, *args)
