"""Regular square grids in metres (EPSG:32614) over a study area, and points in their cells.

The grid's origin is snapped to a multiple of the cell size, so the same boundary and
cell size always give the same cells and ids. A cell's id is ``row * n_cols + col``
counted from the south-west corner of the grid's extent; its position in the kept
cells is its *index*. Two rules choose the cells kept:

``"clip"`` (default)
    every cell that meets the boundary, its geometry and area clipped to it;
``"centre"``
    every whole cell whose centre lies inside the boundary (all cells have the same
    area; the rule of the accuracy reference figures in ``docs/hotspots.md``).

Points are placed by arithmetic on their coordinates: a point on a cell edge belongs
to the cell east or north of it. A point in no kept cell gets index :data:`OUTSIDE`.
With ``"clip"``, a point just outside the boundary but inside a boundary cell is placed
in that cell: filter points to the study area first where that matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pyproj
import shapely

METRIC_CRS = 32614
OUTSIDE = -1
Rule = Literal["clip", "centre"]


@dataclass(frozen=True)
class Grid:
    """The kept cells of a square grid, in EPSG:32614 metres.

    Attributes
    ----------
    cell_size : float
        Side of a cell in metres.
    x0, y0 : float
        South-west corner of the grid's extent.
    n_cols, n_rows : int
        Columns and rows of the extent.
    cell_ids : numpy.ndarray
        Id (``row * n_cols + col``) of each kept cell, increasing.
    geometry : numpy.ndarray
        Shapely polygon of each kept cell (clipped with the ``"clip"`` rule).
    """

    cell_size: float
    x0: float
    y0: float
    n_cols: int
    n_rows: int
    cell_ids: np.ndarray
    geometry: np.ndarray

    def __len__(self) -> int:
        return self.cell_ids.size

    @property
    def centres(self) -> np.ndarray:
        """Return the ``(n, 2)`` centres of the whole (unclipped) cells."""
        rows, cols = np.divmod(self.cell_ids, self.n_cols)
        half = self.cell_size / 2
        return np.column_stack(
            [self.x0 + cols * self.cell_size + half, self.y0 + rows * self.cell_size + half]
        )

    @property
    def areas_m2(self) -> np.ndarray:
        """Return each kept cell's area in square metres (clipped area with ``"clip"``)."""
        return shapely.area(self.geometry)

    def cell_index(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return the index of the kept cell holding each point, or :data:`OUTSIDE`."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        col = np.floor((x - self.x0) / self.cell_size)
        row = np.floor((y - self.y0) / self.cell_size)
        inside = (col >= 0) & (col < self.n_cols) & (row >= 0) & (row < self.n_rows)
        flat = np.where(inside, row * self.n_cols + col, 0).astype(np.int64)
        lookup = np.full(self.n_cols * self.n_rows, OUTSIDE, dtype=np.int64)
        lookup[self.cell_ids] = np.arange(self.cell_ids.size)
        return np.where(inside, lookup[flat], OUTSIDE)

    def counts(self, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Return the number (or summed weights) of points in each kept cell."""
        index = self.cell_index(x, y)
        keep = index != OUTSIDE
        w = None if weights is None else np.asarray(weights, dtype=float)[keep]
        return np.bincount(index[keep], weights=w, minlength=len(self)).astype(float)

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """Return the kept cells as a GeoDataFrame (``cell_id``, ``area_m2``) in EPSG:32614."""
        return gpd.GeoDataFrame(
            {"cell_id": self.cell_ids, "area_m2": self.areas_m2},
            geometry=self.geometry,
            crs=METRIC_CRS,
        )


def study_area(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> shapely.Geometry:
    """Return the union of a layer's shapes in EPSG:32614 (e.g. a vintage's quadrants)."""
    if frame.crs is None:
        raise ValueError("the layer has no CRS: cannot place it in EPSG:32614")
    return shapely.union_all(frame.to_crs(METRIC_CRS).geometry.values)


def square_grid(boundary: shapely.Geometry, cell_size: float, *, rule: Rule = "clip") -> Grid:
    """Build a square grid of ``cell_size`` metres over a boundary in EPSG:32614.

    Parameters
    ----------
    boundary : shapely.Geometry
        Polygonal study area in EPSG:32614 metres (see :func:`study_area`).
    cell_size : float
        Side of a cell in metres.
    rule : {"clip", "centre"}
        Which cells are kept (see the module's notes).

    Returns
    -------
    Grid
    """
    if cell_size <= 0:
        raise ValueError(f"cell size must be positive, got {cell_size}")
    if boundary.is_empty:
        raise ValueError("the boundary is empty")
    minx, miny, maxx, maxy = boundary.bounds
    x0 = np.floor(minx / cell_size) * cell_size
    y0 = np.floor(miny / cell_size) * cell_size
    n_cols = max(1, int(np.ceil((maxx - x0) / cell_size)))
    n_rows = max(1, int(np.ceil((maxy - y0) / cell_size)))
    rows, cols = np.divmod(np.arange(n_rows * n_cols), n_cols)
    left = x0 + cols * cell_size
    bottom = y0 + rows * cell_size
    boxes = shapely.box(left, bottom, left + cell_size, bottom + cell_size)
    shapely.prepare(boundary)
    if rule == "centre":
        half = cell_size / 2
        keep = shapely.contains_xy(boundary, left + half, bottom + half)
        geometry = boxes[keep]
    elif rule == "clip":
        keep = shapely.intersects(boundary, boxes)
        geometry = boxes.copy()
        edge = keep & ~shapely.contains_properly(boundary, boxes)
        geometry[edge] = shapely.intersection(boxes[edge], boundary)
        keep &= shapely.area(geometry) > 0
        geometry = geometry[keep]
    else:
        raise ValueError(f"unknown rule {rule!r}: use clip or centre")
    return Grid(cell_size, float(x0), float(y0), n_cols, n_rows, np.flatnonzero(keep), geometry)


def to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project EPSG:32614 metres back to WGS 84 longitudes and latitudes."""
    transformer = pyproj.Transformer.from_crs(METRIC_CRS, 4326, always_xy=True)
    return transformer.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))


def to_metric(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS 84 longitudes and latitudes to EPSG:32614 metres."""
    transformer = pyproj.Transformer.from_crs(4326, METRIC_CRS, always_xy=True)
    return transformer.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
