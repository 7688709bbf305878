"""The weekly table's framework-free pieces: Mexican number and date formats, the
export registry's files and the pivot of long-form rows into table rows."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from flask import render_template
from openpyxl import load_workbook

from compstat import exports
from compstat.groups import HIGH_IMPACT, group
from compstat.windows import standard_windows
from web.app import create_app
from web.formatting import date_range, long_date, number, percent, short_date
from web.handlers.weekly import (
    COLUMNS,
    UnitRow,
    WeeklyQuery,
    build_page,
    describe_note,
    pivot,
    split_by_zone,
)
from web.rows import records


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (1234.5, 1, "1,234.5"),
        (1234567, 0, "1,234,567"),
        (0, 0, "0"),
        (312.44, 1, "312.4"),
        (-3, 0, "−3"),
        (-0.04, 1, "0.0"),
        (None, 0, ""),
        (float("nan"), 1, ""),
    ],
)
def test_numbers_use_comma_thousands_and_point_decimals(value, decimals, text):
    assert number(value, decimals) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (55.6, "+56 %"),
        (-7.2, "−7 %"),
        (0.2, "0 %"),
        (-0.4, "0 %"),
        (1234.0, "+1,234 %"),
        (None, "n/d"),
        (float("nan"), "n/d"),
    ],
)
def test_percent_change_is_whole_signed_or_undefined(value, text):
    assert percent(value) == text


def test_dates_short_in_tables_long_in_headers():
    day = date(2024, 6, 16)
    assert short_date(day) == "16 jun 2024"
    assert short_date(day, "en") == "16 Jun 2024"
    assert long_date(day) == "domingo 16 de junio de 2024"
    assert long_date(date(2024, 6, 12)) == "miércoles 12 de junio de 2024"
    assert long_date(day, "en") == "Sunday 16 June 2024"


def test_date_ranges_name_shared_month_and_year_once():
    assert date_range(date(2024, 6, 10), date(2024, 6, 16)) == "10–16 jun 2024"
    assert date_range(date(2024, 5, 20), date(2024, 6, 16)) == "20 may–16 jun 2024"
    assert date_range(date(2023, 12, 25), date(2024, 1, 7)) == "25 dic 2023–7 ene 2024"
    assert date_range(date(2024, 1, 1), date(2024, 6, 16), "en") == "1 Jan–16 Jun 2024"
    assert date_range(date(2024, 6, 16), date(2024, 6, 16)) == "16 jun 2024"


def long_rows() -> pd.DataFrame:
    """Six long-form rows: two sectors x three windows, as the accountability query gives."""
    rows = []
    for unit, name, parent, counts in (
        ("P-1.4", "SAN ANGEL", "P-1", [(14, 9), (51, 0), (610, 655)]),
        ("P-1.2", "PLATEROS", "P-1", [(0, 0), (3, None), (40, 44)]),
    ):
        for window, (current, ago) in zip(("week", "28d", "ytd"), counts, strict=True):
            pct = None if not ago else round(100 * (current - ago) / ago, 1)
            rows.append(
                {
                    "vintage": "2016",
                    "level": "sector",
                    "unit_id": unit,
                    "unit_name": name,
                    "parent_id": parent,
                    "commander": None,
                    "group": "alto_impacto",
                    "window": window,
                    "start": date(2016, 6, 6),
                    "end": date(2016, 6, 12),
                    "current": current,
                    "year_ago": ago,
                    "pct_change": pct,
                    "two_year_ago": None,
                    "two_year_pct_change": None,
                    "z": np.float64(1.5),
                    "flag": None,
                    "rate_per_100k": np.nan,
                    "rank": np.int64(1),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS).astype(object)


def test_records_are_plain_values():
    (first, *_), frame = records(long_rows(), COLUMNS), long_rows()
    assert first["rate_per_100k"] is None and first["two_year_ago"] is None
    assert type(first["rank"]) is int and type(first["z"]) is float
    assert len(records(frame, COLUMNS)) == 6


def test_csv_json_and_xlsx_carry_the_same_cells():
    rows = records(long_rows(), COLUMNS)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    csv_text = exports.export(frame, "csv").decode("utf-8-sig")
    from_csv = list(csv.DictReader(io.StringIO(csv_text)))
    from_json = json.loads(exports.export(frame, "json"))["rows"]
    sheet = load_workbook(io.BytesIO(exports.export(frame, "xlsx")))["datos"]
    header, *cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header == COLUMNS == list(from_csv[0]) == list(from_json[0])
    for row, c, j, x in zip(rows, from_csv, from_json, cells, strict=True):
        for k, value in zip(COLUMNS, x, strict=True):
            expected = row[k]
            if isinstance(expected, date):
                assert (c[k], j[k], value.date()) == (expected.isoformat(),) * 2 + (expected,)
            else:
                assert (c[k], j[k], value) == (
                    "" if expected is None else str(expected),
                    expected,
                    expected,
                )
    # % change undefined (zero base) and a period without data: empty in CSV, null in JSON
    assert (from_csv[1]["pct_change"], from_json[1]["pct_change"]) == ("", None)
    assert (from_csv[4]["year_ago"], from_json[4]["year_ago"]) == ("", None)


def test_pivot_puts_the_windows_of_a_unit_side_by_side():
    units = pivot(records(long_rows(), COLUMNS))
    assert [u.unit_id for u in units] == ["P-1.4", "P-1.2"]
    assert list(units[0].cells) == ["week", "28d", "ytd"]
    assert (units[0].cells["week"].current, units[0].cells["week"].year_ago) == (14, 9)
    assert units[0].cells["week"].pct_change == 55.6
    assert units[0].cells["28d"].pct_change is None
    assert units[1].cells["28d"].year_ago is None
    assert units[0].label == "P-1.4 SAN ANGEL"
    assert UnitRow("P-1.4.8", "P-1.4.8", "P-1.4", None, {}).label == "P-1.4.8"


def test_split_by_zone_orders_zones_and_keeps_row_order():
    units = pivot(records(long_rows(), COLUMNS))
    zones = {"P-1.4": ("S", "Sur"), "P-1.2": ("N", "Norte")}
    sections = split_by_zone(units, zones)
    assert [(s.zone_code, [r.unit_id for r in s.rows]) for s in sections] == [
        ("N", ["P-1.2"]),
        ("S", ["P-1.4"]),
    ]
    (whole,) = split_by_zone(units, {})
    assert whole.zone_code is None and len(whole.rows) == 2


def test_cross_source_notes_name_the_sources():
    note = {"code": "cross_source", "sources": ["fgj"], "compared_with": ["ssp"]}
    assert describe_note(note)["detail"] == "FGJ vs SSP"
    assert "detail" not in describe_note({"code": "no_data"})


def fake_accountability() -> SimpleNamespace:
    """A test fixture shaped like ``compstat.queries.accountability.Accountability``:
    two sectors with invented commanders, a flagged change and a cross-source note."""
    rows = long_rows()
    rows["commander"] = ["Cmdte. Ficticio Uno"] * 3 + [None] * 3
    rows.loc[0, ["z", "flag"]] = [3.4, "strong_increase"]
    rows.loc[5, ["z", "flag"]] = [-2.1, "decrease"]
    totals = rows.groupby("window", sort=False)[["current"]].sum().reset_index()
    totals = pd.DataFrame(
        [
            {
                **{c: None for c in COLUMNS},
                "unit_id": "P-1",
                "unit_name": "Región P-1",
                "window": r.window,
                "current": r.current,
            }
            for r in totals.itertuples()
        ]
    )
    note = {
        "code": "cross_source",
        "window": "ytd",
        "period": "year_ago",
        "sources": ["fgj"],
        "compared_with": ["ssp"],
        "start": date(2015, 1, 1),
        "end": date(2015, 6, 12),
    }
    source = {"code": "ssp", "name": "SSP", "first": date(2013, 1, 1), "last": date(2016, 6, 30)}
    return SimpleNamespace(
        query=None,
        windows=standard_windows(date(2016, 6, 12)),
        rows=rows,
        totals=totals,
        breadcrumb=[
            {"level": "zone", "unit_id": "P", "unit_name": "PONIENTE"},
            {"level": "region", "unit_id": "P-1", "unit_name": "Región P-1"},
        ],
        sources=[source],
        notes=[note],
        census="2010",
        roster_fictitious=True,
    )


def test_weekly_template_marks_flags_fictitious_commanders_and_notes():
    query = WeeklyQuery(vintage="2016", level="sector", parent="P-1", as_of=date(2016, 6, 12))
    page = build_page(fake_accountability(), query, ["2016"], {})
    app = create_app({"TESTING": True})
    with app.test_request_context("/semanal?parent=P-1"):
        html = render_template("weekly.html", page=page, lang="es", groups=[group(HIGH_IMPACT)])
    assert 'Cmdte. Ficticio Uno <span class="fict">(ficticio)</span>' in html
    assert "Demostración: los nombres de los mandos son ficticios." in html
    assert html.count("sin mando") == 1
    assert 'class="num pct flag up strong"' in html and "+56 %&nbsp;▲" in html
    assert 'class="num pct flag down"' in html
    assert html.count("&nbsp;▲") + html.count("&nbsp;▼") == 2  # only flagged changes are marked
    assert "Sectores de Región P-1" in html and "Total de Región P-1" in html
    assert "Zona PONIENTE" in html
    assert "la comparación usa otra fuente (FGJ vs SSP)" in html
    assert "Censo 2010" in html
    assert "<script>" not in html
