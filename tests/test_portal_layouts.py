"""The FGJ portal's own releases load: their layouts, report dates and official categories."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from sqlalchemy import text

from compstat import taxonomy
from compstat.errors import InputFileError
from etl.csvstream import StreamState, column_key, stream_csv
from etl.incidents import load_incidents
from etl.sources import SOURCES

LAYOUT_2020 = (
    "anio_inicio,mes_inicio,fecha_inicio,hora_inicio,anio_hecho,mes_hecho,fecha_hecho,"
    "hora_hecho,delito,categoria_delito,competencia,fiscalia,agencia,unidad_investigacion,"
    "colonia_catalogo,colonia_hecho,alcaldia_hecho,alcaldia_catalogo,municipio_hecho,"
    "latitud,longitud"
)
LAYOUT_2019 = (
    "ao_hechos,mes_hechos,FechaHecho,HoraHecho,ao_inicio,mes_inicio,FechaInicio,HoraInicio,"
    "delito,fiscalia,agencia,unidad_investigacion,categoria_delito,AlcaldiaHechos,"
    "municipio_hechos,colonia_datos,fgj_colonia_registro,longitud,latitud"
)
TRANSEUNTE = "ROBO A TRANSEUNTE EN VÍA PÚBLICA CON Y SIN VIOLENCIA"
LOW = "DELITO DE BAJO IMPACTO"


def row_2020(
    day: str,
    time: str,
    reported: str,
    offence: str,
    official: str,
    lat: str = "19.3500",
    lon: str = "-99.1620",
) -> str:
    return (
        f"2017,Marzo,{reported},2017,Marzo,{day},{time},{offence},{official},FUERO COMUN,"
        f"INVESTIGACIÓN EN COYOACÁN,COY-1,UI-1CD,CENTRO,CENTRO,COYOACAN,COYOACAN,"
        f"CIUDAD DE MEXICO,{lat},{lon}"
    )


ROWS_2020 = [
    # the official category decides the family; the text still splits the violence
    row_2020(
        "2017-03-04",
        "22:15:00",
        "2017-03-05,09:30:00",
        "ROBO A TRANSEUNTE DE CELULAR CON VIOLENCIA",
        TRANSEUNTE,
    ),
    row_2020(
        "2017-03-04",
        "22:16:00",
        "2017-03-05,09:31:00",
        "ROBO A TRANSEUNTE DE CELULAR SIN VIOLENCIA",
        TRANSEUNTE,
    ),
    # "DELITO DE BAJO IMPACTO" is never high impact, whatever the text
    row_2020(
        "2017-03-04",
        "10:00:00",
        "2017-03-04,11:00:00",
        "ROBO A TRANSEUNTE EN VIA PUBLICA CON VIOLENCIA",
        LOW,
    ),
    row_2020("2017-03-04", "10:01:00", "2017-03-04,11:01:00", "VIOLACION", LOW),
    row_2020(
        "2017-03-06",
        "08:00:00",
        "2017-03-07,08:00:00",
        "ROBO DE MOTOCICLETA SIN VIOLENCIA",
        "ROBO DE VEHÍCULO CON Y SIN VIOLENCIA",
    ),
    # a text new in later releases, and a row without an official category
    row_2020("2017-03-06", "08:01:00", "2017-03-07,08:01:00", "SECUESTRO EXTORSIVO", "SECUESTRO"),
    row_2020("2017-03-06", "08:02:00", "2017-03-07,08:02:00", "FRAUDE", ""),
    # an official category the taxonomy does not know: the text decides, and a note says so
    row_2020(
        "2017-03-06",
        "08:03:00",
        "2017-03-07,08:03:00",
        "ROBO A NEGOCIO CON VIOLENCIA",
        "CATEGORIA NUEVA",
    ),
    # a time that cannot exist loads without a time
    row_2020("2017-03-08", "25:61", "2017-03-08,26:00", "AMENAZAS", LOW),
    # (0, 0) and swapped latitude and longitude
    row_2020("2017-03-08", "09:00:00", "2017-03-08,10:00:00", "AMENAZAS", LOW, "0", "0"),
    row_2020(
        "2017-03-08", "09:01:00", "2017-03-08,10:01:00", "AMENAZAS", LOW, "-99.1620", "19.3500"
    ),
]
EXPECTED_2020 = [
    (2, "2017-03-04", "22:15:00", "2017-03-05", "09:30:00", TRANSEUNTE, "robo_transeunte_cv"),
    (3, "2017-03-04", "22:16:00", "2017-03-05", "09:31:00", TRANSEUNTE, "robo_transeunte_sv"),
    (4, "2017-03-04", "10:00:00", "2017-03-04", "11:00:00", LOW, "robo_otros_cv"),
    (5, "2017-03-04", "10:01:00", "2017-03-04", "11:01:00", LOW, "delitos_sexuales"),
    (
        6,
        "2017-03-06",
        "08:00:00",
        "2017-03-07",
        "08:00:00",
        "ROBO DE VEHÍCULO CON Y SIN VIOLENCIA",
        "robo_vehiculo_sv",
    ),
    (7, "2017-03-06", "08:01:00", "2017-03-07", "08:01:00", "SECUESTRO", "secuestro"),
    (8, "2017-03-06", "08:02:00", "2017-03-07", "08:02:00", None, "fraude"),
    (9, "2017-03-06", "08:03:00", "2017-03-07", "08:03:00", "CATEGORIA NUEVA", "robo_negocio_cv"),
    (10, "2017-03-08", None, "2017-03-08", None, LOW, "amenazas"),
]

STORED = """
    SELECT i.source_row, i.occurred_date::text, i.occurred_time::text, i.reported_date::text,
           i.reported_time::text, o.name, c.code
    FROM incident i JOIN category c ON c.id = i.category_id
    LEFT JOIN official_category o ON o.id = i.official_category_id
    WHERE i.load_run_id = :run ORDER BY i.source_row
"""


def write(path: Path, header: str, rows: list[str]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join([header, *rows]) + "\n")
    return path


def stored(engine, run_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(STORED), {"run": run_id})]


def test_the_2020_layout_keeps_report_dates_and_official_categories(territory_db, tmp_path):
    path = write(tmp_path / "carpetas_2020.csv.gz", LAYOUT_2020, ROWS_2020)
    summary = load_incidents(territory_db, path, "fgj")
    assert (summary.read, summary.loaded) == (11, 9)
    assert summary.quarantined == {"coordinates_outside_city": 2}
    assert stored(territory_db, summary.run_id) == EXPECTED_2020
    assert "1 rows had an unreadable time; loaded without" in summary.notes
    assert any("'CATEGORIA NUEVA'" in note for note in summary.notes)
    with territory_db.connect() as conn:
        # the official category decides the daily counts too, not just the incident rows
        counted = conn.execute(
            text(
                "SELECT c.code, sum(d.n_spatial) FROM daily_count d JOIN category c "
                "ON c.id = d.category_id WHERE d.day = '2017-03-04' GROUP BY c.code ORDER BY 1"
            )
        ).all()
    assert [tuple(r) for r in counted] == [
        ("delitos_sexuales", 1),
        ("robo_otros_cv", 1),
        ("robo_transeunte_cv", 1),
        ("robo_transeunte_sv", 1),
    ]


def test_a_row_the_fgj_classed_low_impact_never_counts_as_high_impact(territory_db, tmp_path):
    high = [
        t
        for (s, t), code in taxonomy.offence_map().items()
        if s == "fgj" and code in {c.code for c in taxonomy.categories() if c.high_impact}
    ]
    rows = [
        row_2020("2016-05-02", "10:00:00", "2016-05-02,10:00:00", t.replace(",", " "), LOW)
        for t in high
    ]
    summary = load_incidents(territory_db, write(tmp_path / "low.csv.gz", LAYOUT_2020, rows), "fgj")
    assert summary.loaded == len(high) > 60
    with territory_db.connect() as conn:
        high_impact = conn.execute(
            text(
                "SELECT count(*) FROM incident i JOIN category c ON c.id = i.category_id "
                "WHERE i.load_run_id = :run AND c.high_impact"
            ),
            {"run": summary.run_id},
        ).scalar()
    assert high_impact == 0


def test_the_2019_layout_loads_with_its_own_column_names(territory_db, tmp_path):
    rows = [
        "2018,Enero,2018-01-04 12:00:00,12:00,2018,Enero,2018-01-05 09:00:00,09:00,"
        "ROBO A NEGOCIO CON VIOLENCIA,INVESTIGACIÓN EN COYOACÁN,COY-1,UI-1CD,"
        "ROBO A NEGOCIO CON VIOLENCIA,COYOACAN,CIUDAD DE MEXICO,CENTRO,CENTRO,-99.1620,19.3500",
        "2018,Enero,04/01/2018,13:30,2018,Enero,06/01/2018,,"
        "ROBO A SUCURSAL BANCARIA CON VIOLENCIA,INVESTIGACIÓN EN COYOACÁN,COY-1,UI-1CD,"
        "DELITO DE BAJO IMPACTO,COYOACAN,CIUDAD DE MEXICO,CENTRO,CENTRO,-99.1621,19.3501",
    ]
    path = write(tmp_path / "carpetas_2019.csv.gz", LAYOUT_2019, rows)
    summary = load_incidents(territory_db, path, "fgj")
    assert (summary.read, summary.loaded) == (2, 2)
    assert stored(territory_db, summary.run_id) == [
        (
            2,
            "2018-01-04",
            "12:00:00",
            "2018-01-05",
            "09:00:00",
            "ROBO A NEGOCIO CON VIOLENCIA",
            "robo_negocio_cv",
        ),
        (3, "2018-01-04", "13:30:00", "2018-01-06", None, LOW, "robo_otros_cv"),
    ]


def test_columns_match_ignoring_case_accents_and_punctuation(tmp_path):
    assert column_key("FechaHecho") == column_key("fecha_hecho") == column_key("FECHA HECHO")
    assert column_key("Categoría_Delito") == column_key("categoria_delito")
    header = "LATITUD,Longitud,Delito,Fecha Hecho,HORA_HECHO,Categoría Delito"
    path = tmp_path / "mixed.csv"
    path.write_text(header + "\n19.35,-99.16,FRAUDE,2021-01-01,10:00,\n", encoding="utf-8")
    spec = SOURCES["fgj"]
    (chunk,) = stream_csv(path, spec.required, StreamState(), spec.optional)
    assert chunk.table.to_pylist() == [
        {
            "latitud": "19.35",
            "longitud": "-99.16",
            "delito": "FRAUDE",
            "fecha_hecho": "2021-01-01",
            "hora_hecho": "10:00",
            "categoria_delito": "",
        }
    ]


def test_a_header_of_no_known_layout_names_what_is_needed_and_found(territory_db, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("fecha,delito,x,y\n2021-01-01,FRAUDE,1,2\n", encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        load_incidents(territory_db, path, "fgj")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: line 1: header lacks columns")
    assert (
        "fecha_hecho or FechaHecho" in message and "found ['fecha', 'delito', 'x', 'y']" in message
    )


def test_the_real_extract_is_read_in_its_own_layout(paths):
    spec = SOURCES["fgj"]
    state = StreamState()
    chunk = next(iter(stream_csv(paths["fgj"], spec.required, state, spec.optional)))
    assert chunk.table.column_names == [
        "fecha_hecho",
        "hora_hecho",
        "latitud",
        "longitud",
        "delito",
    ]
    assert chunk.table.slice(0, 1).to_pylist() == [
        {
            "fecha_hecho": "2019-01-01",
            "hora_hecho": "00:00:00",
            "latitud": "19.4716442340485",
            "longitud": "-99.1800172235019",
            "delito": "CONTRA EL CUMPLIMIENTO DE LA OBLIGACION ALIMENTARIA",
        }
    ]
    assert state.notes == ["fgj_carpetas_points_2019_2023.csv.gz: read as UTF-8 (detected)"]
