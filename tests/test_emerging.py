import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from compstat.stats.emerging import CATEGORIES, classify_emerging, emerging_hotspots, mann_kendall
from tests.test_getis_ord import lattice_queen


def test_mann_kendall_hand_computed():
    # 1..5: S = 10, var = 5 * 4 * 15 / 18, z = (10 - 1) / sqrt(var).
    s, z, p = mann_kendall(np.array([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [1, 1, 2, 2, 2.0]]))
    assert_array_equal(s, [10, -10, 6])
    assert_allclose(z[:2], [9 / np.sqrt(50 / 3), -9 / np.sqrt(50 / 3)])
    assert_allclose(p[0], 0.0274863, rtol=1e-5)
    # ties (two 1s, three 2s): var = (300 - 2 * 1 * 9 - 3 * 2 * 11) / 18 = 12.
    assert_allclose(z[2], 5 / np.sqrt(12))


def test_mann_kendall_flat_series_has_no_trend():
    s, z, p = mann_kendall(np.full((1, 6), 2.0))
    assert s[0] == 0 and z[0] == 0 and p[0] == 1


STEPS = 10
SERIES = {
    "new_hot_spot": ([0] * 9 + [2], None),
    "consecutive_hot_spot": ([0] * 7 + [1, 2, 3], None),
    "intensifying_hot_spot": ([3] * 10, np.linspace(2.0, 6.0, STEPS)),
    "persistent_hot_spot": ([2] * 10, [3, 4, 3, 4, 3, 4, 3, 4, 3, 4.0]),
    "diminishing_hot_spot": ([1] + [3] * 9, np.linspace(6.0, 2.0, STEPS)),
    "sporadic_hot_spot": ([1, 0, 1, 0, 0, 1, 0, 0, 0, 1], None),
    "oscillating_hot_spot": ([-1, 0, 1, 0, -2, 0, 0, 1, 0, 1], None),
    "historical_hot_spot": ([2] * 9 + [0], None),
    "new_cold_spot": ([0] * 9 + [-1], None),
    "consecutive_cold_spot": ([0] * 8 + [-1, -1], None),
    "intensifying_cold_spot": ([-3] * 10, np.linspace(-2.0, -6.0, STEPS)),
    "diminishing_cold_spot": ([-3] * 10, np.linspace(-6.0, -2.0, STEPS)),
    "historical_cold_spot": ([-1] * 9 + [0], None),
    "no_pattern": ([0] * 10, None),
}


def test_hand_made_series_are_classified_as_documented():
    names = list(SERIES)
    bins = np.array([SERIES[name][0] for name in names])
    z = np.array(
        [
            SERIES[name][1] if SERIES[name][1] is not None else np.array(SERIES[name][0]) * 1.0
            for name in names
        ]
    )
    assert_array_equal(classify_emerging(bins, z), names)
    assert set(names) <= set(CATEGORIES)


def test_ninety_percent_rule_and_current_pattern_win():
    # 8 of 10 steps hot, final hot, never cold: sporadic, not persistent.
    bins = np.array([[0, 0, 1, 1, 1, 1, 1, 1, 1, 1], [2] * 9 + [-1]])
    z = bins * 1.0
    assert_array_equal(classify_emerging(bins, z), ["consecutive_hot_spot", "new_cold_spot"])
    bins = np.array([[0, 1, 1, 1, 0, 1, 1, 1, 1, 1]])
    assert classify_emerging(bins, bins * 1.0)[0] == "sporadic_hot_spot"
    assert classify_emerging(bins, bins * 1.0, share=0.8)[0] == "persistent_hot_spot"


def test_shapes_must_agree():
    with pytest.raises(ValueError, match="shape"):
        classify_emerging(np.zeros((2, 3)), np.zeros((2, 4)))


def test_growing_cluster_is_an_intensifying_hot_spot():
    rng = np.random.default_rng(8)
    counts = rng.poisson(2.0, (10, 10, 12)).astype(float)
    for step in range(12):
        counts[4:6, 4:6, step] = rng.poisson(5.0 + 4.0 * step, (2, 2))
    categories = emerging_hotspots(
        counts.reshape(100, 12), lattice_queen(10, 10), permutations=0
    ).reshape(10, 10)
    assert (categories[4:6, 4:6] != "no_pattern").all()
    assert "intensifying_hot_spot" in set(categories[4:6, 4:6].ravel())
    assert (categories[0:2, 0:2] == "no_pattern").all()


def test_space_time_gi_star_equals_one_gi_star_per_step():
    from compstat.stats.emerging import space_time_gi_star
    from compstat.stats.getis_ord import gi_star

    rng = np.random.default_rng(8)
    counts = rng.poisson(3.0, (49, 6)).astype(float)
    counts[:, 2] = 4.0  # a step that does not vary
    counts[10:13, 4:] += 9
    weights = lattice_queen(7, 7)
    z, bins = space_time_gi_star(counts, weights)
    for step in range(counts.shape[1]):
        one = gi_star(counts[:, step], weights, permutations=0)
        assert_allclose(z[:, step], one.z, rtol=1e-12, atol=1e-12)
        assert_array_equal(bins[:, step], one.bins())
    assert_array_equal(z[:, 2], 0)
    assert (bins[10:13, 5] > 0).any()


def test_tie_term_counts_every_group_of_ties():
    from compstat.stats.emerging import _tie_term

    # Groups of sizes (2, 3), (1, 1, 1, 1, 1) and (5): t(t-1)(2t+5) summed per row.
    rows = np.array([[2, 1, 2, 1, 2], [5, 4, 3, 2, 1], [7, 7, 7, 7, 7.0]])
    assert_array_equal(_tie_term(rows), [2 * 1 * 9 + 3 * 2 * 11, 0, 5 * 4 * 15])
