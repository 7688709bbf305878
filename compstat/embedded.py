"""Zero-configuration local PostGIS: install, start and create what is missing.

Used when no ``DATABASE_URL`` is given. On a Debian machine this installs the
PostGIS package for the local PostgreSQL (as root), starts the local cluster if
it is down and creates the database with the ``postgis`` extension.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from compstat.errors import DatabaseUnavailableError

HOST = os.environ.get("COMPSTAT_PGHOST", "127.0.0.1")
PORT = int(os.environ.get("COMPSTAT_PGPORT", "5432"))
USER = os.environ.get("COMPSTAT_PGUSER", "postgres")
DEFAULT_DATABASE = "compstat"


def local_url(database: str = DEFAULT_DATABASE) -> str:
    """Return the SQLAlchemy URL of ``database`` on the local server."""
    return f"postgresql+psycopg://{USER}@{HOST}:{PORT}/{database}"


def _admin_connect() -> psycopg.Connection:
    return psycopg.connect(
        host=HOST, port=PORT, user=USER, dbname="postgres", autocommit=True, connect_timeout=5
    )


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DatabaseUnavailableError(
            f"command failed: {' '.join(cmd)}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )


def _apt_install(*packages: str) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise DatabaseUnavailableError(
            f"missing system packages {', '.join(packages)}; install them or set DATABASE_URL"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise DatabaseUnavailableError(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")


def _pg_majors() -> list[str]:
    root = Path("/usr/lib/postgresql")
    return sorted((p.name for p in root.iterdir() if p.is_dir()), key=int) if root.is_dir() else []


def ensure_server_packages() -> None:
    """Install PostgreSQL and PostGIS from Debian's packages when they are missing."""
    majors = _pg_majors()
    if not majors:
        _apt_install("postgresql", "postgresql-contrib")
        majors = _pg_majors()
    major = majors[-1]
    control = Path(f"/usr/share/postgresql/{major}/extension/postgis.control")
    if not control.exists():
        _apt_install(f"postgresql-{major}-postgis-3")


def _start_cluster() -> None:
    if shutil.which("pg_ctlcluster") is None:
        raise DatabaseUnavailableError("no PostgreSQL server answers and pg_ctlcluster is absent")
    for major in reversed(_pg_majors()):
        if Path(f"/etc/postgresql/{major}/main").is_dir():
            _run(["pg_ctlcluster", "--skip-systemctl-redirect", major, "main", "start"])
            return
    major = _pg_majors()[-1]
    _run(["pg_createcluster", major, "main", "--port", str(PORT), "--start"])


def ensure_server() -> None:
    """Make sure a local server answers on ``HOST:PORT``; install and start it if needed."""
    ensure_server_packages()
    try:
        _admin_connect().close()
        return
    except psycopg.OperationalError:
        _start_cluster()
    try:
        _admin_connect().close()
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError(f"local PostgreSQL did not start: {exc}") from exc


def ensure_database(database: str = DEFAULT_DATABASE, *, fresh: bool = False) -> str:
    """Create ``database`` with PostGIS on the local server and return its URL.

    Parameters
    ----------
    database : str
        Database name.
    fresh : bool
        Drop and recreate it first (used for throwaway test databases).
    """
    ensure_server()
    with _admin_connect() as conn:
        name = sql.Identifier(database)
        if fresh:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    with psycopg.connect(host=HOST, port=PORT, user=USER, dbname=database, autocommit=True) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return local_url(database)


def drop_database(database: str) -> None:
    """Drop a local database if it exists."""
    with _admin_connect() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
