"""Stream a CSV (plain, gzip or zip) in chunks of whole lines, parsed by Arrow.

Each chunk keeps its raw bytes and the file line number of every record, so a
bad row can be quarantined with its exact text and line. Rows with the wrong
number of fields (a truncated file, a stray comma) are returned as rejects,
never silently skipped.
"""

from __future__ import annotations

import contextlib
import io
import queue
import threading
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from isal import igzip_lib, isal_zlib

from compstat.errors import InputFileError

CHUNK_BYTES = 16 << 20
#: The first slice is this small, and each next one twice as big up to CHUNK_BYTES, so the
#: database gets its first rows while the rest of the file is still being read.
FIRST_CHUNK_BYTES = 1 << 20
#: What a damaged compressed stream raises while it is read.
STREAM_ERRORS = (EOFError, OSError, zlib.error, isal_zlib.error)
T = TypeVar("T")


@dataclass
class Reject:
    """A line that could not be split into the header's fields."""

    line: int
    text: str
    reason: str
    detail: str


@dataclass
class Chunk:
    """Parsed records of one slice of the file.

    Attributes
    ----------
    table : pyarrow.Table
        The required columns, as strings.
    lines : numpy.ndarray
        File line number (header = 1) of each record.
    rejects : list of Reject
        Lines that did not have the right number of fields.
    raw : bytes
        The slice itself, for looking up the text of a line.
    starts : numpy.ndarray
        Byte offset of each line of ``raw``; the line of offset ``starts[i]`` is
        ``first_line + i``.
    first_line : int
    """

    table: pa.Table
    lines: np.ndarray
    rejects: list[Reject]
    raw: bytes
    starts: np.ndarray
    first_line: int

    def line_bounds(self, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return byte offsets where each file line starts and ends (without the newline)."""
        i = np.asarray(lines, np.int64) - self.first_line
        ends = (np.append(self.starts[1:], len(self.raw)) - 1)[i]  # the slice ends in "\n"
        cr = np.frombuffer(self.raw, np.uint8)[np.maximum(ends - 1, 0)] == ord("\r")
        return self.starts[i], ends - cr

    def line_text(self, line: int) -> str:
        """Return the raw text of file line ``line`` (which must lie in this chunk)."""
        start, end = self.line_bounds(np.array([line]))
        return self.raw[int(start[0]) : int(end[0])].decode("utf-8", "replace")


@dataclass
class StreamState:
    """What the stream learnt about the file as a whole."""

    notes: list[str] = field(default_factory=list)


class GzipReader:
    """Read a gzip file (every member) through ISA-L, about 3x faster than zlib.

    A file cut short still gives every byte that was decompressed before the cut;
    only then does :meth:`read` raise ``EOFError``, so a truncated download loads
    what it holds.
    """

    BLOCK = 1 << 20  # compressed bytes read at a time
    OUT = 4 << 20  # decompressed bytes asked for at a time

    def __init__(self, path: Path) -> None:
        self.file = path.open("rb")
        self.member = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)
        self.feed = b""
        self.pending = b""
        self.ended = False
        self.error: EOFError | None = None

    def _next_member(self) -> None:
        """Start the next member of a concatenated file, or end at the file's end."""
        self.feed = self.member.unused_data or self.file.read(self.BLOCK)
        if self.feed[:2] == b"\x1f\x8b":
            self.member = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)
        else:  # the end, or trailing bytes that are not gzip: ignored, like gzip does
            self.ended = True

    def _decompress_some(self) -> bytes:
        if self.member.eof:
            self._next_member()
            return b""
        if self.member.needs_input:
            data, self.feed = self.feed or self.file.read(self.BLOCK), b""
            if not data:
                self.ended = True
                self.error = EOFError("the gzip stream ends before its end marker")
                return b""
            return self.member.decompress(data, self.OUT)
        return self.member.decompress(b"", self.OUT)

    def _fill(self, size: int) -> None:
        """Decompress until more than ``size - OUT`` bytes are pending or the input ends."""
        pieces, have = [self.pending], len(self.pending)
        while have + self.OUT <= size and not self.ended:
            piece = self._decompress_some()
            pieces.append(piece)
            have += len(piece)
        self.pending = b"".join(pieces)

    def _take(self, size: int) -> bytes:
        # slicing all of a bytes object returns it as it is: no copy when size covers it
        out, self.pending = self.pending[:size], self.pending[size:]
        if not out and self.error is not None:
            raise self.error
        return out

    def read(self, size: int) -> bytes:
        """Return up to ``size`` bytes, at least one unless at the end (then ``b""``)."""
        self._fill(max(size, self.OUT))
        return self._take(size)

    def readline(self) -> bytes:
        """Return the next line, with its newline if it has one."""
        while (end := self.pending.find(b"\n")) < 0 and not self.ended:
            self._fill(len(self.pending) + self.OUT)
        return self._take(len(self.pending) if end < 0 else end + 1)

    def close(self) -> None:
        """Close the underlying file."""
        self.file.close()

    def __enter__(self) -> GzipReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_binary(path: Path) -> IO[bytes] | GzipReader:
    """Open ``path`` for reading decompressed bytes (``.gz``, ``.zip`` or plain)."""
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    try:
        with path.open("rb") as probe:
            magic = probe.read(4)
        if magic[:2] == b"\x1f\x8b":
            return GzipReader(path)
        if magic == b"PK\x03\x04":
            archive = zipfile.ZipFile(path)
            members = [n for n in archive.namelist() if n.lower().endswith((".csv", ".txt"))]
            if len(members) != 1:
                raise InputFileError(f"{path}: expected one CSV inside the zip, found {members}")
            return archive.open(members[0])
        return path.open("rb")
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputFileError(f"{path}: cannot open: {exc}") from exc


def _read_header(stream: IO[bytes] | GzipReader, path: Path) -> bytes:
    try:
        header = stream.readline()
    except STREAM_ERRORS as exc:
        raise InputFileError(f"{path}: cannot read: {exc}") from exc
    if not header.strip():
        raise InputFileError(f"{path}: the file is empty (no header line)")
    return header


def _slices(stream: IO[bytes] | GzipReader, state: StreamState, path: Path) -> Iterator[bytes]:
    """Yield pieces of the stream that end on a line boundary."""
    carry = b""
    size = FIRST_CHUNK_BYTES
    while True:
        try:
            block = stream.read(size)
            size = min(2 * size, CHUNK_BYTES)
        except STREAM_ERRORS as exc:
            state.notes.append(f"{path.name}: the file ends early ({exc}); read what was there")
            block = b""
        if not block:
            break
        data = carry + block
        cut = data.rfind(b"\n") + 1
        carry = data[cut:]
        if cut:
            yield data[:cut]
    if carry.strip():
        yield carry if carry.endswith(b"\n") else carry + b"\n"


def _line_starts(raw: bytes) -> np.ndarray:
    buf = np.frombuffer(raw, np.uint8)
    ends = np.flatnonzero(buf == ord("\n"))
    return np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)


def _nonblank(raw: bytes, starts: np.ndarray) -> np.ndarray:
    """Return a mask of the lines that hold something besides whitespace."""
    buf = np.frombuffer(raw, np.uint8)
    ends = np.append(starts[1:], len(buf)) - 1
    lengths = ends - starts
    blank = lengths == 0
    short = np.flatnonzero((lengths > 0) & (lengths <= 2))
    for i in short:
        blank[i] = not raw[starts[i] : ends[i]].strip()
    return ~blank


@dataclass(frozen=True)
class Columns:
    """The header as Arrow reads it, and the columns a load keeps.

    Attributes
    ----------
    in_file : list of str
        Every column name as written (Arrow strips a BOM and quotes).
    kept : list of str
        The names of the required columns as written.
    names : list of str
        Their names without surrounding blanks, which the table's columns get.
    """

    in_file: list[str]
    kept: list[str]
    names: list[str]


def _columns(header: bytes, required: list[str], path: Path) -> Columns:
    try:
        in_file = pacsv.read_csv(io.BytesIO(header)).column_names
    except pa.ArrowInvalid as exc:
        raise InputFileError(f"{path}: line 1: unreadable header: {exc}") from exc
    clean = [n.strip() for n in in_file]
    missing = [c for c in required if c not in clean]
    if missing:
        raise InputFileError(f"{path}: line 1: header lacks columns {missing}; found {clean}")
    kept = [n for n, c in zip(in_file, clean, strict=True) if c in required]
    return Columns(in_file, kept, [n.strip() for n in kept])


def _parse(raw: bytes, columns: Columns) -> tuple[pa.Table, list[pacsv.InvalidRow]]:
    """Parse the required columns of a slice as strings; rows of the wrong width are set aside."""
    invalid: list[pacsv.InvalidRow] = []

    def handler(row: pacsv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(raw),
        read_options=pacsv.ReadOptions(
            column_names=columns.in_file, use_threads=True, block_size=4 << 20
        ),
        parse_options=pacsv.ParseOptions(invalid_row_handler=handler),
        convert_options=pacsv.ConvertOptions(
            include_columns=columns.kept,
            column_types=dict.fromkeys(columns.kept, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return table.rename_columns(columns.names), invalid


def _locate_rejects(
    invalid: list[pacsv.InvalidRow], raw: bytes, starts: np.ndarray, first_line: int
) -> list[Reject]:
    """Find the line of each invalid row by searching its text in the slice."""
    used: set[int] = set()
    rejects = []
    for row in invalid:
        needle = row.text.encode()
        pos = raw.find(needle)
        while pos >= 0 and (pos in used or (pos > 0 and raw[pos - 1 : pos] != b"\n")):
            pos = raw.find(needle, pos + 1)
        used.add(pos)
        line = first_line + int(np.searchsorted(starts, max(pos, 0), "right") - 1)
        detail = f"expected {row.expected_columns} fields, found {row.actual_columns}"
        rejects.append(Reject(line, row.text, "wrong_field_count", detail))
    return rejects


def stream_csv(path: str | Path, required: list[str], state: StreamState) -> Iterator[Chunk]:
    """Yield :class:`Chunk` objects for the CSV at ``path``.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.csv.gz`` or a ``.zip`` holding one CSV.
    required : list of str
        Columns the header must contain.
    state : StreamState
        Collects file-level notes (e.g. a compressed stream that ends early).

    Raises
    ------
    InputFileError
        When the file cannot be opened, is empty, or lacks a required column.
    """
    path = Path(path)
    with open_binary(path) as stream:
        columns = _columns(_read_header(stream, path), required, path)
        first_line = 2
        for raw in _slices(stream, state, path):
            chunk = _chunk(raw, columns, first_line)
            yield chunk
            first_line += len(chunk.starts)


def _chunk(raw: bytes, columns: Columns, first_line: int) -> Chunk:
    starts = _line_starts(raw)
    table, invalid = _parse(raw, columns)
    rejects = _locate_rejects(invalid, raw, starts, first_line)
    candidates = first_line + np.flatnonzero(_nonblank(raw, starts))
    rejected = np.array(sorted(r.line for r in rejects), dtype=np.int64)
    lines = candidates[~np.isin(candidates, rejected)]
    if len(lines) != table.num_rows:
        raise InputFileError(
            f"lines {first_line}-{first_line + len(starts) - 1}: quoted line breaks are not "
            "supported (records and lines do not match)"
        )
    return Chunk(table, lines, rejects, raw, starts, first_line)


_DONE = object()


def read_ahead(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Yield ``items``, produced in a background thread up to ``depth`` items ahead.

    Decompression, Arrow's parser and NumPy release the GIL, so the next chunk is
    read while the caller works on this one. An exception in the producer is raised
    in the caller at the position it occurred; closing the iterator early stops the
    producer after the item it is on.
    """
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                handoff.put((item, None))
                if stop.is_set():
                    return
            handoff.put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            handoff.put((_DONE, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # a generator's open file is closed in this thread

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, error = handoff.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                handoff.get(timeout=0.05)
        worker.join()
