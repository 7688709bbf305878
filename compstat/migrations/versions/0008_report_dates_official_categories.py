"""Keep what the portal's releases add: report date and time, the FGJ's official category.

The open-data portal's FGJ releases carry, beside the occurrence date, the date and
time the complaint was filed (``fecha_inicio``/``hora_inicio``), so "what was known
on date D" can be asked later, and the FGJ's own ``categoria_delito``, which decides
the published high-impact counts. Both are nullable: the SSP file and the extract in
the data directory have neither.

The official category is stored as a small id into ``official_category`` (a
handful of distinct texts), not as text: an id costs two bytes a row in ``COPY``.

``load_run.partial`` marks a load of a truncated compressed file accepted with
``--accept-partial``: what was read loaded, the rest of the file was lost.

Revision ID: 0008
Revises: 0005
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE official_category (
            id smallint PRIMARY KEY,
            source_id smallint NOT NULL REFERENCES source,
            name text NOT NULL,
            category_id smallint REFERENCES category,
            UNIQUE (source_id, name)
        )
        """
    )
    op.execute(
        "COMMENT ON TABLE official_category IS 'Category texts a source assigns its rows "
        "(FGJ categoria_delito), and the canonical category they decide (NULL: low impact, "
        "the offence text decides among the low-impact groups).'"
    )
    op.execute(
        "ALTER TABLE incident ADD COLUMN reported_date date, ADD COLUMN reported_time time, "
        "ADD COLUMN official_category_id smallint"
    )
    op.execute(
        "COMMENT ON COLUMN incident.reported_date IS 'Date the complaint was filed "
        "(FGJ fecha_inicio), where the source gives it.'"
    )
    op.execute(
        "COMMENT ON COLUMN incident.official_category_id IS 'The source''s own category of "
        "the row (official_category), where it gives one.'"
    )
    op.execute("ALTER TABLE load_run ADD COLUMN partial boolean NOT NULL DEFAULT false")
    op.execute(
        "COMMENT ON COLUMN load_run.partial IS 'The file was cut short (a truncated compressed "
        "file loaded with --accept-partial): only the rows before the cut were read.'"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE load_run DROP COLUMN partial")
    op.execute(
        "ALTER TABLE incident DROP COLUMN reported_date, DROP COLUMN reported_time, "
        "DROP COLUMN official_category_id"
    )
    op.execute("DROP TABLE official_category")
