"""The ``compstat serve`` command."""

from __future__ import annotations

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def serve(host: str, port: int) -> None:
    """Serve the web app (Flask's server, for local use)."""
    from web.app import create_app

    create_app().run(host=host, port=port)
