"""Cross-walk two sets of polygons by area of overlap, measured in EPSG:32614."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.territory import METRIC_CRS

#: Overlaps smaller than this (m²) are slivers from digitising, not shared territory.
MIN_OVERLAP_M2 = 1.0


def crosswalk(source: gpd.GeoDataFrame, target: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return the area each ``source`` polygon shares with each ``target`` polygon.

    Parameters
    ----------
    source, target : geopandas.GeoDataFrame
        Each with a ``qid`` column identifying its polygons.

    Returns
    -------
    pandas.DataFrame
        Columns ``from_id, to_id, overlap_km2, share_of_from, share_of_to``; shares are
        fractions of each polygon's own area.
    """
    a = source.to_crs(METRIC_CRS).geometry.values
    b = target.to_crs(METRIC_CRS).geometry.values
    left, right = shapely.STRtree(b).query(a, predicate="intersects")
    overlap = shapely.area(shapely.intersection(a[left], b[right]))
    keep = overlap >= MIN_OVERLAP_M2
    left, right, overlap = left[keep], right[keep], overlap[keep]
    return pd.DataFrame(
        {
            "from_id": source["qid"].to_numpy()[left].astype(np.int64),
            "to_id": target["qid"].to_numpy()[right].astype(np.int64),
            "overlap_km2": overlap / 1e6,
            "share_of_from": overlap / shapely.area(a[left]),
            "share_of_to": overlap / shapely.area(b[right]),
        }
    )
