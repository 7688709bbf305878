"""Migrations go down and up again, and each revision leaves the indexes it promises.

The read side relies on ``daily_count``'s BRIN index on (vintage, day), for date-range
scans; the load-side fact tables ``incident`` and ``assignment`` carry none.
"""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from compstat import db
from etl.incidents import load_incidents
from etl.territory import load_territory
from tests.conftest import drop, fresh_engine

INDEXES = """
    SELECT indexname FROM pg_indexes
    WHERE tablename IN ('incident', 'assignment', 'daily_count') ORDER BY 1
"""


READ_SIDE_INDEXES = ["daily_count_vintage_day_brin"]


def indexes(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text(INDEXES)).scalars())


def columns(engine, table: str) -> list[str]:
    query = "SELECT column_name FROM information_schema.columns WHERE table_name = :t"
    with engine.connect() as conn:
        return list(conn.execute(text(query), {"t": table}).scalars())


def statistics_targets(engine) -> set[int]:
    query = (
        "SELECT DISTINCT attstattarget FROM pg_attribute WHERE attrelid = 'daily_count'::regclass "
        "AND attnum > 0 AND NOT attisdropped"
    )
    with engine.connect() as conn:
        return set(conn.execute(text(query)).scalars())


def test_downgrade_and_upgrade_round_trip():
    engine = fresh_engine("compstat_test_migrations")
    try:
        url = engine.url.render_as_string(hide_password=False)
        assert indexes(engine) == READ_SIDE_INDEXES
        assert statistics_targets(engine) == {10}
        assert "n_source" in columns(engine, "daily_count")
        command.downgrade(db.alembic_config(url), "0005")
        assert indexes(engine) == []
        assert "n_source" not in columns(engine, "daily_count")
        command.downgrade(db.alembic_config(url), "0003")
        assert indexes(engine) == ["incident_id_idx"]
        assert statistics_targets(engine) == {-1}
        assert "last_incident_id" not in columns(engine, "load_run")
        command.downgrade(db.alembic_config(url), "0001")
        assert indexes(engine) == [
            "assignment_incident_idx",
            "daily_count_vintage_day_idx",
            "incident_pkey",
            "incident_source_id_source_key_key",
        ]
        db.upgrade(url, "0003")
        assert indexes(engine) == ["incident_id_idx"]
        command.downgrade(db.alembic_config(url), "0002")
        assert "method" in columns(engine, "assignment")
        assert "load_run_id" in columns(engine, "daily_count")
        db.upgrade(url)
        assert "method" not in columns(engine, "assignment")
        assert "load_run_id" not in columns(engine, "daily_count")
        assert indexes(engine) == READ_SIDE_INDEXES
        assert "last_incident_id" in columns(engine, "load_run")
    finally:
        drop(engine)


SSP_HEADER = '"cuadrante","crime","date","hour","year","month","lat","long","id"'
SSP_ROWS = [
    # recorded P-1.4.8, and the point lies in it
    '"P-1.4.8","ROBO A TRANSEUNTE C.V.",2015-01-01,"10:07",2015,1,19.3272,-99.2103,900001',
    # recorded P-1.2.7, but the point lies where the first one does
    '"P-1.2.7","HOMICIDIO DOLOSO",2015-07-04,"01:31",2015,7,19.3272,-99.2103,900002',
    # a recorded code no 2016 quadrant has: the spatial quadrant is used
    '"P-9.9.9","VIOLACION",2015-05-04,"12:00",2015,5,19.3272,-99.2103,900003',
    # recorded, without a point
    '"P-1.4.6","ROBO DE VEHICULO AUTOMOTOR S.V.",2016-06-30,"14:54",2016,6,NA,NA,900004',
    # nothing recorded, and the point lies outside every quadrant (north of the city)
    '"","ROBO A NEGOCIO C.V.",2015-03-10,"18:36",2015,3,19.62,-99.10,900005',
]
METHODS = """
    SELECT m.method, q.code, s.code FROM assignment_with_method m
    JOIN incident i ON i.id = m.incident_id
    LEFT JOIN quadrant q ON q.id = m.quadrant_id
    LEFT JOIN quadrant s ON s.id = m.spatial_quadrant_id
    ORDER BY i.source_key
"""


SOURCE_BASIS = """
    SELECT q.code FROM assignment_with_method m JOIN incident i ON i.id = m.incident_id
    LEFT JOIN quadrant q ON q.id = m.source_quadrant_id ORDER BY i.source_key
"""
BASIS_TOTALS = """
    SELECT q.code, sum(n_recorded), sum(n_spatial), sum(n_source) FROM daily_count d
    LEFT JOIN quadrant q ON q.id = d.quadrant_id GROUP BY q.code ORDER BY q.code
"""
# the source basis counts exactly the recorded code: an unknown code (P-9.9.9) and no
# code at all count outside, whatever the point
EXPECTED_SOURCE = ["P-1.4.8", "P-1.2.7", None, "P-1.4.6", None]
EXPECTED_TOTALS = [
    ("P-1.2.7", 1, 0, 1),
    ("P-1.4.6", 1, 0, 1),
    ("P-1.4.8", 2, 3, 1),
    (None, 1, 2, 2),
]


def methods(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(METHODS))]


def rows(engine, query: str) -> list:
    with engine.connect() as conn:
        return [r[0] if len(r) == 1 else tuple(r) for r in conn.execute(text(query))]


def test_recorded_choice_and_last_ids_survive_down_and_up(paths, tmp_path):
    engine = fresh_engine("compstat_test_migrate_data")
    try:
        load_territory(engine, paths["q2016"], "2016", paths["pop2016"])
        path = tmp_path / "ssp.csv"
        path.write_text("\n".join([SSP_HEADER, *SSP_ROWS]) + "\n", encoding="utf-8")
        assert load_incidents(engine, path, "ssp").loaded == 5
        expected = [
            ("recorded", "P-1.4.8", "P-1.4.8"),
            ("recorded", "P-1.2.7", "P-1.4.8"),
            ("spatial", "P-1.4.8", "P-1.4.8"),
            ("recorded", "P-1.4.6", None),
            ("outside", None, None),
        ]
        assert methods(engine) == expected
        assert rows(engine, SOURCE_BASIS) == EXPECTED_SOURCE
        assert rows(engine, BASIS_TOTALS) == EXPECTED_TOTALS
        url = engine.url.render_as_string(hide_password=False)
        command.downgrade(db.alembic_config(url), "0004")
        assert {"quadrant_id", "recorded"} <= set(columns(engine, "assignment"))
        assert methods(engine) == expected  # the 0003 view, over the restored columns
        command.downgrade(db.alembic_config(url), "0003")
        db.upgrade(url)
        assert sorted(columns(engine, "assignment")) == [
            "incident_id",
            "spatial_quadrant_id",
            "vintage_id",
        ]
        assert methods(engine) == expected
        # 0006 rebuilds the counts, on all three bases, from the stored incidents
        assert rows(engine, SOURCE_BASIS) == EXPECTED_SOURCE
        assert rows(engine, BASIS_TOTALS) == EXPECTED_TOTALS
        # 0004 fills the column from the stored incidents
        query = "SELECT last_incident_id FROM load_run WHERE kind = 'incidents'"
        with engine.connect() as conn:
            assert conn.execute(text(query)).scalar_one() == 5
    finally:
        drop(engine)


def test_0011_sets_and_resets_the_fact_tables_statistics_targets():
    engine = fresh_engine("compstat_test_migration_0011")
    query = (
        "SELECT DISTINCT attstattarget FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
        "AND attnum > 0 AND NOT attisdropped"
    )

    def targets() -> dict[str, set[int]]:
        with engine.connect() as conn:
            return {
                t: set(conn.execute(text(query), {"t": t}).scalars())
                for t in ("incident", "assignment")
            }

    try:
        url = engine.url.render_as_string(hide_password=False)
        assert targets() == {"incident": {10}, "assignment": {10}}
        command.downgrade(db.alembic_config(url), "0010")
        assert targets() == {"incident": {-1}, "assignment": {-1}}
    finally:
        drop(engine)
