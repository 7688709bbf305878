"""The hotspot map page (/mapa), its JSON, downloads, API endpoint and methods page (issue 10).

Runs on the 2016 territory with synthetic SSP rows (the ``web_db`` fixture's three points
plus a planted cluster): street robberies in the quadrant nearest the Zócalo (12, every
other day from 1 June 2015) and the quadrants within about 1.5 km (6 each), and one
homicide in each of 40 quadrants spread over the first half of 2015. The 28 days to
Sunday 28 June 2015 hold all 12 robberies of the centre quadrant; the week of 22 to 28
June only the one of 23 June.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from numpy.testing import assert_allclose
from playwright.sync_api import Browser, Page, Request, sync_playwright
from sqlalchemy import Engine, text

from compstat import accounts, db
from compstat.queries import hotspots as hs
from compstat.queries.hotspots import COLUMNS
from etl.incidents import load_incidents
from etl.roster import load_roster
from tests.browser import CHROMIUM, local_only, require_chromium, served
from tests.conftest import POINT_MARKERS, TEST_PASSWORD, make_users, session_login
from tests.planting import SPREAD, ssp_row
from web.app import create_app

SSP_HEADER = '"cuadrante","crime","date","hour","year","month","lat","long","id"'
AS_OF = "2015-06-28"
WINDOW_START = date(2015, 6, 1)
CENTRE = (-99.1332, 19.4326)
IN_CENTRE, PER_NEIGHBOUR = 12, 6
#: The cluster: quadrants within about 1.5 km of the centre's (in degrees). Large enough for
#: Gi* with 999 permutations and FDR to flag it (at least 17 quadrants at the p floor).
REACH = 0.014
COMMANDER = "Ana Pérez"
MAP = f"/mapa?vintage=2016&as_of={AS_OF}"

NEIGHBOURS = """
SELECT q.code, ST_Y(ST_PointOnSurface(q.geom)) AS lat, ST_X(ST_PointOnSurface(q.geom)) AS lon,
       q.code = c.code AS centre
FROM quadrant q, (SELECT code, geom FROM quadrant
                  ORDER BY geom <-> ST_SetSRID(ST_Point(:lon, :lat), 4326) LIMIT 1) c
WHERE ST_DWithin(ST_PointOnSurface(q.geom), ST_PointOnSurface(c.geom), :reach) ORDER BY q.code
"""
TOUCHING = """
SELECT DISTINCT q.code FROM quadrant q JOIN quadrant c ON ST_Intersects(q.geom, c.geom)
WHERE c.code = ANY(:codes)
"""


@pytest.fixture(scope="module")
def planted(web_db: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Load the cluster, the spread homicides and a roster naming the centre's commander."""
    with web_db.connect() as conn:
        near = {"lon": CENTRE[0], "lat": CENTRE[1], "reach": REACH}
        cluster = conn.execute(text(NEIGHBOURS), near).all()
        codes = [r.code for r in cluster]
        spread = conn.execute(text(SPREAD), {"cluster": codes}).all()[::20][:40]
        touching = set(conn.execute(text(TOUCHING), {"codes": codes}).scalars())
    rows, key = [], 970000
    for code, lat, lon, is_centre in cluster:
        for k in range(IN_CENTRE if is_centre else PER_NEIGHBOUR):
            key += 1
            day = WINDOW_START + timedelta(days=2 * k)
            rows.append(ssp_row(code, "ROBO A TRANSEUNTE C.V.", day, lat, lon, key))
    for k, (code, lat, lon) in enumerate(spread):
        key += 1
        day = date(2015, 1, 1) + timedelta(days=k * 180 // (len(spread) - 1))
        rows.append(ssp_row(code, "HOMICIDIO DOLOSO", day, lat, lon, key))
    folder = tmp_path_factory.mktemp("map")
    path = folder / "ssp_mapa.csv"
    path.write_text("\n".join([SSP_HEADER, *rows]) + "\n", encoding="utf-8")
    assert load_incidents(web_db, path, "ssp").loaded == len(rows)
    centre = next(r.code for r in cluster if r.centre)
    roster = folder / "mandos.csv"
    roster.write_text(
        "level,unit_id,name,rank,start_date,end_date\n"
        f"quadrant,{centre},{COMMANDER},Segundo Inspector,2015-01-01,\n",
        encoding="utf-8",
    )
    load_roster(web_db, roster, default_vintage="2016")
    return {"centre": centre, "cluster": codes, "touching": touching, "rows": rows}


@pytest.fixture(scope="module")
def app(web_db: Engine, planted: dict, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    evaluation = tmp_path_factory.mktemp("evaluation") / "evaluacion.json"
    url = web_db.url.render_as_string(hide_password=False)
    config = {"TESTING": True, "DATABASE_URL": url, "HOTSPOT_EVALUATION": str(evaluation)}
    return create_app(config)


@pytest.fixture(scope="module")
def users(web_db: Engine) -> dict[str, str]:
    return make_users(web_db)


def client_as(app: Flask, users: dict[str, str], role: str) -> FlaskClient:
    client = app.test_client()
    session_login(client, users[role])
    return client


@pytest.fixture(scope="module")
def client(app: Flask, users: dict[str, str]) -> FlaskClient:
    """A commander; the first requests build the count cube and the shapes (warm the app)."""
    client = client_as(app, users, "commander")
    assert client.get("/mapa/formas.json?vintage=2016").status_code == 200
    assert client.get(f"/mapa.json?vintage=2016&as_of={AS_OF}").status_code == 200
    return client


def values(client: FlaskClient, **args: str) -> dict:
    query = "&".join(f"{k}={v}" for k, v in {"vintage": "2016", "as_of": AS_OF, **args}.items())
    response = client.get(f"/mapa.json?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def by_unit(data: dict, column: str) -> dict:
    return dict(zip(data["unit_ids"], data["columns"][column], strict=True))


# --- the page and its JSON ----------------------------------------------------------------


def test_page_has_the_choosers_and_no_inline_script(client: FlaskClient) -> None:
    page = client.get(MAP).get_data(as_text=True)
    assert "<h1>Mapa delictivo" in page
    for name in ("window", "as_of", "from", "to", "level", "group", "measure", "vintage", "basis"):
        assert f'name="{name}"' in page
    assert '/vendor/leaflet/leaflet.min.js"' in page and "/static/map.js" in page
    assert "<script>" not in page
    assert "openstreetmap" not in page.lower() and "cdn" not in page.lower()
    assert 'value="kde"' in page  # commanders may switch the density surface on
    assert 'href="/mapa"' in client.get("/semanal?vintage=2016").get_data(as_text=True)


def test_researchers_get_no_density_surface(app: Flask, users) -> None:
    researcher = client_as(app, users, "researcher")
    page = researcher.get(MAP + "&layers=gi,kde").get_data(as_text=True)
    assert 'value="kde"' not in page
    refused = researcher.get(f"/mapa/densidad.json?vintage=2016&as_of={AS_OF}")
    assert refused.status_code == 403
    for url in (f"/mapa.json?vintage=2016&as_of={AS_OF}", "/mapa/formas.json?vintage=2016"):
        body = researcher.get(url).get_data(as_text=True)
        assert [m for m in POINT_MARKERS if m in body] == []


def test_shapes_come_once_and_a_window_switch_sends_only_numbers(client: FlaskClient) -> None:
    response = client.get("/mapa/formas.json?vintage=2016&level=quadrant")
    topology = response.get_json()
    assert topology["type"] == "Topology"
    objects = topology["objects"]
    first = values(client)
    assert [g["id"] for g in objects["units"]["geometries"]] == first["unit_ids"]
    assert len(first["unit_ids"]) == 847
    assert len(objects["outlines"]["geometries"]) == 5  # the zones, for orientation
    # the browser keeps the shapes and asks again only whether they changed
    again = client.get(
        "/mapa/formas.json?vintage=2016&level=quadrant",
        headers={"If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304 and again.data == b""
    switch = values(client, window="week")
    assert "shapes" not in switch and "facts" not in switch and "commanders" not in switch
    assert switch["unit_ids"] == first["unit_ids"]
    assert set(switch["columns"]) >= {"count", "previous_pct_change", "gi_bin", "emerging"}
    emerging = switch["columns"]["emerging"]
    assert "no_pattern" in emerging["levels"] and len(emerging["codes"]) == 847


def test_window_switch_changes_the_numbers(client: FlaskClient, planted: dict) -> None:
    centre = planted["centre"]
    four_weeks = values(client, window="28d")
    week = values(client, window="week")
    assert four_weeks["window"] == {"start": "2015-06-01", "end": AS_OF}
    assert week["window"] == {"start": "2015-06-22", "end": AS_OF}
    assert by_unit(four_weeks, "count")[centre] == IN_CENTRE
    assert by_unit(week, "count")[centre] == 1  # only 23 June
    assert by_unit(four_weeks, "previous")[centre] == 0
    custom = values(client, window="custom", **{"from": "2015-06-01", "to": "2015-06-10"})
    assert by_unit(custom, "count")[centre] == 5  # 1, 3, 5, 7 and 9 June


def test_planted_cluster_is_a_hot_spot_and_has_its_commander(client, planted) -> None:
    data = values(client, window="28d")
    bins = by_unit(data, "gi_bin")
    assert bins[planted["centre"]] > 0
    hot = {unit for unit, v in bins.items() if v > 0}
    assert len(hot) >= 17 and hot <= planted["touching"]
    day = data["window"]["end"]
    about = client.get(f"/mapa/unidades.json?vintage=2016&level=quadrant&day={day}").get_json()
    assert about["commanders"] == {planted["centre"]: f"Segundo Inspector {COMMANDER}"}
    assert about["roster_fictitious"] is False and about["day"] == AS_OF
    assert about["facts"]["unit_ids"] == data["unit_ids"]
    assert len(about["facts"]["population"]) == len(about["facts"]["area_km2"]) == 847


@pytest.mark.parametrize("level", ["sector", "quadrant"])
def test_map_numbers_equal_the_weekly_table(client: FlaskClient, level: str) -> None:
    weekly = client.get(f"/semanal.json?vintage=2016&level={level}&as_of={AS_OF}").get_json()
    for window in ("week", "28d", "ytd"):
        table = {
            r["unit_id"]: r["current"]
            for r in weekly["rows"]
            if r["window"] == window and r["unit_id"] != "FUERA"
        }
        shown = by_unit(values(client, level=level, window=window), "count")
        assert shown == table
        assert sum(shown.values()) > 0


def test_bad_parameters_are_400(client: FlaskClient) -> None:
    assert client.get("/mapa?level=galaxia").status_code == 400
    assert client.get("/mapa.json?vintage=2016&window=custom&from=2015-06-01").status_code == 400
    assert client.get("/mapa.json?vintage=2016&layers=puntos").status_code == 400
    assert client.get("/mapa.json?vintage=1999").status_code == 404


def test_density_surface_holds_the_window_points(client: FlaskClient, planted: dict) -> None:
    surface = client.get(f"/mapa/densidad.json?vintage=2016&as_of={AS_OF}").get_json()
    robberies = IN_CENTRE + PER_NEIGHBOUR * (len(planted["cluster"]) - 1)
    days = [date.fromisoformat(r.split(",")[2]) for r in planted["rows"] if "HOMICIDIO" in r]
    homicides = sum(WINDOW_START <= d <= date.fromisoformat(AS_OF) for d in days)
    assert homicides == 6
    assert surface["properties"]["points"] == robberies + homicides
    assert surface["properties"]["bandwidth_m"] == 250
    assert len(surface["features"]) > 0


# --- downloads and the API ----------------------------------------------------------------


def test_downloads_carry_the_layer_and_are_audited(client, planted, web_db: Engine) -> None:
    args = f"vintage=2016&as_of={AS_OF}&level=quadrant&window=28d"
    response = client.get(f"/mapa.csv?{args}")
    assert response.status_code == 200
    assert "attachment" not in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert list(rows[0]) == COLUMNS and len(rows) == 847
    centre = next(r for r in rows if r["unit_id"] == planted["centre"])
    assert (centre["count"], centre["start"], centre["end"]) == ("12", "2015-06-01", AS_OF)
    layer = json.loads(client.get(f"/mapa.geojson?{args}").data)
    assert layer["type"] == "FeatureCollection" and len(layer["features"]) == 847
    assert layer["metadata"]["start"] == "2015-06-01"
    feature = next(f for f in layer["features"] if f["properties"]["unit_id"] == planted["centre"])
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert feature["properties"]["count"] == IN_CENTRE
    with db.transaction(web_db) as conn:
        audit = accounts.audit_entries(conn, user="t_commander", limit=2)
    assert [a["target"] for a in audit] == ["hotspots.download", "hotspots.download"]
    assert audit[0]["parameters"]["format"] == "geojson" and audit[0]["row_count"] == 847


def test_incident_points_are_the_windows_own_and_audited(client, planted, web_db) -> None:
    points = client.get(f"/mapa/puntos.json?vintage=2016&as_of={AS_OF}").get_json()
    fields = [row.split(",") for row in planted["rows"]]
    in_window = [f for f in fields if "2015-06-01" <= f[2] <= AS_OF]
    assert points["total"] == points["drawn"] == len(in_window) > IN_CENTRE
    assert points["window"] == {"start": "2015-06-01", "end": AS_OF}
    codes = [points["categories"][k]["code"] for k in points["category"]]
    assert sorted(codes) == sorted(
        "robo_transeunte_cv" if "ROBO" in f[1] else "homicidio_doloso" for f in in_window
    )
    # each point where it was reported (to about a metre), on its day of the window
    drawn = np.column_stack([points["lon"], points["lat"]])
    reported = np.array([(float(f[7]), float(f[6])) for f in in_window])
    assert_allclose(np.sort(drawn, axis=0), np.sort(reported, axis=0), atol=2e-5)
    days = sorted((date(2015, 6, 1) + timedelta(days=d)).isoformat() for d in points["day"])
    assert days == sorted(f[2] for f in in_window)
    with db.transaction(web_db) as conn:
        (audit,) = accounts.audit_entries(conn, user="t_commander", limit=1)
    assert (audit["action"], audit["target"]) == ("points", "hotspots.points")
    assert audit["row_count"] == len(in_window)


def test_too_many_points_are_counted_not_sent(web_db, planted) -> None:
    with web_db.connect() as conn:
        points = hs.window_points(conn, hs.HotspotQuery("2016", as_of=date(2015, 6, 28)), limit=3)
    assert points["total"] > 3 and points["drawn"] == 0 and points["lon"] == []


def test_api_gives_the_same_layer(client: FlaskClient, planted: dict) -> None:
    response = client.get(f"/api/v1/hotspots?vintage=2016&as_of={AS_OF}&level=quadrant")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/geo+json")
    features = response.get_json()["features"]
    counts = {f["properties"]["unit_id"]: f["properties"]["count"] for f in features}
    assert counts == by_unit(values(client, window="28d"), "count")
    assert client.get("/api/v1/hotspots?vintage=2016&window=custom").status_code == 400
    assert client.get("/api/v1/hotspots?vintage=2016&level=galaxia").status_code == 400
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/hotspots" in spec["paths"]


# --- the planner's methods page -------------------------------------------------------------


def test_methods_page_says_what_to_do_without_an_evaluation(client, app: Flask, users) -> None:
    missing = client.get("/mapa/metodos").get_data(as_text=True)
    assert "no existe" in missing and "compstat hotspots evaluate" in missing
    unset = create_app({**app.config, "HOTSPOT_EVALUATION": None})
    page = client_as(unset, users, "planner").get("/mapa/metodos").get_data(as_text=True)
    assert "No hay una evaluación configurada" in page


def test_methods_page_plots_each_methods_pai_per_window(client, app: Flask) -> None:
    def window(method: str, start: str, pai: float) -> dict:
        return {"basket": "alto_impacto", "method": method, "test_start": start, "pai": pai}

    stored = {
        "parameters": {"vintage": "2023", "start": "2023-01-02", "end": "2023-02-26"},
        "default_method": "blend",
        "methods": [
            {
                "basket": "alto_impacto",
                "method": "grid",
                "windows": 2,
                **dict.fromkeys(["mean_pai", "median_pai", "mean_pei", "mean_rri"], 1.0),
                "mean_hit_rate": 0.2,
            }
        ],
        "windows": [
            window("grid", "2023-01-02", 4.5),
            window("grid", "2023-01-30", 4.9),
            window("blend", "2023-01-02", 5.25),
            window("robbery", "2023-01-30", 3.0),
        ],
    }
    Path(app.config["HOTSPOT_EVALUATION"]).write_text(json.dumps(stored), encoding="utf-8")
    try:
        page = client.get("/mapa/metodos").get_data(as_text=True)
    finally:
        Path(app.config["HOTSPOT_EVALUATION"]).unlink()
    plot = json.loads(re.search(r"data-methods='([^']*)'", page).group(1))
    assert plot == {
        "windows": ["2023-01-02", "2023-01-30"],
        "series": [
            {"method": "grid", "pai": [4.5, 4.9]},
            {"method": "blend", "pai": [5.25, None]},
            {"method": "robbery", "pai": [None, 3.0]},
        ],
    }
    assert 'data-default="blend"' in page and "/static/charts.js" in page
    assert "PAI de cada método en cada ventana de prueba (alto_impacto)" in page


def test_methods_page_shows_the_stored_evaluation(client, app: Flask) -> None:
    stored = {
        "parameters": {
            "vintage": "2023",
            "start": "2023-01-02",
            "end": "2023-12-31",
            "test_days": 28,
            "train_days": 365,
            "coverage": 0.05,
        },
        "default_method": "blend",
        "beats_baseline": {"alto_impacto": True},
        "methods": [
            {
                "basket": "alto_impacto",
                "method": "grid",
                "windows": 13,
                "mean_pai": 4.68,
                "median_pai": 4.7,
                "mean_pei": 0.402,
                "mean_rri": 0.762,
                "mean_hit_rate": 0.234,
            },
            {
                "basket": "alto_impacto",
                "method": "blend",
                "windows": 13,
                "mean_pai": 5.01,
                "median_pai": 4.98,
                "mean_pei": 0.431,
                "mean_rri": 0.876,
                "mean_hit_rate": 0.251,
            },
        ],
        "windows": [],
    }
    Path(app.config["HOTSPOT_EVALUATION"]).write_text(json.dumps(stored), encoding="utf-8")
    page = client.get("/mapa/metodos").get_data(as_text=True)
    assert "Método por omisión: blend" in page
    assert 'data-method="grid"' in page and "4.68" in page and "5.01" in page
    assert "Supera a la cuadrícula (línea base): sí" in page
    Path(app.config["HOTSPOT_EVALUATION"]).write_text("no es JSON", encoding="utf-8")
    assert "no es una salida JSON" in client.get("/mapa/metodos").get_data(as_text=True)
    Path(app.config["HOTSPOT_EVALUATION"]).unlink()


# --- in the browser -------------------------------------------------------------------------


@pytest.fixture
def live_url(app: Flask, client: FlaskClient) -> Iterator[str]:
    with served(app) as url:
        yield url


def popup_rows(page) -> dict[str, str]:
    cells = page.locator(".unit-popup tr").evaluate_all(
        "rs => rs.map(r => [r.cells[0].innerText, r.cells[1].innerText])"
    )
    return {name.split(" (")[0]: " ".join(value.split()) for name, value in cells}


def map_as_commander(browser: Browser, url: str, guard, seen=None) -> Page:
    """Open the map at ``url`` (requests through ``guard``), log in as the commander, wait."""
    page = browser.new_page(viewport={"width": 1300, "height": 950}, locale="es-MX")
    page.route("**/*", guard)
    if seen is not None:
        page.on("request", seen)
    page.goto(url)
    page.fill("#name", "t_commander")
    page.fill("#password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector('#map[data-state="ready"]', timeout=60_000)
    return page


def test_map_in_the_browser(live_url: str, planted: dict, tmp_path: Path) -> None:
    require_chromium()
    centre = planted["centre"]
    refused: list[str] = []
    data_requests: list[str] = []

    guard = local_only(live_url, refused)

    def seen(request: Request) -> None:
        if "/mapa" in request.url:
            data_requests.append(request.url.removeprefix(live_url))

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = map_as_commander(browser, live_url + MAP, guard, seen)
            units = page.locator("#map .leaflet-overlay-pane path[data-unit]")
            assert units.count() == 847
            legend = page.locator(".map-legend").inner_text()
            assert "Incidentes" in legend and "Punto caliente" in legend
            assert page.locator(".map-legend .legend-row").count() >= 8
            # the URL holds the whole view state, as_of resolved
            assert "window=28d" in page.url and f"as_of={AS_OF}" in page.url
            assert "layers=gi" in page.url and "measure=count" in page.url
            # Gi*: the planted cluster is outlined; the toggle takes it away and back
            hot = int(page.locator("#map").get_attribute("data-gi"))
            assert hot >= 1
            assert page.locator("#map .leaflet-gi-pane path").count() == hot
            page.uncheck('input[name="layers"][value="gi"]')
            assert page.locator("#map").get_attribute("data-gi") == "off"
            assert page.locator("#map .leaflet-gi-pane path").count() == 0
            assert "layers=&" in page.url or page.url.endswith("layers=")
            page.check('input[name="layers"][value="gi"]')
            assert page.locator("#map .leaflet-gi-pane path").count() == hot
            # the density surface (commanders may see it): fetched, drawn on a canvas
            with page.expect_response(lambda r: "/mapa/densidad.json" in r.url):
                page.check('input[name="layers"][value="kde"]')
            page.wait_for_selector("#map .leaflet-kde-pane canvas")
            page.wait_for_function(
                "document.querySelector('.map-legend').innerText.includes('Densidad')"
            )
            assert "layers=gi%2Ckde" in page.url or "layers=gi,kde" in page.url
            page.uncheck('input[name="layers"][value="kde"]')
            assert "Densidad" not in page.locator(".map-legend").inner_text()
            # incident points, clustered (Debian's Leaflet.markercluster)
            with page.expect_response(lambda r: "/mapa/puntos.json" in r.url):
                page.check('input[name="layers"][value="points"]')
            page.wait_for_selector("#map .marker-cluster")
            drawn = int(page.locator("#map").get_attribute("data-points-drawn"))
            assert drawn > IN_CENTRE and "Puntos:" in page.locator(".map-legend").inner_text()
            page.screenshot(path=str(tmp_path / "mapa_puntos.png"))
            page.uncheck('input[name="layers"][value="points"]')
            assert page.locator("#map .marker-cluster").count() == 0
            # click the centre quadrant: its numbers, commander and trend link
            page.locator(f'#map path[data-unit="{centre}"]').click()
            page.wait_for_selector(f'.unit-popup[data-unit="{centre}"]')
            rows = popup_rows(page)
            assert page.locator(".unit-popup h3").inner_text() == f"Cuadrante {centre}"
            assert rows["Incidentes"] == str(IN_CENTRE)
            assert rows["Mando"] == f"Segundo Inspector {COMMANDER}"
            # population and area come with the commanders, when the first pop-up opens
            assert re.fullmatch(r"\d{1,3}(,\d{3})*", rows["Población"]), rows
            assert re.fullmatch(r"\d+\.\d\d", rows["Área"]), rows
            assert rows["Periodo anterior"].startswith("0 ·")
            assert rows["Gi*"].split(" · ")[1].startswith("Punto caliente")
            link = page.locator(".unit-popup a.trend-link").get_attribute("href")
            assert link.startswith("/tendencia?") and f"unit={centre}" in link
            assert "level=quadrant" in link
            page.screenshot(path=str(tmp_path / "mapa_28d.png"))
            page.click(".leaflet-popup-close-button")
            # switch the window: only JSON is fetched, the numbers change
            before = len(data_requests)
            total_28d = page.locator("#map-total").inner_text()
            with page.expect_response(lambda r: "/mapa.json" in r.url):
                page.select_option('select[name="window"]', "week")
            page.wait_for_selector('#map[data-window-start="2015-06-22"][data-state="ready"]')
            fetched = data_requests[before:]
            assert fetched and all(u.startswith("/mapa.json?") for u in fetched)
            assert "window=week" in page.url
            assert page.locator("#map-total").inner_text() != total_28d
            page.locator(f'#map path[data-unit="{centre}"]').click()
            page.wait_for_selector(f'.unit-popup[data-unit="{centre}"]')
            assert popup_rows(page)["Incidentes"] == "1"
            # a shared URL opens the same view
            page.goto(page.url.replace("measure=count", "measure=density"))
            page.wait_for_selector('#map[data-state="ready"]', timeout=60_000)
            assert page.locator('select[name="window"]').input_value() == "week"
            assert page.locator('select[name="measure"]').input_value() == "density"
            assert "Incidentes por km²" in page.locator(".map-legend").inner_text()
            # emerging hot spots as a layer: each unit shaded by its category, listed
            page.select_option('select[name="measure"]', "emerging")
            legend = page.locator(".map-legend").inner_text()
            assert "Puntos calientes emergentes" in legend and "sin patrón (" in legend
            assert "measure=emerging" in page.url
        finally:
            browser.close()
    assert refused == []


# --- reporting places (issue 10.3) ----------------------------------------------------------

FGJ_HEADER = (
    "alcaldia_hecho,colonia_key,latitud,longitud,delito,fecha_hecho,hora_hecho,anio_hecho,trimestre"
)
#: A planted complaints desk: 120 complaints of 12 offences, 84 of them desk offences.
DESK_OFFENCES = ["FRAUDE"] * 70 + ["FALSEDAD ANTE AUTORIDADES"] * 10
OTHER_OFFENCES = [
    "AMENAZAS",
    "VIOLENCIA FAMILIAR",
    "ROBO DE OBJETOS",
    "LESIONES INTENCIONALES POR GOLPES",
    "ABUSO SEXUAL",
    "DESPOJO",
    "ROBO A NEGOCIO SIN VIOLENCIA",
    "DAÑO EN PROPIEDAD AJENA INTENCIONAL",
    "NARCOMENUDEO POSESION SIMPLE",
    "ROBO DE ACCESORIOS DE AUTO",
]
PLACES_AS_OF = "2016-05-01"  # a Sunday: the places' year is 2015-05-03 to 2016-05-01
PLACES_MAP = f"/mapa?vintage=2016&as_of={PLACES_AS_OF}&layers=gi"


def _fgj_row(offence: str, k: int, lat: float, lon: float) -> str:
    day = date(2016, 1, 1) + timedelta(days=k)
    quarter = (day.month - 1) // 3 + 1
    return f'CUAUHTEMOC,1,{lat},{lon},"{offence}",{day},{k % 24:02d}:{k % 60:02d}:00,2016,{quarter}'


@pytest.fixture(scope="module")
def reporting_place(web_db: Engine, planted: dict, tmp_path_factory) -> dict:
    """Load FGJ complaints in 2016: one desk near the Zócalo, one busy street cell apart."""
    desk = DESK_OFFENCES + [o for o in OTHER_OFFENCES for _ in range(4)]
    street = [o for o in OTHER_OFFENCES if o != "ROBO A NEGOCIO SIN VIOLENCIA" for _ in range(13)]
    rows = [_fgj_row(o, k, CENTRE[1], CENTRE[0]) for k, o in enumerate(desk)]
    rows += [_fgj_row(o, k, CENTRE[1] + 0.01, CENTRE[0]) for k, o in enumerate(street)]
    path = tmp_path_factory.mktemp("fgj") / "fgj_lugares.csv"
    path.write_text("\n".join([FGJ_HEADER, *rows]) + "\n", encoding="utf-8")
    assert load_incidents(web_db, path, "fgj").loaded == len(rows)
    return {"desk": len(desk), "street": len(street)}


def test_reporting_places_layer_finds_the_desk_only(client: FlaskClient, reporting_place) -> None:
    response = client.get(f"/mapa/lugares.json?vintage=2016&as_of={PLACES_AS_OF}")
    assert response.status_code == 200, response.get_data(as_text=True)
    collection = response.get_json()
    assert collection["properties"]["from"] == "2015-05-03"
    assert collection["properties"]["to"] == PLACES_AS_OF
    assert collection["properties"]["rule"]["min_count"] == 100
    # the street cell (117 complaints, 9 offences, no desk offence) is not a place
    assert (
        collection["properties"]["incidents"] == reporting_place["desk"] + reporting_place["street"]
    )
    [place] = collection["features"]
    lon, lat = place["geometry"]["coordinates"]
    assert abs(lon - CENTRE[0]) < 0.001 and abs(lat - CENTRE[1]) < 0.001
    p = place["properties"]
    assert (p["count"], p["offences"], p["desk_share"], p["kind"]) == (120, 12, 0.7, "office")
    assert p["top_offences"][0] == {"offence": "FRAUDE", "count": 70}
    assert p["label_es"].startswith("Oficina de denuncias")
    # a 2015 window's year holds no FGJ complaint: no place
    before = client.get(f"/mapa/lugares.json?vintage=2016&as_of={AS_OF}").get_json()
    assert before["features"] == []


def test_researchers_get_no_reporting_places(app: Flask, users, reporting_place) -> None:
    researcher = client_as(app, users, "researcher")
    page = researcher.get(PLACES_MAP + ",places").get_data(as_text=True)
    assert 'value="places"' not in page and 'data-places=""' in page
    refused = researcher.get(f"/mapa/lugares.json?vintage=2016&as_of={PLACES_AS_OF}")
    assert refused.status_code == 403


def test_reporting_places_in_the_browser(live_url: str, reporting_place, tmp_path: Path) -> None:
    require_chromium()
    refused: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = map_as_commander(browser, live_url + PLACES_MAP, local_only(live_url, refused))
            markers = page.locator("#map .leaflet-places-pane path.reporting-place")
            assert markers.count() == 0
            with page.expect_response(lambda r: "/mapa/lugares.json" in r.url):
                page.check('input[name="layers"][value="places"]')
            page.wait_for_selector('#map[data-places-shown="1"]')
            assert markers.count() == 1
            assert "layers=gi%2Cplaces" in page.url or "layers=gi,places" in page.url
            assert "Lugares de denuncia: 1" in page.locator(".map-legend").inner_text()
            markers.first.click()
            page.wait_for_selector(".place-popup")
            popup = page.locator(".place-popup").inner_text()
            assert "Lugar de denuncia, no de patrullaje" in popup
            assert "enviar una patrulla no ayuda" in popup
            assert "120" in popup and "FRAUDE (70)" in popup and "70 %" in popup
            page.wait_for_timeout(400)  # the pop-up fades in and the map pans to it
            page.screenshot(path=str(tmp_path / "lugares.png"))
            page.click(".leaflet-popup-close-button")
            page.uncheck('input[name="layers"][value="places"]')
            assert markers.count() == 0
            assert page.locator("#map").get_attribute("data-places-shown") == "off"
            assert "Lugares de denuncia" not in page.locator(".map-legend").inner_text()
        finally:
            browser.close()
    assert refused == []
