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

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STATISTICS = 10
TABLES = ("incident", "assignment")
_COLUMNS = sa.text(
    "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
    "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
)


def _statistics(target: int) -> None:
    """Set the statistics target of every column of :data:`TABLES` (-1: the default)."""
    bind = op.get_bind()
    for table in TABLES:
        for column in bind.execute(_COLUMNS, {"t": table}).scalars().all():
            op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET STATISTICS {target}')


def upgrade() -> None:
    _statistics(STATISTICS)


def downgrade() -> None:
    _statistics(-1)
