"""The pages' scripts and styles, from the machine's Debian packages only (never a CDN).

``make install`` installs ``libjs-leaflet``, ``libjs-leaflet.markercluster``, ``libjs-d3``
and ``libjs-chart.js`` (as root, where apt exists) into ``/usr/share/javascript``; the
app serves them under ``/vendor/``, so maps and charts draw on a police network with no
internet. Where a package is missing its map does not draw, and the page says which
package to install: nothing is ever fetched from another host.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from compstat.errors import NotFoundError

#: The overview map's files (folium and branca name them so in the page header), under
#: the JavaScript directory.
ASSETS = {
    "leaflet": "leaflet/leaflet.min.js",
    "leaflet_css": "leaflet/leaflet.css",
    "d3": "d3/d3.min.js",
}
#: Files of the hotspot map and the trend charts, served from the same packages.
OTHER = {
    "markercluster": "leaflet/leaflet.markercluster.js",
    "markercluster_css": "leaflet/MarkerCluster.css",
    "markercluster_default_css": "leaflet/MarkerCluster.Default.css",
    "chart": "chart.js/chart.min.js",
}
#: The Debian package holding each library directory (``libjs-leaflet.markercluster``
#: installs into Leaflet's).
PACKAGES = {"leaflet": "libjs-leaflet", "d3": "libjs-d3", "chart.js": "libjs-chart.js"}
#: Library directories served under ``/vendor/`` (Leaflet's CSS loads its images from there).
SERVED = frozenset(PACKAGES)


def asset_urls(local_url: Callable[[str], str]) -> dict[str, str]:
    """Return the URL the app serves each overview map file at (``local_url(path)``)."""
    return {name: local_url(path) for name, path in ASSETS.items()}


def missing_packages(js_dir: Path) -> list[str]:
    """Return the Debian packages whose overview map files are not under ``js_dir``."""
    absent = {path.split("/")[0] for path in ASSETS.values() if not (js_dir / path).is_file()}
    return sorted(PACKAGES[library] for library in absent)


def served_path(filename: str) -> str:
    """Return ``filename`` if it lies in a served library's directory; else raise NotFoundError."""
    library = filename.split("/", 1)[0]
    if library not in SERVED or "/" not in filename:
        raise NotFoundError(f"no map library file {filename!r}")
    return filename
