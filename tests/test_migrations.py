"""Migrations go down and up again, and each revision leaves the indexes it promises."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from compstat import db
from tests.conftest import drop, fresh_engine

INDEXES = """
    SELECT indexname FROM pg_indexes
    WHERE tablename IN ('incident', 'assignment', 'daily_count') ORDER BY 1
"""


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
        assert indexes(engine) == []
        assert statistics_targets(engine) == {10}
        command.downgrade(db.alembic_config(url), "0003")
        assert indexes(engine) == ["incident_id_idx"]
        assert statistics_targets(engine) == {-1}
        assert "last_incident_id" not in columns(engine, "load_run")
        command.downgrade(db.alembic_config(url), "0001")
        assert indexes(engine) == [
            "assignment_incident_idx", "daily_count_vintage_day_idx", "incident_pkey",
            "incident_source_id_source_key_key",
        ]  # fmt: skip
        db.upgrade(url, "0003")
        assert indexes(engine) == ["incident_id_idx"]
        command.downgrade(db.alembic_config(url), "0002")
        assert "method" in columns(engine, "assignment")
        assert "load_run_id" in columns(engine, "daily_count")
        db.upgrade(url)
        assert "method" not in columns(engine, "assignment")
        assert "load_run_id" not in columns(engine, "daily_count")
        assert indexes(engine) == []
        assert "last_incident_id" in columns(engine, "load_run")
    finally:
        drop(engine)
