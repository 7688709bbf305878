"""The pages' scripts and styles from the machine's Debian packages (the map's: else a CDN).

``make install`` installs ``libjs-leaflet`` and ``libjs-d3`` (as root, where apt
exists) into ``/usr/share/javascript``; the app serves them under ``/vendor/``, so
the sector map draws without internet (only the base tiles need it). Elsewhere
the map loads the same libraries from the CDNs folium and branca name. The trend
charts' Chart.js (``libjs-chart.js``) is only ever served by the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from compstat.errors import NotFoundError


@dataclass(frozen=True)
class Asset:
    """One file the map needs: where it lies under the JavaScript directory, and its CDN copy."""

    path: str
    cdn: str


#: Keyed by the names folium and branca give them in the page header.
ASSETS = {
    "leaflet": Asset(
        "leaflet/leaflet.min.js", "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
    ),
    "leaflet_css": Asset(
        "leaflet/leaflet.css", "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"
    ),
    "d3": Asset("d3/d3.min.js", "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js"),
}
#: Files served only from the machine's packages, never a CDN: the trend charts'
#: Chart.js (Debian's ``libjs-chart.js``).
LOCAL_ONLY = {"chart": "chart.js/chart.min.js"}
#: Library directories served under ``/vendor/`` (Leaflet's CSS loads its images from there).
SERVED = frozenset(
    path.split("/")[0] for path in [*(a.path for a in ASSETS.values()), *LOCAL_ONLY.values()]
)


def asset_urls(js_dir: Path, local_url: Callable[[str], str]) -> dict[str, str]:
    """Return the URL of each asset: ``local_url(path)`` where the file is installed, else the CDN.

    Parameters
    ----------
    js_dir : Path
        Directory holding the Debian packages' files (``/usr/share/javascript``).
    local_url : callable
        Turns a path under ``js_dir`` into the URL the app serves it at.
    """
    return {
        name: local_url(asset.path) if (js_dir / asset.path).is_file() else asset.cdn
        for name, asset in ASSETS.items()
    }


def all_local(urls: dict[str, str]) -> bool:
    """Return whether every asset in ``urls`` (from :func:`asset_urls`) is served locally."""
    return all(urls[name] != asset.cdn for name, asset in ASSETS.items())


def served_path(filename: str) -> str:
    """Return ``filename`` if it lies in a served library's directory; else raise NotFoundError."""
    library = filename.split("/", 1)[0]
    if library not in SERVED or "/" not in filename:
        raise NotFoundError(f"no map library file {filename!r}")
    return filename
