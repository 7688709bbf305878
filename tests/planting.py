"""Synthetic SSP rows planted in the real quadrants (the hotspot tests' clusters)."""

from __future__ import annotations

from datetime import date

#: Quadrants outside a cluster, each with a point inside it (lat, lon), in code order.
SPREAD = """
SELECT code, ST_Y(ST_PointOnSurface(geom)), ST_X(ST_PointOnSurface(geom)) FROM quadrant
WHERE NOT code = ANY(:cluster) ORDER BY code
"""


def ssp_row(code: str, crime: str, day: date, lat: float, lon: float, key: int) -> str:
    """Return one SSP file row (quadrant, crime, day at noon, point, key)."""
    return f'"{code}","{crime}",{day},"12:00",{day.year},{day.month},{lat},{lon},{key}'
