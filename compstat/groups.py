"""Category groups: the crime totals commanders are held to, built from canonical categories.

The data file ``data/category_groups.csv`` (``code,name_es,name_en,categories``) lists the
groups that span several categories; ``categories`` is a ``;``-separated list of category
codes, or ``@high_impact`` (every high-impact category) or ``@all`` (every category).
Every canonical category is also a group of its own, with the category's code and names,
so ``robo_transeunte_cv`` works wherever a group code does. The groups are versioned with
:data:`GROUPS_VERSION` beside the taxonomy (see ``docs/taxonomy.md``).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib.resources import files

from compstat.errors import InvalidQueryError
from compstat.taxonomy import Category, categories

__all__ = ["GROUPS_VERSION", "HIGH_IMPACT", "Group", "group", "groups", "resolve_groups"]

#: Version of the groups file; bump it whenever the file changes.
GROUPS_VERSION: str = "2026.1"
#: Code of the high-impact total, the default group everywhere.
HIGH_IMPACT: str = "alto_impacto"

_FILE = "category_groups.csv"
_COLUMNS = ("code", "name_es", "name_en", "categories")


@dataclass(frozen=True)
class Group:
    """A named set of canonical categories.

    Attributes
    ----------
    code : str
        Group code, e.g. ``"alto_impacto"``.
    name_es, name_en : str
        Names in Spanish and English.
    categories : tuple of str
        Canonical category codes it sums, in the taxonomy's order.
    single : bool
        Whether it is one category on its own.
    """

    code: str
    name_es: str
    name_en: str
    categories: tuple[str, ...]
    single: bool = False

    def name(self, language: str) -> str:
        """Return the name in ``language`` (``es`` or ``en``)."""
        return self.name_en if language == "en" else self.name_es


def _known() -> dict[str, Category]:
    return {c.code: c for c in categories()}


def _members(spec: str, line: int) -> tuple[str, ...]:
    known = _known()
    if spec == "@all":
        chosen = set(known)
    elif spec == "@high_impact":
        chosen = {code for code, c in known.items() if c.high_impact}
    else:
        chosen = set(spec.split(";"))
        unknown = sorted(chosen - set(known))
        if unknown:
            raise ValueError(f"{_FILE}, line {line}: unknown categories {', '.join(unknown)}")
    return tuple(sorted(chosen, key=lambda code: known[code].sort_order))


def _read_file() -> list[Group]:
    path = files("compstat") / "data" / _FILE
    with path.open("r", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != _COLUMNS:
            raise ValueError(f"{_FILE}, line 1: expected columns {','.join(_COLUMNS)}")
        return [
            Group(row["code"], row["name_es"], row["name_en"], _members(row["categories"], n))
            for n, row in enumerate(reader, start=2)
        ]


@functools.cache
def groups() -> dict[str, Group]:
    """Return every group by code: the file's groups first, then one per category."""
    listed = {g.code: g for g in _read_file()}
    for c in categories():
        if c.code in listed:
            raise ValueError(f"{_FILE}: group {c.code!r} has a category's code")
        listed[c.code] = Group(c.code, c.name_es, c.name_en, (c.code,), single=True)
    return listed


def group(code: str) -> Group:
    """Return the group ``code``.

    Raises
    ------
    InvalidQueryError
        No group or category has that code; the message lists the valid codes.
    """
    found = groups().get(code)
    if found is None:
        raise InvalidQueryError(f"unknown group or category {code!r}; valid codes: {valid_codes()}")
    return found


def valid_codes() -> str:
    """Return the valid group codes as one comma-separated line."""
    return ", ".join(groups())


def resolve_groups(codes: tuple[str, ...] | list[str]) -> list[Group]:
    """Return the groups named by ``codes`` (the high-impact total when empty), checked."""
    return [group(code) for code in (codes or (HIGH_IMPACT,))]
