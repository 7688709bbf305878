"""Versioned offence taxonomy: every source offence text maps to one canonical category.

Two package data files define the taxonomy (see ``docs/taxonomy.md``):

``data/categories.csv``
    The canonical categories (``code,name_es,name_en,high_impact,sort_order``): the official
    Mexico City high-impact categories, a few low-impact groups and the catch-all
    :data:`CATCH_ALL`.
``data/offence_taxonomy.csv``
    ``source,reported,category``: one row per offence text of a source (``ssp`` or ``fgj``),
    with ``reported`` stored in the form :func:`normalize_offence` produces.

Both files are checked when first loaded; a broken file raises :class:`ValueError` naming the
file and the line. Lookups never fail on unknown text: :func:`classify` returns
:data:`CATCH_ALL` and the caller reports the text in its load summary.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from types import MappingProxyType

__all__ = [
    "CATCH_ALL",
    "TAXONOMY_VERSION",
    "Category",
    "categories",
    "classify",
    "normalize_offence",
    "offence_map",
]

#: Version of the mapping; bump it whenever either data file changes (see docs/taxonomy.md).
TAXONOMY_VERSION: str = "2026.1"

#: Code of the category that receives every offence text the taxonomy does not know.
CATCH_ALL: str = "otros"

_SOURCES = frozenset({"ssp", "fgj"})
_CATEGORIES_FILE = "categories.csv"
_TAXONOMY_FILE = "offence_taxonomy.csv"
_CATEGORY_COLUMNS = ("code", "name_es", "name_en", "high_impact", "sort_order")
_TAXONOMY_COLUMNS = ("source", "reported", "category")
_CODE_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True)
class Category:
    """A canonical offence category.

    Attributes
    ----------
    code : str
        Short ASCII snake_case identifier, e.g. ``"robo_transeunte_cv"``.
    name_es : str
        Spanish name, with accents.
    name_en : str
        English name.
    high_impact : bool
        Whether it is one of Mexico City's official high-impact categories.
    sort_order : int
        Position in reports and menus (ascending).
    """

    code: str
    name_es: str
    name_en: str
    high_impact: bool
    sort_order: int


@dataclass(frozen=True)
class _Index:
    """The loaded offence map, plus the same map keyed by accent-folded text."""

    exact: Mapping[tuple[str, str], str]
    folded: Mapping[tuple[str, str], str]


def normalize_offence(text: str) -> str:
    """Return the canonical spelling of an offence text, used as the lookup key.

    Strips the ends, collapses every run of internal whitespace (tabs, newlines, non-breaking
    spaces) to one space, upper-cases, and composes characters to Unicode NFC. Accents are
    kept as they are; :func:`classify` additionally matches accent-insensitively.

    Parameters
    ----------
    text : str
        Offence text as reported by the source.

    Returns
    -------
    str
        The normalised text, e.g. ``"ROBO A NEGOCIO CON VIOLENCIA"``.
    """
    return unicodedata.normalize("NFC", " ".join(text.split()).upper())


def _fold(text: str) -> str:
    """Return ``text`` without combining marks (``"VÍA"`` -> ``"VIA"``, ``"Ñ"`` -> ``"N"``)."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _error(path: Traversable, line: int, message: str) -> ValueError:
    """Build the error raised for a defect at ``line`` of the data file ``path``."""
    return ValueError(f"{path}, line {line}: {message}")


def _rows(path: Traversable, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Return ``(line number, row)`` for each record of the CSV file ``path``.

    Raises
    ------
    ValueError
        If the header is not exactly ``columns`` or a record has the wrong number of fields.
    """
    rows = []
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = tuple(reader.fieldnames or ())
        if header != columns:
            raise _error(path, 1, f"expected columns {','.join(columns)}, found {header}")
        for row in reader:
            if None in row or None in row.values():
                raise _error(path, reader.line_num, f"expected {len(columns)} fields")
            rows.append((reader.line_num, row))
    return rows


def _parse_category(path: Traversable, line: int, row: dict[str, str]) -> Category:
    """Validate one row of the categories file and turn it into a :class:`Category`."""
    code = row["code"]
    if not _CODE_PATTERN.fullmatch(code):
        raise _error(path, line, f"category code {code!r} is not ASCII snake_case")
    if not row["name_es"].strip() or not row["name_en"].strip():
        raise _error(path, line, f"category {code!r} has an empty name")
    high_impact = _BOOLEANS.get(row["high_impact"])
    if high_impact is None:
        raise _error(path, line, f"high_impact must be true or false, not {row['high_impact']!r}")
    try:
        sort_order = int(row["sort_order"])
    except ValueError:
        raise _error(path, line, f"sort_order {row['sort_order']!r} is not an integer") from None
    return Category(code, row["name_es"], row["name_en"], high_impact, sort_order)


def _load_categories(path: Traversable) -> tuple[Category, ...]:
    """Read and validate a categories file.

    Parameters
    ----------
    path : Traversable
        A ``categories.csv`` file (a :class:`pathlib.Path` works).

    Returns
    -------
    tuple of Category
        The categories in ascending ``sort_order``.

    Raises
    ------
    ValueError
        On a bad header or row, a duplicate code or sort order, or a missing, or high-impact,
        catch-all category; the message names the file and the line.
    """
    seen_codes: dict[str, int] = {}
    seen_orders: dict[int, int] = {}
    found: list[Category] = []
    for line, row in _rows(path, _CATEGORY_COLUMNS):
        category = _parse_category(path, line, row)
        if category.code in seen_codes:
            first = seen_codes[category.code]
            raise _error(path, line, f"duplicate category code {category.code!r} (line {first})")
        if category.sort_order in seen_orders:
            first = seen_orders[category.sort_order]
            raise _error(path, line, f"duplicate sort_order {category.sort_order} (line {first})")
        if category.code == CATCH_ALL and category.high_impact:
            raise _error(path, line, f"the catch-all {CATCH_ALL!r} cannot be high-impact")
        seen_codes[category.code] = line
        seen_orders[category.sort_order] = line
        found.append(category)
    if CATCH_ALL not in seen_codes:
        raise ValueError(f"{path}: the catch-all category {CATCH_ALL!r} is missing")
    return tuple(sorted(found, key=lambda category: category.sort_order))


def _parse_mapping(
    path: Traversable, line: int, row: dict[str, str], known_codes: Collection[str]
) -> tuple[tuple[str, str], str]:
    """Validate one row of the offence taxonomy file; return its key and category code."""
    source, reported, code = row["source"], row["reported"], row["category"]
    if source not in _SOURCES:
        raise _error(path, line, f"unknown source {source!r}; expected one of {sorted(_SOURCES)}")
    if not reported.strip():
        raise _error(path, line, "empty reported offence")
    if reported != normalize_offence(reported):
        normal = normalize_offence(reported)
        raise _error(path, line, f"reported {reported!r} is not normalised; write {normal!r}")
    if code not in known_codes:
        raise _error(path, line, f"category {code!r} is not defined in {_CATEGORIES_FILE}")
    return (source, reported), code


def _load_offence_map(
    path: Traversable, known_codes: Collection[str]
) -> dict[tuple[str, str], str]:
    """Read and validate an offence taxonomy file.

    Parameters
    ----------
    path : Traversable
        An ``offence_taxonomy.csv`` file (a :class:`pathlib.Path` works).
    known_codes : Collection of str
        The category codes the file may use.

    Returns
    -------
    dict
        ``(source, normalised reported text) -> category code``.

    Raises
    ------
    ValueError
        On a bad header or row, an unknown source or category, a ``reported`` text that is not
        normalised, or two rows for the same source whose texts are equal once accents are
        ignored; the message names the file and the line.
    """
    mapping: dict[tuple[str, str], str] = {}
    lines: dict[tuple[str, str], tuple[int, str]] = {}
    for line, row in _rows(path, _TAXONOMY_COLUMNS):
        key, code = _parse_mapping(path, line, row, known_codes)
        folded = (key[0], _fold(key[1]))
        if folded in lines:
            first, text = lines[folded]
            raise _error(path, line, f"duplicate offence {key} (line {first}: {text!r})")
        lines[folded] = (line, key[1])
        mapping[key] = code
    return mapping


def _data_file(name: str) -> Traversable:
    """Return the package data file ``name``."""
    return files("compstat") / "data" / name


@functools.cache
def categories() -> tuple[Category, ...]:
    """Return the canonical categories, in ascending ``sort_order``.

    The file is read and validated once; later calls return the cached tuple.

    Returns
    -------
    tuple of Category
        Every category, including the catch-all :data:`CATCH_ALL`.

    Raises
    ------
    ValueError
        If ``categories.csv`` is malformed (the message names the line).
    """
    return _load_categories(_data_file(_CATEGORIES_FILE))


@functools.cache
def _index() -> _Index:
    """Load the offence taxonomy once and index it by exact and by accent-folded text."""
    codes = {category.code for category in categories()}
    exact = _load_offence_map(_data_file(_TAXONOMY_FILE), codes)
    folded = {(source, _fold(text)): code for (source, text), code in exact.items()}
    return _Index(MappingProxyType(exact), MappingProxyType(folded))


def offence_map() -> dict[tuple[str, str], str]:
    """Return the offence taxonomy as a dictionary.

    The file is read and validated once and cached; each call returns a fresh copy, so callers
    may modify it freely.

    Returns
    -------
    dict
        ``(source, normalised reported text) -> category code``, where ``source`` is ``"ssp"``
        or ``"fgj"``.

    Raises
    ------
    ValueError
        If either data file is malformed (the message names the file and the line).
    """
    return dict(_index().exact)


def classify(source: str, reported: str) -> str:
    """Return the category code of an offence reported by a source.

    The text is normalised with :func:`normalize_offence` and looked up; if that fails, it is
    looked up again ignoring accents (``"VIOLACIÓN"`` finds ``"VIOLACION"``). Text the taxonomy
    does not know, including an empty string or a missing value, gets :data:`CATCH_ALL`: the
    caller keeps the row and reports the text in its load summary.

    Parameters
    ----------
    source : str
        ``"ssp"`` or ``"fgj"``.
    reported : str
        Offence text as found in the source file.

    Returns
    -------
    str
        A category code from :func:`categories`.

    Raises
    ------
    ValueError
        If ``source`` is not a known source (a programming error, unlike unknown text).
    """
    if source not in _SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {sorted(_SOURCES)}")
    if not isinstance(reported, str):
        return CATCH_ALL
    text = normalize_offence(reported)
    index = _index()
    code = index.exact.get((source, text))
    if code is None:
        code = index.folded.get((source, _fold(text)), CATCH_ALL)
    return code
