"""The moderator's cut-off rules, Poisson stability and class changes (pure functions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from compstat.stats import moderator


def test_median_split_of_an_even_set_is_exactly_half():
    values = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 6.0])
    assert_array_equal(moderator.median_split(values), [1, 0, 1, 0, 0, 1])
    rates = np.random.default_rng(3).lognormal(6, 0.5, size=60)
    assert moderator.median_split(rates).sum() == 30


def test_median_split_of_an_odd_set_puts_the_middle_unit_low():
    assert_array_equal(moderator.median_split([1, 2, 3, 4, 5]), [0, 0, 0, 1, 1])


def test_tie_rules_at_the_median():
    values = [1.0, 2.0, 2.0, 3.0]
    assert_array_equal(moderator.median_split(values), [0, 0, 0, 1])
    assert_array_equal(moderator.median_split(values, ties="higher"), [0, 1, 1, 1])
    ranked = moderator.median_split(values, ties="rank", tiebreak=["a", "b", "c", "d"])
    assert_array_equal(ranked, [0, 0, 1, 1])
    all_tied = moderator.median_split(np.full(8, 7.0), ties="rank")
    assert all_tied.sum() == 4
    with pytest.raises(ValueError, match="tie rule"):
        moderator.median_split(values, ties="coin")


def test_percentile_split_and_terciles():
    values = np.arange(1.0, 11.0)
    assert_array_equal(moderator.percentile_split(values, 80), [0] * 8 + [1] * 2)
    assert_array_equal(moderator.tercile_classes(np.arange(1, 10)), [0, 0, 0, 1, 1, 1, 2, 2, 2])
    top = moderator.classifier("terciles")(np.arange(1, 10))
    assert_array_equal(top, [0] * 6 + [1] * 3)
    assert_array_equal(moderator.classifier("percentile", percentile=80)(values), [0] * 8 + [1] * 2)
    assert_array_equal(moderator.classifier()(values), [0] * 5 + [1] * 5)
    with pytest.raises(ValueError, match="strictly between"):
        moderator.percentile_split(values, 100)


def test_missing_measure_is_refused():
    with pytest.raises(ValueError, match="missing"):
        moderator.median_split([1.0, np.nan, 3.0])


def test_poisson_stability_marks_units_near_the_cut_off():
    counts = np.array([10, 1000, 2000, 5000, 5010, 8000, 9000, 20000])
    probability = moderator.higher_class_probability(counts, draws=400, seed=5)
    assert_array_equal(probability[[0, 1, 2]], 0.0)
    assert_array_equal(probability[[5, 6, 7]], 1.0)
    assert 0.2 < probability[3] < probability[4] < 0.95
    assert_array_equal(moderator.near_cutoff(probability), [0, 0, 0, 1, 1, 0, 0, 0])
    again = moderator.higher_class_probability(counts, draws=400, seed=5)
    assert_array_equal(probability, again)


def test_poisson_stability_of_a_rate_uses_the_denominator():
    counts = np.array([100, 100, 100, 100])
    population = np.array([100_000, 50_000, 20_000, 10_000])
    probability = moderator.higher_class_probability(
        counts, population, scale=100_000, draws=200, seed=1
    )
    assert_array_equal(probability, [0, 0, 1, 1])
    with pytest.raises(ValueError, match="positive"):
        moderator.higher_class_probability(counts, [1, 0, 1, 1])


def test_class_changes_align_units_by_id():
    first = pd.Series([1, 0, 1, 0], index=["a", "b", "c", "d"])
    second = pd.Series([0, 1, 1, 0], index=["d", "c", "b", "a"])
    assert moderator.class_changes(first, second) == 2
    assert moderator.class_changes(np.array([1, 0, 1]), np.array([1, 1, 1])) == 1
    table = moderator.class_change_table(np.array([1, 0, 1]), np.array([1, 1, 1]))
    assert_allclose(table.to_numpy(), [[1], [2]])
    with pytest.raises(ValueError, match="different units"):
        moderator.class_changes(first, pd.Series([1, 0, 1, 0], index=["a", "b", "c", "e"]))
