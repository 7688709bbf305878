"""The commander roster on a real PostGIS with the real 2016 territory."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from compstat.cli import build_cli
from compstat.queries.roster import Commander, commanders_at, roster, roster_is_fictitious
from etl.roster import RosterError, load_roster
from etl.roster_demo import demo_roster, vintage_units

HEADER = "level,unit_id,name,rank,start_date,end_date"
GOOD = [
    "zone,C,Ana Pérez,Comisario General,2014-01-01,",
    "sector,C-1.1,Luis Gómez,Superintendente,2014-01-01,2015-03-31",
    "sector,C-1.1,Rosa Díaz,Primer Superintendente,2015-04-01,",
    # a gap: nobody in charge of C-1.2 from 2015-07-01 to 2015-07-14
    "sector,C-1.2,Juan Cruz,Superintendente,2014-01-01,2015-06-30",
    "sector,C-1.2,Eva Ruiz,Superintendente,2015-07-15,",
    "quadrant,C-1.1.1,Pedro Reyes,Segundo Inspector,2015-01-01,2015-12-31",
]
#: 2016 units per level, as the official layer has them.
UNITS_2016 = {"zone": 5, "region": 15, "sector": 72, "quadrant": 847}


def write(tmp_path, lines: list[str], header: str = HEADER, name: str = "roster.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def stored(engine) -> list[tuple]:
    with engine.connect() as conn:
        query = "SELECT level, unit_code, name, start_date FROM commander ORDER BY 1, 2, 4"
        return [tuple(r) for r in conn.execute(text(query))]


@pytest.fixture
def good(territory_db, tmp_path):
    load_roster(territory_db, write(tmp_path, GOOD, name="good.csv"))
    return stored(territory_db)


def test_good_roster_is_stored_with_its_file_and_row(territory_db, tmp_path):
    summary = load_roster(territory_db, write(tmp_path, GOOD))
    assert summary == {"2016": {"terms": 6, "units": 4}}
    with territory_db.connect() as conn:
        row = conn.execute(
            text(
                "SELECT source_file, source_row, fictitious, end_date FROM commander "
                "WHERE unit_code = 'C-1.1' AND name = 'Rosa Díaz'"
            )
        ).one()
        assert tuple(row) == ("roster.csv", 4, False, None)
        assert roster_is_fictitious(conn, "2016") is False


def test_commanders_at_picks_the_one_in_charge_and_none_in_a_gap(territory_db, good):
    with territory_db.connect() as conn:
        sectors = commanders_at(conn, "2016", "sector", date(2015, 3, 31))
        assert {k: v.name for k, v in sectors.items()} == {
            "C-1.1": "Luis Gómez",
            "C-1.2": "Juan Cruz",
        }
        assert sectors["C-1.1"] == Commander(
            "Luis Gómez", "Superintendente", date(2014, 1, 1), date(2015, 3, 31), False
        )
        next_day = commanders_at(conn, "2016", "sector", date(2015, 4, 1))
        assert next_day["C-1.1"].name == "Rosa Díaz"
        gap = commanders_at(conn, "2016", "sector", date(2015, 7, 1))
        assert set(gap) == {"C-1.1"}
        assert commanders_at(conn, "2016", "sector", date(2013, 12, 31)) == {}
        assert set(commanders_at(conn, "2016", "zone", date(2030, 1, 1))) == {"C"}
        assert set(commanders_at(conn, "2016", "quadrant", date(2016, 1, 1))) == set()


def test_a_load_replaces_the_whole_roster_of_the_vintage(territory_db, tmp_path, good):
    load_roster(
        territory_db, write(tmp_path, ["zone,N,Nadia Flores,Comisario General,2014-01-01,"])
    )
    assert stored(territory_db) == [("zone", "N", "Nadia Flores", date(2014, 1, 1))]


def test_overlapping_terms_are_rejected_naming_the_rows_and_nothing_is_stored(
    territory_db, tmp_path, good
):
    lines = [
        "zone,N,Nadia Flores,Comisario General,2014-01-01,",
        "sector,C-1.1,Luis Gómez,Superintendente,2014-01-01,2015-03-31",
        "sector,C-1.2,Juan Cruz,Superintendente,2014-01-01,2015-06-30",
        # shares 2015-03-31 with row 3
        "sector,C-1.1,Rosa Díaz,Primer Superintendente,2015-03-31,",
    ]
    path = write(tmp_path, lines)
    with pytest.raises(RosterError) as error:
        load_roster(territory_db, path)
    assert str(error.value) == (
        f"{path}, row 5: term 2015-03-31..open of sector C-1.1 overlaps row 3 "
        "(2014-01-01..2015-03-31)"
    )
    assert stored(territory_db) == good


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("sector,C-1.1.5,Ana Pérez,Superintendente,2014-01-01,", "unknown sector 'C-1.1.5'"),
        ("quadrant,C-1.1.5,Ana Pérez,Segundo Inspector,2014-01-01,", "unknown quadrant 'C-1.1.5'"),
        ("colonia,C-1.1,Ana Pérez,Superintendente,2014-01-01,", "unknown level 'colonia'"),
        ("sector,C-1.1,Ana Pérez,Superintendente,2015-02-01,2015-01-31", "end_date 2015-01-31 is"),
        ("sector,C-1.1,,Superintendente,2014-01-01,", "missing name"),
        ("sector,C-1.1,Ana Pérez,Superintendente,2014-13-01,", "bad start_date '2014-13-01'"),
        ("sector,C-1.1,Ana Pérez,Superintendente,1/2/2014,", "bad start_date '1/2/2014'"),
        ("sector,C-1.1,Ana Pérez,Superintendente,,", "missing start_date"),
        ("sector,C-1.1,Ana Pérez,Superintendente,2014-01-01,2015-02-30", "bad end_date"),
    ],
)
def test_invalid_rows_are_rejected_naming_the_row(territory_db, tmp_path, good, line, reason):
    path = write(tmp_path, ["zone,N,Nadia Flores,Comisario General,2014-01-01,", line])
    with pytest.raises(RosterError, match=f"^{path}, row 3: ") as error:
        load_roster(territory_db, path)
    assert reason in error.value.reason
    assert stored(territory_db) == good


def test_vintage_column_and_default_vintage(territory_db, tmp_path, good):
    header = HEADER + ",vintage"
    path = write(tmp_path, ["zone,N,Nadia Flores,Comisario General,2014-01-01,,1999"], header)
    with pytest.raises(RosterError, match="row 2: unknown vintage '1999'"):
        load_roster(territory_db, path)
    # without a vintage, a row belongs to the newest loaded vintage (by name)
    with territory_db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO territory_vintage (name, source_file, file_sha256, source_crs) "
                "VALUES ('2099', 'none', '', 'EPSG:4326')"
            )
        )
    try:
        path = write(tmp_path, ["zone,N,Nadia Flores,Comisario General,2014-01-01,,"], header)
        with pytest.raises(RosterError, match="row 2: unknown zone 'N' in vintage 2099"):
            load_roster(territory_db, path)
        assert load_roster(territory_db, path, default_vintage="2016") == {
            "2016": {"terms": 1, "units": 1}
        }
    finally:
        with territory_db.begin() as conn:
            conn.execute(text("DELETE FROM territory_vintage WHERE name = '2099'"))


def test_bad_headers_and_empty_files(territory_db, tmp_path):
    with pytest.raises(RosterError, match=r"row 1: header lacks columns \['end_date'\]"):
        load_roster(territory_db, write(tmp_path, [], "level,unit_id,name,rank,start_date"))
    with pytest.raises(RosterError, match=r"row 1: unknown columns \['notes'\]"):
        load_roster(territory_db, write(tmp_path, [], HEADER + ",notes"))
    with pytest.raises(RosterError, match="the roster has no rows"):
        load_roster(territory_db, write(tmp_path, []))
    with pytest.raises(RosterError, match="no such file"):
        load_roster(territory_db, tmp_path / "missing.csv")


def test_the_database_refuses_overlapping_terms_too(territory_db, good):
    with pytest.raises(IntegrityError, match="commander_no_overlap"), territory_db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO commander (vintage_id, level, unit_code, name, rank, start_date, "
                "fictitious, source_file, file_sha256, source_row) SELECT id, 'sector', 'C-1.1', "
                "'X', 'Y', '2020-01-01', false, 'f', '', 2 FROM territory_vintage"
            )
        )


def test_demo_roster_covers_every_unit_and_is_reproducible(territory_db):
    with territory_db.connect() as conn:
        units = vintage_units(conn, "2016")
    assert {level: len(codes) for level, codes in units.items()} == UNITS_2016
    period = (date(2013, 1, 1), date(2016, 9, 30))
    rows = demo_roster("2016", units, period, seed=7)
    assert rows == demo_roster("2016", units, period, seed=7)
    assert rows != demo_roster("2016", units, period, seed=8)
    covered = {(r["level"], r["unit_id"]) for r in rows}
    assert len(covered) == sum(UNITS_2016.values())
    assert all(r["name"].endswith("(ficticio)") for r in rows)
    assert {r["rank"] for r in rows if r["level"] == "quadrant"} == {"Segundo Inspector"}
    changed = [r for r in rows if r["end_date"]]
    assert changed
    assert all("2013-01-01" <= r["end_date"] < "2016-09-30" for r in changed)
    first = {}
    for r in rows:
        first.setdefault((r["level"], r["unit_id"]), r["start_date"])
    assert max(first.values()) < "2013-01-01"
    assert sum(1 for r in rows if not r["end_date"]) == len(covered)


def run_cli(territory_db, monkeypatch, *args: str):
    monkeypatch.setenv("DATABASE_URL", territory_db.url.render_as_string(hide_password=False))
    return CliRunner().invoke(build_cli(), list(args), catch_exceptions=False)


def test_cli_demo_load_list_and_exit_statuses(territory_db, tmp_path, monkeypatch):
    out = tmp_path / "demo.csv"
    result = run_cli(
        territory_db,
        monkeypatch,
        "commanders",
        "demo",
        "--vintage",
        "2016",
        "-o",
        str(out),
        "--seed",
        "3",
    )
    assert result.exit_code == 0
    again = run_cli(
        territory_db, monkeypatch, "commanders", "demo", "--vintage", "2016", "--seed", "3"
    )
    assert again.output == out.read_text(encoding="utf-8")
    result = run_cli(territory_db, monkeypatch, "commanders", "load", str(out), "--fictitious")
    assert result.exit_code == 0
    terms = len(out.read_text(encoding="utf-8").splitlines()) - 1
    assert result.output == f"vintage 2016: {terms:,} terms over 939 units (fictitious)\n"
    day = "2016-06-30"
    result = run_cli(
        territory_db,
        monkeypatch,
        "commanders",
        "list",
        "--vintage",
        "2016",
        "--at",
        day,
        "--format",
        "json",
    )
    listed = json.loads(result.output)
    assert len(listed) == 939
    assert all(r["fictitious"] and r["start_date"] <= day for r in listed)
    with territory_db.connect() as conn:
        assert roster_is_fictitious(conn, "2016") is True
        assert len(roster(conn)) == terms
    result = run_cli(territory_db, monkeypatch, "commanders", "list", "--at", day)
    assert len(list(csv.DictReader(io.StringIO(result.output)))) == 939


def test_cli_errors_are_one_line_and_exit_1(territory_db, tmp_path, monkeypatch):
    path = write(tmp_path, ["sector,C-1.1,Ana Pérez,Superintendente,2015-02-01,2015-01-31"])
    result = run_cli(territory_db, monkeypatch, "commanders", "load", str(path))
    assert result.exit_code == 1
    assert result.output == (
        f"error: {path}, row 2: end_date 2015-01-31 is before start_date 2015-02-01\n"
    )
    result = run_cli(territory_db, monkeypatch, "commanders", "demo", "--vintage", "1999")
    assert (result.exit_code, result.output) == (1, "error: vintage '1999' is not loaded\n")
    result = run_cli(territory_db, monkeypatch, "commanders", "list", "--vintage", "1999")
    assert result.exit_code == 1
