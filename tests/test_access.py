"""Who gets what: the route x role matrix from the URL map, log-in, CSRF, rate limit, tokens.

Runs on a real PostGIS (the 2016 vintage, four synthetic incidents, one user per role).
"""

from __future__ import annotations

import json
import os
import time

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Engine, text

from compstat import accounts, db
from compstat.cli import build_cli
from tests.conftest import POINT_MARKERS, TEST_PASSWORD, form_login, make_users, session_login
from web import access
from web.app import create_app

ANONYMOUS = None
ROLES = (ANONYMOUS, "researcher", "planner", "commander", "admin")
#: One request per endpoint: (method, URL). A new route needs a line here and a rule in
#: web.access.RULES, or test_every_route_has_a_rule_and_an_example fails.
EXAMPLES = {
    "static": ("GET", "/static/style.css"),
    "vendor.asset": ("GET", "/vendor/leaflet/leaflet.css"),
    "auth.login": ("GET", "/login"),
    "auth.logout": ("POST", "/logout"),
    "health.healthz": ("GET", "/healthz"),
    "overview.index": ("GET", "/?vintage=2016&year=2015"),
    "overview.summary": ("GET", "/resumen.json"),
    "overview.table": ("GET", "/sectores.csv?year=2015"),
    "admin.audit": ("GET", "/admin/auditoria"),
    "api.openapi_json": ("GET", "/api/v1/openapi.json"),
    "api.docs": ("GET", "/api/v1/docs"),
    "api.vintages": ("GET", "/api/v1/vintages"),
    "api.units": ("GET", "/api/v1/units?vintage=2016&level=quadrant"),
    "api.unit": ("GET", "/api/v1/units/P-1.4.8?vintage=2016"),
    "api.counts": ("GET", "/api/v1/counts?vintage=2016&level=quadrant&period=day"),
    "api.incidents": ("GET", "/api/v1/incidents?vintage=2016&unit=P-1.4"),
    "api.accountability": ("GET", "/api/v1/accountability?vintage=2016&as_of=2015-03-15"),
    "api.trends": ("GET", "/api/v1/trends?vintage=2016&unit=P-1.4"),
    "api.covariates": ("GET", "/api/v1/covariates?vintage=2016&from=2015-01-01&to=2015-06-30"),
    "research.page": ("GET", "/investigacion?vintage=2016&to=2015-06-30"),
    "research.download": ("GET", "/investigacion/descarga?vintage=2016&to=2015-06-30&format=csv"),
    "weekly.page": ("GET", "/semanal?vintage=2016&level=sector&as_of=2015-03-15"),
    "weekly.download": ("GET", "/semanal.csv?vintage=2016&level=sector&as_of=2015-03-15"),
    "trends.unit": ("GET", "/tendencia?vintage=2016&unit=P-1.4"),
    "trends.explorer": ("GET", "/tendencias?vintage=2016&unit=P-1.4"),
    "trends.series": ("GET", "/tendencias.json?vintage=2016&unit=P-1.4"),
    "trends.time_of_day": ("GET", "/hora.json?vintage=2016&unit=P-1.4&as_of=2015-03-15"),
    "hotspots.page": ("GET", "/mapa?vintage=2016&as_of=2015-03-15"),
    "hotspots.values": ("GET", "/mapa.json?vintage=2016&as_of=2015-03-15"),
    "hotspots.shapes": ("GET", "/mapa/formas.json?vintage=2016&level=sector"),
    "hotspots.units": ("GET", "/mapa/unidades.json?vintage=2016&level=sector&day=2015-03-15"),
    "hotspots.points": ("GET", "/mapa/puntos.json?vintage=2016&as_of=2015-03-15"),
    "hotspots.density": ("GET", "/mapa/densidad.json?vintage=2016&as_of=2015-03-15"),
    "hotspots.places": ("GET", "/mapa/lugares.json?vintage=2016&as_of=2015-03-15"),
    "hotspots.download": ("GET", "/mapa.csv?vintage=2016&level=sector&as_of=2015-03-15"),
    "hotspots.methods": ("GET", "/mapa/metodos"),
    "api.hotspots": ("GET", "/api/v1/hotspots?vintage=2016&level=sector&as_of=2015-03-15"),
}


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def users(web_db: Engine) -> dict[str, str]:
    return make_users(web_db)


@pytest.fixture(scope="module")
def app(web_db: Engine) -> Flask:
    """The app with CSRF on, as deployed."""
    return create_app({"TESTING": True, "DATABASE_URL": url_of(web_db), "SECRET_KEY": "t"})


@pytest.fixture(scope="module")
def matrix_app(web_db: Engine) -> Flask:
    """The app without CSRF, so the matrix can post to /logout."""
    config = {
        "TESTING": True,
        "DATABASE_URL": url_of(web_db),
        "SECRET_KEY": "t",
        "WTF_CSRF_ENABLED": False,
    }
    return create_app(config)


def client_as(app: Flask, users: dict[str, str], role: str | None):
    client = app.test_client()
    if role is not None:
        session_login(client, users[role])
    return client


def expected_status(endpoint: str, role: str | None) -> int:
    method, url = EXAMPLES[endpoint]
    rule = access.RULES[endpoint]
    if rule == access.PUBLIC:
        return 200
    if role is None:
        machine = url.startswith("/api/") or ".json" in url or method == "POST"
        return 401 if machine else 302  # JSON clients get 401, browsers the log-in page
    if role not in rule:
        return 403
    return 302 if endpoint == "auth.logout" else 200


def test_every_route_has_a_rule_and_an_example(matrix_app: Flask) -> None:
    endpoints = {rule.endpoint for rule in matrix_app.url_map.iter_rules()}
    assert sorted(endpoints - set(access.RULES)) == [], "routes without an access rule"
    assert sorted(endpoints - set(EXAMPLES)) == [], "routes without an example request"
    assert sorted(set(access.RULES) - endpoints) == [], "rules of routes that do not exist"


def test_the_rules_that_protect_points_and_the_audit() -> None:
    assert access.RULES["api.incidents"] == {"admin", "commander", "planner"}
    assert access.RULES["admin.audit"] == {"admin"}
    public = {e for e, rule in access.RULES.items() if rule == access.PUBLIC}
    assert public == {"auth.login", "static", "vendor.asset", "health.healthz"}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_route_role_matrix(matrix_app: Flask, users: dict[str, str], role: str | None) -> None:
    got, want = {}, {}
    for rule in matrix_app.url_map.iter_rules():
        endpoint = rule.endpoint
        method, url = EXAMPLES[endpoint]
        client = client_as(matrix_app, users, role)
        with client.open(url, method=method) as response:
            got[endpoint] = response.status_code
            body = response.get_data()
            location = response.headers.get("Location", "")
        want[endpoint] = expected_status(endpoint, role)
        if got[endpoint] == 302 and endpoint != "auth.logout":
            assert location.startswith("/login?next="), (endpoint, location)
        if role in (None, "researcher"):
            leaked = [m for m in POINT_MARKERS if m.encode() in body]
            assert leaked == [], f"{endpoint} shows incident points to {role or 'anonymous'}"
    assert got == want


def test_points_reach_commanders(matrix_app: Flask, users: dict[str, str]) -> None:
    body = client_as(matrix_app, users, "commander").get(EXAMPLES["api.incidents"][1]).get_json()
    assert [(r["quadrant"], r["occurred_date"], r["occurred_time"]) for r in body["data"]] == [
        ("P-1.4.8", "2015-01-01", "10:07:00"),
        ("P-1.4.7", "2015-03-10", "18:36:00"),
    ]
    assert (body["data"][0]["latitude"], body["data"][0]["longitude"]) == (19.327247, -99.210358)
    refused = client_as(matrix_app, users, "researcher").get(EXAMPLES["api.incidents"][1])
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "forbidden"


def test_a_route_without_a_rule_is_refused_to_everyone(web_db: Engine, users) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": url_of(web_db), "SECRET_KEY": "t"})
    app.add_url_rule("/sin-regla", "sin_regla", lambda: "secreto")
    response = client_as(app, users, "admin").get("/sin-regla")
    assert response.status_code == 403
    assert b"secreto" not in response.data


# --- log-in, CSRF, rate limit ----------------------------------------------------------------


def test_log_in_through_the_form_and_out(app: Flask, users) -> None:
    client = app.test_client()
    assert client.get("/").status_code == 302
    response = form_login(client, "t_planner")
    assert (response.status_code, response.headers["Location"]) == (302, "/")
    page = client.get("/").get_data(as_text=True)
    assert "t_planner (planeación)" in page
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_next_only_goes_to_this_site(app: Flask, users) -> None:
    client = app.test_client()
    client.get("/login?next=//evil.example/x")
    from tests.conftest import csrf_token

    token = csrf_token(client, "/login?next=//evil.example/x")
    data = {"name": "t_planner", "password": TEST_PASSWORD, "csrf_token": token}
    response = client.post("/login?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/"


def test_forged_forms_without_a_csrf_token_are_refused(app: Flask, users) -> None:
    client = app.test_client()
    client.get("/login")
    forged = client.post("/login", data={"name": "t_admin", "password": TEST_PASSWORD})
    assert forged.status_code == 400
    assert "CSRF" in forged.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in
    session_login(client, users["admin"])
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still logged in


def test_the_eleventh_failed_log_in_in_a_minute_gets_429(app: Flask, users) -> None:
    client = app.test_client()
    address = {"REMOTE_ADDR": "10.9.8.7"}
    statuses = [
        form_login(client, "t_admin", "contraseña equivocada", **address).status_code
        for _ in range(10)
    ]
    assert statuses == [401] * 10
    assert form_login(client, "t_admin", "contraseña equivocada", **address).status_code == 429
    assert form_login(client, "t_admin", TEST_PASSWORD, **address).status_code == 429
    # another address is not held back, and good log-ins do not count
    assert form_login(app.test_client(), "t_admin", TEST_PASSWORD).status_code == 302


def test_the_limit_is_shared_by_workers_through_redis(web_db: Engine, users) -> None:
    config = {
        "TESTING": True,
        "DATABASE_URL": url_of(web_db),
        "SECRET_KEY": "t",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "RATELIMIT_KEY_PREFIX": f"compstat-test-{os.getpid()}-{time.time_ns()}",
    }
    workers = [create_app(config), create_app(config)]  # two processes of one deployment
    address = {"REMOTE_ADDR": "10.9.8.6"}
    statuses = [
        form_login(workers[i % 2].test_client(), "t_admin", "equivocada", **address).status_code
        for i in range(11)
    ]
    assert statuses == [401] * 10 + [429]


def test_wrong_password_and_unknown_user_get_the_same_answer(app: Flask, users) -> None:
    wrong = form_login(app.test_client(), "t_admin", "no es la contraseña", REMOTE_ADDR="10.0.0.2")
    unknown = form_login(app.test_client(), "nadie", "no es la contraseña", REMOTE_ADDR="10.0.0.3")
    assert wrong.status_code == unknown.status_code == 401
    assert "Usuario o contraseña incorrectos" in wrong.get_data(as_text=True)


# --- the CLI: users, tokens, disabling, the audit log --------------------------------------


@pytest.fixture
def cli(web_db: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", url_of(web_db))
    root = build_cli()

    def invoke(*args: str, stdin: str | None = None):
        return CliRunner().invoke(root, list(args), input=stdin, catch_exceptions=False)

    return invoke


def test_token_works_and_stops_after_revoke(app: Flask, cli, users) -> None:
    token = cli("users", "token", "t_researcher").output.strip()
    assert token.startswith("cs_")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/vintages").status_code == 401
    response = client.get("/api/v1/vintages", headers=headers)
    assert response.status_code == 200
    assert [v["name"] for v in response.get_json()["data"]] == ["2016"]
    assert client.get("/api/v1/incidents?vintage=2016", headers=headers).status_code == 403
    assert "tokens=1" in cli("users", "list").output.split("t_researcher", 1)[1].splitlines()[0]
    assert cli("users", "revoke-token", "t_researcher").output.strip() == (
        "t_researcher: 1 token(s) revoked"
    )
    assert client.get("/api/v1/vintages", headers=headers).status_code == 401
    bad = client.get("/api/v1/vintages", headers={"Authorization": "Bearer cs_inventado"})
    assert bad.status_code == 401


def test_tokens_are_stored_hashed(web_db: Engine, cli, users) -> None:
    token = cli("users", "token", "t_planner").output.strip()
    with db.transaction(web_db) as conn:
        stored = conn.execute(text("SELECT token_sha256 FROM api_token")).scalars().all()
    assert token not in stored and all(len(s) == 64 for s in stored)
    cli("users", "revoke-token", "t_planner")


def test_disabled_user_cannot_log_in(app: Flask, cli) -> None:
    out = cli(
        "users",
        "add",
        "t_baja",
        "--role",
        "commander",
        "--password-stdin",
        stdin=TEST_PASSWORD + "\n",
    ).output
    assert out.strip() == "t_baja (commander): password set"
    logged_in = app.test_client()
    assert form_login(logged_in, "t_baja").status_code == 302
    assert logged_in.get("/").status_code == 200
    token = cli("users", "token", "t_baja").output.strip()
    assert cli("users", "disable", "t_baja").output.strip() == "t_baja disabled"
    response = form_login(app.test_client(), "t_baja", REMOTE_ADDR="10.0.0.4")
    assert response.status_code == 401
    assert logged_in.get("/").status_code == 302  # the open session ends too
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/vintages", headers=headers).status_code == 401
    listed = cli("users", "list").output
    assert "t_baja" in listed and "disabled" in listed.split("t_baja", 1)[1].splitlines()[0]


def test_a_new_password_ends_open_sessions(app: Flask, cli) -> None:
    cli(
        "users",
        "add",
        "t_cambio",
        "--role",
        "planner",
        "--password-stdin",
        stdin=TEST_PASSWORD + "\n",
    )
    client = app.test_client()
    assert form_login(client, "t_cambio").status_code == 302
    assert client.get("/").status_code == 200
    cli("users", "set-password", "t_cambio", "--password-stdin", stdin=TEST_PASSWORD + "!\n")
    assert client.get("/").status_code == 302
    assert form_login(client, "t_cambio", TEST_PASSWORD + "!").status_code == 302
    assert client.get("/").status_code == 200


def test_users_add_prints_a_random_password_once_and_checks_input(cli, app: Flask) -> None:
    out = cli("users", "add", "t_nuevo", "--role", "researcher").output.strip()
    assert out.startswith("t_nuevo (researcher): password ")
    password = out.rsplit(" ", 1)[1]
    assert form_login(app.test_client(), "t_nuevo", password).status_code == 302
    again = cli("users", "add", "t_nuevo", "--role", "researcher")
    assert again.exit_code == 1 and "already exists" in again.output
    reset = cli("users", "add", "t_nuevo", "--role", "planner", "--reset").output.strip()
    assert reset.startswith("t_nuevo (planner): password ") and reset.rsplit(" ", 1)[1] != password
    short = cli("users", "set-password", "t_nuevo", "--password-stdin", stdin="corta\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    assert cli("users", "add", "mal nombre", "--role", "admin").exit_code == 1
    assert cli("users", "disable", "nadie").exit_code == 1


def test_audit_log_records_log_ins_exports_api_calls_and_user_changes(
    app: Flask, cli, users, web_db: Engine
) -> None:
    client = app.test_client()
    form_login(client, "t_commander", "equivocada por poco", REMOTE_ADDR="10.0.0.5")
    form_login(client, "t_commander")
    client.get("/sectores.csv?year=2015")
    client.get("/api/v1/incidents?vintage=2016&unit=P-1.4")
    rows = json.loads(cli("audit", "--user", "t_commander", "--format", "json").output)
    assert [r["action"] for r in rows[:4]] == ["api", "export", "login", "login_failed"]
    api, export, login, failed = rows[:4]
    assert login["address"] == "127.0.0.1"
    assert (api["target"], api["row_count"]) == ("api.incidents", 2)
    assert api["parameters"]["unit"] == "P-1.4" and api["parameters"]["vintage"] == "2016"
    assert (export["target"], export["row_count"]) == ("overview.table", 2)
    assert export["parameters"] == {"table": "sectores", "format": "csv", "year": "2015"}
    assert failed["parameters"] == {"reason": "wrong password"}
    assert failed["address"] == "10.0.0.5"
    text_out = cli("audit", "--since", "2000-01-01").output
    assert "user_add t_" in text_out
    # the admin page lists it; nobody else sees it
    page = client_as(app, users, "admin").get("/admin/auditoria?user=t_commander")
    assert page.status_code == 200 and "api.incidents" in page.get_data(as_text=True)
    assert client.get("/admin/auditoria").status_code == 403


def test_audit_log_is_append_only(web_db: Engine, users) -> None:
    for statement in (
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(Exception, match="append-only"), db.transaction(web_db) as conn:
            conn.execute(text(statement))


def test_a_failed_export_leaves_no_audit_row(app: Flask, users, web_db: Engine) -> None:
    client = client_as(app, users, "planner")
    assert client.get("/sectores.csv?vintage=1999").status_code == 404
    with db.transaction(web_db) as conn:
        rows = accounts.audit_entries(conn, user="t_planner", limit=5)
    assert all(r["parameters"].get("vintage") != "1999" for r in rows)
