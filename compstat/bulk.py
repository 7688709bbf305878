"""Bulk writes and reads through ``COPY`` on a connection inside a transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait

import numpy as np
from psycopg import sql
from sqlalchemy import Connection, text

from compstat import pgcopy
from compstat.db import driver_connection


def copy_in(
    conn: Connection, table: str, columns: Sequence[str], fields: Sequence[pgcopy.Field]
) -> None:
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
    send(conn, table, columns, pgcopy.encode_chunks(fields))


def send(
    conn: Connection, table: str, columns: Sequence[str], stream: Iterable[bytes | memoryview]
) -> None:
    """Append rows to ``table`` from an already encoded binary ``COPY`` stream."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with driver_connection(conn).cursor() as cur, cur.copy(statement) as copy:
        for piece in stream:
            copy.write(piece)


def copy_out_text(conn: Connection, query: str, params: Sequence[object] = ()) -> bytes:
    """Return the CSV text (with header) that ``COPY (query) TO STDOUT`` produces.

    ``query`` may hold ``%s`` placeholders, bound to ``params`` by the driver.
    """
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER true)").format(sql.SQL(query))
    chunks: list[bytes] = []
    with driver_connection(conn).cursor() as cur, cur.copy(statement, params or None) as copy:
        chunks.extend(bytes(block) for block in copy)
    return b"".join(chunks)


def fetch_packed_bigints(conn: Connection, query: str, params: dict | None = None) -> np.ndarray:
    """Return the ``bigint`` values that ``query`` packs, as one NumPy ``int64`` array.

    ``query`` returns rows of one ``bytea`` column, each the big-endian values
    ``string_agg(int8send(x), ''::bytea)`` packs (e.g. one row per load run, so
    no value nears ``bytea``'s 1 GB limit). A million keys arrive as a few large
    values instead of a million rows: about 6x faster than a binary ``COPY`` out,
    whose rows psycopg hands over one message at a time.
    """
    rows = conn.execute(text(query), params or {}).scalars()
    packed = [np.frombuffer(bytes(row), ">i8") for row in rows if row is not None]
    return np.concatenate(packed).astype(np.int64) if packed else np.zeros(0, np.int64)


class CopyQueue:
    """Runs binary ``COPY`` loads on one connection in background threads, in order.

    One thread encodes, another sends: the server works on one chunk while the
    next is encoded and the caller prepares the one after. The caller must
    :meth:`wait` before it uses the connection itself, and leaving the ``with``
    block waits for the rest.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode")
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy")
        self.pending: list[Future] = []

    def submit(
        self, table: str, columns: Sequence[str], make_fields: Callable[[], Sequence[pgcopy.Field]]
    ) -> None:
        """Queue a ``COPY`` of the fields ``make_fields()`` returns (called in a thread)."""
        encoded = self.encoder.submit(lambda: list(pgcopy.encode_chunks(make_fields())))
        job = self.pool.submit(lambda: send(self.conn, table, columns, encoded.result()))
        self.pending.append(job)

    def execute(self, statement: str, rows: list[dict]) -> None:
        """Queue a SQL statement, run once per parameter row, after the work queued before it."""
        job = self.pool.submit(lambda: self.conn.execute(text(statement), rows))
        self.pending.append(job)

    def wait(self) -> None:
        """Block until every queued ``COPY`` is done; re-raise the first failure."""
        pending, self.pending = self.pending, []
        for job in pending:
            job.result()

    def __enter__(self) -> CopyQueue:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if exc_info[0] is None:
                self.wait()
            else:  # let in-flight COPYs end before the caller rolls back
                futures_wait(self.pending)
        finally:
            self.encoder.shutdown(wait=True)
            self.pool.shutdown(wait=True)


#: Tables a load may refresh the statistics of (names never come from input).
ANALYZED_TABLES = frozenset({"incident", "assignment"})
#: Share of a table's known rows a load must add before its statistics are refreshed:
#: autovacuum's default ``autovacuum_analyze_scale_factor``.
ANALYZE_SHARE = 0.1


def analyze_if_grown(conn: Connection, table: str, added: int) -> bool:
    """Refresh ``table``'s statistics when ``added`` rows are a large share of it.

    A load must not rely on autovacuum (it may be off, as on the development machine):
    without statistics the planner takes a freshly loaded ``incident`` for a few rows and
    joins it to ``assignment`` by nested loops, minutes where seconds do. Runs ``ANALYZE``
    in the caller's transaction (it sees the rows just written) when the table was never
    analysed or ``added`` exceeds :data:`ANALYZE_SHARE` of its last known row count.

    Returns
    -------
    bool
        Whether the statistics were refreshed.
    """
    if table not in ANALYZED_TABLES:
        raise ValueError(f"no statistics refresh for table {table!r}")
    known = conn.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": table}
    ).scalar_one()
    if added <= 0 or (known >= 0 and added <= ANALYZE_SHARE * known):
        return False
    conn.execute(text(f"ANALYZE {table}"))  # one of ANALYZED_TABLES, checked above
    return True
