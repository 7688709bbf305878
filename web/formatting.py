"""Numbers, percentages and dates as the weekly table prints them (es-MX first, English too).

Mexican usage groups thousands with a comma and marks decimals with a point
(``1,234.5``), as English does; what differs between the languages is the words of
dates. Tables use short dates (``16 jun 2024``), headers long ones
(``domingo 16 de junio de 2024``).
"""

from __future__ import annotations

import math
from datetime import date

MONTHS = {
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
WEEKDAYS = {
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MINUS = "\u2212"
#: Shown for a percent change with a zero base (undefined), in both languages.
UNDEFINED = "n/d"


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "es"


def number(value: float | int | None, decimals: int = 0) -> str:
    """Return ``value`` with thousands commas and ``decimals`` places; empty for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{abs(value):,.{decimals}f}"
    return f"{MINUS}{text}" if value < 0 and text.strip("0.,") else text


def percent(value: float | None) -> str:
    """Return a percent change as ``+56 %`` or ``−7 %`` (whole percent); ``n/d`` if undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return UNDEFINED
    rounded = round(value)
    sign = "+" if rounded > 0 else (MINUS if rounded < 0 else "")
    return f"{sign}{abs(rounded):,} %"


def short_month(month: int, lang: str) -> str:
    """Return a month's three-letter abbreviation (``jun`` in Spanish, ``Jun`` in English)."""
    return MONTHS[_lang(lang)][month - 1][:3]


def short_date(day: date, lang: str = "es") -> str:
    """Return ``16 jun 2024`` (English ``16 Jun 2024``)."""
    return f"{day.day} {short_month(day.month, lang)} {day.year}"


def long_date(day: date, lang: str = "es") -> str:
    """Return ``domingo 16 de junio de 2024`` (English ``Sunday 16 June 2024``)."""
    lang = _lang(lang)
    weekday, month = WEEKDAYS[lang][day.weekday()], MONTHS[lang][day.month - 1]
    if lang == "en":
        return f"{weekday} {day.day} {month} {day.year}"
    return f"{weekday} {day.day} de {month} de {day.year}"


def date_range(start: date, end: date, lang: str = "es") -> str:
    """Return a closed range in short form, naming month and year once where shared.

    ``10–16 jun 2024``, ``20 may–16 jun 2024``, ``25 dic 2023–7 ene 2024``.
    """
    if start == end:
        return short_date(end, lang)
    if start.year != end.year:
        return f"{short_date(start, lang)}–{short_date(end, lang)}"
    if start.month != end.month:
        return f"{start.day} {short_month(start.month, lang)}–{short_date(end, lang)}"
    return f"{start.day}–{short_date(end, lang)}"
