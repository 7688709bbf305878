"""Source keys of a load: numbering identical rows and telling new keys from known ones.

Everything here is NumPy on ``int64`` keys: one sort per batch, plus a linear merge
into what the load has already seen.
"""

from __future__ import annotations

import numpy as np

from geo.assign import run_starts


def stable_order(keys: np.ndarray) -> np.ndarray:
    """Return the order that sorts ``keys``, equal keys in their input order.

    The fast unstable sort runs first; then only the runs of equal keys (rare:
    identical rows) are put back in input order, instead of a second, stable
    sort of everything.
    """
    order = np.argsort(keys)
    ordered = keys[order]
    tie = ordered[1:] == ordered[:-1]
    if tie.any():
        in_run = np.zeros(len(keys), bool)
        in_run[1:] |= tie
        in_run[:-1] |= tie
        tied = np.flatnonzero(in_run)
        run = np.cumsum(np.concatenate(([True], ~tie)))[tied]
        order[tied] = order[tied][np.lexsort((order[tied], run))]
    return order


class KeyCounts:
    """A multiset of ``int64`` keys, kept as one sorted array (repeats included).

    Adding a sorted batch appends it and re-sorts: NumPy's stable sort of ``int64``
    is a timsort, which merges the two sorted runs in linear time.
    """

    def __init__(self, keys: np.ndarray | None = None) -> None:
        self.keys = np.zeros(0, np.int64)
        if keys is not None:
            self.add_sorted(np.sort(np.asarray(keys, np.int64)))

    def __len__(self) -> int:
        return len(self.keys)

    def count_sorted(self, ordered: np.ndarray) -> np.ndarray:
        """Return how many times each of the sorted keys ``ordered`` was added."""
        after = np.searchsorted(self.keys, ordered, "right")
        return after - np.searchsorted(self.keys, ordered, "left")

    def add_sorted(self, ordered: np.ndarray) -> None:
        """Add the sorted keys ``ordered`` (repeats allowed)."""
        merged = np.concatenate([self.keys, np.asarray(ordered, np.int64)])
        merged.sort(kind="stable")
        self.keys = merged


class OccurrenceKeys:
    """Turns content hashes into keys: identical rows get their occurrence number added.

    Counts carry over from batch to batch, so the n-th copy of a row gets the same
    key wherever the file's chunks happen to be cut.
    """

    def __init__(self) -> None:
        self.seen = KeyCounts()

    def __call__(self, hashes: np.ndarray) -> np.ndarray:
        """Return the keys of a batch's rows, in order."""
        order = stable_order(hashes)
        ordered = hashes[order]
        starts = run_starts(ordered)
        position = np.arange(len(ordered))
        earlier_in_batch = position - np.maximum.accumulate(np.where(starts, position, 0))
        occurrence = earlier_in_batch + self.seen.count_sorted(ordered)
        self.seen.add_sorted(ordered)
        keys = np.empty_like(hashes)
        keys[order] = ordered + occurrence
        return keys


def first_unseen(keys: np.ndarray, seen: KeyCounts) -> np.ndarray:
    """Return a mask of ``keys`` neither in ``seen`` nor repeated earlier in ``keys``.

    The keys it marks are added to ``seen``.
    """
    order = stable_order(keys)
    ordered = keys[order]
    new = run_starts(ordered) & (seen.count_sorted(ordered) == 0)
    seen.add_sorted(ordered[new])
    fresh = np.empty(len(keys), bool)
    fresh[order] = new
    return fresh
