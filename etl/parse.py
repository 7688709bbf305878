"""Defensive, vectorised parsers for the fields of incident files.

Real releases drift: dates with a time part, times with extra fields, empty
times, ``NA`` for missing coordinates. Every parser returns values plus masks
that say which rows were empty and which could not be read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ISO_DATE = r"^\s*(?P<y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})(?:[ T](?P<t>\S+))?\s*$"
DMY_DATE = r"^\s*(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})(?:[ T](?P<t>\S+))?\s*$"
TIME = r"^\s*(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?:[:.]\d+)?\s*$"
NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
MISSING = r"^\s*(|NA|N/A|NULL|NAN|NONE)\s*$"


@dataclass
class Parsed:
    """Values parsed from one column, with masks of empty and unreadable rows."""

    values: np.ndarray
    empty: np.ndarray
    bad: np.ndarray


def _is_missing(values: pa.Array) -> np.ndarray:
    return pc.match_substring_regex(values, MISSING, ignore_case=True).to_numpy(
        zero_copy_only=False
    )


def _int_field(parts: pa.StructArray, name: str) -> np.ndarray:
    """Return a captured group as integers; 0 where the group is absent."""
    column = pc.struct_field(parts, name)
    column = pc.if_else(pc.equal(column, ""), None, column)
    return pc.fill_null(pc.cast(column, pa.int64()), 0).to_numpy(zero_copy_only=False)


def _extract(values: pa.Array, pattern: str) -> tuple[pa.StructArray, np.ndarray]:
    parts = pc.extract_regex(values, pattern)
    return parts, pc.is_valid(parts).to_numpy(zero_copy_only=False)


def parse_dates(values: pa.Array) -> tuple[Parsed, pa.Array]:
    """Parse ``YYYY-MM-DD`` (also with ``/`` or a time part) or ``DD/MM/YYYY``.

    Returns
    -------
    dates : Parsed
        ``datetime64[D]`` values; ``bad`` marks non-empty text that is no real date.
    time_part : pyarrow.Array
        The time written after the date, or ``""``; used when the time column is empty.
    """
    empty = _is_missing(values)
    iso, iso_ok = _extract(values, ISO_DATE)
    dmy, dmy_ok = _extract(values, DMY_DATE)
    use_dmy = ~iso_ok & dmy_ok
    y, m, d = (np.where(use_dmy, _int_field(dmy, k), _int_field(iso, k)) for k in "ymd")
    days, real = _calendar(y, m, d)
    bad = ~empty & ~(real & (iso_ok | dmy_ok))
    time_part = pc.if_else(pa.array(use_dmy), pc.struct_field(dmy, "t"), pc.struct_field(iso, "t"))
    return Parsed(days, empty, bad), pc.fill_null(time_part, "")


def _calendar(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Build dates from parts; ``real`` is False for impossible ones (e.g. 2019-02-30)."""
    in_range = (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31) & (y >= 1) & (y <= 9999)
    months = np.where(in_range, (y - 1970) * 12 + (m - 1), 0).astype("datetime64[M]")
    days = months.astype("datetime64[D]") + np.where(in_range, d - 1, 0)
    real = in_range & (days.astype("datetime64[M]") == months)
    return days, real


def parse_times(values: pa.Array) -> Parsed:
    """Parse ``HH:MM``, ``HH:MM:SS`` and drifted forms such as ``HH:MM:SS:00``.

    Values are seconds since midnight.
    """
    empty = _is_missing(values)
    parts, ok = _extract(values, TIME)
    h, mi, s = (_int_field(parts, k) for k in ("h", "mi", "s"))
    real = ok & (h < 24) & (mi < 60) & (s < 60)
    seconds = np.where(real, h * 3600 + mi * 60 + s, 0)
    return Parsed(seconds, empty, ~empty & ~real)


def parse_numbers(values: pa.Array) -> Parsed:
    """Parse decimal numbers; ``NA``, ``NULL`` and blanks are empty."""
    empty = _is_missing(values)
    numeric = pc.match_substring_regex(values, NUMBER).to_numpy(zero_copy_only=False)
    cleaned = pc.if_else(pa.array(numeric), pc.utf8_trim_whitespace(values), "nan")
    parsed = pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False)
    return Parsed(parsed, empty, ~empty & ~numeric)


def parse_integers(values: pa.Array) -> Parsed:
    """Parse whole numbers (row ids)."""
    empty = _is_missing(values)
    ok = pc.match_substring_regex(values, r"^\s*\d{1,18}\s*$").to_numpy(zero_copy_only=False)
    cleaned = pc.if_else(pa.array(ok), pc.utf8_trim_whitespace(values), "0")
    parsed = pc.cast(cleaned, pa.int64()).to_numpy(zero_copy_only=False)
    return Parsed(parsed, empty, ~empty & ~ok)


def clean_text(values: pa.Array) -> pa.Array:
    """Trim and collapse whitespace, upper-case."""
    collapsed = pc.replace_substring_regex(pc.utf8_trim_whitespace(values), r"\s+", " ")
    return pc.utf8_upper(collapsed)
