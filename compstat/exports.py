"""The export registry: data frames to reproducible bytes, and their manifests.

Every format writes the same table to the same bytes each time: no writer may stamp
the time of writing. XLSX files (zip archives whose entries and document properties
carry times) and Stata files (a header time stamp) get a fixed time, :data:`FIXED_TIME`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import zipfile
from collections.abc import Callable
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from compstat.errors import OutputFileError

#: The time written into files whose format demands one (XLSX, Stata).
FIXED_TIME = datetime(2000, 1, 1)
FORMATS = ("csv", "parquet", "dta", "xlsx", "geojson")
STATA_NAME_LENGTH = 32
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_CORE_TIME = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def _csv(frame: pd.DataFrame, labels: dict[str, str], geometry: list[bytes] | None) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _parquet(frame: pd.DataFrame, labels: dict[str, str], geometry: list[bytes] | None) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow", compression="zstd")
    return buffer.getvalue()


def _stata_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy Stata can hold: nullable integers as floats (missing is ``.``)."""
    out = frame.copy()
    for column in out.columns:
        dtype = out[column].dtype
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "iu":
            out[column] = out[column].astype("float64")
        elif dtype == np.int64:
            out[column] = out[column].astype("int32")
        elif pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
            out[column] = out[column].astype(str)
    return out


def _dta(frame: pd.DataFrame, labels: dict[str, str], geometry: list[bytes] | None) -> bytes:
    too_long = [column for column in frame.columns if len(column) > STATA_NAME_LENGTH]
    if too_long:
        # pandas would rename them silently; a researcher's do-file would then break.
        raise OutputFileError(
            f"Stata names have at most {STATA_NAME_LENGTH} characters: {', '.join(too_long)}; "
            "use another format"
        )
    buffer = io.BytesIO()
    _stata_frame(frame).to_stata(
        buffer,
        write_index=False,
        version=118,
        time_stamp=FIXED_TIME,
        variable_labels={k: v[:80] for k, v in labels.items() if k in frame.columns},
    )
    return buffer.getvalue()


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


def _xlsx(frame: pd.DataFrame, labels: dict[str, str], geometry: list[bytes] | None) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name="data")
        pd.DataFrame({"column": list(labels), "label": list(labels.values())}).to_excel(
            writer, index=False, sheet_name="dictionary"
        )
        writer.book.properties.created = FIXED_TIME
        writer.book.properties.modified = FIXED_TIME
    return fixed_zip(buffer.getvalue())


def _geojson(frame: pd.DataFrame, labels: dict[str, str], geometry: list[bytes] | None) -> bytes:
    if geometry is None:
        raise OutputFileError("geojson needs the units' polygons")
    layer = gpd.GeoDataFrame(
        frame.astype(object).where(frame.notna(), None),
        geometry=shapely.from_wkb(geometry),
        crs=4326,
    )
    return layer.to_json(drop_id=True, ensure_ascii=False).encode("utf-8")


WRITERS: dict[str, Callable[[pd.DataFrame, dict[str, str], list[bytes] | None], bytes]] = {
    "csv": _csv,
    "parquet": _parquet,
    "dta": _dta,
    "xlsx": _xlsx,
    "geojson": _geojson,
}


def render(
    frame: pd.DataFrame, fmt: str, labels: dict[str, str], geometry: list[bytes] | None = None
) -> bytes:
    """Return ``frame`` in the format ``fmt`` (one of :data:`FORMATS`), reproducibly."""
    if fmt not in WRITERS:
        raise OutputFileError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return WRITERS[fmt](frame, labels, geometry)


def format_of(path: str, fmt: str | None) -> str:
    """Return the format asked for, else the one the file's extension names."""
    if fmt:
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise OutputFileError(f"{path}: give --format (the extension names none of {FORMATS})")
    return suffix


def sha256(data: bytes) -> str:
    """Return the SHA-256 of ``data`` in hex."""
    return hashlib.sha256(data).hexdigest()


def code_version() -> dict:
    """Return the package version and, when run from a git checkout, its commit."""
    try:
        package = version("compstat-cdmx")
    except PackageNotFoundError:
        package = "unknown"
    found = {"package": package}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        found["git_commit"] = commit
    except (OSError, subprocess.SubprocessError):
        pass
    return found


def manifest_path(out: str | Path) -> Path:
    """Return ``FILE.manifest.json`` beside ``FILE``."""
    out = Path(out)
    return out.with_name(out.name + ".manifest.json")


def write(out: str | Path, data: bytes, manifest: dict) -> dict:
    """Write ``data`` to ``out`` and its manifest beside it; return the manifest written."""
    target = Path(out)
    if not target.parent.is_dir():
        raise OutputFileError(f"{out}: the folder {target.parent} does not exist")
    if target.is_dir():
        raise OutputFileError(f"{out}: is a folder")
    complete = {**manifest, "file": target.name, "sha256": sha256(data)}
    text = json.dumps(complete, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
    try:
        target.write_bytes(data)
        manifest_path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputFileError(f"{out}: {exc.strerror}") from None
    return complete
