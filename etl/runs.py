"""Load-run bookkeeping: file hashes, the load lock and the ``load_run`` rows."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, text

#: Advisory lock key that serialises loads (incidents and territory).
LOAD_LOCK = 0x0C0_57A7


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def lock_loads(conn: Connection) -> None:
    """Take the transaction-scoped load lock so concurrent loads queue up."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOAD_LOCK})


def now() -> datetime:
    """Return the current UTC time."""
    return datetime.now(UTC)


def start_run(conn: Connection, kind: str, path: Path, sha: str, **ids: int | None) -> int:
    """Insert a ``load_run`` row and return its id."""
    return conn.execute(
        text(
            "INSERT INTO load_run (kind, source_id, vintage_id, file_name, file_sha256, "
            "started_at) VALUES (:kind, :source_id, :vintage_id, :file, :sha, :started) "
            "RETURNING id"
        ),
        {
            "kind": kind,
            "file": path.name,
            "sha": sha,
            "started": now(),
            "source_id": ids.get("source_id"),
            "vintage_id": ids.get("vintage_id"),
        },
    ).scalar_one()


def finish_run(
    conn: Connection,
    run_id: int,
    counts: dict[str, int],
    notes: dict,
    last_incident_id: int | None = None,
    partial: bool = False,
) -> None:
    """Record a run's final counts, notes, last incident id and whether it was partial.

    ``partial`` says the file was cut short and only what it held was loaded.
    """
    conn.execute(
        text(
            "UPDATE load_run SET finished_at = clock_timestamp(), n_read = :read, "
            "n_loaded = :loaded, n_duplicate = :duplicates, n_quarantined = :quarantined, "
            "notes = CAST(:notes AS jsonb), last_incident_id = :last, partial = :partial "
            "WHERE id = :id"
        ),
        {
            **counts,
            "notes": json.dumps(notes, default=str),
            "id": run_id,
            "last": last_incident_id,
            "partial": partial,
        },
    )


def next_incident_id(conn: Connection) -> int:
    """Return the first free incident id (call under :func:`lock_loads`).

    Read from ``load_run``, not ``max(incident.id)``: ``incident`` has no index,
    and a scan of it grows with every load.
    """
    query = "SELECT coalesce(max(last_incident_id), 0) + 1 FROM load_run"
    return int(conn.execute(text(query)).scalar_one())
