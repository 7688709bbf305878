"""Reporting places: ~100 m cells where complaints are filed or caught, not where crime is.

Some of the busiest all-offence cells are a prosecutors' office, a court or a large
store: complaints of many unrelated offence types are located at the desk that took
them, dominated by offences without a street location (fraud, forged documents, false
statements, identity theft) or caught by a store's guards (shoplifting). A patrol
there helps nobody. The rule (:class:`PlaceRule`) flags a cell of ``cell_size`` metres
when, over ``days`` days,

- it holds at least ``min_per_year * days / 365`` incidents (rounded up): many complaints;
- they are of at least ``min_offences`` distinct offence texts and ``min_categories``
  distinct categories: many unrelated offence types;
- at least ``min_desk_share`` of them are *desk* offences (the caller says which).

Cells are squares of a grid anchored at the projection's origin (column
``floor(x / cell_size)``, row ``floor(y / cell_size)``), so the same point always falls
in the same cell whatever the study area. Everything here is a function of arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PlaceRule:
    """The reporting-place rule's parameters (defaults chosen on 2019-2023, docs/hotspots.md).

    Attributes
    ----------
    cell_size : float
        Cell side, metres.
    min_per_year : float
        Incidents a cell needs per 365 days.
    min_offences : int
        Distinct offence texts a cell needs.
    min_categories : int
        Distinct offence categories a cell needs.
    min_desk_share : float
        Share of desk offences a cell needs.
    """

    cell_size: float = 100.0
    min_per_year: float = 100.0
    min_offences: int = 10
    min_categories: int = 8
    min_desk_share: float = 0.5

    def min_count(self, days: int) -> int:
        """Return the incidents a cell needs over ``days`` days (at least 1)."""
        return max(1, math.ceil(self.min_per_year * days / 365 - 1e-9))


@dataclass(frozen=True)
class CellProfile:
    """What each occupied cell holds: one entry per cell, cells sorted by key.

    Attributes
    ----------
    keys : numpy.ndarray
        ``(n, 2)`` integer column and row of each cell.
    count : numpy.ndarray
        Incidents.
    offences, categories : numpy.ndarray
        Distinct offence codes and category codes.
    desk_share : numpy.ndarray
        Share of desk offences.
    top_share : numpy.ndarray
        Share of the most frequent offence.
    effective_offences : numpy.ndarray
        ``exp`` of the Shannon entropy of the offences (1: one offence; k: k equally common).
    """

    keys: np.ndarray
    count: np.ndarray
    offences: np.ndarray
    categories: np.ndarray
    desk_share: np.ndarray
    top_share: np.ndarray
    effective_offences: np.ndarray

    def take(self, which: np.ndarray) -> CellProfile:
        """Return the profile of some cells (a boolean mask or positions)."""
        return CellProfile(
            **{name: getattr(self, name)[which] for name in self.__dataclass_fields__}
        )

    def centres(self, cell_size: float) -> np.ndarray:
        """Return the ``(n, 2)`` metric centres of the cells."""
        return (self.keys + 0.5) * cell_size


def cell_keys(x: np.ndarray, y: np.ndarray, cell_size: float) -> np.ndarray:
    """Return the ``(n, 2)`` integer column and row of the cell holding each point."""
    if cell_size <= 0:
        raise ValueError(f"cell size must be positive, got {cell_size}")
    return np.column_stack(
        [np.floor(np.asarray(x, float) / cell_size), np.floor(np.asarray(y, float) / cell_size)]
    ).astype(np.int64)


def _distinct(
    cell: np.ndarray, code: np.ndarray, n_cells: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return each (cell, code) pair's cell and size, and the distinct codes per cell."""
    pairs, sizes = np.unique(np.column_stack([cell, code]), axis=0, return_counts=True)
    return pairs[:, 0], sizes, np.bincount(pairs[:, 0], minlength=n_cells)


def cell_profile(
    x: np.ndarray,
    y: np.ndarray,
    offence: np.ndarray,
    category: np.ndarray,
    desk: np.ndarray,
    cell_size: float,
) -> CellProfile:
    """Return the profile of every cell holding at least one point.

    Parameters
    ----------
    x, y : numpy.ndarray
        Metric coordinates (EPSG:32614).
    offence, category : numpy.ndarray
        Integer offence code (the source's offence text) and category code per point.
    desk : numpy.ndarray
        Whether each point's offence is a desk offence.
    cell_size : float
        Cell side, metres.
    """
    keys, cell = np.unique(cell_keys(x, y, cell_size), axis=0, return_inverse=True)
    cell = cell.ravel()
    n = len(keys)
    count = np.bincount(cell, minlength=n).astype(np.int64)
    pair_cell, sizes, offences = _distinct(cell, np.asarray(offence), n)
    top = np.zeros(n)
    np.maximum.at(top, pair_cell, sizes)
    share = sizes / count[pair_cell]
    entropy = np.bincount(pair_cell, weights=-share * np.log(share), minlength=n)
    return CellProfile(
        keys=keys,
        count=count,
        offences=offences,
        categories=_distinct(cell, np.asarray(category), n)[2],
        desk_share=np.bincount(cell, weights=np.asarray(desk, float), minlength=n) / count,
        top_share=top / count,
        effective_offences=np.exp(entropy),
    )


def flag_places(profile: CellProfile, rule: PlaceRule, days: int) -> np.ndarray:
    """Return which cells of ``profile`` are reporting places under ``rule`` over ``days``."""
    return (
        (profile.count >= rule.min_count(days))
        & (profile.offences >= rule.min_offences)
        & (profile.categories >= rule.min_categories)
        & (profile.desk_share >= rule.min_desk_share)
    )


def reporting_places(
    x: np.ndarray,
    y: np.ndarray,
    offence: np.ndarray,
    category: np.ndarray,
    desk: np.ndarray,
    days: int,
    rule: PlaceRule = PlaceRule(),
) -> CellProfile:
    """Return the reporting places among the points, busiest first (see the module's rule)."""
    profile = cell_profile(x, y, offence, category, desk, rule.cell_size)
    places = profile.take(flag_places(profile, rule, days))
    return places.take(np.argsort(-places.count, kind="stable"))


def cell_positions(x: np.ndarray, y: np.ndarray, keys: np.ndarray, cell_size: float) -> np.ndarray:
    """Return, per point, the position of its cell in ``keys`` (``(k, 2)`` columns, rows), or -1."""
    wanted = _flat(np.asarray(keys, np.int64).reshape(-1, 2))
    points = _flat(cell_keys(x, y, cell_size))
    if wanted.size == 0:
        return np.full(points.size, -1, np.int64)
    order = np.argsort(wanted, kind="stable")
    at = np.minimum(np.searchsorted(wanted[order], points), wanted.size - 1)
    return np.where(wanted[order][at] == points, order[at], -1)


def in_cells(x: np.ndarray, y: np.ndarray, keys: np.ndarray, cell_size: float) -> np.ndarray:
    """Return which points lie in one of the cells ``keys`` (``(k, 2)`` column and row)."""
    return cell_positions(x, y, keys, cell_size) >= 0


def _flat(keys: np.ndarray) -> np.ndarray:
    """Return one integer per cell (column and row packed; rows below 2**31 in size)."""
    return keys[:, 0] * (1 << 32) + keys[:, 1]
