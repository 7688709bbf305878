"""Assign points to the polygon that covers them.

Points are sorted by longitude once; each polygon then tests only the points in
its bounding box (found by binary search) with GEOS' prepared ``intersects_xy``,
which needs no point objects. On the FGJ file this is about 5x faster than an
``STRtree`` query over point geometries, with the same answers.
"""

from __future__ import annotations

import numpy as np
import shapely

OUTSIDE = -1


class PolygonIndex:
    """Polygons prepared for repeated point assignment.

    Parameters
    ----------
    polygons : array-like of shapely geometries
        Polygons in the same CRS as the points to assign.
    ids : array-like of int
        The id reported for each polygon.
    """

    def __init__(self, polygons: np.ndarray, ids: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        self.ids = ids[order]
        self.polygons = np.asarray(polygons)[order]
        shapely.prepare(self.polygons)
        self.bounds = shapely.bounds(self.polygons)

    def assign(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Return the id of the polygon covering each point, or :data:`OUTSIDE`.

        A point on a shared edge (or inside an overlap) goes to the polygon with
        the lowest id, so the answer is deterministic. NaN coordinates are outside.
        """
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        result = np.full(len(lon), OUTSIDE, dtype=np.int64)
        located = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
        order = located[np.argsort(lon[located], kind="stable")]
        xs, ys = lon[order], lat[order]
        for polygon, poly_id, (x0, y0, x1, y1) in zip(
            self.polygons, self.ids, self.bounds, strict=True
        ):
            lo, hi = np.searchsorted(xs, x0, "left"), np.searchsorted(xs, x1, "right")
            in_box = lo + np.flatnonzero((ys[lo:hi] >= y0) & (ys[lo:hi] <= y1))
            hit = order[in_box[shapely.intersects_xy(polygon, xs[in_box], ys[in_box])]]
            hit = hit[result[hit] == OUTSIDE]
            result[hit] = poly_id
        return result
