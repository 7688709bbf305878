"""Polygons as a quantised topology (TopoJSON): shared borders stored once, in small integers.

A map of 847 quadrants sends every border twice when each polygon carries its own ring,
and every coordinate as a decimal number. A topology stores each border once, as an *arc*
that both neighbours reference, with coordinates snapped to an integer grid and written
as differences from the previous point (TopoJSON 1.0's quantised, delta-encoded arcs).
Arcs are simplified once, so neighbours stay aligned after simplification, which
simplifying each polygon on its own does not guarantee.

The steps:

1. *Quantise*: coordinates snap to a ``quantization`` x ``quantization`` grid over the
   extent; repeated consecutive points are dropped, and so are rings smaller than
   :data:`MIN_RING_CELLS` grid cells.
2. *Junctions*: a point is a junction where rings meet or part: it is met again with
   other neighbours than the first time. A ring with no junction is rotated to start at
   its smallest point, so the same ring drawn by two polygons (a hole filled by another
   unit) is found equal.
3. *Cut and deduplicate*: rings are cut into arcs at junctions; an arc already stored
   (either way round) is referenced, reversed as ``~index`` when walked backwards.
4. *Simplify*: each arc is simplified with Douglas-Peucker (its ends kept), in grid units.
   A ring that would fall below three distinct points keeps its arcs unsimplified.
5. *Encode*: the first point of each arc is absolute, the others are differences.

:func:`to_geometries` decodes a topology back into shapely polygons.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import shapely

Point = tuple[int, int]
Ring = list[Point]
#: Rings smaller than this many grid cells once snapped are specks (slivers between
#: surveyed polygons, a few square metres) and are dropped: no map could show them.
MIN_RING_CELLS = 4


@dataclass(frozen=True)
class Layer:
    """One object of a topology: its geometries, their ids and (optionally) properties."""

    geometries: Sequence[shapely.Geometry | None]
    ids: Sequence[str]
    properties: Sequence[dict | None] | None = None

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.geometries):
            raise ValueError("ids and geometries differ in length")


def topology(
    layers: Mapping[str, Layer], *, quantization: int = 10_000, tolerance: float = 0.0
) -> dict:
    """Return polygon layers as one TopoJSON topology with shared, quantised arcs.

    Layers share arcs with each other too: zones drawn over their quadrants cost only
    their references.

    Parameters
    ----------
    layers : mapping of str to Layer
        Each layer becomes a GeometryCollection under ``objects``, in order.
    quantization : int
        Grid steps along each axis of the extent (10,000 over Mexico City: about 5 m).
    tolerance : float
        Douglas-Peucker tolerance in the geometries' units (0: no simplification).

    Returns
    -------
    dict
        ``{"type": "Topology", "bbox", "transform": {"scale", "translate"},
        "objects": {name: GeometryCollection}, "arcs"}``. A geometry is a Polygon or
        a MultiPolygon, or has ``"type": null`` when empty; ``properties`` appear where
        given and not ``None``.
    """
    every = np.asarray([g for layer in layers.values() for g in layer.geometries], dtype=object)
    x0, y0, x1, y1 = shapely.total_bounds(every)
    scale = ((x1 - x0) / (quantization - 1) or 1.0, (y1 - y0) / (quantization - 1) or 1.0)
    shapes = {
        name: [_quantised_polygons(g, (x0, y0), scale) for g in layer.geometries]
        for name, layer in layers.items()
    }
    rings = [ring for polys in _each(shapes) for poly in polys for ring in poly]
    arcs, refs = _deduplicate(_cut(rings, _junctions(rings)))
    step = tolerance / min(scale)
    simplified = _simplify(arcs, refs, step) if step > 0 else arcs
    ring_refs = iter(refs)
    objects = {
        name: {
            "type": "GeometryCollection",
            "geometries": [
                _geometry(polys, ring_refs, layer, i) for i, polys in enumerate(shapes[name])
            ],
        }
        for name, layer in layers.items()
    }
    return {
        "type": "Topology",
        "bbox": [float(x0), float(y0), float(x1), float(y1)],
        "transform": {"scale": list(scale), "translate": [float(x0), float(y0)]},
        "objects": objects,
        "arcs": [_delta(arc) for arc in simplified],
    }


def _each(shapes: dict[str, list]) -> Iterator[list[list[Ring]]]:
    for polygons in shapes.values():
        yield from polygons


def _geometry(polys: list[list[Ring]], ring_refs: Iterator[list[int]], layer: Layer, i: int):
    """Return one TopoJSON geometry, taking its rings' references from ``ring_refs``."""
    item: dict = {"type": None, "id": layer.ids[i]}
    arcs = [[next(ring_refs) for _ in poly] for poly in polys]
    if len(arcs) == 1:
        item |= {"type": "Polygon", "arcs": arcs[0]}
    elif arcs:
        item |= {"type": "MultiPolygon", "arcs": arcs}
    if layer.properties is not None and layer.properties[i] is not None:
        item["properties"] = layer.properties[i]
    return item


def to_geometries(topo: dict, name: str) -> list[shapely.Geometry | None]:
    """Decode a topology's object ``name`` into shapely MultiPolygons (``None`` if empty)."""
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = [np.cumsum(np.asarray(arc, dtype=float), axis=0) for arc in topo["arcs"]]
    arcs = [np.column_stack([a[:, 0] * sx + tx, a[:, 1] * sy + ty]) for a in arcs]
    out: list[shapely.Geometry | None] = []
    for item in topo["objects"][name]["geometries"]:
        if item["type"] is None:
            out.append(None)
            continue
        nested = [item["arcs"]] if item["type"] == "Polygon" else item["arcs"]
        polys = [
            shapely.Polygon(_ring(arcs, poly[0]), [_ring(arcs, hole) for hole in poly[1:]])
            for poly in nested
        ]
        out.append(shapely.MultiPolygon(polys))
    return out


def _ring(arcs: list[np.ndarray], refs: list[int]) -> np.ndarray:
    parts = [arcs[r] if r >= 0 else arcs[~r][::-1] for r in refs]
    return np.concatenate([parts[0], *(p[1:] for p in parts[1:])])


# -- quantising ---------------------------------------------------------------------------


def _quantised_polygons(
    geometry: shapely.Geometry, origin: tuple[float, float], scale: tuple[float, float]
) -> list[list[Ring]]:
    """Return the geometry's polygons as lists of closed integer rings (exterior first)."""
    if geometry is None or geometry.is_empty:
        return []
    out = []
    for poly in getattr(geometry, "geoms", [geometry]):
        exterior = _quantised_ring(poly.exterior.coords, origin, scale)
        if exterior is None:
            continue
        holes = (_quantised_ring(r.coords, origin, scale) for r in poly.interiors)
        out.append([exterior, *(h for h in holes if h is not None)])
    return out


def _quantised_ring(
    coords: Iterable, origin: tuple[float, float], scale: tuple[float, float]
) -> Ring | None:
    """Snap a ring to the grid; ``None`` when it is a speck (:data:`MIN_RING_CELLS`)."""
    xy = np.asarray(coords, dtype=float)[:, :2]
    grid = np.rint((xy - origin) / scale).astype(np.int64)
    keep = np.ones(len(grid), dtype=bool)
    keep[1:] = np.any(grid[1:] != grid[:-1], axis=1)
    ring = [(int(x), int(y)) for x, y in grid[keep]]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    if len(set(ring)) < 3 or abs(_area(ring)) < MIN_RING_CELLS:
        return None
    return ring


def _area(ring: Ring) -> float:
    """Signed area of a closed ring in grid cells (shoelace)."""
    xy = np.asarray(ring, dtype=float)
    return 0.5 * float(np.dot(xy[:-1, 0], xy[1:, 1]) - np.dot(xy[1:, 0], xy[:-1, 1]))


# -- junctions, cuts and shared arcs ------------------------------------------------------


def _junctions(rings: list[Ring]) -> set[Point]:
    """Return the points where rings meet or part."""
    seen: dict[Point, tuple[Point, Point]] = {}
    junctions: set[Point] = set()
    for ring in rings:
        body = ring[:-1]
        n = len(body)
        for i, point in enumerate(body):
            pair = (body[i - 1], body[(i + 1) % n])
            first = seen.setdefault(point, pair)
            if first != pair and first != pair[::-1]:
                junctions.add(point)
    return junctions


def _cut(rings: list[Ring], junctions: set[Point]) -> list[list[list[Point]]]:
    """Cut each ring into arcs at its junctions (a ring without one stays whole)."""
    out = []
    for ring in rings:
        body = ring[:-1]
        cuts = [i for i, p in enumerate(body) if p in junctions]
        if not cuts:
            start = body.index(min(body))
            rotated = body[start:] + body[:start]
            out.append([[*rotated, rotated[0]]])
            continue
        rotated = body[cuts[0] :] + body[: cuts[0]]
        marks = [i - cuts[0] for i in cuts] + [len(body)]
        closed = [*rotated, rotated[0]]
        out.append([closed[a : b + 1] for a, b in pairwise(marks)])
    return out


def _deduplicate(cut: list[list[list[Point]]]) -> tuple[list[list[Point]], list[list[int]]]:
    """Store each arc once; return the arcs and each ring's references (``~i`` reversed)."""
    index: dict[tuple[Point, ...], int] = {}
    arcs: list[list[Point]] = []
    refs = []
    for ring_arcs in cut:
        ring_refs = []
        for arc in ring_arcs:
            key = tuple(arc)
            if key in index:
                ring_refs.append(index[key])
            elif key[::-1] in index:
                ring_refs.append(~index[key[::-1]])
            else:
                index[key] = len(arcs)
                arcs.append(arc)
                ring_refs.append(index[key])
        refs.append(ring_refs)
    return arcs, refs


# -- simplifying and encoding -------------------------------------------------------------


def _simplify(arcs: list[list[Point]], refs: list[list[int]], step: float) -> list[list[Point]]:
    """Douglas-Peucker each arc (ends kept); rings that would collapse keep their arcs."""
    simple = [_douglas_peucker(arc, step) for arc in arcs]
    for ring_refs in refs:
        points = {p for r in ring_refs for p in simple[r if r >= 0 else ~r]}
        if len(points) < 3 or _ring_vertices(simple, ring_refs) < 4:
            for r in ring_refs:
                simple[r if r >= 0 else ~r] = arcs[r if r >= 0 else ~r]
    return simple


def _ring_vertices(arcs: list[list[Point]], ring_refs: list[int]) -> int:
    return 1 + sum(len(arcs[r if r >= 0 else ~r]) - 1 for r in ring_refs)


def _douglas_peucker(arc: list[Point], step: float) -> list[Point]:
    """Simplify a line of grid points, keeping both ends."""
    if len(arc) <= 2:
        return arc
    line = shapely.LineString(arc)
    if arc[0] == arc[-1]:
        # A closed arc: simplify its two halves, so the ring keeps a body.
        half = len(arc) // 2
        first = _douglas_peucker(arc[: half + 1], step)
        return first + _douglas_peucker(arc[half:], step)[1:]
    simplified = shapely.simplify(line, step, preserve_topology=False)
    return [(int(x), int(y)) for x, y in shapely.get_coordinates(simplified)]


def _delta(arc: list[Point]) -> list[list[int]]:
    points = np.asarray(arc, dtype=np.int64)
    deltas = np.vstack([points[:1], np.diff(points, axis=0)])
    return deltas.tolist()
