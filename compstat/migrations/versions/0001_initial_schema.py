"""Initial schema: versioned territory, taxonomy, incidents, assignments, quarantine, counts.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TERRITORY = """
CREATE TABLE territory_vintage (
    id smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    source_file text NOT NULL,
    file_sha256 text NOT NULL,
    source_crs text NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    report jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE territory_vintage IS
    'One numbering scheme of the sectoral police territory (e.g. 2016, 2023).';

CREATE TABLE zone (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vintage_id smallint NOT NULL REFERENCES territory_vintage ON DELETE CASCADE,
    code text NOT NULL,
    name text NOT NULL,
    population bigint,
    area_km2 double precision NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL,
    UNIQUE (vintage_id, code)
);

CREATE TABLE region (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vintage_id smallint NOT NULL REFERENCES territory_vintage ON DELETE CASCADE,
    zone_id integer NOT NULL REFERENCES zone ON DELETE CASCADE,
    code text NOT NULL,
    number integer,
    name text NOT NULL,
    population bigint,
    area_km2 double precision NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL,
    UNIQUE (vintage_id, code)
);

CREATE TABLE sector (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vintage_id smallint NOT NULL REFERENCES territory_vintage ON DELETE CASCADE,
    region_id integer NOT NULL REFERENCES region ON DELETE CASCADE,
    code text NOT NULL,
    name text NOT NULL,
    aliases text[] NOT NULL DEFAULT '{}',
    population bigint,
    area_km2 double precision NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL,
    UNIQUE (vintage_id, code),
    UNIQUE (vintage_id, name)
);

CREATE TABLE quadrant (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vintage_id smallint NOT NULL REFERENCES territory_vintage ON DELETE CASCADE,
    sector_id integer NOT NULL REFERENCES sector ON DELETE CASCADE,
    code text NOT NULL,
    borough text,
    population bigint,
    area_km2 double precision NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL,
    UNIQUE (vintage_id, code)
);
CREATE INDEX quadrant_geom_idx ON quadrant USING gist (geom);

CREATE TABLE quadrant_crosswalk (
    from_quadrant_id integer NOT NULL REFERENCES quadrant ON DELETE CASCADE,
    to_quadrant_id integer NOT NULL REFERENCES quadrant ON DELETE CASCADE,
    overlap_km2 double precision NOT NULL,
    share_of_from double precision NOT NULL,
    share_of_to double precision NOT NULL,
    PRIMARY KEY (from_quadrant_id, to_quadrant_id)
);
COMMENT ON TABLE quadrant_crosswalk IS
    'Area overlap between quadrants of two vintages, measured in EPSG:32614.';
"""

# The fact tables (incident, assignment, daily_count) carry no foreign keys: a
# million-row COPY would otherwise run a million trigger checks per reference.
# The loader writes them only with ids it has just read from the dimension
# tables, and tests/test_integrity.py checks every reference after real loads.
INCIDENTS = """
CREATE TABLE source (
    id smallint PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text NOT NULL,
    recorded_vintage text
);
INSERT INTO source VALUES
    (1, 'ssp', 'SSP-DF: incidentes de alto impacto, 2013-2016', '2016'),
    (2, 'fgj', 'FGJ-CDMX: carpetas de investigación con coordenadas', NULL);

CREATE TABLE category (
    id smallint PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name_es text NOT NULL,
    name_en text NOT NULL,
    high_impact boolean NOT NULL,
    sort_order integer NOT NULL
);

CREATE TABLE offence (
    id integer PRIMARY KEY,
    source_id smallint NOT NULL REFERENCES source,
    reported text NOT NULL,
    category_id smallint NOT NULL REFERENCES category,
    taxonomy_version text NOT NULL,
    UNIQUE (source_id, reported)
);

CREATE TABLE load_run (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('incidents', 'territory')),
    source_id smallint REFERENCES source,
    vintage_id smallint REFERENCES territory_vintage ON DELETE CASCADE,
    file_name text NOT NULL,
    file_sha256 text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    n_read bigint NOT NULL DEFAULT 0,
    n_loaded bigint NOT NULL DEFAULT 0,
    n_duplicate bigint NOT NULL DEFAULT 0,
    n_quarantined bigint NOT NULL DEFAULT 0,
    notes jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE incident (
    id bigint PRIMARY KEY,
    source_id smallint NOT NULL,
    load_run_id integer NOT NULL,
    source_key bigint NOT NULL,
    source_row integer NOT NULL,
    occurred_date date NOT NULL,
    occurred_time time,
    offence_id integer NOT NULL,
    category_id smallint NOT NULL,
    recorded_quadrant text,
    geom geometry(Point, 4326),
    UNIQUE (source_id, source_key)
);
COMMENT ON COLUMN incident.source_key IS
    'Stable key of the source row: the source id where it has one, else a content hash.';
COMMENT ON COLUMN incident.recorded_quadrant IS
    'Quadrant id as the source recorded it, in the source''s own vintage.';

CREATE TYPE assignment_method AS ENUM ('recorded', 'spatial', 'outside');
CREATE TABLE assignment (
    incident_id bigint NOT NULL,
    vintage_id smallint NOT NULL,
    quadrant_id integer,
    spatial_quadrant_id integer,
    method assignment_method NOT NULL
);
-- One row per incident and vintage. The loader guarantees it (each incident is
-- placed once per vintage, when it is loaded or when the vintage is) and a test
-- checks it; rows are appended in (incident_id, vintage_id) order, so BRIN finds them.
CREATE INDEX assignment_incident_idx ON assignment USING brin (incident_id, vintage_id);
COMMENT ON COLUMN assignment.quadrant_id IS
    'The source''s recorded quadrant when it exists in this vintage, else the spatial one.';

CREATE TABLE quarantine (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    load_run_id integer NOT NULL REFERENCES load_run ON DELETE CASCADE,
    source_id smallint NOT NULL REFERENCES source,
    file_name text NOT NULL,
    row_number bigint NOT NULL,
    raw_row text NOT NULL,
    reason text NOT NULL,
    detail text NOT NULL
);

CREATE TABLE daily_count (
    vintage_id smallint NOT NULL,
    quadrant_id integer,
    category_id smallint NOT NULL,
    day date NOT NULL,
    load_run_id integer NOT NULL,
    n_recorded integer NOT NULL,
    n_spatial integer NOT NULL
);
-- Loads append rows sorted by vintage and day, so a BRIN index stays small and cheap.
CREATE INDEX daily_count_vintage_day_idx ON daily_count USING brin (vintage_id, day);
COMMENT ON TABLE daily_count IS
    'Incidents per vintage, quadrant (NULL = outside every quadrant), category and day, '
    'appended by each load (a load may add several rows for one key): sum rows for totals.';
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(TERRITORY)
    op.execute(INCIDENTS)


def downgrade() -> None:
    for table in (
        "daily_count",
        "quarantine",
        "assignment",
        "incident",
        "load_run",
        "offence",
        "category",
        "source",
        "quadrant_crosswalk",
        "quadrant",
        "sector",
        "region",
        "zone",
        "territory_vintage",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.execute("DROP TYPE IF EXISTS assignment_method")
