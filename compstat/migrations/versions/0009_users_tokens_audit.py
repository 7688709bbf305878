"""Users with roles, hashed API tokens and an append-only audit log.

``audit_log`` refuses ``UPDATE``, ``DELETE`` and ``TRUNCATE`` through triggers, so
the log can only grow, whatever the application does.

Revision ID: 0009
Revises: 0005
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UP = """
CREATE TABLE app_user (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    role text NOT NULL CHECK (role IN ('admin', 'commander', 'planner', 'researcher')),
    password_hash text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE app_user IS 'People who log in to the web app or call the API.';
COMMENT ON COLUMN app_user.password_hash IS 'werkzeug.security hash (scrypt).';

CREATE TABLE api_token (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id integer NOT NULL REFERENCES app_user ON DELETE CASCADE,
    token_sha256 text NOT NULL UNIQUE,
    prefix text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
COMMENT ON COLUMN api_token.token_sha256 IS
    'SHA-256 of the token (256 random bits); the token itself is shown once and never stored.';

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    user_name text,
    action text NOT NULL,
    target text,
    parameters jsonb NOT NULL DEFAULT '{}',
    row_count bigint,
    address text
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
COMMENT ON TABLE audit_log IS
    'Append-only: log-ins, exports, API calls that return data and user changes.';

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
"""

DOWN = """
DROP TABLE audit_log;
DROP FUNCTION audit_log_is_append_only();
DROP TABLE api_token;
DROP TABLE app_user;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
