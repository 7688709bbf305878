"""The commanders the weekly table shows: who was in charge of each unit on a day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection


def commanders(
    conn: Connection, vintage: str, level: str, day: date
) -> tuple[dict[str, str], bool]:
    """Return ``{unit_id: "Rank Name"}`` of those in charge on ``day``; whether fictitious."""
    return {}, False
