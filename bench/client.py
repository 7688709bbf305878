"""A logged-in test client of the web app on the bench database (what a browser receives)."""

from __future__ import annotations

import secrets

from flask.testing import FlaskClient
from sqlalchemy import Engine

from compstat import accounts
from compstat.errors import NotFoundError


def logged_in(engine: Engine, role: str = "planner") -> FlaskClient:
    """Return a test client logged in as ``bench_<role>`` (created on first use)."""
    from web.app import create_app

    name = f"bench_{role}"
    with engine.begin() as conn:
        try:
            user = accounts.get_user(conn, name)
        except NotFoundError:
            user = accounts.add_user(conn, name, role, secrets.token_hex(16), by="bench")
    app = create_app({"TESTING": True, "DATABASE_URL": engine.url.render_as_string(False)})
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = accounts.session_id(user)
        session["_fresh"] = True
    return client


def body(client: FlaskClient, url: str) -> bytes:
    """Return the body of ``GET url``; a status other than 200 stops the bench."""
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"bench: {url} answered {response.status_code}")
    return response.data
