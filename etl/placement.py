"""Place incidents in the quadrants of every loaded vintage and count them by day."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from compstat import bulk, pgcopy
from geo.assign import OUTSIDE, PolygonIndex, run_starts

DAILY_COLUMNS = ["vintage_id", "quadrant_id", "category_id", "day", "n_recorded", "n_spatial"]


@dataclass
class Vintage:
    """One loaded vintage, ready to place points."""

    id: int
    name: str
    index: PolygonIndex
    code_to_id: dict[str, int]


def load_vintages(conn: Connection, only: int | None = None) -> list[Vintage]:
    """Read the quadrants of every vintage (or of vintage ``only``) from the database."""
    rows = conn.execute(
        text(
            "SELECT v.id, v.name, q.id, q.code, ST_AsBinary(q.geom) FROM quadrant q "
            "JOIN territory_vintage v ON v.id = q.vintage_id "
            "WHERE CAST(:only AS integer) IS NULL OR v.id = :only ORDER BY v.id, q.id"
        ),
        {"only": only},
    ).all()
    frame = pd.DataFrame(rows, columns=["vid", "vname", "qid", "code", "wkb"])
    vintages = []
    for (vid, vname), group in frame.groupby(["vid", "vname"], sort=True):
        polygons = shapely.from_wkb(group["wkb"].map(bytes).to_numpy())
        index = PolygonIndex(polygons, group["qid"].to_numpy())
        codes = dict(zip(group["code"], group["qid"], strict=True))
        vintages.append(Vintage(int(vid), str(vname), index, codes))
    return vintages


@dataclass
class Placement:
    """Where a batch of incidents falls in one vintage.

    ``quadrant`` is the source's recorded quadrant where this vintage has it, else
    the spatial one; :data:`OUTSIDE` means no quadrant.
    """

    vintage_id: int
    quadrant: np.ndarray
    spatial: np.ndarray


def place(
    vintages: list[Vintage],
    lon: np.ndarray,
    lat: np.ndarray,
    recorded: list[str | None] | None,
    recorded_vintage: str | None,
) -> list[Placement]:
    """Place points in every vintage, in parallel threads (GEOS releases the GIL)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        spatial = list(pool.map(lambda v: v.index.assign(lon, lat), vintages))
    return [
        _combine(v, s, recorded if v.name == recorded_vintage else None)
        for v, s in zip(vintages, spatial, strict=True)
    ]


def _combine(vintage: Vintage, spatial: np.ndarray, recorded: list[str | None] | None) -> Placement:
    chosen = np.full(len(spatial), OUTSIDE, dtype=np.int64)
    if recorded is not None:
        lookup = vintage.code_to_id
        chosen = np.fromiter((lookup.get(c, OUTSIDE) for c in recorded), np.int64, len(recorded))
    return Placement(vintage.id, np.where(chosen != OUTSIDE, chosen, spatial), spatial)


ASSIGNMENT_COLUMNS = ["incident_id", "vintage_id", "spatial_quadrant_id"]


def assignment_fields(incident_ids: np.ndarray, placements: list[Placement]) -> list:
    """Encode one ``assignment`` row per incident and vintage, in (incident, vintage) order.

    Only the spatial quadrant is stored: the recorded choice follows from the
    incident's recorded quadrant (the view ``assignment_with_method`` derives it).
    """
    k = len(placements)
    spatial = np.column_stack([p.spatial for p in placements]).ravel()
    vintage = np.tile([p.vintage_id for p in placements], len(incident_ids))
    return [
        pgcopy.fixed(np.repeat(incident_ids, k), ">i8"),
        pgcopy.fixed(vintage, ">i2"),
        pgcopy.fixed(spatial, ">i4", spatial != OUTSIDE),
    ]


def queue_assignments(queue: bulk.CopyQueue, incident_ids: np.ndarray, placements: list[Placement]):
    """Queue the ``assignment`` rows of a batch of placed incidents."""
    queue.submit(
        "assignment", ASSIGNMENT_COLUMNS, lambda: assignment_fields(incident_ids, placements)
    )


def _spread(key: np.ndarray, some: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Return ``counts`` of the sorted keys ``some`` placed at their positions in ``key``."""
    out = np.zeros(len(key), np.int64)
    out[np.searchsorted(key, some)] = counts
    return out


class DailyCounter:
    """Accumulates incidents by vintage, quadrant, category and day, for both bases.

    Each (vintage, quadrant, category, day) is packed into one int64 so counting
    is a sort, not a group-by: 8 bits of vintage, 21 of quadrant (+1, so that
    "outside" is 0), 12 of category and 22 of day (days since 1900).
    """

    SHIFTS = (55, 34, 22, 0)
    EPOCH = np.datetime64("1900-01-01", "D")

    def __init__(self) -> None:
        self.keys: dict[str, list[np.ndarray]] = {"n_recorded": [], "n_spatial": []}

    def _pack(self, vintage: int, quadrant: np.ndarray, category: np.ndarray, day: np.ndarray):
        days = (day.astype("datetime64[D]") - self.EPOCH).astype(np.int64)
        parts = (np.int64(vintage), quadrant.astype(np.int64) + 1, category.astype(np.int64), days)
        key = np.zeros(len(days), np.int64)
        for part, shift in zip(parts, self.SHIFTS, strict=True):
            key |= np.left_shift(part, shift)
        return key

    def add(self, placements: list[Placement], category: np.ndarray, day: np.ndarray) -> None:
        """Count a batch of placed incidents."""
        for p in placements:
            self.keys["n_recorded"].append(self._pack(p.vintage_id, p.quadrant, category, day))
            self.keys["n_spatial"].append(self._pack(p.vintage_id, p.spatial, category, day))

    def totals(self) -> dict[str, np.ndarray]:
        """Return one row per vintage, quadrant, category and day (in that order), both counts.

        The columns are ``v``, ``q`` (:data:`OUTSIDE` for no quadrant), ``c``, ``d``
        (``datetime64[D]``), ``n_recorded`` and ``n_spatial``.
        """
        (key_r, n_r), (key_s, n_s) = (
            np.unique(np.concatenate(parts) if parts else np.zeros(0, np.int64),
                      return_counts=True)
            for parts in self.keys.values()
        )  # fmt: skip
        if np.array_equal(key_r, key_s):  # no recorded quadrants: both bases agree
            key = key_r
        else:
            both = np.sort(np.concatenate([key_r, key_s]))  # np.union1d hashes: slower
            key = both[run_starts(both)]
            n_r, n_s = _spread(key, key_r, n_r), _spread(key, key_s, n_s)
        mask = [(1 << 8) - 1, (1 << 21) - 1, (1 << 12) - 1, (1 << 22) - 1]
        v, q, c, d = (np.right_shift(key, s) & m for s, m in zip(self.SHIFTS, mask, strict=True))
        return {"v": v, "q": q - 1, "c": c, "d": self.EPOCH + d,
                "n_recorded": n_r, "n_spatial": n_s}  # fmt: skip

    def fields(self) -> list[pgcopy.Field]:
        """Encode the totals as ``daily_count`` rows."""
        t = self.totals()
        quadrant = t["q"]
        return [
            pgcopy.fixed(t["v"], ">i2"),
            pgcopy.fixed(quadrant, ">i4", quadrant != OUTSIDE),
            pgcopy.fixed(t["c"], ">i2"),
            pgcopy.dates(t["d"]),
            pgcopy.fixed(t["n_recorded"], ">i4"),
            pgcopy.fixed(t["n_spatial"], ">i4"),
        ]

    def queue(self, queue: bulk.CopyQueue) -> None:
        """Queue the totals for appending to ``daily_count``."""
        queue.submit("daily_count", DAILY_COLUMNS, self.fields)
