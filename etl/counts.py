"""The one write path of ``daily_count``: count placed incidents and append them.

Every writer (an incident load, a territory load placing stored incidents) counts
each batch of placed incidents with :class:`DailyCounter` and queues the totals with
:func:`queue_counts`; they are appended with binary ``COPY`` in a background thread
while the next batch is parsed. A key (vintage, day, quadrant, category) may have
several rows (a day cut by two batches, or counted by two loads): every reader sums
rows. A cumulative release that retires stored incidents appends their counts
negated (:func:`queue_retired`). :func:`finish` refreshes the table's statistics.

Why append and not merge into one row per key: merging the FGJ file's 2.3 M count
rows into a unique B-tree (``INSERT ... ON CONFLICT``, or ``COPY`` into the indexed
table once the load's totals were summed) took 5 to 9 s of a load that otherwise
takes about 5 s, and no reader needs one row per key: the count cube, ``counts``
and the covariates all sum. The BRIN index on (vintage, day) serves date-range scans:
each batch's counts are appended in (vintage, day) order.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Connection, text

from compstat import bulk, pgcopy
from geo.assign import OUTSIDE, run_starts

#: Delta columns, in the order :meth:`DailyCounter.fields` encodes them.
COLUMNS = ["vintage_id", "day", "quadrant_id", "category_id", "n_recorded", "n_spatial", "n_source"]
BASES = ("n_recorded", "n_spatial", "n_source")
# The retired incidents' counts, negated: for each vintage the distinct quadrants of
# the three bases, each counted on the bases that chose it (as migration 0006 rebuilt
# the table from the same view).
_RETIRED = f"""
INSERT INTO daily_count ({", ".join(COLUMNS)})
SELECT m.vintage_id, i.occurred_date, q.quadrant_id, i.category_id,
       -sum((q.quadrant_id IS NOT DISTINCT FROM m.quadrant_id)::integer),
       -sum((q.quadrant_id IS NOT DISTINCT FROM m.spatial_quadrant_id)::integer),
       -sum((q.quadrant_id IS NOT DISTINCT FROM m.source_quadrant_id)::integer)
FROM incident i
JOIN assignment_with_method m ON m.incident_id = i.id
CROSS JOIN LATERAL (
    SELECT DISTINCT x AS quadrant_id
    FROM unnest(ARRAY[m.quadrant_id, m.spatial_quadrant_id, m.source_quadrant_id]) AS x
) q
WHERE i.retired_run_id = :run AND i.source_id = :source
GROUP BY 1, 2, 3, 4
"""


class DailyCounter:
    """Accumulates incidents by vintage, quadrant, category and day, on every basis.

    Each (vintage, day, quadrant, category) is packed into one int64 so counting
    is a sort, not a group-by, and sorted keys follow ``daily_count``'s unique key:
    :data:`WIDTHS` bits of each, in that order, with the
    quadrant stored plus one so that "outside" is 0 and days counted from
    :data:`EPOCH`. :meth:`add` refuses values that do not fit their bits.
    """

    WIDTHS = (8, 22, 21, 12)
    SHIFTS = (55, 33, 12, 0)
    NAMES = ("vintage", "day", "quadrant", "category")
    EPOCH = np.datetime64("1900-01-01", "D")

    def __init__(self) -> None:
        self.keys: dict[str, list[np.ndarray]] = {basis: [] for basis in BASES}

    def _pack(self, vintage: int, quadrant: np.ndarray, category: np.ndarray, day: np.ndarray):
        days = (day.astype("datetime64[D]") - self.EPOCH).astype(np.int64)
        parts = (np.int64(vintage), days, quadrant.astype(np.int64) + 1, category.astype(np.int64))
        key = np.zeros(len(days), np.int64)
        for part, shift, width, name in zip(
            parts, self.SHIFTS, self.WIDTHS, self.NAMES, strict=True
        ):
            if np.size(part) and (np.min(part) < 0 or np.max(part) >= 1 << width):
                raise ValueError(f"{name} id out of the {width}-bit range of a count key")
            key |= np.left_shift(part, shift)
        return key

    def add(self, placements: list, category: np.ndarray, day: np.ndarray) -> None:
        """Count a batch of placed incidents (``etl.placement.Placement`` per vintage)."""
        for p in placements:
            for basis, quadrant in zip(BASES, (p.quadrant, p.spatial, p.source), strict=True):
                # sorted per batch, so the whole load's keys are sorted runs to merge
                self.keys[basis].append(np.sort(self._pack(p.vintage_id, quadrant, category, day)))

    def totals(self) -> dict[str, np.ndarray]:
        """Return one row per vintage, day, quadrant and category (in that order), every basis.

        The columns are ``v``, ``q`` (:data:`OUTSIDE` for no quadrant), ``c``, ``d``
        (``datetime64[D]``) and one count per name in :data:`BASES`.
        """
        counted = {basis: _run_counts(parts) for basis, parts in self.keys.items()}
        every = np.sort(np.concatenate([keys for keys, _ in counted.values()]), kind="stable")
        key = every[run_starts(every)] if len(every) else every
        out = {basis: _spread(key, keys, n) for basis, (keys, n) in counted.items()}
        masks = [(1 << width) - 1 for width in self.WIDTHS]
        v, d, q, c = (np.right_shift(key, s) & m for s, m in zip(self.SHIFTS, masks, strict=True))
        return {"v": v, "q": q - 1, "c": c, "d": self.EPOCH + d, **out}


def _fields(t: dict[str, np.ndarray]) -> list[pgcopy.Field]:
    """Encode totals (from :meth:`DailyCounter.totals`) as rows of :data:`COLUMNS`."""
    quadrant = t["q"]
    return [
        pgcopy.fixed(t["v"], ">i2"),
        pgcopy.dates(t["d"]),
        pgcopy.fixed(quadrant, ">i4", quadrant != OUTSIDE),
        pgcopy.fixed(t["c"], ">i2"),
        *(pgcopy.fixed(t[basis], ">i4") for basis in BASES),
    ]


def _run_counts(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct keys of sorted runs ``parts`` and how often each occurs.

    A stable sort (timsort) merges sorted runs in close to linear time, where
    ``np.unique`` would sort everything again from scratch.
    """
    packed = np.sort(np.concatenate(parts), kind="stable") if parts else np.zeros(0, np.int64)
    starts = np.flatnonzero(run_starts(packed))
    return packed[starts], np.diff(np.append(starts, len(packed)))


def _spread(key: np.ndarray, some: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Return ``counts`` of the sorted keys ``some`` placed at their positions in ``key``."""
    out = np.zeros(len(key), np.int64)
    out[np.searchsorted(key, some)] = counts
    return out


def queue_counts(queue: bulk.CopyQueue, counter: DailyCounter) -> None:
    """Queue a batch's totals for appending to ``daily_count`` (encoded in the queue's thread)."""
    queue.submit("daily_count", COLUMNS, lambda: _fields(counter.totals()))


def queue_retired(conn: Connection, source_id: int, run_id: int) -> None:
    """Append the negated counts of the incidents of a source that run ``run_id`` retired.

    Call after the run has set their ``retired_run_id``, in the same transaction. Each
    retired incident is taken off its day, category and, in every vintage it was
    placed in, the quadrant of each basis.
    """
    conn.execute(text(_RETIRED), {"run": run_id, "source": source_id})


def finish(conn: Connection) -> None:
    """Refresh ``daily_count``'s statistics after a load's counts are written."""
    conn.execute(text("ANALYZE daily_count"))
