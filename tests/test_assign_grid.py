"""The grid lookup of ``PolygonIndex.assign`` against brute force, on synthetic polygons."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo import assign
from geo.assign import OUTSIDE, PolygonIndex

CELL_COUNTS = [1, 3, 24, 80]


def brute_force(polygons, ids, x, y, prepared: bool = False) -> np.ndarray:
    """Lowest id among the polygons that intersect each point, one polygon at a time."""
    result = np.full(len(x), OUTSIDE, dtype=np.int64)
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    points = shapely.points(x[finite], y[finite])
    for polygon, poly_id in sorted(zip(polygons, ids, strict=True), key=lambda pair: pair[1]):
        if polygon is None:
            continue
        if prepared:
            polygon = shapely.from_wkb(shapely.to_wkb(polygon))
            shapely.prepare(polygon)
            hit = shapely.intersects_xy(polygon, x[finite], y[finite])
        else:
            hit = shapely.intersects(polygon, points)
        free = hit & (result[finite] == OUTSIDE)
        result[finite[free]] = poly_id
    return result


def adversarial_points(polygons, index: PolygonIndex, rng: np.random.Generator) -> np.ndarray:
    """Points on vertices, on and near edges, on cell edges and corners, and at random."""
    shapes = [p for p in polygons if p is not None]
    coords = shapely.get_coordinates(shapes)
    a, b = coords[:-1], coords[1:]
    x0, y0, x1, y1 = shapely.total_bounds(shapes)
    pad = 0.1 * max(x1 - x0, y1 - y0)
    xe, ye = index.grid.x_edges, index.grid.y_edges
    n = 3000
    rx, ry = rng.uniform(x0 - pad, x1 + pad, n), rng.uniform(y0 - pad, y1 + pad, n)
    gx, gy = xe[rng.integers(0, len(xe), n)], ye[rng.integers(0, len(ye), n)]
    gx = np.nextafter(gx, gx + rng.choice([-1.0, 0.0, 1.0], n))
    gy = np.nextafter(gy, gy + rng.choice([-1.0, 0.0, 1.0], n))
    vertex = coords[rng.integers(0, len(coords), n)]
    at_vertex_x = xe[np.clip(np.searchsorted(xe, vertex[:, 0]), 0, len(xe) - 1)]
    outer_x = np.r_[xe[[0, -1]], np.nextafter(xe[[0, -1]], [-np.inf, np.inf])]
    outer_y = np.r_[ye[[0, -1]], np.nextafter(ye[[0, -1]], [-np.inf, np.inf])]
    groups = [
        coords,
        (a + b) / 2,
        a + rng.random((len(a), 1)) * (b - a),
        np.nextafter(coords, coords + rng.choice([-1.0, 1.0], coords.shape)),
        np.c_[rx, ry],
        np.c_[gx, ry],
        np.c_[rx, gy],
        np.c_[gx, gy],
        np.c_[at_vertex_x, vertex[:, 1]],
        np.c_[np.repeat(outer_x, 50), np.tile(ry[:50], 4)],
        np.c_[np.tile(rx[:50], 4), np.repeat(outer_y, 50)],
        np.array([[np.nan, y0], [x0, np.nan], [np.nan, np.nan], [np.inf, y0], [x0, -np.inf]]),
    ]
    return np.concatenate(groups)


def tiling(rows: int, cols: int, step: float) -> list:
    """Squares sharing edges and corners, like quadrants."""
    return [
        shapely.box(0.3 + i * step, -7.1 + j * step, 0.3 + (i + 1) * step, -7.1 + (j + 1) * step)
        for i in range(cols)
        for j in range(rows)
    ]


def overlapping(rng: np.random.Generator) -> list:
    """Overlapping polygons, holes, a polygon inside a hole, a multipolygon, a slanted strip."""
    discs = [shapely.Point(rng.uniform(0, 10, 2)).buffer(rng.uniform(0.5, 3), 7) for _ in range(12)]
    donut = shapely.box(2, 2, 8, 8).difference(shapely.box(4, 4, 6, 6))
    holes = shapely.Polygon(
        [(0, 0), (10, 0), (10, 10), (0, 10)],
        [[(1, 1), (3, 1), (3, 3), (1, 3)], [(5.5, 6), (9, 6), (7, 9)]],
    )
    multi = shapely.MultiPolygon([shapely.box(4.5, 4.5, 5.5, 5.5), shapely.box(-2, -2, -1, 12)])
    strip = shapely.Polygon([(-1, 0.2), (11, 9.7), (11, 10.4), (-1, 0.9)])
    return [*discs, donut, holes, multi, strip, shapely.box(4, 4, 6, 6)]


def check(polygons, ids, rng, prepared: bool = False) -> None:
    """Assign adversarial points and compare with brute force."""
    index = PolygonIndex(np.array(polygons, dtype=object), np.array(ids))
    points = adversarial_points(polygons, index, rng)
    got = index.assign(points[:, 0], points[:, 1])
    expected = brute_force(polygons, ids, points[:, 0], points[:, 1], prepared)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.int64


@pytest.mark.parametrize("cells", CELL_COUNTS)
def test_tiling_with_shuffled_ids(monkeypatch, cells):
    monkeypatch.setattr(assign, "_CELLS_PER_POLYGON", cells)
    rng = np.random.default_rng(cells)
    polygons = tiling(5, 7, 0.1)
    check(polygons, rng.permutation(len(polygons)) * 10 + 3, rng)


@pytest.mark.parametrize("cells", CELL_COUNTS)
def test_overlaps_and_holes(monkeypatch, cells):
    monkeypatch.setattr(assign, "_CELLS_PER_POLYGON", cells)
    rng = np.random.default_rng(100 + cells)
    polygons = overlapping(rng)
    check(polygons, rng.permutation(len(polygons)), rng)


@pytest.mark.parametrize("cells", CELL_COUNTS)
def test_invalid_and_odd_geometries(monkeypatch, cells):
    monkeypatch.setattr(assign, "_CELLS_PER_POLYGON", cells)
    rng = np.random.default_rng(200 + cells)
    bowtie = shapely.Polygon([(0, 0), (4, 4), (4, 0), (0, 4)])
    self_overlap = shapely.MultiPolygon([shapely.box(1, 1, 3, 3), shapely.box(2, 2, 5, 5)])
    line = shapely.LineString([(0, 5), (2, 3), (6, 3)])
    polygons = [bowtie, self_overlap, line, shapely.Polygon(), None, shapely.box(3, -1, 6, 2)]
    # invalid geometries are answered by GEOS' prepared predicate, as before the grid
    check(polygons, [5, 1, 4, 0, 2, 3], rng, prepared=True)


def assert_sound_labels(index: PolygonIndex) -> int:
    """Check every cell's label against GEOS on its closed box; return the covered cells."""
    grid, n = index.grid, len(index.polygons)
    nx = len(grid.x_edges) - 1
    cell = np.arange(len(grid.labels))
    ix, iy = cell % nx, cell // nx
    boxes = shapely.box(
        grid.x_edges[ix], grid.y_edges[iy], grid.x_edges[ix + 1], grid.y_edges[iy + 1]
    )
    box, polygon = shapely.STRtree(index.polygons).query(boxes, predicate="intersects")
    lowest = np.full(len(boxes), n)
    np.minimum.at(lowest, box, polygon)
    labels = grid.labels
    assert (lowest[labels == OUTSIDE] == n).all()
    covered = np.flatnonzero(labels >= 0)
    np.testing.assert_array_equal(lowest[covered], labels[covered])
    assert shapely.covers(index.polygons[labels[covered]], boxes[covered]).all()
    mixed = -2 - labels[box]
    meets = mixed >= 0
    start, stop = grid.offsets[mixed[meets]], grid.offsets[mixed[meets] + 1]
    for poly, a, b in zip(polygon[meets], start, stop, strict=True):
        assert poly in grid.candidates[a:b]
        assert (np.diff(grid.candidates[a:b]) > 0).all()
    return len(covered)


@pytest.mark.parametrize("cells", CELL_COUNTS)
def test_cell_labels_hold_for_whole_closed_cells(monkeypatch, cells):
    monkeypatch.setattr(assign, "_CELLS_PER_POLYGON", cells)
    rng = np.random.default_rng(300 + cells)
    for polygons in (tiling(5, 7, 0.1), overlapping(rng)):
        index = PolygonIndex(np.array(polygons), rng.permutation(len(polygons)))
        covered = assert_sound_labels(index)
        assert covered > 0 or cells < 24


def test_axis_cell_holds_values_next_to_edges():
    rng = np.random.default_rng(7)
    for _ in range(100):
        lo, size = rng.uniform(-200, 200), 10 ** rng.uniform(-5, 0)
        edges = assign._axis_edges(lo, lo + size * rng.uniform(1, 500), size, 1e-6 * size)
        values = np.r_[edges, np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)]
        values = values[(values >= edges[0]) & (values <= edges[-1])]
        cell = assign._axis_cell(values, edges)
        assert ((edges[cell] <= values) & (values <= edges[cell + 1])).all()


def test_known_answers():
    left, right = shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)
    ring = shapely.box(0, 2, 3, 5).difference(shapely.box(1, 3, 2, 4))
    inner = shapely.box(0.5, 2.5, 2.5, 4.5)
    index = PolygonIndex(np.array([right, left, ring, inner]), np.array([7, 9, 4, 8]))
    x = np.array([1.0, 0.5, 1.5, 1.5, 0.75, 1.5, 5.0, np.nan, 1.0, 2.0])
    y = np.array([0.5, 0.5, 0.5, 3.5, 2.75, 4.0, 5.0, 0.5, 1.0, 0.0])
    assert index.assign(x, y).tolist() == [7, 9, 7, 8, 4, 4, OUTSIDE, OUTSIDE, 7, 7]


def test_points_on_cell_edges_of_a_covered_cell():
    index = PolygonIndex(np.array(tiling(4, 4, 1.0)), np.arange(16))
    grid = index.grid
    x, y = np.meshgrid(grid.x_edges, grid.y_edges)
    x, y = x.ravel(), y.ravel()
    expected = brute_force(tiling(4, 4, 1.0), np.arange(16), x, y)
    np.testing.assert_array_equal(index.assign(x, y), expected)
    assert (grid.labels >= 0).any() and (grid.labels < OUTSIDE).any()


def test_empty_inputs():
    index = PolygonIndex(np.array(tiling(2, 2, 1.0)), np.arange(4))
    assert index.assign(np.array([]), np.array([])).tolist() == []
    none = PolygonIndex(np.array([shapely.Polygon()], dtype=object), np.array([1]))
    assert none.assign(np.array([0.0, np.nan]), np.array([0.0, 1.0])).tolist() == [OUTSIDE] * 2
    nothing = PolygonIndex(np.array([], dtype=object), np.array([], dtype=np.int64))
    assert nothing.assign(np.array([0.0]), np.array([0.0])).tolist() == [OUTSIDE]
