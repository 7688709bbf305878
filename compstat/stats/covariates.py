"""Pure computations of the sector covariates: months, measures, trends, lags, ranks.

Months are counted back from the end date: the ``k``-th month before it holds the days
after ``end - (k + 1) months`` up to ``end - k months`` (:func:`month_index` then
numbers them in chronological order, 0 the earliest). When the end date is the last
day of a month these are calendar months (a window of 12 months ending on 2016-06-30 is
2015-07-01 to 2016-06-30, and its latest month is June 2016); otherwise they run from day to day
(ending on 2016-06-15: the latest month is 2016-05-16 to 2016-06-15; a day missing from a
shorter month is its last day).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import scipy.sparse as sp

RATE_SCALE = 100_000.0


def month_edges(end: date, months: int) -> np.ndarray:
    """Return ``end - k months`` for ``k = months .. 0``, ascending, as ``datetime64[D]``."""
    stamp = pd.Timestamp(end)
    if stamp.is_month_end:
        edges = [stamp - pd.offsets.MonthEnd(k) for k in range(months, -1, -1)]
    else:
        edges = [stamp - pd.DateOffset(months=k) for k in range(months, -1, -1)]
    return np.array([e.date() for e in edges], dtype="datetime64[D]")


def window_start(end: date, months: int) -> date:
    """Return the first day of the ``months`` months ending on ``end``."""
    return (month_edges(end, months)[0] + np.timedelta64(1, "D")).astype(date)


def months_covering(start: date, end: date) -> int:
    """Return how many months counted back from ``end`` it takes to reach ``start``."""
    if start > end:
        raise ValueError("the start date is after the end date")
    months = 1
    while window_start(end, months) > start:
        months += 1
    return months


def month_index(days: np.ndarray, end: date, months: int) -> np.ndarray:
    """Return each day's month (``0`` = the earliest of ``months``), ``-1`` outside.

    Parameters
    ----------
    days : numpy.ndarray
        ``datetime64[D]`` days.
    end : datetime.date
        Last day of the latest month.
    months : int
        Number of months counted back from ``end``.
    """
    edges = month_edges(end, months)
    position = np.searchsorted(edges, np.asarray(days, dtype="datetime64[D]"), side="left") - 1
    return np.where((position >= 0) & (position < months), position, -1)


def monthly_summary(series: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the mean, standard deviation and OLS slope of monthly counts per unit.

    Parameters
    ----------
    series : numpy.ndarray
        ``(units, months)`` counts, months in chronological order.

    Returns
    -------
    tuple of numpy.ndarray
        Mean per month; sample standard deviation (``ddof=1``, NaN with one month);
        slope of the least-squares line of count on month number (change per month,
        NaN with one month).
    """
    values = np.asarray(series, dtype=float)
    n = values.shape[1]
    mean = values.mean(axis=1)
    if n < 2:
        missing = np.full(values.shape[0], np.nan)
        return mean, missing, missing
    sd = values.std(axis=1, ddof=1)
    t = np.arange(n) - (n - 1) / 2
    slope = (values - mean[:, None]) @ t / (t @ t)
    return mean, sd, slope


def measure(counts: np.ndarray, denominator: np.ndarray | None, scale: float = 1.0) -> np.ndarray:
    """Return ``scale * counts / denominator`` (NaN where the denominator is not positive).

    ``denominator=None`` returns the counts themselves (as floats).
    """
    values = np.asarray(counts, dtype=float)
    if denominator is None:
        return values.copy()
    divisor = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = scale * values / divisor
    return np.where(divisor > 0, result, np.nan)


def spatial_lag(values: np.ndarray, weights: sp.csr_array | sp.spmatrix) -> np.ndarray:
    """Return the mean of each unit's neighbours' values (NaN for a unit with none).

    Neighbours with a missing value are left out of the mean.
    """
    data = np.asarray(values, dtype=float)
    matrix = sp.csr_array(weights)
    known = np.isfinite(data)
    total = matrix @ np.where(known, data, 0.0)
    n = matrix @ known.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, total / n, np.nan)


def rank_and_percentile(values: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank (1 = highest) and percentile of each member's value within the members.

    Equal values share the best rank (``min``); the percentile is the share of members
    whose value is at most the unit's, times 100 (the highest unit is at 100). Units
    that are not members get NaN.
    """
    data = np.asarray(values, dtype=float)
    mask = np.asarray(members, dtype=bool)
    inside = pd.Series(data[mask])
    rank = np.full(data.size, np.nan)
    percentile = np.full(data.size, np.nan)
    rank[mask] = inside.rank(ascending=False, method="min").to_numpy()
    percentile[mask] = inside.rank(method="max", pct=True).to_numpy() * 100
    return rank, percentile


def reallocate(
    values: np.ndarray, source: np.ndarray, target: np.ndarray, share: np.ndarray, n_target: int
) -> np.ndarray:
    """Carry values from source polygons to target polygons by shares of the source.

    Each pair ``(source[i], target[i])`` receives ``values[source[i]] * share[i]``, where
    ``share`` is the fraction of the source polygon's area inside the target (areal
    weighting: residents spread evenly over each source polygon). Totals are kept
    where the shares of each source sum to one.
    """
    amount = np.asarray(values, dtype=float)[np.asarray(source)] * np.asarray(share, dtype=float)
    return np.bincount(np.asarray(target), weights=amount, minlength=n_target)
