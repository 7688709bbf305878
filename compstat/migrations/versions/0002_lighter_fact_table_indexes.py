"""Fact tables keep only the indexes that pay for themselves during loads.

Every index on ``incident``, ``assignment`` and ``daily_count`` is updated row by
row by each ``COPY``. Measured on the FGJ file (1.1 M incidents):

* the unique index on ``incident (source_id, source_key)`` cost about a fifth of
  the load, because content-hash keys land on random pages. Loads take the load
  lock (``etl.runs.lock_loads``) and read the keys already stored before they
  write, so a second, concurrent load of the same file waits and then skips
  every row instead of failing; a test checks the keys stay unique.
* the BRIN index on ``daily_count (vintage_id, day)`` did not narrow anything:
  every slice of a file spans all its days, so a four-week window still read
  every block. A plain scan of the table serves the same queries.
* the BRIN index on ``assignment (incident_id, vintage_id)`` served no query.
* the primary key B-tree on ``incident (id)`` cost about as much as writing the
  rows themselves. Ids are numbered by the loader under the load lock, after the
  largest id stored, and rows are appended in id order, so a BRIN index on ``id``
  finds any incident by reading one block range, and costs a fraction to keep.
  A test checks that ids stay unique.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE incident DROP CONSTRAINT incident_source_id_source_key_key")
    op.execute("DROP INDEX daily_count_vintage_day_idx")
    op.execute("DROP INDEX assignment_incident_idx")
    op.execute("ALTER TABLE incident DROP CONSTRAINT incident_pkey")
    op.execute("CREATE INDEX incident_id_idx ON incident USING brin (id)")
    op.execute(
        "COMMENT ON COLUMN incident.id IS 'Numbered by the loader (under the load lock), "
        "unique, in the order rows are appended.'"
    )
    op.execute(
        "COMMENT ON COLUMN incident.source_key IS 'Stable key of the source row: the source id "
        "where it has one, else a content hash. Unique per source; the loader keeps it so.'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX incident_id_idx")
    op.execute("ALTER TABLE incident ADD PRIMARY KEY (id)")
    op.execute(
        "ALTER TABLE incident ADD CONSTRAINT incident_source_id_source_key_key "
        "UNIQUE (source_id, source_key)"
    )
    op.execute(
        "CREATE INDEX daily_count_vintage_day_idx ON daily_count USING brin (vintage_id, day)"
    )
    op.execute(
        "CREATE INDEX assignment_incident_idx ON assignment USING brin (incident_id, vintage_id)"
    )
