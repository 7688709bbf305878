"""``incident`` and ``assignment`` sample 3,000 rows when a load refreshes their statistics.

A load now refreshes the statistics of ``incident`` and ``assignment`` when it grew them
by a tenth or more (:func:`compstat.bulk.analyze_if_grown`): with autovacuum off, as on
the development machine, the planner otherwise takes a freshly loaded ``incident`` for
empty and joins it to ``assignment`` by nested loops, minutes where seconds do. At the
default statistics target (100) ``ANALYZE`` samples 30,000 rows of each: about 0.6 s
after the FGJ file, a tenth of the load. The planner needs their row counts and the
rough spread of dates, categories and vintages, not fine histograms, so their columns
keep a target of 10, as ``daily_count``'s do since 0004: a 3,000-row sample, about
0.1 s.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STATISTICS = 10
COLUMNS = {
    "incident": (
        "id",
        "source_id",
        "load_run_id",
        "source_key",
        "source_row",
        "occurred_date",
        "occurred_time",
        "offence_id",
        "category_id",
        "recorded_quadrant",
        "geom",
        "reported_date",
        "reported_time",
        "official_category_id",
        "retired_run_id",
    ),
    "assignment": ("incident_id", "vintage_id", "spatial_quadrant_id"),
}


def _statistics(target: int) -> None:
    for table, columns in COLUMNS.items():
        for column in columns:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS {target}")


def upgrade() -> None:
    _statistics(STATISTICS)


def downgrade() -> None:
    _statistics(-1)
