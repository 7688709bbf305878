"""The higher-crime-area moderator: cut-off rules, stability and class changes.

Every rule takes a one-dimensional array of a measure (a count, a rate per 100,000
residents or a density per km², one value per unit of the comparison set) and returns
one class per unit, in the same order. The binary rules return ``1`` for the
higher-crime class and ``0`` otherwise.

Tie rules
---------
A cut-off ``c`` is a percentile of the measure (numpy's default linear interpolation;
the median is the 50th percentile: the middle value of an odd-sized set, the mean of the
two middle values of an even-sized one).

``"lower"`` (the default)
    A unit is higher-crime only if its measure is strictly above ``c``; units equal to
    ``c`` stay in the lower class. An even-sized set whose two middle values differ
    therefore splits exactly in half; an odd-sized set puts the middle unit in the lower
    class, so ``(n - 1) / 2`` units are higher-crime.
``"higher"``
    Units equal to ``c`` join the higher class (measure ``>= c``).
``"rank"``
    Classes by rank, so the split is exact whatever the ties: the ``n - ceil(n q / 100)``
    units with the largest measure are higher-crime (``n / 2`` of an even-sized set for
    the median); among equal measures the unit with the larger ``tiebreak`` key (for
    instance the unit id) ranks higher, then the later position.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

TIE_RULES = ("lower", "higher", "rank")
CUTOFFS = ("median", "terciles", "percentile")

Classifier = Callable[[np.ndarray], np.ndarray]


def _measure(values: np.ndarray | pd.Series | list[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError("the measure must be a non-empty one-dimensional array")
    if not np.isfinite(array).all():
        raise ValueError("the measure has missing or infinite values")
    return array


def percentile_split(
    values: np.ndarray | pd.Series | list[float],
    q: float,
    *,
    ties: str = "lower",
    tiebreak: np.ndarray | pd.Series | list | None = None,
) -> np.ndarray:
    """Class 1 for units above the ``q``-th percentile of the measure, else 0.

    Parameters
    ----------
    values
        The measure, one value per unit of the comparison set.
    q
        Percentile of the cut-off, strictly between 0 and 100.
    ties
        ``"lower"``, ``"higher"`` or ``"rank"`` (see the module's documentation).
    tiebreak
        With ``ties="rank"``: a key ordering units with equal measures (e.g. unit ids).

    Returns
    -------
    numpy.ndarray
        ``int8`` array of 1 (higher-crime) and 0, in the order of ``values``.
    """
    measure = _measure(values)
    if not 0 < q < 100:
        raise ValueError(f"the percentile must lie strictly between 0 and 100, not {q}")
    if ties == "rank":
        return _rank_split(measure, q, tiebreak)
    cut = np.percentile(measure, q)
    if ties == "lower":
        return (measure > cut).astype(np.int8)
    if ties == "higher":
        return (measure >= cut).astype(np.int8)
    raise ValueError(f"unknown tie rule {ties!r}: use one of {', '.join(TIE_RULES)}")


def _rank_split(measure: np.ndarray, q: float, tiebreak) -> np.ndarray:
    n = measure.size
    keys = np.arange(n) if tiebreak is None else np.asarray(tiebreak)
    if keys.shape != measure.shape:
        raise ValueError("tiebreak must have one key per unit")
    order = np.lexsort((np.arange(n), keys, measure))
    n_higher = n - math.ceil(n * q / 100)
    classes = np.zeros(n, dtype=np.int8)
    classes[order[n - n_higher :]] = 1
    return classes


def median_split(
    values: np.ndarray | pd.Series | list[float],
    *,
    ties: str = "lower",
    tiebreak: np.ndarray | pd.Series | list | None = None,
) -> np.ndarray:
    """Class 1 for units above the median of the measure, else 0 (see the tie rules)."""
    return percentile_split(values, 50, ties=ties, tiebreak=tiebreak)


def tercile_classes(values: np.ndarray | pd.Series | list[float]) -> np.ndarray:
    """Classes 0, 1, 2 (low, middle, high) by the 33⅓th and 66⅔th percentiles.

    A unit equal to a cut-off stays in the lower of the two classes (the ``"lower"``
    tie rule). The higher-crime class of a tercile rule is class 2.
    """
    measure = _measure(values)
    cuts = np.percentile(measure, [100 / 3, 200 / 3])
    return np.searchsorted(cuts, measure, side="left").astype(np.int8)


def classifier(
    cutoff: str = "median", *, percentile: float | None = None, ties: str = "lower"
) -> Classifier:
    """Return the binary higher-crime rule a preset names.

    Parameters
    ----------
    cutoff
        ``"median"``, ``"terciles"`` (higher-crime = top tercile) or ``"percentile"``.
    percentile
        The cut-off percentile, required with ``cutoff="percentile"``.
    ties
        Tie rule of the median and percentile rules (the terciles use ``"lower"``).

    Returns
    -------
    callable
        A function of the measure returning 1 (higher-crime) or 0 per unit.
    """
    if cutoff == "median":
        return lambda values: median_split(values, ties=ties)
    if cutoff == "terciles":
        return lambda values: (tercile_classes(values) == 2).astype(np.int8)
    if cutoff == "percentile":
        if percentile is None:
            raise ValueError("a percentile cut-off needs its percentile")
        return lambda values: percentile_split(values, percentile, ties=ties)
    raise ValueError(f"unknown cut-off {cutoff!r}: use one of {', '.join(CUTOFFS)}")


def higher_class_probability(
    counts: np.ndarray | pd.Series | list[float],
    denominator: np.ndarray | pd.Series | list[float] | None = None,
    *,
    rule: Classifier = median_split,
    scale: float = 1.0,
    draws: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Probability that each unit falls in the higher-crime class under Poisson noise.

    Each draw replaces every unit's count by an independent Poisson variate whose mean
    is the observed count, recomputes the measure ``scale * count / denominator`` (a
    count: no denominator; a rate per 100,000: population and ``scale=100_000``; a
    density: area in km²), and classifies all units with ``rule``. The result is the
    share of draws in which each unit is higher-crime. Units whose probability is far
    from 0 and 1 sit near the cut-off (see :func:`near_cutoff`).

    Parameters
    ----------
    counts
        Observed counts in the window, one per unit.
    denominator
        Population or area per unit (positive), or None for the count itself.
    rule
        Binary classifier of the measure (:func:`median_split` or :func:`classifier`).
    scale
        Multiplier of the measure (100,000 for rates per 100,000 residents).
    draws
        Number of Poisson resamples.
    seed
        Seed of the random generator.

    Returns
    -------
    numpy.ndarray
        Probability per unit, in the order of ``counts``.
    """
    observed = _measure(counts)
    if (observed < 0).any():
        raise ValueError("counts cannot be negative")
    divisor = np.ones_like(observed) if denominator is None else _measure(denominator)
    if divisor.shape != observed.shape or (divisor <= 0).any():
        raise ValueError("the denominator needs one positive value per unit")
    if draws < 1:
        raise ValueError("at least one draw is needed")
    rng = np.random.default_rng(seed)
    resampled = rng.poisson(observed, size=(draws, observed.size))
    higher = np.zeros(observed.size)
    for row in resampled:
        higher += rule(scale * row / divisor)
    return higher / draws


def near_cutoff(probability: np.ndarray, band: tuple[float, float] = (0.1, 0.9)) -> np.ndarray:
    """Mask of units whose higher-class probability lies strictly inside ``band``."""
    probability = np.asarray(probability, dtype=float)
    low, high = band
    return (probability > low) & (probability < high)


def class_changes(first: np.ndarray | pd.Series, second: np.ndarray | pd.Series) -> int:
    """Count the units whose class differs between two classifications.

    Two :class:`pandas.Series` are aligned on their index (unit ids), which must hold the
    same units; arrays are compared position by position.
    """
    left, right = _aligned(first, second)
    return int((left != right).sum())


def class_change_table(
    first: np.ndarray | pd.Series, second: np.ndarray | pd.Series
) -> pd.DataFrame:
    """Cross-tabulation of two classifications (rows: first, columns: second)."""
    left, right = _aligned(first, second)
    return pd.crosstab(pd.Series(left, name="first"), pd.Series(right, name="second"))


def _aligned(first, second) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(first, pd.Series) and isinstance(second, pd.Series):
        if set(first.index) != set(second.index) or first.index.has_duplicates:
            raise ValueError("the two classifications cover different units")
        second = second.reindex(first.index)
    left, right = np.asarray(first), np.asarray(second)
    if left.shape != right.shape:
        raise ValueError("the two classifications have different lengths")
    return left, right
