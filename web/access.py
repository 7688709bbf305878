"""Who may call what: the one table of role rules, keyed by endpoint, and its enforcement.

Every endpoint of the app must appear in :data:`RULES`; an endpoint without a rule
is refused to everyone (403) and fails the route x role matrix test
(tests/test_access.py), so a new route cannot ship unguarded. To guard a new
blueprint's routes, add one line per endpoint, e.g.::

    "weekly.index": EVERY_ROLE,          # aggregates: every logged-in role
    "weekly.incidents": POINT_ROLES,     # points, exact times: not researchers

Roles: ``admin`` (everything, users, audit), ``commander`` and ``planner`` (every
aggregate and the incident points), ``researcher`` (aggregates only: never incident
points, exact times or anything finer than a quadrant-day).
"""

from __future__ import annotations

from flask import current_app, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from compstat.accounts import POINT_ROLES as _POINT_ROLES
from compstat.accounts import ROLES
from web import render

#: No log-in needed.
PUBLIC: frozenset[str] = frozenset()
#: Any logged-in user.
EVERY_ROLE: frozenset[str] = frozenset(ROLES)
#: Incident points, exact times, anything finer than a quadrant-day.
POINT_ROLES: frozenset[str] = _POINT_ROLES
ADMIN_ONLY: frozenset[str] = frozenset({"admin"})

#: Endpoint -> roles allowed (``PUBLIC``: anyone, logged in or not).
RULES: dict[str, frozenset[str]] = {
    # public: the log-in page, static files, the map libraries, the health check
    "auth.login": PUBLIC,
    "static": PUBLIC,
    "vendor.asset": PUBLIC,
    "health.healthz": PUBLIC,
    "auth.logout": EVERY_ROLE,
    # the overview and its twins: aggregates only (sector-year counts, load runs)
    "overview.index": EVERY_ROLE,
    "overview.summary": EVERY_ROLE,
    "overview.table": EVERY_ROLE,
    # administration
    "admin.audit": ADMIN_ONLY,
    # API v1 (web/api): aggregates for everyone, points for commanders, planners, admins
    "api.openapi_json": EVERY_ROLE,
    "api.docs": EVERY_ROLE,
    "api.vintages": EVERY_ROLE,
    "api.units": EVERY_ROLE,
    "api.unit": EVERY_ROLE,
    "api.counts": EVERY_ROLE,
    "api.incidents": POINT_ROLES,
    "api.hotspots": EVERY_ROLE,
    "api.accountability": EVERY_ROLE,
    "api.trends": EVERY_ROLE,
    "api.covariates": EVERY_ROLE,
    # the weekly table, its downloads and trends: counts per unit and week or month
    "weekly.page": EVERY_ROLE,
    "weekly.download": EVERY_ROLE,
    "trends.unit": EVERY_ROLE,
    "trends.explorer": EVERY_ROLE,
    "trends.series": EVERY_ROLE,
    # the researcher page and its downloads: one row per sector or quadrant
    "research.page": EVERY_ROLE,
    "research.download": EVERY_ROLE,
    # incidents by day of week and hour: exact times of single incidents in small units
    "trends.time_of_day": POINT_ROLES,
    # the hotspot map: quadrant aggregates for everyone; the density surface (250 m cells)
    # and the reporting places (100 m cells), finer than a quadrant, for the roles that see
    # points
    "hotspots.page": EVERY_ROLE,
    "hotspots.values": EVERY_ROLE,
    "hotspots.shapes": EVERY_ROLE,
    "hotspots.units": EVERY_ROLE,
    "hotspots.download": EVERY_ROLE,
    "hotspots.methods": EVERY_ROLE,
    "hotspots.density": POINT_ROLES,
    "hotspots.points": POINT_ROLES,
    "hotspots.places": POINT_ROLES,
}


def is_public(endpoint: str | None) -> bool:
    """Return whether ``endpoint`` needs no log-in."""
    return endpoint in RULES and RULES[endpoint] == PUBLIC


def allowed(endpoint: str, role: str | None) -> bool:
    """Return whether a user of ``role`` (``None``: anonymous) may call ``endpoint``."""
    rule = RULES.get(endpoint)
    if rule is None:
        return False
    return rule == PUBLIC or role in rule


def wants_json() -> bool:
    """Return whether the request is an API or JSON one (errors in JSON, no redirects)."""
    return request.path.startswith("/api/") or render.error_format() == "json"


def enforce() -> ResponseReturnValue | None:
    """Refuse the request unless the current user's role may call its endpoint.

    Runs before every request: unknown URLs pass (they 404); anonymous callers of a
    page are sent to the log-in page, of the API or a JSON twin get 401; a role
    without a rule gets 403.
    """
    endpoint = request.endpoint
    if endpoint is None or is_public(endpoint):
        return None
    if endpoint not in RULES:
        current_app.logger.error("no access rule for endpoint %s: refused", endpoint)
        return render.error(403, "Forbidden", f"no access rule for {endpoint}")
    authenticated = current_user.is_authenticated
    if "database_error" in g:  # the session's user could not be loaded
        raise g.database_error
    if not authenticated:
        if wants_json() or request.method != "GET":
            return render.error(401, "Unauthorized", "log in or send an API token")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if not allowed(endpoint, current_user.role):
        return render.error(403, "Forbidden", f"the role {current_user.role} may not see this")
    return None
