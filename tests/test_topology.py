"""The map's quantised topology (geo/topology.py): shared borders once, decoded back exactly."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import box

from geo.topology import Layer, to_geometries, topology

# Three unit squares in a row, the middle one with a square hole filled by a fourth unit.
LEFT, MIDDLE, RIGHT = box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)
HOLE = box(1.25, 0.25, 1.75, 0.75)
RING = MIDDLE.difference(HOLE)


def units(*geometries: shapely.Geometry) -> dict[str, Layer]:
    ids = [f"u{i}" for i in range(len(geometries))]
    return {"units": Layer(list(geometries), ids)}


def test_neighbours_share_their_border_and_decode_exactly() -> None:
    topo = topology(units(LEFT, MIDDLE, RIGHT), quantization=301)
    # 3 squares: 2 shared borders + 3 outer runs (left, middle top and bottom, right)
    assert len(topo["arcs"]) == 6
    arcs_used = [g["arcs"][0] for g in topo["objects"]["units"]["geometries"]]
    shared = set(map(abs_ref, arcs_used[0])) & set(map(abs_ref, arcs_used[1]))
    assert len(shared) == 1
    for drawn, exact in zip(to_geometries(topo, "units"), (LEFT, MIDDLE, RIGHT), strict=True):
        assert drawn.symmetric_difference(exact).area == pytest.approx(0, abs=1e-12)


def abs_ref(ref: int) -> int:
    return ref if ref >= 0 else ~ref


def test_a_hole_filled_by_another_unit_is_one_arc() -> None:
    topo = topology(units(RING, HOLE), quantization=201)
    ring, hole = topo["objects"]["units"]["geometries"]
    assert ring["type"] == hole["type"] == "Polygon"
    assert len(ring["arcs"]) == 2  # exterior and the hole
    assert {abs_ref(r) for r in ring["arcs"][1]} == {abs_ref(r) for r in hole["arcs"][0]}
    drawn = to_geometries(topo, "units")
    assert drawn[0].area == pytest.approx(RING.area) and drawn[1].area == pytest.approx(0.25)


def test_arcs_are_delta_encoded_on_the_grid() -> None:
    topo = topology(units(LEFT), quantization=11)
    assert topo["transform"] == {"scale": [0.1, 0.1], "translate": [0.0, 0.0]}
    (arc,) = topo["arcs"]
    assert all(isinstance(v, int) for point in arc for v in point)
    assert sorted(map(tuple, arc[1:])) == sorted([(0, 10), (10, 0), (0, -10), (-10, 0)])


def test_layers_share_arcs_and_empty_geometries_stay_in_place() -> None:
    outline = shapely.union_all([LEFT, MIDDLE])
    layers = {
        "units": Layer([LEFT, MIDDLE, None], ["a", "b", "c"], [None, {"name": "B"}, None]),
        "outlines": Layer([outline], ["z"]),
    }
    alone = topology({"units": layers["units"]}, quantization=201)
    both = topology(layers, quantization=201)
    assert len(both["arcs"]) == len(alone["arcs"])  # the outline reuses the units' arcs
    a, b, c = both["objects"]["units"]["geometries"]
    assert "properties" not in a and b["properties"] == {"name": "B"}
    assert c == {"type": None, "id": "c"} and to_geometries(both, "units")[2] is None
    assert to_geometries(both, "outlines")[0].area == pytest.approx(2.0)


def test_simplification_keeps_neighbours_aligned() -> None:
    # A wiggly shared border: simplified once, both sides follow the same line.
    wiggle = [(1 + 0.01 * (-1) ** k, k / 20) for k in range(21)]
    left = shapely.Polygon([(0, 0), *wiggle, (0, 1)])
    right = shapely.Polygon([(3, 0), (3, 1), *reversed(wiggle)])
    topo = topology(units(left, right), quantization=3001, tolerance=0.05)
    a, b = to_geometries(topo, "units")
    assert a.intersection(b).area == pytest.approx(0, abs=1e-9)
    assert a.union(b).area == pytest.approx(left.union(right).area, rel=1e-3)
    assert len(shapely.get_coordinates(a)) < len(shapely.get_coordinates(left))


def test_a_ring_too_small_for_the_grid_is_dropped_not_the_unit() -> None:
    speck = box(0.5, 0.5, 0.5001, 0.5001)
    topo = topology(units(shapely.MultiPolygon([LEFT, box(2, 2, 3, 3)]), speck), quantization=31)
    big, small = topo["objects"]["units"]["geometries"]
    assert big["type"] == "MultiPolygon" and small["type"] is None


def test_ids_must_match_the_geometries() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        Layer([LEFT], ["a", "b"])
