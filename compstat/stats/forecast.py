"""Hotspot forecasts as functions of arrays: each ranks areas by expected crime.

Every function takes the training incidents (their area index and day, days since
1970-01-01) and the forecast's origin (the first day of the test window, never seen),
and returns one score per area, higher meaning more expected crime. Only the ranking
matters to the accuracy scores (:mod:`compstat.stats.accuracy`).
"""

from __future__ import annotations

import numpy as np

#: Emerging hot spot categories in the order a forecast trusts them most (cold last).
EMERGING_ORDER = (
    "persistent_hot_spot",
    "intensifying_hot_spot",
    "consecutive_hot_spot",
    "new_hot_spot",
    "sporadic_hot_spot",
    "oscillating_hot_spot",
    "diminishing_hot_spot",
    "historical_hot_spot",
    "no_pattern",
)


def recent_counts(
    area: np.ndarray, day: np.ndarray, origin: int, days: int, n_areas: int
) -> np.ndarray:
    """Return incidents per area over the ``days`` days before ``origin`` (areas < 0 dropped)."""
    keep = (day < origin) & (day >= origin - days) & (area >= 0)
    return np.bincount(area[keep], minlength=n_areas).astype(float)


def decayed_counts(
    area: np.ndarray,
    day: np.ndarray,
    origin: int,
    days: int,
    half_life: float,
    n_areas: int,
) -> np.ndarray:
    """Return incidents per area before ``origin``, each weighted ``0.5 ** (age / half_life)``.

    ``age`` is the days from the incident to ``origin`` (1 for the day before); only
    the last ``days`` days count.
    """
    keep = (day < origin) & (day >= origin - days) & (area >= 0)
    weights = 0.5 ** ((origin - day[keep]) / half_life)
    return np.bincount(area[keep], weights=weights, minlength=n_areas)


def share(values: np.ndarray) -> np.ndarray:
    """Return ``values`` over their sum (zeros when they sum to zero)."""
    total = float(np.sum(values))
    return np.asarray(values, float) / total if total > 0 else np.zeros(np.shape(values))


def emerging_scores(categories: np.ndarray, mean_z: np.ndarray) -> np.ndarray:
    """Rank units by emerging category (:data:`EMERGING_ORDER`, cold spots last), then by z.

    Returns a score whose order is the category's, ties broken by the mean Gi* z-score.
    """
    rank = {name: len(EMERGING_ORDER) - i for i, name in enumerate(EMERGING_ORDER)}
    level = np.array([rank.get(str(c), 0) for c in categories], float)
    spread = np.nanmax(np.abs(mean_z), initial=0.0) + 1.0
    return level * 2 * spread + np.nan_to_num(mean_z)
