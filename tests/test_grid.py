import numpy as np
import pytest
import shapely
from numpy.testing import assert_allclose, assert_array_equal

from geo.grid import OUTSIDE, square_grid, study_area, to_metric
from geo.territory import read_layer


def test_square_boundary_gives_whole_cells_with_stable_ids():
    grid = square_grid(shapely.box(1000, 2000, 2000, 3000), 250)
    assert (grid.x0, grid.y0, grid.n_cols, grid.n_rows) == (1000, 2000, 4, 4)
    assert_array_equal(grid.cell_ids, np.arange(16))
    assert_allclose(grid.areas_m2, 62_500)
    assert_allclose(grid.centres[:2], [[1125, 2125], [1375, 2125]])
    assert grid.to_geodataframe().crs.to_epsg() == 32614


def test_origin_snaps_to_multiples_of_the_cell_size():
    grid = square_grid(shapely.box(130, 260, 900, 1000), 250)
    assert (grid.x0, grid.y0, grid.n_cols, grid.n_rows) == (0, 250, 4, 3)


def test_clip_keeps_every_cell_the_boundary_meets_and_sums_to_its_area():
    triangle = shapely.Polygon([(0, 0), (1000, 0), (0, 1000)])
    grid = square_grid(triangle, 100)
    # 10 x 10 extent: the cells on or below the diagonal, 10 + 9 + ... + 1 = 55.
    assert len(grid) == 55
    assert_allclose(grid.areas_m2.sum(), triangle.area)
    assert_allclose(np.sort(np.unique(np.round(grid.areas_m2))), [5_000, 10_000])


def test_centre_rule_keeps_whole_cells_whose_centre_is_inside():
    triangle = shapely.Polygon([(0, 0), (1000, 0), (0, 1000)])
    grid = square_grid(triangle, 100, rule="centre")
    # centres (50 + 100 c, 50 + 100 r) inside when c + r <= 8: 45 cells.
    assert len(grid) == 45
    assert_allclose(grid.areas_m2, 10_000)


def test_points_are_placed_by_arithmetic_edges_go_east_and_north():
    grid = square_grid(shapely.box(0, 0, 500, 500), 250)
    x = np.array([10, 250, 499.9, 250, -1, 600, 100])
    y = np.array([10, 10, 499.9, 250, 10, 10, 260])
    assert_array_equal(grid.cell_index(x, y), [0, 1, 3, 3, OUTSIDE, OUTSIDE, 2])
    assert_array_equal(grid.counts(x, y), [1, 1, 1, 2])
    assert_array_equal(grid.counts(x, y, weights=np.arange(7.0)), [0, 1, 6, 2 + 3])


def test_points_in_dropped_cells_are_outside():
    triangle = shapely.Polygon([(0, 0), (1000, 0), (0, 1000)])
    grid = square_grid(triangle, 100, rule="centre")
    assert grid.cell_index(np.array([950.0]), np.array([950.0]))[0] == OUTSIDE


def test_to_metric_on_the_central_meridian_of_zone_14():
    x, y = to_metric(np.array([-99.0]), np.array([0.0]))
    assert_allclose([x[0], y[0]], [500_000, 0], atol=1e-6)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="cell size"):
        square_grid(shapely.box(0, 0, 1, 1), 0)
    with pytest.raises(ValueError, match="rule"):
        square_grid(shapely.box(0, 0, 1, 1), 1, rule="touch")


@pytest.mark.realdata
def test_250_m_grid_over_the_2016_quadrants(paths):
    boundary = study_area(read_layer(paths["q2016"]))
    clipped = square_grid(boundary, 250)
    # The 2016 quadrants cover 879.4 km² (data README); clipped cells cover exactly that.
    assert_allclose(clipped.areas_m2.sum() / 1e6, 879.41, atol=0.01)
    centred = square_grid(boundary, 250, rule="centre")
    assert len(centred) == 14_059
    assert len(clipped) == 14_948
