"""Users, their roles and API tokens, and the append-only audit log.

Framework-free: every function takes a SQLAlchemy connection inside the caller's
transaction, so an action and its audit row commit (or roll back) together.
Passwords are hashed with scrypt (``werkzeug.security``); API tokens are 256
random bits shown once and stored as their SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from compstat.errors import InvalidQueryError, NotFoundError

#: Roles, most powerful first.
ROLES = ("admin", "commander", "planner", "researcher")
#: Roles that may see incident points, exact times and anything finer than a quadrant-day.
POINT_ROLES = frozenset({"admin", "commander", "planner"})
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "cs_"
HASH_METHOD = "scrypt"
#: Checked against when a name is unknown, so a failed log-in takes as long either way.
_DUMMY_HASH = generate_password_hash("not a password", method=HASH_METHOD)


@dataclass(frozen=True)
class User:
    """A person who logs in.

    Attributes
    ----------
    id : int
    name : str
    role : str
        One of :data:`ROLES`.
    active : bool
        Disabled users can neither log in nor use their tokens.
    session_key : str
        Changes with the password, so a new password ends every open session.
    """

    id: int
    name: str
    role: str
    active: bool
    session_key: str = ""

    @property
    def sees_points(self) -> bool:
        """Whether this user may see incident points and exact times."""
        return self.role in POINT_ROLES


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid user name; else raise InvalidQueryError."""
    if not NAME_PATTERN.match(name):
        raise InvalidQueryError(f"user name {name!r} must be 1-64 letters, digits or _.@-")
    return name


def check_role(role: str) -> str:
    """Return ``role`` if it is one of :data:`ROLES`; else raise InvalidQueryError."""
    if role not in ROLES:
        raise InvalidQueryError(f"role must be one of {ROLES}, not {role!r}")
    return role


def hash_password(password: str) -> str:
    """Return the scrypt hash of ``password``, refusing short ones."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidQueryError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return generate_password_hash(password, method=HASH_METHOD)


def new_password() -> str:
    """Return a random password (about 120 bits) to hand to a user once."""
    return secrets.token_urlsafe(15)


#: The columns :func:`_user` reads (``u`` is ``app_user``).
USER_COLUMNS = (
    "u.id, u.name, u.role, u.active, "
    "to_char(u.password_changed_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') AS session_key"
)


def _user(row: Any) -> User:
    return User(row.id, row.name, row.role, row.active, row.session_key)


def audit(
    conn: Connection,
    action: str,
    *,
    user: str | None,
    target: str | None = None,
    parameters: dict[str, Any] | None = None,
    row_count: int | None = None,
    address: str | None = None,
) -> None:
    """Append one row to the audit log in the caller's transaction.

    Parameters
    ----------
    action : str
        What happened, e.g. ``login``, ``login_failed``, ``export``, ``api``, ``user_add``.
    user : str or None
        Who did it (``None`` for an anonymous or unknown caller).
    target : str, optional
        What it was done to: an endpoint, a table, a user name.
    parameters : dict, optional
        The request's parameters (never passwords or tokens).
    row_count : int, optional
        Rows returned or exported.
    address : str, optional
        The caller's network address.
    """
    conn.execute(
        text(
            "INSERT INTO audit_log (user_name, action, target, parameters, row_count, address) "
            "VALUES (:u, :a, :t, CAST(:p AS jsonb), :n, :ip)"
        ),
        {
            "u": user,
            "a": action,
            "t": target,
            "p": json.dumps(parameters or {}, default=str),
            "n": row_count,
            "ip": address,
        },
    )


def add_user(conn: Connection, name: str, role: str, password: str, *, by: str | None) -> User:
    """Create a user and audit it.

    Raises
    ------
    InvalidQueryError
        Bad name, role or password, or the name is taken.
    """
    params = {"n": check_name(name), "r": check_role(role), "h": hash_password(password)}
    try:
        with conn.begin_nested():
            conn.execute(
                text(
                    "INSERT INTO app_user (name, role, password_hash) VALUES (:n, :r, :h) "
                    "RETURNING id"
                ),
                params,
            )
    except IntegrityError as exc:
        raise InvalidQueryError(f"a user named {name!r} already exists") from exc
    audit(conn, "user_add", user=by, target=name, parameters={"role": role})
    return get_user(conn, name)


def get_user(conn: Connection, name: str) -> User:
    """Return the user named ``name``; raise NotFoundError if there is none."""
    row = conn.execute(
        text(f"SELECT {USER_COLUMNS} FROM app_user u WHERE u.name = :n"), {"n": name}
    ).first()
    if row is None:
        raise NotFoundError(f"no user named {name!r}")
    return _user(row)


def user_by_session(conn: Connection, session: str) -> User | None:
    """Return the active user a session names (:func:`session_id`), or ``None``.

    ``None`` too when the password changed since the session began.
    """
    user_id, _, key = session.partition(":")
    if not user_id.isdigit() or not key:
        return None
    row = conn.execute(
        text(f"SELECT {USER_COLUMNS} FROM app_user u WHERE u.id = :i AND u.active"),
        {"i": int(user_id)},
    ).first()
    return None if row is None or row.session_key != key else _user(row)


def session_id(user: User) -> str:
    """Return what a session keeps to name ``user``: its id and its password's session key."""
    return f"{user.id}:{user.session_key}"


def list_users(conn: Connection) -> list[dict[str, Any]]:
    """Return every user with its role, state and number of live tokens."""
    rows = (
        conn.execute(
            text(
                "SELECT u.name, u.role, u.active, u.created_at, u.password_changed_at, "
                "count(t.id) FILTER (WHERE t.revoked_at IS NULL) AS live_tokens "
                "FROM app_user u LEFT JOIN api_token t ON t.user_id = u.id "
                "GROUP BY u.id ORDER BY u.name"
            )
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


def authenticate(conn: Connection, name: str, password: str, *, address: str | None) -> User | None:
    """Return the active user whose password matches, auditing success and failure."""
    row = conn.execute(
        text(f"SELECT {USER_COLUMNS}, u.password_hash FROM app_user u WHERE u.name = :n"),
        {"n": name},
    ).first()
    matches = check_password_hash(row.password_hash if row else _DUMMY_HASH, password)
    if row is None or not matches or not row.active:
        reason = "unknown user" if row is None else "disabled" if matches else "wrong password"
        audit(conn, "login_failed", user=name[:64], parameters={"reason": reason}, address=address)
        return None
    audit(conn, "login", user=row.name, address=address)
    return _user(row)


def set_password(conn: Connection, name: str, password: str, *, by: str | None) -> None:
    """Replace a user's password (and re-enable nothing: disabled stays disabled)."""
    get_user(conn, name)
    conn.execute(
        text(
            "UPDATE app_user SET password_hash = :h, password_changed_at = clock_timestamp() "
            "WHERE name = :n"
        ),
        {"h": hash_password(password), "n": name},
    )
    audit(conn, "user_set_password", user=by, target=name)


def set_role(conn: Connection, name: str, role: str, *, by: str | None) -> None:
    """Change a user's role."""
    get_user(conn, name)
    conn.execute(
        text("UPDATE app_user SET role = :r WHERE name = :n"), {"r": check_role(role), "n": name}
    )
    audit(conn, "user_set_role", user=by, target=name, parameters={"role": role})


def set_active(conn: Connection, name: str, active: bool, *, by: str | None) -> None:
    """Enable or disable a user; disabling also revokes every token."""
    user = get_user(conn, name)
    conn.execute(text("UPDATE app_user SET active = :a WHERE id = :i"), {"a": active, "i": user.id})
    if not active:
        revoke_tokens(conn, name, by=None)
    audit(conn, "user_enable" if active else "user_disable", user=by, target=name)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(conn: Connection, name: str, *, by: str | None) -> str:
    """Return a new API token for ``name``; only its SHA-256 is stored."""
    user = get_user(conn, name)
    if not user.active:
        raise InvalidQueryError(f"user {name!r} is disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        text("INSERT INTO api_token (user_id, token_sha256, prefix) VALUES (:u, :d, :p)"),
        {"u": user.id, "d": _token_digest(token), "p": token[:8]},
    )
    audit(conn, "token_issue", user=by, target=name, parameters={"prefix": token[:8]})
    return token


def revoke_tokens(conn: Connection, name: str, *, by: str | None) -> int:
    """Revoke every live token of ``name``; return how many were revoked."""
    user = get_user(conn, name)
    revoked = conn.execute(
        text("UPDATE api_token SET revoked_at = now() WHERE user_id = :u AND revoked_at IS NULL"),
        {"u": user.id},
    ).rowcount
    audit(conn, "token_revoke", user=by, target=name, row_count=revoked)
    return revoked


def user_by_token(conn: Connection, token: str) -> User | None:
    """Return the active user a live token belongs to, or ``None``."""
    row = conn.execute(
        text(
            f"SELECT {USER_COLUMNS} FROM api_token t "
            "JOIN app_user u ON u.id = t.user_id "
            "WHERE t.token_sha256 = :d AND t.revoked_at IS NULL AND u.active"
        ),
        {"d": _token_digest(token)},
    ).first()
    return None if row is None else _user(row)


def audit_entries(
    conn: Connection, *, since: datetime | None = None, user: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """Return audit rows, newest first, optionally from ``since`` and for one user."""
    rows = (
        conn.execute(
            text(
                "SELECT id, at, user_name, action, target, parameters, row_count, address "
                "FROM audit_log WHERE (CAST(:s AS timestamptz) IS NULL OR at >= :s) "
                "AND (CAST(:u AS text) IS NULL OR user_name = :u) ORDER BY id DESC LIMIT :n"
            ),
            {"s": since, "u": user, "n": limit},
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]
