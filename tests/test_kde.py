import numpy as np
import pytest
import shapely
from numpy.testing import assert_allclose

import geo.kde
from geo.grid import square_grid
from geo.kde import default_bandwidth, density, kernel_values, merge_duplicates

ORIGIN = np.array([[0.0, 0.0]])


def test_quartic_hand_computed():
    # 3 / (pi 200²) (1 - 100²/200²)² per m² = 13.4287 per km²; at the point 23.8732.
    at = np.array([[100.0, 0.0], [0.0, 0.0], [0.0, 200.0], [150.0, 150.0]])
    result = density(ORIGIN, at, 200)
    assert_allclose(result[:2], [3 / (np.pi * 0.04) * 0.5625, 3 / (np.pi * 0.04)])
    assert_allclose(result[0], 13.42870, rtol=1e-6)
    assert_allclose(result[2:], 0)


def test_gaussian_hand_computed():
    # exp(-100² / (2 200²)) / (2 pi 200²) per m² = 3.51134 per km².
    result = density(ORIGIN, np.array([[0.0, 100.0], [1001.0, 0.0]]), 200, kernel="gaussian")
    assert_allclose(result[0], np.exp(-0.125) / (2 * np.pi * 0.04), rtol=1e-12)
    assert_allclose(result[0], 3.51134, rtol=1e-5)
    assert result[1] == 0  # beyond 5 bandwidths


def test_two_points_add_and_weights_scale():
    points = np.array([[0.0, 0.0], [200.0, 0.0]])
    at = np.array([[100.0, 0.0]])
    assert_allclose(density(points, at, 200), 2 * 13.42870, rtol=1e-6)
    assert_allclose(density(points, at, 200, weights=np.array([1.0, 3.0])), 4 * 13.42870, rtol=1e-6)


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
def test_surface_integrates_to_the_number_of_points(kernel):
    rng = np.random.default_rng(4)
    points = rng.uniform(2_000, 4_000, (500, 2))
    points[:100] = points[0]  # duplicates are merged, not lost
    grid = square_grid(shapely.box(0, 0, 6_000, 6_000), 20)
    surface = density(points, grid.centres, 250, kernel=kernel)
    total = (surface * grid.areas_m2 / 1e6).sum()
    assert total == pytest.approx(500, rel=0.01)


def test_chunking_does_not_change_the_surface(monkeypatch):
    rng = np.random.default_rng(1)
    points = rng.normal(0, 300, (300, 2))
    at = rng.uniform(-600, 600, (400, 2))
    whole = density(points, at, 150)
    monkeypatch.setattr(geo.kde, "_PAIRS_PER_CHUNK", 50)
    assert_allclose(density(points, at, 150), whole, rtol=1e-12)


def test_kernels_integrate_to_one():
    r = np.linspace(0, 1_000, 200_001)
    for kernel in ("quartic", "gaussian"):
        values = kernel_values(r, 150, kernel)
        assert np.trapezoid(values * 2 * np.pi * r, r) == pytest.approx(1, rel=1e-4)


def test_merge_duplicates_sums_weights():
    unique, mass = merge_duplicates(np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0]]))
    assert_allclose(unique, [[1, 2], [3, 4]])
    assert_allclose(mass, [2, 1])


def test_default_bandwidth_hand_computed():
    # four corners of a 200 m square: distances to the centre all 100 sqrt(2), so
    # SD = Dm = 141.42; min(SD, 1.2011 Dm) = SD; 0.9 SD 4^-0.2 = 96.45 m.
    points = np.array([[0, 0], [200, 0], [0, 200], [200, 200.0]])
    assert_allclose(default_bandwidth(points), 0.9 * 100 * np.sqrt(2) * 4**-0.2)
    with pytest.raises(ValueError, match="spread"):
        default_bandwidth(np.zeros((3, 2)))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="bandwidth"):
        density(ORIGIN, ORIGIN, 0)
    with pytest.raises(ValueError, match="kernel"):
        density(ORIGIN, ORIGIN, 10, kernel="epanechnikov")
    with pytest.raises(ValueError, match="missing"):
        density(np.array([[np.nan, 0.0]]), ORIGIN, 10)


def test_no_points_give_a_zero_surface():
    assert_allclose(density(np.empty((0, 2)), np.zeros((3, 2)), 100), 0)
