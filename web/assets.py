"""The map's scripts and styles: the machine's Debian packages when installed, else a CDN.

``make install`` installs ``libjs-leaflet`` and ``libjs-d3`` (as root, where apt
exists) into ``/usr/share/javascript``; the app serves them under ``/vendor/``, so
the sector map draws without internet (only the base tiles need it). Elsewhere
the map loads the same libraries from the CDNs folium and branca name.
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
#: Library directories served under ``/vendor/`` (Leaflet's CSS loads its images from there).
SERVED = frozenset(asset.path.split("/")[0] for asset in ASSETS.values())


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
