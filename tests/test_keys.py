"""Key bookkeeping of a load, on small synthetic inputs."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from etl.keys import KeyCounts, OccurrenceKeys, first_unseen, stable_order


@pytest.mark.parametrize("values", [[5, 3, 9, 1], [4, 2, 4, 1, 2, 4], [], [7]])
def test_stable_order_keeps_ties_in_input_order(values):
    keys = np.array(values, np.int64)
    assert_array_equal(stable_order(keys), np.argsort(keys, kind="stable"))


def test_stable_order_on_many_ties():
    keys = np.random.default_rng(3).integers(0, 50, 2_000).astype(np.int64)
    assert_array_equal(stable_order(keys), np.argsort(keys, kind="stable"))


def test_key_counts_count_every_addition():
    counts = KeyCounts(np.array([3, 1, 3]))
    counts.add_sorted(np.array([1, 2, 3, 3]))
    needles = np.array([0, 1, 2, 3, 4])
    assert_array_equal(counts.count_sorted(needles), [0, 2, 1, 4, 0])
    assert len(counts) == 7


def test_occurrence_keys_do_not_depend_on_where_batches_are_cut():
    hashes = np.array([10, 20, 10, 30, 10, 20], np.int64)
    whole = OccurrenceKeys()(hashes)
    assert_array_equal(whole, [10, 20, 11, 30, 12, 21])
    for cut in range(len(hashes) + 1):
        split = OccurrenceKeys()
        parts = np.concatenate([split(hashes[:cut]), split(hashes[cut:])])
        assert_array_equal(parts, whole)


def test_first_unseen_marks_first_copies_of_new_keys_and_learns_them():
    seen = KeyCounts(np.array([4]))
    fresh = first_unseen(np.array([4, 7, 7, 2, 9, 2], np.int64), seen)
    assert_array_equal(fresh, [False, True, False, True, True, False])
    assert Counter(seen.keys.tolist()) == Counter([4, 7, 2, 9])
    assert not first_unseen(np.array([9, 2], np.int64), seen).any()
