"""The refresh job: load every source a TOML file configures (``compstat etl run``).

A configuration lists sources as ``[[source]]`` tables::

    [[source]]
    name = "fgj"                    # label in the summary (default: the path)
    path = "cdmx/incidents/fgj_*/fgj_carpetas_points_*.csv.gz"   # a path or a glob
    source = "fgj"                  # ssp or fgj
    mode = "cumulative"             # or "incremental" (the default)
    encoding = "latin-1"            # optional; needs a loader that takes an encoding

Relative paths are read under ``data_dir`` when the file sets it (relative to the
file's own folder), else under ``COMPSTAT_DATA_DIR`` (or the default data folder),
else under the file's folder. Files a glob matches load in name order, so the newest
cumulative release, named by date, loads last and wins. A cumulative source loads
each file with ``supersedes``: it replaces earlier releases for the days it covers.
Files already loaded (same SHA-256) are skipped by the loader. Each file is one
transaction: a failed file stores nothing and the others still load.
"""

from __future__ import annotations

import glob
import inspect
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from compstat.config import data_dir_from
from compstat.errors import CompstatError, InputFileError
from etl.incidents import LoadSummary, load_incidents
from etl.sources import SOURCES

MODES = ("incremental", "cumulative")
_KEYS = {"name", "path", "source", "mode", "encoding"}


@dataclass(frozen=True)
class SourceConfig:
    """One configured source: which files, of which source, loaded how."""

    name: str
    pattern: Path
    source: str
    mode: str = "incremental"
    encoding: str | None = None

    @property
    def cumulative(self) -> bool:
        """Whether each file replaces earlier releases for the days it covers."""
        return self.mode == "cumulative"

    def files(self) -> list[Path]:
        """Return the files the path or glob names, in name order."""
        if any(mark in str(self.pattern) for mark in "*?["):
            return sorted(Path(p) for p in glob.glob(str(self.pattern)) if Path(p).is_file())
        return [self.pattern] if self.pattern.is_file() else []


@dataclass
class JobResult:
    """What the job did with one file (or with a source that named none)."""

    name: str
    source: str
    mode: str
    file: str
    status: str
    summary: LoadSummary | None = None
    error: str | None = None

    def row(self) -> dict:
        """Return the summary row: counts are empty for a file that did not load."""
        s = self.summary
        counts = {
            "read": s.read if s else None,
            "loaded": s.loaded if s else None,
            "duplicates": s.duplicates if s else None,
            "quarantined": sum(s.quarantined.values()) if s else None,
            "retired": s.retired if s else None,
            "run_id": s.run_id if s else None,
        }
        names = {"name": self.name, "source": self.source, "mode": self.mode, "file": self.file}
        return {**names, "status": self.status, **counts, "error": self.error}


def read_config(path: str | Path, env: dict[str, str] | None = None) -> list[SourceConfig]:
    """Read and check a sources file; any mistake is one :class:`InputFileError` line."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: not a valid TOML file: {exc}") from None
    entries = data.get("source")
    if not isinstance(entries, list) or not entries:
        raise InputFileError(f"{path}: no [[source]] table: nothing to load")
    base = _base_dir(path, data, os.environ if env is None else env)
    return [_source(path, i, entry, base) for i, entry in enumerate(entries, start=1)]


def _base_dir(config: Path, data: dict, env) -> Path:
    here = config.resolve().parent
    if "data_dir" in data:
        return here / str(data["data_dir"])
    return data_dir_from(env) or here


def _source(config: Path, number: int, entry: object, base: Path) -> SourceConfig:
    where = f"{config}: source #{number}"
    if not isinstance(entry, dict):
        raise InputFileError(f"{where}: expected a table")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise InputFileError(f"{where}: unknown keys {unknown}; allowed: {sorted(_KEYS)}")
    for key in ("path", "source"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise InputFileError(f"{where}: {key!r} is required (a string)")
    if entry["source"] not in SOURCES:
        raise InputFileError(f"{where}: source {entry['source']!r} is not one of {sorted(SOURCES)}")
    mode = entry.get("mode", "incremental")
    if mode not in MODES:
        raise InputFileError(f"{where}: mode {mode!r} is not one of {list(MODES)}")
    encoding = entry.get("encoding")
    if encoding is not None and not isinstance(encoding, str):
        raise InputFileError(f"{where}: 'encoding' must be a string")
    pattern = base / Path(entry["path"]).expanduser()
    name = str(entry.get("name") or entry["path"])
    return SourceConfig(name, pattern, entry["source"], mode, encoding)


def _load_options(config: SourceConfig) -> dict:
    """Return the loader's keyword arguments for a source's files."""
    options: dict = {"supersedes": config.cumulative}
    if config.encoding:
        if "encoding" not in inspect.signature(load_incidents).parameters:
            raise InputFileError(f"{config.name}: this loader cannot override the encoding")
        options["encoding"] = config.encoding
    return options


def run_sources(
    engine: Engine,
    configs: list[SourceConfig],
    report: Callable[[JobResult], None] | None = None,
) -> list[JobResult]:
    """Load every configured file in order; a failure is recorded and the job goes on."""
    results = []
    for config in configs:
        for result in _run_source(engine, config):
            results.append(result)
            if report:
                report(result)
    return results


def _run_source(engine: Engine, config: SourceConfig):
    files = config.files()
    if not files:
        error = f"{config.pattern}: no file matches"
        yield JobResult(config.name, config.source, config.mode, "", "failed", error=error)
        return
    for path in files:
        result = JobResult(config.name, config.source, config.mode, path.name, "loaded")
        try:
            summary = load_incidents(engine, path, config.source, **_load_options(config))
        except (CompstatError, OSError) as exc:
            result.status, result.error = "failed", str(exc)
        else:
            result.summary = summary
            result.status = "skipped" if summary.skipped else "loaded"
        yield result


def failures(results: list[JobResult]) -> list[JobResult]:
    """Return the results of files that did not load."""
    return [r for r in results if r.status == "failed"]
