"""Defensive, vectorised parsers for the fields of incident files.

Real releases drift: dates with a time part, times with extra fields, empty
times, ``NA`` for missing coordinates. Every parser returns values plus masks
that say which rows were empty and which could not be read. Dates, times and
offence texts repeat a lot (a few thousand distinct values in 100k rows), so
they are parsed once per distinct text and spread back to the rows.
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


@dataclass
class Parsed:
    """Values parsed from one column, with masks of empty and unreadable rows."""

    values: np.ndarray
    empty: np.ndarray
    bad: np.ndarray


MISSING_WORDS = pa.array(["", "NA", "N/A", "NULL", "NAN", "NONE"])


def _is_missing(values: pa.Array) -> np.ndarray:
    cleaned = pc.utf8_upper(pc.utf8_trim_whitespace(values))
    return pc.is_in(cleaned, value_set=MISSING_WORDS).to_numpy(zero_copy_only=False)


def _numpy(values: pa.Array) -> np.ndarray:
    return values.to_numpy(zero_copy_only=False)


def _fast_then_slow(values: pa.Array, fast, slow) -> tuple[np.ndarray, np.ndarray]:
    """Parse with ``fast`` (a strict C++ kernel); send only what it rejects to ``slow``.

    Both return ``(values, ok)``; the result merges them row by row.
    """
    parsed, ok = fast(values)
    rest = np.flatnonzero(~ok)
    if len(rest):
        again, again_ok = slow(values.take(pa.array(rest)))
        parsed[rest], ok[rest] = again, again_ok
    return parsed, ok


def _per_distinct(values: pa.Array, fast, slow) -> tuple[Parsed, pa.Array, np.ndarray]:
    """Parse each distinct text once (see :func:`_fast_then_slow`), then spread to the rows.

    Returns the per-row result, the distinct texts (nulls read as ``""``) and the
    index of each row's text among them.
    """
    encoded = pc.dictionary_encode(pc.fill_null(values, ""))
    texts, rows = encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False)
    empty = _is_missing(texts)
    parsed, ok = _fast_then_slow(texts, fast, slow)
    return Parsed(parsed[rows], empty[rows], (~empty & ~ok)[rows]), texts, rows


def _int_field(parts: pa.StructArray, name: str) -> np.ndarray:
    """Return a captured group as integers; 0 where the group is absent."""
    column = pc.struct_field(parts, name)
    column = pc.if_else(pc.equal(column, ""), None, column)
    return pc.fill_null(pc.cast(column, pa.int64()), 0).to_numpy(zero_copy_only=False)


def _extract(values: pa.Array, pattern: str) -> tuple[pa.StructArray, np.ndarray]:
    parts = pc.extract_regex(values, pattern)
    return parts, pc.is_valid(parts).to_numpy(zero_copy_only=False)


def _strict_strptime(
    values: pa.Array, fmt: str, checks: tuple[tuple[str, int], ...], width: int
) -> tuple[pa.Array, np.ndarray]:
    """Parse fixed-width text with ``fmt`` and reject what ``strptime`` rolls over.

    ``checks`` pairs a timestamp field (``day``, ``hour``, ``second``) with the
    offset of its two digits in the text; e.g. 2019-02-30 parses, but its day
    comes back as 2, not 30, so it is rejected.
    """
    stamps = pc.strptime(values, format=fmt, unit="s", error_is_null=True)
    ok = pc.and_(pc.is_valid(stamps), pc.equal(pc.utf8_length(values), width))
    for part, offset in checks:
        digits = pc.utf8_slice_codeunits(values, offset, offset + 2)
        written = pc.cast(pc.if_else(ok, digits, "0"), pa.int64())
        ok = pc.and_(ok, pc.equal(getattr(pc, part)(pc.fill_null(stamps, 0)), written))
    return stamps, _numpy(pc.fill_null(ok, False))


def _strptime_days(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    stamps, ok = _strict_strptime(values, "%Y-%m-%d", (("day", 8),), 10)
    days = _numpy(pc.fill_null(stamps, 0)).astype("datetime64[D]")
    return days, ok


def _regex_days(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    iso, iso_ok = _extract(values, ISO_DATE)
    dmy, dmy_ok = _extract(values, DMY_DATE)
    use_dmy = ~iso_ok & dmy_ok
    y, m, d = (np.where(use_dmy, _int_field(dmy, k), _int_field(iso, k)) for k in "ymd")
    days, real = _calendar(y, m, d)
    return days, real & (iso_ok | dmy_ok)


def _time_after_date(values: pa.Array) -> pa.Array:
    """Return the time written after a date (``2019-01-01 12:00:00``), else ``""``."""
    longer = _numpy(pc.greater(pc.utf8_length(values), 10))
    found = np.full(len(values), "", dtype=object)
    rows = np.flatnonzero(longer)
    if len(rows):
        parts = pc.extract_regex(values.take(pa.array(rows)), r"^\s*\S+[ T](?P<t>\d{1,2}:\S*)\s*$")
        found[rows] = pc.fill_null(pc.struct_field(parts, "t"), "").to_pylist()
    return pa.array(found, pa.string())


def parse_dates(values: pa.Array) -> tuple[Parsed, pa.Array]:
    """Parse ``YYYY-MM-DD`` (also with ``/`` or a time part) or ``DD/MM/YYYY``.

    Returns
    -------
    dates : Parsed
        ``datetime64[D]`` values; ``bad`` marks non-empty text that is no real date.
    time_part : pyarrow.Array
        The time written after the date, or ``""``; used when the time column is empty.
    """
    dates, texts, rows = _per_distinct(values, _strptime_days, _regex_days)
    return dates, _time_after_date(texts).take(pa.array(rows))


def _calendar(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Build dates from parts; ``real`` is False for impossible ones (e.g. 2019-02-30)."""
    in_range = (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31) & (y >= 1) & (y <= 9999)
    months = np.where(in_range, (y - 1970) * 12 + (m - 1), 0).astype("datetime64[M]")
    days = months.astype("datetime64[D]") + np.where(in_range, d - 1, 0)
    real = in_range & (days.astype("datetime64[M]") == months)
    return days, real


_MIDNIGHT = np.datetime64("1900-01-01T00:00:00", "s")


def _strptime_seconds(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    checks = (("hour", 0), ("minute", 3), ("second", 6))
    stamps, ok = _strict_strptime(values, "%H:%M:%S", checks, 8)
    seconds = _numpy(pc.fill_null(stamps, 0)).astype("datetime64[s]") - _MIDNIGHT
    return np.where(ok, seconds.astype(np.int64), 0), ok


def _regex_seconds(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    parts, ok = _extract(values, TIME)
    h, mi, s = (_int_field(parts, k) for k in ("h", "mi", "s"))
    real = ok & (h < 24) & (mi < 60) & (s < 60)
    return np.where(real, h * 3600 + mi * 60 + s, 0), real


def parse_times(values: pa.Array) -> Parsed:
    """Parse ``HH:MM``, ``HH:MM:SS`` and drifted forms such as ``HH:MM:SS:00``.

    Values are seconds since midnight.
    """
    return _per_distinct(values, _strptime_seconds, _regex_seconds)[0]


def _cast_numbers(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    try:
        parsed = _numpy(pc.cast(values, pa.float64()))
    except pa.ArrowInvalid:
        return np.full(len(values), np.nan), np.zeros(len(values), bool)
    return parsed, np.isfinite(parsed)


def _regex_numbers(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    numeric = _numpy(pc.match_substring_regex(values, NUMBER))
    cleaned = pc.if_else(pa.array(numeric), pc.utf8_trim_whitespace(values), "nan")
    return _numpy(pc.cast(cleaned, pa.float64())), numeric


def parse_numbers(values: pa.Array) -> Parsed:
    """Parse decimal numbers; ``NA``, ``NULL`` and blanks are empty."""
    parsed, ok = _fast_then_slow(values, _cast_numbers, _regex_numbers)
    empty = np.zeros(len(values), bool)
    unread = np.flatnonzero(~ok)  # a number is never a missing word: test only the rest
    if len(unread):
        empty[unread] = _is_missing(values.take(pa.array(unread)))
    return Parsed(np.where(ok, parsed, np.nan), empty, ~empty & ~ok)


def parse_integers(values: pa.Array) -> Parsed:
    """Parse whole numbers (row ids)."""
    empty = _is_missing(values)
    ok = pc.match_substring_regex(values, r"^\s*\d{1,18}\s*$").to_numpy(zero_copy_only=False)
    cleaned = pc.if_else(pa.array(ok), pc.utf8_trim_whitespace(values), "0")
    parsed = pc.cast(cleaned, pa.int64()).to_numpy(zero_copy_only=False)
    return Parsed(parsed, empty, ~empty & ~ok)


def clean_text(values: pa.Array, repair: bool = False):
    """Trim and collapse whitespace, upper-case; nulls stay null.

    With ``repair``, texts mis-decoded upstream are first repaired (see
    :func:`repair_mojibake`), and the result is ``(texts, rows repaired)``.
    """
    encoded = pc.dictionary_encode(values)
    dictionary, repaired = encoded.dictionary, 0
    if repair:
        dictionary, changed = _repair_dictionary(dictionary)
        if changed.any():
            rows = pc.drop_null(encoded.indices).to_numpy(zero_copy_only=False)
            repaired = int(changed[rows].sum())
    texts = pc.replace_substring_regex(pc.utf8_trim_whitespace(dictionary), r"\s+", " ")
    cleaned = pc.utf8_upper(texts).take(encoded.indices)
    return (cleaned, repaired) if repair else cleaned


#: Letters an upper-case Spanish text may hold beyond ASCII.
SPANISH_UPPER = frozenset("ÁÉÍÓÚÜÑ")


def _unmangled(text: str) -> str | None:
    """Return ``text`` repaired if it is DOS code page 850 read as Latin-1, else ``None``.

    Only an all-capitals text (no ASCII lower case) with a character a Spanish
    capitals text cannot hold is a suspect (``VIOLACIàN``, ``VEHÖCULO``); the repair
    is kept only when it yields nothing but Spanish capitals (``VIOLACIÓN``).
    """
    odd = [c for c in text if ord(c) > 127 and c not in SPANISH_UPPER]
    if not odd or any("a" <= c <= "z" for c in text):
        return None
    try:
        fixed = text.encode("latin-1").decode("cp850")
    except UnicodeError:
        return None
    if all(ord(c) < 128 or c in SPANISH_UPPER for c in fixed):
        return fixed
    return None


def _repair_dictionary(texts: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Repair distinct texts; return them and a mask of those changed."""
    fixed = [_unmangled(t) if t is not None else None for t in texts.to_pylist()]
    changed = np.array([f is not None for f in fixed], bool)
    if not changed.any():
        return texts, changed
    merged = [f if f is not None else t for f, t in zip(fixed, texts.to_pylist(), strict=True)]
    return pa.array(merged, pa.string()), changed


def repair_mojibake(values: pa.Array) -> tuple[pa.Array, int]:
    """Repair texts mis-decoded upstream (code page 850 bytes read as Latin-1).

    Each distinct text is looked at once. Returns the texts and how many rows were
    repaired.
    """
    encoded = pc.dictionary_encode(values)
    dictionary, changed = _repair_dictionary(encoded.dictionary)
    if not changed.any():
        return values, 0
    rows = pc.drop_null(encoded.indices).to_numpy(zero_copy_only=False)
    return dictionary.take(encoded.indices), int(changed[rows].sum())
