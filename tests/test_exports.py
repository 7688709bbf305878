"""The export registry: the same table in every format reads back with identical values."""

from __future__ import annotations

import io
import json
from datetime import date

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from compstat import exports

META = {"table": "conteos", "vintage": "2016", "from": date(2015, 1, 1), "to": date(2015, 12, 31)}
ROWS = [
    {
        "unit_id": "P-1.4",
        "unit_name": "SAN ÁNGEL",
        "period_start": date(2015, 1, 1),
        "count": 2,
        "share": 0.5,
    },
    {
        "unit_id": "P-1.2",
        "unit_name": "PLATEROS, «Ñ»",
        "period_start": date(2015, 2, 1),
        "count": 1,
        "share": 0.25,
    },
    {
        "unit_id": "FUERA",
        "unit_name": "Fuera de todo cuadrante",
        "period_start": date(2015, 3, 1),
        "count": 31,
        "share": 0.125,
    },
]
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[-99.2, 19.3], [-99.1, 19.3], [-99.1, 19.4], [-99.2, 19.3]]],
}


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS)


def expected(frame: pd.DataFrame) -> list[dict]:
    return [{**r, "period_start": r["period_start"].isoformat()} for r in ROWS]


def normalised(read: pd.DataFrame) -> list[dict]:
    """Rows of a frame read back, with dates as ISO text and numbers as Python numbers."""
    out = read.copy()
    out["period_start"] = pd.to_datetime(out["period_start"]).dt.strftime("%Y-%m-%d")
    return json.loads(out.to_json(orient="records", force_ascii=False))


def test_registry_has_every_format_with_media_types() -> None:
    assert {n: f.media_type.split(";")[0] for n, f in exports.REGISTRY.items()} == {
        "csv": "text/csv",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "json": "application/json",
        "geojson": "application/geo+json",
        "parquet": "application/vnd.apache.parquet",
        "dta": "application/x-stata-dta",
    }


def test_every_format_reads_back_identical_values(frame: pd.DataFrame) -> None:
    assert exports.formats_for(frame) == ("csv", "xlsx", "json", "parquet", "dta")
    want = expected(frame)
    csv = exports.export(frame, "csv", META)
    assert csv.startswith(b"\xef\xbb\xbf")
    assert "SAN ÁNGEL" in csv.decode("utf-8-sig")
    read = {
        "csv": pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig"),
        "xlsx": pd.read_excel(io.BytesIO(exports.export(frame, "xlsx", META)), sheet_name="datos"),
        "parquet": pd.read_parquet(io.BytesIO(exports.export(frame, "parquet", META))),
        "dta": pd.read_stata(io.BytesIO(exports.export(frame, "dta", META))),
    }
    for name, back in read.items():
        assert list(back.columns) == list(frame.columns), name
        assert normalised(back) == want, name
    data = json.loads(exports.export(frame, "json", META))
    assert data["rows"] == want
    assert (data["table"], data["from"], data["columns"]) == (
        "conteos",
        "2015-01-01",
        list(frame.columns),
    )


def test_geojson_reads_back_with_geometry(frame: pd.DataFrame) -> None:
    with_shapes = frame.assign(geometry=[json.dumps(SQUARE), SQUARE, None])
    assert "geojson" in exports.formats_for(with_shapes)
    data = json.loads(exports.export(with_shapes, "geojson", META))
    assert data["type"] == "FeatureCollection"
    assert data["metadata"]["vintage"] == "2016"
    assert [f["properties"] for f in data["features"]] == expected(frame)
    assert [f["geometry"] for f in data["features"]] == [SQUARE, SQUARE, None]
    with pytest.raises(ValueError, match="geometry"):
        exports.export(frame, "geojson", META)


def test_metadata_travels_with_the_file(frame: pd.DataFrame) -> None:
    parquet = pq.read_schema(io.BytesIO(exports.export(frame, "parquet", META)))
    assert json.loads(parquet.metadata[b"compstat"])["to"] == "2015-12-31"
    sheet = pd.read_excel(io.BytesIO(exports.export(frame, "xlsx", META)), sheet_name="metadatos")
    assert dict(zip(sheet["clave"], sheet["valor"], strict=True))["vintage"] == '"2016"'
    with pd.io.stata.StataReader(io.BytesIO(exports.export(frame, "dta", META))) as reader:
        assert reader.data_label.startswith('{"table": "conteos"')


def test_lists_nulls_and_odd_column_names() -> None:
    frame = pd.DataFrame(
        [
            {"Área (km²)": 1.5, "lista": ["a", "b"], "n": 3, "vacío": None},
            {"Área (km²)": 2.0, "lista": [], "n": None, "vacío": None},
        ]
    )
    csv = pd.read_csv(io.BytesIO(exports.export(frame, "csv")), encoding="utf-8-sig")
    assert csv["lista"].fillna("").tolist() == ["a;b", ""]
    dta = pd.read_stata(io.BytesIO(exports.export(frame, "dta")))
    assert list(dta.columns) == ["Area__km2_", "lista", "n", "vacio"]
    assert dta["lista"].tolist() == ["a;b", ""]
    assert json.loads(exports.export(frame, "json"))["rows"][1] == {
        "Área (km²)": 2.0,
        "lista": [],
        "n": None,
        "vacío": None,
    }


def test_file_names_are_safe_and_descriptive() -> None:
    assert (
        exports.file_name("conteos", "sector", "2016", date(2015, 1, 1), None, extension="csv")
        == "conteos_sector_2016_2015-01-01.csv"
    )
    assert exports.file_name("../../etc/passwd", "Año Ñ", extension="XLSX") == (
        "etc-passwd_Ano-N.xlsx"
    )
    assert exports.file_name(extension="json") == "export.json"
    with pytest.raises(KeyError, match="unknown export format"):
        exports.get("pdf")


def test_jsonable_turns_nan_into_null_in_plain_and_nested_lists() -> None:
    from compstat.exports import jsonable

    numbers = [1, 2.5, float("nan"), None, "a", True]
    assert jsonable(numbers) == [1, 2.5, None, None, "a", True]
    assert jsonable({"c": [[float("nan"), 1.0]], "d": (np.float64("nan"),)}) == {
        "c": [[None, 1.0]],
        "d": [None],
    }
    plain = [1, "b", None]
    assert jsonable(plain) is plain
