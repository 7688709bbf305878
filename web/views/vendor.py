"""Files of the map's libraries (``/vendor/<library>/<file>``), from the machine's packages."""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory
from flask.typing import ResponseReturnValue

from web import assets

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

#: Seconds browsers may keep a library file: the packages change only on upgrades.
MAX_AGE = 86_400


@bp.get("/<path:filename>")
def asset(filename: str) -> ResponseReturnValue:
    """Serve one file of Leaflet or d3 from the JavaScript directory."""
    return send_from_directory(
        current_app.config["JS_DIR"], assets.served_path(filename), max_age=MAX_AGE
    )
