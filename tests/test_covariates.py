"""Covariate export, moderator presets, sensitivity and frozen, reproducible snapshots."""

from __future__ import annotations

import json
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from click.testing import CliRunner
from numpy.testing import assert_allclose
from sqlalchemy import text

from compstat import snapshots
from compstat.cli import build_cli
from compstat.covariates_cli import sensitivity
from compstat.errors import InvalidQueryError, NotFoundError, OutputFileError
from compstat.presets import PRESETS_VERSION, preset, presets, variants
from compstat.queries import counts as counts_query
from compstat.queries import covariates as cq
from compstat.stats import covariates as cov
from etl.incidents import load_incidents

WINDOW = ("--from", "2015-07-01", "--to", "2016-06-30")


def invoke(engine, monkeypatch, *args: str):
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return CliRunner().invoke(build_cli(), list(args), catch_exceptions=False)


# ----------------------------------------------------------------------------- pure


def test_months_are_counted_back_from_the_end_date():
    assert cov.window_start(date(2016, 6, 30), 12) == date(2015, 7, 1)
    assert cov.window_start(date(2016, 3, 31), 1) == date(2016, 3, 1)
    assert cov.months_covering(date(2015, 7, 1), date(2016, 6, 30)) == 12
    assert cov.months_covering(date(2015, 6, 30), date(2016, 6, 30)) == 13
    assert cov.window_start(date(2016, 6, 15), 1) == date(2016, 5, 16)
    assert cov.window_start(date(2016, 3, 30), 1) == date(2016, 3, 1)
    days = np.array(["2015-06-30", "2015-07-01", "2015-07-31", "2016-06-01", "2016-07-01"])
    month = cov.month_index(days.astype("datetime64[D]"), date(2016, 6, 30), 12)
    np.testing.assert_array_equal(month, [-1, 0, 0, 11, -1])


def test_monthly_summary_equals_numpy():
    series = np.array([[3.0, 5.0, 4.0, 8.0], [0.0, 0.0, 0.0, 0.0]])
    mean, sd, slope = cov.monthly_summary(series)
    assert_allclose(mean, series.mean(axis=1))
    assert_allclose(sd, series.std(axis=1, ddof=1))
    assert_allclose(slope, [np.polyfit(np.arange(4), row, 1)[0] for row in series], atol=1e-12)
    _, sd_one, slope_one = cov.monthly_summary(series[:, :1])
    assert np.isnan(sd_one).all() and np.isnan(slope_one).all()


def test_spatial_lag_ranks_and_areal_reallocation():
    weights = sp.csr_array(np.array([[0, 1, 1, 0], [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]))
    assert_allclose(
        cov.spatial_lag([1.0, 4.0, np.nan, 9.0], weights), [4.0, 1.0, 1.0, np.nan], equal_nan=True
    )
    rank, pct = cov.rank_and_percentile([5.0, 9.0, 5.0, 1.0, 7.0], [1, 1, 1, 1, 0])
    assert_allclose(rank, [2, 1, 2, 4, np.nan], equal_nan=True)
    assert_allclose(pct, [75, 100, 75, 25, np.nan], equal_nan=True)
    moved = cov.reallocate([100.0, 50.0], [0, 0, 1], [0, 1, 1], [0.25, 0.75, 1.0], 2)
    assert_allclose(moved, [25.0, 125.0])
    assert_allclose(cov.measure([1, 2], [0, 4], 10), [np.nan, 5.0], equal_nan=True)


def test_default_preset_is_the_issue_s_rule():
    default = preset()
    assert (default.measure, default.group, default.months) == ("rate", "alto_impacto", 12)
    assert (default.cutoff, default.ties, default.version) == ("median", "lower", PRESETS_VERSION)
    assert default.groups[:2] == ("alto_impacto", "all")
    assert all(p.rule() for p in presets().values())
    with pytest.raises(InvalidQueryError, match="valid presets: default"):
        preset("nope")
    declared = {(v.parameter, v.value) for v in variants()}
    for wanted in [("measure", "density"), ("months", "24"), ("cutoff", "terciles")]:
        assert wanted in declared
    assert {("assignment", "source"), ("census", "2010"), ("census", "2020")} <= declared


def test_xlsx_and_dta_carry_no_time_of_writing():
    frame = pd.DataFrame({"unit_id": ["A", "B"], "x": [1.5, 2.0]})
    data = snapshots.render(frame, "xlsx", {"unit_id": "Unit", "x": "X"})
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core
    assert snapshots.render(frame, "dta", {"x": "X"}) == snapshots.render(frame, "dta", {"x": "X"})
    with pytest.raises(OutputFileError, match="at most 32"):
        snapshots.render(frame.assign(robo_transporte_publico_monthly_mean=1.0), "dta", {})


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def sectors(real_db) -> pd.DataFrame:
    with real_db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.code, s.population FROM sector s JOIN territory_vintage v "
                "ON v.id = s.vintage_id WHERE v.name = '2016'"
            )
        ).all()
    return pd.DataFrame(rows, columns=["unit_id", "population"]).set_index("unit_id")


@pytest.fixture(scope="module")
def city_export(real_db, tmp_path_factory) -> pd.DataFrame:
    with real_db.begin() as conn:
        result = cq.compute(
            conn, cq.CovariateRequest("2016", "sector", date(2015, 7, 1), date(2016, 6, 30))
        )
    return result.frame.set_index("unit_id")


def test_alto_impacto_counts_equal_the_rolled_up_counts(real_db, city_export):
    query = counts_query.CountsQuery(
        "2016", "sector", "year", date(2015, 7, 1), date(2016, 6, 30), ("alto_impacto",)
    )
    with real_db.connect() as conn:
        rolled = counts_query.counts(conn, query)
    expected = rolled[rolled["unit_id"] != "FUERA"].groupby("unit_id")["count"].sum()
    exported = city_export["alto_impacto_count"].astype(int)
    assert len(exported) == 72 and exported.sum() > 20_000
    pd.testing.assert_series_equal(
        exported.sort_index(),
        expected.reindex(exported.index, fill_value=0).sort_index(),
        check_names=False,
    )


def test_rates_use_the_territory_s_populations(city_export, sectors):
    assert (city_export["population"] == sectors["population"].reindex(city_export.index)).all()
    assert (city_export["census"] == "2010").all()
    defined = city_export["population"] > 0
    assert_allclose(
        city_export.loc[defined, "alto_impacto_rate"],
        city_export.loc[defined, "alto_impacto_count"].astype(float)
        * 100_000
        / city_export.loc[defined, "population"],
    )
    # ABASTO (the wholesale market) has no residents: no rate, left out of the comparison set.
    assert city_export.loc["O-1.1", "population"] == 0
    assert city_export.loc["O-1.1", "in_comparison"] == 0
    assert pd.isna(city_export.loc["O-1.1", "higher_crime"])
    # The SSP file records high-impact crimes only: all offences are not counted, not zero.
    assert city_export["all_count"].isna().all()


def test_an_even_comparison_set_splits_in_half(real_db, sectors):
    study = tuple(sorted(sectors.index[sectors["population"] > 0])[:60])
    with real_db.begin() as conn:
        frame = cq.compute(
            conn,
            cq.CovariateRequest("2016", "sector", date(2015, 7, 1), date(2016, 6, 30), study),
        ).frame.set_index("unit_id")
    inside = frame.loc[list(study)]
    assert inside["higher_crime"].sum() == 30
    assert frame["higher_crime"].isna().sum() == 12
    higher = inside["higher_crime"] == 1
    assert (
        inside.loc[higher, "moderator_value"].min() > inside.loc[~higher, "moderator_value"].max()
    )
    assert (inside["alto_impacto_rank"].between(1, 60)).all()
    assert inside.loc[higher, "alto_impacto_percentile"].min() > 50


def test_stata_file_reads_back_with_values_and_labels(real_db, monkeypatch, tmp_path):
    for fmt in ("csv", "dta"):
        result = invoke(
            real_db,
            monkeypatch,
            "covariates",
            "--vintage",
            "2016",
            *WINDOW,
            "--out",
            str(tmp_path / f"cov.{fmt}"),
        )
        assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "cov.csv", dtype={"census": str})
    with pd.io.stata.StataReader(tmp_path / "cov.dta") as reader:
        stata = reader.read()
        labels = reader.variable_labels()
    assert list(stata.columns) == list(table.columns)
    for column in table.columns:
        if pd.api.types.is_numeric_dtype(table[column]):
            assert_allclose(stata[column].astype(float), table[column].astype(float), rtol=1e-12)
        else:
            assert (stata[column].fillna("") == table[column].fillna("")).all(), column
    assert labels["higher_crime"].startswith("Higher-crime area (1/0)")
    assert labels["alto_impacto_rate"] == "alto_impacto: crimes per 100,000 residents"


def test_two_runs_give_identical_bytes_and_hashes(real_db, monkeypatch, tmp_path):
    for fmt in ("parquet", "xlsx", "dta", "geojson"):
        hashes = []
        for run in (1, 2):
            out = tmp_path / f"run{run}.{fmt}"
            result = invoke(
                real_db, monkeypatch, "covariates", "--vintage", "2016", *WINDOW, "--out", str(out)
            )
            assert result.exit_code == 0, result.output
            manifest = json.loads(snapshots.manifest_path(out).read_text())
            assert manifest["sha256"] == snapshots.sha256(out.read_bytes())
            hashes.append(manifest["sha256"])
        assert hashes[0] == hashes[1], fmt
        assert (tmp_path / f"run1.{fmt}").read_bytes() == (tmp_path / f"run2.{fmt}").read_bytes()
    assert manifest["rows"] == 72 and manifest["preset"]["name"] == "default"
    assert [run["source"] for run in manifest["load_runs"]] == ["ssp", "fgj"]
    assert all(len(run["file_sha256"]) == 64 for run in manifest["load_runs"])


def test_a_2016_export_can_use_the_2020_census(real_db):
    with real_db.begin() as conn:
        result = cq.compute(
            conn,
            cq.CovariateRequest(
                "2016", "sector", date(2015, 7, 1), date(2016, 6, 30), census="2020"
            ),
        )
    assert result.census["method"] == "area-weighted"
    assert result.census["from_vintage"] == "2023"
    total = result.frame["population"].sum()
    assert 0.98 * 9_118_579 < total <= 9_118_579
    assert (result.frame["census"] == "2020").all()


def test_sensitivity_reports_changes_and_stability(real_db):
    base = cq.CovariateRequest("2016", "sector", date(2015, 7, 1), date(2016, 6, 30))
    with real_db.begin() as conn:
        report = sensitivity(conn, base, draws=200, seed=7)
    changes = {row["variant"]: row["n_changed"] for row in report["variants"]}
    for same in ("rate", "months_12", "median", "recorded", "census_2010"):
        assert changes[same] == 0
    assert changes["count"] > 0 and changes["terciles"] > 0
    units = report["units"]
    assert len(units) == 71 and units["probability_higher"].between(0, 1).all()
    near = units[units["near_cutoff"] == 1]
    assert set(near["unit_id"]) == set(report["near_cutoff"])
    assert near["probability_higher"].between(0.1, 0.9, inclusive="neither").all()


# ----------------------------------------------------------------------------- frozen snapshots

SSP_HEADER = '"cuadrante","crime","date","hour","year","month","lat","long","id"'
P148 = "19.3272,-99.2103"
P127 = "19.3790,-99.1961"


def ssp_file(path: Path, rows: list[tuple[str, str, str, int]]) -> Path:
    lines = [
        f'"{q}","ROBO A TRANSEUNTE C.V.",{day},"10:00",{day[:4]},{int(day[5:7])},{point},{key}'
        for q, day, point, key in rows
    ]
    path.write_text("\n".join([SSP_HEADER, *lines]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def synthetic(territory_db, tmp_path_factory):
    first = [
        ("P-1.4.8", "2015-01-01", P148, 910001),
        ("P-1.4.8", "2015-03-10", P148, 910002),
        ("P-1.2.7", "2015-12-31", P127, 910003),
    ]
    path = ssp_file(tmp_path_factory.mktemp("ssp") / "first.csv", first)
    load_incidents(territory_db, path, "ssp")
    return territory_db


def test_from_manifest_reproduces_the_bytes_after_newer_loads(synthetic, monkeypatch, tmp_path):
    territory_db = synthetic
    units = tmp_path / "study.csv"
    units.write_text("sector\nP-1.2\nP-1.4\nP-1.1\nC-1.1\n", encoding="utf-8")
    args = ["covariates", "--vintage", "2016", "--from", "2015-01-01", "--to", "2015-12-31"]
    args += ["--units", str(units)]
    original = tmp_path / "baseline.parquet"
    result = invoke(territory_db, monkeypatch, *args, "--out", str(original))
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(original).set_index("unit_id")
    assert frame.loc["P-1.4", "alto_impacto_count"] == 2
    assert frame.loc["P-1.2", "alto_impacto_count"] == 1
    assert frame["alto_impacto_count"].sum() == 3 and len(frame) == 72
    assert frame["in_comparison"].sum() == 4 and frame["higher_crime"].notna().sum() == 4
    assert frame.loc[["P-1.2", "P-1.4"], "higher_crime"].tolist() == [1, 1]
    assert frame.loc["P-1.4", "alto_impacto_rank"] == 1
    # P-1.2: one crime in the last of 12 months; P-1.4: two in the first three months.
    assert frame.loc["P-1.2", "alto_impacto_trend_slope"] == pytest.approx(5.5 / 143)
    assert frame.loc["P-1.4", "alto_impacto_trend_slope"] < 0
    assert frame.loc["P-1.4", "alto_impacto_monthly_mean"] == pytest.approx(2 / 12)

    later = [("P-1.4.8", "2015-06-15", P148, 910004), ("P-1.4.8", "2015-06-16", P148, 910005)]
    load_incidents(territory_db, ssp_file(tmp_path / "later.csv", later), "ssp")
    fresh = tmp_path / "fresh.parquet"
    assert invoke(territory_db, monkeypatch, *args, "--out", str(fresh)).exit_code == 0
    assert pd.read_parquet(fresh).set_index("unit_id").loc["P-1.4", "alto_impacto_count"] == 4
    assert fresh.read_bytes() != original.read_bytes()

    again = tmp_path / "again.parquet"
    manifest = snapshots.manifest_path(original)
    result = invoke(
        territory_db,
        monkeypatch,
        "covariates",
        "--from-manifest",
        str(manifest),
        "--out",
        str(again),
    )
    assert result.exit_code == 0, result.output
    assert "byte for byte" in result.output
    assert again.read_bytes() == original.read_bytes()
    frozen = json.loads(manifest.read_text())
    assert len(frozen["load_runs"]) == 1
    assert frozen["parameters"]["units"] == ["P-1.2", "P-1.4", "P-1.1", "C-1.1"]
    units.write_text("sector\nC-1.2\n", encoding="utf-8")  # the list file may change later
    assert (
        invoke(
            territory_db,
            monkeypatch,
            "covariates",
            "--from-manifest",
            str(manifest),
            "--out",
            str(tmp_path / "third.parquet"),
        ).exit_code
        == 0
    )
    assert (tmp_path / "third.parquet").read_bytes() == original.read_bytes()


def test_sensitivity_reports_variants_it_cannot_run(synthetic, monkeypatch):
    result = invoke(
        synthetic,
        monkeypatch,
        "moderator",
        "sensitivity",
        "--vintage",
        "2016",
        "--to",
        "2015-12-31",
        "--draws",
        "50",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    rows = {row["variant"]: row for row in report["variants"]}
    assert "2023" in rows["census_2020"]["unavailable"]
    assert "do not cover" in rows["months_24"]["unavailable"]
    assert rows["census_2010"]["n_changed"] == 0 and rows["rate"]["n_changed"] == 0
    assert report["preset"] == "default" and report["n_units"] == 71
    assert {unit["unit_id"] for unit in report["units"] if unit["higher_crime"] == 1} == {
        "P-1.2",
        "P-1.4",
    }


def test_bad_requests_fail_with_one_line(synthetic, monkeypatch, tmp_path):
    territory_db = synthetic
    outside = invoke(
        territory_db,
        monkeypatch,
        "covariates",
        "--vintage",
        "2016",
        "--from",
        "2019-01-01",
        "--to",
        "2019-12-31",
        "--out",
        str(tmp_path / "x.csv"),
    )
    assert outside.exit_code == 1
    assert "do not cover" in outside.output and "false zeros" in outside.output
    units = tmp_path / "units.csv"
    units.write_text("unit_id\nP-1.4\nZ-9.9\n", encoding="utf-8")
    with territory_db.begin() as conn, pytest.raises(NotFoundError, match=r"Z-9\.9"):
        cq.compute(
            conn,
            cq.CovariateRequest(
                "2016", "sector", date(2015, 1, 1), date(2015, 12, 31), ("P-1.4", "Z-9.9")
            ),
        )
