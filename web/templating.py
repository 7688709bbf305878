"""Jinja helpers: translated messages, links that keep the query, table cells."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask import Flask, request, session, url_for
from flask_babel import get_locale, pgettext

from web import formatting
from web.i18n import DEFAULT_LANGUAGE, LANGUAGES, SOURCE

#: Query arguments that links to other pages and twins carry over.
KEPT_ARGS = ("vintage", "year", "lang")
#: Query arguments the weekly table and trend pages carry over to each other.
PAGE_ARGS = ("vintage", "level", "group", "basis", "as_of", "parent", "lang")
LIST_PREVIEW = 5


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def select_language() -> str:
    """Flask-Babel's locale selector: ``?lang=`` (remembered), the session, the browser, Spanish."""
    requested = request.args.get("lang")
    if requested in LANGUAGES:
        session["lang"] = requested
        return requested
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def current_language() -> str:
    """Return the language Flask-Babel chose for this request (``es`` or ``en``)."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else "es"


def t(key: str, **values: object) -> str:
    """Return message ``key`` in the request's language (the key itself if unknown)."""
    if key not in SOURCE:
        return key
    message = pgettext(key, SOURCE[key])
    if values:
        return message % values
    # no values: a template for the page's scripts, which fill ``{name}`` themselves
    return _PLACEHOLDER.sub(r"{\1}", message).replace("%%", "%")


def kept_args(**changes: Any) -> dict[str, str]:
    """Return the kept query arguments with ``changes``, minus empty ones.

    ``lang`` is kept only when ``changes`` sets it: the session remembers the language.
    """
    args = {k: request.args.get(k) for k in KEPT_ARGS if k != "lang"} | changes
    return {k: v for k, v in args.items() if v not in (None, "")}


def url_with(**changes: Any) -> str:
    """Return the URL of the current page with some query arguments changed.

    Every argument of the request is kept (repeated ones too), so switching the
    language keeps the weekly table's level, group and drill-down.
    """
    endpoint = request.endpoint or "overview.index"
    args: dict[str, Any] = request.args.to_dict(flat=False)
    args.pop("lang", None)  # the session remembers it; a switch sets it in ``changes``
    args |= changes
    kept = {k: v for k, v in args.items() if v not in (None, "", [])}
    return url_for(endpoint, **(request.view_args or {}), **kept)


def twin_url(table: str, fmt: str) -> str:
    """Return the URL of the JSON or CSV twin of an overview table."""
    return url_for("overview.table", name=table, fmt=fmt, **kept_args(lang=None))


def page_url(endpoint: str, **changes: Any) -> str:
    """Return the URL of ``endpoint`` keeping the current :data:`PAGE_ARGS`, with ``changes``.

    A change to ``None`` drops the argument; ``lang`` is kept only when changed.
    """
    args = {k: request.args.get(k) for k in PAGE_ARGS if k != "lang"} | changes
    return url_for(endpoint, **{k: v for k, v in args.items() if v not in (None, "")})


def number(value: float | None, decimals: int = 0) -> str:
    """Return a number with thousands commas and ``decimals`` places (Mexican usage)."""
    return formatting.number(value, decimals)


def short_date(day: date) -> str:
    """Return ``16 jun 2024`` in the current language."""
    return formatting.short_date(day, current_language())


def long_date(day: date) -> str:
    """Return ``domingo 16 de junio de 2024`` in the current language."""
    return formatting.long_date(day, current_language())


def date_range(window: Any) -> str:
    """Return a window's ``[start, end]`` in short form, e.g. ``10–16 jun 2024``."""
    return formatting.date_range(window.start, window.end, current_language())


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
    app.jinja_env.globals.update(
        t=t, url_with=url_with, twin_url=twin_url, current_language=current_language
    )
    app.jinja_env.globals["page_url"] = page_url
    app.add_template_filter(cell)
    app.add_template_filter(number)
    app.add_template_filter(formatting.percent, "percent")
    app.add_template_filter(short_date)
    app.add_template_filter(long_date)
    app.add_template_filter(date_range)
