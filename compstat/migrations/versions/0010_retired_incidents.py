"""Cumulative releases: an incident a later release no longer carries is retired, not deleted.

The FGJ republishes one cumulative file every month; between releases rows are
revised (recategorised, relocated) or withdrawn, and the file has no case id, so a
revised row arrives under a new content key while its old key disappears. A load
marked as superseding (``--supersedes``, or a cumulative source of ``etl run``)
retires the stored rows of its source, in the days the new file covers, whose key
the file no longer carries: ``incident.retired_run_id`` is the load run that
retired them (NULL: live). Retired rows stay, with their assignments, so the
figures known after any earlier run can be recomputed
(``compstat.queries.as_of_run``); the load takes them out of ``daily_count`` with
negative deltas (``etl/counts.py``), and every read of ``incident`` keeps
``retired_run_id IS NULL``.

Source keys are unique among a source's live rows (the loader keeps them so): a
key retired and later carried again by a newer release is stored anew, with the
run that brought it back.

The view ``assignment_with_method`` keeps retired incidents on purpose: retiring
needs their quadrants to write the negative counts, and the "as of run N" counts
need them for the runs before their retirement. Readers filter on the incident.

Adding a nullable column without default rewrites nothing.

Revision ID: 0010
Revises: 0007
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE incident ADD COLUMN retired_run_id integer")
    op.execute(
        "COMMENT ON COLUMN incident.retired_run_id IS 'The load run of a cumulative release that "
        "no longer carried this row (NULL: live). Retired rows count nowhere; they stay for the "
        "counts as known after earlier runs.'"
    )
    op.execute(
        "COMMENT ON COLUMN incident.source_key IS 'Stable key of the source row: the source id "
        "where it has one, else a content hash. Unique among a source''s live rows; the loader "
        "keeps it so.'"
    )


def downgrade() -> None:
    retired = "SELECT id FROM incident WHERE retired_run_id IS NOT NULL"
    op.execute(f"DELETE FROM assignment WHERE incident_id IN ({retired})")
    op.execute("DELETE FROM incident WHERE retired_run_id IS NOT NULL")
    op.execute("ALTER TABLE incident DROP COLUMN retired_run_id")
