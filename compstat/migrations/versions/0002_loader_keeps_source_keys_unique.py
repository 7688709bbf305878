"""Drop the unique index on (source_id, source_key): the loader keeps keys unique.

Content-hash keys are random, so every row a load appends touched a random page
of that index; on the FGJ file the index took about a fifth of the load time.
Loads take the load lock (``etl.runs.lock_loads``) and read the keys already
stored before they write, so a second, concurrent load of the same file waits
and then skips every row instead of failing; a test checks the keys stay unique.

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
    op.execute(
        "COMMENT ON COLUMN incident.source_key IS 'Stable key of the source row: the source id "
        "where it has one, else a content hash. Unique per source; the loader keeps it so.'"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE incident ADD CONSTRAINT incident_source_id_source_key_key "
        "UNIQUE (source_id, source_key)"
    )
