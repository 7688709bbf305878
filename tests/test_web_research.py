"""The researcher page (/investigacion): moderator map, uncertain units, table, downloads.

Runs on the ``web_db`` fixture: the 2016 vintage and four synthetic SSP incidents. In
the 12 months to 30 June 2015 only sector P-1.4 has high-impact incidents (two), so
it alone is in the higher-crime class; a Poisson resample of its count is zero with
probability e^-2, so its higher-class probability is about 0.86: uncertain.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine, text

from compstat import snapshots
from compstat.cli import build_cli
from tests.browser import CHROMIUM, local_only, served
from tests.conftest import TEST_PASSWORD, make_users, session_login
from web.app import create_app

PAGE = "/investigacion?vintage=2016&to=2015-06-30"


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def app(web_db: Engine) -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": url_of(web_db), "SECRET_KEY": "t"})


@pytest.fixture
def researcher(app: Flask, web_db: Engine) -> FlaskClient:
    client = app.test_client()
    session_login(client, make_users(web_db)["researcher"])
    return client


def map_data(body: str) -> dict:
    start = body.index('<script type="application/json" id="research-data">')
    block = body[start:].split(">", 1)[1].split("</script>", 1)[0]
    return json.loads(block)


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_page_shows_the_map_the_uncertain_units_and_the_table(researcher) -> None:
    response = researcher.get(PAGE)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/investigacion"' in body  # the header links the page
    assert "Covariables y moderador" in body and "Tabla de covariables" in body
    features = map_data(body)["features"]
    assert len(features) == 72
    props = {f["properties"]["unit_id"]: f["properties"] for f in features}
    assert props["P-1.4"]["class"] == "higher" and props["P-1.4"]["count"] == 2
    assert {u for u, p in props.items() if p["class"] == "higher"} == {"P-1.4"}
    # O-1.1 has no residents: its rate is undefined, so it is outside the comparison set.
    assert props["O-1.1"]["class"] == "outside"
    assert 0.78 < props["P-1.4"]["probability"] < 0.94
    assert {u for u, p in props.items() if p["uncertain"]} == {"P-1.4"}
    assert "Unidades inciertas (1)" in body
    assert '<tr data-unit="P-1.4" class="higher uncertain">' in body
    # the window: the preset's 12 months ending on the given day
    assert 'name="from" value="2014-07-01"' in body
    assert "<script>" not in body  # the Content-Security-Policy admits no inline script


def test_the_page_in_english_and_with_a_unit_list(researcher) -> None:
    body = researcher.get(f"{PAGE}&lang=en&units=P-1.4+P-1.2%0AP-1.5").get_data(as_text=True)
    assert "Covariate table" in body and "Research" in body
    assert "3 units in the comparison set, 1 of them higher-crime; 72 units in all." in body
    props = {f["properties"]["unit_id"]: f["properties"] for f in map_data(body)["features"]}
    assert (props["P-1.2"]["class"], props["C-1.1"]["class"]) == ("lower", "outside")


def test_the_illustrative_list_holds_60_classifiable_sectors(researcher) -> None:
    body = researcher.get(f"{PAGE}&illustrative=1").get_data(as_text=True)
    props = [f["properties"] for f in map_data(body)["features"]]
    members = [p for p in props if p["class"] != "outside"]
    assert len(members) == 60 and "O-1.1" not in {p["unit_id"] for p in members}
    assert "Lista ilustrativa" in body


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("&units=X-9.9", "X-9.9"),
        ("&from=2013-01-01&to=2013-06-30", "do not cover"),
        ("&illustrative=1&level=quadrant", "illustrative"),
    ],
)
def test_a_request_it_cannot_compute_shows_why_with_the_form(researcher, query, message) -> None:
    response = researcher.get(f"/investigacion?vintage=2016{query}")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in body and 'name="preset"' in body


def test_bad_arguments_are_400(researcher) -> None:
    for query in ("to=ayer", "level=zona", "preset=nada", "basis=x"):
        response = researcher.get(f"/investigacion?vintage=2016&{query}")
        assert response.status_code == 400, query
    assert researcher.get("/investigacion?vintage=1999").status_code == 404
    assert researcher.get("/investigacion/descarga?vintage=2016&format=pdf").status_code == 400


@pytest.mark.parametrize("fmt", snapshots.FORMATS)
def test_each_download_holds_the_file_and_its_manifest(researcher, fmt: str) -> None:
    response = researcher.get(f"/investigacion/descarga?vintage=2016&to=2015-06-30&format={fmt}")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    name = f"covariables_2016_sector_2014-07-01_2015-06-30_default.{fmt}"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{name.rsplit(".", 1)[0]}_{fmt}.zip"'
    )
    files = unzip(response.data)
    assert sorted(files) == sorted([name, f"{name}.manifest.json"])
    manifest = json.loads(files[f"{name}.manifest.json"])
    assert manifest["sha256"] == hashlib.sha256(files[name]).hexdigest()
    assert (manifest["file"], manifest["rows"], manifest["parameters"]["format"]) == (name, 72, fmt)
    assert manifest["preset"]["name"] == "default"
    # the same request gives the same bytes
    again = researcher.get(f"/investigacion/descarga?vintage=2016&to=2015-06-30&format={fmt}")
    assert again.data == response.data


def test_a_download_is_the_cli_export_and_reproduces_from_its_manifest(
    researcher, web_db: Engine, monkeypatch, tmp_path: Path
) -> None:
    query = "vintage=2016&to=2015-06-30&units=P-1.4,P-1.2,P-1.5&format=csv"
    files = unzip(researcher.get(f"/investigacion/descarga?{query}").data)
    name = "covariables_2016_sector_2014-07-01_2015-06-30_default.csv"
    frame = pd.read_csv(io.BytesIO(files[name]), encoding="utf-8-sig").set_index("unit_id")
    assert frame.loc["P-1.4", "alto_impacto_count"] == 2
    assert frame["in_comparison"].sum() == 3 and frame["higher_crime"].sum() == 1
    monkeypatch.setenv("DATABASE_URL", url_of(web_db))
    manifest = tmp_path / f"{name}.manifest.json"
    manifest.write_bytes(files[f"{name}.manifest.json"])
    out = tmp_path / "again.csv"
    result = CliRunner().invoke(
        build_cli(), ["covariates", "--from-manifest", str(manifest), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == files[name]


def test_downloads_are_audited(researcher, web_db: Engine) -> None:
    researcher.get("/investigacion/descarga?vintage=2016&to=2015-06-30&format=parquet")
    with web_db.connect() as conn:
        row = conn.execute(
            text(
                "SELECT user_name, target, parameters, row_count FROM audit_log "
                "WHERE action = 'export' ORDER BY id DESC LIMIT 1"
            )
        ).one()
    assert (row.user_name, row.target, row.row_count) == ("t_researcher", "research.download", 72)
    assert row.parameters["format"] == "parquet" and row.parameters["to"] == "2015-06-30"


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    with served(app) as url:
        yield url


def test_a_researcher_sees_the_map_in_a_browser(live_url: str, tmp_path: Path) -> None:
    refused: list[str] = []

    guard = local_only(live_url, refused)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.route("**/*", guard)
            page.goto(f"{live_url}{PAGE}")
            page.fill("#name", "t_researcher")
            page.fill("#password", TEST_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#research-map path.leaflet-interactive")
            shapes = page.locator("#research-map path.leaflet-interactive")
            assert shapes.count() == 72
            dashed = page.locator('#research-map path[stroke-dasharray="5 4"]')
            assert dashed.count() == 1  # P-1.4, the one uncertain unit
            assert page.locator(".uncertain-list li").count() == 1
            page.screenshot(
                path=os.environ.get("RESEARCH_SCREENSHOT", str(tmp_path / "research.png")),
                full_page=True,
            )
        finally:
            browser.close()
    assert refused == [] and errors == []
