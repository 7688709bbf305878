"""A file with broken rows loads its good rows and quarantines the rest, with reasons."""

from __future__ import annotations

import gzip
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text

from compstat.errors import InputFileError
from etl import csvstream
from etl.incidents import IncidentLoad, load_incidents

HEADER = (
    "alcaldia_hecho,colonia_key,latitud,longitud,delito,fecha_hecho,hora_hecho,anio_hecho,trimestre"
)
GOOD = [
    "COYOACAN,Centro,19.3500,-99.1620,ROBO A TRANSEUNTE EN VIA PUBLICA CON VIOLENCIA,"
    "2021-03-04,10:15:00,2021,1",
    "COYOACAN,Centro,19.3501,-99.1621,FRAUDE,2021-03-04 00:00:00,,2021,1",
    "COYOACAN,Centro,19.3502,-99.1622,VIOLENCIA FAMILIAR,2021-03-05,12:00:00:00,2021,1",
    "COYOACAN,Centro,19.3503,-99.1623,DELITO INVENTADO QUE NO EXISTE,2021-03-06,08:00:00,2021,1",
    # outside every quadrant, but within the margin around the city's envelope
    "COYOACAN,Centro,19.6200,-99.1000,FRAUDE,2021-03-07,08:00:00,2021,1",
]
BAD = {
    "bad_date": "COYOACAN,Centro,19.35,-99.16,FRAUDE,2021-02-30,10:00:00,2021,1",
    "missing_date": "COYOACAN,Centro,19.35,-99.16,FRAUDE,,10:00:00,2021,1",
    "date_out_of_range": "COYOACAN,Centro,19.35,-99.16,FRAUDE,1021-03-01,10:00:00,1021,1",
    "missing_coordinates": "COYOACAN,Centro,,,FRAUDE,2021-03-01,10:00:00,2021,1",
    "non_numeric_coordinates": "COYOACAN,Centro,19.35x,-99.16,FRAUDE,2021-03-01,10:00:00,2021,1",
    "coordinates_out_of_range": "COYOACAN,Centro,119.35,-99.16,FRAUDE,2021-03-01,10:00:00,2021,1",
    "missing_offence": "COYOACAN,Centro,19.35,-99.16,,2021-03-01,10:00:00,2021,1",
    "coordinates_outside_city": "COYOACAN,Centro,0,0,FRAUDE,2021-03-01,10:00:00,2021,1",
}
TRUNCATED = "COYOACAN,Centro,19.35,-99.1"


def write(tmp_path: Path, lines: list[str], name: str = "broken.csv.gz") -> Path:
    path = tmp_path / name
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join([HEADER, *lines]))
    return path


def test_broken_rows_are_quarantined_with_reasons(territory_db, tmp_path):
    lines = [GOOD[0], BAD["bad_date"], GOOD[1], *list(BAD.values())[1:], *GOOD[2:], TRUNCATED]
    summary = load_incidents(territory_db, write(tmp_path, lines), "fgj")
    expected = {reason: 1 for reason in BAD} | {"wrong_field_count": 1}
    assert summary.quarantined == expected
    assert (summary.read, summary.loaded, summary.duplicates) == (14, 5, 0)
    assert summary.read == summary.loaded + summary.duplicates + sum(summary.quarantined.values())
    assert summary.unknown_offences == {"DELITO INVENTADO QUE NO EXISTE": 1}
    with territory_db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT row_number, reason, detail, raw_row FROM quarantine "
                "WHERE load_run_id = :r ORDER BY row_number"
            ),
            {"r": summary.run_id},
        ).all()
        by_line = {r.row_number: r for r in rows}
        assert by_line[3].reason == "bad_date"
        assert by_line[3].detail == "fecha_hecho='2021-02-30'"
        assert by_line[3].raw_row == BAD["bad_date"]
        assert by_line[11].detail == "latitud/longitud='0,0'"
        assert by_line[15].reason == "wrong_field_count"
        assert by_line[15].raw_row == TRUNCATED
        loaded = conn.execute(
            text(
                "SELECT source_row, occurred_time::text, c.code FROM incident i "
                "JOIN category c ON c.id = i.category_id WHERE load_run_id = :r ORDER BY source_row"
            ),
            {"r": summary.run_id},
        ).all()
    assert [tuple(r) for r in loaded] == [
        (2, "10:15:00", "robo_transeunte_cv"),
        (4, "00:00:00", "fraude"),
        (12, "12:00:00", "violencia_familiar"),
        (13, "08:00:00", "otros"),
        (14, "08:00:00", "fraude"),
    ]


def test_outside_point_is_kept_and_counted_outside(territory_db, tmp_path):
    row = GOOD[4].replace("2021-03-07", "2022-11-07")
    summary = load_incidents(territory_db, write(tmp_path, [row], "outside.csv.gz"), "fgj")
    assert summary.loaded == 1
    with territory_db.connect() as conn:
        method = conn.execute(
            text(
                "SELECT a.method FROM assignment_with_method a JOIN incident i "
                "ON i.id = a.incident_id WHERE i.load_run_id = :r"
            ),
            {"r": summary.run_id},
        ).scalar()
    assert method == "outside"


def test_reloading_a_changed_file_loads_only_new_rows(territory_db, tmp_path):
    rows = [r.replace("2021-03", "2023-06") for r in GOOD[:3]]
    first = load_incidents(territory_db, write(tmp_path, rows[:2], "a.csv.gz"), "fgj")
    second = load_incidents(territory_db, write(tmp_path, rows, "b.csv.gz"), "fgj")
    assert (first.loaded, second.loaded, second.duplicates) == (2, 1, 2)


def test_identical_rows_in_one_file_are_separate_incidents(territory_db, tmp_path):
    row = "TLALPAN,Centro,19.29,-99.17,AMENAZAS,2022-05-01,09:00:00,2022,2"
    summary = load_incidents(territory_db, write(tmp_path, [row, row], "twins.csv.gz"), "fgj")
    assert (summary.loaded, summary.duplicates) == (2, 0)


def test_identical_rows_across_chunks_keep_their_own_keys(territory_db, tmp_path, monkeypatch):
    monkeypatch.setattr(csvstream, "FIRST_CHUNK_BYTES", 150)
    monkeypatch.setattr(csvstream, "CHUNK_BYTES", 150)
    row = "TLALPAN,Centro,19.29,-99.17,AMENAZAS,2022-05-02,09:00:00,2022,2"
    lines = [row, GOOD[0].replace("2021", "2020"), row, row]
    summary = load_incidents(territory_db, write(tmp_path, lines, "chunks.csv.gz"), "fgj")
    assert (summary.loaded, summary.duplicates) == (4, 0)
    again = load_incidents(territory_db, write(tmp_path, [*lines, row], "more.csv.gz"), "fgj")
    assert (again.loaded, again.duplicates) == (1, 4)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), (b"", "empty"), (b"a,b\n1,2\n", "header lacks columns")],
)
def test_unreadable_files_raise_a_clear_error(territory_db, tmp_path, content, message):
    path = tmp_path / "input.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputFileError, match=message):
        load_incidents(territory_db, path, "fgj")


def test_truncated_gzip_is_refused_unless_partial_is_accepted(territory_db, tmp_path):
    whole = write(tmp_path, [GOOD[0].replace("19.3500", "19.3510")] * 1 + GOOD[1:3], "t.csv.gz")
    data = whole.read_bytes()
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(data[: len(data) - 12])
    with territory_db.connect() as conn:
        runs_before = conn.execute(text("SELECT count(*) FROM load_run")).scalar()
    with pytest.raises(InputFileError, match=r"ends early.*nothing was stored"):
        load_incidents(territory_db, cut, "fgj")
    with territory_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM load_run")).scalar() == runs_before
    summary = load_incidents(territory_db, cut, "fgj", accept_partial=True)
    assert summary.partial and any("ends early" in note for note in summary.notes)
    assert summary.read == summary.loaded + summary.duplicates + sum(summary.quarantined.values())
    with territory_db.connect() as conn:
        query = "SELECT partial FROM load_run WHERE id = :r"
        assert conn.execute(text(query), {"r": summary.run_id}).scalar() is True


def test_concurrent_loads_of_overlapping_files_store_each_row_once(territory_db, tmp_path):
    # the load lock serialises them; the second reads the first's keys once it gets in
    rows = [r.replace("2021-03", "2019-11") for r in GOOD[:3]]
    files = [write(tmp_path, rows[:2], "x.csv.gz"), write(tmp_path, rows[1:], "y.csv.gz")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        summaries = list(pool.map(lambda f: load_incidents(territory_db, f, "fgj"), files))
    assert sorted((s.loaded, s.duplicates) for s in summaries) == [(1, 1), (2, 0)]
    with territory_db.connect() as conn:
        query = "SELECT count(*) FROM incident WHERE occurred_date BETWEEN :a AND :b"
        stored = conn.execute(text(query), {"a": "2019-11-01", "b": "2019-11-30"}).scalar()
    assert stored == 3


def test_a_load_failing_midway_leaves_the_database_as_it_was(territory_db, tmp_path, monkeypatch):
    monkeypatch.setattr(csvstream, "FIRST_CHUNK_BYTES", 150)
    monkeypatch.setattr(csvstream, "CHUNK_BYTES", 150)
    tables = ("incident", "assignment", "daily_count", "quarantine", "load_run", "offence")

    def counts() -> dict[str, int]:
        with territory_db.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}

    before = counts()
    original, calls = IncidentLoad.add_chunk, []

    def crash_on_third(self, chunk, checked):
        calls.append(chunk.first_line)
        if len(calls) == 3:
            raise RuntimeError("simulated crash")
        original(self, chunk, checked)

    monkeypatch.setattr(IncidentLoad, "add_chunk", crash_on_third)
    rows = [r.replace("2021-03", f"2018-0{i}") for i, r in enumerate(GOOD[:3] * 2, start=1)]
    with pytest.raises(RuntimeError, match="simulated crash"):
        load_incidents(territory_db, write(tmp_path, rows, "crash.csv.gz"), "fgj")
    assert len(calls) == 3  # two slices were written before the crash
    assert counts() == before
    assert not any(t.name == "read-ahead" and t.is_alive() for t in threading.enumerate())
