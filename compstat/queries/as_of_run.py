"""Counts as known after load run N, straight from ``incident`` and ``assignment``.

``daily_count`` holds what is known now: a cumulative release retires the rows it no
longer carries (``incident.retired_run_id``) and takes them out of the counts. The
figures published after an earlier run stay reproducible from the raw tables: the
incidents known after run ``N`` are those loaded by run ``N`` or before and not
retired by then (``load_run_id <= N AND (retired_run_id IS NULL OR retired_run_id >
N)``). They are placed in today's territory tables (a vintage loaded after run ``N``
places them too). Reads scan ``incident`` and ``assignment``: about ten seconds for
the real data's 2.3 M incidents, not the milliseconds of ``daily_count``.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from sqlalchemy import Connection, text

from compstat.errors import NotFoundError

#: The incidents known after run ``:as_of_run`` (on alias ``i``).
KNOWN = (
    "i.load_run_id <= :as_of_run AND (i.retired_run_id IS NULL OR i.retired_run_id > :as_of_run)"
)

#: A relation in the shape of ``daily_count`` (not summed: one row per incident,
#: vintage and distinct quadrant of its bases) over the incidents known after the run.
DAILY = f"""
SELECT m.vintage_id, i.occurred_date AS day, q.quadrant_id, i.category_id,
       (q.quadrant_id IS NOT DISTINCT FROM m.quadrant_id)::integer AS n_recorded,
       (q.quadrant_id IS NOT DISTINCT FROM m.spatial_quadrant_id)::integer AS n_spatial,
       (q.quadrant_id IS NOT DISTINCT FROM m.source_quadrant_id)::integer AS n_source
FROM incident i
JOIN assignment_with_method m ON m.incident_id = i.id
CROSS JOIN LATERAL (
    SELECT DISTINCT x AS quadrant_id
    FROM unnest(ARRAY[m.quadrant_id, m.spatial_quadrant_id, m.source_quadrant_id]) AS x
) q
WHERE {KNOWN}
"""

#: The view's quadrant column of each basis.
BASIS_COLUMNS = {
    "recorded": "quadrant_id",
    "spatial": "spatial_quadrant_id",
    "source": "source_quadrant_id",
}


def counts_relation(basis: str) -> str:
    """Return a relation in the shape of ``daily_count`` valid for ``n_{basis}`` alone.

    One row per incident known after ``:as_of_run`` and vintage, in its quadrant on
    ``basis``, each count 1: cheaper than :data:`DAILY`, whose other bases it gets
    wrong, so a reader of it must sum only ``n_{basis}``.
    """
    column = BASIS_COLUMNS[basis]
    return f"""
SELECT m.vintage_id, i.occurred_date AS day, m.{column} AS quadrant_id, i.category_id,
       1 AS n_recorded, 1 AS n_spatial, 1 AS n_source
FROM incident i
JOIN assignment_with_method m ON m.incident_id = i.id
WHERE {KNOWN}
"""


_BY_QUADRANT = f"""
SELECT coalesce(q.code, 'FUERA') AS quadrant, c.code AS category, d.day,
       sum(d.n_recorded)::bigint AS n_recorded, sum(d.n_spatial)::bigint AS n_spatial,
       sum(d.n_source)::bigint AS n_source
FROM ({DAILY}) d
JOIN territory_vintage v ON v.id = d.vintage_id AND v.name = :vintage
JOIN category c ON c.id = d.category_id
LEFT JOIN quadrant q ON q.id = d.quadrant_id
GROUP BY 1, 2, 3
ORDER BY 3, 1, 2
"""

_SPANS = f"""
SELECT min(i.occurred_date), max(i.occurred_date) FROM incident i
WHERE {KNOWN} GROUP BY i.source_id ORDER BY 1
"""


def check_run(conn: Connection, run_id: int) -> None:
    """Raise :class:`NotFoundError` unless load run ``run_id`` exists."""
    found = conn.execute(text("SELECT 1 FROM load_run WHERE id = :r"), {"r": run_id}).first()
    if found is None:
        raise NotFoundError(f"load run {run_id} does not exist (see load_run)")


def daily_counts(conn: Connection, vintage: str, run_id: int) -> pd.DataFrame:
    """Return the counts per quadrant, category and day as known after run ``run_id``.

    Columns ``quadrant`` (code; ``FUERA`` outside every quadrant), ``category``
    (code), ``day`` and one count per basis: ``n_recorded``, ``n_spatial``,
    ``n_source``. Only keys with an incident on some basis are listed.
    """
    check_run(conn, run_id)
    rows = conn.execute(text(_BY_QUADRANT), {"vintage": vintage, "as_of_run": run_id}).all()
    columns = ["quadrant", "category", "day", "n_recorded", "n_spatial", "n_source"]
    return pd.DataFrame(rows, columns=columns)


def spans(conn: Connection, run_id: int) -> list[tuple[date, date]]:
    """Return the days covered by the incidents known after the run: per source, merged."""
    rows = conn.execute(text(_SPANS), {"as_of_run": run_id}).all()
    return merge_spans(rows)


def merge_spans(rows) -> list[tuple[date, date]]:
    """Merge (first, last) day ranges sorted by first day, joining adjacent ones."""
    merged: list[tuple[date, date]] = []
    for first, last in rows:
        if merged and first <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged
