"""What each incident source looks like, and how its rows become records or rejects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl import parse
from etl.csvstream import Chunk, Reject
from etl.linehash import hash_lines

#: Earliest occurrence date accepted; older dates are typos (e.g. 1019 for 2019).
MIN_DATE = np.datetime64("1990-01-01")


@dataclass(frozen=True)
class SourceSpec:
    """Column names and rules of one incident source.

    Attributes
    ----------
    code : str
        ``ssp`` or ``fgj``, as in the ``source`` table.
    date, time, lat, lon, offence : str
        Column names.
    recorded : str or None
        Column with the quadrant id the source recorded, if any.
    row_id : str or None
        Column with the source's own row id; without one, rows are keyed by content.
    coordinates_required : bool
        Whether a row without coordinates is broken (FGJ) or just unlocated (SSP,
        which recorded each incident's quadrant and whose official totals include
        incidents without coordinates).
    """

    code: str
    date: str
    time: str
    lat: str
    lon: str
    offence: str
    recorded: str | None = None
    row_id: str | None = None
    coordinates_required: bool = True

    @property
    def required(self) -> list[str]:
        """Columns the header must have."""
        cols = [self.date, self.time, self.lat, self.lon, self.offence, self.recorded, self.row_id]
        return [c for c in cols if c]


SOURCES = {
    "ssp": SourceSpec(
        "ssp", "date", "hour", "lat", "long", "crime",
        recorded="cuadrante", row_id="id", coordinates_required=False,
    ),
    "fgj": SourceSpec("fgj", "fecha_hecho", "hora_hecho", "latitud", "longitud", "delito"),
}  # fmt: skip


@dataclass
class Records:
    """The good rows of a chunk, column by column."""

    line: np.ndarray
    key: np.ndarray
    day: np.ndarray
    seconds: np.ndarray
    has_time: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    has_point: np.ndarray
    offence: pa.Array
    recorded: pa.Array | None

    def __len__(self) -> int:
        return len(self.line)

    def take(self, rows: np.ndarray) -> Records:
        """Return the records at positions ``rows``, in that order."""
        idx = pa.array(rows)
        fields = {k: v[rows] for k, v in self.__dict__.items() if isinstance(v, np.ndarray)}
        recorded = None if self.recorded is None else self.recorded.take(idx)
        return Records(**fields, offence=self.offence.take(idx), recorded=recorded)


class RowChecks:
    """Collects the first reason each row fails, in a fixed order of checks."""

    def __init__(self, n: int) -> None:
        self.failed = np.zeros(n, bool)
        self.reason = np.full(n, "", dtype=object)
        self.detail = np.full(n, "", dtype=object)

    def fail(self, mask: np.ndarray, reason: str, column: str, values: pa.Array) -> None:
        """Mark rows in ``mask`` (not yet failed) with ``reason``."""
        new = mask & ~self.failed
        if new.any():
            self.failed |= new
            self.reason[new] = reason
            shown = values.take(pa.array(np.flatnonzero(new))).to_pylist()
            self.detail[new] = [f"{column}={v!r}" for v in shown]

    @property
    def ok(self) -> np.ndarray:
        """Rows that passed every check."""
        return ~self.failed


def _today() -> np.datetime64:
    return np.datetime64("today", "D")


def _check_dates(spec: SourceSpec, table: pa.Table, checks: RowChecks):
    raw = table[spec.date].combine_chunks()
    dates, time_part = parse.parse_dates(raw)
    checks.fail(dates.empty, "missing_date", spec.date, raw)
    checks.fail(dates.bad, "bad_date", spec.date, raw)
    out_of_range = (dates.values < MIN_DATE) | (dates.values > _today())
    checks.fail(out_of_range, "date_out_of_range", spec.date, raw)
    return dates, time_part


def _times(spec: SourceSpec, table: pa.Table, time_part: pa.Array) -> tuple[parse.Parsed, int]:
    raw = table[spec.time].combine_chunks()
    times = parse.parse_times(raw)
    if times.empty.any():  # an empty time may have been written after the date
        times = parse.parse_times(pc.if_else(times.empty, time_part, raw))
    return times, int(times.bad.sum())


def _check_points(spec: SourceSpec, table: pa.Table, checks: RowChecks):
    raw_lat, raw_lon = table[spec.lat].combine_chunks(), table[spec.lon].combine_chunks()
    lat, lon = parse.parse_numbers(raw_lat), parse.parse_numbers(raw_lon)
    checks.fail(lat.bad, "non_numeric_coordinates", spec.lat, raw_lat)
    checks.fail(lon.bad, "non_numeric_coordinates", spec.lon, raw_lon)
    partial = lat.empty != lon.empty
    missing = (lat.empty & lon.empty) if spec.coordinates_required else partial
    checks.fail(missing | partial, "missing_coordinates", f"{spec.lat}/{spec.lon}", raw_lat)
    with np.errstate(invalid="ignore"):
        wild = (np.abs(lat.values) > 90) | (np.abs(lon.values) > 180)
    checks.fail(wild, "coordinates_out_of_range", f"{spec.lat}/{spec.lon}", raw_lat)
    has_point = ~lat.empty & ~lon.empty
    return np.where(has_point, lon.values, np.nan), np.where(has_point, lat.values, np.nan)


def _check_offence(spec: SourceSpec, table: pa.Table, checks: RowChecks) -> pa.Array:
    raw = table[spec.offence].combine_chunks()
    offence = parse.clean_text(raw)
    checks.fail(pc.equal(offence, "").to_numpy(zero_copy_only=False), "missing_offence",
                spec.offence, raw)  # fmt: skip
    return offence


def _keys(spec: SourceSpec, chunk: Chunk, checks: RowChecks) -> np.ndarray:
    if spec.row_id:
        raw = chunk.table[spec.row_id].combine_chunks()
        ids = parse.parse_integers(raw)
        checks.fail(ids.empty | ids.bad, "bad_row_id", spec.row_id, raw)
        return ids.values
    starts, ends = chunk.line_bounds(chunk.lines)
    return hash_lines(chunk.raw, starts, ends)


def _recorded(spec: SourceSpec, table: pa.Table) -> pa.Array | None:
    if not spec.recorded:
        return None
    values = parse.clean_text(table[spec.recorded].combine_chunks())
    return pc.if_else(pc.equal(values, ""), None, values)


def read_records(spec: SourceSpec, chunk: Chunk) -> tuple[Records, list[Reject], int]:
    """Check and convert a chunk's rows.

    Returns
    -------
    records : Records
        The rows that passed every check.
    rejects : list of Reject
        Rows that failed, each with its line, raw text, reason and the offending value.
    unreadable_times : int
        Rows loaded with an empty time because their time text could not be read.
    """
    table = chunk.table
    checks = RowChecks(table.num_rows)
    dates, time_part = _check_dates(spec, table, checks)
    lon, lat = _check_points(spec, table, checks)
    offence = _check_offence(spec, table, checks)
    keys = _keys(spec, chunk, checks)
    times, unreadable = _times(spec, table, time_part)
    has_time = ~times.empty & ~times.bad
    records = Records(
        chunk.lines, keys, dates.values, times.values, has_time, lon, lat,
        np.isfinite(lon), offence, _recorded(spec, table),
    )  # fmt: skip
    ok = checks.ok
    bad = np.flatnonzero(~ok)
    rejects = [
        Reject(int(chunk.lines[i]), chunk.line_text(int(chunk.lines[i])),
               checks.reason[i], checks.detail[i])
        for i in bad
    ]  # fmt: skip
    return records.take(np.flatnonzero(ok)), rejects, int(unreadable - (~ok & times.bad).sum())
