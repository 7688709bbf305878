"""Cumulative releases: a superseding load retires the stored rows its file no longer carries.

The FGJ republishes one cumulative file (all years) every month. Between releases
rows are revised (recategorised, relocated) or withdrawn, and the file carries no
case id, so rows are keyed by content: a revised row arrives under a new key while
its old key disappears. Loaded with ``--supersedes``, a release replaces the earlier
ones for the days it covers (its first to last day of occurrence): the stored live
rows of its source in those days whose key the file lacks are retired
(``incident.retired_run_id`` = this run), and ``etl.counts.queue_retired`` takes them
out of ``daily_count`` in the same transaction. Rows in both releases stay as they
are (the new file's copies count as duplicates), new and revised rows load.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
from sqlalchemy import Connection, text

from compstat import bulk, pgcopy
from etl import counts
from etl.placement import Placement

_KEYS = "release_key"
_CREATE = f"CREATE TEMPORARY TABLE {_KEYS} (source_key bigint NOT NULL) ON COMMIT DROP"
_RETIRE = f"""
UPDATE incident i SET retired_run_id = :run
WHERE i.source_id = :source AND i.retired_run_id IS NULL AND i.load_run_id < :run
  AND i.occurred_date BETWEEN :first AND :last
  AND NOT EXISTS (SELECT 1 FROM {_KEYS} k WHERE k.source_key = i.source_key)
"""


class ReleaseKeys:
    """The keys and days of occurrence a superseding release carries, gathered chunk by chunk."""

    def __init__(self) -> None:
        self.keys: list[np.ndarray] = []
        self.first: np.datetime64 | None = None
        self.last: np.datetime64 | None = None

    def add(self, keys: np.ndarray, days: np.ndarray) -> None:
        """Note a chunk's checked rows (loaded or already stored alike)."""
        if not len(keys):
            return
        self.keys.append(np.unique(keys))
        days = days.astype("datetime64[D]")
        low, high = days.min(), days.max()
        self.first = low if self.first is None else min(self.first, low)
        self.last = high if self.last is None else max(self.last, high)

    @property
    def period(self) -> tuple[date, date] | None:
        """The first and last day of occurrence in the file (None for a file without rows)."""
        if self.first is None or self.last is None:
            return None
        return self.first.astype(date), self.last.astype(date)

    def retire(self, conn: Connection, source_id: int, run_id: int) -> int:
        """Retire the source's live rows in the period that the file lacks; return how many.

        Their counts are appended negated (``etl.counts.queue_retired``), in the same
        transaction.
        """
        period = self.period
        if period is None:
            return 0
        keys = np.unique(np.concatenate(self.keys))
        conn.execute(text(_CREATE))
        bulk.copy_in(conn, _KEYS, ["source_key"], [pgcopy.fixed(keys, ">i8")])
        conn.execute(text(f"ANALYZE {_KEYS}"))
        params = {"run": run_id, "source": source_id, "first": period[0], "last": period[1]}
        retired = conn.execute(text(_RETIRE), params).rowcount
        conn.execute(text(f"DROP TABLE {_KEYS}"))
        if retired:
            counts.queue_retired(conn, source_id, run_id)
        return retired

    def note(self, retired: int) -> str:
        """Return the load note that says what the release replaced."""
        period = self.period
        if period is None:
            return "superseding release without rows: nothing retired"
        first, last = period
        return f"supersedes earlier releases for {first}..{last}: {retired} stored rows retired"


def live_only(placed: list[Placement], live: np.ndarray) -> list[Placement]:
    """Return the placements of the rows marked ``live`` (retired rows count nowhere)."""
    return [
        dataclasses.replace(
            p, quadrant=p.quadrant[live], spatial=p.spatial[live], source=p.source[live]
        )
        for p in placed
    ]
