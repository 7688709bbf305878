"""Shared pieces of the benchmark: input files, bench databases, memory and timing helpers."""

from __future__ import annotations

import hashlib
import os
import resource
import sys
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, text

from compstat import db, embedded
from compstat.config import data_dir_from

PIPELINES = ("end_to_end", "floor", "textbook")
LABELS = {
    "end_to_end": "end-to-end (`load_incidents`)",
    "floor": "floor (raw binary COPY)",
    "textbook": "textbook (pandas + geopandas)",
}
#: Acceptance targets: end-to-end throughput over the floor's and the textbook's; peak RSS.
TARGET_FLOOR = 1 / 12
TARGET_TEXTBOOK = 10.0
TARGET_RSS_MB = 2000.0

DB_PREFIX = "compstat_bench_"
FGJ = "incidents/fgj_carpetas_2019_2023/fgj_carpetas_points_2019_2023.csv.gz"
Q2016 = "quadrants/ssp_2016_official/Cuadrantes_2016_region_shp.zip"
POP2016 = "quadrants/hoyodecrimen_2016/cuadrantes_population.shp"
Q2023 = "quadrants/hoyodecrimen_2023/cuadrantes_population_2023.gpkg"

#: Daily counts in a comparable form: one row per vintage, quadrant code, category code, day.
DAILY_COLUMNS = ["vintage", "quadrant", "category", "day", "n"]
OUTSIDE = "(outside)"


def code_fingerprint() -> str:
    """Return a short hash of the project's code (``compstat/``, ``etl/``, ``geo/``).

    Others may edit the loader while a benchmark runs; the fingerprint of each run
    says which runs measured the same code.
    """
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for folder in ("compstat", "etl", "geo"):
        for path in sorted((root / folder).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def data_root() -> Path:
    """Return the ``cdmx/`` data directory, or exit with a clear message."""
    found = data_dir_from(os.environ)
    if found is None or not (found / "cdmx").is_dir():
        sys.exit("bench: the data directory is missing: set COMPSTAT_DATA_DIR (see README, Data)")
    return found / "cdmx"


def paths() -> dict[str, Path]:
    """Return the files the benchmark reads."""
    root = data_root()
    return {
        "fgj": root / FGJ,
        "q2016": root / Q2016,
        "pop2016": root / POP2016,
        "q2023": root / Q2023,
    }


def database_name(pipeline: str) -> str:
    """Return the throwaway database used by ``pipeline``."""
    return DB_PREFIX + pipeline


def bench_engine(pipeline: str) -> Engine:
    """Return the engine of the (already set-up) database of ``pipeline``."""
    return db.engine(embedded.local_url(database_name(pipeline)))


def setup_database(pipeline: str) -> Engine:
    """Create a fresh migrated database for ``pipeline`` and load both vintages into it."""
    from etl.territory import load_territory

    files = paths()
    url = embedded.ensure_database(database_name(pipeline), fresh=True)
    db.upgrade(url)
    engine = db.engine(url)
    load_territory(engine, files["q2016"], "2016", files["pop2016"])
    load_territory(engine, files["q2023"], "2023")
    return engine


def quiesce(engine: Engine) -> None:
    """Flush the server's dirty pages and warm the pool so the timed run starts clean."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CHECKPOINT"))


def wal_position(engine: Engine) -> str:
    """Return the server's current WAL position (cluster-wide)."""
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT pg_current_wal_lsn()")).scalar_one())


def wal_mb_since(engine: Engine, start: str) -> float:
    """Return the MB of WAL the whole cluster wrote since ``start``."""
    with engine.connect() as conn:
        diff = conn.execute(
            text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), CAST(:s AS pg_lsn))"), {"s": start}
        ).scalar_one()
    return float(diff) / 1e6


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def daily_frame(engine: Engine, table: str, count: str) -> pd.DataFrame:
    """Return the daily counts of ``table`` keyed by codes, so two databases can be compared."""
    query = f"""
        SELECT v.name AS vintage, coalesce(q.code, '{OUTSIDE}') AS quadrant,
               c.code AS category, d.day, sum(d.{count})::bigint AS n
        FROM {table} d
        JOIN territory_vintage v ON v.id = d.vintage_id
        LEFT JOIN quadrant q ON q.id = d.quadrant_id
        JOIN category c ON c.id = d.category_id
        GROUP BY 1, 2, 3, 4
    """
    with engine.connect() as conn:
        frame = pd.read_sql(text(query), conn)
    frame["day"] = pd.to_datetime(frame["day"])
    return frame[DAILY_COLUMNS]


def relations(engine: Engine, tables: list[str]) -> list[dict]:
    """Return rows, table bytes and index bytes of each table, as MB."""
    out = []
    with engine.connect() as conn:
        for table in tables:
            rows, heap, index = conn.execute(
                text(
                    f"SELECT (SELECT count(*) FROM {table}), pg_table_size('{table}'), "
                    f"pg_indexes_size('{table}')"
                )
            ).one()
            out.append(
                {"table": table, "rows": int(rows), "table_mb": heap / 1e6, "index_mb": index / 1e6}
            )
    return out


def scalar(engine: Engine, query: str) -> int:
    """Return the integer result of ``query``."""
    with engine.connect() as conn:
        return int(conn.execute(text(query)).scalar() or 0)
