"""Faults: a load killed midway, a database connection lost midway, two loads at once.

The load runs as a real ``compstat incidents load`` process; the test watches the
server's ``COPY`` progress and strikes while rows are being sent.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from etl.incidents import load_incidents

HEADER = "fecha_hecho,hora_hecho,delito,latitud,longitud"
OFFENCES = ["FRAUDE", "AMENAZAS", "ROBO A NEGOCIO CON VIOLENCIA", "VIOLENCIA FAMILIAR"]
CODES = ["fraude", "amenazas", "robo_negocio_cv", "violencia_familiar"]
TABLES = ("incident", "assignment", "daily_count", "quarantine", "load_run", "offence")
ROWS = 400_000


def big_file(path: Path, year: int, rows: int = ROWS) -> dict[str, int]:
    """Write ``rows`` distinct valid FGJ rows of ``year``; return the count per category."""
    rng = np.random.default_rng(year)
    days = np.datetime64(f"{year}-01-01") + rng.integers(0, 365, rows)
    offence = rng.integers(0, len(OFFENCES), rows)
    lat = 19.30 + np.arange(rows) * 2e-7  # every row distinct
    lon = -99.15 + rng.random(rows) * 0.05
    lines = [
        f"{d},{h:02d}:00:00,{OFFENCES[o]},{la:.7f},{lo:.7f}"
        for d, h, o, la, lo in zip(
            days.astype(str), rng.integers(0, 24, rows), offence, lat, lon, strict=True
        )
    ]
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as handle:
        handle.write("\n".join([HEADER, *lines]) + "\n")
    return dict(zip(CODES, np.bincount(offence, minlength=len(CODES)).tolist(), strict=True))


def table_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}


def counted(engine, year: int) -> dict[str, int]:
    """The daily counts of ``year`` in the 2016 vintage, by category."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.code, sum(d.n_spatial) FROM daily_count d JOIN category c "
                "ON c.id = d.category_id WHERE extract(year FROM d.day) = :y GROUP BY c.code"
            ),
            {"y": year},
        ).all()
    return {code: int(n) for code, n in rows}


def start_load(engine, path: Path) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=engine.url.render_as_string(hide_password=False))
    command = [sys.executable, "-c", "from compstat.cli import main; main()"]
    args = ["incidents", "load", str(path), "--source", "fgj"]
    return subprocess.Popen(
        command + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def copying_backend(engine, process: subprocess.Popen, timeout: float = 120) -> int:
    """Wait until the load's server process is copying incidents; return its pid."""
    query = (
        "SELECT p.pid FROM pg_stat_progress_copy p JOIN pg_class c ON c.oid = p.relid "
        "WHERE c.relname = 'incident' AND p.tuples_processed > 0 AND p.datname = current_database()"
    )
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            pid = conn.execute(text(query)).scalar()
            if pid is not None:
                return int(pid)
            conn.rollback()
            time.sleep(0.01)
    pytest.fail("the load never started copying incidents")


def wait_for_lock_release(engine, timeout: float = 60) -> None:
    """Wait until the server has rolled back the dead load (it held the load lock)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            held = conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
            ).scalar()
            if held == 0:
                return
            conn.rollback()
            time.sleep(0.05)
    pytest.fail("the killed load's transaction never ended")


def test_a_load_killed_midway_leaves_the_tables_as_they_were_and_a_rerun_converges(
    territory_db, tmp_path
):
    expected = big_file(tmp_path / "big.csv.gz", 2008)
    before = table_counts(territory_db)
    process = start_load(territory_db, tmp_path / "big.csv.gz")
    copying_backend(territory_db, process)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)  # also closes its pipes
    assert process.returncode == -signal.SIGKILL
    wait_for_lock_release(territory_db)
    assert table_counts(territory_db) == before
    rerun = load_incidents(territory_db, tmp_path / "big.csv.gz", "fgj")
    assert (rerun.read, rerun.loaded, rerun.duplicates) == (ROWS, ROWS, 0)
    # the same counts an uninterrupted load gives: every row once, in its category
    assert counted(territory_db, 2008) == expected
    after = table_counts(territory_db)
    assert after["incident"] - before["incident"] == ROWS
    assert after["load_run"] - before["load_run"] == 1


def test_a_connection_lost_midway_is_one_line_of_error_and_stores_nothing(territory_db, tmp_path):
    big_file(tmp_path / "lost.csv.gz", 2007)
    before = table_counts(territory_db)
    process = start_load(territory_db, tmp_path / "lost.csv.gz")
    pid = copying_backend(territory_db, process)
    with territory_db.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(
        f"error: {tmp_path / 'lost.csv.gz'}: the database connection was lost"
    )
    wait_for_lock_release(territory_db)
    assert table_counts(territory_db) == before


def test_two_loads_of_the_same_file_at_once_store_each_row_once(territory_db, tmp_path):
    path = tmp_path / "same.csv.gz"
    rows = 2_000
    expected = big_file(path, 2006, rows)
    with ThreadPoolExecutor(max_workers=2) as pool:
        summaries = list(pool.map(lambda _: load_incidents(territory_db, path, "fgj"), range(2)))
    assert sorted((s.loaded, s.duplicates) for s in summaries) == [(0, rows), (rows, 0)]
    assert counted(territory_db, 2006) == expected
