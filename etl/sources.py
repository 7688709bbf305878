"""What each incident source looks like, and how its rows become records or rejects."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl import parse
from etl.csvstream import Chunk, Reject
from etl.linehash import hash_lines

#: Earliest occurrence date accepted; older dates are typos (e.g. 1019 for 2019).
MIN_DATE = np.datetime64("1990-01-01")


#: Mexico City's bounding envelope (lon/lat, WGS 84): west, south, east, north.
CITY_ENVELOPE = (-99.365, 19.048, -98.940, 19.593)
#: Points farther than this (degrees, about 11 km) outside the envelope are no Mexico
#: City address: ``(0, 0)``, swapped latitude and longitude, another city. Closer
#: points (the metropolitan area's edge) are kept, outside every quadrant.
CITY_MARGIN = 0.1
#: Longest offence or category text accepted (the longest real one has 190 characters).
MAX_TEXT = 500


@dataclass(frozen=True)
class SourceSpec:
    """Column names and rules of one incident source.

    Attributes
    ----------
    code : str
        ``ssp`` or ``fgj``, as in the ``source`` table.
    date, time, lat, lon, offence : str
        Canonical column names.
    recorded : str or None
        Column with the quadrant id the source recorded, if any.
    row_id : str or None
        Column with the source's own row id; without one, rows are keyed by content.
    coordinates_required : bool
        Whether a row without coordinates is broken (FGJ) or just unlocated (SSP,
        which recorded each incident's quadrant and whose official totals include
        incidents without coordinates).
    reported_date, reported_time, official : str or None
        Optional columns: the date and time the complaint was filed, and the
        source's own category of the row; kept when the file has them.
    aliases : mapping
        Other spellings of each canonical name, from the releases of the source. Names
        are matched ignoring case, accents, blanks and punctuation
        (:func:`etl.csvstream.column_key`).
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
    reported_date: str | None = None
    reported_time: str | None = None
    official: str | None = None
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def _spellings(self, names: list[str | None]) -> dict[str, tuple[str, ...]]:
        return {n: (n, *self.aliases.get(n, ())) for n in names if n}

    @property
    def required(self) -> dict[str, tuple[str, ...]]:
        """Columns the header must have, each with the spellings it goes by."""
        cols = [self.date, self.time, self.lat, self.lon, self.offence, self.recorded, self.row_id]
        return self._spellings(cols)

    @property
    def optional(self) -> dict[str, tuple[str, ...]]:
        """Columns kept when the header has them."""
        return self._spellings([self.reported_date, self.reported_time, self.official])


#: Spellings of the FGJ's columns across its releases: the extract in the data directory
#: and the portal's 2020-and-later releases use the canonical names, the 2019 release
#: the CamelCase ones (README, "Loading incidents").
FGJ_ALIASES = {
    "fecha_hecho": ("FechaHecho", "fecha_hechos"),
    "hora_hecho": ("HoraHecho", "hora_hechos"),
    "latitud": ("lat", "latitude"),
    "longitud": ("lon", "long", "longitude"),
    "delito": ("Delito",),
    "fecha_inicio": ("FechaInicio",),
    "hora_inicio": ("HoraInicio",),
    "categoria_delito": ("CategoriaDelito", "categoría_delito"),
}

SOURCES = {
    "ssp": SourceSpec(
        "ssp",
        "date",
        "hour",
        "lat",
        "long",
        "crime",
        recorded="cuadrante",
        row_id="id",
        coordinates_required=False,
    ),
    "fgj": SourceSpec(
        "fgj",
        "fecha_hecho",
        "hora_hecho",
        "latitud",
        "longitud",
        "delito",
        reported_date="fecha_inicio",
        reported_time="hora_inicio",
        official="categoria_delito",
        aliases=FGJ_ALIASES,
    ),
}


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
    reported_day: np.ndarray | None = None
    has_reported_day: np.ndarray | None = None
    reported_seconds: np.ndarray | None = None
    has_reported_time: np.ndarray | None = None
    official: pa.Array | None = None

    def __len__(self) -> int:
        return len(self.line)

    def take(self, rows: np.ndarray) -> Records:
        """Return the records at positions ``rows``, in that order."""
        idx = pa.array(rows, pa.int64())
        fields = {k: v[rows] for k, v in self.__dict__.items() if isinstance(v, np.ndarray)}
        arrays = {k: v.take(idx) for k, v in self.__dict__.items() if isinstance(v, pa.Array)}
        nones = {k: None for k, v in self.__dict__.items() if v is None}
        return Records(**fields, **arrays, **nones)


class RowChecks:
    """Collects the first reason each row fails, in a fixed order of checks."""

    def __init__(self, n: int) -> None:
        self.failed = np.zeros(n, bool)
        self.reason = np.full(n, "", dtype=object)
        self.detail = np.full(n, "", dtype=object)

    def fail(
        self, mask: np.ndarray, reason: str, column: str, values: pa.Array | Callable[[], pa.Array]
    ) -> None:
        """Mark rows in ``mask`` (not yet failed) with ``reason``.

        ``values`` (shown in the detail) may be a function, called only if a row fails.
        """
        new = mask & ~self.failed
        if new.any():
            if callable(values):
                values = values()
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
    pair = f"{spec.lat}/{spec.lon}"
    pairs = functools.partial(_pairs, raw_lat, raw_lon)  # built only for a failing row
    checks.fail(missing | partial, "missing_coordinates", pair, pairs)
    has_point = ~lat.empty & ~lon.empty
    with np.errstate(invalid="ignore"):
        degrees = (np.abs(lat.values) <= 90) & (np.abs(lon.values) <= 180)
        swapped = (np.abs(lon.values) <= 90) & (np.abs(lat.values) <= 180)
        checks.fail(
            has_point & ~degrees & ~swapped,
            "coordinates_out_of_range",
            pair,
            pairs,
        )
        checks.fail(
            has_point & ~_near_city(lon.values, lat.values),
            "coordinates_outside_city",
            pair,
            pairs,
        )
    return np.where(has_point, lon.values, np.nan), np.where(has_point, lat.values, np.nan)


def _pairs(raw_lat: pa.Array, raw_lon: pa.Array) -> pa.Array:
    """Return ``"lat,lon"`` texts, as a quarantined row's detail shows them."""
    return pc.binary_join_element_wise(raw_lat, raw_lon, ",")


def _near_city(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether points lie inside the city's envelope widened by :data:`CITY_MARGIN`."""
    west, south, east, north = CITY_ENVELOPE
    return (
        (lon >= west - CITY_MARGIN)
        & (lon <= east + CITY_MARGIN)
        & (lat >= south - CITY_MARGIN)
        & (lat <= north + CITY_MARGIN)
    )


def _long_text(values: pa.Array) -> np.ndarray:
    return pc.greater(pc.utf8_length(values), MAX_TEXT).to_numpy(zero_copy_only=False)


def _clean(values: pa.Array, counts: Counter[str]) -> pa.Array:
    cleaned, repaired = parse.clean_text(values, repair=True)
    counts["repaired_texts"] += repaired
    return cleaned


def _check_offence(spec: SourceSpec, table: pa.Table, checks: RowChecks, counts) -> pa.Array:
    raw = table[spec.offence].combine_chunks()
    offence = _clean(raw, counts)
    checks.fail(
        pc.equal(offence, "").to_numpy(zero_copy_only=False), "missing_offence", spec.offence, raw
    )
    checks.fail(
        _long_text(offence), "text_too_long", spec.offence, pc.utf8_slice_codeunits(raw, 0, 60)
    )
    return offence


def _official(spec: SourceSpec, table: pa.Table, checks: RowChecks, counts) -> pa.Array | None:
    """Return the source's own category of each row (``None``: the file has no such column)."""
    if not spec.official or spec.official not in table.column_names:
        return None
    raw = table[spec.official].combine_chunks()
    values = _clean(raw, counts)
    checks.fail(
        _long_text(values), "text_too_long", spec.official, pc.utf8_slice_codeunits(raw, 0, 60)
    )
    return pc.if_else(pc.equal(values, ""), None, values)


def _reported(spec: SourceSpec, table: pa.Table):
    """Return report dates and times where the file has them, and the unreadable dates.

    An unreadable report date (or time) is stored empty; the row still loads.
    """
    if not spec.reported_date or spec.reported_date not in table.column_names:
        return (None, None, None, None), np.zeros(table.num_rows, bool)
    raw = table[spec.reported_date].combine_chunks()
    dates, time_part = parse.parse_dates(raw)
    has_day = ~dates.empty & ~dates.bad & (dates.values >= MIN_DATE) & (dates.values <= _today())
    if spec.reported_time in table.column_names:
        time_raw = table[spec.reported_time].combine_chunks()
        time_raw = pc.if_else(pc.equal(pc.utf8_trim_whitespace(time_raw), ""), time_part, time_raw)
    else:
        time_raw = time_part
    times = parse.parse_times(time_raw)
    parts = (dates.values, has_day, times.values, has_day & ~times.empty & ~times.bad)
    return parts, ~dates.empty & ~has_day


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


def read_records(spec: SourceSpec, chunk: Chunk) -> tuple[Records, list[Reject], Counter[str]]:
    """Check and convert a chunk's rows.

    Returns
    -------
    records : Records
        The rows that passed every check.
    rejects : list of Reject
        Rows that failed, each with its line, raw text, reason and the offending value.
    counts : Counter
        Among the rows loaded: ``unreadable_times`` (loaded with an empty time),
        ``unreadable_report_dates`` (an empty report date); among all rows read:
        ``repaired_texts`` (offence or category texts repaired from mojibake).
    """
    table = chunk.table
    counts: Counter[str] = Counter()
    checks = RowChecks(table.num_rows)
    dates, time_part = _check_dates(spec, table, checks)
    lon, lat = _check_points(spec, table, checks)
    offence = _check_offence(spec, table, checks, counts)
    official = _official(spec, table, checks, counts)
    keys = _keys(spec, chunk, checks)
    times, _ = _times(spec, table, time_part)
    has_time = ~times.empty & ~times.bad
    reported, unreadable_report = _reported(spec, table)
    records = Records(
        chunk.lines,
        keys,
        dates.values,
        times.values,
        has_time,
        lon,
        lat,
        np.isfinite(lon),
        offence,
        _recorded(spec, table),
        *reported,
        official,
    )
    ok = checks.ok
    bad = np.flatnonzero(~ok)
    rejects = [
        Reject(
            int(chunk.lines[i]),
            chunk.line_text(int(chunk.lines[i])),
            checks.reason[i],
            checks.detail[i],
        )
        for i in bad
    ]
    counts["unreadable_times"] = int((ok & times.bad).sum())
    counts["unreadable_report_dates"] = int((ok & unreadable_report).sum())
    return records.take(np.flatnonzero(ok)), rejects, counts
