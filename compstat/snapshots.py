"""Frozen, reproducible exports: a file and its manifest, written through the export registry.

The same request on the same data gives byte-identical files (``compstat.exports``
stamps no time of writing), and ``FILE.manifest.json`` beside each file says what
produced it and its SHA-256, so a snapshot can be checked and recomputed later.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from compstat import exports
from compstat.errors import OutputFileError

FORMATS = ("csv", "parquet", "dta", "xlsx", "geojson")
STATA_NAME_LENGTH = 32


def render(
    frame: pd.DataFrame, fmt: str, labels: dict[str, str], geometry: list[bytes] | None = None
) -> bytes:
    """Return ``frame`` in ``fmt`` (one of :data:`FORMATS`) with its variable labels.

    Stata names longer than 32 characters are refused rather than shortened, so a
    researcher's do-file never meets a name it did not ask for.
    """
    if fmt not in FORMATS:
        raise OutputFileError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    too_long = [c for c in frame.columns if len(str(c)) > STATA_NAME_LENGTH]
    if fmt == "dta" and too_long:
        raise OutputFileError(
            f"Stata names have at most {STATA_NAME_LENGTH} characters: {', '.join(too_long)}; "
            "use another format"
        )
    if fmt == "geojson":
        if geometry is None:
            raise OutputFileError("geojson needs the units' polygons")
        frame = frame.assign(**{exports.GEOMETRY: geometry})
    return exports.export(frame, fmt, {exports.VARIABLE_LABELS: labels})


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


def complete(manifest: dict, name: str, data: bytes) -> dict:
    """Return ``manifest`` with the file's name and the SHA-256 of its bytes ``data``."""
    return {**manifest, "file": name, "sha256": sha256(data)}


def manifest_text(manifest: dict) -> str:
    """Return a complete manifest as the JSON text written beside its file."""
    return json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"


def write(out: str | Path, data: bytes, manifest: dict) -> dict:
    """Write ``data`` to ``out`` and its manifest beside it; return the manifest written."""
    target = Path(out)
    if not target.parent.is_dir():
        raise OutputFileError(f"{out}: the folder {target.parent} does not exist")
    if target.is_dir():
        raise OutputFileError(f"{out}: is a folder")
    complete_manifest = complete(manifest, target.name, data)
    text = manifest_text(complete_manifest)
    try:
        target.write_bytes(data)
        manifest_path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputFileError(f"{out}: {exc.strerror}") from None
    return complete_manifest
