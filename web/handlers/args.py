"""Request arguments checked for the handlers: choices, dates, lists (no Flask here)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy import Connection

from compstat.errors import InvalidQueryError, NotFoundError
from compstat.queries import maps, territory
from compstat.windows import last_complete_sunday
from web.handlers.overview import choose_vintage


def text_arg(args: Mapping[str, str], name: str) -> str | None:
    """Return the stripped argument ``name``, or None when absent or empty."""
    return (args.get(name) or "").strip() or None


def choice(args: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    """Return argument ``name`` (``default`` when absent), which must be one of ``allowed``."""
    value = text_arg(args, name) or default
    if value not in allowed:
        raise InvalidQueryError(f"{name} must be one of {allowed}, not {value!r}")
    return value


def date_arg(args: Mapping[str, str], name: str) -> date | None:
    """Return argument ``name`` as a date (``YYYY-MM-DD``), or None when absent."""
    value = text_arg(args, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidQueryError(f"{name} must be a date as YYYY-MM-DD, not {value!r}") from None


def list_arg(args: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Return every value of a repeated or comma-separated argument, in order, once each."""
    getlist = getattr(args, "getlist", None)
    raw = getlist(name) if getlist else [args.get(name) or ""]
    values = [v.strip() for item in raw for v in item.split(",")]
    return tuple(dict.fromkeys(v for v in values if v))


def resolve_vintage(conn: Connection, requested: str | None) -> tuple[str, list[str]]:
    """Return the vintage to show (the newest loaded if none requested) and all loaded ones.

    Raises
    ------
    NotFoundError
        The requested vintage, or any vintage at all, is not loaded.
    """
    names = [r["name"] for r in territory.vintages(conn)]
    vintage = choose_vintage(names, requested)
    if vintage is None:
        raise NotFoundError("no territory vintage is loaded")
    return vintage, names


def default_as_of(conn: Connection, vintage: str) -> date:
    """Return the last Sunday with complete data in ``vintage`` (the meeting's default as-of).

    Raises
    ------
    NotFoundError
        The vintage has no incidents placed.
    """
    span = maps.count_span(conn, vintage)
    if span is None:
        raise NotFoundError(f"vintage {vintage!r} has no incidents placed")
    return last_complete_sunday(span[1])
