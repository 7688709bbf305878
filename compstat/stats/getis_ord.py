"""Getis-Ord Gi* local statistics for polygon units, and their hot and cold spot classes.

For a value ``x_j`` per unit and spatial weights ``w_ij`` (the unit itself included with
weight ``w_ii``, 1 by default, which is what makes the statistic Gi* rather than Gi)::

    G*_i = sum_j w_ij x_j / sum_j x_j
    z_i  = (sum_j w_ij x_j - mean(x) W_i) / (s sqrt((n S1_i - W_i**2) / (n - 1)))

with ``W_i = sum_j w_ij``, ``S1_i = sum_j w_ij**2`` and ``s`` the population standard
deviation of all ``n`` values (Ord & Getis 1995, the form ArcGIS uses). For binary
weights ``S1_i = W_i`` and the z-score equals esda's
``G_Local(star=True, transform="B").Zs``.

Pseudo p-values come from conditional permutation: each unit keeps its own value and
its neighbours' values are replaced by a random draw, without replacement, from the
other :math:`n - 1` units. The draws are made exactly as esda makes them (one draw of
``max_neighbours`` ids per permutation, shared by all units, from NumPy's legacy
``RandomState(seed)``), so the same ``seed`` gives esda's simulated statistics.

Units are then binned as Esri's Hot Spot Analysis does: +3, +2, +1 for hot spots at
99, 95 and 90 % confidence, the negatives for cold spots, 0 otherwise. The default
multiple-testing correction is the False Discovery Rate (Benjamini-Hochberg), applied
separately at each confidence level.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy import stats

CONFIDENCE_LEVELS = (0.90, 0.95, 0.99)
"""The confidence levels of bins 1, 2 and 3."""
DEFAULT_PERMUTATIONS = 999
DEFAULT_SEED = 12345
Correction = Literal["fdr", "bonferroni", "none"]
Inference = Literal["permutation", "analytic"]
_CHUNK = 4_000_000
"""Cap on the gathered values held at once while permuting."""


@dataclass(frozen=True)
class GiStar:
    """Gi* of every unit, with analytic and (optionally) permutation inference.

    Attributes
    ----------
    statistic : numpy.ndarray
        :math:`G^*_i`, the weighted share of the total found around unit *i*.
    z : numpy.ndarray
        Analytic z-score (0 where the values do not vary).
    p_norm : numpy.ndarray
        Two-sided p-value of ``z`` under the standard normal.
    permutations : int
        Number of conditional permutations (0: none were run).
    p_sim : numpy.ndarray or None
        Two-sided pseudo p-value, ``min(1, 2 * min(p_greater, p_lesser))`` with
        ``p_greater = (#{sim >= G*} + 1) / (permutations + 1)`` and ``p_lesser`` alike.
    z_sim : numpy.ndarray or None
        ``(G* - mean(sim)) / std(sim)``: the direction of the permutation test.
    simulated : numpy.ndarray or None
        The simulated statistics, shape ``(n, permutations)``, if they were kept.
    """

    statistic: np.ndarray
    z: np.ndarray
    p_norm: np.ndarray
    permutations: int = 0
    p_sim: np.ndarray | None = None
    z_sim: np.ndarray | None = None
    simulated: np.ndarray | None = None

    def bins(
        self, correction: Correction = "fdr", inference: Inference | None = None
    ) -> np.ndarray:
        """Return hot (+) and cold (-) spot bins 3/2/1 for 99/95/90 % confidence, else 0.

        ``inference`` defaults to ``"permutation"`` when permutations were run.
        """
        if inference is None:
            inference = "permutation" if self.p_sim is not None else "analytic"
        if inference == "permutation":
            if self.p_sim is None or self.z_sim is None:
                raise ValueError("no permutations were run: use inference='analytic'")
            return hotspot_bins(self.z_sim, self.p_sim, correction)
        return hotspot_bins(self.z, self.p_norm, correction)


def weights_matrix(
    weights: sp.spmatrix | sp.sparray | np.ndarray, self_weight: float
) -> sp.csr_array:
    """Return the weights as CSR with the diagonal set to ``self_weight`` and sorted columns."""
    matrix = sp.csr_array(weights, dtype=float)
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"weights must be square, got shape {matrix.shape}")
    matrix = _off_diagonal(matrix) + sp.eye_array(matrix.shape[0], format="csr") * self_weight
    matrix = sp.csr_array(matrix)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix


def _off_diagonal(matrix: sp.csr_array) -> sp.csr_array:
    """Return the matrix without its diagonal, in CSR with sorted columns."""
    coo = matrix.tocoo()
    keep = (coo.row != coo.col) & (coo.data != 0)
    result = sp.csr_array((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=matrix.shape)
    result.sort_indices()
    return result


def gi_star(
    values: np.ndarray,
    weights: sp.spmatrix | sp.sparray | np.ndarray,
    *,
    self_weight: float = 1.0,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = DEFAULT_SEED,
    keep_simulations: bool = False,
) -> GiStar:
    """Compute Gi* for every unit, with analytic and conditional-permutation inference.

    Parameters
    ----------
    values : numpy.ndarray
        One non-negative value per unit (counts, rates or densities).
    weights : scipy.sparse matrix or array, or numpy.ndarray
        ``n x n`` spatial weights between units (e.g. queen contiguity, binary). Its
        diagonal is replaced by ``self_weight``.
    self_weight : float
        Weight of each unit on itself (1, the binary Gi* convention).
    permutations : int
        Conditional permutations for pseudo p-values; 0 skips them.
    seed : int
        Seed of the permutations (NumPy's legacy ``RandomState``, as in esda).
    keep_simulations : bool
        Keep the ``(n, permutations)`` simulated statistics in the result.

    Returns
    -------
    GiStar
    """
    x = np.asarray(values, dtype=float).ravel()
    if not np.isfinite(x).all():
        raise ValueError("values must be finite: fill or drop missing units first")
    matrix = weights_matrix(weights, self_weight)
    if matrix.shape[0] != x.size:
        raise ValueError(f"{x.size} values but weights for {matrix.shape[0]} units")
    statistic, z = analytic_gi_star(x, matrix)
    p_norm = 2.0 * stats.norm.sf(np.abs(z))
    if permutations <= 0:
        return GiStar(statistic, z, p_norm)
    sums = _neighbour_sums(x, matrix, permutations, seed)
    return _with_permutations(statistic, z, p_norm, x, matrix, sums, keep_simulations)


def analytic_gi_star(values: np.ndarray, matrix: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """Return Gi* and its analytic z-score (Ord & Getis 1995) of each column of ``values``.

    Parameters
    ----------
    values : numpy.ndarray
        Units (rows) by one or more series (columns), or one value per unit.
    matrix : scipy.sparse.csr_array
        Weights with the self weight on the diagonal (:func:`weights_matrix`).

    Returns
    -------
    statistic, z : numpy.ndarray
        Shaped as ``values``; z is 0 where a series does not vary.
    """
    x = np.asarray(values, dtype=float)
    n = x.shape[0]
    total = x.sum(axis=0)
    lagged = matrix @ x
    w_sum = np.asarray(matrix.sum(axis=1)).ravel()
    w_sq = np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()
    if x.ndim == 2:
        w_sum, w_sq = w_sum[:, None], w_sq[:, None]
    mean = total / n
    sd = np.sqrt(np.maximum((x * x).mean(axis=0) - mean * mean, 0.0))
    spread = sd * np.sqrt(np.maximum(n * w_sq - w_sum**2, 0.0) / (n - 1))
    numerator = lagged - mean * w_sum
    varies = spread > 1e-12 * np.maximum(np.abs(mean), 1)
    z = np.divide(numerator, spread, out=np.zeros(x.shape), where=varies)
    statistic = np.divide(lagged, total, out=np.zeros(x.shape), where=total != 0)
    return statistic, z


@functools.lru_cache(maxsize=8)
def permutation_ids(n: int, max_neighbours: int, permutations: int, seed: int) -> np.ndarray:
    """Draw ``max_neighbours`` of ``n - 1`` ids without replacement, once per permutation.

    Id ``k`` stands for unit ``k`` if ``k < i`` and ``k + 1`` otherwise, for unit ``i``.
    The draws are cached (read-only), since a space-time series repeats them per step.
    """
    rng = np.random.RandomState(seed)
    ids = np.empty((permutations, max_neighbours), dtype=np.int64)
    for row in range(permutations):
        ids[row] = rng.choice(n - 1, size=max_neighbours, replace=False)
    ids.flags.writeable = False
    return ids


def _neighbour_sums(x: np.ndarray, matrix: sp.csr_array, permutations: int, seed: int):
    """Return ``(n, permutations)`` weighted sums of permuted neighbours (the unit left out)."""
    n = x.size
    others = _off_diagonal(matrix)
    cardinality = np.diff(others.indptr)
    ids = permutation_ids(n, max(int(cardinality.max()), 1), permutations, seed)
    if _row_constant(others, cardinality):
        return _row_constant_sums(x, others, cardinality, ids)
    return _weighted_sums(x, others, cardinality, ids)


def _row_constant(others: sp.csr_array, cardinality: np.ndarray) -> bool:
    """Return whether each unit weighs all its neighbours alike (binary, row-standardised)."""
    firsts = others.data[others.indptr[:-1][cardinality > 0]]
    return bool(np.array_equal(others.data, np.repeat(firsts, cardinality[cardinality > 0])))


def _row_constant_sums(
    x: np.ndarray, others: sp.csr_array, cardinality: np.ndarray, ids: np.ndarray
) -> np.ndarray:
    """Return the permuted neighbour sums when each row's neighbour weights are equal.

    For unit ``i`` with ``k`` neighbours of weight ``w``, drawn id ``d`` stands for unit
    ``d`` below ``i`` and ``d + 1`` from ``i`` on, so the sum of a permutation is
    ``w * (sum of x[d] + sum of (x[d + 1] - x[d]) over the drawn d >= i)``. The first
    part is the same for every unit with ``k`` neighbours; the second is added to the
    units ``i <= d`` of that group at once, with one running sum over the group. This
    takes ``permutations x (units + groups)`` steps instead of ``permutations x units x
    neighbours``.
    """
    permutations = ids.shape[0]
    below = x[ids]
    shift = x[ids + 1] - below
    drawn_totals = np.cumsum(below, axis=1)
    sums = np.zeros((x.size, permutations))
    for card in np.unique(cardinality[cardinality > 0]):
        in_group = cardinality == card
        units = np.flatnonzero(in_group)
        # Units of the group at or below each drawn id: the first ``reached`` of them.
        reached = np.cumsum(in_group)[ids[:, :card]]
        slots = reached * permutations + np.arange(permutations)[:, None]
        added = np.bincount(
            slots.ravel(),
            weights=shift[:, :card].ravel(),
            minlength=(units.size + 1) * permutations,
        ).reshape(units.size + 1, permutations)
        added[-1] += drawn_totals[:, card - 1]  # reaches every unit of the group
        # Unit k of the group gets the rows above k: a running sum from the last row up.
        block = np.cumsum(added[:0:-1], axis=0)[::-1]
        weight = others.data[others.indptr[units]]
        if (weight != 1).any():
            block *= weight[:, None]
        sums[units] = block
    return sums


def _weighted_sums(
    x: np.ndarray, others: sp.csr_array, cardinality: np.ndarray, ids: np.ndarray
) -> np.ndarray:
    """Return the permuted neighbour sums for any weights (gathering each unit's draws)."""
    permutations = ids.shape[0]
    # For unit i, drawn id k is unit k below i and unit k + 1 from i on.
    below, from_i = x[ids], x[ids + 1]
    sums = np.zeros((x.size, permutations))
    for card in np.unique(cardinality[cardinality > 0]):
        units = np.flatnonzero(cardinality == card)
        starts = others.indptr[units]
        neighbour_weights = others.data[starts[:, None] + np.arange(card)]
        step = max(1, _CHUNK // max(1, permutations * int(card)))
        drawn, low, high = ids[:, :card], below[:, :card], from_i[:, :card]
        for lo in range(0, units.size, step):
            chunk = units[lo : lo + step]
            values = np.where(drawn[None] >= chunk[:, None, None], high[None], low[None])
            sums[chunk] = (values @ neighbour_weights[lo : lo + step, :, None])[..., 0]
    return sums


def _with_permutations(
    statistic: np.ndarray,
    z: np.ndarray,
    p_norm: np.ndarray,
    x: np.ndarray,
    matrix: sp.csr_array,
    neighbour_sums: np.ndarray,
    keep: bool,
) -> GiStar:
    """Add pseudo p-values and the permutation z-score to the analytic result.

    Every simulated statistic of unit ``i`` is ``(w_ii x_i + its neighbour sum) / sum(x)``:
    the observed neighbour sum is compared with the simulated ones as they are, since the
    unit's own term and the divisor are the same on both sides.
    """
    permutations = neighbour_sums.shape[1]
    own = matrix.diagonal() * x
    observed = (matrix @ x - own)[:, None]
    tolerance = 1e-9 * np.maximum(np.abs(observed + own[:, None]), 1.0)
    greater = np.count_nonzero(neighbour_sums >= observed - tolerance, axis=1)
    lesser = np.count_nonzero(neighbour_sums <= observed + tolerance, axis=1)
    p_sim = np.minimum(1.0, 2.0 * (np.minimum(greater, lesser) + 1) / (permutations + 1))
    spread = neighbour_sums.std(axis=1)
    z_sim = np.divide(
        observed[:, 0] - neighbour_sums.mean(axis=1),
        spread,
        out=np.zeros_like(statistic),
        where=spread > 0,
    )
    simulated = None
    if keep:
        total = x.sum()
        simulated = np.zeros(neighbour_sums.shape)
        if total != 0:
            simulated = (neighbour_sums + own[:, None]) / total
    return GiStar(statistic, z, p_norm, permutations, p_sim, z_sim, simulated)


def significant(p: np.ndarray, alpha: float, correction: Correction = "fdr") -> np.ndarray:
    """Return which p-values are significant at ``alpha`` after the correction.

    ``"fdr"`` is Benjamini-Hochberg: with the p-values sorted, the largest ``k`` with
    ``p_(k) <= k alpha / m`` and every smaller one are significant. ``"bonferroni"`` keeps
    ``p <= alpha / m``; ``"none"`` keeps ``p <= alpha``.
    """
    p = np.asarray(p, dtype=float)
    return _significant(p, np.argsort(p, kind="stable"), alpha, correction)


def _significant(p: np.ndarray, order: np.ndarray, alpha: float, correction: Correction):
    """Return :func:`significant` given ``order``, the stable sort order of ``p``."""
    m = p.size
    if correction == "none":
        return p <= alpha
    if correction == "bonferroni":
        return p <= alpha / m
    if correction != "fdr":
        raise ValueError(f"unknown correction {correction!r}: use fdr, bonferroni or none")
    passing = np.flatnonzero(p[order] <= alpha * np.arange(1, m + 1) / m)
    keep = np.zeros(m, dtype=bool)
    if passing.size:
        keep[order[: passing[-1] + 1]] = True
    return keep


def hotspot_bins(z: np.ndarray, p: np.ndarray, correction: Correction = "fdr") -> np.ndarray:
    """Bin units as Esri does: ±3, ±2, ±1 at 99, 95, 90 % confidence, 0 if not significant.

    The sign is the sign of ``z`` (hot spots positive); a unit with ``z == 0`` is 0.
    """
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    level = np.zeros(z.size, dtype=np.int8)
    for rank, confidence in enumerate(CONFIDENCE_LEVELS, start=1):
        level[_significant(p, order, 1.0 - confidence, correction)] = rank
    return (np.sign(z).astype(np.int8) * level).astype(np.int8)
