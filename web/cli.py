"""The ``compstat serve`` command: gunicorn in production, Flask's server with ``--dev``."""

from __future__ import annotations

import os
from typing import Any

import click

#: Defaults for a 2-core machine: the map pages are CPU-bound (folium), the rest waits on
#: PostGIS, so two processes of four threads each.
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """Return the gunicorn settings ``compstat serve`` uses."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 120,
        "graceful_timeout": 30,
        "accesslog": "-",
        "errorlog": "-",
        "forwarded_allow_ips": "127.0.0.1",
    }


def run_gunicorn(options: dict[str, Any]) -> None:
    """Serve ``web.app:create_app()`` with gunicorn and ``options``."""
    from gunicorn.app.base import BaseApplication

    from web.app import create_app

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return create_app()

    Server().run()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option(
    "--workers",
    default=DEFAULT_WORKERS,
    type=click.IntRange(1, 64),
    envvar="COMPSTAT_WORKERS",
    show_default=True,
    help="gunicorn processes.",
)
@click.option(
    "--threads",
    default=DEFAULT_THREADS,
    type=click.IntRange(1, 64),
    envvar="COMPSTAT_THREADS",
    show_default=True,
    help="Threads per process.",
)
@click.option("--dev", is_flag=True, help="Flask's development server instead (local use only).")
def serve(host: str, port: int, workers: int, threads: int, dev: bool) -> None:
    """Serve the web app with gunicorn (or Flask's server with --dev).

    The app only connects to the database (COMPSTAT_DATABASE_URL, DATABASE_URL or the
    local default one); run `compstat db setup` and `compstat db upgrade` first.
    """
    if dev:
        from web.app import create_app

        os.environ.setdefault("FLASK_DEBUG", "0")
        create_app().run(host=host, port=port)
        return
    run_gunicorn(gunicorn_options(host, port, workers, threads))
