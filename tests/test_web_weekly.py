"""The weekly table, its downloads, the trend pages and the time-of-day chart on the real data.

Known answers come from direct SQL over ``incident`` and its assignment (the
page reads the count cube), and from the real files: in the week of 8 to 14 June
2015 the SSP recorded 7 high-impact incidents in sector P-1.4 (SAN ANGEL) and 9 in
C-1.1 (ALAMEDA); in the same week of 2014 (9 to 15 June), 7 and 7.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine, text

from compstat.groups import group
from compstat.queries.timeofday import TimeOfDayQuery, time_of_day
from tests.browser import CHROMIUM, local_only, require_chromium, served
from tests.conftest import TEST_PASSWORD, make_users, session_login
from web.app import create_app
from web.formatting import percent
from web.handlers.weekly import COLUMNS, WeeklyQuery, weekly

SECTORS_2015 = "/semanal?vintage=2016&level=sector&as_of=2015-06-14"
COUNT_COLUMNS = {"week": (2, 3), "28d": (5, 6), "ytd": (8, 9)}
PCT_COLUMNS = {"week": 4, "28d": 7, "ytd": 10}


@pytest.fixture(scope="module")
def app(real_db: Engine) -> Flask:
    url = real_db.url.render_as_string(hide_password=False)
    return create_app({"TESTING": True, "DATABASE_URL": url})


@pytest.fixture(scope="module")
def client(app: Flask, real_db: Engine) -> FlaskClient:
    """A planner's browser: every aggregate page and the time-of-day chart."""
    client = app.test_client()
    session_login(client, make_users(real_db)["planner"])
    return client


class RowParser(HTMLParser):
    """Collects the cell texts of every ``<tr data-unit=...>``, and the links in them."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self.links: dict[str, list[str]] = {}
        self.unit: str | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("data-unit"):
            self.unit = found["data-unit"]
            self.rows[self.unit], self.links[self.unit] = [], []
        elif tag in ("td", "th") and self.unit:
            self.cell = []
        elif tag == "a" and self.unit and found.get("href"):
            self.links[self.unit].append(found["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.unit:
            self.rows[self.unit].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr":
            self.unit = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def page_rows(body: bytes) -> RowParser:
    parser = RowParser()
    parser.feed(body.decode("utf-8"))
    return parser


def as_int(cell: str) -> int:
    return int(cell.replace(",", ""))


def change_text(cell: str) -> tuple[str, str | None]:
    """Return a % change cell's percent text and its flag's direction (None if unflagged)."""
    arrows = {"▲": "increase", "▼": "decrease"}
    *value, last = cell.split()
    if last in arrows:
        return " ".join(value), arrows[last]
    return cell, None


def direction(flag: str | None) -> str | None:
    """Return ``increase`` or ``decrease`` for any flag (strong or not), None for none."""
    return flag.rsplit("_", 1)[-1] if flag else None


def direct_count(engine: Engine, sector: str, start: date, end: date) -> int:
    """High-impact incidents of a 2016 sector between two days, straight from ``incident``."""
    sql = text("""
        SELECT count(*) FROM incident i
        JOIN assignment_with_method a ON a.incident_id = i.id
        JOIN territory_vintage v ON v.id = a.vintage_id AND v.name = '2016'
        JOIN category c ON c.id = i.category_id AND c.high_impact
        JOIN quadrant q ON q.id = a.quadrant_id
        JOIN sector s ON s.id = q.sector_id
        WHERE s.code = :sector AND i.occurred_date BETWEEN :start AND :end
    """)
    with engine.connect() as conn:
        return conn.execute(sql, {"sector": sector, "start": start, "end": end}).scalar_one()


# --- the weekly table -------------------------------------------------------------------


def test_sector_counts_equal_direct_sql(client: FlaskClient, real_db: Engine) -> None:
    response = client.get(SECTORS_2015)
    assert response.status_code == 200
    rows = page_rows(response.data).rows
    assert (as_int(rows["P-1.4"][2]), as_int(rows["P-1.4"][3])) == (7, 7)
    assert (as_int(rows["C-1.1"][2]), as_int(rows["C-1.1"][3])) == (9, 7)
    assert rows["C-1.1"][4] == "+29 %"  # 9 against 7: unflagged, plain
    assert rows["P-1.4"][4] == "0 %"
    windows = {
        "week": (date(2015, 6, 8), date(2015, 6, 14), date(2014, 6, 9), date(2014, 6, 15)),
        "28d": (date(2015, 5, 18), date(2015, 6, 14), date(2014, 5, 19), date(2014, 6, 15)),
        "ytd": (date(2015, 1, 1), date(2015, 6, 14), date(2014, 1, 1), date(2014, 6, 14)),
    }
    for sector in ("P-1.4", "C-1.1"):
        for window, (s, e, ys, ye) in windows.items():
            now, ago = COUNT_COLUMNS[window]
            assert as_int(rows[sector][now]) == direct_count(real_db, sector, s, e), window
            assert as_int(rows[sector][ago]) == direct_count(real_db, sector, ys, ye), window


def test_header_states_dates_sources_and_census(client: FlaskClient) -> None:
    body = client.get(SECTORS_2015).data.decode()
    assert "Corte: domingo 14 de junio de 2015" in body
    assert "Semana: 8–14 jun 2015 vs 9–15 jun 2014" in body
    assert "28 días: 18 may–14 jun 2015 vs 19 may–15 jun 2014" in body
    assert "Año a la fecha: 1 ene–14 jun 2015 vs 1 ene–14 jun 2014 y 1 ene–14 jun 2013" in body
    assert "SSP-DF: incidentes de alto impacto, 2013-2016: datos cargados del" in body
    assert "Censo 2010" in body
    assert "sin mando" in body


def test_total_row_is_the_sum_of_the_rows(client: FlaskClient) -> None:
    rows = page_rows(client.get(SECTORS_2015).data).rows
    total = rows.pop("CDMX")
    assert len(rows) == 73 and "FUERA" in rows  # 72 sectors and the unassigned
    for now, ago in COUNT_COLUMNS.values():
        for column in (now, ago):
            assert as_int(total[column]) == sum(as_int(r[column]) for r in rows.values())
    assert total[0] == "Total"
    assert rows["FUERA"][0] == "Sin cuadrante / fuera"


def test_handler_total_equals_the_sum_of_its_units(real_db: Engine) -> None:
    q = WeeklyQuery(vintage="2016", level="region", parent="P", as_of=date(2015, 6, 14))
    with real_db.connect() as conn:
        page = weekly(conn, q)
    units = [r for s in page.sections for r in s.rows]
    assert page.outside is None and not page.split_by_zone
    assert [c["unit_id"] for c in page.breadcrumb] == ["P"]
    assert page.total is not None and page.total.unit_id == "P"
    for window in ("week", "28d", "ytd"):
        assert page.total.cells[window].current == sum(u.cells[window].current for u in units)
    assert {u.parent_id for u in units} == {"P"}


def test_downloads_carry_exactly_the_page_numbers(client: FlaskClient) -> None:
    rows = page_rows(client.get(SECTORS_2015).data).rows
    csv_body = client.get(SECTORS_2015.replace("/semanal", "/semanal.csv"))
    assert csv_body.mimetype == "text/csv"
    assert "attachment" in csv_body.headers["Content-Disposition"]
    from_csv = list(csv.DictReader(io.StringIO(csv_body.data.decode("utf-8-sig"))))
    from_json = client.get(SECTORS_2015.replace("/semanal", "/semanal.json")).get_json()["rows"]
    book = load_workbook(
        io.BytesIO(client.get(SECTORS_2015.replace("/semanal", "/semanal.xlsx")).data)
    )
    header, *from_xlsx = list(book["datos"].iter_rows(values_only=True))
    assert list(from_csv[0]) == COLUMNS == list(from_json[0]) == list(header)
    assert len(from_csv) == len(from_json) == len(from_xlsx) == 73 * 3
    for c, j, x in zip(from_csv, from_json, from_xlsx, strict=True):
        assert c == {k: "" if v is None else str(v) for k, v in j.items()}
        assert [j[k] for k in ("unit_id", "window", "current", "year_ago", "pct_change")] == [
            x[COLUMNS.index(k)] for k in ("unit_id", "window", "current", "year_ago", "pct_change")
        ]
        cells = rows[j["unit_id"]]
        now, ago = COUNT_COLUMNS[j["window"]]
        assert (as_int(cells[now]), as_int(cells[ago])) == (j["current"], j["year_ago"])
        assert change_text(cells[PCT_COLUMNS[j["window"]]]) == (
            percent(j["pct_change"]),
            direction(j["flag"]),
        )


def test_zero_base_shows_nd(client: FlaskClient) -> None:
    url = "/semanal?vintage=2016&level=quadrant&parent=P-1.4&as_of=2015-06-14"
    rows = page_rows(client.get(url).data).rows
    data = client.get(url.replace("/semanal", "/semanal.json")).get_json()["rows"]
    zero_base = [r for r in data if r["year_ago"] == 0]
    assert zero_base, "some quadrant of P-1.4 had no incident in a window a year earlier"
    for r in zero_base:
        assert r["pct_change"] is None
        assert change_text(rows[r["unit_id"]][PCT_COLUMNS[r["window"]]])[0] == "n/d"
    csv_rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(url.replace("/semanal", "/semanal.csv")).data.decode("utf-8-sig")
            )
        )
    )
    assert all(r["pct_change"] == "" for r in csv_rows if r["year_ago"] == "0")


def test_period_without_data_says_so(client: FlaskClient) -> None:
    url = "/semanal?vintage=2023&level=zone&as_of=2019-06-16"
    body = client.get(url).data.decode()
    rows = page_rows(body.encode()).rows
    # 2018 and 2017 have no loaded data: no false drop, "sin datos" instead
    assert rows["P"][3] == "sin datos" and rows["P"][4] == "sin datos"
    assert rows["P"][11] == "sin datos"
    assert "sin datos cargados para este periodo" in body
    data = client.get(url.replace("/semanal", "/semanal.json")).get_json()["rows"]
    assert {r["year_ago"] for r in data} == {None}


def test_drill_down_links_and_breadcrumb(client: FlaskClient) -> None:
    zones = page_rows(client.get("/semanal?vintage=2016&level=zone&as_of=2015-06-14").data)
    assert sorted(zones.rows) == ["C", "CDMX", "FUERA", "N", "O", "P", "S"]
    assert "/semanal?vintage=2016&level=region&as_of=2015-06-14&parent=P" in zones.links["P"][0]
    body = client.get("/semanal?vintage=2016&level=sector&parent=P-1&as_of=2015-06-14").data
    text_ = body.decode()
    assert "Sectores de Región" in text_
    assert (
        'href="/semanal?vintage=2016&amp;level=region&amp;as_of=2015-06-14&amp;parent=P"' in text_
    )
    sectors = page_rows(body)
    assert "FUERA" not in sectors.rows
    assert sectors.links["P-1.4"][0].startswith("/semanal?vintage=2016&level=quadrant")
    assert any(
        link.startswith("/tendencia?") and "unit=P-1.4" in link for link in sectors.links["P-1.4"]
    )
    quadrants = page_rows(client.get("/semanal?vintage=2016&level=quadrant&parent=P-1.4").data)
    assert not any(link.startswith("/semanal") for link in quadrants.links["P-1.4.8"])


def test_sector_page_is_small_and_has_no_inline_script(client: FlaskClient) -> None:
    body = client.get("/semanal?vintage=2023&level=sector").data
    assert len(body) < 300_000
    text_ = body.decode()
    assert "<script>" not in text_ and " on" + "click=" not in text_
    assert '<script src="/static/weekly.js" defer></script>' in text_


def test_english_page(client: FlaskClient) -> None:
    body = client.get(SECTORS_2015 + "&lang=en").data.decode()
    assert '<html lang="en">' in body
    assert "Weekly CompStat · Sectors" in body
    assert "As of: Sunday 14 June 2015" in body
    assert "Week: 8–14 Jun 2015 vs 9–15 Jun 2014" in body
    assert "no commander" in body
    # the session remembers English; switch back so the module's other tests read Spanish
    assert '<html lang="es">' in client.get(SECTORS_2015 + "&lang=es").data.decode()


def test_bad_parameters(client: FlaskClient) -> None:
    assert client.get("/semanal?level=city").status_code == 400
    assert client.get("/semanal?as_of=14-06-2015").status_code == 400
    assert client.get("/semanal?group=nada").status_code == 400
    assert client.get("/semanal.json?vintage=1999").get_json()["error"]["status"] == 404


# --- trends and time of day -------------------------------------------------------------


def test_trend_series_of_a_week(client: FlaskClient) -> None:
    data = client.get(
        "/tendencias.json?vintage=2016&level=sector&unit=P-1.4,C-1.1&period=week"
        "&start=2015-06-08&end=2015-06-14"
    ).get_json()
    assert [s["unit_id"] for s in data["series"]] == ["P-1.4", "C-1.1"]
    points = {s["unit_id"]: s["points"] for s in data["series"]}
    assert points["P-1.4"] == [
        {"period_start": "2015-06-08", "period_end": "2015-06-14", "current": 7, "year_ago": 7}
    ]
    assert (points["C-1.1"][0]["current"], points["C-1.1"][0]["year_ago"]) == (9, 7)
    assert client.get("/tendencias.json?vintage=2016&unit=X-9").status_code == 404
    assert client.get("/tendencias.json?vintage=2016").status_code == 400


def test_trend_pages_render(client: FlaskClient) -> None:
    body = client.get("/tendencia?vintage=2016&level=sector&unit=P-1.4").data.decode()
    assert "Tendencia de Sector P-1.4 SAN ANGEL" in body
    assert 'src="/vendor/chart.js/chart.min.js"' in body
    assert "data-trend=" in body and "data-timeofday=" in body
    explorer = client.get("/tendencias?vintage=2016&level=sector&unit=P-1.4&unit=P-1.2")
    assert explorer.status_code == 200
    assert "unit=P-1.4&amp;unit=P-1.2" in explorer.data.decode()
    with client.get("/vendor/chart.js/chart.min.js") as response:
        assert response.status_code == 200


def test_time_of_day_leaves_out_rows_without_time(real_db: Engine) -> None:
    # the SSP file has 8 high-impact rows of 3 July 2014 without a time, one in sector C-1.1
    week = (date(2014, 6, 30), date(2014, 7, 6))
    categories = group("alto_impacto").categories
    with real_db.connect() as conn:
        city = time_of_day(conn, TimeOfDayQuery("2016", "city", None, *week, categories))
        sector = time_of_day(conn, TimeOfDayQuery("2016", "sector", "C-1.1", *week, categories))
    assert (city.without_time, sector.without_time) == (8, 1)
    assert sector.with_time + sector.without_time == direct_count(real_db, "C-1.1", *week)
    assert city.counts.shape == (7, 24)
    with real_db.connect() as conn:
        everything = conn.execute(
            text("""
            SELECT count(*) FROM incident i JOIN category c ON c.id = i.category_id
            WHERE c.high_impact AND i.occurred_date BETWEEN :s AND :e"""),
            {"s": week[0], "e": week[1]},
        ).scalar_one()
    assert city.with_time + city.without_time == everything


def test_time_of_day_json(client: FlaskClient) -> None:
    data = client.get(
        "/hora.json?vintage=2016&level=sector&unit=C-1.1&window=week&as_of=2014-07-06"
    ).get_json()
    assert (data["start"], data["end"], data["without_time"]) == ("2014-06-30", "2014-07-06", 1)
    assert len(data["counts"]) == 7 and {len(row) for row in data["counts"]} == {24}
    assert data["with_time"] == sum(map(sum, data["counts"]))


# --- in the browser ---------------------------------------------------------------------


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    with served(app) as url:
        yield url


def table_cells(page, unit: str) -> list[str]:
    return [
        " ".join(c.split()) for c in page.locator(f'tr[data-unit="{unit}"] > *').all_inner_texts()
    ]


def test_weekly_table_in_the_browser(live_url: str, tmp_path: Path) -> None:
    require_chromium()
    refused: list[str] = []

    guard = local_only(live_url, refused)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(accept_downloads=True, locale="es-MX")
            page.route("**/*", guard)
            page.goto(f"{live_url}/semanal?vintage=2016&as_of=2015-06-14")
            page.fill("#name", "t_commander")
            page.fill("#password", TEST_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/semanal?vintage=2016&as_of=2015-06-14")
            assert page.locator("table.weekly").count() == 5  # sectors, one table per zone
            # switch level: zones
            page.locator("nav.crumbs a", has_text="Zona").first.click()
            page.wait_for_url("**level=zone**")
            assert page.locator("tbody tr[data-unit]").count() == 5
            # sort by the week's count, largest first
            page.locator('th[data-col="2"]').click()
            weeks = [
                as_int(table_cells(page, u)[2])
                for u in page.locator("tbody tr[data-unit]").evaluate_all(
                    "rs => rs.map(r => r.dataset.unit)"
                )
            ]
            assert weeks == sorted(weeks, reverse=True)
            # drill down twice: zone P -> its regions -> region P-1's sectors
            page.locator('tr[data-unit="P"] th a').click()
            page.wait_for_url("**parent=P**")
            page.locator('tr[data-unit="P-1"] th a').click()
            page.wait_for_url("**parent=P-1**")
            assert "Región" in page.locator("nav.crumbs").inner_text()
            sectors = page.locator("tbody tr[data-unit]").evaluate_all(
                "rs => rs.map(r => r.dataset.unit)"
            )
            assert "P-1.4" in sectors
            shown = {u: table_cells(page, u) for u in [*sectors, "P-1"]}
            # the CSV download holds the numbers of the table
            with page.expect_download() as info:
                page.locator(".downloads a", has_text="CSV").click()
            path = tmp_path / "semanal.csv"
            info.value.save_as(path)
            rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
            assert {r["unit_id"] for r in rows} == set(sectors)
            for r in rows:
                now, ago = COUNT_COLUMNS[r["window"]]
                cells = shown[r["unit_id"]]
                assert (cells[now], cells[ago]) == (
                    f"{int(r['current']):,}",
                    f"{int(r['year_ago']):,}",
                )
                pct = float(r["pct_change"]) if r["pct_change"] else None
                assert change_text(cells[PCT_COLUMNS[r["window"]]]) == (
                    percent(pct),
                    direction(r["flag"]),
                )
            total = shown["P-1"]
            assert as_int(total[2]) == sum(as_int(shown[u][2]) for u in sectors)
            # open a trend chart from the count of P-1.4
            page.locator('tr[data-unit="P-1.4"] td a').first.click()
            page.wait_for_url("**/tendencia?**")
            canvas = page.locator("#semanal canvas")
            page.wait_for_selector('#semanal canvas[data-drawn="yes"]', timeout=30_000)
            page.wait_for_selector('#hora-week[data-drawn="yes"]', timeout=60_000)
            drawn = canvas.evaluate("""c => {
                const chart = window.Chart.getChart(c);
                const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let ink = 0;
                for (let i = 3; i < px.length; i += 4) if (px[i] > 0) ink++;
                return {points: chart.data.datasets[0].data.length, ink: ink};
            }""")
            note = page.locator("#nota-hora-week").inner_text()
        finally:
            browser.close()
    assert drawn["points"] == 104 and drawn["ink"] > 1000
    assert "sin hora registrada" in note
    assert refused == []
