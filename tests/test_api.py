"""API v1: the generated OpenAPI document, every path's example, errors, pagination, CLI parity."""

from __future__ import annotations

import io
import json
from urllib.parse import urlencode

import pandas as pd
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy import Engine

from compstat.cli import build_cli
from tests.conftest import SSP_POINTS, make_users, session_login
from web.app import create_app


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def app(web_db: Engine) -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": url_of(web_db), "SECRET_KEY": "t"})


@pytest.fixture(scope="module")
def users(web_db: Engine) -> dict[str, str]:
    return make_users(web_db)


@pytest.fixture
def admin(app: Flask, users: dict[str, str]) -> FlaskClient:
    client = app.test_client()
    session_login(client, users["admin"])
    return client


@pytest.fixture
def spec(admin: FlaskClient) -> dict:
    response = admin.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def example_url(path: str, operation: dict) -> str:
    query = []
    for param in operation["parameters"]:
        example = param.get("example")
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", str(example))
        elif example is not None:
            values = example if isinstance(example, list) else [example]
            query += [(param["name"], v) for v in values]
    return f"{path}?{urlencode(query)}" if query else path


def test_openapi_document_validates_and_lists_every_api_route(app: Flask, spec: dict) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.")
    routes = {r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")}
    documented = {p.replace("{", "<").replace("}", ">") for p in spec["paths"]}
    assert routes - documented == {"/api/v1/openapi.json", "/api/v1/docs"}
    incidents = spec["paths"]["/api/v1/incidents"]["get"]
    assert incidents["x-roles"] == ["admin", "commander", "planner"]
    assert {p["name"] for p in incidents["parameters"]} == {
        "vintage",
        "unit",
        "from",
        "to",
        "category",
        "page",
        "per_page",
    }
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "session"}


def test_every_documented_path_answers_its_example(admin: FlaskClient, spec: dict) -> None:
    for path, item in spec["paths"].items():
        url = example_url(path, item["get"])
        response = admin.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True))
        assert response.mimetype in item["get"]["responses"]["200"]["content"], url


def test_examples_return_the_known_rows(admin: FlaskClient) -> None:
    units = admin.get("/api/v1/units?vintage=2016&level=sector").get_json()
    assert units["pagination"]["total"] == 72
    assert {"code": "P-1.4", "name": "SAN ANGEL"}.items() <= next(
        u for u in units["data"] if u["code"] == "P-1.4"
    ).items()
    one = admin.get("/api/v1/units/P-1.4.8?vintage=2016").get_json()["data"][0]
    assert (one["level"], one["parent"]) == ("quadrant", "P-1.4")
    counts = admin.get("/api/v1/counts?vintage=2016&level=sector&period=year").get_json()
    assert [(r["unit_id"], r["period_start"], r["count"]) for r in counts["data"]] == [
        ("P-1.2", "2014-01-01", 1),
        ("P-1.2", "2015-01-01", 1),
        ("P-1.4", "2015-01-01", 1),
        ("P-1.4", "2015-01-01", 1),
    ]
    assert [r["category"] for r in counts["data"]][2:] == ["robo_negocio_cv", "robo_transeunte_cv"]


def test_units_with_geometry_are_geojson(admin: FlaskClient) -> None:
    response = admin.get("/api/v1/units?vintage=2016&level=sector&geometry=true&per_page=10")
    assert response.mimetype == "application/geo+json"
    data = response.get_json()
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 10
    assert data["metadata"]["pagination"] == {
        "page": 1,
        "per_page": 10,
        "total": 72,
        "pages": 8,
        "next_page": 2,
    }
    assert data["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert "geometry" not in admin.get("/api/v1/units?vintage=2016").get_json()["data"][0]


def test_counts_match_the_cli(admin: FlaskClient, web_db: Engine, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", url_of(web_db))
    args = [
        "--vintage",
        "2016",
        "--level",
        "quadrant",
        "--period",
        "day",
        "--from",
        "2015-01-01",
        "--to",
        "2015-12-31",
        "--format",
        "json",
    ]
    cli = json.loads(CliRunner().invoke(build_cli(), ["counts", *args]).output)
    api = admin.get(
        "/api/v1/counts?vintage=2016&level=quadrant&period=day&from=2015-01-01&to=2015-12-31"
    ).get_json()
    assert api["data"] == cli["rows"] and len(api["data"]) == 3
    assert api["columns"] == cli["columns"]


def test_counts_download_through_the_export_registry(admin: FlaskClient) -> None:
    response = admin.get("/api/v1/counts?vintage=2016&level=zone&period=year&format=csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'inline; filename="conteos_zone_year_version_2016.csv"'
    )
    frame = pd.read_csv(io.BytesIO(response.data), encoding="utf-8-sig")
    assert frame["count"].sum() == len(SSP_POINTS)
    dta = admin.get("/api/v1/counts?vintage=2016&level=zone&period=year&format=dta")
    assert pd.read_stata(io.BytesIO(dta.data))["count"].sum() == len(SSP_POINTS)


def test_pagination(admin: FlaskClient) -> None:
    first = admin.get("/api/v1/incidents?vintage=2016&per_page=3").get_json()
    assert first["pagination"] == {"page": 1, "per_page": 3, "total": 4, "pages": 2, "next_page": 2}
    second = admin.get("/api/v1/incidents?vintage=2016&per_page=3&page=2").get_json()
    assert [r["id"] for r in first["data"] + second["data"]] == sorted(
        r["id"] for r in admin.get("/api/v1/incidents?vintage=2016").get_json()["data"]
    )
    beyond = admin.get("/api/v1/incidents?vintage=2016&per_page=2&page=9").get_json()
    assert (beyond["data"], beyond["pagination"]["total"]) == ([], 4)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("/counts", "vintage"),
        ("/counts?vintage=2016&level=planeta", "level"),
        ("/counts?vintage=2016&period=hora", "period"),
        ("/counts?vintage=2016&from=2015-13-01", "from"),
        ("/counts?vintage=2016&to=ayer", "to"),
        ("/counts?vintage=2016&format=pdf", "format"),
        ("/counts?vintage=2016&per_page=0", "per_page"),
        ("/counts?vintage=2016&per_page=1000000", "per_page"),
        ("/counts?vintage=2016&page=x", "page"),
        ("/counts?vintage=2016&colour=red", "colour"),
        ("/units?vintage=2016&geometry=quizás", "geometry"),
        ("/units?vintage=", "vintage"),
        ("/incidents?vintage=2016&category=", "category"),
    ],
)
def test_bad_parameters_are_400_json_naming_them(admin: FlaskClient, query, parameter) -> None:
    response = admin.get(f"/api/v1{query}")
    assert (response.status_code, response.mimetype) == (400, "application/json")
    error = response.get_json()["error"]
    assert error["code"] == "bad_request"
    assert f"'{parameter}'" in error["message"]


def test_inconsistent_dates_are_400(admin: FlaskClient) -> None:
    response = admin.get("/api/v1/counts?vintage=2016&from=2016-01-01&to=2015-01-01")
    assert response.status_code == 400
    assert "start date is after the end date" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "query",
    [
        "/units/X-9.9?vintage=2016",
        "/incidents?vintage=2016&unit=X-9.9",
        "/counts?vintage=1999",
        "/units?vintage=1999",
        "/units/P-1.4?vintage=1999",
        "/nada",
    ],
)
def test_unknown_units_and_vintages_are_404_json(admin: FlaskClient, query: str) -> None:
    response = admin.get(f"/api/v1{query}")
    assert (response.status_code, response.mimetype) == (404, "application/json")
    assert set(response.get_json()["error"]) >= {"code", "message"}


def test_odd_input_never_gives_500(admin: FlaskClient) -> None:
    for query in (
        "/units/%00?vintage=2016",
        "/counts?vintage=%27;drop%20table",
        "/units/'?vintage=2",
        "/incidents?vintage=2016&unit=%25&from=0001-01-01",
        "/counts?vintage=2016&page=-1",
        "/incidents?vintage=2016&from=9999-12-31&to=9999-12-31",
    ):
        response = admin.get(f"/api/v1{query}")
        assert response.status_code < 500, (query, response.get_data(as_text=True))
        assert response.mimetype == "application/json"


def test_docs_page_is_served_locally(admin: FlaskClient, spec: dict) -> None:
    response = admin.get("/api/v1/docs")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    for path in spec["paths"]:
        assert f"GET {path}" in body
    assert "cdn" not in body.lower() and "<script" not in body


def test_every_overview_table_downloads_in_every_format(admin: FlaskClient) -> None:
    readers = {
        "csv": lambda b: pd.read_csv(io.BytesIO(b), encoding="utf-8-sig"),
        "xlsx": lambda b: pd.read_excel(io.BytesIO(b), sheet_name="datos"),
        "parquet": lambda b: pd.read_parquet(io.BytesIO(b)),
        "dta": lambda b: pd.read_stata(io.BytesIO(b)),
        "json": lambda b: pd.DataFrame(json.loads(b)["rows"]),
    }
    for table in ("territorio", "validacion", "incidentes", "cargas", "sectores"):
        lengths = set()
        for fmt, read in readers.items():
            response = admin.get(f"/{table}.{fmt}?year=2015")
            assert response.status_code == 200, (table, fmt)
            name = response.headers["Content-Disposition"].split('filename="', 1)[1][:-1]
            assert name.startswith(table) and name.endswith(f".{fmt}")
            lengths.add(len(read(response.data)))
        assert len(lengths) == 1, (table, lengths)
    assert admin.get("/sectores.xlsx?year=2015").headers["Content-Disposition"] == (
        'attachment; filename="sectores_2016_2015.xlsx"'
    )


def test_a_query_past_the_time_limit_is_stopped_with_a_clear_503(
    web_db: Engine, users: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    from web.handlers import api as handlers

    def slow(conn, args):
        conn.execute(text("SELECT pg_sleep(5)"))
        return {"data": []}

    monkeypatch.setattr(handlers, "vintages", slow)
    config = {
        "TESTING": True,
        "DATABASE_URL": url_of(web_db),
        "SECRET_KEY": "t",
        "API_STATEMENT_TIMEOUT": 0.2,
    }
    client = create_app(config).test_client()
    session_login(client, users["admin"])
    response = client.get("/api/v1/vintages")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert (error["code"], error["type"]) == ("unavailable", "QueryTimeoutError")
    assert "took too long" in error["message"]
    assert client.get("/api/v1/units?vintage=2016").status_code == 200  # the limit is per query


# --- accountability, trends and covariates: the CLI's rows ------------------------------------


def cli_json(web_db: Engine, monkeypatch, *args: str) -> dict:
    monkeypatch.setenv("DATABASE_URL", url_of(web_db))
    result = CliRunner().invoke(build_cli(), [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_accountability_rows_equal_the_cli(admin: FlaskClient, web_db: Engine, monkeypatch):
    cli = cli_json(
        web_db,
        monkeypatch,
        *("accountability", "--vintage", "2016", "--as-of", "2015-03-15", "--parent", "P-1"),
        *("--group", "alto_impacto", "--group", "robo_negocio_cv"),
    )
    query = "vintage=2016&as_of=2015-03-15&parent=P-1&group=alto_impacto&group=robo_negocio_cv"
    api = admin.get(f"/api/v1/accountability?{query}&per_page=10000").get_json()
    assert api["data"] == cli["rows"] and api["columns"] == cli["columns"]
    assert (api["as_of"], api["groups"]) == ("2015-03-15", ["alto_impacto", "robo_negocio_cv"])
    # Known answer: by 15 March 2015, P-1.4 had its two high-impact incidents of the year.
    ytd = [
        r
        for r in api["data"]
        if (r["unit_id"], r["group"], r["window"]) == ("P-1.4", "alto_impacto", "ytd")
    ]
    assert [r["current"] for r in ytd] == [2]
    paged = admin.get(f"/api/v1/accountability?{query}&per_page=5&page=2").get_json()
    assert paged["data"] == cli["rows"][5:10]


def test_trends_rows_equal_the_cli(admin: FlaskClient, web_db: Engine, monkeypatch) -> None:
    cli = cli_json(
        web_db,
        monkeypatch,
        *("trends", "--vintage", "2016", "--unit", "P-1.4", "--unit", "P-1.2"),
        *("--period", "month", "--from", "2015-01-01", "--to", "2015-06-30"),
    )
    query = "vintage=2016&unit=P-1.4&unit=P-1.2&period=month&from=2015-01-01&to=2015-06-30"
    api = admin.get(f"/api/v1/trends?{query}").get_json()
    assert api["data"] == cli["rows"] and api["columns"] == cli["columns"]
    p14 = {r["period_start"]: r["current"] for r in api["data"] if r["unit_id"] == "P-1.4"}
    assert (p14["2015-01-01"], p14["2015-02-01"], p14["2015-03-01"]) == (1, 0, 1)


def test_covariates_rows_and_metadata_equal_the_cli(
    admin: FlaskClient, web_db: Engine, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("DATABASE_URL", url_of(web_db))
    out = tmp_path / "cov.csv"
    args = ["covariates", "--vintage", "2016", "--from", "2015-01-01", "--to", "2015-06-30"]
    result = CliRunner().invoke(build_cli(), [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.with_name("cov.csv.manifest.json").read_text())
    api = admin.get("/api/v1/covariates?vintage=2016&from=2015-01-01&to=2015-06-30").get_json()
    meta = api["metadata"]
    for key in ("preset", "vintage", "census", "load_runs", "windows", "notes", "rows"):
        assert meta[key] == manifest[key], key
    assert meta["command"] == manifest["command"]
    cli_rows = pd.read_csv(out, encoding="utf-8-sig", dtype={"census": str})
    cli_rows["aliases"] = cli_rows["aliases"].fillna("")  # CSV reads an empty text as missing
    api_rows = pd.DataFrame(api["data"], columns=api["columns"])
    assert api["columns"] == list(cli_rows.columns)
    pd.testing.assert_frame_equal(
        api_rows.astype(cli_rows.dtypes.to_dict()), cli_rows, check_exact=False, rtol=1e-12
    )
    # Known answer: only P-1.4 had high-impact incidents in the moderator's 12 months.
    by_unit = api_rows.set_index("unit_id")
    assert by_unit.loc["P-1.4", "alto_impacto_count"] == 2
    assert by_unit["higher_crime"].sum() == 1 and by_unit.loc["P-1.4", "higher_crime"] == 1
    assert api["pagination"]["total"] == 72


def test_covariates_with_a_unit_list_and_as_a_researcher(app: Flask, users) -> None:
    client = app.test_client()
    session_login(client, users["researcher"])
    query = "vintage=2016&from=2015-01-01&to=2015-06-30&unit=P-1.4&unit=P-1.2"
    body = client.get(f"/api/v1/covariates?{query}").get_json()
    members = {r["unit_id"]: r["higher_crime"] for r in body["data"] if r["in_comparison"]}
    assert members == {"P-1.2": 0, "P-1.4": 1}
    assert body["metadata"]["parameters"]["units"] == ["P-1.4", "P-1.2"]
    for path in ("accountability?vintage=2016", "trends?vintage=2016&unit=P-1"):
        assert client.get(f"/api/v1/{path}").status_code == 200


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("/accountability", "vintage"),
        ("/accountability?vintage=2016&level=planeta", "level"),
        ("/accountability?vintage=2016&as_of=ayer", "as_of"),
        ("/accountability?vintage=2016&assignment=x", "assignment"),
        ("/trends?vintage=2016", "unit"),
        ("/trends?vintage=2016&unit=P-1.4&period=hora", "period"),
        ("/trends?vintage=2016&unit=P-1.4&from=2015-02-30", "from"),
        ("/covariates?vintage=2016&to=2015-06-30", "from"),
        ("/covariates?vintage=2016&from=2015-01-01", "to"),
        ("/covariates?vintage=2016&from=2015-01-01&to=2015-06-30&preset=nada", "preset"),
        ("/covariates?vintage=2016&from=2015-01-01&to=2015-06-30&level=zone", "level"),
        ("/covariates?vintage=2016&from=2015-01-01&to=2015-06-30&census=1990", "census"),
    ],
)
def test_new_endpoints_name_bad_parameters(admin: FlaskClient, query, parameter) -> None:
    response = admin.get(f"/api/v1{query}")
    assert (response.status_code, response.mimetype) == (400, "application/json")
    assert f"'{parameter}'" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "query",
    [
        "/accountability?vintage=1999",
        "/accountability?vintage=2016&parent=X-9",
        "/trends?vintage=2016&unit=X-9.9",
        "/trends?vintage=1999&unit=P-1.4",
        "/covariates?vintage=1999&from=2015-01-01&to=2015-06-30",
        "/covariates?vintage=2023&from=2015-01-01&to=2015-06-30",
        "/covariates?vintage=2016&from=2015-01-01&to=2015-06-30&unit=X-9.9",
    ],
)
def test_new_endpoints_unknown_units_and_vintages_are_404(admin: FlaskClient, query) -> None:
    response = admin.get(f"/api/v1{query}")
    assert (response.status_code, response.mimetype) == (404, "application/json")


def test_uncovered_covariate_window_is_400(admin: FlaskClient) -> None:
    response = admin.get("/api/v1/covariates?vintage=2016&from=2013-01-01&to=2013-06-30")
    assert response.status_code == 400
    assert "do not cover" in response.get_json()["error"]["message"]
