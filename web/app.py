"""The Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask

#: Settings used unless ``COMPSTAT_*`` environment variables or ``test_config`` override them.
DEFAULTS: dict[str, Any] = {
    # SQLAlchemy URL; None means compstat.db.connect_url() (DATABASE_URL or the local default
    # database). The app only connects: `compstat db setup` provisions.
    "DATABASE_URL": None,
    # Simplification tolerance of the sector map, in degrees (~50 m).
    "MAP_TOLERANCE": 0.0005,
    "MAP_HEIGHT": 460,
    "RECENT_RUNS": 20,
    # Where Debian's libjs-* packages put Leaflet and d3 (web.assets); the CDN otherwise.
    "JS_DIR": "/usr/share/javascript",
    # Access (web/security.py): None generates a key into the instance folder on first run.
    "SECRET_KEY": None,
    # Cookies are always Secure over HTTPS; set true to force it behind a TLS proxy.
    "SESSION_COOKIE_SECURE": False,
    "LOGIN_FAILURES_PER_MINUTE": 10,
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host to trust (0: none).
    "TRUSTED_PROXIES": 0,
    # "memory://" (per process) or e.g. "redis://127.0.0.1:6379" (shared by the workers).
    "RATELIMIT_STORAGE_URI": "memory://",
    # API v1 (web/api): rows per page, its ceiling, and the simplification of unit shapes.
    "API_PAGE_SIZE": 1000,
    "API_MAX_PAGE_SIZE": 10000,
    "API_GEOMETRY_TOLERANCE": 0.0001,
    # Seconds an API query may run before it is stopped (503); None: no limit.
    "API_STATEMENT_TIMEOUT": 60,
    # The hotspot methods page (/mapa/metodos) shows this `compstat hotspots evaluate
    # --format json -o FILE` output (the evaluation takes minutes: never run per request).
    "HOTSPOT_EVALUATION": None,
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
    from flask_babel import Babel

    from web import errors, i18n, security, templating
    from web.api import v1 as api
    from web.views import (
        admin,
        auth,
        health,
        hotspots,
        overview,
        research,
        trends,
        vendor,
        weekly,
    )

    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("COMPSTAT")
    if test_config is not None:
        app.config.from_mapping(test_config)
    i18n.compile_catalogs()
    Babel(
        app,
        locale_selector=templating.select_language,
        default_translation_directories=str(i18n.TRANSLATIONS),
    )
    templating.register(app)
    errors.register(app)
    app.register_blueprint(overview.bp)
    app.register_blueprint(vendor.bp)
    blueprints = (
        auth.bp,
        health.bp,
        admin.bp,
        api.bp,
        weekly.bp,
        trends.bp,
        hotspots.bp,
        research.bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    security.register(app, auth.bp)
    return app
