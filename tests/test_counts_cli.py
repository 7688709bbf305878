"""The ``counts`` and ``incidents reconcile`` commands never mislead (issue 12, point 6).

One synthetic SSP file is loaded into the 2016 territory; every expected number below is
counted by hand from its rows (recorded assignment: the SSP's own quadrant ids).
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from compstat.cli import build_cli
from etl.incidents import load_incidents
from etl.reconcile import partial_months

SSP_HEADER = '"cuadrante","crime","date","hour","year","month","lat","long","id"'
# 2015-05-04 is a Monday. Sector P-1.4 (SAN ANGEL) holds P-1.4.8 and P-1.4.5, zone P;
# O-2.4.3 is in sector O-2.4, zone O; "(NO ESPECIFICADO)" without a point is FUERA.
ROWS = [
    '"P-1.4.8","ROBO A TRANSEUNTE C.V.",2015-05-04,"10:00",2015,5,NA,NA,910001',
    '"P-1.4.8","ROBO A TRANSEUNTE C.V.",2015-05-06,"11:00",2015,5,NA,NA,910002',
    '"P-1.4.5","ROBO A TRANSEUNTE S.V.",2015-05-10,"12:00",2015,5,NA,NA,910003',
    '"O-2.4.3","HOMICIDIO DOLOSO",2015-05-12,"13:00",2015,5,NA,NA,910004',
    '"(NO ESPECIFICADO)","VIOLACION",2015-06-01,"14:00",2015,6,NA,NA,910005',
    '"P-1.4.8","ROBO DE VEHICULO AUTOMOTOR S.V.",2015-06-20,"15:00",2015,6,NA,NA,910006',
]
N_CATEGORIES = 36  # compstat/data/categories.csv


@pytest.fixture(scope="module")
def loaded(territory_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("ssp") / "ssp.csv"
    path.write_text("\n".join([SSP_HEADER, *ROWS]))
    summary = load_incidents(territory_db, path, "ssp")
    assert (summary.read, summary.loaded) == (6, 6)
    return territory_db


@pytest.fixture
def run(loaded, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", loaded.url.render_as_string(hide_password=False))
    cli = build_cli()

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def counts(run, *args: str) -> pd.DataFrame:
    result = run("counts", "--vintage", "2016", *args)
    assert result.exit_code == 0, result.stderr
    return pd.read_csv(io.StringIO(result.stdout), dtype={"count": "int64"})


def table(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    return [tuple(row) for row in frame[list(columns)].itertuples(index=False)]


def assert_one_line_error(result, exit_code: int, *fragments: str) -> None:
    assert result.exit_code == exit_code
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


# ----------------------------------------------------------------------------- categories


def test_group_code_gives_one_row_per_unit_and_period(run):
    frame = counts(run, "--level", "sector", "--category", "alto_impacto")
    assert table(frame, "unit_id", "period_start", "category", "count") == [
        ("O-2.4", "2015-05-01", "alto_impacto", 1),
        ("P-1.4", "2015-05-01", "alto_impacto", 3),
        ("FUERA", "2015-06-01", "alto_impacto", 1),
        ("P-1.4", "2015-06-01", "alto_impacto", 1),
    ]


def test_category_and_group_codes_each_give_their_own_total(run):
    frame = counts(
        run,
        "--level",
        "sector",
        "--to",
        "2015-05-31",
        "--category",
        "robo_transeunte_cv",
        "--category",
        "robo_transeunte",
        "--category",
        "alto_impacto",
    )
    p14 = frame[frame["unit_id"] == "P-1.4"].set_index("category")["count"].to_dict()
    assert p14 == {"robo_transeunte_cv": 2, "robo_transeunte": 3, "alto_impacto": 3}


def test_no_category_gives_every_category_on_its_own(run):
    frame = counts(run, "--level", "city", "--period", "year")
    assert table(frame, "category", "count") == [
        ("homicidio_doloso", 1),
        ("robo_transeunte_cv", 2),
        ("robo_transeunte_sv", 1),
        ("robo_vehiculo_sv", 1),
        ("violacion", 1),
    ]


def test_no_category_keeps_a_stored_category_the_taxonomy_no_longer_has(run, loaded):
    retired = "UPDATE x SET category_id = 99, day = '2015-05-20', n_recorded = 1, n_spatial = 1"
    with loaded.begin() as conn:
        conn.execute(text("INSERT INTO category VALUES (99, 'retirado', 'r', 'r', false, 99)"))
        conn.execute(text("CREATE TEMP TABLE x AS SELECT * FROM daily_count LIMIT 1"))
        conn.execute(text(retired))
        conn.execute(text("INSERT INTO daily_count SELECT * FROM x"))
    try:
        frame = counts(run, "--level", "city", "--period", "year")
        assert frame.set_index("category").loc["retirado", "count"] == 1
        assert frame["count"].sum() == 7
    finally:
        with loaded.begin() as conn:
            conn.execute(text("DELETE FROM daily_count WHERE category_id = 99"))
            conn.execute(text("DELETE FROM category WHERE id = 99"))


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_unknown_category_is_a_one_line_error_listing_the_codes(run, fmt):
    result = run("counts", "--vintage", "2016", "--category", "robo_transeunte_xx", "--format", fmt)
    assert_one_line_error(
        result, 1, "'robo_transeunte_xx'", "valid codes: alto_impacto, all,", "robo_transeunte_cv"
    )


# ----------------------------------------------------------------------------- cut periods


def test_periods_cut_by_the_range_are_labelled(run):
    frame = counts(
        run,
        "--level",
        "city",
        "--period",
        "week",
        "--category",
        "alto_impacto",
        "--from",
        "2015-05-06",
        "--to",
        "2015-06-30",
    )
    assert table(frame, "period_start", "period_end", "count", "partial") == [
        ("2015-05-06", "2015-05-10", 2, True),  # Monday 4th and row 910001 cut off
        ("2015-05-11", "2015-05-17", 1, False),
        ("2015-06-01", "2015-06-07", 1, False),
        ("2015-06-15", "2015-06-21", 1, True),  # the data ends on Saturday the 20th
    ]


def test_periods_past_the_loaded_data_are_partial(run):
    frame = counts(run, "--level", "city", "--period", "month", "--category", "alto_impacto")
    assert table(frame, "period_start", "period_end", "count", "partial") == [
        ("2015-05-01", "2015-05-31", 4, True),  # the data starts on the 4th
        ("2015-06-01", "2015-06-30", 2, True),  # and ends on the 20th
    ]
    frame = counts(
        run,
        "--level",
        "city",
        "--period",
        "day",
        "--category",
        "alto_impacto",
        "--to",
        "2015-05-06",
    )
    assert table(frame, "period_start", "period_end", "count", "partial") == [
        ("2015-05-04", "2015-05-04", 1, False),
        ("2015-05-06", "2015-05-06", 1, False),
    ]


def test_json_carries_the_new_columns(run):
    result = run(
        "counts",
        "--vintage",
        "2016",
        "--level",
        "zone",
        "--period",
        "year",
        "--category",
        "alto_impacto",
        "--from",
        "2015-06-01",
        "--format",
        "json",
    )
    assert result.exit_code == 0
    rows = json.loads(result.stdout)["rows"]
    assert [(r["unit_id"], r["count"], r["partial"]) for r in rows] == [
        ("FUERA", 1, True),
        ("P", 1, True),
    ]
    assert (rows[0]["period_start"], rows[0]["period_end"]) == ("2015-06-01", "2015-12-31")


def test_parquet_carries_the_new_columns(run, tmp_path):
    out = tmp_path / "counts.parquet"
    result = run(
        "counts",
        "--vintage",
        "2016",
        "--level",
        "zone",
        "--period",
        "year",
        "--format",
        "parquet",
        "-o",
        str(out),
    )
    assert result.exit_code == 0
    frame = pd.read_parquet(out)
    assert list(frame.columns)[-5:] == [
        "period_start",
        "period_end",
        "category",
        "count",
        "partial",
    ]
    assert frame["period_end"].dt.strftime("%Y-%m-%d").unique().tolist() == ["2015-12-31"]
    assert frame["partial"].all()


# ----------------------------------------------------------------------------- zeros


def test_zeros_lists_every_unit_period_and_group(run):
    frame = counts(run, "--level", "zone", "--category", "alto_impacto", "--zeros")
    assert len(frame) == 6 * 2  # 5 zones and FUERA, May and June 2015 (the data's span)
    assert frame["count"].sum() == 6
    nonzero = frame[frame["count"] > 0]
    assert table(nonzero, "unit_id", "period_start", "count") == [
        ("O", "2015-05-01", 1),
        ("P", "2015-05-01", 3),
        ("FUERA", "2015-06-01", 1),
        ("P", "2015-06-01", 1),
    ]
    assert frame.groupby("period_start")["unit_id"].nunique().to_dict() == {
        "2015-05-01": 6,
        "2015-06-01": 6,
    }


def test_zeros_span_the_requested_range(run):
    frame = counts(
        run,
        "--level",
        "sector",
        "--period",
        "month",
        "--zeros",
        "--from",
        "2015-04-15",
        "--to",
        "2015-07-31",
    )
    assert len(frame) == 73 * 4 * N_CATEGORIES  # 72 sectors and FUERA, April to July
    assert frame["count"].sum() == 6
    by_month = frame.groupby("period_start").agg(
        start=("period_start", "first"), end=("period_end", "first"), partial=("partial", "all")
    )
    assert by_month.values.tolist() == [
        ["2015-04-15", "2015-04-30", True],  # cut by --from, and before the data
        ["2015-05-01", "2015-05-31", True],
        ["2015-06-01", "2015-06-30", True],
        ["2015-07-01", "2015-07-31", True],  # after the data: unknown, not zero
    ]


def test_zeros_at_quadrant_and_city_levels(run):
    frame = counts(
        run, "--level", "quadrant", "--period", "year", "--category", "alto_impacto", "--zeros"
    )
    assert len(frame) == 847 + 1
    assert frame.set_index("unit_id").loc[["P-1.4.8", "P-1.4.5", "FUERA"], "count"].tolist() == [
        3,
        1,
        1,
    ]
    frame = counts(
        run,
        "--level",
        "city",
        "--period",
        "week",
        "--category",
        "alto_impacto",
        "--zeros",
        "--from",
        "2015-05-04",
        "--to",
        "2015-05-24",
    )
    assert table(frame, "period_start", "count", "partial") == [
        ("2015-05-04", 3, False),
        ("2015-05-11", 1, False),
        ("2015-05-18", 0, False),
    ]


# ----------------------------------------------------------------------------- output and errors


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_output_into_a_missing_directory_is_a_one_line_error(run, tmp_path, fmt):
    out = tmp_path / "missing" / "counts.out"
    result = run("counts", "--vintage", "2016", "--format", fmt, "-o", str(out))
    assert_one_line_error(result, 1, str(out), "does not exist")
    assert not out.parent.exists()


def test_output_onto_a_directory_is_a_one_line_error(run, tmp_path):
    result = run("counts", "--vintage", "2016", "-o", str(tmp_path))
    assert_one_line_error(result, 1, "is a directory")


def test_json_errors_are_one_line_on_stderr_with_a_failing_status(run):
    result = run("counts", "--vintage", "1999", "--format", "json")
    assert_one_line_error(result, 1, "vintage '1999' is not loaded")
    result = run(
        "counts",
        "--vintage",
        "2016",
        "--format",
        "json",
        "--from",
        "2015-06-01",
        "--to",
        "2015-05-01",
    )
    assert_one_line_error(result, 1, "start date is after the end date")
    result = run("counts", "--vintage", "2016", "--format", "json", "--level", "galaxy")
    assert_one_line_error(result, 2, "'--level'", "'galaxy'")
    result = run("counts", "--vintage", "2016", "--format", "json", "--from", "2015-13-01")
    assert_one_line_error(result, 2, "'--from'")


# ----------------------------------------------------------------------------- reconcile


def write_reply(path: Path, created: datetime) -> Path:
    """An official reply for May and June 2015, drawn up on ``created``.

    It agrees with the loaded file except that the 2015-06-20 vehicle theft happened
    after the reply was drawn up.
    """
    rows = [
        ["CUADRANTE/DELITO", 2015, None, "Total 2015", "Total "],
        [None, "MAYO", "JUNIO", None, None],
        ["P-1.4.8", 2, None, 2, 2],
        ["Robo a transeunte c/v", 2, None, 2, 2],
        ["P-1.4.5", 1, None, 1, 1],
        ["Robo a transeunte s/v", 1, None, 1, 1],
        ["O-2.4.3", 1, None, 1, 1],
        ["Homicidio doloso", 1, None, 1, 1],
        ["(en blanco)", None, 1, 1, 1],
        ["Violacion", None, 1, 1, 1],
        ["Total general", 4, 1, 5, 5],
    ]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Hoja1"
    for number, values in enumerate(rows, start=3):
        for col, value in enumerate(values, start=1):
            if value is not None:
                sheet.cell(row=number, column=col, value=value)
    workbook.properties.created = created
    workbook.save(path)
    workbook.close()
    return path


def test_reconcile_flags_the_month_the_reply_covers_in_part(run, tmp_path):
    reply = write_reply(tmp_path / "reply.xlsx", datetime(2015, 6, 15, 10, 0))
    result = run("incidents", "reconcile", str(reply), "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["extracted"] == "2015-06-15"
    assert data["partial_months"] == ["2015-06"]
    assert data["by_month"] == [
        {"month": "2015-05", "official": 4, "loaded": 4, "difference": 0, "partial": False},
        {"month": "2015-06", "official": 1, "loaded": 2, "difference": 1, "partial": True},
    ]
    assert data["by_year"] == [
        {"year": 2015, "official": 5, "loaded": 6, "difference": 1, "partial": True},
    ]
    off = [
        (r["quadrant"], r["month"], r["difference"], r["partial"])
        for r in data["by_quadrant"]
        if r["difference"]
    ]
    assert off == [("P-1.4.8", "2015-06", 1, True)]

    result = run("incidents", "reconcile", str(reply), "--format", "csv")
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert list(frame.columns) == [
        "quadrant",
        "month",
        "official",
        "loaded",
        "difference",
        "partial",
    ]
    assert frame.groupby("month")["partial"].first().to_dict() == {
        "2015-05": False,
        "2015-06": True,
    }

    result = run("incidents", "reconcile", str(reply))
    assert result.exit_code == 0
    assert "2015-06: partial, the reply (drawn up 2015-06-15) covers it only in part" in (
        result.stdout
    )
    assert "1 of 5 quadrant-months differ (1 of them in partial months)" in result.stdout


def test_reconcile_after_the_month_ends_flags_nothing(run, tmp_path):
    reply = write_reply(tmp_path / "late.xlsx", datetime(2015, 7, 1, 9, 0))
    result = run("incidents", "reconcile", str(reply), "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["partial_months"] == []


def test_reconcile_of_an_unreadable_reply_is_a_one_line_error(run, tmp_path):
    path = tmp_path / "reply.xlsx"
    path.write_text("not a workbook")
    result = run("incidents", "reconcile", str(path), "--format", "json")
    assert_one_line_error(result, 1, "reply.xlsx", "not an .xlsx file")


def test_reconcile_of_a_missing_reply_is_a_one_line_error(run, tmp_path):
    path = tmp_path / "missing.xlsx"
    result = run("incidents", "reconcile", str(path))
    assert_one_line_error(result, 1, "missing.xlsx", "No such file")


def test_partial_months_rule():
    months = ["2016-04", "2016-05", "2016-06"]
    assert partial_months(months, date(2016, 6, 21)) == ["2016-06"]
    assert partial_months(months, date(2016, 6, 30)) == ["2016-06"]
    assert partial_months(months, date(2016, 7, 1)) == []
    assert partial_months(months, date(2016, 5, 31)) == ["2016-05", "2016-06"]
    assert partial_months(months, None) == ["2016-06"]
