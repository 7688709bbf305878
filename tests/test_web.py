"""The minimal web page: territory and loaded counts, in Spanish and English, with twins.

Runs against real PostGIS databases (``territory_db`` has the real 2016 vintage)
into which a small synthetic SSP file is loaded with the real loader.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine

from compstat import exports
from etl.incidents import load_incidents
from tests.browser import CHROMIUM, local_only, require_chromium, served
from tests.conftest import TEST_PASSWORD, drop, fresh_engine, make_users, session_login
from web import formatting
from web.app import create_app
from web.handlers.overview import last_full_year
from web.i18n import SOURCE, catalog_paths
from web.tables import Table

ROOT = Path(__file__).resolve().parents[1]
HEADER = '"cuadrante","crime","date","hour","year","month","lat","long","id"'
# 2016 quadrants: P-1.4.x are in sector P-1.4 (SAN ANGEL), P-1.2.7 in P-1.2 (PLATEROS).
ROWS = [
    '"P-1.4.8","ROBO A TRANSEUNTE C.V.",2015-01-01,"10:07",2015,1,19.3272,-99.2103,900001',
    '"P-1.4.7","ROBO A NEGOCIO C.V.",2015-03-10,"18:36",2015,3,19.3345,-99.2036,900002',
    '"P-1.2.7","HOMICIDIO DOLOSO",2015-07-04,"01:31",2015,7,19.3790,-99.1961,900003',
    '"P-1.4.6","ROBO DE VEHICULO AUTOMOTOR S.V.",2016-06-30,"14:54",2016,6,19.3392,-99.1969,900004',
    # 30 February: quarantined.
    '"P-1.4.8","VIOLACION",2016-02-30,"12:00",2016,2,19.3272,-99.2103,900005',
]
TERRITORY_2016 = {"vintage": "2016", "zones": 5, "regions": 15, "sectors": 72, "quadrants": 847}
TERRITORY_COLUMNS = [
    "vintage",
    "zones",
    "regions",
    "sectors",
    "quadrants",
    "source_file",
    "source_crs",
    "loaded_at",
]


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def loaded_db(territory_db: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The 2016 vintage plus the synthetic SSP file: 4 incidents loaded, 1 quarantined."""
    path = tmp_path_factory.mktemp("ssp") / "ssp_sintetico.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    summary = load_incidents(territory_db, path, "ssp")
    assert (summary.read, summary.loaded, summary.duplicates) == (5, 4, 0)
    assert sum(summary.quarantined.values()) == 1
    return territory_db


@pytest.fixture(scope="module")
def users(loaded_db: Engine) -> dict[str, str]:
    return make_users(loaded_db)


@pytest.fixture(scope="module")
def app(loaded_db: Engine, users: dict[str, str]) -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": url_of(loaded_db), "SECRET_KEY": "t"})


@pytest.fixture
def client(app: Flask, users: dict[str, str]) -> FlaskClient:
    """A researcher's client: the overview and its twins hold aggregates only."""
    client = app.test_client()
    session_login(client, users["researcher"])
    return client


class TableParser(HTMLParser):
    """Collects the header and body cells of every ``<table id=...>``."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: list[list[str]] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.current = self.tables.setdefault(dict(attrs).get("id") or "", [])
        elif tag == "tr" and self.current is not None:
            self.current.append([])
        elif tag in ("td", "th") and self.current is not None:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.current is not None:
            self.current[-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def html_tables(body: bytes) -> dict[str, list[list[str]]]:
    parser = TableParser()
    parser.feed(body.decode("utf-8"))
    return parser.tables


def csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel in Spanish
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


# --- the HTML page -----------------------------------------------------------------------


def test_page_is_in_spanish_with_the_2016_counts(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    body = response.data.decode()
    assert '<html lang="es">' in body
    assert "Resumen de datos cargados" in body
    tables = html_tables(response.data)
    header, *rows = tables["tabla-territorio"]
    assert header[:5] == ["Versión", "Zonas", "Regiones", "Sectores", "Cuadrantes"]
    assert [r[:5] for r in rows] == [["2016", "5", "15", "72", "847"]]
    assert '<td class="num">847</td>' in body


def test_page_shows_incidents_quarantine_and_runs(client: FlaskClient) -> None:
    tables = html_tables(client.get("/").data)
    header, *rows = tables["tabla-incidentes"]
    assert header == ["Fuente", "Nombre", "Incidentes", "Desde", "Hasta", "Cuarentena"]
    by_source = {r[0]: r for r in rows}
    assert by_source["ssp"][2:] == ["4", "2015-01-01", "2016-06-30", "1"]
    assert by_source["fgj"][2:] == ["0", "—", "—", "0"]
    header, *runs = tables["tabla-cargas"]
    assert header[6:] == ["Leídos", "Cargados", "Duplicados", "Cuarentena"]
    assert runs[0][1:3] == ["incidentes", "ssp"]
    assert runs[0][6:] == ["5", "4", "0", "1"]
    assert runs[-1][1] == "territorio"


def test_page_shows_validation_highlights(client: FlaskClient) -> None:
    header, row = html_tables(client.get("/").data)["tabla-validacion"]
    cells = dict(zip(header, row, strict=True))
    assert cells["Versión"] == "2016"
    assert cells["Huecos"] == "96"
    assert cells["Clave y sector discordantes"] == "C-1.5.5"
    assert cells["Nombres de sector normalizados"] == "TAXQUEA→TAXQUEÑA"


def test_page_maps_sector_counts_of_the_last_full_year(client: FlaskClient) -> None:
    response = client.get("/")
    body = response.data.decode()
    assert "Incidentes por sector, 2015 (versión 2016)" in body
    assert "Año incompleto" not in body
    header, *rows = html_tables(response.data)["tabla-sectores"]
    assert header == ["Clave", "Nombre", "Incidentes"]
    assert rows == [["P-1.4", "SAN ANGEL", "2"], ["P-1.2", "PLATEROS", "1"]]
    # The folium map is embedded whole in an iframe, with every sector of the vintage.
    assert '<iframe class="map"' in body
    srcdoc = body.split('srcdoc="', 1)[1].split('"></iframe>', 1)[0]
    assert "L.map(" in srcdoc and "leaflet" in srcdoc
    assert "&#34;name&#34;: &#34;SAN ANGEL&#34;" in srcdoc
    assert "&#34;count&#34;: 2, &#34;count_text&#34;: &#34;2&#34;" in srcdoc
    assert srcdoc.count("&#34;type&#34;: &#34;Feature&#34;") == 72


def test_partial_year_is_flagged(client: FlaskClient) -> None:
    body = client.get("/?year=2016").data.decode()
    assert "Incidentes por sector, 2016 (versión 2016)" in body
    assert "Año incompleto: los datos cargados no cubren todo 2016." in body


def test_english_switch(client: FlaskClient) -> None:
    spanish = client.get("/").data.decode()
    assert 'href="/?lang=en"' in spanish
    response = client.get("/?lang=en")
    body = response.data.decode()
    assert '<html lang="en">' in body
    assert "Loaded data overview" in body
    assert "Incidents per sector, 2015 (vintage 2016)" in body
    tables = html_tables(response.data)
    assert tables["tabla-territorio"][0][:5] == [
        "Vintage",
        "Zones",
        "Regions",
        "Sectors",
        "Quadrants",
    ]
    assert tables["tabla-territorio"][1][:5] == ["2016", "5", "15", "72", "847"]
    assert tables["tabla-incidentes"][0][-1] == "Quarantined"
    assert "Zonas" not in body
    # the choice is remembered in the session; the switch back names Spanish
    assert '<html lang="en">' in client.get("/").data.decode()
    assert 'href="/?lang=es"' in body
    assert "Resumen de datos cargados" in client.get("/?lang=es").data.decode()
    # an unknown language keeps the remembered one
    assert '<html lang="es">' in client.get("/?lang=fr").data.decode()


def test_language_defaults_to_the_browser_then_spanish(app: Flask, users) -> None:
    browser = app.test_client()
    session_login(browser, users["planner"])
    english = browser.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).data.decode()
    assert '<html lang="en">' in english and "Loaded data overview" in english
    other = app.test_client()
    session_login(other, users["planner"])
    assert '<html lang="es">' in other.get("/", headers={"Accept-Language": "fr"}).data.decode()


def test_weekly_page_formats_dates_and_numbers_per_language(app: Flask, users) -> None:
    browser = app.test_client()
    session_login(browser, users["planner"])
    url = "/semanal?vintage=2016&level=zone&as_of=2015-03-15"
    spanish = browser.get(url + "&lang=es").data.decode()
    assert "domingo 15 de marzo de 2015" in spanish and "Zona" in spanish
    english = browser.get(url + "&lang=en").data.decode()
    assert "Sunday 15 March 2015" in english and "Zone" in english
    assert "domingo" not in english
    # back to Spanish, remembered for the next page
    browser.get(url + "&lang=es")
    assert "domingo 15 de marzo de 2015" in browser.get(url).data.decode()
    assert formatting.number(1234567.5, 1) == "1,234,567.5"  # es-MX groups like English
    assert formatting.short_date(date(2024, 9, 1), "es") == "1 sep 2024"
    assert formatting.short_date(date(2024, 9, 1), "en") == "1 Sep 2024"


def test_every_message_has_an_english_translation() -> None:
    po, _ = catalog_paths("en")
    with po.open("rb") as handle:
        catalog = read_po(handle)
    translated = {(m.context, m.id) for m in catalog if m.id and m.string}
    assert {(key, text) for key, text in SOURCE.items()} <= translated


# --- JSON and CSV twins ------------------------------------------------------------------


def test_json_twin_has_the_counts(client: FlaskClient) -> None:
    response = client.get("/resumen.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert (data["vintages"], data["vintage"], data["year"], data["full_year"]) == (
        ["2016"],
        "2016",
        2015,
        True,
    )
    (territory,) = data["tables"]["territorio"]
    assert {k: territory[k] for k in TERRITORY_2016} == TERRITORY_2016
    incidents = {r["source"]: r for r in data["tables"]["incidentes"]}
    assert incidents["ssp"] | {"name": None} == {
        "source": "ssp",
        "name": None,
        "incidents": 4,
        "quarantined": 1,
        "first": "2015-01-01",
        "last": "2016-06-30",
    }
    assert data["tables"]["sectores"] == [
        {"code": "P-1.4", "name": "SAN ANGEL", "count": 2},
        {"code": "P-1.2", "name": "PLATEROS", "count": 1},
    ]
    assert client.get("/?format=json").get_json() == data


def test_json_table_twin(client: FlaskClient) -> None:
    data = client.get("/territorio.json").get_json()
    assert data["table"] == "territorio"
    assert data["columns"] == TERRITORY_COLUMNS
    assert [{k: r[k] for k in TERRITORY_2016} for r in data["rows"]] == [TERRITORY_2016]
    sectors = client.get("/sectores.json?year=2016").get_json()
    assert (sectors["vintage"], sectors["year"], sectors["full_year"]) == ("2016", 2016, False)
    assert sectors["rows"] == [{"code": "P-1.4", "name": "SAN ANGEL", "count": 1}]
    (run,) = [r for r in client.get("/cargas.json").get_json()["rows"] if r["kind"] == "incidents"]
    assert (run["n_read"], run["n_loaded"], run["n_duplicate"], run["n_quarantined"]) == (
        5,
        4,
        0,
        1,
    )


def test_csv_twins(client: FlaskClient) -> None:
    response = client.get("/resumen.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.decode("utf-8-sig").splitlines()[0] == ",".join(TERRITORY_COLUMNS)
    (row,) = csv_rows(response.data)
    assert {k: row[k] for k in TERRITORY_2016} == {k: str(v) for k, v in TERRITORY_2016.items()}
    assert row["source_file"] == "Cuadrantes_2016_region_shp.zip"
    assert client.get("/?format=csv").data == response.data
    assert client.get("/territorio.csv").data == response.data
    assert csv_rows(client.get("/sectores.csv").data) == [
        {"code": "P-1.4", "name": "SAN ANGEL", "count": "2"},
        {"code": "P-1.2", "name": "PLATEROS", "count": "1"},
    ]
    incidents = {r["source"]: r for r in csv_rows(client.get("/incidentes.csv").data)}
    assert (incidents["ssp"]["incidents"], incidents["ssp"]["quarantined"]) == ("4", "1")
    assert (incidents["fgj"]["incidents"], incidents["fgj"]["first"]) == ("0", "")
    (validation,) = csv_rows(client.get("/validacion.csv").data)
    assert (validation["gaps"], validation["id_sector_mismatches"]) == ("96", "C-1.5.5")


def test_every_html_table_links_its_twins(client: FlaskClient) -> None:
    body = client.get("/").data.decode()
    for name in ("territorio", "validacion", "incidentes", "cargas", "sectores"):
        assert f'href="/{name}.json"' in body
        assert f'href="/{name}.csv"' in body
        assert client.get(f"/{name}.json").status_code == 200
        assert client.get(f"/{name}.csv").status_code == 200


# --- errors ------------------------------------------------------------------------------


def test_unknown_vintage_is_404_in_the_asked_for_format(client: FlaskClient) -> None:
    page = client.get("/?vintage=1999")
    assert (page.status_code, page.mimetype) == (404, "text/html")
    assert "No encontrado" in page.data.decode()
    assert "vintage &#39;1999&#39; is not loaded" in page.data.decode()
    assert "Not found" in client.get("/?vintage=1999&lang=en").data.decode()
    for url in (
        "/resumen.json?vintage=1999",
        "/sectores.json?vintage=1999",
        "/?vintage=1999&format=json",
    ):
        response = client.get(url)
        assert (response.status_code, response.mimetype) == (404, "application/json")
        error = response.get_json()["error"]
        assert (error["status"], error["type"]) == (404, "NotFoundError")
        assert error["message"] == "vintage '1999' is not loaded"
    response = client.get("/sectores.csv?vintage=1999")
    assert (response.status_code, response.mimetype) == (404, "text/plain")


def test_bad_parameters_are_400(client: FlaskClient) -> None:
    for url in ("/?year=abc", "/?format=xml", "/resumen.json?year=20x6"):
        response = client.get(url)
        assert response.status_code == 400, url
    error = client.get("/resumen.json?year=20x6").get_json()["error"]
    assert error["type"] == "InvalidQueryError"


def test_unknown_page_is_404(client: FlaskClient) -> None:
    assert client.get("/nada").status_code == 404
    assert client.get("/nada.json").get_json()["error"]["status"] == 404
    assert client.post("/").status_code == 405


# --- an empty database and no database at all -------------------------------------------


def test_empty_database() -> None:
    engine = fresh_engine("compstat_test_web_empty")
    try:
        check_empty_page(engine)
    finally:
        drop(engine)


def check_empty_page(engine) -> None:
    client = create_app({"TESTING": True, "DATABASE_URL": url_of(engine)}).test_client()
    session_login(client, make_users(engine)["planner"])
    response = client.get("/")
    assert response.status_code == 200
    body = response.data.decode()
    assert "No hay datos cargados." in body
    assert 'id="mapa"' not in body
    data = client.get("/resumen.json").get_json()
    assert (data["vintages"], data["vintage"], data["year"]) == ([], None, None)
    assert data["tables"]["territorio"] == []
    assert {r["source"]: r["incidents"] for r in data["tables"]["incidentes"]} == {
        "ssp": 0,
        "fgj": 0,
    }


def test_unreachable_database_is_503_at_request_time() -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nada"})
    client = app.test_client()
    session_login(client, "1:x")  # loading the session's user needs the database
    response = client.get("/resumen.json")
    assert response.status_code == 503
    assert response.get_json()["error"]["type"] == "DatabaseUnavailableError"
    assert "Base de datos no disponible" in client.get("/").data.decode()


def test_factory_touches_no_database_at_import_or_construction() -> None:
    script = textwrap.dedent("""
        import compstat.db as db

        def boom(*args, **kwargs):
            raise SystemExit("the database was touched")

        db.resolve_url = db.engine = db._engine_for = boom
        from web.app import create_app

        app = create_app({"TESTING": True})
        assert app.config["DATABASE_URL"] is None
        assert "overview.index" in app.view_functions
        print("ok")
    """)
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "COMPSTAT_DATABASE_URL")
    }
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr


def test_config_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPSTAT_DATABASE_URL", "postgresql://somebody@db.example/compstat")
    monkeypatch.setenv("COMPSTAT_RECENT_RUNS", "5")
    app = create_app()
    assert app.config["DATABASE_URL"] == "postgresql://somebody@db.example/compstat"
    assert app.config["RECENT_RUNS"] == 5
    assert create_app({"RECENT_RUNS": 3}).config["RECENT_RUNS"] == 3


# --- framework-free pieces ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (date(2015, 1, 1), date(2016, 6, 30), (2015, True)),
        (date(2013, 1, 1), date(2016, 9, 25), (2015, True)),
        (date(2019, 1, 1), date(2023, 12, 31), (2023, True)),
        (date(2016, 1, 1), date(2016, 12, 31), (2016, True)),
        (date(2016, 1, 2), date(2016, 12, 31), (2016, False)),
        (date(2016, 3, 1), date(2016, 6, 30), (2016, False)),
        (date(2015, 6, 1), date(2016, 6, 30), (2016, False)),
    ],
)
def test_last_full_year(first: date, last: date, expected: tuple[int, bool]) -> None:
    assert last_full_year(first, last) == expected


def test_table_forms() -> None:
    table = Table(
        "t",
        ("a", "b", "c"),
        [{"a": 1, "b": date(2016, 1, 2), "c": ["x", "y"]}, {"a": None, "b": None, "c": []}],
    )
    csv_body = exports.export(table.as_frame(), "csv")
    assert csv_body == "a,b,c\n1,2016-01-02,x;y\n,,\n".encode("utf-8-sig")
    assert json.loads(json.dumps(table.as_json()))["rows"][0] == {
        "a": 1,
        "b": "2016-01-02",
        "c": ["x", "y"],
    }


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """The app served on a free local port for the length of one test."""
    with served(app) as url:
        yield url


def test_map_draws_every_sector_with_no_internet(live_url: str):
    # every request that leaves the machine is refused, as on a network without internet
    require_chromium()
    refused: list[str] = []

    guard = local_only(live_url, refused)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(locale="es-MX")
            page.route("**/*", guard)
            page.goto(f"{live_url}/?vintage=2016&year=2015")
            assert page.url.startswith(f"{live_url}/login")
            page.fill("#name", "t_researcher")
            page.fill("#password", TEST_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{live_url}/?vintage=2016&year=2015")
            frame = page.frame_locator("iframe.map")
            sectors = frame.locator("path.leaflet-interactive")
            sectors.first.wait_for(timeout=20_000)
            fills = Counter(sectors.nth(i).get_attribute("fill") for i in range(sectors.count()))
            legend = frame.locator(".legend").count()
        finally:
            browser.close()
    # 2015: two incidents in P-1.4 (darkest), one in P-1.2, none in the other 70 sectors
    assert fills == {"#7f2704ff": 1, "#fd8d3cff": 1, "#fff5ebff": 70}
    assert legend == 1
    assert refused == []  # no base tiles, no CDN: nothing leaves the app's host


def test_missing_map_libraries_are_named_never_fetched_elsewhere(loaded_db, users, tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": url_of(loaded_db), "JS_DIR": tmp_path})
    client = app.test_client()
    session_login(client, users["commander"])
    page = client.get("/?vintage=2016&year=2015").get_data(as_text=True)
    assert "<iframe" not in page and "cdn" not in page.lower() and "https://" not in page
    expected = SOURCE["map_libraries_missing"] % {"packages": "libjs-d3, libjs-leaflet"}
    assert html.escape(expected, quote=False) in page
    assert status_of(client, "/vendor/leaflet/leaflet.min.js") == 404


def status_of(client: FlaskClient, url: str) -> int:
    with client.get(url) as response:  # a served file stays open until the response closes
        return response.status_code


def test_vendor_serves_only_the_map_libraries(client: FlaskClient):
    assert status_of(client, "/vendor/leaflet/leaflet.css") == 200
    assert status_of(client, "/vendor/leaflet/images/layers.png") == 200
    assert status_of(client, "/vendor/jquery/jquery.min.js") == 404
    assert status_of(client, "/vendor/leaflet") == 404
