"""Hostile files: garbage is one line of error and stores nothing; malformed rows are accounted.

The property-based tests generate malformed files (encodings, BOMs, CRLF, reordered,
missing and extra columns, quotes and embedded line breaks, huge fields, random bytes in
fields, truncation) and check the loader's promises on each: no exception but
``InputFileError`` escapes, every row read is loaded, a duplicate or quarantined
(``read = loaded + duplicates + quarantined``, with the loaded rows in the database),
and loading the same rows again adds nothing.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import os
import tempfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from compstat.cli import build_cli
from compstat.errors import InputFileError
from etl.csvstream import StreamState, stream_csv
from etl.incidents import load_incidents
from etl.sources import SOURCES

COLUMNS = ["fecha_hecho", "hora_hecho", "delito", "categoria_delito", "latitud", "longitud"]
GOOD_ROW = ["2020-06-01", "10:00:00", "FRAUDE", "DELITO DE BAJO IMPACTO", "19.4300", "-99.1300"]
HEADER = b"fecha_hecho,hora_hecho,delito,latitud,longitud\n"
TABLES = ("incident", "assignment", "daily_count", "quarantine", "load_run", "offence")


def table_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}


@pytest.fixture
def cli(territory_db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", territory_db.url.render_as_string(hide_password=False))
    command = build_cli()

    def invoke(*args: str):
        return CliRunner().invoke(command, list(args), catch_exceptions=False)

    return invoke


def plain_csv() -> bytes:
    return (",".join(COLUMNS) + "\n" + ",".join(GOOD_ROW) + "\n").encode()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


GARBAGE = {
    "random.csv": (os.urandom(4096) + b"\0", "binary content, not a CSV text file"),
    "picture.csv": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "binary content"),
    "page.csv": (b"<!DOCTYPE html>\n<html><body>Not found</body></html>\n", "header lacks"),
    "data.json.csv": (b'[{"delito": "FRAUDE"}]\n', "header lacks columns"),
    "bz.csv.gz": (bz2.compress(plain_csv()), "bzip2-compressed, which is not read"),
    "corrupt.csv.gz": (b"\x1f\x8b\x08\x00" + os.urandom(2000), "cannot read"),
    "two.zip": (zipped({"a.csv": plain_csv(), "b.csv": plain_csv()}), "expected one CSV"),
    "cut.zip": (zipped({"a.csv": plain_csv() * 50})[:-30], "cannot open"),
    "one_line.csv": (b"x" * (2 << 20), "no line break in the first 1 MB"),
    "empty.csv.gz": (gzip.compress(b""), "empty"),
    "cut.csv.gz": (gzip.compress(plain_csv() * 2000)[:-100], "ends early"),
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_is_one_line_of_error_and_stores_nothing(cli, territory_db, tmp_path, name):
    content, reason = GARBAGE[name]
    path = tmp_path / name
    path.write_bytes(content)
    before = table_counts(territory_db)
    result = cli("incidents", "load", str(path), "--source", "fgj")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {path}: ") and reason in lines[0], lines[0]
    assert table_counts(territory_db) == before


def test_a_plain_file_with_a_gz_name_is_read_by_its_content(cli, territory_db, tmp_path):
    path = tmp_path / "plain.csv.gz"
    path.write_bytes(plain_csv().replace(b"2020-06-01", b"2011-06-01"))
    result = cli("incidents", "load", str(path), "--source", "fgj", "--format", "json")
    assert result.exit_code == 0 and '"loaded": 1' in result.output


def test_accept_partial_loads_a_truncated_file_and_marks_the_run(cli, territory_db, tmp_path):
    rows = [",".join([f"2012-01-{1 + i % 28:02d}", *GOOD_ROW[1:]]) for i in range(3000)]
    whole = gzip.compress(("\n".join([",".join(COLUMNS), *rows]) + "\n").encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    result = cli("incidents", "load", str(path), "--source", "fgj", "--accept-partial")
    assert result.exit_code == 0
    assert "(partial file)" in result.output and "ends early" in result.output
    with territory_db.connect() as conn:
        run = conn.execute(text("SELECT partial, n_loaded FROM load_run ORDER BY id DESC")).first()
    assert run.partial and 0 < run.n_loaded < 3000


def test_an_unknown_encoding_is_one_line_of_error(cli, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(plain_csv())
    result = cli("incidents", "load", str(path), "--source", "fgj", "--encoding", "klingon")
    assert result.exit_code == 1
    assert result.output.strip() == f"error: {path}: unknown encoding 'klingon'"


def test_an_extra_taxonomy_file_maps_a_new_text_without_editing_code(cli, territory_db, tmp_path):
    extra = tmp_path / "extra.csv"
    extra.write_text(
        "source,reported,category\nfgj,ROBO DE UNICORNIO CON VIOLENCIA,robo_otros_cv\n",
        encoding="utf-8",
    )
    path = tmp_path / "unicorn.csv"
    row = ["2013-02-02", "10:00", "ROBO DE UNICORNIO CON VIOLENCIA", "", "19.43", "-99.13"]
    path.write_text(",".join(COLUMNS) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    result = cli(
        "incidents",
        "load",
        str(path),
        "--source",
        "fgj",
        "--taxonomy-extra",
        str(extra),
        "--format",
        "json",
    )
    assert result.exit_code == 0 and '"unknown_offences": {}' in result.output
    with territory_db.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT c.code, o.taxonomy_version FROM offence o JOIN category c "
                "ON c.id = o.category_id WHERE o.reported = 'ROBO DE UNICORNIO CON VIOLENCIA'"
            )
        ).one()
    assert stored.code == "robo_otros_cv" and stored.taxonomy_version.startswith("2026.2+extra.")
    broken = tmp_path / "broken.csv"
    broken.write_text("a,b\n1,2\n", encoding="utf-8")
    result = cli("incidents", "load", str(path), "--source", "fgj", "--taxonomy-extra", str(broken))
    assert result.exit_code == 1 and result.output.startswith(f"error: {broken}, line 1:")


# --- property-based tests ---------------------------------------------------------------

FIELD = st.one_of(
    st.sampled_from(["", "NA", "25:61", "2020-02-30", "0", "-99.1300", "19.4300", "ROBO"]),
    st.text(max_size=12),
    st.text(alphabet="\",\r\n'; \t", max_size=6),
    st.binary(max_size=8).map(lambda b: b.decode("latin-1")),
    st.integers(1000, 6000).map(lambda n: "X" * n),
)


@st.composite
def rows(draw) -> list[str]:
    row = list(GOOD_ROW)
    row[0] = f"20{draw(st.integers(10, 22)):02d}-{draw(st.integers(1, 12)):02d}-15"
    row[4] = f"19.{draw(st.integers(2000, 5500))}"
    row[5] = f"-99.{draw(st.integers(1000, 2500))}"
    for i in draw(st.sets(st.integers(0, len(row) - 1), max_size=2)):
        row[i] = draw(FIELD)
    return row


def quote(value: str) -> str:
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def files(draw) -> tuple[bytes, bool, bool]:
    """Return a file's bytes, whether it is cut short and whether it lacks a needed column."""
    extra = draw(st.lists(st.sampled_from(["extra", "colonia_hecho", "x y"]), max_size=2))
    names = draw(st.permutations(COLUMNS + extra))
    if draw(st.booleans()):  # the optional columns may be absent
        names = [n for n in names if n != "categoria_delito"]
    if draw(st.integers(0, 7)) == 0:  # and a required one, rarely: the file is refused
        names.remove(draw(st.sampled_from(["fecha_hecho", "delito", "latitud"])))
    body = draw(st.lists(rows(), min_size=1, max_size=25))
    body += draw(st.lists(st.sampled_from(body), max_size=3))  # repeated rows
    lines = [",".join(names)]
    for row in body:
        values = dict(zip(COLUMNS, row, strict=True))
        fields = [quote(values.get(n, "extra")) for n in names]
        if draw(st.integers(0, 9)) == 0:  # a row with a field too many or too few
            fields = fields[:-1] if draw(st.booleans()) else [*fields, "z"]
        lines.append(",".join(fields))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    content = newline.join(lines) + draw(st.sampled_from(["", newline]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    data = content.encode(encoding, "replace")
    lacking = not {"fecha_hecho", "delito", "latitud"} <= set(names)
    if not draw(st.booleans()):
        return data, False, lacking
    packed = gzip.compress(data, compresslevel=1)
    cut = draw(st.integers(0, 3)) == 0
    packed = packed[: max(20, len(packed) - draw(st.integers(9, 40)))] if cut else packed
    return packed, cut, lacking


def stored_for(engine, run_id: int) -> tuple[int, int, int]:
    with engine.connect() as conn:
        incidents = conn.execute(
            text("SELECT count(*) FROM incident WHERE load_run_id = :r"), {"r": run_id}
        ).scalar()
        quarantined = conn.execute(
            text("SELECT count(*) FROM quarantine WHERE load_run_id = :r AND reason <> ''"),
            {"r": run_id},
        ).scalar()
        total = conn.execute(text("SELECT count(*) FROM incident")).scalar()
    return incidents, quarantined, total


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=files(), accept_partial=st.booleans())
def test_every_row_of_a_malformed_file_is_accounted_for(territory_db, case, accept_partial):
    data, cut, lacking = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hostile.csv"
        path.write_bytes(data)
        before = table_counts(territory_db)
        try:
            summary = load_incidents(territory_db, path, "fgj", accept_partial=accept_partial)
        except InputFileError as exc:
            # only a file cut short or lacking a needed column is refused; nothing is stored
            assert "\n" not in str(exc)
            if lacking:  # a short header-only UTF-16 file may read as binary: refused too
                refused = ("header lacks columns", "binary content")
                assert any(r in str(exc) for r in refused) or cut, str(exc)
            else:
                assert cut and not accept_partial, str(exc)
            assert table_counts(territory_db) == before
            return
        quarantined = sum(summary.quarantined.values())
        assert summary.read == summary.loaded + summary.duplicates + quarantined
        incidents, reasons, total = stored_for(territory_db, summary.run_id)
        assert (incidents, reasons) == (summary.loaded, quarantined)
        # the same rows again, in a file that is not byte for byte the same: nothing new
        again = Path(folder) / "again.csv"
        again.write_bytes(data + (b"\n" if not cut else b""))
        second = load_incidents(territory_db, again, "fgj", accept_partial=True)
        assert second.loaded == 0
        assert stored_for(territory_db, summary.run_id)[2] == total


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    content=st.one_of(
        st.binary(max_size=3000),
        st.binary(max_size=200).map(lambda b: HEADER + b),
        st.binary(max_size=200).map(lambda b: codecs.BOM_UTF16_LE + b),
        st.binary(max_size=200).map(lambda b: gzip.compress(b)[: len(b) // 2 + 10]),
    )
)
def test_no_exception_but_a_one_line_input_error_escapes_the_reader(content):
    spec = SOURCES["fgj"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "noise.csv"
        path.write_bytes(content)
        try:
            for chunk in stream_csv(path, spec.required, StreamState(), spec.optional):
                assert chunk.table.num_rows == len(chunk.lines)
        except InputFileError as exc:
            assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
