"""``incident`` keeps no index, ids come from ``load_run``, ``daily_count`` samples less.

Measured on the FGJ file (1.1 M incidents), server-side ``COPY`` of the same rows
from a file into a copy of ``incident``: 2.60 s with the BRIN index on ``id``,
1.79 s without it. PostgreSQL 15 re-reads the BRIN metapage and revmap for every
row it inserts, even into block ranges not yet summarised, so the index cost
almost half as much as writing the rows. No query looks an incident up by id:
every read joins or aggregates whole tables, where a hash join serves best.

Without the index, ``max(id)`` reads the whole table, so each load now records
the largest id it stored in ``load_run.last_incident_id`` and the next load
numbers from there. Loads hold the load lock while they number rows (as since
0002), so ids stay unique; the test suite checks them after the real loads.

Each load ends with ``ANALYZE daily_count``. At the default statistics target
(100) it samples 30,000 rows: 0.25-0.39 s after the FGJ load, a twentieth of the
load. The table is only ever aggregated, filtered by vintage, category and a day
range, and those estimates need no fine histograms, so its columns now keep a
target of 10: a 3,000-row sample, 0.04 s.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


DAILY_COLUMNS = ("vintage_id", "quadrant_id", "category_id", "day", "n_recorded", "n_spatial")
DAILY_STATISTICS = 10


def _daily_statistics(target: int) -> None:
    for column in DAILY_COLUMNS:
        op.execute(f"ALTER TABLE daily_count ALTER COLUMN {column} SET STATISTICS {target}")


def upgrade() -> None:
    _daily_statistics(DAILY_STATISTICS)
    op.execute("DROP INDEX incident_id_idx")
    op.execute("ALTER TABLE load_run ADD COLUMN last_incident_id bigint")
    op.execute(
        "UPDATE load_run r SET last_incident_id = m.last FROM "
        "(SELECT load_run_id, max(id) AS last FROM incident GROUP BY 1) m "
        "WHERE m.load_run_id = r.id"
    )
    op.execute(
        "COMMENT ON COLUMN load_run.last_incident_id IS 'Largest incident id this run stored "
        "(NULL when it stored none); the next load numbers its incidents after the largest.'"
    )


def downgrade() -> None:
    _daily_statistics(-1)
    op.execute("ALTER TABLE load_run DROP COLUMN last_incident_id")
    op.execute("CREATE INDEX incident_id_idx ON incident USING brin (id)")
