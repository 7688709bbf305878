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

METHODS = np.array(["recorded", "spatial", "outside"], dtype=object)


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
            "WHERE :only IS NULL OR v.id = :only ORDER BY v.id, q.id"
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
    """Where a batch of incidents falls in one vintage."""

    vintage_id: int
    quadrant: np.ndarray
    spatial: np.ndarray
    method: np.ndarray


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
    by_record = chosen != OUTSIDE
    quadrant = np.where(by_record, chosen, spatial)
    method = np.where(by_record, 0, np.where(spatial != OUTSIDE, 1, 2))
    return Placement(vintage.id, quadrant, spatial, method)


def write_assignments(conn: Connection, incident_ids: np.ndarray, placements: list[Placement]):
    """Append one ``assignment`` row per incident and vintage."""
    for p in placements:
        fields = [
            pgcopy.fixed(incident_ids, ">i8"),
            pgcopy.fixed(np.full(len(incident_ids), p.vintage_id), ">i2"),
            pgcopy.fixed(p.quadrant, ">i4", p.quadrant != OUTSIDE),
            pgcopy.fixed(p.spatial, ">i4", p.spatial != OUTSIDE),
            pgcopy.texts(METHODS[p.method]),
        ]
        bulk.copy_in(
            conn, "assignment",
            ["incident_id", "vintage_id", "quadrant_id", "spatial_quadrant_id", "method"], fields,
        )  # fmt: skip


class DailyCounter:
    """Accumulates incidents by vintage, quadrant, category and day, for both bases."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, placements: list[Placement], category: np.ndarray, day: np.ndarray) -> None:
        """Count a batch of placed incidents."""
        days = day.astype("datetime64[D]").astype(np.int64)
        for p in placements:
            for basis, quadrant in (("n_recorded", p.quadrant), ("n_spatial", p.spatial)):
                frame = pd.DataFrame({"q": quadrant, "c": category, "d": days})
                counted = frame.value_counts().rename(basis).reset_index()
                counted["v"] = p.vintage_id
                self.parts.append(counted)

    def totals(self) -> pd.DataFrame:
        """Return one row per vintage, quadrant, category and day with both counts."""
        if not self.parts:
            return pd.DataFrame(columns=["v", "q", "c", "d", "n_recorded", "n_spatial"])
        frame = pd.concat(self.parts, ignore_index=True).fillna(0)
        return frame.groupby(["v", "q", "c", "d"], as_index=False)[
            ["n_recorded", "n_spatial"]
        ].sum()

    def write(self, conn: Connection, load_run_id: int) -> int:
        """Append the totals to ``daily_count`` under ``load_run_id``; return rows written."""
        t = self.totals()
        fields = [
            pgcopy.fixed(t["v"].to_numpy(), ">i2"),
            pgcopy.fixed(t["q"].to_numpy(), ">i4", t["q"].to_numpy() != OUTSIDE),
            pgcopy.fixed(t["c"].to_numpy(), ">i2"),
            pgcopy.dates(t["d"].to_numpy().astype("datetime64[D]")),
            pgcopy.fixed(np.full(len(t), load_run_id), ">i4"),
            pgcopy.fixed(t["n_recorded"].to_numpy(), ">i4"),
            pgcopy.fixed(t["n_spatial"].to_numpy(), ">i4"),
        ]
        columns = ["vintage_id", "quadrant_id", "category_id", "day", "load_run_id",
                   "n_recorded", "n_spatial"]  # fmt: skip
        bulk.copy_in(conn, "daily_count", columns, fields)
        return len(t)
