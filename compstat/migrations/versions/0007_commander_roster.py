"""``commander``: who was in charge of each unit of a vintage, and when.

One row per term: a unit (vintage, level, unit code), the commander's name and
rank, the first and the last day in charge (both inclusive; ``end_date`` NULL
while still in charge), whether the roster is invented (the demo), and the file
it came from. A roster load replaces every term of the vintages the file names
and writes the new ones in one transaction (``etl/roster.py``).

Two terms of one unit may not share a day: the exclusion constraint enforces it
in the database (the loader reports it first, naming the rows), and its GiST
index (btree_gist for the scalar columns) serves the read side's lookup "who was
in charge of the units of this vintage and level on day D".

Unit codes are not foreign keys (the unit lives in one of four tables by level);
vintages are immutable once loaded, and the loader checks every code against
them. Deleting a vintage deletes its roster.

Revision ID: 0007
Revises: 0005
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COMMANDER = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE commander (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vintage_id smallint NOT NULL REFERENCES territory_vintage ON DELETE CASCADE,
    level text NOT NULL CHECK (level IN ('zone', 'region', 'sector', 'quadrant')),
    unit_code text NOT NULL,
    name text NOT NULL CHECK (btrim(name) <> ''),
    rank text NOT NULL CHECK (btrim(rank) <> ''),
    start_date date NOT NULL,
    end_date date,
    fictitious boolean NOT NULL,
    source_file text NOT NULL,
    file_sha256 text NOT NULL,
    source_row integer NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT commander_term_order CHECK (end_date IS NULL OR end_date >= start_date),
    CONSTRAINT commander_no_overlap EXCLUDE USING gist (
        vintage_id WITH =, level WITH =, unit_code WITH =,
        daterange(start_date, end_date, '[]') WITH &&
    )
);
COMMENT ON TABLE commander IS
    'Commander terms per unit of a vintage. A roster load replaces all terms of the vintages '
    'it names, in one transaction.';
COMMENT ON COLUMN commander.end_date IS 'Last day in charge (inclusive); NULL: still in charge.';
COMMENT ON COLUMN commander.fictitious IS 'An invented (demo) roster, not real officers.';
COMMENT ON COLUMN commander.source_row IS 'Row of the roster file (the header is row 1).';
"""


def upgrade() -> None:
    op.execute(COMMANDER)


def downgrade() -> None:
    op.execute("DROP TABLE commander")
