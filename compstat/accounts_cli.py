"""The ``compstat users`` and ``compstat audit`` commands (plugged in by entry points)."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime

import click

from compstat import accounts, db
from compstat.errors import NotFoundError


def _by() -> str:
    return f"cli:{getpass.getuser()}"


def _password(from_stdin: bool) -> tuple[str, bool]:
    """Return a password read from stdin, or a new random one (and whether to print it)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return accounts.new_password(), True


@click.group("users")
def users() -> None:
    """Users of the web app and the API: roles, passwords, tokens."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(accounts.ROLES))
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option(
    "--reset", is_flag=True, help="If the user exists, set its role and password and enable it."
)
def users_add(name: str, role: str, password_stdin: bool, reset: bool) -> None:
    """Create user NAME with ROLE; without --password-stdin a random password is printed once."""
    password, show = _password(password_stdin)
    with db.transaction(db.engine()) as conn:
        try:
            accounts.get_user(conn, name)
            exists = True
        except NotFoundError:
            exists = False
        if exists and reset:
            accounts.set_role(conn, name, role, by=_by())
            accounts.set_password(conn, name, password, by=_by())
            accounts.set_active(conn, name, True, by=_by())
        else:
            accounts.add_user(conn, name, role, password, by=_by())
    click.echo(f"{name} ({role}): " + (f"password {password}" if show else "password set"))


@users.command("list")
def users_list() -> None:
    """List users, their roles, state and live tokens."""
    with db.transaction(db.engine()) as conn:
        rows = accounts.list_users(conn)
    for r in rows:
        state = "active" if r["active"] else "disabled"
        click.echo(f"{r['name']:<24} {r['role']:<11} {state:<9} tokens={r['live_tokens']}")


@users.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Disable NAME: no more log-ins, and every token revoked."""
    with db.transaction(db.engine()) as conn:
        accounts.set_active(conn, name, False, by=_by())
    click.echo(f"{name} disabled")


@users.command("enable")
@click.argument("name")
def users_enable(name: str) -> None:
    """Enable NAME again."""
    with db.transaction(db.engine()) as conn:
        accounts.set_active(conn, name, True, by=_by())
    click.echo(f"{name} enabled")


@users.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def users_set_password(name: str, password_stdin: bool) -> None:
    """Set NAME's password; without --password-stdin a random one is printed once."""
    password, show = _password(password_stdin)
    with db.transaction(db.engine()) as conn:
        accounts.set_password(conn, name, password, by=_by())
    click.echo(f"{name}: " + (f"password {password}" if show else "password set"))


@users.command("token")
@click.argument("name")
def users_token(name: str) -> None:
    """Print a new API token for NAME (stored hashed: shown only now)."""
    with db.transaction(db.engine()) as conn:
        token = accounts.issue_token(conn, name, by=_by())
    click.echo(token)


@users.command("revoke-token")
@click.argument("name")
def users_revoke_token(name: str) -> None:
    """Revoke every API token of NAME."""
    with db.transaction(db.engine()) as conn:
        n = accounts.revoke_tokens(conn, name, by=_by())
    click.echo(f"{name}: {n} token(s) revoked")


@click.command("audit")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Only entries from this day or time on.",
)
@click.option("--user", help="Only entries of this user.")
@click.option("--limit", default=1000, type=click.IntRange(1, 1_000_000), show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def audit(since: datetime | None, user: str | None, limit: int, fmt: str) -> None:
    """List the audit log, newest first."""
    with db.transaction(db.engine()) as conn:
        rows = accounts.audit_entries(conn, since=since, user=user, limit=limit)
    if fmt == "json":
        click.echo(json.dumps(rows, default=str, ensure_ascii=False, indent=2))
        return
    for r in rows:
        params = json.dumps(r["parameters"], ensure_ascii=False, default=str)
        count = "" if r["row_count"] is None else f" rows={r['row_count']}"
        click.echo(
            f"{r['at']:%Y-%m-%d %H:%M:%S%z} {r['user_name'] or '-'} {r['action']} "
            f"{r['target'] or ''} {params}{count}".rstrip()
        )
