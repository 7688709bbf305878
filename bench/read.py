"""The read side: the weekly sector table and a unit's trend, against the raw computation.

Runs on a bench database that holds both territory vintages and the FGJ 2019-2023 file,
right after the end-to-end load. Every timing is server-side: the handler's Python call,
from a fresh call to the finished table, on one open connection.

* ``first_weekly``: the first sector table computed after the cube is built (the
  week before :data:`AS_OF`), reported apart: it pays once what a process and fresh
  memory cost (first touch of the cube's arrays, first use of each kernel), 2-5x a
  later table, which would otherwise decide the p95 of ``weekly`` on its own.
* ``weekly``: the sector table of vintage 2023 for every group and window
  (:func:`compute_accountability`, the computed-table cache bypassed; the count cube
  warm), over :data:`AS_OF` dates.
* ``weekly_cached``: the same requests answered from the computed-table cache.
* ``cube_build``: the first read after a load, which builds the cube.
* ``trend``: a sector's weekly series since 2019 (:func:`compute_trend`), one per sector.
* ``raw_weekly`` and ``raw_trend``: the same tables computed straight from ``incident``
  and ``assignment`` in SQL, as a read side without count tables would.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from compstat import windows as win
from compstat.groups import groups
from compstat.queries import cube as cubes
from compstat.queries.accountability import (
    AccountabilityQuery,
    accountability,
    compute_accountability,
)
from compstat.queries.trends import TrendQuery, compute_trend

VINTAGE = "2023"
#: Sundays spread over 2021-2023, so every window and its year-ago period hold FGJ data.
AS_OF = tuple(date(2021, 3, 7) + timedelta(weeks=9 * i) for i in range(16))
SECTORS = (
    "C-1.7",
    "N-1.4",
    "O-2.2",
    "P-1.3",
    "S-2.1",
    "C-1.1",
    "N-2.1",
    "O-1.1",
    "P-2.1",
    "S-1.1",
    "N-3.1",
    "O-3.1",
)
RAW_REPEAT = 3
TARGET_SPEEDUP = 20.0
TARGET_PAGE_KB = 300.0

RAW_WEEKLY = """
SELECT s.code AS unit_id, c.code AS category, {windows}
FROM incident i
JOIN assignment_with_method m ON m.incident_id = i.id
JOIN category c ON c.id = i.category_id
LEFT JOIN quadrant q ON q.id = m.quadrant_id
LEFT JOIN sector s ON s.id = q.sector_id
WHERE m.vintage_id = (SELECT id FROM territory_vintage WHERE name = :vintage)
  AND i.occurred_date BETWEEN :first AND :last AND i.retired_run_id IS NULL
GROUP BY 1, 2
"""
RAW_TREND = """
SELECT date_trunc('week', i.occurred_date)::date AS week, count(*) AS n
FROM incident i
JOIN assignment_with_method m ON m.incident_id = i.id
JOIN category c ON c.id = i.category_id AND c.high_impact
JOIN quadrant q ON q.id = m.quadrant_id
JOIN sector s ON s.id = q.sector_id AND s.code = :sector
WHERE m.vintage_id = (SELECT id FROM territory_vintage WHERE name = :vintage)
  AND i.retired_run_id IS NULL
GROUP BY 1 ORDER BY 1
"""


def _timed(work: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    work()
    return time.perf_counter() - t0


def _summary(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    p95 = float(np.percentile(ordered, 95)) if len(ordered) > 1 else ordered[0]
    return {
        "n": len(ordered),
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": p95 * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def raw_weekly(conn: Connection, as_of: date) -> pd.DataFrame:
    """Return the sector table's counts per sector, category and period, from raw tables."""
    periods = [
        (f"p_{kind}_{name}", w)
        for kind, ws in win.standard_windows(as_of).items()
        for name, w in ws.periods().items()
    ]
    columns = ", ".join(
        f"count(*) FILTER (WHERE i.occurred_date BETWEEN :{n}_s AND :{n}_e) AS {n}"
        for n, _ in periods
    )
    params = {
        "vintage": VINTAGE,
        "first": min(w.start for _, w in periods),
        "last": max(w.end for _, w in periods),
    }
    for name, w in periods:
        params |= {f"{name}_s": w.start, f"{name}_e": w.end}
    rows = conn.execute(text(RAW_WEEKLY.format(windows=columns)), params).mappings().all()
    frame = pd.DataFrame(rows)
    members = [(g.code, code) for g in groups().values() for code in g.categories]
    membership = pd.DataFrame(members, columns=["group", "category"])
    return (
        frame.merge(membership, on="category").groupby(["unit_id", "group"]).sum(numeric_only=True)
    )


def raw_trend(conn: Connection, sector: str) -> list:
    """Return a sector's weekly high-impact counts straight from the raw tables."""
    return conn.execute(text(RAW_TREND), {"vintage": VINTAGE, "sector": sector}).all()


def _trend_query(sector: str) -> TrendQuery:
    return TrendQuery(VINTAGE, (sector,), start=date(2019, 1, 7))


def _weekly_query(as_of: date) -> AccountabilityQuery:
    return AccountabilityQuery(VINTAGE, "sector", as_of, tuple(groups()))


def measure(engine: Engine, page_bytes: Callable[[], int] | None = None) -> dict:
    """Return p50/p95 of every read (see the module docstring) and the speed-ups."""
    out: dict = {"as_of": [d.isoformat() for d in AS_OF], "groups": len(groups())}
    with engine.connect() as conn:
        cubes.clear_cache()
        out["cube_build"] = _summary([_timed(lambda: cubes.cube(conn, VINTAGE))])
        first = _weekly_query(AS_OF[0] - timedelta(weeks=1))
        out["first_weekly"] = _summary([_timed(lambda: compute_accountability(conn, first))])
        weekly = [_timed(lambda d=d: compute_accountability(conn, _weekly_query(d))) for d in AS_OF]
        out["weekly"] = _summary(weekly)
        for d in AS_OF:
            accountability(conn, _weekly_query(d))
        cached = [_timed(lambda d=d: accountability(conn, _weekly_query(d))) for d in AS_OF]
        out["weekly_cached"] = _summary(cached)
        out["trend"] = _summary(
            [_timed(lambda s=s: compute_trend(conn, _trend_query(s))) for s in SECTORS]
        )
        out["raw_weekly"] = _summary(
            [_timed(lambda d=d: raw_weekly(conn, d)) for d in AS_OF[-RAW_REPEAT:]]
        )
        out["raw_trend"] = _summary(
            [_timed(lambda s=s: raw_trend(conn, s)) for s in SECTORS[:RAW_REPEAT]]
        )
        out["check"] = _check(conn)
    if page_bytes is not None:
        out["page_kb"] = page_bytes() / 1000
    out["speedup_weekly_p95"] = out["raw_weekly"]["p95_ms"] / out["weekly"]["p95_ms"]
    out["speedup_trend_p95"] = out["raw_trend"]["p95_ms"] / out["trend"]["p95_ms"]
    return out


def page_bytes(engine: Engine) -> int:
    """Return the size of the weekly sector page (HTML) as a logged-in planner gets it."""
    from bench.client import body, logged_in

    page = f"/semanal?vintage={VINTAGE}&level=sector&as_of={AS_OF[-1]}"
    return len(body(logged_in(engine), page))


def _check(conn: Connection) -> dict:
    """Compare the fast table with the raw one for the last as-of date: cells that differ."""
    as_of = AS_OF[-1]
    fast = compute_accountability(conn, _weekly_query(as_of)).rows
    fast = fast[fast["unit_id"] != cubes.OUTSIDE_ID]
    raw = raw_weekly(conn, as_of)
    differing = 0
    for row in fast.itertuples():
        key = (row.unit_id, row.group)
        expected = raw.loc[key, f"p_{row.window}_current"] if key in raw.index else 0
        differing += int(expected != row.current)
    return {"cells": len(fast), "cells_differing": differing}
