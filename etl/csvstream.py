"""Stream a CSV (plain, gzip or zip) in chunks of whole lines, parsed by Arrow.

Each chunk keeps its raw bytes and the file line number of every record, so a
bad row can be quarantined with its exact text and line. Rows with the wrong
number of fields (a truncated file, a stray comma) are returned as rejects,
never silently skipped.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import queue
import re
import threading
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from isal import igzip_lib, isal_zlib

from compstat.errors import CompstatError, InputFileError

CHUNK_BYTES = 16 << 20
#: The first slice is this small, and each next one twice as big up to CHUNK_BYTES, so the
#: database gets its first rows while the rest of the file is still being read.
FIRST_CHUNK_BYTES = 1 << 20
#: What a damaged compressed stream raises while it is read.
STREAM_ERRORS = (EOFError, OSError, zlib.error, isal_zlib.error, zipfile.BadZipFile)
#: Bytes looked at to tell the encoding and whether the file is text at all.
SAMPLE_BYTES = 1 << 16
#: A header longer than this is no CSV header (a binary file, or one without line breaks).
MAX_HEADER_BYTES = 1 << 20
#: Magic numbers of compressions the loader does not read.
OTHER_COMPRESSIONS = {
    b"BZh": "bzip2",
    b"\xfd7zXZ": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"7z\xbc\xaf": "7-Zip",
    b"Rar!": "RAR",
}
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
    """What the stream learnt about the file as a whole, and how it may read it.

    Attributes
    ----------
    notes : list of str
        File-level notes for the load summary.
    encoding : str or None
        The text encoding to read (``None``: detect it); set to the one used.
    accept_partial : bool
        Whether a compressed file cut short loads what it holds (else it is refused).
    partial : bool
        Set when the file was cut short and what it held was read.
    """

    notes: list[str] = field(default_factory=list)
    encoding: str | None = None
    accept_partial: bool = False
    partial: bool = False
    legacy_slices: int = 0
    fallback_slices: int = 0


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
        for prefix, name in OTHER_COMPRESSIONS.items():
            if magic.startswith(prefix):
                raise InputFileError(
                    f"{path}: the content is {name}-compressed, which is not read; "
                    "use .csv, .csv.gz or .zip"
                )
        if magic == b"PK\x03\x04":
            archive = zipfile.ZipFile(path)
            members = [n for n in archive.namelist() if n.lower().endswith((".csv", ".txt"))]
            if len(members) != 1:
                raise InputFileError(f"{path}: expected one CSV inside the zip, found {members}")
            return archive.open(members[0])
        return path.open("rb")
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputFileError(f"{path}: cannot open: {exc}") from exc


#: Names of encodings as the notes give them, keyed by Python's name of each codec.
ENCODING_NAMES = {
    codecs.lookup(name).name: label
    for name, label in [
        ("utf-8", "UTF-8"),
        ("utf-8-sig", "UTF-8 with BOM"),
        ("utf-16", "UTF-16 with BOM"),
        ("utf-16-le", "UTF-16LE"),
        ("utf-16-be", "UTF-16BE"),
        ("cp1252", "Windows-1252"),
        ("latin-1", "Latin-1"),
    ]
}
#: Bytes Windows-1252 leaves undefined; a file holding them is Latin-1.
CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


def detect_encoding(sample: bytes) -> str:
    """Return the encoding of a file that starts with ``sample``.

    A byte-order mark decides (UTF-8 or UTF-16); else UTF-16 without a BOM is told by
    its zero bytes, and text that is not valid UTF-8 is Windows-1252 (Latin-1 where it
    holds bytes Windows-1252 leaves undefined).
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(sample) >= 4 and sample.count(0) * 3 > len(sample):
        odd_zeros = sample[1::2].count(0)
        return "utf-16-le" if odd_zeros > sample[0::2].count(0) else "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "latin-1" if CP1252_UNDEFINED.search(sample) else "cp1252"
    return "utf-8"


def _check_encoding(name: str, path: Path) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise InputFileError(f"{path}: unknown encoding {name!r}") from None


class Utf8Stream:
    """The decompressed bytes of a file as UTF-8, whatever the file's encoding.

    A UTF-8 file passes through untouched (only a BOM is dropped), so the common
    case costs nothing; other encodings are decoded and re-encoded block by block.
    """

    def __init__(self, stream: IO[bytes] | GzipReader, sample: bytes, encoding: str) -> None:
        self.stream = stream
        self.passthrough = codecs.lookup(encoding).name == "utf-8"
        if encoding == "utf-8-sig" or (self.passthrough and sample.startswith(codecs.BOM_UTF8)):
            sample, self.passthrough = sample[len(codecs.BOM_UTF8) :], True
        self.decoder = (
            None if self.passthrough else codecs.getincrementaldecoder(encoding)("replace")
        )
        self.pending = self._convert(sample, final=False)

    def _convert(self, raw: bytes, final: bool) -> bytes:
        if self.decoder is None:
            return raw
        return self.decoder.decode(raw, final).encode("utf-8")

    def _more(self, size: int) -> bytes:
        while True:
            raw = self.stream.read(size)
            out = self._convert(raw, final=not raw)
            if out or not raw:
                return out

    def read(self, size: int) -> bytes:
        """Return up to ``size`` bytes (more for a re-encoded file), ``b""`` at the end."""
        if self.pending:
            out, self.pending = self.pending[:size], self.pending[size:]
            return out
        return self._more(size)

    def readline(self, limit: int = MAX_HEADER_BYTES) -> bytes:
        """Return the first line; ``b""`` when none ends within ``limit`` bytes."""
        while (end := self.pending.find(b"\n")) < 0 and len(self.pending) < limit:
            more = self._more(SAMPLE_BYTES)
            if not more:
                break
            self.pending += more
        if end < 0 and len(self.pending) >= limit:
            return b""
        cut = len(self.pending) if end < 0 else end + 1
        line, self.pending = self.pending[:cut], self.pending[cut:]
        return line


def _sample(stream: IO[bytes] | GzipReader, path: Path) -> bytes:
    try:
        return stream.read(SAMPLE_BYTES)
    except STREAM_ERRORS as exc:
        raise InputFileError(f"{path}: cannot read: {_one_line(exc)}") from exc


def _looks_binary(text: bytes) -> bool:
    """Whether decoded text holds NULs or many control characters (not a text file)."""
    if b"\0" in text:
        return True
    controls = sum(text.count(bytes([c])) for c in range(32) if c not in (9, 10, 13))
    return controls * 20 > len(text)


def _open_text(stream: IO[bytes] | GzipReader, state: StreamState, path: Path) -> Utf8Stream:
    """Tell (or take) the encoding, refuse binary content, and return a UTF-8 stream."""
    sample = _sample(stream, path)
    if not sample.strip():
        raise InputFileError(f"{path}: the file is empty (no header line)")
    if state.encoding:
        encoding, how = _check_encoding(state.encoding, path), "as asked"
    else:
        encoding, how = detect_encoding(sample), "detected"
    reader = Utf8Stream(stream, sample, encoding)
    if _looks_binary(reader.pending[:SAMPLE_BYTES]):
        raise InputFileError(f"{path}: binary content, not a CSV text file")
    state.encoding = encoding
    label = ENCODING_NAMES.get(codecs.lookup(encoding).name, encoding)
    state.notes.append(f"{path.name}: read as {label} ({how})")
    return reader


def _read_header(stream: Utf8Stream, path: Path) -> bytes:
    try:
        header = stream.readline()
    except STREAM_ERRORS as exc:
        raise InputFileError(f"{path}: cannot read: {_one_line(exc)}") from exc
    if not header:
        raise InputFileError(f"{path}: no line break in the first 1 MB: not a CSV file")
    if not header.strip():
        raise InputFileError(f"{path}: the file is empty (no header line)")
    return header


def _one_line(exc: BaseException) -> str:
    """Return an exception's message on one line."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _slices(stream: Utf8Stream, state: StreamState, path: Path) -> Iterator[bytes]:
    """Yield pieces of the stream that end on a line boundary.

    A compressed stream cut short is refused, unless ``state.accept_partial``: then
    what was read before the cut is yielded and ``state.partial`` is set.
    """
    carry = b""
    size = FIRST_CHUNK_BYTES
    while True:
        try:
            block = stream.read(size)
            size = min(2 * size, CHUNK_BYTES)
        except STREAM_ERRORS as exc:
            if not state.accept_partial:
                raise InputFileError(
                    f"{path}: the file ends early ({_one_line(exc)}); nothing was stored "
                    "(--accept-partial loads what it holds)"
                ) from exc
            state.partial = True
            state.notes.append(
                f"{path.name}: the file ends early ({_one_line(exc)}); "
                "loaded what was there (partial)"
            )
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


#: Column names a load asks for: a canonical name and the spellings it goes by.
Wanted = Mapping[str, Sequence[str]] | Sequence[str]


def column_key(name: str) -> str:
    """Return the form column names are matched in: no accents, case, blanks or punctuation.

    ``FechaHecho``, ``fecha_hecho`` and ``Fecha Hecho`` all give ``fechahecho``.
    """
    decomposed = unicodedata.normalize("NFD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]", "", bare.casefold())


def _aliases(wanted: Wanted) -> dict[str, Sequence[str]]:
    if isinstance(wanted, Mapping):
        return dict(wanted)
    return {name: (name,) for name in wanted}


@dataclass(frozen=True)
class Columns:
    """The header as Arrow reads it, and the columns a load keeps.

    Attributes
    ----------
    in_file : list of str
        Every column name as written (Arrow strips a BOM and quotes).
    kept : list of str
        Positional names (``c0``, ``c1``, ...) of the columns kept, which Arrow reads.
    names : list of str
        The canonical name each kept column gets in the table.
    """

    in_file: list[str]
    kept: list[str]
    names: list[str]

    @property
    def positional(self) -> list[str]:
        """A unique name per column of the file (headers may repeat or be blank)."""
        return [f"c{i}" for i in range(len(self.in_file))]


def _columns(header: bytes, required: Wanted, optional: Wanted, path: Path) -> Columns:
    """Match the header's columns to the wanted ones, by :func:`column_key` of each alias."""
    try:
        in_file = pacsv.read_csv(io.BytesIO(header)).column_names
    except (pa.ArrowInvalid, UnicodeError) as exc:
        raise InputFileError(f"{path}: line 1: unreadable header: {_one_line(exc)}") from exc
    position: dict[str, int] = {}
    for i, name in enumerate(in_file):
        position.setdefault(column_key(name), i)
    found: dict[str, int] = {}
    for field_name, spellings in (_aliases(optional) | _aliases(required)).items():
        hits = [position[k] for k in map(column_key, spellings) if k in position]
        if hits:
            found[field_name] = hits[0]
    needs = _aliases(required)
    missing = [name for name in needs if name not in found]
    if missing:
        needed = "; ".join(" or ".join(needs[name]) for name in missing)
        clean = [n.strip() for n in in_file]
        raise InputFileError(
            f"{path}: line 1: header lacks columns {missing} (needed: {needed}); found {clean}"
        )
    return Columns(list(in_file), [f"c{i}" for i in found.values()], list(found))


def _parse(raw: bytes, columns: Columns) -> tuple[pa.Table, list[pacsv.InvalidRow]]:
    """Parse the required columns of a slice as strings; rows of the wrong width are set aside."""
    invalid: list[pacsv.InvalidRow] = []

    def handler(row: pacsv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(raw),
        read_options=pacsv.ReadOptions(
            column_names=columns.positional, use_threads=True, block_size=4 << 20
        ),
        parse_options=pacsv.ParseOptions(invalid_row_handler=handler),
        convert_options=pacsv.ConvertOptions(
            include_columns=columns.kept,
            column_types=dict.fromkeys(columns.kept, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=False,  # the slice was checked whole (see _is_utf8)
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


def stream_csv(
    path: str | Path, required: Wanted, state: StreamState, optional: Wanted = ()
) -> Iterator[Chunk]:
    """Yield :class:`Chunk` objects for the CSV at ``path``.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.csv.gz`` or a ``.zip`` holding one CSV, in UTF-8 (with or
        without BOM), UTF-16 or Windows-1252/Latin-1 (detected unless
        ``state.encoding`` says).
    required : mapping or list of str
        Columns the header must contain: canonical name -> the spellings it goes by
        (matched by :func:`column_key`), or plain names.
    state : StreamState
        How to read, and collects file-level notes (encoding, a compressed stream that
        ends early).
    optional : mapping or list of str
        Columns kept when the header has them.

    Raises
    ------
    InputFileError
        When the file cannot be opened or read, is empty, binary, cut short (unless
        ``state.accept_partial``), or lacks a required column. Every failure is
        reported this way, on one line naming the file.
    """
    path = Path(path)
    try:
        with open_binary(path) as stream:
            text = _open_text(stream, state, path)
            columns = _columns(_read_header(text, path), required, optional, path)
            first_line = 2
            for raw in _slices(text, state, path):
                chunk = _chunk(raw, columns, first_line, state)
                yield chunk
                first_line += len(chunk.starts)
    except CompstatError:
        raise
    except Exception as exc:  # whatever else a hostile file provokes: one line, no traceback
        raise InputFileError(f"{path}: cannot read: {_one_line(exc)}") from exc
    finally:
        _note_repairs(state, path)


def _note_repairs(state: StreamState, path: Path) -> None:
    if state.legacy_slices:
        state.notes.append(
            f"{path.name}: {state.legacy_slices} slice(s) held bytes that are not "
            "UTF-8; read them as Windows-1252"
        )
        state.legacy_slices = 0
    if state.fallback_slices:
        state.notes.append(
            f"{path.name}: {state.fallback_slices} slice(s) held quoted line breaks "
            "or stray quotes; read them line by line"
        )
        state.fallback_slices = 0


def _is_utf8(raw: bytes) -> bool:
    """Whether a slice is valid UTF-8, checked by Arrow's vectorised validator without a copy.

    Arrow's parser must never meet invalid UTF-8: it cannot hand such a row to the
    invalid-row handler. Checked here once, it is not checked again while parsing.
    """
    offsets = pa.py_buffer(np.array([0, len(raw)], np.int64).tobytes())
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(raw)])
    try:
        whole.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _chunk(raw: bytes, columns: Columns, first_line: int, state: StreamState) -> Chunk:
    """Parse a slice with Arrow; a slice Arrow cannot match line for line is read by lines.

    A slice that is not UTF-8 (a legacy byte in a file that began as UTF-8) is read
    as Windows-1252.
    """
    if not _is_utf8(raw):
        state.legacy_slices += 1
        raw = raw.decode("cp1252", "replace").encode("utf-8")
    try:
        return _fast_chunk(raw, columns, first_line)
    except (pa.ArrowInvalid, _MismatchError):
        state.fallback_slices += 1
        return _chunk_by_lines(raw, columns, first_line)


class _MismatchError(Exception):
    """Arrow's records do not match the slice's lines (a quoted line break or stray quote)."""


def _fast_chunk(raw: bytes, columns: Columns, first_line: int) -> Chunk:
    starts = _line_starts(raw)
    table, invalid = _parse(raw, columns)
    rejects = _locate_rejects(invalid, raw, starts, first_line)
    candidates = first_line + np.flatnonzero(_nonblank(raw, starts))
    rejected = np.array(sorted(r.line for r in rejects), dtype=np.int64)
    lines = candidates[~np.isin(candidates, rejected)]
    if len(lines) != table.num_rows or len(set(rejected.tolist())) != len(rejects):
        raise _MismatchError
    return Chunk(table, lines, rejects, raw, starts, first_line)


def _chunk_by_lines(raw: bytes, columns: Columns, first_line: int) -> Chunk:
    """Read each line of a slice as one record, with Python's csv module.

    A record broken by a quoted line break becomes two lines, each with the wrong
    number of fields: both are quarantined, never merged by guesswork.
    """
    starts = _line_starts(raw)
    ends = np.append(starts[1:], len(raw)) - 1
    wanted = [int(k[1:]) for k in columns.kept]
    width = len(columns.in_file)
    values: list[list[str]] = [[] for _ in wanted]
    lines, rejects = [], []
    for i in np.flatnonzero(_nonblank(raw, starts)):
        text = raw[starts[i] : ends[i]].decode("utf-8", "replace").rstrip("\r")
        line = first_line + int(i)
        try:
            fields = next(csv.reader([text], strict=False))
        except csv.Error as exc:
            rejects.append(Reject(line, text, "wrong_field_count", _one_line(exc)))
            continue
        if len(fields) != width:
            detail = f"expected {width} fields, found {len(fields)}"
            rejects.append(Reject(line, text, "wrong_field_count", detail))
            continue
        lines.append(line)
        for column, j in zip(values, wanted, strict=True):
            column.append(fields[j])
    table = pa.table([pa.array(v, pa.string()) for v in values], names=columns.names)
    return Chunk(table, np.array(lines, np.int64), rejects, raw, starts, first_line)


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
