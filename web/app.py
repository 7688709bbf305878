"""The Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask

#: Settings used unless ``COMPSTAT_*`` environment variables or ``test_config`` override them.
DEFAULTS: dict[str, Any] = {
    # SQLAlchemy URL; None means compstat.db.resolve_url() (DATABASE_URL or a local PostGIS).
    "DATABASE_URL": None,
    # Simplification tolerance of the sector map, in degrees (~50 m).
    "MAP_TOLERANCE": 0.0005,
    "MAP_HEIGHT": 460,
    "RECENT_RUNS": 20,
    # Where Debian's libjs-* packages put Leaflet and d3 (web.assets); the CDN otherwise.
    "JS_DIR": "/usr/share/javascript",
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the web app; nothing touches the database until the first request.

    Parameters
    ----------
    test_config : dict, optional
        Settings applied last, over :data:`DEFAULTS` and ``COMPSTAT_*`` variables
        (e.g. ``COMPSTAT_DATABASE_URL`` sets ``DATABASE_URL``).

    Returns
    -------
    flask.Flask
    """
    from web import errors, templating
    from web.views import overview, trends, vendor, weekly

    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("COMPSTAT")
    if test_config is not None:
        app.config.from_mapping(test_config)
    templating.register(app)
    errors.register(app)
    app.register_blueprint(overview.bp)
    app.register_blueprint(vendor.bp)
    app.register_blueprint(weekly.bp)
    app.register_blueprint(trends.bp)
    return app
