"""Load an incident file: stream, check, deduplicate, place, ``COPY`` and count.

A load is one transaction. Every row read ends up loaded, a duplicate of a row
already stored, or quarantined with its reason, and the summary says how many.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from compstat import bulk, pgcopy
from compstat.db import transaction
from compstat.errors import DatabaseUnavailableError, InputFileError, InvalidQueryError
from etl import counts, placement, releases, runs
from etl.catalog import OffenceCatalog, OfficialCatalog
from etl.csvstream import Chunk, Reject, StreamState, read_ahead, stream_csv
from etl.keys import KeyCounts, OccurrenceKeys, first_unseen
from etl.sources import SOURCES, Records, SourceSpec, read_records

Checked = tuple[Records, list[Reject], Counter[str]]

INCIDENT_COLUMNS = [
    "id",
    "source_id",
    "load_run_id",
    "source_key",
    "source_row",
    "occurred_date",
    "occurred_time",
    "offence_id",
    "category_id",
    "recorded_quadrant",
    "geom",
    "reported_date",
    "reported_time",
    "official_category_id",
]


@dataclass
class LoadSummary:
    """What a load did; ``read == loaded + duplicates + sum(quarantined)``."""

    read: int = 0
    loaded: int = 0
    duplicates: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    unknown_offences: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    run_id: int | None = None
    partial: bool = False
    retired: int = 0
    #: The same file was loaded before: nothing was read or stored.
    skipped: bool = False

    def as_json(self) -> dict:
        """Return the output contract of ``incidents load --format json``."""
        return {
            "read": self.read,
            "loaded": self.loaded,
            "duplicates": self.duplicates,
            "quarantined": dict(sorted(self.quarantined.items())),
            "unknown_offences": dict(self.unknown_offences.most_common()),
            "notes": self.notes,
            "run_id": self.run_id,
            "partial": self.partial,
            "retired": self.retired,
        }


class KnownKeys:
    """Source keys already stored, plus those seen earlier in this load."""

    def __init__(self, conn: Connection, source_id: int) -> None:
        query = (
            "SELECT string_agg(int8send(source_key), ''::bytea) FROM incident "
            "WHERE source_id = :source AND retired_run_id IS NULL GROUP BY load_run_id"
        )
        self.known = KeyCounts(bulk.fetch_packed_bigints(conn, query, {"source": source_id}))

    def fresh(self, keys: np.ndarray) -> np.ndarray:
        """Return a mask of keys neither known nor repeated earlier in ``keys``; learn them."""
        return first_unseen(keys, self.known)


@dataclass
class Unplaced:
    """Stored incidents waiting for the quadrant grids: what placing and counting them needs."""

    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    recorded: list[str | None] | None
    categories: np.ndarray
    day: np.ndarray


class IncidentLoad:
    """State of one running load."""

    def __init__(
        self,
        conn: Connection,
        spec: SourceSpec,
        path: Path,
        run_id: int,
        queue: bulk.CopyQueue,
        vintages: Future[list[placement.Vintage]],
    ) -> None:
        self.conn, self.spec, self.path, self.run_id = conn, spec, path, run_id
        self.queue = queue
        self.source_id, self.recorded_vintage = _source_row(conn, spec.code)
        self.catalog = OffenceCatalog(conn, self.source_id, spec.code, write=queue.execute)
        self.officials = OfficialCatalog(conn, self.source_id, self.catalog, queue.execute)
        self.keys = KnownKeys(conn, self.source_id)
        self.vintages = vintages
        self.next_id = runs.next_incident_id(conn)
        self.summary = LoadSummary(run_id=run_id)
        self.occurrence_keys = OccurrenceKeys()
        self.row_counts: Counter[str] = Counter()
        self.unplaced: list[Unplaced] = []
        #: Set for a superseding (cumulative) release: see :mod:`etl.releases`.
        self.release: releases.ReleaseKeys | None = None

    def add_chunk(self, chunk: Chunk, checked: Checked) -> None:
        """Deduplicate and store one chunk, whose rows :func:`read_records` checked."""
        records, rejects, counts = checked
        rejects = chunk.rejects + rejects
        self.row_counts.update(counts)
        self.summary.read += len(chunk.lines) + len(chunk.rejects)
        if not self.spec.row_id:
            records.key = self.occurrence_keys(records.key)
        if self.release is not None:
            self.release.add(records.key, records.day)
        fresh = self.keys.fresh(records.key)
        self.summary.duplicates += int((~fresh).sum())
        self._store(records.take(np.flatnonzero(fresh)))
        self._quarantine(rejects)

    def _store(self, records: Records) -> None:
        if not len(records):
            return
        ids = np.arange(self.next_id, self.next_id + len(records), dtype=np.int64)
        self.next_id += len(records)
        offence_ids, category_ids = self.catalog.lookup(records.offence)
        categories = category_ids.to_numpy(zero_copy_only=False)
        recorded = None if records.recorded is None else records.recorded.to_pylist()
        offences = offence_ids.to_numpy(zero_copy_only=False)
        official = None
        if records.official is not None:  # the source's own category decides (docs/taxonomy.md)
            official = self.officials.lookup(records.official)
            categories = self.officials.categories(offences, official)
        self.queue.submit(
            "incident",
            INCIDENT_COLUMNS,
            lambda: [
                pgcopy.fixed(ids, ">i8"),
                pgcopy.fixed(np.full(len(ids), self.source_id), ">i2"),
                pgcopy.fixed(np.full(len(ids), self.run_id), ">i4"),
                pgcopy.fixed(records.key, ">i8"),
                pgcopy.fixed(records.line, ">i4"),
                pgcopy.dates(records.day),
                pgcopy.times(records.seconds, records.has_time),
                pgcopy.fixed(offences, ">i4"),
                pgcopy.fixed(categories, ">i2"),
                pgcopy.texts(recorded) if recorded is not None else pgcopy.nulls(len(ids)),
                pgcopy.points(records.lon, records.lat, 4326, records.has_point),
                *_reported_fields(records, official),
            ],
        )
        self.summary.loaded += len(records)
        self.unplaced.append(
            Unplaced(ids, records.lon, records.lat, recorded, categories, records.day)
        )
        if self.vintages.done():
            self._place()

    def _place(self) -> None:
        """Place the stored incidents not yet placed, and queue their assignments and counts.

        Until the quadrant grids are built, slices are only stored: the server takes
        their incidents meanwhile, and they are placed once the grids are ready.
        """
        vintages = self.vintages.result()
        for batch in self.unplaced:
            placed = placement.place(
                vintages, batch.lon, batch.lat, batch.recorded, self.recorded_vintage
            )
            if not placed:  # no territory yet: loading a vintage places these incidents
                continue
            placement.queue_assignments(self.queue, batch.ids, placed)
            # counted per slice and appended at once, so the server stores counts while
            # the next slice is parsed; readers sum rows, so a day cut by two slices is fine
            counter = counts.DailyCounter()
            counter.add(placed, batch.categories, batch.day)
            counts.queue_counts(self.queue, counter)
        self.unplaced.clear()

    def _quarantine(self, rejects: list[Reject]) -> None:
        if not rejects:
            return
        self.summary.quarantined.update(r.reason for r in rejects)
        n = len(rejects)
        self.queue.submit(
            "quarantine",
            ["load_run_id", "source_id", "file_name", "row_number", "raw_row", "reason", "detail"],
            lambda: [
                pgcopy.fixed(np.full(n, self.run_id), ">i4"),
                pgcopy.fixed(np.full(n, self.source_id), ">i2"),
                pgcopy.texts([str(self.path.name)] * n),
                pgcopy.fixed(np.array([r.line for r in rejects]), ">i8"),
                pgcopy.texts([r.text for r in rejects]),
                pgcopy.texts([r.reason for r in rejects]),
                pgcopy.texts([r.detail for r in rejects]),
            ],
        )

    def finish(self, state: StreamState) -> LoadSummary:
        """Place what is left, wait for the queued writes and close the run."""
        self._place()
        self.queue.wait()
        s = self.summary
        s.unknown_offences = self.catalog.unknown
        s.notes = list(state.notes) + _row_notes(self.row_counts, self.officials.unknown)
        s.partial = state.partial
        if self.release is not None and state.partial:
            s.notes.append("a partial file retires nothing: it does not carry the whole release")
        elif self.release is not None:
            s.retired = self.release.retire(self.conn, self.source_id, self.run_id)
            s.notes.append(self.release.note(s.retired))
        totals = {
            "read": s.read,
            "loaded": s.loaded,
            "duplicates": s.duplicates,
            "quarantined": sum(s.quarantined.values()),
        }
        last_id = self.next_id - 1 if s.loaded else None
        runs.finish_run(self.conn, self.run_id, totals, s.as_json(), last_id, state.partial)
        counts.finish(self.conn)
        for table in ("incident", "assignment"):
            bulk.analyze_if_grown(self.conn, table, s.loaded)
        return s


def _reported_fields(records: Records, official: np.ndarray | None) -> list[pgcopy.Field]:
    """Encode the report date and time and the official category (NULL where absent)."""
    n = len(records)
    if records.reported_day is None:
        fields = [pgcopy.nulls(n), pgcopy.nulls(n)]
    else:
        fields = [
            pgcopy.dates(records.reported_day, records.has_reported_day),
            pgcopy.times(records.reported_seconds, records.has_reported_time),
        ]
    if official is None:
        return [*fields, pgcopy.nulls(n)]
    return [*fields, pgcopy.fixed(official, ">i2", official >= 0)]


def _row_notes(counts: Counter[str], unknown_official: Counter[str]) -> list[str]:
    """Return notes on rows loaded with something left empty or repaired."""
    notes = []
    if counts["unreadable_times"]:
        notes.append(f"{counts['unreadable_times']} rows had an unreadable time; loaded without")
    if counts["unreadable_report_dates"]:
        notes.append(
            f"{counts['unreadable_report_dates']} rows had an unreadable report date; "
            "loaded without"
        )
    if counts["repaired_texts"]:
        notes.append(
            f"{counts['repaired_texts']} offence or category texts were repaired "
            "(code page 850 read as Latin-1, e.g. VIOLACIàN for VIOLACIÓN)"
        )
    for name, n in unknown_official.most_common():
        notes.append(
            f"{n} rows had the official category {name!r}, which the taxonomy does "
            "not know; their offence text decided"
        )
    return notes


def _checked(
    spec: SourceSpec, chunks: Iterator[Chunk], path: Path
) -> Iterator[tuple[Chunk, Checked]]:
    """Pair each chunk with its checked records (a pure step, so it may run ahead)."""
    for chunk in chunks:
        try:
            checked = read_records(spec, chunk)
        except Exception as exc:  # a file no check foresaw: one line, no traceback
            last = chunk.first_line + len(chunk.starts) - 1
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise InputFileError(
                f"{path}: lines {chunk.first_line}-{last}: cannot check rows: {reason}"
            ) from exc
        yield chunk, checked


def _prepared_vintages(engine: Engine) -> list[placement.Vintage]:
    """Read and prepare every vintage's quadrants on a connection of their own.

    The territory cannot change meanwhile: territory loads wait for the load lock
    this load holds. The load's own connection is busy sending its first slices.
    """
    with engine.connect() as conn:
        return placement.load_vintages(conn)


def _source_row(conn: Connection, code: str) -> tuple[int, str | None]:
    """Return a source's id and the vintage its recorded quadrant ids belong to."""
    row = conn.execute(
        text("SELECT id, recorded_vintage FROM source WHERE code = :c"), {"c": code}
    ).one()
    return row[0], row[1]


def _identical_run(conn: Connection, source: str, sha: str) -> tuple[int, int] | None:
    row = conn.execute(
        text(
            "SELECT r.id, r.n_read FROM load_run r JOIN source s ON s.id = r.source_id "
            "WHERE s.code = :src AND r.file_sha256 = :sha AND r.kind = 'incidents' "
            "ORDER BY r.id LIMIT 1"
        ),
        {"src": source, "sha": sha},
    ).first()
    return None if row is None else (row[0], row[1])


def load_incidents(
    engine: Engine,
    path: str | Path,
    source: str,
    progress: Callable[[int], None] | None = None,
    *,
    encoding: str | None = None,
    accept_partial: bool = False,
    supersedes: bool = False,
) -> LoadSummary:
    """Load an incident file of ``source`` (``ssp`` or ``fgj``) in one transaction.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    path : str or Path
        ``.csv``, ``.csv.gz`` or ``.zip`` file.
    source : str
        Source code.
    progress : callable, optional
        Called with the number of rows read after each chunk.
    encoding : str, optional
        The file's text encoding (default: detected).
    accept_partial : bool
        Load what a compressed file cut short holds (the run is marked partial)
        instead of refusing it.
    supersedes : bool
        The file is a cumulative release that replaces the earlier ones for the days
        it covers: stored rows it no longer carries are retired (:mod:`etl.releases`).
        A partial file retires nothing.

    Raises
    ------
    InputFileError
        The file cannot be read (one line naming the file and the reason); nothing
        is stored.
    DatabaseUnavailableError
        The database connection was lost midway; nothing is stored.
    """
    if source not in SOURCES:
        raise InvalidQueryError(f"unknown source {source!r}; expected one of {sorted(SOURCES)}")
    path = Path(path)
    state = StreamState(encoding=encoding, accept_partial=accept_partial)
    try:
        return _load(engine, path, SOURCES[source], state, progress, supersedes)
    except (DBAPIError, psycopg.OperationalError, psycopg.InterfaceError) as exc:
        if isinstance(exc, DBAPIError) and not exc.connection_invalidated:
            raise
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailableError(
            f"{path}: the database connection was lost; nothing was stored ({reason})"
        ) from exc


def _sha256(path: Path) -> str:
    try:
        return runs.file_sha256(path) if path.is_file() else ""
    except OSError as exc:
        raise InputFileError(f"{path}: cannot open: {exc.strerror or exc}") from exc


def _load(
    engine: Engine,
    path: Path,
    spec: SourceSpec,
    state: StreamState,
    progress: Callable[[int], None] | None,
    supersedes: bool,
) -> LoadSummary:
    sha = _sha256(path)
    with transaction(engine) as conn:
        runs.lock_loads(conn)
        previous = _identical_run(conn, spec.code, sha)
        if previous is not None:
            run, read = previous
            note = f"identical file already loaded by run {run}"
            return LoadSummary(read=read, duplicates=read, run_id=run, notes=[note], skipped=True)
        source_id, _ = _source_row(conn, spec.code)
        run_id = runs.start_run(conn, "incidents", path, sha, source_id=source_id)
        # chunks are read and checked one ahead, in a thread; the first while the load
        # reads the stored keys. The quadrant grids are read and built in another thread
        # while the first slices' incidents are sent.
        stream = stream_csv(path, spec.required, state, spec.optional)
        chunks = read_ahead(_checked(spec, stream, path))
        grids = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grids")
        with grids, bulk.CopyQueue(conn) as queue, closing(chunks):
            vintages = grids.submit(_prepared_vintages, engine)
            load = IncidentLoad(conn, spec, path, run_id, queue, vintages)
            load.release = releases.ReleaseKeys() if supersedes else None
            for chunk, checked in chunks:
                load.add_chunk(chunk, checked)
                if progress:
                    progress(load.summary.read)
            return load.finish(state)
