"""Jinja helpers: translated messages, links that keep the query, table cells."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, request, url_for

from web.i18n import DEFAULT_LANGUAGE, choose_language, translate

#: Query arguments that links to other pages and twins carry over.
KEPT_ARGS = ("vintage", "year", "lang")
LIST_PREVIEW = 5


def current_language() -> str:
    """Return the language of the current request (``?lang=``, Spanish by default)."""
    return choose_language(request.args.get("lang"))


def t(key: str, **values: object) -> str:
    """Return message ``key`` in the current request's language."""
    return translate(current_language(), key, **values)


def kept_args(**changes: Any) -> dict[str, str]:
    """Return the kept query arguments with ``changes``, minus empty ones and ``lang=es``."""
    args = {k: request.args.get(k) for k in KEPT_ARGS} | changes
    if args.get("lang") == DEFAULT_LANGUAGE:
        args["lang"] = None
    return {k: v for k, v in args.items() if v not in (None, "")}


def url_with(**changes: Any) -> str:
    """Return the URL of the current page with some query arguments changed."""
    endpoint = request.endpoint or "overview.index"
    return url_for(endpoint, **(request.view_args or {}), **kept_args(**changes))


def twin_url(table: str, fmt: str) -> str:
    """Return the URL of the JSON or CSV twin of an overview table."""
    return url_for("overview.table", name=table, fmt=fmt, **kept_args(lang=None))


def cell(value: Any, column: str = "") -> str:
    """Return a table cell as text: thousands separators, short dates, list previews."""
    if value is None or value == []:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if value == 0 or abs(value) >= 0.01 else f"{value:.1e}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M %Z").strip()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        more = len(value) - LIST_PREVIEW
        return ", ".join(map(str, value[:LIST_PREVIEW])) + (f" … (+{more})" if more > 0 else "")
    if column == "kind":
        key = f"kind_{value}"
        return label if (label := t(key)) != key else str(value)
    return str(value)


def register(app: Flask) -> None:
    """Make the helpers available to every template (including imported macros)."""
    app.jinja_env.globals.update(t=t, url_with=url_with, twin_url=twin_url,
                                 current_language=current_language)  # fmt: skip
    app.add_template_filter(cell)
