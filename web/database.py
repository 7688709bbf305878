"""The app's database engine, resolved on first use, and handler calls inside a transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from compstat import db
from compstat.errors import DatabaseUnavailableError

EXTENSION = "compstat.engine"
R = TypeVar("R")


def get_engine() -> Engine:
    """Return the app's engine, resolving the database URL the first time.

    The URL is the ``DATABASE_URL`` config key (also set by the
    ``COMPSTAT_DATABASE_URL`` environment variable) or, failing that,
    :func:`compstat.db.resolve_url` (``DATABASE_URL`` or a managed local PostGIS).
    """
    engine = current_app.extensions.get(EXTENSION)
    if engine is None:
        url = current_app.config.get("DATABASE_URL") or db.resolve_url()
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
        raise DatabaseUnavailableError(f"the database cannot be reached: {exc.orig}") from exc
