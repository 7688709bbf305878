"""The weekly table against direct SQL over the real incidents, level sums and coverage."""

from __future__ import annotations

import io
import itertools
import json
from datetime import date

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from compstat.cli import build_cli
from compstat.queries.accountability import COLUMNS, AccountabilityQuery, accountability
from compstat.queries.counts import CountsQuery, counts
from compstat.queries.trends import TrendQuery, trend
from etl.roster import load_roster
from etl.ssp_spreadsheet import read_ssp_spreadsheet

BASIS_COLUMN = {
    "recorded": "quadrant_id",
    "spatial": "spatial_quadrant_id",
    "source": "source_quadrant_id",
}
DIRECT = """
    SELECT count(*) FROM incident i
    JOIN assignment_with_method m ON m.incident_id = i.id
    JOIN territory_vintage v ON v.id = m.vintage_id AND v.name = :vintage
    JOIN quadrant q ON q.id = m.{column}
    JOIN sector s ON s.id = q.sector_id
    JOIN category c ON c.id = i.category_id
    WHERE s.code = :sector AND i.occurred_date BETWEEN :start AND :end
      AND (c.high_impact OR NOT :high_impact_only)
"""


def direct_count(conn, vintage, sector, basis, window, high_impact_only=True) -> int:
    sql = text(DIRECT.format(column=BASIS_COLUMN[basis]))
    params = {
        "vintage": vintage,
        "sector": sector,
        "start": window.start,
        "end": window.end,
        "high_impact_only": high_impact_only,
    }
    return conn.execute(sql, params).scalar_one()


def run(engine, **kwargs):
    with engine.connect() as conn:
        return accountability(conn, AccountabilityQuery(**kwargs))


@pytest.mark.parametrize(
    ("vintage", "sector", "as_of", "basis"),
    [
        ("2023", "C-1.7", date(2023, 6, 18), "recorded"),
        ("2023", "O-2.2", date(2022, 3, 13), "spatial"),
        ("2016", "P-1.4", date(2015, 6, 14), "source"),
        ("2016", "N-2.1", date(2015, 11, 29), "recorded"),
    ],
)
def test_windows_equal_direct_sql_over_incidents(real_db, vintage, sector, as_of, basis):
    table = run(
        real_db,
        vintage=vintage,
        level="sector",
        as_of=as_of,
        basis=basis,
        groups=("alto_impacto", "all"),
    )
    rows = table.rows.set_index(["unit_id", "group", "window"])
    checked = 0
    with real_db.connect() as conn:
        for kind, ws in table.windows.items():
            row = rows.loc[(sector, "alto_impacto", kind)]
            assert (row["start"], row["end"]) == (ws.current.start, ws.current.end)
            for column, window in (("current", ws.current), ("year_ago", ws.year_ago)):
                expected = direct_count(conn, vintage, sector, basis, window)
                assert row[column] == expected, (kind, column)
                checked += expected
            if vintage == "2023":  # the FGJ file holds every offence
                everything = rows.loc[(sector, "all", kind)]
                assert everything["current"] == direct_count(
                    conn, vintage, sector, basis, ws.current, high_impact_only=False
                )
    assert checked > 0


def test_every_parent_equals_the_sum_of_its_children(real_db):
    kwargs = {"vintage": "2023", "as_of": date(2023, 6, 18), "groups": ("alto_impacto", "all")}
    levels = ["zone", "region", "sector", "quadrant"]
    tables = {level: run(real_db, level=level, **kwargs).rows for level in levels}
    periods = ["current", "year_ago", "two_year_ago"]
    for parent, child in itertools.pairwise(levels):
        children = tables[child][tables[child]["unit_id"] != "FUERA"]
        summed = children.groupby(["parent_id", "group", "window"])[periods].sum()
        parents = tables[parent].set_index(["unit_id", "group", "window"])[periods]
        parents = parents.drop(index="FUERA", level=0, errors="ignore")
        assert summed.astype(int).to_dict("index") == parents.astype(int).to_dict("index")
    city = run(real_db, level="zone", **kwargs)
    all_rows = city.rows.groupby(["group", "window"])[periods].sum().astype(int)
    totals = city.totals.set_index(["group", "window"])[periods].astype(int)
    assert all_rows.to_dict("index") == totals.to_dict("index")
    assert (city.rows["unit_id"] == "FUERA").any()  # FGJ points outside every quadrant


def test_drill_down_shows_only_the_parents_children(real_db):
    table = run(real_db, vintage="2023", level="quadrant", parent="C-1.7", as_of=date(2023, 6, 18))
    assert set(table.rows["parent_id"]) == {"C-1.7"}
    assert [b["unit_id"] for b in table.breadcrumb] == ["C", "C-1", "C-1.7"]
    sector = run(real_db, vintage="2023", level="sector", as_of=date(2023, 6, 18))
    expected = sector.rows.set_index(["unit_id", "window"]).loc["C-1.7", "current"]
    got = table.totals.set_index("window")["current"]
    assert got.to_dict() == expected.to_dict()
    assert list(table.rows.columns) == COLUMNS


def test_percent_change_is_null_for_a_zero_base(real_db):
    rows = run(real_db, vintage="2023", level="quadrant", as_of=date(2023, 6, 18)).rows
    zero_base = rows[rows["year_ago"] == 0]
    assert len(zero_base) > 0
    assert zero_base["pct_change"].isna().all()
    rising = zero_base[zero_base["current"] > 0]
    assert len(rising) > 0 and rising["z"].notna().all()
    ranked = rows[(rows["unit_id"] != "FUERA") & (rows["window"] == "ytd")]
    assert ranked["rank"].min() == 1 and ranked["rank"].max() <= 847


def test_year_to_date_ending_on_29_february(real_db):
    table = run(real_db, vintage="2023", level="sector", as_of=date(2020, 2, 29))
    ytd = table.windows["ytd"]
    assert (ytd.year_ago.start, ytd.year_ago.end) == (date(2019, 1, 1), date(2019, 2, 28))
    row = table.rows.set_index(["unit_id", "window"]).loc[("C-1.7", "ytd")]
    with real_db.connect() as conn:
        assert row["year_ago"] == direct_count(conn, "2023", "C-1.7", "recorded", ytd.year_ago)
        assert row["current"] == direct_count(conn, "2023", "C-1.7", "recorded", ytd.current)
    # two years earlier is 2018: no data was loaded for it, so no false drop
    assert row["two_year_ago"] is None and row["two_year_pct_change"] is None
    assert any(n["code"] == "no_data" and n["period"] == "two_years_ago" for n in table.notes)


def test_periods_without_loaded_data_have_no_count(real_db):
    gap = run(real_db, vintage="2016", level="zone", as_of=date(2017, 6, 18))
    assert gap.rows["current"].isna().all() and gap.rows["pct_change"].isna().all()
    assert {n["code"] for n in gap.notes} == {"no_data"}
    # the SSP file holds high-impact crimes only: "all" over its period is not counted
    ssp = run(
        real_db,
        vintage="2016",
        level="zone",
        as_of=date(2015, 6, 14),
        groups=("alto_impacto", "all"),
    )
    everything = ssp.rows[ssp.rows["group"] == "all"]
    assert everything["current"].isna().all()
    assert ssp.rows.loc[ssp.rows["group"] == "alto_impacto", "current"].notna().all()
    assert any(n["code"] == "out_of_scope" and n["group"] == "all" for n in ssp.notes)
    assert [s["code"] for s in ssp.sources] == ["ssp"]


def test_default_as_of_is_the_last_sunday_of_the_data(real_db):
    table = run(real_db, vintage="2023", level="zone")
    assert table.query.as_of == date(2023, 12, 31)  # the FGJ file ends on a Sunday
    assert table.query.groups == ("alto_impacto",)
    assert table.census == "2020"


def test_source_basis_reproduces_the_official_quadrant_months(real_db, paths):
    sheet = read_ssp_spreadsheet(paths["sheet"]).counts
    sheet = sheet[sheet["month"] < "2016-01-01"]
    official = sheet.assign(quadrant=sheet["quadrant"].replace({"(en blanco)": "FUERA"}))
    official = official.groupby(["quadrant", "month"])["count"].sum()
    query = CountsQuery(
        "2016", "quadrant", "month", date(2013, 1, 1), date(2015, 12, 31), basis="source"
    )
    with real_db.connect() as conn:
        loaded = counts(conn, query)
    loaded = loaded.assign(month=pd.to_datetime(loaded["period_start"]))
    loaded = loaded.groupby(["unit_id", "month"])["count"].sum()
    loaded.index.names = official.index.names
    both = pd.concat([official.rename("official"), loaded.rename("loaded")], axis=1).fillna(0)
    differ = both[both["official"] != both["loaded"]]
    # One vehicle robbery of October 2015 is recorded in S-3.5.13 in the point file and
    # in S-3.5.12 in the official reply; every other quadrant-month of 2013-2015 agrees.
    assert differ.to_dict("index") == {
        ("S-3.5.12", pd.Timestamp("2015-10-01")): {"official": 2.0, "loaded": 1.0},
        ("S-3.5.13", pd.Timestamp("2015-10-01")): {"official": 3.0, "loaded": 4.0},
    }
    assert both["official"].sum() == both["loaded"].sum() == 111_928
    assert both.loc["FUERA", "loaded"].sum() > 0  # the SSP's unassigned rows


def test_trend_matches_the_weekly_table(real_db):
    with real_db.connect() as conn:
        weeks = TrendQuery(
            "2023", ("C-1.7",), "alto_impacto", "week", date(2023, 1, 2), date(2023, 6, 18)
        )
        months = TrendQuery(
            "2023", ("C-1.7",), "alto_impacto", "month", date(2023, 1, 1), date(2023, 5, 31)
        )
        weekly, monthly = trend(conn, weeks), trend(conn, months)
    table = run(real_db, vintage="2023", level="sector", as_of=date(2023, 6, 18))
    week = table.rows.set_index(["unit_id", "window"]).loc[("C-1.7", "week")]
    last = weekly.iloc[-1]
    assert (last["period_start"], last["period_end"]) == (date(2023, 6, 12), date(2023, 6, 18))
    assert (last["current"], last["year_ago"]) == (week["current"], week["year_ago"])
    assert weekly["period_start"].map(date.weekday).eq(0).all()
    assert monthly["period_start"].tolist() == [date(2023, m, 1) for m in range(1, 6)]
    with real_db.connect() as conn:
        for row in monthly.itertuples():
            window = type("W", (), {"start": row.period_start, "end": row.period_end})
            assert row.current == direct_count(conn, "2023", "C-1.7", "recorded", window)


def test_accountability_cli_contract(real_db, monkeypatch, tmp_path):
    url = real_db.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    runner = CliRunner()
    args = [
        "accountability",
        "--vintage",
        "2023",
        "--level",
        "region",
        "--as-of",
        "2023-06-18",
        "--group",
        "alto_impacto",
        "--group",
        "robo_vehiculo",
    ]
    result = runner.invoke(build_cli(), [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.BytesIO(result.stdout_bytes), encoding="utf-8-sig")
    assert list(frame.columns) == COLUMNS
    assert set(frame["window"]) == {"week", "28d", "ytd"}
    assert set(frame["group"]) == {"alto_impacto", "robo_vehiculo"}
    records = json.loads(runner.invoke(build_cli(), [*args, "--format", "json"]).output)["rows"]
    assert len(records) == len(frame)
    assert records[0]["start"] == "2023-06-12"
    out = tmp_path / "table.xlsx"
    assert runner.invoke(build_cli(), [*args, "--format", "xlsx", "-o", str(out)]).exit_code == 0
    assert pd.read_excel(out, sheet_name="datos")["current"].tolist() == frame["current"].tolist()
    missing = runner.invoke(build_cli(), [*args, "-o", str(tmp_path / "no" / "t.csv")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    out = tmp_path / "table.dta"
    assert runner.invoke(build_cli(), [*args, "--format", "dta", "-o", str(out)]).exit_code == 0
    assert len(pd.read_stata(out)) == len(frame)
    unknown = runner.invoke(build_cli(), ["accountability", "--vintage", "2023", "--group", "x"])
    assert unknown.exit_code == 1 and "alto_impacto" in unknown.output


def test_commander_in_charge_at_the_end_of_the_window(real_db, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "level,unit_id,name,rank,start_date,end_date,vintage\n"
        "sector,C-1.7,Ana Uno,Superintendente,2022-01-01,2023-06-11,2023\n"
        "sector,C-1.7,Beto Dos,Superintendente,2023-06-12,,2023\n",
        encoding="utf-8",
    )
    before = run(real_db, vintage="2023", level="sector", as_of=date(2023, 6, 18))
    load_roster(real_db, roster, fictitious=True)
    after = run(real_db, vintage="2023", level="sector", as_of=date(2023, 6, 18))
    earlier = run(real_db, vintage="2023", level="sector", as_of=date(2023, 6, 4))
    commander = after.rows.set_index("unit_id")["commander"]
    assert set(commander.loc["C-1.7"]) == {"Superintendente Beto Dos"}
    assert commander.loc["C-1.1"].isna().all()  # nobody in charge: said so, not invented
    assert set(earlier.rows.set_index("unit_id").loc["C-1.7", "commander"]) == {
        "Superintendente Ana Uno"
    }
    assert after.roster_fictitious and not before.roster_fictitious
    assert before.rows["commander"].isna().all()


def test_the_data_version_is_read_once_per_transaction_and_anew_after(real_db):
    # A request's cache lookups share one version; the next transaction sees a new one.
    from sqlalchemy import event

    from compstat.queries import cube as cubes

    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(real_db, "before_cursor_execute", seen)
    try:
        with real_db.connect() as conn:
            first = cubes.data_version(conn)
            assert cubes.data_version(conn) == first
            assert len(statements) == 1
            conn.execute(
                text("INSERT INTO commander (loaded_at) SELECT now() WHERE false")
            )  # a statement in the same transaction does not drop the memo
            assert cubes.data_version(conn) == first and len(statements) == 2
            conn.rollback()
            assert cubes.data_version(conn) == first and len(statements) == 3
    finally:
        event.remove(real_db, "before_cursor_execute", seen)


def test_day_bounds_take_the_haystacks_type():
    import numpy as np

    from compstat.queries.cube import day_bounds, day_number

    bounds = day_bounds(date(2023, 1, 1), date(2023, 1, 31), np.dtype(np.int32))
    assert bounds.dtype == np.int32
    assert bounds.tolist() == [day_number(date(2023, 1, 1)), day_number(date(2023, 2, 1))]
