import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from compstat.stats.getis_ord import gi_star, hotspot_bins, significant


def lattice_queen(rows: int, cols: int) -> sp.csr_array:
    """Binary queen contiguity of a rows x cols lattice, row-major."""
    index = np.arange(rows * cols).reshape(rows, cols)
    pairs = []
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr == dc == 0:
                continue
            src = index[max(0, -dr) : rows - max(0, dr), max(0, -dc) : cols - max(0, dc)]
            dst = index[max(0, dr) : rows + min(0, dr), max(0, dc) : cols + min(0, dc)]
            pairs.append((src.ravel(), dst.ravel()))
    i = np.concatenate([p[0] for p in pairs])
    j = np.concatenate([p[1] for p in pairs])
    return sp.csr_array((np.ones(i.size), (i, j)), shape=(rows * cols, rows * cols))


def esda_directed_p(simulated: np.ndarray, statistic: np.ndarray) -> np.ndarray:
    """esda's (pre-2.10 default) 'directed' pseudo p-value from simulated statistics."""
    permutations = simulated.shape[1]
    larger = (simulated >= statistic[:, None]).sum(axis=1)
    low = (permutations - larger) < larger
    larger[low] = permutations - larger[low]
    return (larger + 1.0) / (permutations + 1.0)


def test_equals_esda_on_the_same_input():
    import esda
    from libpysal.weights import lat2W

    rng = np.random.default_rng(3)
    y = rng.poisson(4.0, 8 * 9).astype(float)
    y[:5] += 12
    w = lat2W(8, 9, rook=False)
    with warnings.catch_warnings():
        # esda 2.9 warns that its default alternative will change; we compare the
        # simulated statistics themselves, which the alternative does not touch.
        warnings.filterwarnings("ignore", "The alternative hypothesis", DeprecationWarning)
        ref = esda.G_Local(y, w, transform="B", star=True, permutations=199, seed=11, n_jobs=1)
    ours = gi_star(y, w.sparse, permutations=199, seed=11, keep_simulations=True)
    assert_allclose(ours.statistic, ref.Gs, rtol=1e-12)
    assert_allclose(ours.z, ref.Zs, rtol=1e-10)
    assert_allclose(ours.p_norm, 2 * ref.p_norm, rtol=1e-10)
    assert_allclose(ours.simulated, ref.rGs, rtol=1e-12)
    assert_allclose(esda_directed_p(ours.simulated, ours.statistic), ref.p_sim, rtol=1e-6)
    assert_allclose(ours.z_sim, ref.z_sim, rtol=1e-8)


def test_accepts_dense_weights_and_no_permutations():
    w = lattice_queen(4, 4)
    y = np.arange(16.0)
    dense = gi_star(y, w.toarray(), permutations=0)
    sparse = gi_star(y, w, permutations=0)
    assert dense.p_sim is None
    assert_allclose(dense.z, sparse.z)


def test_non_binary_weights_hand_computed():
    # x = 1, 2, 3, 6: mean 3, population variance 12.5 - 9 = 3.5.
    # Unit 3 has itself (weight 1) and unit 2 (weight 0.5): sum w x = 7.5, W = 1.5,
    # S1 = 1.25, z = (7.5 - 3 * 1.5) / (sqrt(3.5) * sqrt((4 * 1.25 - 1.5**2) / 3)).
    weights = np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0.5], [0, 0, 0.5, 0]], dtype=float)
    result = gi_star([1, 2, 3, 6], weights, permutations=0)
    expected = 3.0 / (np.sqrt(3.5) * np.sqrt(2.75 / 3))
    assert_allclose(result.z[3], expected, rtol=1e-12)
    assert_allclose(result.z[3], 1.674872, rtol=1e-6)
    assert_allclose(result.statistic[3], 7.5 / 12)


def planted() -> np.ndarray:
    rng = np.random.default_rng(5)
    grid = rng.poisson(2.0, (12, 12)).astype(float)
    grid[4:7, 4:7] = rng.poisson(15.0, (3, 3))
    return grid


def test_planted_cluster_is_found_and_fdr_keeps_only_it():
    result = gi_star(planted().ravel(), lattice_queen(12, 12), permutations=999, seed=1)
    near = np.zeros((12, 12), dtype=bool)
    near[3:8, 3:8] = True
    analytic = result.bins(inference="analytic").reshape(12, 12)
    assert (analytic[4:7, 4:7] == 3).all()
    assert (analytic[~near] == 0).all()
    by_permutation = result.bins().reshape(12, 12)
    # 999 permutations give p >= 0.002, so FDR reaches 99 % only when many units are hot.
    assert by_permutation[5, 5] == 2
    assert np.count_nonzero(by_permutation[4:7, 4:7] > 0) >= 8
    assert (by_permutation[~near] == 0).all()
    uncorrected = result.bins(correction="none").reshape(12, 12)
    assert np.count_nonzero(uncorrected[~near]) >= 5


def test_fdr_removes_spurious_hits():
    w = lattice_queen(15, 15)
    rng = np.random.default_rng(2024)
    y = rng.poisson(5.0, 225).astype(float)
    result = gi_star(y, w, permutations=999, seed=7)
    raw = result.bins(correction="none")
    corrected = result.bins(correction="fdr")
    assert np.count_nonzero(raw) > 0
    assert np.count_nonzero(corrected) == 0


def test_constant_values_give_no_spots():
    result = gi_star(np.full(16, 3.0), lattice_queen(4, 4), permutations=99)
    assert_array_equal(result.z, 0)
    assert_array_equal(result.p_sim, 1)
    assert_array_equal(result.bins(), 0)


def test_island_is_never_significant_by_permutation():
    weights = lattice_queen(3, 3).toarray()
    weights = np.pad(weights, ((0, 1), (0, 1)))
    y = np.array([1, 2, 1, 2, 3, 2, 1, 2, 1, 40.0])
    result = gi_star(y, weights, permutations=99, seed=3)
    assert result.p_sim[9] == 1.0
    assert result.bins()[9] == 0


def test_benjamini_hochberg_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2])
    # sorted: 0.005 <= .01, 0.01 <= .02, 0.03 <= .03, 0.04 > .04? 0.04 <= 0.04 yes, 0.2 > .05
    assert_array_equal(significant(p, 0.05, "fdr"), [True, True, True, True, False])
    assert_array_equal(significant(p, 0.05, "bonferroni"), [True, False, False, True, False])
    assert_array_equal(significant(p, 0.05, "none"), [True, True, True, True, False])
    assert_array_equal(significant(np.array([0.02, 0.03]), 0.05, "fdr"), [True, True])
    assert_array_equal(significant(np.array([0.04, 0.9]), 0.05, "fdr"), [False, False])


def test_bins_follow_confidence_and_sign():
    z = np.array([3.0, 2.0, 1.7, -2.0, -3.0, 0.5])
    p = np.array([0.005, 0.03, 0.08, 0.04, 0.001, 0.5])
    assert_array_equal(hotspot_bins(z, p, "none"), [3, 2, 1, -2, -3, 0])


def test_unknown_correction_is_refused():
    with pytest.raises(ValueError, match="unknown correction"):
        significant(np.array([0.1]), 0.05, "holm")


def test_missing_values_and_mismatched_weights_are_refused():
    with pytest.raises(ValueError, match="finite"):
        gi_star(np.array([1.0, np.nan, 2.0, 3.0]), lattice_queen(2, 2))
    with pytest.raises(ValueError, match="weights for 4 units"):
        gi_star(np.ones(5), lattice_queen(2, 2))
    with pytest.raises(ValueError, match="square"):
        gi_star(np.ones(2), np.ones((2, 3)))


def test_equal_row_weights_take_the_running_sum_and_agree_with_the_gather():
    # Binary and row-standardised weights use the running-sum path; perturbing one
    # weight sends the same draws through the general gather, which must agree.
    from compstat.stats import getis_ord

    y = planted().ravel()
    binary = lattice_queen(12, 12)
    standardised = sp.csr_array(binary / binary.sum(axis=1)[:, None])
    for weights in (binary, standardised):
        matrix = getis_ord.weights_matrix(weights, 1.0)
        others = getis_ord._off_diagonal(matrix)
        cardinality = np.diff(others.indptr)
        assert getis_ord._row_constant(others, cardinality)
        ids = getis_ord.permutation_ids(y.size, int(cardinality.max()), 99, 4)
        assert_allclose(
            getis_ord._row_constant_sums(y, others, cardinality, ids),
            getis_ord._weighted_sums(y, others, cardinality, ids),
            rtol=1e-12,
        )
    uneven = binary.tolil()
    uneven[0, 1] = 0.5
    others = getis_ord._off_diagonal(getis_ord.weights_matrix(uneven, 1.0))
    assert not getis_ord._row_constant(others, np.diff(others.indptr))
