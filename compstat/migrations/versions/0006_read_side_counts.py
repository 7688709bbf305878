"""The read side's count table: indexed for date ranges, with the source's own basis.

``daily_count`` was an append-only log of per-slice counts with no index: every read
scanned it whole, and the weekly sector table cost about 0.6 s. It stays append-only
(a key may have several rows: readers sum them; appending per slice costs a load far
less than merging into one row per key, see ``etl/counts.py``), and gains a BRIN index
on (vintage, day): loads append each slice's counts in (vintage, day) order, so a
date range reads few blocks. The weekly table itself reads a vintage's counts into
memory once per data version (``compstat/queries/cube.py``).

A third basis, ``n_source``, counts exactly the quadrant the source recorded, in the
source's own vintage: rows the source left unassigned, or assigned to a code the
vintage lacks, count outside (``FUERA``) instead of where their point falls. For a
source without recorded quadrants, or another vintage, it equals the spatial basis.
The view ``assignment_with_method`` gains the same choice as ``source_quadrant_id``,
and ``source.high_impact_only`` says which sources record high-impact crimes only.

The table is rebuilt from ``incident`` and ``assignment`` (the source of truth).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

VIEW = """
CREATE OR REPLACE VIEW assignment_with_method AS
SELECT a.incident_id, a.vintage_id,
       coalesce(r.id, a.spatial_quadrant_id) AS quadrant_id,
       a.spatial_quadrant_id,
       r.id IS NOT NULL AS recorded,
       CASE WHEN r.id IS NOT NULL THEN 'recorded'
            WHEN a.spatial_quadrant_id IS NULL THEN 'outside'
            ELSE 'spatial' END AS method,
       CASE WHEN v.name = s.recorded_vintage THEN r.id
            ELSE a.spatial_quadrant_id END AS source_quadrant_id
FROM assignment a
JOIN incident i ON i.id = a.incident_id
JOIN source s ON s.id = i.source_id
JOIN territory_vintage v ON v.id = a.vintage_id
LEFT JOIN quadrant r ON r.vintage_id = a.vintage_id AND r.code = i.recorded_quadrant
                    AND v.name = s.recorded_vintage
"""

TABLE = """
CREATE TABLE daily_count_rebuilt (
    vintage_id smallint NOT NULL,
    day date NOT NULL,
    quadrant_id integer,
    category_id smallint NOT NULL,
    n_recorded integer NOT NULL,
    n_spatial integer NOT NULL,
    n_source integer NOT NULL
);
"""

REBUILD = """
INSERT INTO daily_count_rebuilt
SELECT vintage_id, day, quadrant_id, category_id,
       sum(recorded)::integer, sum(spatial)::integer, sum(source)::integer
FROM (
    SELECT m.vintage_id, i.occurred_date AS day, i.category_id, q.quadrant_id,
           (q.quadrant_id IS NOT DISTINCT FROM m.quadrant_id)::integer AS recorded,
           (q.quadrant_id IS NOT DISTINCT FROM m.spatial_quadrant_id)::integer AS spatial,
           (q.quadrant_id IS NOT DISTINCT FROM m.source_quadrant_id)::integer AS source
    FROM assignment_with_method m
    JOIN incident i ON i.id = m.incident_id
    CROSS JOIN LATERAL (
        SELECT DISTINCT x AS quadrant_id
        FROM unnest(ARRAY[m.quadrant_id, m.spatial_quadrant_id, m.source_quadrant_id]) AS x
    ) q
) per_basis
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
"""

FINISH = """
DROP TABLE daily_count;
ALTER TABLE daily_count_rebuilt RENAME TO daily_count;
CREATE INDEX daily_count_vintage_day_brin ON daily_count USING brin (vintage_id, day);
ALTER TABLE daily_count ALTER COLUMN vintage_id SET STATISTICS 10,
    ALTER COLUMN day SET STATISTICS 10, ALTER COLUMN quadrant_id SET STATISTICS 10,
    ALTER COLUMN category_id SET STATISTICS 10, ALTER COLUMN n_recorded SET STATISTICS 10,
    ALTER COLUMN n_spatial SET STATISTICS 10, ALTER COLUMN n_source SET STATISTICS 10;
COMMENT ON TABLE daily_count IS
    'Incidents per vintage, day, quadrant (NULL = outside every quadrant or no location) and '
    'category, on three bases: recorded (the source''s quadrant where the vintage has it, '
    'else spatial), spatial (point in polygon) and source (exactly the source''s own '
    'quadrant). Appended per load slice (etl/counts.py): a key may have several rows, '
    'sum them.';
ANALYZE daily_count;
"""

OLD_VIEW = """
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


SCOPE = """
ALTER TABLE source ADD COLUMN high_impact_only boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN source.high_impact_only IS
    'The source records high-impact crimes only (the SSP file): totals of other categories '
    'over its period are incomplete, and the read side says so instead of counting them.';
UPDATE source SET high_impact_only = true WHERE code = 'ssp';
"""


def upgrade() -> None:
    op.execute(SCOPE)
    op.execute(VIEW)
    op.execute(TABLE)
    op.execute(REBUILD)
    op.execute(FINISH)


def downgrade() -> None:
    op.execute("ALTER TABLE source DROP COLUMN high_impact_only")
    op.execute("DROP INDEX daily_count_vintage_day_brin")
    op.execute("ALTER TABLE daily_count DROP COLUMN n_source")
    op.execute("DROP VIEW assignment_with_method")
    op.execute(OLD_VIEW)
