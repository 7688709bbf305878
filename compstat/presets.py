"""Named, versioned definitions of the higher-crime-area moderator.

``data/moderator_presets.csv`` lists the presets (``name, measure, group, months,
comparison, cutoff, percentile, ties, export_groups, description``) and
``data/moderator_variants.csv`` the pre-declared sensitivity variants (``variant,
parameter, value``: one parameter of the preset, or the assignment basis or census of
the export, changed at a time). Both are versioned together by
:data:`PRESETS_VERSION`, like the taxonomy: bump it whenever either file changes, so
every export that names a preset and version names one definition.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
from dataclasses import dataclass
from importlib.resources import files

from compstat.errors import InvalidQueryError
from compstat.groups import group
from compstat.stats import moderator

__all__ = ["DEFAULT_PRESET", "PRESETS_VERSION", "Preset", "Variant", "preset", "variants"]

#: Version of the presets and variants files; bump it whenever either changes.
PRESETS_VERSION: str = "2026.1"
DEFAULT_PRESET: str = "default"
MEASURES = ("count", "rate", "density")
COMPARISONS = ("listed",)
#: Parameters a sensitivity variant may change (``assignment`` and ``census`` belong to
#: the export request, the others to the preset).
VARIANT_PARAMETERS = ("measure", "months", "cutoff", "assignment", "census")

_PRESETS = "moderator_presets.csv"
_VARIANTS = "moderator_variants.csv"
_PRESET_COLUMNS = (
    "name",
    "measure",
    "group",
    "months",
    "comparison",
    "cutoff",
    "percentile",
    "ties",
    "export_groups",
    "description",
)


@dataclass(frozen=True)
class Preset:
    """One moderator definition.

    Attributes
    ----------
    name, version : str
        The preset's name and the version of the presets file.
    measure : str
        ``count``, ``rate`` (per 100,000 residents) or ``density`` (per km²).
    group : str
        Crime group code (see :mod:`compstat.groups`).
    months : int
        Length of the moderator's window: the ``months`` months ending on the end date.
    comparison : str
        ``listed``: the units of ``--units``, else every unit of the level.
    cutoff : str
        ``median``, ``terciles`` (higher-crime = top tercile) or ``percentile``.
    percentile : float or None
        The cut-off percentile of ``cutoff="percentile"``.
    ties : str
        Tie rule of :mod:`compstat.stats.moderator` (``lower``, ``higher``, ``rank``).
    export_groups : tuple of str
        Groups the covariate export reports (the moderator's group first).
    description : str
    """

    name: str
    version: str
    measure: str
    group: str
    months: int
    comparison: str
    cutoff: str
    percentile: float | None
    ties: str
    export_groups: tuple[str, ...]
    description: str

    def __post_init__(self) -> None:
        where = f"preset {self.name!r}"
        if self.measure not in MEASURES:
            raise InvalidQueryError(f"{where}: measure must be one of {', '.join(MEASURES)}")
        if self.comparison not in COMPARISONS:
            raise InvalidQueryError(f"{where}: comparison must be one of {COMPARISONS}")
        if self.months < 1:
            raise InvalidQueryError(f"{where}: the window needs at least one month")
        if self.ties not in moderator.TIE_RULES:
            raise InvalidQueryError(f"{where}: unknown tie rule {self.ties!r}")
        for code in (self.group, *self.export_groups):
            group(code)
        self.rule()

    def rule(self) -> moderator.Classifier:
        """Return the binary higher-crime rule of the preset."""
        try:
            return moderator.classifier(self.cutoff, percentile=self.percentile, ties=self.ties)
        except ValueError as exc:
            raise InvalidQueryError(f"preset {self.name!r}: {exc}") from None

    @property
    def groups(self) -> tuple[str, ...]:
        """The export's groups: the moderator's group first, then the others."""
        return tuple(dict.fromkeys((self.group, *self.export_groups)))

    def to_dict(self) -> dict:
        """Return the definition as plain JSON values (for manifests)."""
        data = dataclasses.asdict(self)
        data["export_groups"] = list(self.export_groups)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Preset:
        """Rebuild a preset from :meth:`to_dict` (e.g. a manifest's copy)."""
        values = dict(data)
        values["export_groups"] = tuple(values["export_groups"])
        return cls(**values)

    def with_change(self, parameter: str, value: str) -> Preset:
        """Return a copy with one preset parameter changed (a sensitivity variant)."""
        if parameter == "months":
            return dataclasses.replace(self, months=int(value))
        if parameter == "cutoff":
            return dataclasses.replace(self, cutoff=value, percentile=None)
        return dataclasses.replace(self, **{parameter: value})


@dataclass(frozen=True)
class Variant:
    """A pre-declared sensitivity variant: one parameter set to one value."""

    name: str
    parameter: str
    value: str


def _rows(name: str, columns: tuple[str, ...]) -> list[tuple[int, dict]]:
    path = files("compstat") / "data" / name
    with path.open("r", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != columns:
            raise ValueError(f"{name}, line 1: expected columns {','.join(columns)}")
        return list(enumerate(reader, start=2))


def _preset(row: dict, line: int) -> Preset:
    try:
        return Preset(
            name=row["name"],
            version=PRESETS_VERSION,
            measure=row["measure"],
            group=row["group"],
            months=int(row["months"]),
            comparison=row["comparison"],
            cutoff=row["cutoff"],
            percentile=float(row["percentile"]) if row["percentile"] else None,
            ties=row["ties"],
            export_groups=tuple(row["export_groups"].split(";")),
            description=row["description"],
        )
    except (InvalidQueryError, ValueError) as exc:
        raise ValueError(f"{_PRESETS}, line {line}: {exc}") from None


@functools.cache
def presets() -> dict[str, Preset]:
    """Return every preset of the data file by name."""
    return {row["name"]: _preset(row, line) for line, row in _rows(_PRESETS, _PRESET_COLUMNS)}


def preset(name: str = DEFAULT_PRESET) -> Preset:
    """Return the preset ``name``; an unknown name lists the valid ones."""
    found = presets().get(name)
    if found is None:
        raise InvalidQueryError(f"unknown preset {name!r}; valid presets: {', '.join(presets())}")
    return found


@functools.cache
def variants() -> tuple[Variant, ...]:
    """Return the pre-declared sensitivity variants, in the file's order."""
    found = []
    for line, row in _rows(_VARIANTS, ("variant", "parameter", "value")):
        if row["parameter"] not in VARIANT_PARAMETERS:
            raise ValueError(f"{_VARIANTS}, line {line}: unknown parameter {row['parameter']!r}")
        found.append(Variant(row["variant"], row["parameter"], row["value"]))
    return tuple(found)
