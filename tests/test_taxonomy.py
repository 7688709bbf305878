"""Tests of the offence taxonomy (compstat/taxonomy.py and its two data files)."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from compstat import taxonomy
from compstat.config import data_dir_from
from compstat.taxonomy import (
    CATCH_ALL,
    TAXONOMY_VERSION,
    categories,
    classify,
    normalize_offence,
    offence_map,
    official_categories,
    resolve,
    set_extra,
)

SSP_FILE = Path("cdmx/incidents/ssp_2013_2016/crime-lat-long.csv.zip")
FGJ_FILE = Path("cdmx/incidents/fgj_carpetas_2019_2023/fgj_carpetas_points_2019_2023.csv.gz")

#: Every SSP 2013-2016 category and the code it must map to.
SSP_EXPECTED = {
    "HOMICIDIO DOLOSO": "homicidio_doloso",
    "LESIONES POR ARMA DE FUEGO": "lesiones_arma_fuego",
    "ROBO A BORDO DE METRO C.V.": "robo_metro_cv",
    "ROBO A BORDO DE METRO S.V.": "robo_metro_sv",
    "ROBO A BORDO DE MICROBUS C.V.": "robo_microbus_cv",
    "ROBO A BORDO DE MICROBUS S.V.": "robo_microbus_sv",
    "ROBO A BORDO DE TAXI C.V.": "robo_taxi_cv",
    "ROBO A CASA HABITACION C.V.": "robo_casa_habitacion_cv",
    "ROBO A CUENTAHABIENTE C.V.": "robo_cuentahabiente_cv",
    "ROBO A NEGOCIO C.V.": "robo_negocio_cv",
    "ROBO A REPARTIDOR C.V.": "robo_repartidor_cv",
    "ROBO A REPARTIDOR S.V.": "robo_repartidor_sv",
    "ROBO A TRANSEUNTE C.V.": "robo_transeunte_cv",
    "ROBO A TRANSEUNTE S.V.": "robo_transeunte_sv",
    "ROBO A TRANSPORTISTA C.V.": "robo_transportista_cv",
    "ROBO A TRANSPORTISTA S.V.": "robo_transportista_sv",
    "ROBO DE VEHICULO AUTOMOTOR C.V.": "robo_vehiculo_cv",
    "ROBO DE VEHICULO AUTOMOTOR S.V.": "robo_vehiculo_sv",
    "VIOLACION": "violacion",
}

HIGH_IMPACT = {*SSP_EXPECTED.values(), "secuestro"}

FGJ_EXPECTED = [
    ("HOMICIDIO POR ARMA DE FUEGO", "homicidio_doloso"),
    ("HOMICIDIOS INTENCIONALES (OTROS)", "homicidio_doloso"),
    ("HOMICIDIO DOLOSO", "homicidio_doloso"),
    ("FEMINICIDIO POR DISPARO DE ARMA DE FUEGO", "homicidio_doloso"),
    ("HOMICIDIO CULPOSO POR TRÁNSITO VEHICULAR (ATROPELLADO)", "culposos"),
    ("DAÑO EN PROPIEDAD AJENA CULPOSA", "culposos"),
    ("DAÑO EN PROPIEDAD AJENA INTENCIONAL A AUTOMOVIL", "dano_propiedad"),
    ("TENTATIVA DE HOMICIDIO", CATCH_ALL),
    ("LESIONES INTENCIONALES POR ARMA DE FUEGO", "lesiones_arma_fuego"),
    ("LESIONES INTENCIONALES POR GOLPES", "lesiones_dolosas"),
    ("DISPAROS DE ARMA DE FUEGO", CATCH_ALL),
    ("ROBO A TRANSEUNTE EN VIA PUBLICA CON VIOLENCIA", "robo_transeunte_cv"),
    # 2026.2: the FGJ counts cell-phone robbery as low impact (docs/taxonomy.md)
    ("ROBO A TRANSEUNTE DE CELULAR SIN VIOLENCIA", "robo_otros_sv"),
    ("ROBO A TRANSEUNTE DE CELULAR CON VIOLENCIA", "robo_otros_cv"),
    ("ROBO A TRANSEUNTE EN PARQUES Y MERCADOS CON VIOLENCIA", "robo_otros_cv"),
    ("ROBO A TRANSEUNTE SALIENDO DEL CAJERO CON VIOLENCIA", "robo_cuentahabiente_cv"),
    ("ROBO DE VEHICULO DE SERVICIO PARTICULAR CON VIOLENCIA", "robo_vehiculo_cv"),
    ("ROBO DE VEHICULO DE SERVICIO PARTICULAR SIN VIOLENCIA", "robo_vehiculo_sv"),
    ("ROBO DE MOTOCICLETA SIN VIOLENCIA", "robo_vehiculo_sv"),
    ("ROBO DE VEHICULO DE PEDALES", "robo_otros_sv"),
    ("TENTATIVA DE ROBO DE VEHICULO", CATCH_ALL),
    ("ROBO A CASA HABITACION Y VEHICULO SIN VIOLENCIA", "robo_casa_habitacion_sv"),
    ("ROBO A NEGOCIO Y VEHICULO SIN VIOLENCIA", "robo_negocio_sv"),
    ("PRIV. ILEGAL DE LA LIB. Y ROBO DE VEHICULO", CATCH_ALL),
    ("ROBO DE CONTENEDORES DE TRAILERS S/V", "robo_otros_sv"),
    ("ROBO A OFICINA PÚBLICA CON VIOLENCIA", "robo_negocio_cv"),
    ("ROBO A SUCURSAL BANCARIA CON VIOLENCIA", "robo_negocio_cv"),
    ("ROBO DE MAQUINARIA CON VIOLENCIA", "robo_vehiculo_cv"),
    ("ROBO DE MAQUINARIA SIN VIOLENCIA", "robo_vehiculo_sv"),
    ("ROBO A CASA HABITACION Y VEHICULO CON VIOLENCIA", "robo_casa_habitacion_cv"),
    ("ROBO A NEGOCIO CON VIOLENCIA POR FARDEROS (TIENDAS DE CONVENIENCIA)", "robo_negocio_cv"),
    ("ROBO A NEGOCIO SIN VIOLENCIA", "robo_negocio_sv"),
    ("ROBO A REPARTIDOR Y VEHICULO CON VIOLENCIA", "robo_repartidor_cv"),
    ("ROBO A TRANSPORTISTA Y VEHICULO PESADO SIN VIOLENCIA", "robo_transportista_sv"),
    ("ROBO A PASAJERO A BORDO DE METRO CON VIOLENCIA", "robo_metro_cv"),
    ("ROBO A PASAJERO A BORDO DE PESERO COLECTIVO SIN VIOLENCIA", "robo_microbus_sv"),
    ("ROBO A PASAJERO A BORDO DE METROBUS CON VIOLENCIA", "robo_otros_cv"),
    ("ROBO A TRANSEUNTE A BORDO DE TAXI PÚBLICO Y PRIVADO CON VIOLENCIA", "robo_taxi_cv"),
    ("SECUESTRO EXPRESS (PARA COMETER ROBO O EXTORSIÓN)", CATCH_ALL),
    ("SECUESTRO EXTORSIVO", "secuestro"),
    ("PLAGIO O SECUESTRO", "secuestro"),
    ("PRIVACION DE LA LIBERTAD PERSONAL", CATCH_ALL),
    ("VIOLACION EQUIPARADA", "violacion"),
    ("VIOLACION TUMULTUARIA", "violacion"),
    ("VIOLACION DE CORRESPONDENCIA", CATCH_ALL),
    ("TENTATIVA DE VIOLACION", "delitos_sexuales"),
    ("VIOLENCIA FAMILIAR", "violencia_familiar"),
    ("NARCOMENUDEO POSESION SIMPLE", "narcomenudeo"),
    ("TENTATIVA DE EXTORSION", "extorsion"),
    ("PERDIDA DE LA VIDA POR SUICIDIO", "no_delictivo"),
]


def _data_file(relative: Path) -> Path:
    """Return a real data file; a missing data directory fails the test, never skips it."""
    data_dir = data_dir_from(os.environ)
    if data_dir is None or not (data_dir / relative).is_file():
        pytest.fail(f"real data file {relative} not found (set COMPSTAT_DATA_DIR)")
    return data_dir / relative


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- versioning and categories -------------------------------------------------------------


#: Fingerprint of the loaded taxonomy for each version. Changing either data file changes the
#: fingerprint: bump TAXONOMY_VERSION and add its new fingerprint here (docs/taxonomy.md).
FINGERPRINTS = {
    "2026.1": "8828e09eb5d0d0cf53fd636aeb48cdd3d5c802acf78027449e9b2c7c8120cb04",
    # from 2026.2 on, the fingerprint also covers official_categories.csv
    "2026.2": "4200ebf69b20cca4ff1b2c162838b1bf7fce8f33bfec7511edfdc6b6fc7baf63",
}


def test_version_is_year_dot_release():
    assert re.fullmatch(r"\d{4}\.\d+", TAXONOMY_VERSION)


def test_data_changes_come_with_a_version_bump():
    content = repr(categories()) + repr(sorted(offence_map().items()))
    content += repr(sorted(official_categories().items()))
    fingerprint = hashlib.sha256(content.encode()).hexdigest()
    assert FINGERPRINTS.get(TAXONOMY_VERSION) == fingerprint, (
        f"the taxonomy data changed: bump TAXONOMY_VERSION and record {fingerprint}"
    )


def test_categories_have_exactly_one_catch_all_and_the_official_high_impact_set():
    cats = categories()
    codes = [c.code for c in cats]
    assert codes.count(CATCH_ALL) == 1
    assert len(set(codes)) == len(codes)
    assert {c.code for c in cats if c.high_impact} == HIGH_IMPACT
    assert [c.sort_order for c in cats] == sorted(c.sort_order for c in cats)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", code) for code in codes)


def test_category_names_keep_spanish_accents():
    names = {c.code: c.name_es for c in categories()}
    assert names["violacion"] == "Violación"
    assert names["robo_casa_habitacion_cv"] == "Robo a casa habitación con violencia"
    assert names[CATCH_ALL] == "Otros delitos"


def test_every_mapped_category_exists():
    codes = {c.code for c in categories()}
    assert set(offence_map().values()) <= codes


# --- SSP ----------------------------------------------------------------------------------


def test_ssp_map_has_exactly_the_19_categories():
    ssp_keys = {text for source, text in offence_map() if source == "ssp"}
    assert ssp_keys == set(SSP_EXPECTED)


@pytest.mark.parametrize(("reported", "expected"), sorted(SSP_EXPECTED.items()))
def test_ssp_category_maps_to_expected_code(reported, expected):
    assert classify("ssp", reported) == expected


@pytest.mark.realdata
def test_every_ssp_crime_in_the_real_file_maps_to_a_high_impact_code():
    with zipfile.ZipFile(_data_file(SSP_FILE)) as archive, archive.open("crime-lat-long.csv") as f:
        crimes = set(pd.read_csv(f, usecols=["crime"], dtype=str)["crime"])
    assert crimes == set(SSP_EXPECTED)
    assert {classify("ssp", crime) for crime in crimes} == HIGH_IMPACT - {"secuestro"}


# --- FGJ ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("reported", "expected"), FGJ_EXPECTED)
def test_fgj_offence_maps_to_expected_code(reported, expected):
    assert classify("fgj", reported) == expected


def test_violencia_familiar_is_not_high_impact():
    by_code = {c.code: c for c in categories()}
    assert not by_code[classify("fgj", "VIOLENCIA FAMILIAR")].high_impact


def test_every_fgj_violacion_text_is_either_rape_or_clearly_not():
    not_rape = {
        "TENTATIVA DE VIOLACION",
        "VIOLACION A LOS DERECHOS HUMANOS",
        "VIOLACION DE CORRESPONDENCIA",
        "VIOLACION DE LA INTIMIDAD",
    }
    for (source, text), code in offence_map().items():
        if source == "fgj" and "VIOLACION" in text:
            assert (code == "violacion") == (text not in not_rape), text


@pytest.mark.realdata
def test_every_raw_fgj_delito_in_the_real_file_is_mapped():
    frame = pd.read_csv(_data_file(FGJ_FILE), usecols=["delito"], dtype=str, keep_default_na=False)
    raw = set(frame["delito"])
    mapping = offence_map()
    missing = sorted(text for text in raw if ("fgj", normalize_offence(text)) not in mapping)
    assert not missing
    assert len(raw) > 300


# --- unknown text and normalisation -------------------------------------------------------


@pytest.mark.parametrize("reported", ["ROBO DE UNICORNIO", "", "   ", "ROBO"])
def test_unknown_text_goes_to_catch_all(reported):
    assert classify("fgj", reported) == CATCH_ALL


def test_missing_value_goes_to_catch_all():
    assert classify("fgj", float("nan")) == CATCH_ALL  # type: ignore[arg-type]


def test_text_of_one_source_is_unknown_to_the_other():
    assert classify("ssp", "ROBO A NEGOCIO CON VIOLENCIA") == CATCH_ALL
    assert classify("fgj", "ROBO A NEGOCIO C.V.") == CATCH_ALL


def test_unknown_source_raises():
    with pytest.raises(ValueError, match="unknown source"):
        classify("pgj", "VIOLACION")


def test_normalize_collapses_whitespace_and_upper_cases():
    assert normalize_offence("  robo a\tnegocio \n con\u00a0violencia ") == (
        "ROBO A NEGOCIO CON VIOLENCIA"
    )
    assert normalize_offence("daño en propiedad ajena") == "DAÑO EN PROPIEDAD AJENA"


def test_classify_ignores_whitespace_and_case():
    assert classify("fgj", "  robo a negocio   con violencia") == "robo_negocio_cv"
    assert classify("fgj", "OMISION DE AUXILIO O DE CUIDADO ") == CATCH_ALL
    assert classify("ssp", "robo a transeunte c.v.") == "robo_transeunte_cv"


def test_classify_ignores_accents():
    assert classify("fgj", "VIOLACIÓN") == "violacion"
    assert classify("fgj", "ROBO DE VEHICULO DE SERVICIO PUBLICO CON VIOLENCIA") == (
        "robo_vehiculo_cv"
    )
    decomposed = unicodedata.normalize("NFD", "robo de vehículo de servicio público sin violencia")
    assert classify("fgj", decomposed) == "robo_vehiculo_sv"


def test_map_keys_are_normalised():
    for _source, text in offence_map():
        assert text == normalize_offence(text)


def test_offence_map_returns_a_copy():
    mapping = offence_map()
    mapping[("fgj", "VIOLACION")] = CATCH_ALL
    assert classify("fgj", "VIOLACION") == "violacion"


# --- validation of the data files ---------------------------------------------------------

CATEGORIES_CSV = """code,name_es,name_en,high_impact,sort_order
homicidio_doloso,Homicidio doloso,Intentional homicide,true,1
otros,Otros delitos,Other offences,false,2
"""


@pytest.fixture
def categories_file(tmp_path):
    return _write(tmp_path / "categories.csv", CATEGORIES_CSV)


def test_valid_small_files_load(tmp_path, categories_file):
    cats = taxonomy._load_categories(categories_file)
    assert [c.code for c in cats] == ["homicidio_doloso", "otros"]
    assert cats[0].high_impact and not cats[1].high_impact
    mapping_file = _write(
        tmp_path / "offence_taxonomy.csv",
        "source,reported,category\nfgj,HOMICIDIO POR GOLPES,homicidio_doloso\n",
    )
    mapping = taxonomy._load_offence_map(mapping_file, {c.code for c in cats})
    assert mapping == {("fgj", "HOMICIDIO POR GOLPES"): "homicidio_doloso"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("fgj,HOMICIDIO POR GOLPES,homicidio\n", r"line 3: category 'homicidio' is not defined"),
        ("fgj,VIOLACION,otros\n", r"line 3: duplicate offence .* \(line 2"),
        ("fgj,VIOLACIÓN,otros\n", r"line 3: duplicate offence .* \(line 2"),
        ("pgj,ROBO,otros\n", r"line 3: unknown source 'pgj'"),
        ("fgj,robo  de objetos,otros\n", r"line 3: reported .* is not normalised"),
        ("fgj,,otros\n", r"line 3: empty reported offence"),
        ("fgj,ROBO,otros,extra\n", r"line 3: expected 3 fields"),
    ],
)
def test_broken_offence_taxonomy_raises_naming_file_and_line(
    tmp_path, categories_file, body, message
):
    path = _write(
        tmp_path / "offence_taxonomy.csv",
        "source,reported,category\nfgj,VIOLACION,homicidio_doloso\n" + body,
    )
    with pytest.raises(ValueError, match=message) as error:
        taxonomy._load_offence_map(path, {"homicidio_doloso", "otros"})
    assert str(path) in str(error.value)


def test_wrong_header_raises(tmp_path):
    path = _write(tmp_path / "offence_taxonomy.csv", "source,delito,category\n")
    with pytest.raises(ValueError, match=r"offence_taxonomy\.csv, line 1: expected columns"):
        taxonomy._load_offence_map(path, {"otros"})


@pytest.mark.parametrize(
    ("extra_row", "message"),
    [
        ("otros,Otra vez,Again,false,3\n", r"line 4: duplicate category code 'otros' \(line 3\)"),
        ("robo,Robo,Robbery,false,2\n", r"line 4: duplicate sort_order 2 \(line 3\)"),
        ("robo,Robo,Robbery,sí,3\n", r"line 4: high_impact must be true or false"),
        ("robo,Robo,Robbery,false,tres\n", r"line 4: sort_order 'tres' is not an integer"),
        ("Robo-CV,Robo,Robbery,false,3\n", r"line 4: category code 'Robo-CV' is not ASCII"),
        ("robo,,Robbery,false,3\n", r"line 4: category 'robo' has an empty name"),
    ],
)
def test_broken_categories_raise_naming_file_and_line(tmp_path, extra_row, message):
    path = _write(tmp_path / "categories.csv", CATEGORIES_CSV + extra_row)
    with pytest.raises(ValueError, match=message) as error:
        taxonomy._load_categories(path)
    assert str(path) in str(error.value)


def test_categories_without_catch_all_raise(tmp_path):
    path = _write(tmp_path / "categories.csv", CATEGORIES_CSV.replace("otros,", "otro,"))
    with pytest.raises(ValueError, match=r"categories\.csv: the catch-all category 'otros'"):
        taxonomy._load_categories(path)


def test_high_impact_catch_all_raises(tmp_path):
    path = _write(tmp_path / "categories.csv", CATEGORIES_CSV.replace("false,2", "true,2"))
    with pytest.raises(ValueError, match=r"line 3: the catch-all 'otros' cannot be high-impact"):
        taxonomy._load_categories(path)


# --- official categories and extra files ----------------------------------------------------


def test_every_official_high_impact_category_maps_to_its_family():
    high = {c.code for c in categories() if c.high_impact}
    decided = {
        rule.official: (rule.category, rule.category_sv) for rule in official_categories().values()
    }
    assert decided["DELITO DE BAJO IMPACTO"] == (None, None)
    assert decided["ROBO DE VEHÍCULO CON Y SIN VIOLENCIA"] == (
        "robo_vehiculo_cv",
        "robo_vehiculo_sv",
    )
    covered = {code for pair in decided.values() for code in pair if code}
    assert high <= covered


@pytest.mark.parametrize("code", sorted(c.code for c in categories() if c.high_impact))
def test_low_impact_official_category_never_gives_a_high_impact_code(code):
    texts = [t for (s, t), c in offence_map().items() if c == code]
    high = {c.code for c in categories() if c.high_impact}
    for reported in texts:
        decided, known = resolve("fgj", reported, "Delito de bajo impacto")
        assert known and decided not in high


def test_the_offence_text_splits_a_con_y_sin_family():
    family = "ROBO A REPARTIDOR CON Y SIN VIOLENCIA"
    assert resolve("fgj", "ROBO A REPARTIDOR SIN VIOLENCIA", family) == ("robo_repartidor_sv", True)
    assert resolve("fgj", "ROBO A NEGOCIO CON VIOLENCIA", family) == ("robo_repartidor_cv", True)
    assert resolve("fgj", "ROBO DE OBJETOS", family) == ("robo_repartidor_sv", True)
    assert resolve("fgj", "FRAUDE", None) == ("fraude", False)
    assert resolve("fgj", "FRAUDE", "UNA CATEGORIA NUEVA") == ("fraude", False)


def test_extra_files_extend_the_mapping_without_editing_code(tmp_path, monkeypatch):
    offences = _write(
        tmp_path / "offences.csv",
        "source,reported,category\nfgj,ROBO DE DRON CON VIOLENCIA,robo_otros_cv\n"
        "fgj,FRAUDE,otros\n",
    )
    official = _write(
        tmp_path / "official.csv",
        "source,official,category,category_sv\n"
        "fgj,ROBO A PASAJERO EN CABLEBÚS CON Y SIN VIOLENCIA,robo_otros_cv,"
        "robo_otros_sv\n",
    )
    try:
        monkeypatch.setenv("COMPSTAT_TAXONOMY_EXTRA", str(offences))
        assert classify("fgj", "ROBO DE DRON CON VIOLENCIA") == "robo_otros_cv"
        assert classify("fgj", "FRAUDE") == CATCH_ALL  # an extra row overrides the packaged one
        set_extra([official])
        assert resolve(
            "fgj",
            "ROBO A PASAJERO EN CABLEBUS SIN VIOLENCIA",
            "ROBO A PASAJERO EN CABLEBUS CON Y SIN VIOLENCIA",
        ) == ("robo_otros_sv", True)
    finally:
        set_extra([])
        monkeypatch.delenv("COMPSTAT_TAXONOMY_EXTRA")
    assert classify("fgj", "FRAUDE") == "fraude"
    assert classify("fgj", "ROBO DE DRON CON VIOLENCIA") == CATCH_ALL
