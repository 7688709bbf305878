"""The one place that opens database connections and runs migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import psycopg
from sqlalchemy import Connection, Engine, create_engine, text

from compstat import embedded
from compstat.config import Settings, settings_from_env

MIGRATIONS = Path(__file__).with_name("migrations")


def normalize_url(url: str) -> str:
    """Make a ``postgres://`` or ``postgresql://`` URL use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def resolve_url(settings: Settings | None = None) -> str:
    """Return the database URL: the configured one, or a managed local PostGIS."""
    settings = settings or settings_from_env()
    if settings.database_url:
        return normalize_url(settings.database_url)
    return embedded.ensure_database()


def connect_url(settings: Settings | None = None) -> str:
    """Return the database URL to connect to, never provisioning anything.

    The configured URL, else the local server's default database
    (:func:`compstat.embedded.local_url`) as ``compstat db setup`` leaves it. For
    long-running processes (the web app), which must only ever connect.
    """
    settings = settings or settings_from_env()
    if settings.database_url:
        return normalize_url(settings.database_url)
    return embedded.local_url()


@cache
def _engine_for(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True)


def engine(url: str | None = None) -> Engine:
    """Return a (cached) engine for ``url`` or for the resolved default database."""
    return _engine_for(normalize_url(url) if url else resolve_url())


@contextmanager
def transaction(eng: Engine) -> Iterator[Connection]:
    """Yield a connection inside a transaction: committed on success, rolled back on error."""
    with eng.begin() as conn:
        yield conn


def driver_connection(conn: Connection) -> psycopg.Connection:
    """Return the psycopg connection under a SQLAlchemy connection (for ``COPY``)."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    return raw


def alembic_config(url: str):
    """Return an Alembic ``Config`` pointing at the packaged migrations and ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Create or migrate the schema of the database at ``url``."""
    from alembic import command

    with _engine_for(url).begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    command.upgrade(alembic_config(url), revision)
