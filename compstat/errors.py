"""Typed domain errors; each carries the HTTP status the web layer maps it to."""

from __future__ import annotations


class CompstatError(Exception):
    """Base class of every error the platform reports to a user."""

    http_status = 500


class DatabaseUnavailableError(CompstatError):
    """No usable PostGIS database could be reached or created."""

    http_status = 503


class InvalidQueryError(CompstatError):
    """A request's parameters are malformed or inconsistent."""

    http_status = 400


class NotFoundError(CompstatError):
    """The requested vintage, unit or category does not exist."""

    http_status = 404


class InputFileError(CompstatError):
    """An input file cannot be read at all (as opposed to rows that get quarantined)."""

    http_status = 422


class OutputFileError(CompstatError):
    """An output file cannot be written (missing directory, a directory, no permission)."""

    http_status = 500
