"""``make bench``: the FGJ 2019-2023 file through three pipelines, measured in one run.

* ``end_to_end``: the project's loader, :func:`etl.incidents.load_incidents`, from
  the ``.csv.gz`` to the ``daily_count`` rows, committed.
* ``floor``: the same rows as plain numeric columns through one binary ``COPY``
  into an unindexed table (the physical floor of the server).
* ``textbook``: pandas, geopandas ``sjoin``, ``to_postgis`` and an SQL ``GROUP BY``.

Each pipeline runs in its own process, so its peak RSS is its own, on a fresh
database that already holds both territory vintages (loaded by another process,
before the timer). The parent collects the results, prints a table and writes
``docs/performance.md``. A separate run of the loader under cProfile says where
its time goes. Usage::

    python -m bench.run [--repeat N] [--pipelines end_to_end,floor] [--no-profile]
    make bench BENCH_REPEAT=3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import Engine

from bench import common

if TYPE_CHECKING:
    from bench.profiling import ThreadProfiler

PIPELINES = common.PIPELINES
PROFILE_DB = "profile"
ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"


# --- child processes ---------------------------------------------------------------------------


def _setup(db_key: str) -> dict:
    t0 = time.perf_counter()
    engine = common.setup_database(db_key)
    seconds = time.perf_counter() - t0
    if db_key in ("textbook",):
        from etl.catalog import sync_categories

        with engine.begin() as conn:
            sync_categories(conn)
    return {"setup_s": seconds}


def _timed(engine: Engine, work: Callable, profiler: ThreadProfiler | None = None) -> tuple:
    """Run ``work()`` after a checkpoint; return its value and what the timer saw."""
    common.quiesce(engine)
    wal = common.wal_position(engine)
    before = {"rss_before_mb": common.peak_rss_mb(), "load_1m": os.getloadavg()[0]}
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    try:
        value = work()
    finally:
        if profiler:
            profiler.disable()
    seconds = time.perf_counter() - t0
    after = {
        "seconds": seconds,
        "peak_rss_mb": common.peak_rss_mb(),
        "wal_mb": common.wal_mb_since(engine, wal),
    }
    return value, {**before, **after}


def _end_to_end(db_key: str, workdir: Path, tag: str, profile: bool) -> dict:
    from etl.incidents import load_incidents

    fgj = common.paths()["fgj"]
    engine = common.bench_engine(db_key)
    from bench.profiling import ThreadProfiler, summarise

    profiler = ThreadProfiler() if profile else None
    summary, measured = _timed(engine, lambda: load_incidents(engine, fgj, "fgj"), profiler)
    result = {
        "rows_in": summary.read,
        "rows_stored": summary.loaded,
        "duplicates": summary.duplicates,
        "quarantined": dict(summary.quarantined),
        **measured,
    }
    if profiler:
        result["profile"] = summarise(profiler, measured["seconds"])
        return result
    result["relations"] = common.relations(
        engine, ["incident", "assignment", "daily_count", "quarantine"]
    )
    daily = common.daily_frame(engine, "daily_count", "n_spatial")
    daily.to_parquet(workdir / f"daily-end_to_end-{tag}.parquet")
    if tag == "1":
        from bench import read

        result["read_side"] = read.measure(engine, lambda: read.page_bytes(engine))
        from bench import hotspots

        result["hotspots"] = hotspots.measure(engine)
    return result


def _floor(db_key: str, workdir: Path, tag: str) -> dict:
    from bench import floor

    engine = common.bench_engine(db_key)
    payload, facts = floor.prepare(engine, common.paths()["fgj"])
    _, measured = _timed(engine, lambda: floor.copy(engine, payload))
    stored = floor.stored_rows(engine)
    if stored != facts["rows_stored"]:
        raise RuntimeError(f"floor: copied {facts['rows_stored']} rows, table holds {stored}")
    return {**facts, **measured, "relations": common.relations(engine, [floor.TABLE])}


def _textbook(db_key: str, workdir: Path, tag: str) -> dict:
    from bench import textbook

    engine = common.bench_engine(db_key)
    textbook.prepare(engine)
    facts, measured = _timed(engine, lambda: textbook.run(engine, common.paths()["fgj"]))
    daily = common.daily_frame(engine, textbook.DAILY, "n")
    daily.to_parquet(workdir / f"daily-textbook-{tag}.parquet")
    tables = [textbook.INCIDENT, textbook.ASSIGNMENT, textbook.DAILY]
    return {**facts, **measured, "relations": common.relations(engine, tables)}


def _child(args: argparse.Namespace) -> None:
    workdir = Path(args.workdir)
    code = common.code_fingerprint()
    if args.setup:
        result = _setup(args.db)
    elif args.one == "end_to_end":
        result = _end_to_end(args.db, workdir, args.tag, args.profile)
    elif args.one == "floor":
        result = _floor(args.db, workdir, args.tag)
    else:
        result = _textbook(args.db, workdir, args.tag)
    Path(args.result).write_text(json.dumps({**result, "code": code}))


# --- parent ------------------------------------------------------------------------------------


def _spawn(flags: list[str], workdir: Path, name: str, timeout: float) -> dict:
    out = workdir / f"{name}.json"
    cmd = [
        sys.executable,
        "-m",
        "bench.run",
        *flags,
        "--workdir",
        str(workdir),
        "--result",
        str(out),
    ]
    done = subprocess.run(cmd, cwd=ROOT, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench: `{' '.join(flags)}` failed with exit code {done.returncode}")
    return json.loads(out.read_text())


def _measure(pipeline: str, db_key: str, tag: str, workdir: Path, args, extra=()) -> dict:
    print(f"bench: {pipeline} [{tag}]: setting up {common.database_name(db_key)} ...", flush=True)
    setup = _spawn(["--setup", "--db", db_key], workdir, f"setup-{db_key}-{tag}", args.timeout)
    print(f"bench: {pipeline} [{tag}]: set up in {setup['setup_s']:.1f} s; running ...", flush=True)
    flags = ["--one", pipeline, "--db", db_key, "--tag", tag, *extra]
    result = _spawn(flags, workdir, f"{pipeline}-{tag}", args.timeout)
    result["setup_s"] = setup["setup_s"]
    print(
        f"bench: {pipeline} [{tag}]: {result['seconds']:.1f} s, "
        f"{result['rows_in'] / result['seconds']:,.0f} rows/s, "
        f"peak RSS {_mb(result['peak_rss_mb']):,.0f} MB",
        flush=True,
    )
    return result


def _mb(mib: float) -> float:
    """Convert MiB (what ``ru_maxrss`` gives) to MB, the unit of the 2 GB target."""
    return mib * 1024 * 1024 / 1e6


def _aggregate(runs: list[dict]) -> dict:
    seconds = [r["seconds"] for r in runs]
    rows = runs[0]["rows_in"]
    best, median = min(seconds), statistics.median(seconds)
    return {
        "runs": len(runs),
        "rows_in": rows,
        "rows_stored": runs[0]["rows_stored"],
        "best_s": best,
        "median_s": median,
        "all_s": seconds,
        "best_rate": rows / best,
        "median_rate": rows / median,
        "peak_rss_mb": max(_mb(r["peak_rss_mb"]) for r in runs),
        "rss_before_mb": max(_mb(r["rss_before_mb"]) for r in runs),
        "setup_s": statistics.median(r["setup_s"] for r in runs),
    }


def _compare_daily(workdir: Path) -> dict | None:
    a_path = workdir / "daily-end_to_end-1.parquet"
    b_path = workdir / "daily-textbook-1.parquet"
    if not (a_path.exists() and b_path.exists()):
        return None
    keys = ["vintage", "quadrant", "category", "day"]
    a, b = pd.read_parquet(a_path), pd.read_parquet(b_path)
    merged = a.merge(b, on=keys, how="outer", suffixes=("_e2e", "_textbook")).fillna(
        {"n_e2e": 0, "n_textbook": 0}
    )
    differ = merged[merged["n_e2e"] != merged["n_textbook"]]
    per_vintage = {
        str(v): {
            "end_to_end": int(g["n_e2e"].sum()),
            "textbook": int(g["n_textbook"].sum()),
            "cells": len(g),
            "cells_differing": int((g["n_e2e"] != g["n_textbook"]).sum()),
            "abs_difference": int((g["n_e2e"] - g["n_textbook"]).abs().sum()),
        }
        for v, g in merged.groupby("vintage")
    }
    return {
        "cells": len(merged),
        "cells_differing": len(differ),
        "abs_difference": int((differ["n_e2e"] - differ["n_textbook"]).abs().sum()),
        "per_vintage": per_vintage,
    }


def _git() -> str:
    def git(*a: str) -> str:
        done = subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def _machine() -> dict:
    import psycopg

    from compstat import embedded

    cpu = platform.processor() or platform.machine()
    meminfo = Path("/proc/meminfo")
    ram_gb = None
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = int(line.split()[1]) * 1024 / 1e9
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    settings = [
        "shared_buffers",
        "work_mem",
        "maintenance_work_mem",
        "wal_level",
        "synchronous_commit",
        "fsync",
        "max_wal_size",
    ]
    with psycopg.connect(
        host=embedded.HOST,
        port=embedded.PORT,
        user=embedded.USER,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        pg_settings = {s: conn.execute(f"SHOW {s}").fetchone()[0] for s in settings}
        postgis = conn.execute(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone()
    libraries = [
        "numpy",
        "pandas",
        "pyarrow",
        "shapely",
        "geopandas",
        "GeoAlchemy2",
        "SQLAlchemy",
        "psycopg",
    ]
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gb": ram_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": pg,
        "postgis": postgis[0] if postgis else "?",
        "pg_settings": pg_settings,
        "libraries": {lib: metadata.version(lib) for lib in libraries},
        "commit": _git(),
    }


def _command(argv: list[str] | None) -> str:
    given = argv if argv is not None else sys.argv[1:]
    env = "BENCH_REPEAT=" + os.environ["BENCH_REPEAT"] + " " if "BENCH_REPEAT" in os.environ else ""
    return " ".join([f"{env}python -m bench.run", *given])


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--repeat",
        type=int,
        default=int(os.environ.get("BENCH_REPEAT", "1")),
        help="runs of each pipeline (default 1, or $BENCH_REPEAT)",
    )
    parser.add_argument(
        "--pipelines",
        default=",".join(PIPELINES),
        help="comma-separated subset of " + ", ".join(PIPELINES),
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="report file (default docs/performance.md when all pipelines run)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write raw results here")
    parser.add_argument("--keep-databases", action="store_true")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per child process, s")
    # Internal: the parent re-invokes this module for each step.
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--one", choices=PIPELINES, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="1", help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.setup or args.one:
        _child(args)
        return 0
    pipelines = [p.strip() for p in args.pipelines.split(",") if p.strip()]
    unknown = set(pipelines) - set(PIPELINES)
    if unknown or args.repeat < 1:
        sys.exit(f"bench: unknown pipelines {sorted(unknown)} or bad --repeat")
    out = args.out or (DOC if set(pipelines) == set(PIPELINES) else None)
    fgj = common.paths()["fgj"]
    if not fgj.is_file():
        sys.exit(f"bench: {fgj} is missing")
    from compstat import embedded

    used = [*pipelines, *([] if args.no_profile else [PROFILE_DB])]
    started = time.perf_counter()
    runs: dict[str, list[dict]] = {p: [] for p in pipelines}
    profile = None
    with tempfile.TemporaryDirectory(prefix="compstat-bench-") as tmp:
        workdir = Path(tmp)
        try:
            for i in range(1, args.repeat + 1):
                for pipeline in pipelines:
                    runs[pipeline].append(_measure(pipeline, pipeline, str(i), workdir, args))
            if not args.no_profile and "end_to_end" in pipelines:
                profiled = _measure(
                    "end_to_end", PROFILE_DB, "profile", workdir, args, ["--profile"]
                )
                profile = {**profiled["profile"], "code": profiled.get("code")}
            comparison = _compare_daily(workdir)
        finally:
            if not args.keep_databases:
                for key in used:
                    embedded.drop_database(common.database_name(key))
    results = {
        "machine": _machine(),
        "repeat": args.repeat,
        "file": str(fgj.name),
        "command": _command(argv),
        "pipelines": {p: _aggregate(r) for p, r in runs.items()},
        "raw": runs,
        "comparison": comparison,
        "profile": profile,
        "bench_minutes": (time.perf_counter() - started) / 60,
    }
    from bench.report import render, summary_table

    print()
    print(summary_table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    if out:
        out.write_text(render(results))
        print(f"\nbench: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
