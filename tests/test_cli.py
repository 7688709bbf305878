"""The documented output contracts of the ``compstat`` console script."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from compstat.cli import build_cli

SSP_HEADER = '"cuadrante","crime","date","hour","year","month","lat","long","id"'


@pytest.fixture
def run(territory_db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", territory_db.url.render_as_string(hide_password=False))
    cli = build_cli()

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_territory_show_json(run):
    result = run("territory", "show", "--vintage", "2016", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {"zones": 5, "regions": 15, "sectors": 72, "quadrants": 847}


def test_unknown_vintage_is_a_clear_error(run):
    result = run("territory", "show", "--vintage", "1999")
    assert result.exit_code == 1
    assert "vintage '1999' is not loaded" in result.output


def test_incidents_load_json_and_counts_csv(run, tmp_path):
    path = tmp_path / "ssp.csv"
    path.write_text(
        "\n".join(
            [
                SSP_HEADER,
                '"P-1.4.8","HOMICIDIO DOLOSO",2015-05-02,"10:07",2015,5,19.3265,-99.2099,900001',
                '"P-1.4.8","ROBO A NEGOCIO C.V.",2015-05-03,"11:00",2015,5,NA,NA,900002',
                '"(NO ESPECIFICADO)","VIOLACION",2015-05-04,"12:00",2015,5,NA,NA,900003',
                '"P-1.4.8","VIOLACION",2015-13-04,"12:00",2015,5,NA,NA,900004',
            ]
        )
    )
    result = run("incidents", "load", str(path), "--source", "ssp", "--format", "json")
    assert result.exit_code == 0
    summary = json.loads(result.output)
    assert {k: summary[k] for k in ("read", "loaded", "duplicates", "quarantined")} == {
        "read": 4,
        "loaded": 3,
        "duplicates": 0,
        "quarantined": {"bad_date": 1},
    }
    result = run(
        "counts",
        "--level",
        "sector",
        "--vintage",
        "2016",
        "--period",
        "month",
        "--from",
        "2015-05-01",
        "--to",
        "2015-05-31",
    )
    frame = pd.read_csv(io.StringIO(result.output))
    assert list(frame.columns) == [
        "vintage",
        "level",
        "unit_id",
        "unit_name",
        "period_start",
        "period_end",
        "category",
        "count",
        "partial",
    ]
    by_unit = frame.groupby("unit_id")["count"].sum().to_dict()
    assert by_unit == {"P-1.4": 2, "FUERA": 1}
    assert set(frame["unit_name"]) == {"SAN ANGEL", "Fuera de todo cuadrante o sin ubicación"}


def test_counts_parquet_and_json(run, tmp_path):
    out = tmp_path / "counts.parquet"
    result = run(
        "counts",
        "--level",
        "zone",
        "--vintage",
        "2016",
        "--period",
        "year",
        "--format",
        "parquet",
        "--output",
        str(out),
    )
    assert result.exit_code == 0
    frame = pd.read_parquet(out)
    assert list(frame.columns)[:3] == ["vintage", "level", "unit_id"]
    result = run("counts", "--level", "city", "--vintage", "2016", "--format", "json")
    data = json.loads(result.output)
    assert (data["table"], data["level"], data["columns"][2]) == ("conteos", "city", "unit_id")
    assert all(row["unit_id"] == "CDMX" for row in data["rows"])


def test_unreadable_file_exits_non_zero(run, tmp_path):
    result = run("incidents", "load", str(tmp_path / "missing.csv"), "--source", "fgj")
    assert result.exit_code == 1
    assert "no such file" in result.output
