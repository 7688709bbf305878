"""Incidents loaded before any territory are kept, then placed when a vintage is loaded."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from compstat.bulk import analyze_if_grown
from etl.incidents import load_incidents
from etl.territory import load_territory
from tests.conftest import drop, fresh_engine

HEADER = '"cuadrante","crime","date","hour","year","month","lat","long","id"'
ROWS = [
    '"P-1.4.8","ROBO A TRANSEUNTE C.V.",2015-01-01,"10:07",2015,1,19.3272,-99.2103,900001',
    '"P-1.2.7","HOMICIDIO DOLOSO",2015-07-04,"01:31",2015,7,19.3790,-99.1961,900002',
]
COUNTS = """
    SELECT q.code, sum(d.n_recorded) FROM daily_count d JOIN quadrant q ON q.id = d.quadrant_id
    GROUP BY 1 ORDER BY 1
"""


def scalar(engine, query: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(query)).scalar_one()


def test_incidents_before_territory_are_placed_when_a_vintage_loads(paths, tmp_path: Path):
    engine = fresh_engine("compstat_test_load_order")
    try:
        path = tmp_path / "ssp.csv"
        path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
        summary = load_incidents(engine, path, "ssp")
        assert (summary.read, summary.loaded) == (2, 2)
        assert scalar(engine, "SELECT count(*) FROM assignment") == 0
        assert scalar(engine, "SELECT count(*) FROM daily_count") == 0
        result = load_territory(engine, paths["q2016"], "2016", paths["pop2016"])
        assert result["incidents_placed"] == 2
        assert scalar(engine, "SELECT count(*) FROM assignment") == 2
        with engine.connect() as conn:
            counts = [tuple(r) for r in conn.execute(text(COUNTS))]
        assert counts == [("P-1.2.7", 1), ("P-1.4.8", 1)]
    finally:
        drop(engine)


def test_a_load_refreshes_the_statistics_of_what_it_grew(paths, tmp_path: Path):
    # autovacuum may be off: without statistics the planner takes incident for empty
    engine = fresh_engine("compstat_test_load_stats")
    known = "SELECT reltuples::int FROM pg_class WHERE relname = '{}'"
    try:
        load_territory(engine, paths["q2016"], "2016", paths["pop2016"])
        assert scalar(engine, known.format("incident")) == -1  # never analysed
        path = tmp_path / "ssp.csv"
        path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
        load_incidents(engine, path, "ssp")
        assert scalar(engine, known.format("incident")) == 2
        assert scalar(engine, known.format("assignment")) == 2
        with engine.begin() as conn:
            # one more row is not a tenth of a table the statistics say holds 100,000
            conn.execute(text("UPDATE pg_class SET reltuples = 100000 WHERE relname = 'incident'"))
            assert not analyze_if_grown(conn, "incident", 1)
            assert analyze_if_grown(conn, "incident", 20_000)
    finally:
        drop(engine)
