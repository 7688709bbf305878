"""What every browser test shares: the app served on a loopback port, and a guard that
refuses (and records) every request leaving the app's host."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Route
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def local_only(base_url: str, refused: list[str]) -> Callable[[Route], None]:
    """Return a route handler that lets requests to ``base_url`` through and refuses others."""

    def handle(route: Route) -> None:
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    return handle


def require_chromium() -> None:
    """Fail (never skip) when Debian's Chromium is missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
