"""The folium map of the sectors of a vintage, shaded by their incident counts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import folium
import shapely
from branca.colormap import LinearColormap
from branca.element import JavascriptLink

#: Light-to-dark oranges: few to many incidents.
COLORS = ("#fff5eb", "#fd8d3c", "#7f2704")
#: Where the map opens before fitting the sectors (the Zócalo, roughly).
CDMX_CENTER = (19.36, -99.13)
NO_DATA = "#d9d9d9"


def _features(shapes: list[dict], counts: Mapping[str, int]) -> list[dict]:
    return [
        {
            "type": "Feature",
            "geometry": json.loads(s["geojson"]),
            "properties": {
                "code": s["code"],
                "name": s["name"],
                "count": counts.get(s["code"], 0),
                "count_text": f"{counts.get(s['code'], 0):,}",
            },
        }
        for s in shapes
    ]


def _bounds(features: list[dict]) -> list[list[float]]:
    minx, miny, maxx, maxy = shapely.total_bounds(
        [shapely.geometry.shape(f["geometry"]) for f in features]
    )
    return [[miny, minx], [maxy, maxx]]


class _Colormap(LinearColormap):
    """A legend that loads d3 from ``d3_url`` (branca names a CDN copy)."""

    def __init__(self, *args: Any, d3_url: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.d3_url = d3_url

    def render(self, **kwargs: Any) -> None:
        """Render the legend, then put ``d3_url`` in place of branca's link (same name)."""
        super().render(**kwargs)
        self.get_root().header.add_child(JavascriptLink(self.d3_url), name="d3")


def sector_map(
    shapes: list[dict],
    counts: Mapping[str, int],
    labels: Mapping[str, str],
    assets: Mapping[str, str],
    height: int = 460,
) -> str:
    """Return a standalone HTML document with the sector map.

    Parameters
    ----------
    shapes : list of dict
        Sector ``code``, ``name`` and ``geojson`` geometry text.
    counts : mapping of str to int
        Incidents per sector code; sectors missing count 0 and codes without a shape
        (e.g. incidents outside every quadrant) are ignored. Empty draws grey sectors.
    labels : mapping of str to str
        Translated ``name``, ``code``, ``count`` (tooltip) and ``caption`` (legend).
    assets : mapping of str to str
        URLs of ``leaflet``, ``leaflet_css`` and ``d3`` (:func:`web.assets.asset_urls`).
    height : int
        Map height in pixels.

    Returns
    -------
    str
        The HTML page, to embed in an ``iframe`` so Leaflet's styles stay inside it.
    """
    features = _features(shapes, counts)
    top = max((f["properties"]["count"] for f in features), default=0)
    # no base tiles: they would come from another host (police networks have no internet)
    fmap = folium.Map(
        location=CDMX_CENTER, zoom_start=10, tiles=None, height=f"{height}px", control_scale=True
    )
    # only Leaflet: the page draws no markers, so folium's jQuery, Bootstrap and icon fonts
    # would be downloads for nothing
    fmap.default_js = [("leaflet", assets["leaflet"])]
    fmap.default_css = [("leaflet_css", assets["leaflet_css"])]
    scale = _Colormap(
        COLORS, vmin=0, vmax=max(top, 1), caption=labels["caption"], d3_url=assets["d3"]
    )

    def style(feature: dict) -> dict:
        fill = scale(feature["properties"]["count"]) if counts else NO_DATA
        return {"fillColor": fill, "fillOpacity": 0.75, "color": "#444", "weight": 0.8}

    tooltip = folium.GeoJsonTooltip(
        fields=["name", "code", "count_text"],
        aliases=[labels["name"], labels["code"], labels["count"]],
    )
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=style,
        tooltip=tooltip,
        name="sectores",
    ).add_to(fmap)
    if counts:
        scale.add_to(fmap)
    if features:
        fmap.fit_bounds(_bounds(features))
    return fmap.get_root().render()
