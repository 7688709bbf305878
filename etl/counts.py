"""The one write path of ``daily_count``: count placed incidents and write them in.

Every writer (an incident load, a territory load placing stored incidents) counts all
its placed incidents in one :class:`DailyCounter` and calls :func:`write` once before
it commits. ``daily_count`` keeps one row per (vintage, day, quadrant, category) under
a unique key. A load whose vintages and days hold no counts yet appends its rows with
one ``COPY``, in the key's order; otherwise its rows go to a transaction-local delta
table and are merged (summed into the rows already there). A cumulative release that
retires stored incidents takes them out the same way, as negative deltas in that
table (:func:`queue_retired`), then merges.

Why not always merge: ``INSERT ... SELECT ... GROUP BY ... ON CONFLICT`` of the FGJ
file's 2.3 M count rows took about 10x the time of appending them (measured while
integrating the read side), for a case where no key can conflict.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Connection, text

from compstat import bulk, pgcopy
from geo.assign import OUTSIDE, run_starts

#: Delta columns, in the order :meth:`DailyCounter.fields` encodes them.
COLUMNS = ["vintage_id", "day", "quadrant_id", "category_id", "n_recorded", "n_spatial", "n_source"]
BASES = ("n_recorded", "n_spatial", "n_source")
DELTA = "daily_count_delta"

_CREATE_DELTA = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {DELTA} (
    vintage_id smallint NOT NULL, day date NOT NULL, quadrant_id integer,
    category_id smallint NOT NULL, n_recorded integer NOT NULL, n_spatial integer NOT NULL,
    n_source integer NOT NULL
) ON COMMIT DROP
"""
_MERGE = f"""
INSERT INTO daily_count AS d ({", ".join(COLUMNS)})
SELECT vintage_id, day, quadrant_id, category_id,
       sum(n_recorded), sum(n_spatial), sum(n_source)
FROM {DELTA}
GROUP BY vintage_id, day, quadrant_id, category_id
ORDER BY vintage_id, day, quadrant_id, category_id
ON CONFLICT ON CONSTRAINT daily_count_key DO UPDATE
SET n_recorded = d.n_recorded + excluded.n_recorded,
    n_spatial = d.n_spatial + excluded.n_spatial,
    n_source = d.n_source + excluded.n_source
"""

# The retired incidents' counts, negated: for each vintage the distinct quadrants of
# the three bases, each counted on the bases that chose it (as migration 0006 rebuilt
# the table from the same view).
_RETIRED = f"""
INSERT INTO {DELTA} ({", ".join(COLUMNS)})
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
# A key whose counts all went to zero is removed, so the table holds what a fresh
# load of the live incidents would have written.
_DROP_ZEROS = f"""
DELETE FROM daily_count d USING (SELECT DISTINCT vintage_id, day, quadrant_id, category_id
                                 FROM {DELTA} WHERE n_recorded < 0 OR n_spatial < 0
                                 OR n_source < 0) x
WHERE d.vintage_id = x.vintage_id AND d.day = x.day AND d.category_id = x.category_id
  AND d.quadrant_id IS NOT DISTINCT FROM x.quadrant_id
  AND d.n_recorded = 0 AND d.n_spatial = 0 AND d.n_source = 0
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


def open_delta(conn: Connection) -> None:
    """Create this transaction's delta table (dropped at commit); call before queueing."""
    conn.execute(text(_CREATE_DELTA))


_OVERLAP = (
    "SELECT EXISTS (SELECT 1 FROM daily_count WHERE vintage_id = ANY(:vintages) "
    "AND day BETWEEN :first AND :last)"
)


def _overlaps(conn: Connection, totals: dict[str, np.ndarray]) -> bool:
    """Return whether ``daily_count`` holds any row of these vintages within these days."""
    if not len(totals["v"]):
        return False
    params = {"vintages": sorted({int(v) for v in np.unique(totals["v"])}),
              "first": totals["d"].min().item(), "last": totals["d"].max().item()}  # fmt: skip
    return bool(conn.execute(text(_OVERLAP), params).scalar_one())


def write(conn: Connection, counter: DailyCounter, *, retired: bool = False) -> str:
    """Write a load's counts into ``daily_count`` and refresh its statistics.

    Appended with one ``COPY`` when ``daily_count`` holds no row of the load's vintages
    within its days (then no key can collide); otherwise, or after
    :func:`queue_retired` (``retired``), merged through the delta table, and keys the
    negative deltas brought to zero deleted. Returns ``"appended"`` or ``"merged"``.
    """
    totals = counter.totals()
    if not retired and not _overlaps(conn, totals):
        bulk.copy_in(conn, "daily_count", COLUMNS, _fields(totals))
        conn.execute(text("ANALYZE daily_count"))
        return "appended"
    open_delta(conn)
    bulk.copy_in(conn, DELTA, COLUMNS, _fields(totals))
    merge(conn, drop_zeros=retired)
    return "merged"


def queue_retired(conn: Connection, source_id: int, run_id: int) -> None:
    """Write negative deltas for the incidents of a source that run ``run_id`` retired.

    Call after the run has set their ``retired_run_id`` and before :func:`write`, in
    the same transaction. Each retired incident is taken off its day, category and,
    in every vintage it was placed in, the quadrant of each basis.
    """
    open_delta(conn)
    conn.execute(text(_RETIRED), {"run": run_id, "source": source_id})


def merge(conn: Connection, drop_zeros: bool = False) -> None:
    """Add the delta table's counts to ``daily_count`` and refresh its statistics.

    With ``drop_zeros`` (after :func:`queue_retired`), keys whose counts the negative
    deltas brought to zero on every basis are deleted.
    """
    conn.execute(text(_MERGE))
    if drop_zeros:
        conn.execute(text(_DROP_ZEROS))
    conn.execute(text(f"TRUNCATE {DELTA}"))
    conn.execute(text("ANALYZE daily_count"))
