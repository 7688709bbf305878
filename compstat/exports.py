"""The one export registry: format name -> media type -> writer, used by the CLI and the web.

Every writer turns a :class:`pandas.DataFrame` plus a metadata dict (what the rows
hold: table, vintage, window, as-of...) into bytes:

========  ==========================================  =====================================
name      media type                                  notes
========  ==========================================  =====================================
csv       text/csv; charset=utf-8                     UTF-8 with BOM (Excel in Spanish)
xlsx      application/vnd.openxmlformats-...sheet     sheet ``datos`` + sheet ``metadatos``
json      application/json                            ``{**meta, "columns", "rows"}``
geojson   application/geo+json                        rows with a ``geometry`` column
parquet   application/vnd.apache.parquet              metadata under the ``compstat`` key
dta       application/x-stata-dta                     Stata 118 (Unicode)
========  ==========================================  =====================================

Lists in cells are joined with ``;`` where a format has no lists (CSV, XLSX, Stata).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import shapely

Writer = Callable[[pd.DataFrame, Mapping[str, Any]], bytes]
GEOMETRY = "geometry"
#: Meta key of ``{column: label}``: Stata variable labels (and the data dictionary of the
#: other formats' metadata).
VARIABLE_LABELS = "variable_labels"
#: The time written into files whose format demands one (XLSX, Stata): the same table
#: always gives the same bytes.
FIXED_TIME = datetime(2000, 1, 1)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_CORE_TIME = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


@dataclass(frozen=True)
class ExportFormat:
    """One export format.

    Attributes
    ----------
    name : str
        Registry key and file extension, e.g. ``"csv"``.
    media_type : str
        HTTP ``Content-Type``.
    write : callable
        ``write(frame, meta) -> bytes``.
    needs_geometry : bool
        Whether the rows must carry a ``geometry`` column (GeoJSON dicts or text).
    """

    name: str
    media_type: str
    write: Writer
    needs_geometry: bool = False


REGISTRY: dict[str, ExportFormat] = {}


def register(fmt: ExportFormat) -> ExportFormat:
    """Add ``fmt`` to :data:`REGISTRY` and return it."""
    REGISTRY[fmt.name] = fmt
    return fmt


def formats_for(frame: pd.DataFrame) -> tuple[str, ...]:
    """Return the names of the formats that fit ``frame`` (GeoJSON only with geometry)."""
    has_geometry = GEOMETRY in frame.columns
    return tuple(n for n, f in REGISTRY.items() if has_geometry or not f.needs_geometry)


def get(name: str) -> ExportFormat:
    """Return the format called ``name``; raise KeyError naming the known ones."""
    if name not in REGISTRY:
        raise KeyError(f"unknown export format {name!r}; expected one of {tuple(REGISTRY)}")
    return REGISTRY[name]


def export(frame: pd.DataFrame, name: str, meta: Mapping[str, Any] | None = None) -> bytes:
    """Return ``frame`` written in format ``name`` with ``meta``."""
    fmt = get(name)
    if fmt.needs_geometry and GEOMETRY not in frame.columns:
        raise ValueError(f"{name} needs a {GEOMETRY!r} column")
    return fmt.write(frame, dict(meta or {}))


def file_name(*parts: object, extension: str) -> str:
    """Return a safe, descriptive file name: ASCII words joined by ``_``.

    Examples
    --------
    >>> file_name("conteos", "sector", "2016", "2015-01-01", None, extension="csv")
    'conteos_sector_2016_2015-01-01.csv'
    """
    words = []
    for part in parts:
        if part is None or part == "":
            continue
        ascii_text = unicodedata.normalize("NFKD", str(part)).encode("ascii", "ignore").decode()
        word = re.sub(r"[^A-Za-z0-9.-]+", "-", ascii_text).strip("-.")
        if word:
            words.append(word)
    stem = "_".join(words)[:120] or "export"
    return f"{stem}.{re.sub(r'[^a-z0-9]', '', extension.lower())}"


# --- value conversions ------------------------------------------------------------------


#: Types :func:`json.dumps` writes as they are (floats are not: NaN must become null).
_PLAIN_TYPES = frozenset({int, str, bool, type(None)})
_NUMBER_TYPES = _PLAIN_TYPES | {float}


def jsonable(value: Any) -> Any:
    """Return ``value`` ready for :func:`json.dumps`: ISO dates, plain numbers, None for NaN."""
    if type(value) is list:
        kinds = set(map(type, value))
        if kinds <= _PLAIN_TYPES:
            return value  # ids, codes: nothing to convert
        if kinds <= _NUMBER_TYPES:
            return [None if v != v else v for v in value]  # a column of numbers: NaN -> None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, pd.Timestamp | datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [str(c) for c in frame.columns]
    return [dict(zip(columns, map(jsonable, row), strict=True)) for row in frame.itertuples(False)]


def _flat(value: Any) -> Any:
    if isinstance(value, list | tuple | np.ndarray):
        return ";".join(str(v) for v in value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _flatten(frame: pd.DataFrame) -> pd.DataFrame:
    """Join lists with ``;``, and make object columns of dates and numbers typed."""
    out = frame.drop(columns=[GEOMETRY], errors="ignore").copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(_flat)
            out[column] = _typed(out[column])
    return out


def _typed(series: pd.Series) -> pd.Series:
    values = series.dropna()
    if values.empty:
        return series
    if all(isinstance(v, datetime) for v in values):
        return pd.to_datetime(series, utc=any(v.tzinfo is not None for v in values))
    if all(isinstance(v, date) and not isinstance(v, datetime) for v in values):
        return pd.to_datetime(series)
    if all(isinstance(v, bool | np.bool_) for v in values):
        return series if len(values) < len(series) else series.astype(bool)
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values):
        return series.astype("Int64")
    if all(isinstance(v, float | int | np.number) for v in values):
        return series.astype(float)
    return series


def _naive_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with time-zone-aware columns as naive UTC (XLSX and Stata have no zones)."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def _meta_text(meta: Mapping[str, Any]) -> str:
    return json.dumps(jsonable(dict(meta)), ensure_ascii=False)


# --- writers ----------------------------------------------------------------------------


def _csv_cell(value: Any) -> Any:
    value = jsonable(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


def write_csv(frame: pd.DataFrame, meta: Mapping[str, Any]) -> bytes:
    """Return UTF-8 CSV with a byte-order mark, a header of column names, ISO dates.

    Missing values are empty; lists are joined with ``;``. Cells keep their Python
    values (an integer column with gaps stays integer, not ``1.0``).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    body = frame.drop(columns=[GEOMETRY], errors="ignore")
    writer.writerow([str(c) for c in body.columns])
    for row in body.itertuples(index=False):
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def write_xlsx(frame: pd.DataFrame, meta: Mapping[str, Any]) -> bytes:
    """Return an Excel workbook: rows in sheet ``datos``, ``meta`` in ``metadatos``.

    The same table gives the same bytes: the archive's entry times and the document's
    creation and modification times are fixed (:data:`FIXED_TIME`).
    """
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        _naive_utc(_flatten(frame)).to_excel(writer, sheet_name="datos", index=False)
        described = pd.DataFrame(
            [(str(k), json.dumps(jsonable(v), ensure_ascii=False)) for k, v in meta.items()],
            columns=["clave", "valor"],
        )
        described.to_excel(writer, sheet_name="metadatos", index=False)
        writer.book.properties.created = FIXED_TIME
        writer.book.properties.modified = FIXED_TIME
    return fixed_zip(buffer.getvalue())


def fixed_zip(data: bytes) -> bytes:
    """Rewrite a zip archive (e.g. XLSX) with fixed entry times and document times."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_TIME.sub(rb"\g<1>2000-01-01T00:00:00Z\g<3>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, content)
    return out.getvalue()


def write_json(frame: pd.DataFrame, meta: Mapping[str, Any]) -> bytes:
    """Return ``{**meta, "columns": [...], "rows": [{column: value}, ...]}`` as UTF-8 JSON."""
    body = {
        **jsonable(dict(meta)),
        "columns": [str(c) for c in frame.columns],
        "rows": _records(frame),
    }
    return json.dumps(body, ensure_ascii=False).encode()


def _geometry(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return shapely.from_wkb(bytes(value)).__geo_interface__
    if hasattr(value, "__geo_interface__"):
        return value.__geo_interface__
    return value


def write_geojson(frame: pd.DataFrame, meta: Mapping[str, Any]) -> bytes:
    """Return a GeoJSON FeatureCollection: one feature per row, ``meta`` as ``metadata``."""
    properties = frame.drop(columns=[GEOMETRY])
    features = [
        {"type": "Feature", "geometry": _geometry(geometry), "properties": props}
        for geometry, props in zip(frame[GEOMETRY], _records(properties), strict=True)
    ]
    body = {"type": "FeatureCollection", "metadata": jsonable(dict(meta)), "features": features}
    return json.dumps(body, ensure_ascii=False).encode()


def write_parquet(frame: pd.DataFrame, meta: Mapping[str, Any]) -> bytes:
    """Return Parquet with typed columns; ``meta`` as JSON under the schema key ``compstat``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = frame.drop(columns=[GEOMETRY], errors="ignore").copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = _typed(
                out[column].map(lambda v: float(v) if isinstance(v, Decimal) else v)
            )
    table = pa.Table.from_pandas(out, preserve_index=False)
    schema_meta = {**(table.schema.metadata or {}), b"compstat": _meta_text(meta).encode()}
    buffer = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(schema_meta), buffer)
    return buffer.getvalue()


#: Words Stata (and Mata) reserve: a column of that name gets a trailing underscore
#: (``end`` becomes ``end_``); its variable label keeps the original name.
STATA_RESERVED = frozenset(
    [
        "aggregate",
        "array",
        "boolean",
        "break",
        "byte",
        "case",
        "catch",
        "class",
        "colvector",
        "complex",
        "const",
        "continue",
        "default",
        "delegate",
        "delete",
        "do",
        "double",
        "else",
        "eltypedef",
        "end",
        "enum",
        "explicit",
        "export",
        "external",
        "float",
        "for",
        "friend",
        "function",
        "global",
        "goto",
        "if",
        "inline",
        "int",
        "local",
        "long",
        "NULL",
        "pragma",
        "protected",
        "quad",
        "rowvector",
        "short",
        "typedef",
        "typename",
        "virtual",
        "_all",
        "_N",
        "_skip",
        "_b",
        "_pi",
        "str#",
        "in",
        "_pred",
        "strL",
        "_coef",
        "_rc",
        "using",
        "_cons",
        "_se",
        "with",
        "_n",
    ]
)


def stata_name(name: str, taken: set[str]) -> str:
    """Return a valid, unused Stata variable name for column ``name`` (and take it)."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9_]", "_", ascii_text)[:32] or "v"
    base = base if base[0].isalpha() or base[0] == "_" else f"v{base}"[:32]
    base = f"{base[:31]}_" if base in STATA_RESERVED else base
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base[: 32 - len(str(n)) - 1]}_{n}"
    taken.add(candidate)
    return candidate


def write_dta(frame: pd.DataFrame, meta: Mapping[str, Any]) -> bytes:
    """Return a Stata 118 file; dates as Stata dates, ``meta`` in the data label (80 chars)."""
    out = _naive_utc(_flatten(frame))
    taken: set[str] = set()
    labels = {}
    renames = {}
    given = meta.get(VARIABLE_LABELS) or {}
    for column in out.columns:
        renames[column] = stata_name(str(column), taken)
        labels[renames[column]] = str(given.get(column, column))[:80]
        series = out[column]
        if series.dtype == bool:
            out[column] = series.astype("int8")
        elif series.dtype == object:
            out[column] = series.map(lambda v: "" if v is None else str(v))
        elif isinstance(series.dtype, pd.Int64Dtype):
            out[column] = series.astype(float) if series.isna().any() else series.astype("int64")
    out = out.rename(columns=renames)
    dates = {c: "tc" for c in out.columns if pd.api.types.is_datetime64_any_dtype(out[c])}
    buffer = io.BytesIO()
    out.to_stata(
        buffer,
        write_index=False,
        version=118,
        convert_dates=dates,
        data_label=_meta_text({k: v for k, v in meta.items() if k != VARIABLE_LABELS})[:80],
        variable_labels=labels,
        time_stamp=FIXED_TIME,
    )
    return buffer.getvalue()


CSV = register(ExportFormat("csv", "text/csv; charset=utf-8", write_csv))
XLSX = register(
    ExportFormat(
        "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", write_xlsx
    )
)
JSON = register(ExportFormat("json", "application/json", write_json))
GEOJSON = register(ExportFormat("geojson", "application/geo+json", write_geojson, True))
PARQUET = register(ExportFormat("parquet", "application/vnd.apache.parquet", write_parquet))
DTA = register(ExportFormat("dta", "application/x-stata-dta", write_dta))
#: Formats for tables without geometry (what ``compstat counts --format`` offers).
TABLE_FORMATS = tuple(n for n, f in REGISTRY.items() if not f.needs_geometry)
