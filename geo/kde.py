"""Kernel density surfaces of incident points, in points per km², in EPSG:32614 metres.

The surface at a location ``s`` is ``sum_i w_i K_h(|s - x_i|)`` over the points ``x_i``
(weights ``w_i``, 1 by default), with a kernel that integrates to 1 over the plane, so
the surface integrates to the number of points (less what falls beyond the study area).
Kernels, for a distance ``d`` and bandwidth ``h`` in metres:

``"quartic"`` (default; the biweight kernel of CrimeStat and ArcGIS)
    ``3 / (pi h²) (1 - d²/h²)²`` for ``d < h``, else 0: ``h`` is the search radius.
``"gaussian"``
    ``exp(-d² / (2 h²)) / (2 pi h²)``, cut at ``5 h`` (the lost mass is ``exp(-12.5)``,
    4e-6): ``h`` is the standard deviation.

Neighbours within the kernel's reach are found with a KD-tree, in chunks of
evaluation points holding at most about two million point pairs each, so memory stays
bounded. Duplicated coordinates are merged into one
weighted point first (complaints often share a geocoded address).

:func:`default_bandwidth` is the rule ArcGIS's Kernel Density documents: a spatial
variant of Silverman's rule of thumb, ``0.9 min(SD, sqrt(1 / ln 2) Dm) n^-0.2``, with
``SD`` the standard distance of the points and ``Dm`` their median distance from the
mean centre. Citywide it gives bandwidths of several hundred metres; the accuracy
study in ``docs/hotspots.md`` fixes the bandwidth instead (e.g. 250 m).
"""

from __future__ import annotations

import itertools
from typing import Literal

import numpy as np
from scipy.spatial import cKDTree

Kernel = Literal["quartic", "gaussian"]
GAUSSIAN_CUTOFF = 5.0
"""Gaussian kernels are cut at this many bandwidths."""
_PAIRS_PER_CHUNK = 2_000_000
_M2_PER_KM2 = 1e6


def kernel_values(distance: np.ndarray, bandwidth: float, kernel: Kernel) -> np.ndarray:
    """Return the kernel's density (per m²) at the given distances (m)."""
    d2 = (np.asarray(distance, dtype=float) / bandwidth) ** 2
    if kernel == "quartic":
        return np.where(d2 < 1, 3.0 / (np.pi * bandwidth**2) * (1 - d2) ** 2, 0.0)
    if kernel == "gaussian":
        inside = d2 <= GAUSSIAN_CUTOFF**2
        return np.where(inside, np.exp(-d2 / 2) / (2 * np.pi * bandwidth**2), 0.0)
    raise ValueError(f"unknown kernel {kernel!r}: use quartic or gaussian")


def reach(bandwidth: float, kernel: Kernel) -> float:
    """Return the distance beyond which the kernel is zero."""
    return bandwidth * (GAUSSIAN_CUTOFF if kernel == "gaussian" else 1.0)


def default_bandwidth(points: np.ndarray) -> float:
    """Return ArcGIS's default search radius for ``(n, 2)`` points in metres.

    ``0.9 * min(SD, sqrt(1 / ln 2) * Dm) * n ** -0.2``; see the module's notes.
    """
    xy = np.asarray(points, dtype=float)
    if len(xy) < 2:
        raise ValueError("a bandwidth rule needs at least two points")
    offsets = xy - xy.mean(axis=0)
    distances = np.hypot(offsets[:, 0], offsets[:, 1])
    standard_distance = np.sqrt((distances**2).mean())
    median_distance = np.median(distances)
    spread = min(standard_distance, np.sqrt(1 / np.log(2)) * median_distance)
    if spread <= 0:
        raise ValueError("the points do not spread: no bandwidth rule applies")
    return float(0.9 * spread * len(xy) ** -0.2)


def merge_duplicates(
    points: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return unique coordinates and the summed weight of the points at each."""
    xy = np.asarray(points, dtype=float).reshape(-1, 2)
    if not np.isfinite(xy).all():
        raise ValueError("points have missing or infinite coordinates")
    w = np.ones(len(xy)) if weights is None else np.asarray(weights, dtype=float)
    # As complex numbers (x + iy), pairs sort lexicographically and several times
    # faster than np.unique(axis=0) does.
    packed = np.ascontiguousarray(xy).view(np.complex128).ravel()
    unique, inverse = np.unique(packed, return_inverse=True)
    coordinates = np.column_stack([unique.real, unique.imag])
    return coordinates, np.bincount(inverse.ravel(), weights=w, minlength=len(unique))


def density(
    points: np.ndarray,
    at: np.ndarray,
    bandwidth: float,
    *,
    kernel: Kernel = "quartic",
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Return the kernel density, in points per km², at each evaluation location.

    Parameters
    ----------
    points : numpy.ndarray
        ``(n, 2)`` point coordinates in EPSG:32614 metres.
    at : numpy.ndarray
        ``(m, 2)`` evaluation locations in the same metres (e.g. ``Grid.centres``).
    bandwidth : float
        Bandwidth in metres (see :func:`default_bandwidth`).
    kernel : {"quartic", "gaussian"}
        The kernel (see the module's notes).
    weights : numpy.ndarray, optional
        Weight of each point (1 each by default).

    Returns
    -------
    numpy.ndarray
        ``(m,)`` densities in points per km².
    """
    if bandwidth <= 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth}")
    kernel_values(np.zeros(1), bandwidth, kernel)
    at = np.asarray(at, dtype=float).reshape(-1, 2)
    result = np.zeros(len(at))
    unique, mass = merge_duplicates(points, weights)
    if len(unique) == 0 or len(at) == 0:
        return result
    tree = cKDTree(unique)
    radius = reach(bandwidth, kernel)
    for lo, hi in _chunks(tree.query_ball_point(at, radius, return_length=True)):
        pairs = cKDTree(at[lo:hi]).sparse_distance_matrix(tree, radius, output_type="ndarray")
        values = kernel_values(pairs["v"], bandwidth, kernel) * mass[pairs["j"]]
        result[lo:hi] = np.bincount(pairs["i"], weights=values, minlength=hi - lo)
    return result * _M2_PER_KM2


def _chunks(neighbours: np.ndarray) -> list[tuple[int, int]]:
    """Split locations into runs holding at most about ``_PAIRS_PER_CHUNK`` point pairs."""
    cumulative = np.cumsum(neighbours)
    bounds = [0]
    while bounds[-1] < len(neighbours):
        start = bounds[-1]
        before = cumulative[start - 1] if start else 0
        end = int(np.searchsorted(cumulative, before + _PAIRS_PER_CHUNK, side="right"))
        bounds.append(max(end, start + 1))
    return list(itertools.pairwise(bounds))
