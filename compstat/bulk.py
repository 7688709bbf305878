"""Bulk writes and reads through ``COPY`` on a connection inside a transaction."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from psycopg import sql
from sqlalchemy import Connection

from compstat import pgcopy
from compstat.db import driver_connection


def copy_in(conn: Connection, table: str, columns: Sequence[str], fields: Sequence[pgcopy.Field]):
    """Append rows to ``table`` with one binary ``COPY``.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        A connection inside the caller's transaction.
    table, columns : str, sequence of str
        Target table and the columns the fields fill, in order.
    fields : sequence of pgcopy.Field
        One encoded column per name in ``columns``.
    """
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with driver_connection(conn).cursor() as cur, cur.copy(statement) as copy:
        for piece in pgcopy.encode_chunks(fields):
            copy.write(piece)


def copy_out_text(conn: Connection, query: str) -> bytes:
    """Return the CSV text (with header) that ``COPY (query) TO STDOUT`` produces."""
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER true)").format(sql.SQL(query))
    chunks: list[bytes] = []
    with driver_connection(conn).cursor() as cur, cur.copy(statement) as copy:
        chunks.extend(bytes(block) for block in copy)
    return b"".join(chunks)


def fetch_bigints(conn: Connection, query: str) -> np.ndarray:
    """Return the single ``bigint`` column of ``query`` as a NumPy array, via binary ``COPY``."""
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT binary)").format(sql.SQL(query))
    with driver_connection(conn).cursor() as cur, cur.copy(statement) as copy:
        raw = b"".join(bytes(block) for block in copy)
    body = np.frombuffer(raw, np.uint8, offset=len(pgcopy.HEADER))[: -len(pgcopy.TRAILER)]
    rows = body.reshape(-1, 14)
    if len(rows) and (rows[:, 2:6].view(">i4") != 8).any():
        raise ValueError("fetch_bigints expects one non-NULL bigint column")
    return np.ascontiguousarray(rows[:, 6:]).view(">i8").ravel().astype(np.int64)
