"""Spatial weights between units, as binary sparse matrices for Gi* and the like.

``queen_weights``
    Queen contiguity: two units are neighbours when their closed shapes share at least
    one point (an edge or a corner). Real layers often have shared edges that do not
    quite meet (digitised separately), so a ``tolerance`` in metres may count units
    within that distance as neighbours too ("fuzzy" contiguity).
``distance_band_weights``
    Units whose representative points lie within a threshold distance.

Both return a symmetric ``scipy.sparse.csr_array`` of 0/1 with an empty diagonal, rows
in the order of the input; Gi* adds the self-weight itself.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.spatial import cKDTree

METRIC_CRS = 32614


def _metric_geometries(units: gpd.GeoSeries | gpd.GeoDataFrame | np.ndarray) -> np.ndarray:
    """Return the shapes as a shapely array, in EPSG:32614 if they carry a CRS."""
    if isinstance(units, gpd.GeoDataFrame | gpd.GeoSeries):
        if units.crs is None:
            raise ValueError("the layer has no CRS: cannot measure it in metres")
        return np.asarray(units.to_crs(METRIC_CRS).geometry.values)
    return np.asarray(units)


def _binary(i: np.ndarray, j: np.ndarray, n: int) -> sp.csr_array:
    """Return the symmetric 0/1 matrix of the pairs, without self-pairs."""
    keep = i != j
    i, j = i[keep], j[keep]
    matrix = sp.csr_array(
        (np.ones(2 * i.size), (np.concatenate([i, j]), np.concatenate([j, i]))), shape=(n, n)
    )
    matrix.data[:] = 1.0
    matrix.sort_indices()
    return matrix


def queen_weights(
    units: gpd.GeoSeries | gpd.GeoDataFrame | np.ndarray, *, tolerance: float = 0.0
) -> sp.csr_array:
    """Return binary queen contiguity between polygons.

    Parameters
    ----------
    units : geopandas.GeoSeries, geopandas.GeoDataFrame or numpy.ndarray
        The polygons. Layers with a CRS are measured in EPSG:32614; bare shapely
        arrays are taken as they are (in metres if ``tolerance`` is used).
    tolerance : float
        Also count polygons within this many metres as neighbours (0: touching only).

    Returns
    -------
    scipy.sparse.csr_array
    """
    geometries = _metric_geometries(units)
    tree = shapely.STRtree(geometries)
    if tolerance > 0:
        i, j = tree.query(geometries, predicate="dwithin", distance=tolerance)
    else:
        i, j = tree.query(geometries, predicate="intersects")
    return _binary(i, j, len(geometries))


def distance_band_weights(
    units: gpd.GeoSeries | gpd.GeoDataFrame | np.ndarray, threshold: float
) -> sp.csr_array:
    """Return binary weights between units whose representative points are within ``threshold``.

    ``units`` are shapes (their ``point_on_surface`` is used) or an ``(n, 2)`` array of
    coordinates in metres.
    """
    data = units if isinstance(units, gpd.GeoDataFrame | gpd.GeoSeries) else np.asarray(units)
    if isinstance(data, np.ndarray) and data.dtype != object:
        xy = data.reshape(-1, 2).astype(float)
    else:
        xy = shapely.get_coordinates(shapely.point_on_surface(_metric_geometries(data)))
    pairs = cKDTree(xy).query_pairs(threshold, output_type="ndarray")
    return _binary(pairs[:, 0], pairs[:, 1], len(xy))


def islands(weights: sp.csr_array | sp.spmatrix) -> np.ndarray:
    """Return the positions of units with no neighbour (the diagonal is ignored)."""
    matrix = sp.csr_array(weights).tolil()
    matrix.setdiag(0)
    matrix = sp.csr_array(matrix)
    matrix.eliminate_zeros()
    return np.flatnonzero(np.diff(matrix.indptr) == 0)
