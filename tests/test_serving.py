"""Serving: /healthz, 503 without a database (and no provisioning), recovery, gunicorn,
the secret key, cookies, security headers, and a browser logged in as two roles.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine

from compstat import embedded
from tests.browser import CHROMIUM, local_only, require_chromium, served
from tests.conftest import POINT_MARKERS, TEST_PASSWORD, make_users, session_login
from web import cli as web_cli
from web import security
from web.app import create_app

ROOT = Path(__file__).resolve().parents[1]


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def users(web_db: Engine) -> dict[str, str]:
    return make_users(web_db)


@pytest.fixture(scope="module")
def app(web_db: Engine, users) -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": url_of(web_db), "SECRET_KEY": "t"})


# --- health and an absent database -------------------------------------------------------


def test_healthz_is_public_and_says_ok(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok", "database": True})


def test_no_database_gives_503_and_never_provisions(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[str] = []

    def refuse(name: str):
        def record(*args, **kwargs):
            attempts.append(name)
            raise AssertionError(f"the web process tried to provision: {name}")

        return record

    for name in (
        "ensure_database",
        "ensure_server",
        "ensure_server_packages",
        "_apt_install",
        "_run",
        "_start_cluster",
    ):
        monkeypatch.setattr(embedded, name, refuse(name))
    monkeypatch.setattr(embedded.subprocess, "run", refuse("subprocess.run"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("COMPSTAT_DATABASE_URL", raising=False)
    monkeypatch.setattr(embedded, "PORT", free_port())  # the default local server, down
    client = create_app({"TESTING": True, "SECRET_KEY": "t"}).test_client()
    health = client.get("/healthz")
    assert (health.status_code, health.get_json()["status"]) == (503, "unavailable")
    session_login(client, "1:x")
    page = client.get("/")
    assert (page.status_code, page.mimetype) == (503, "text/html")
    body = page.get_data(as_text=True)
    assert "503 · Base de datos no disponible" in body
    assert "the database cannot be reached" in body
    api = client.get("/api/v1/vintages")
    assert api.status_code == 503
    assert api.get_json()["error"]["code"] == "unavailable"
    assert attempts == []


class Forwarder:
    """A TCP relay to PostgreSQL that can be switched off and on, like a server restarting."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self.listener: socket.socket | None = None
        self.pairs: list[socket.socket] = []

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def stop(self) -> None:
        assert self.listener is not None
        for s in [self.listener, *self.pairs]:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)  # wakes the threads blocked on it
            s.close()
        self.pairs.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.pairs += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except (OSError, ValueError):
            return


def test_recovers_by_itself_when_the_database_comes_back(web_db: Engine, users) -> None:
    port = free_port()
    relay = Forwarder(port, (web_db.url.host, web_db.url.port or 5432))
    url = web_db.url.set(port=port).render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "t"})
    client = app.test_client()
    session_login(client, users["researcher"])
    assert client.get("/healthz").status_code == 503
    relay.start()
    try:
        assert client.get("/healthz").status_code == 200
        assert client.get("/").status_code == 200
        relay.stop()
        assert client.get("/healthz").status_code == 503
        assert client.get("/").status_code == 503
        relay.start()
        assert client.get("/healthz").status_code == 200
        assert client.get("/").status_code == 200
    finally:
        app.extensions["compstat.engine"].dispose()
        relay.stop()


# --- secret key, cookies, headers --------------------------------------------------------


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path: Path) -> None:
    first = security.secret_key(tmp_path / "instance")
    path = tmp_path / "instance" / "secret_key"
    assert len(first) == 64 and path.stat().st_mode & 0o777 == 0o600
    assert security.secret_key(tmp_path / "instance") == first
    assert security.secret_key(tmp_path / "other") != first
    app = create_app({"TESTING": True})
    assert app.secret_key == (Path(app.instance_path) / "secret_key").read_text().strip()
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "instance/secret_key"], cwd=ROOT, check=False
    ).returncode
    assert ignored == 0


def test_session_cookie_is_secure_over_https(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/login", base_url="https://localhost")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" not in app.test_client().get("/login").headers["Set-Cookie"]


def test_behind_a_trusted_proxy_the_caller_address_and_https_count(web_db: Engine) -> None:
    config = {
        "TESTING": True,
        "DATABASE_URL": url_of(web_db),
        "SECRET_KEY": "t",
        "TRUSTED_PROXIES": 1,
    }
    client = create_app(config).test_client()
    headers = {"X-Forwarded-For": "10.1.2.3", "X-Forwarded-Proto": "https"}
    response = client.get("/login", headers=headers)
    assert "Secure" in response.headers["Set-Cookie"]
    ignored = create_app({**config, "TRUSTED_PROXIES": 0}).test_client()
    assert "Secure" not in ignored.get("/login", headers=headers).headers["Set-Cookie"]


def test_security_headers_on_every_response(app: Flask, users) -> None:
    client = app.test_client()
    session_login(client, users["planner"])
    for url in (
        "/",
        "/login",
        "/healthz",
        "/static/style.css",
        "/nada",
        "/api/v1/vintages",
        "/sectores.csv",
    ):
        with client.get(url) as response:
            csp = response.headers["Content-Security-Policy"]
            assert response.headers["X-Content-Type-Options"] == "nosniff", url
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["default-src"] == "'self'", url
        assert directives["frame-ancestors"] == "'none'", url
        assert "http" not in csp and "unsafe-inline" not in csp and "*" not in csp, url


def test_the_map_scripts_are_admitted_by_their_hashes(app: Flask, users) -> None:
    client = app.test_client()
    session_login(client, users["commander"])
    response = client.get("/?vintage=2016&year=2015")
    page = response.get_data(as_text=True)
    srcdoc = html.unescape(page.split('srcdoc="', 1)[1].split('"></iframe>', 1)[0])
    scripts = re.findall(r"<script>(.*?)</script>", srcdoc, re.DOTALL)
    assert len(scripts) >= 2
    csp = response.headers["Content-Security-Policy"]
    for body in scripts:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert "<script>" not in page.split("<iframe", 1)[0]  # the page itself has no inline script


# --- production serving ------------------------------------------------------------------


def test_gunicorn_defaults_suit_two_cores() -> None:
    options = web_cli.gunicorn_options(
        "127.0.0.1", 5000, web_cli.DEFAULT_WORKERS, web_cli.DEFAULT_THREADS
    )
    assert (options["workers"], options["threads"], options["worker_class"]) == (2, 4, "gthread")
    assert options["bind"] == "127.0.0.1:5000"


def test_compstat_serve_runs_gunicorn(web_db: Engine, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "COMPSTAT_DATABASE_URL": url_of(web_db), "COMPSTAT_SECRET_KEY": "t"}
    command = [
        str(Path(sys.executable).with_name("compstat")),
        "serve",
        "--port",
        str(port),
        "--workers",
        "1",
        "--threads",
        "2",
    ]
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        response = None
        for _ in range(100):
            try:
                response = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except OSError:
                time.sleep(0.2)
        assert response is not None, (tmp_path / "serve.log").read_text()
        assert response.status == 200
        assert response.headers["Server"].startswith("gunicorn")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert "Booting worker" in (tmp_path / "serve.log").read_text()


# --- the browser, logged in as a researcher and as a commander --------------------------


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    with served(app) as url:
        yield url


def test_browser_researcher_and_commander_see_what_their_roles_allow(live_url: str) -> None:
    require_chromium()
    left: list[str] = []
    violations: list[str] = []

    loopback_only = local_only(live_url, left)

    def session_of(browser, name: str) -> dict[str, str]:
        page = browser.new_page(locale="es-MX")
        page.route("**/*", loopback_only)
        page.on(
            "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
        )
        page.goto(f"{live_url}/")
        assert page.url.startswith(f"{live_url}/login")
        page.fill("#name", name)
        page.fill("#password", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_url}/")
        page.frame_locator("iframe.map").locator("path.leaflet-interactive").first.wait_for()
        seen = {
            "account": page.locator("#account").inner_text(),
            "audit_link": str(page.locator("a[href='/admin/auditoria']").count()),
        }
        page.goto(f"{live_url}/api/v1/incidents?vintage=2016&unit=P-1.4")
        seen["incidents"] = page.locator("body").inner_text()
        page.goto(f"{live_url}/admin/auditoria")
        seen["audit"] = page.locator("h1").inner_text()
        page.close()
        return seen

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            researcher = session_of(browser, "t_researcher")
            commander = session_of(browser, "t_commander")
        finally:
            browser.close()
    assert researcher["account"] == "t_researcher (investigación)"
    assert json.loads(researcher["incidents"])["error"]["code"] == "forbidden"
    assert not any(m in researcher["incidents"] for m in POINT_MARKERS)
    assert commander["account"] == "t_commander (mando)"
    assert all(m in commander["incidents"] for m in POINT_MARKERS)
    assert researcher["audit"] == commander["audit"] == "403 · Acceso denegado"
    assert researcher["audit_link"] == commander["audit_link"] == "0"
    assert left == []
    # the only thing the policy refuses is the base map's tiles, from outside the host
    assert all("tile.openstreetmap.org" in v for v in violations), violations
