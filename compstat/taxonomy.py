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
import hashlib
import os
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

__all__ = [
    "CATCH_ALL",
    "EXTRA_ENV",
    "TAXONOMY_VERSION",
    "Category",
    "OfficialCategory",
    "categories",
    "classify",
    "is_known",
    "normalize_offence",
    "offence_map",
    "official_categories",
    "official_rule",
    "resolve",
    "set_extra",
    "version",
]

#: Version of the mapping; bump it whenever either data file changes (see docs/taxonomy.md).
TAXONOMY_VERSION: str = "2026.2"

#: Code of the category that receives every offence text the taxonomy does not know.
CATCH_ALL: str = "otros"

_SOURCES = frozenset({"ssp", "fgj"})
_CATEGORIES_FILE = "categories.csv"
_TAXONOMY_FILE = "offence_taxonomy.csv"
_OFFICIAL_FILE = "official_categories.csv"
_OFFICIAL_COLUMNS = ("source", "official", "category", "category_sv")
#: Environment variable naming extra taxonomy files (separated by ``os.pathsep``).
EXTRA_ENV = "COMPSTAT_TAXONOMY_EXTRA"
#: Where a high-impact category goes when the source's own category says the row is of
#: low impact ("DELITO DE BAJO IMPACTO"): the nearest low-impact group.
LOW_IMPACT_FALLBACK = {
    "homicidio_doloso": "otros",
    "lesiones_arma_fuego": "lesiones_dolosas",
    "secuestro": "otros",
    "violacion": "delitos_sexuales",
}
#: An offence text that says the robbery was without violence.
_WITHOUT_VIOLENCE = re.compile(r"\bSIN VIOLENCIA\b|\bS\s*/\s*V\b|\bS\.V\.|\bSV$")
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


def _index() -> _Index:
    """Return the offence taxonomy (with the extra files in use), indexed."""
    return _index_for(_extra_files())


@functools.cache
def _index_for(extra: tuple[Path, ...]) -> _Index:
    """Load the offence taxonomy once and index it by exact and by accent-folded text."""
    codes = {category.code for category in categories()}
    exact = _load_offence_map(_data_file(_TAXONOMY_FILE), codes)
    folded = {(source, _fold(text)): code for (source, text), code in exact.items()}
    for path in _extras(extra)[0]:
        for (source, text), code in _load_offence_map(path, codes).items():
            known = [key for key in exact if key[0] == source and _fold(key[1]) == _fold(text)]
            for key in known:  # an extra row overrides the packaged row of the same text
                del exact[key]
            exact[(source, text)] = code
            folded[(source, _fold(text))] = code
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


def is_known(source: str, reported: str) -> bool:
    """Return whether the taxonomy maps ``reported`` (exactly or ignoring accents).

    An unknown text is classified as :data:`CATCH_ALL` and reported in load summaries.
    """
    text = normalize_offence(reported)
    index = _index()
    return (source, text) in index.exact or (source, _fold(text)) in index.folded


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


@dataclass(frozen=True)
class OfficialCategory:
    """What a source's own category text (FGJ ``categoria_delito``) decides.

    Attributes
    ----------
    official : str
        The category text, normalised.
    category : str or None
        The canonical category of a row with violence, or of every row when
        ``category_sv`` is ``None``; ``None`` means "low impact": the offence text's
        category decides, but never a high-impact one.
    category_sv : str or None
        The canonical category of a row whose offence text says it was without
        violence, for official categories that lump "con y sin violencia".
    """

    official: str
    category: str | None
    category_sv: str | None


_extra_paths: tuple[Path, ...] = ()


def set_extra(paths: Sequence[str | Path]) -> None:
    """Use extra taxonomy files from now on, besides those named by :data:`EXTRA_ENV`.

    Each file is either an offence file (``source,reported,category``; a row overrides
    the packaged mapping of its text) or an official-category file
    (``source,official,category,category_sv``), told apart by the header. They let a
    user who loads a newer release map its new texts without editing code.
    """
    global _extra_paths
    _extra_paths = tuple(Path(p) for p in paths)
    _clear_caches()


def _clear_caches() -> None:
    _index_for.cache_clear()
    _official_for.cache_clear()
    _extras.cache_clear()


def _extra_files() -> tuple[Path, ...]:
    from_env = tuple(Path(p) for p in os.environ.get(EXTRA_ENV, "").split(os.pathsep) if p)
    return from_env + _extra_paths


@functools.cache
def _extras(files_: tuple[Path, ...]) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """Split extra files into offence files and official-category files, by header."""
    offences, officials = [], []
    for path in files_:
        if not path.is_file():
            raise ValueError(f"{path}: extra taxonomy file not found")
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            header = tuple(next(csv.reader(handle), ()))
        if header == _OFFICIAL_COLUMNS:
            officials.append(path)
        elif header == _TAXONOMY_COLUMNS:
            offences.append(path)
        else:
            raise ValueError(
                f"{path}, line 1: expected columns {','.join(_TAXONOMY_COLUMNS)} or "
                f"{','.join(_OFFICIAL_COLUMNS)}, found {header}"
            )
    return tuple(offences), tuple(officials)


def version() -> str:
    """Return the taxonomy version in use: :data:`TAXONOMY_VERSION`, plus ``+extra.<hash>``.

    The suffix fingerprints the extra files' contents, so offences classified with
    them are told apart from those classified by the packaged files alone.
    """
    files_ = _extra_files()
    if not files_:
        return TAXONOMY_VERSION
    digest = hashlib.sha256()
    for path in files_:
        digest.update(path.read_bytes())
    return f"{TAXONOMY_VERSION}+extra.{digest.hexdigest()[:8]}"


def _load_official(
    path: Traversable, known_codes: Collection[str]
) -> dict[tuple[str, str], OfficialCategory]:
    found: dict[tuple[str, str], OfficialCategory] = {}
    for line, row in _rows(path, _OFFICIAL_COLUMNS):
        source, official = row["source"], row["official"]
        if source not in _SOURCES:
            raise _error(path, line, f"unknown source {source!r}")
        if official != normalize_offence(official) or not official:
            raise _error(path, line, f"official {official!r} is empty or not normalised")
        codes = [row["category"] or None, row["category_sv"] or None]
        for code in codes:
            if code is not None and code not in known_codes:
                raise _error(path, line, f"category {code!r} is not defined in {_CATEGORIES_FILE}")
        if codes[0] is None and codes[1] is not None:
            raise _error(path, line, "category_sv without category")
        found[(source, _fold(official))] = OfficialCategory(official, *codes)
    return found


def _official() -> Mapping[tuple[str, str], OfficialCategory]:
    return _official_for(_extra_files())


@functools.cache
def _official_for(extra: tuple[Path, ...]) -> Mapping[tuple[str, str], OfficialCategory]:
    codes = {category.code for category in categories()}
    found = _load_official(_data_file(_OFFICIAL_FILE), codes)
    for path in _extras(extra)[1]:
        found.update(_load_official(path, codes))
    return MappingProxyType(found)


def official_categories() -> dict[tuple[str, str], OfficialCategory]:
    """Return the known official categories, keyed by ``(source, accent-folded text)``."""
    return dict(_official())


def official_rule(source: str, official: str) -> OfficialCategory | None:
    """Return what an official category text decides, or ``None`` if it is unknown."""
    return _official().get((source, _fold(normalize_offence(official))))


def resolve(source: str, reported: str, official: str | None) -> tuple[str, bool]:
    """Return the category of a row from its offence text and the source's own category.

    Where the row carries an official category the taxonomy knows, it decides whether
    the row is high-impact and in which high-impact family; the offence text still
    splits "con y sin violencia" families. A low-impact official category ("DELITO DE
    BAJO IMPACTO") keeps the text's category unless that one is high-impact, which is
    then replaced by its low-impact fallback. Rows without an official category, or
    with one the taxonomy does not know, get the text's category.

    Returns
    -------
    code : str
        The category code.
    known : bool
        Whether the official category was known (``False`` also when absent).
    """
    text_code = classify(source, reported)
    if official is None:
        return text_code, False
    rule = official_rule(source, official)
    if rule is None:
        return text_code, False
    if rule.category is None:
        return _low_impact(text_code), True
    if rule.category_sv is None:
        return rule.category, True
    if text_code in (rule.category, rule.category_sv):
        return text_code, True
    without = text_code.endswith("_sv") or bool(
        _WITHOUT_VIOLENCE.search(normalize_offence(reported))
    )
    return (rule.category_sv if without else rule.category), True


def _low_impact(code: str) -> str:
    """Return ``code``, or its low-impact fallback if it is high-impact."""
    by_code = {category.code: category for category in categories()}
    if not by_code[code].high_impact:
        return code
    if code in LOW_IMPACT_FALLBACK:
        return LOW_IMPACT_FALLBACK[code]
    return "robo_otros_sv" if code.endswith("_sv") else "robo_otros_cv"
