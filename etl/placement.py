"""Place incidents in the quadrants of every loaded vintage and count them by day."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from compstat import bulk, pgcopy
from geo.assign import OUTSIDE, PolygonIndex


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
    the spatial one; ``source`` is exactly the source's recorded quadrant for rows of
    a source that records quadrants in this vintage (:data:`OUTSIDE` where it left the
    row unassigned or named a code the vintage lacks), else the spatial one;
    :data:`OUTSIDE` means no quadrant.
    """

    vintage_id: int
    quadrant: np.ndarray
    spatial: np.ndarray
    source: np.ndarray


def place(
    vintages: list[Vintage],
    lon: np.ndarray,
    lat: np.ndarray,
    recorded: list[str | None] | None,
    recorded_vintage: str | None,
    own: np.ndarray | None = None,
) -> list[Placement]:
    """Place points in every vintage, in parallel threads (GEOS releases the GIL).

    ``recorded`` holds the source's quadrant codes in ``recorded_vintage``; ``own``
    marks the rows whose source records quadrants there (all rows when omitted).
    """
    with ThreadPoolExecutor(max_workers=2) as pool:
        spatial = list(pool.map(lambda v: v.index.assign(lon, lat), vintages))
    return [
        _combine(v, s, recorded if v.name == recorded_vintage else None, own)
        for v, s in zip(vintages, spatial, strict=True)
    ]


def _combine(
    vintage: Vintage,
    spatial: np.ndarray,
    recorded: list[str | None] | None,
    own: np.ndarray | None,
) -> Placement:
    if recorded is None:
        return Placement(vintage.id, spatial, spatial, spatial)
    lookup = vintage.code_to_id
    chosen = np.fromiter((lookup.get(c, OUTSIDE) for c in recorded), np.int64, len(recorded))
    source = chosen if own is None else np.where(own, chosen, spatial)
    return Placement(vintage.id, np.where(chosen != OUTSIDE, chosen, spatial), spatial, source)


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
