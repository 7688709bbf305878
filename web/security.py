"""Log-in (Flask-Login, sessions or bearer tokens), CSRF, rate limits, secret key, headers.

:func:`register` wires it all into an app; the role rules live in :mod:`web.access`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
from pathlib import Path

from flask import Flask, Response, current_app, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from compstat import accounts
from compstat.errors import DatabaseUnavailableError
from web import access, render
from web.database import run

SECRET_FILE = "secret_key"
#: Inline ``<script>`` and ``<style>`` elements of documents the app generates (the map).
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)
BASE_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-src": "'self'",
    "frame-ancestors": "'none'",
}


class LoginUser(UserMixin):
    """The Flask-Login face of a :class:`compstat.accounts.User`."""

    def __init__(self, user: accounts.User, via_token: bool = False) -> None:
        self.user = user
        self.via_token = via_token

    def get_id(self) -> str:
        """Return what the session keeps: the id and the password's session key."""
        return accounts.session_id(self.user)

    @property
    def name(self) -> str:
        """The user's name."""
        return self.user.name

    @property
    def role(self) -> str:
        """The user's role (:data:`compstat.accounts.ROLES`)."""
        return self.user.role

    @property
    def sees_points(self) -> bool:
        """Whether the user may see incident points and exact times."""
        return self.user.sees_points


def _lookup(handler, *args: object) -> accounts.User | None:
    """Return ``handler``'s user; with the database down, remember why and return ``None``.

    Flask-Login loads the user from templates too (the error page among them), so the
    loader must not raise: :func:`web.access.enforce` raises the remembered error.
    """
    try:
        return run(handler, *args)
    except DatabaseUnavailableError as exc:
        g.database_error = exc
        return None


def load_user(session: str) -> LoginUser | None:
    """Return the active user of a session, or ``None``.

    Disabled users, and sessions begun before the password last changed, are logged out.
    """
    user = _lookup(accounts.user_by_session, session)
    return None if user is None else LoginUser(user)


def load_token_user(req) -> LoginUser | None:
    """Return the user of an ``Authorization: Bearer`` token, or ``None``."""
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    user = _lookup(accounts.user_by_token, token.strip())
    return None if user is None else LoginUser(user, via_token=True)


def account() -> LoginUser | None:
    """Return the logged-in user for templates, or ``None``."""
    return current_user if current_user.is_authenticated else None


def user_name() -> str | None:
    """Return the current user's name, or ``None`` when nobody is logged in."""
    return current_user.name if current_user.is_authenticated else None


class SessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose cookie is ``Secure`` whenever the request came by HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        """Return the configured flag, or true for an HTTPS request."""
        return bool(super().get_cookie_secure(app) or request.is_secure)


def secret_key(instance: Path) -> str:
    """Return the key in ``instance/secret_key``, generating it on first run (mode 0600).

    Written to a temporary file and linked into place, so concurrent workers
    starting together agree on one key.
    """
    path = instance / SECRET_FILE
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        tmp = instance / f".{SECRET_FILE}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def allow_inline(document: str) -> str:
    """Admit the inline scripts and styles of ``document`` (app-made) by their SHA-256.

    The map is a folium document embedded in an ``iframe srcdoc``; such a frame
    inherits the page's Content-Security-Policy, so the page's header lists the
    hash of each inline element. Returns ``document`` unchanged.
    """
    hashes = g.setdefault("csp_hashes", {"script-src": set(), "style-src": set()})
    for kind, body in _INLINE.findall(document):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes[f"{kind}-src"].add(f"'sha256-{digest}'")
    return document


def content_security_policy() -> str:
    """Return the policy of this response: only the app's host, plus admitted inline hashes."""
    policy = dict(BASE_CSP)
    for directive, hashes in g.get("csp_hashes", {}).items():
        if hashes:
            policy[directive] += " " + " ".join(sorted(hashes))
    return "; ".join(f"{k} {v}" for k, v in policy.items())


def add_headers(response: Response) -> Response:
    """Add the security headers to every response."""
    response.headers["Content-Security-Policy"] = content_security_policy()
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    if not access.is_public(request.endpoint) or request.endpoint == "auth.login":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def csrf_refused(exc: CSRFError):
    """Refuse a form without a valid CSRF token (400)."""
    return render.error(400, "CSRFError", exc.description)


def rate_limited(exc):
    """Refuse a caller over a rate limit (429)."""
    return render.error(429, "TooManyRequests", f"too many attempts: {exc.description}")


def _failed_login(response: Response) -> bool:
    return response.status_code == 401


def register(app: Flask, auth_blueprint) -> None:
    """Install log-in, CSRF, the log-in rate limit, the role rules and the headers."""
    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(Path(app.instance_path))
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.session_interface = SessionInterface()
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.user_loader(load_user)
    manager.request_loader(load_token_user)
    CSRFProtect(app)
    app.register_error_handler(CSRFError, csrf_refused)
    limiter = Limiter(get_remote_address, app=app, storage_uri=app.config["RATELIMIT_STORAGE_URI"])
    limiter.limit(
        lambda: f"{current_app.config['LOGIN_FAILURES_PER_MINUTE']}/minute",
        methods=["POST"],
        deduct_when=_failed_login,
    )(auth_blueprint)
    app.register_error_handler(429, rate_limited)
    app.jinja_env.globals["account"] = account
    app.before_request(access.enforce)
    app.after_request(add_headers)
