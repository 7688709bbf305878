"""``assignment`` keeps only the spatial quadrant; the view derives the recorded choice.

Which quadrant a recorded-basis query uses follows from data stored elsewhere:
the source's recorded quadrant (``incident.recorded_quadrant``) when the vintage
is the source's own (``source.recorded_vintage``) and has a quadrant of that
code, else the spatial one. Storing that choice twice per incident (as
``quadrant_id`` and ``recorded``) cost, measured on the FGJ file (2.2 M rows),
1.71 s of server time for ``COPY`` into ``assignment`` against 1.20 s for the
three columns kept, plus the client's encoding of both. No read-side query uses
them: counts come from ``daily_count``, which keeps both bases.

The view ``assignment_with_method`` gives every column back (``quadrant_id``,
``recorded`` and ``method``: recorded, spatial or outside), as before.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

VIEW = """
CREATE VIEW assignment_with_method AS
SELECT a.incident_id, a.vintage_id,
       coalesce(r.id, a.spatial_quadrant_id) AS quadrant_id,
       a.spatial_quadrant_id,
       r.id IS NOT NULL AS recorded,
       CASE WHEN r.id IS NOT NULL THEN 'recorded'
            WHEN a.spatial_quadrant_id IS NULL THEN 'outside'
            ELSE 'spatial' END AS method
FROM assignment a
JOIN incident i ON i.id = a.incident_id
JOIN source s ON s.id = i.source_id
JOIN territory_vintage v ON v.id = a.vintage_id
LEFT JOIN quadrant r ON r.vintage_id = a.vintage_id AND r.code = i.recorded_quadrant
                    AND v.name = s.recorded_vintage
"""
COMMENT = (
    "COMMENT ON VIEW assignment_with_method IS 'assignment with the quadrant a recorded-basis "
    "count uses (the source''s recorded one where this vintage has it, else the spatial one), "
    "whether it is the recorded one, and the method: recorded, spatial or outside.'"
)
OLD_METHOD = (
    "CASE WHEN quadrant_id IS NULL THEN 'outside' WHEN recorded THEN 'recorded' ELSE 'spatial' END"
)


def upgrade() -> None:
    op.execute("DROP VIEW assignment_with_method")
    op.execute("ALTER TABLE assignment DROP COLUMN quadrant_id, DROP COLUMN recorded")
    op.execute(
        "COMMENT ON COLUMN assignment.spatial_quadrant_id IS 'The quadrant of this vintage "
        "that holds the point (NULL: outside every quadrant, or no point).'"
    )
    op.execute(VIEW)
    op.execute(COMMENT)


def downgrade() -> None:
    op.execute("ALTER TABLE assignment ADD COLUMN quadrant_id integer, ADD COLUMN recorded boolean")
    op.execute(
        "UPDATE assignment a SET quadrant_id = m.quadrant_id, recorded = m.recorded "
        "FROM assignment_with_method m "
        "WHERE m.incident_id = a.incident_id AND m.vintage_id = a.vintage_id"
    )
    op.execute("ALTER TABLE assignment ALTER COLUMN recorded SET NOT NULL")
    op.execute("DROP VIEW assignment_with_method")
    op.execute(
        f"CREATE VIEW assignment_with_method AS SELECT *, {OLD_METHOD} AS method FROM assignment"
    )
