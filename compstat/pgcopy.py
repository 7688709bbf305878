"""Vectorised encoder for PostgreSQL's binary ``COPY`` format.

Whole columns are written with NumPy, so a million-row load costs a few array
operations instead of a million Python calls. Rows are grouped by their shape
(which fields are NULL, how long each text is); inside a group every row has the
same layout, so the group is one NumPy structured array. ``COPY`` does not care
about row order, so groups are written one after another.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
PG_EPOCH = np.datetime64("2000-01-01", "D")
#: Up to this many runs of adjacent same-shape rows are encoded run by run, unsorted.
RUNS_AS_SLICES = 64
EWKB_POINT = np.dtype(
    [("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)


@dataclass(frozen=True)
class Field:
    """One column ready to encode.

    Attributes
    ----------
    width : numpy.ndarray
        Byte length of each row's value (int64); ``-1`` marks NULL.
    values : numpy.ndarray
        ``(rows, max_width)`` uint8 array; row ``i`` holds its value's bytes left-aligned.
    """

    width: np.ndarray
    values: np.ndarray


def _from_records(records: np.ndarray, valid: np.ndarray | None) -> Field:
    size = records.dtype.itemsize
    values = np.ascontiguousarray(records).view(np.uint8).reshape(len(records), size)
    if valid is None:
        return Field(np.full(len(records), size, np.int64), values)
    return Field(np.where(valid, size, -1).astype(np.int64), values)


def fixed(values: np.ndarray, pg_dtype: str, valid: np.ndarray | None = None) -> Field:
    """Encode a numeric array as a fixed-width field.

    Parameters
    ----------
    values : numpy.ndarray
        One value per row.
    pg_dtype : str
        Big-endian NumPy dtype matching the column: ``">i2"`` smallint, ``">i4"``
        integer, ``">i8"`` bigint, ``">f8"`` double precision.
    valid : numpy.ndarray of bool, optional
        False where the value is NULL.
    """
    return _from_records(np.asarray(values).astype(pg_dtype), valid)


def dates(days: np.ndarray, valid: np.ndarray | None = None) -> Field:
    """Encode ``datetime64`` values as PostgreSQL ``date``."""
    offset = (np.asarray(days).astype("datetime64[D]") - PG_EPOCH).astype(np.int64)
    return fixed(offset, ">i4", valid)


def times(seconds: np.ndarray, valid: np.ndarray | None = None) -> Field:
    """Encode seconds since midnight as PostgreSQL ``time`` (microseconds)."""
    return fixed(np.asarray(seconds, np.int64) * 1_000_000, ">i8", valid)


def points(lon: np.ndarray, lat: np.ndarray, srid: int, valid: np.ndarray | None = None) -> Field:
    """Encode coordinates as PostGIS EWKB points (little-endian, with SRID)."""
    records = np.empty(len(lon), EWKB_POINT)
    records["order"], records["type"], records["srid"] = 1, 0x20000001, srid
    records["x"], records["y"] = lon, lat
    return _from_records(records, valid)


def texts(values: Sequence[str | None] | np.ndarray) -> Field:
    """Encode strings as UTF-8 ``text``; ``None`` is NULL."""
    encoded = [None if v is None else str(v).encode() for v in values]
    width = np.fromiter((-1 if v is None else len(v) for v in encoded), np.int64, len(encoded))
    longest = max(int(width.max(initial=0)), 1)
    padded = np.array([v or b"" for v in encoded], dtype=f"S{longest}")
    return Field(width, padded.view(np.uint8).reshape(len(encoded), longest))


def _shapes(fields: Sequence[Field]) -> np.ndarray:
    """Return one integer per row that identifies its shape (the widths of its fields)."""
    key = np.zeros(len(fields[0].width), np.int64)
    for field in fields:
        width = field.width + 1  # NULL (-1) becomes 0
        seen = np.bincount(width)
        kinds = np.flatnonzero(seen)
        if len(kinds) == 1:
            continue  # one width (e.g. a NOT NULL number): every row alike
        code = np.zeros(len(seen), np.int64)
        code[kinds] = np.arange(len(kinds))
        key = key * len(kinds) + code[width]
    return key


def _encode_group(fields: Sequence[Field], rows: slice | np.ndarray) -> memoryview:
    """Encode rows of one shape: a constant template (field count, lengths) plus the values."""
    first = rows.start if isinstance(rows, slice) else rows[0]
    n = rows.stop - rows.start if isinstance(rows, slice) else len(rows)
    widths = [int(f.width[first]) for f in fields]
    template = bytearray(struct.pack(">h", len(fields)))
    slots = []
    for field, w in zip(fields, widths, strict=True):
        template += struct.pack(">i", w)
        if w > 0:
            slots.append((field, len(template), w))
            template += bytes(w)
    out = np.empty((n, len(template)), np.uint8)
    out[:] = np.frombuffer(bytes(template), np.uint8)
    for field, offset, w in slots:
        # one w-byte item per row on both sides: a strided copy of items, not of bytes
        target = np.ndarray((n,), f"V{w}", out, offset, (len(template),))
        values = field.values[rows]  # a view for a slice, a gather for an index array
        target[:] = np.ascontiguousarray(values[:, :w]).view(f"V{w}").ravel()
    return memoryview(out).cast("B")


def _groups(shapes: np.ndarray) -> list[slice | np.ndarray]:
    """Return the rows of each shape, as slices where rows of one shape are adjacent.

    A stream of few runs (one shape, or rows already ordered by shape) needs no
    sorting and no gathering; otherwise rows are sorted by shape.
    """
    cuts = np.flatnonzero(shapes[1:] != shapes[:-1]) + 1
    if len(cuts) < RUNS_AS_SLICES:
        bounds = [0, *cuts.tolist(), len(shapes)]
        return [slice(a, b) for a, b in itertools.pairwise(bounds)]
    if shapes.max() < 1 << 16:
        shapes = shapes.astype(np.uint16)  # NumPy's stable sort of 16-bit ints is a radix sort
    order = np.argsort(shapes, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(shapes[order])) + 1)


def encode_chunks(fields: Sequence[Field]) -> Iterator[bytes | memoryview]:
    """Yield the binary ``COPY`` stream in pieces (header, one piece per row shape, trailer)."""
    yield HEADER
    if fields and len(fields[0].width):
        for group in _groups(_shapes(fields)):
            yield _encode_group(fields, group)
    yield TRAILER


def encode(fields: Sequence[Field]) -> bytes:
    """Return the complete binary ``COPY`` stream (header, rows, trailer) as bytes."""
    return b"".join(bytes(piece) for piece in encode_chunks(fields))


def labels(codes: np.ndarray, names: Sequence[str | None]) -> Field:
    """Encode a categorical text column: row ``i`` holds ``names[codes[i]]``."""
    table = texts(names)
    return Field(table.width[codes], table.values[codes])


def nulls(n: int) -> Field:
    """Return a column of ``n`` NULLs (any type)."""
    return Field(np.full(n, -1, np.int64), np.zeros((n, 1), np.uint8))
