import geopandas as gpd
import numpy as np
import pytest
import shapely
from numpy.testing import assert_array_equal
from scipy.sparse.csgraph import connected_components

from geo.territory import read_layer
from geo.weights import distance_band_weights, islands, queen_weights


def squares(rows: int, cols: int, size: float = 100.0) -> np.ndarray:
    r, c = np.divmod(np.arange(rows * cols), cols)
    return shapely.box(c * size, r * size, (c + 1) * size, (r + 1) * size)


def test_queen_counts_edges_and_corners():
    w = queen_weights(squares(3, 3))
    assert_array_equal(np.diff(w.indptr), [3, 5, 3, 5, 8, 5, 3, 5, 3])
    assert (w != w.T).nnz == 0
    assert w.diagonal().sum() == 0
    assert set(w.data) == {1.0}


def test_tolerance_joins_shapes_that_almost_touch():
    pair = np.array([shapely.box(0, 0, 100, 100), shapely.box(100.5, 0, 200, 100)])
    assert queen_weights(pair).nnz == 0
    assert_array_equal(islands(queen_weights(pair)), [0, 1])
    assert queen_weights(pair, tolerance=1.0).nnz == 2


def test_layers_are_measured_in_metres():
    layer = gpd.GeoSeries(list(squares(1, 2)), crs=32614).to_crs(4326)
    assert queen_weights(layer, tolerance=0.5).nnz == 2
    with pytest.raises(ValueError, match="CRS"):
        queen_weights(gpd.GeoSeries(list(squares(1, 2))))


def test_distance_band_on_points_and_shapes():
    points = np.array([[0, 0], [100, 0], [250, 0.0]])
    w = distance_band_weights(points, 150)
    assert_array_equal(w.toarray(), [[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    w = distance_band_weights(squares(1, 3), 100)
    assert_array_equal(np.diff(w.indptr), [1, 2, 1])


@pytest.mark.realdata
def test_2016_quadrants_have_no_islands_and_match_libpysal(paths):
    from libpysal.weights import Queen

    quadrants = read_layer(paths["q2016"])
    w = queen_weights(quadrants)
    # Measured: 2,572 neighbouring pairs, 1 to 18 neighbours (median 6), no island,
    # one connected piece, so Gi* over quadrants never meets an isolated unit.
    assert w.nnz == 2 * 2_572
    assert islands(w).size == 0
    assert connected_components(w)[0] == 1
    assert np.median(np.diff(w.indptr)) == 6
    reference = Queen.from_dataframe(quadrants, use_index=False).sparse
    assert (reference != w).nnz == 0
