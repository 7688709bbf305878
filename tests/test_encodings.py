"""Files in every encoding the portal has published load with their accents intact."""

from __future__ import annotations

import codecs

import pytest
from sqlalchemy import text

from etl.csvstream import detect_encoding
from etl.incidents import load_incidents

HEADER = "fecha_hecho,hora_hecho,delito,categoria_delito,colonia_hecho,latitud,longitud"
ROWS = [
    "{day},10:00:00,VIOLACIÓN,VIOLACIÓN,PEÑÓN DE LOS BAÑOS,19.4300,-99.0900",
    "{day},11:00:00,ROBO DE VEHÍCULO DE SERVICIO PARTICULAR SIN VIOLENCIA,"
    "ROBO DE VEHÍCULO CON Y SIN VIOLENCIA,MÉXICO,19.4301,-99.0901",
]
OFFENCES = """
    SELECT o.reported, c.code FROM incident i JOIN offence o ON o.id = i.offence_id
    JOIN category c ON c.id = i.category_id WHERE i.load_run_id = :run ORDER BY i.source_row
"""
EXPECTED = [
    ("VIOLACIÓN", "violacion"),
    ("ROBO DE VEHÍCULO DE SERVICIO PARTICULAR SIN VIOLENCIA", "robo_vehiculo_sv"),
]


def content(day: str, newline: str = "\n") -> str:
    return newline.join([HEADER, *(r.format(day=day) for r in ROWS)]) + newline


def offences(engine, run_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(OFFENCES), {"run": run_id})]


@pytest.mark.parametrize(
    ("name", "encode", "day", "named"),
    [
        ("utf8", lambda s: s.encode("utf-8"), "2014-01-02", "UTF-8 (detected)"),
        ("utf8bom", lambda s: codecs.BOM_UTF8 + s.encode(), "2014-01-03", "UTF-8 with BOM"),
        ("utf16le", lambda s: s.encode("utf-16"), "2014-01-04", "UTF-16 with BOM"),
        (
            "utf16be",
            lambda s: codecs.BOM_UTF16_BE + s.encode("utf-16-be"),
            "2014-01-05",
            "UTF-16 with BOM",
        ),
        ("cp1252", lambda s: s.encode("cp1252"), "2014-01-06", "Windows-1252 (detected)"),
        ("crlf", lambda s: s.replace("\n", "\r\n").encode("cp1252"), "2014-01-07", "Windows-1252"),
    ],
)
def test_each_encoding_loads_with_accents_intact(territory_db, tmp_path, name, encode, day, named):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(encode(content(day)))
    summary = load_incidents(territory_db, path, "fgj")
    assert (summary.read, summary.loaded) == (2, 2), summary.as_json()
    assert offences(territory_db, summary.run_id) == EXPECTED
    assert any(f"read as {named}" in note for note in summary.notes), summary.notes


def test_latin1_bytes_windows_1252_leaves_undefined_are_read_as_latin1():
    assert detect_encoding("AÑO,\x81\n".encode("latin-1")) == "latin-1"
    assert detect_encoding("AÑO\n".encode("cp1252")) == "cp1252"
    assert detect_encoding("AÑO\n".encode()) == "utf-8"


def test_the_encoding_option_overrides_detection(territory_db, tmp_path):
    path = tmp_path / "declared.csv"
    # valid UTF-8 bytes, but the file is in fact Latin-1: only the user can tell
    path.write_bytes(content("2014-02-01").encode("utf-8"))
    summary = load_incidents(territory_db, path, "fgj", encoding="latin-1")
    assert any("read as Latin-1 (as asked)" in note for note in summary.notes)
    with territory_db.connect() as conn:
        texts = conn.execute(
            text(
                "SELECT o.reported FROM incident i JOIN offence o ON o.id = i.offence_id "
                "WHERE i.load_run_id = :run ORDER BY i.source_row"
            ),
            {"run": summary.run_id},
        ).scalars()
        assert next(iter(texts)) == "VIOLACIÃ\x93N"


def test_legacy_bytes_after_a_utf8_start_are_read_as_windows_1252(territory_db, tmp_path):
    filler = [f"2014-03-01,10:00:00,FRAUDE,,CENTRO,19.43{i:02d},-99.0900" for i in range(99)]
    head = "\n".join([HEADER, *filler]) + "\n"
    # the first 64 KB are plain ASCII, so the file is taken for UTF-8 at first
    padding = "".join(
        f"2014-03-02,10:00:00,FRAUDE,,{'X' * 200},19.4{i % 90 + 10:02d},-99.0900\n"
        for i in range(400)
    )
    tail = ROWS[0].format(day="2014-03-03") + "\n"
    path = tmp_path / "mixed.csv"
    path.write_bytes(head.encode() + padding.encode() + tail.encode("cp1252"))
    summary = load_incidents(territory_db, path, "fgj")
    assert summary.loaded == 500
    assert any("not UTF-8; read them as Windows-1252" in note for note in summary.notes)
    with territory_db.connect() as conn:
        query = "SELECT count(*) FROM offence WHERE reported = 'VIOLACIÓN'"
        assert conn.execute(text(query)).scalar() == 1


def test_mojibake_from_code_page_850_is_repaired_and_counted(territory_db, tmp_path):
    rows = [
        "2014-04-01,10:00:00,VIOLACIàN,VIOLACIàN,CENTRO,19.4300,-99.0900",
        "2014-04-01,11:00:00,ROBO DE VEHÖCULO DE SERVICIO PARTICULAR CON VIOLENCIA,"
        "ROBO DE VEHÖCULO CON Y SIN VIOLENCIA,CENTRO,19.4301,-99.0901",
        "2014-04-01,12:00:00,FRAUDE,DELITO DE BAJO IMPACTO,CENTRO,19.4302,-99.0902",
    ]
    path = tmp_path / "mojibake.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="cp1252")
    summary = load_incidents(territory_db, path, "fgj")
    assert summary.unknown_offences == {}
    assert offences(territory_db, summary.run_id) == [
        ("VIOLACIÓN", "violacion"),
        ("ROBO DE VEHÍCULO DE SERVICIO PARTICULAR CON VIOLENCIA", "robo_vehiculo_cv"),
        ("FRAUDE", "fraude"),
    ]
    # two offence texts and two category texts
    assert any(
        note.startswith("4 offence or category texts were repaired") for note in summary.notes
    ), summary.notes
