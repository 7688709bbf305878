"""Numbers, percentages and dates as the weekly table prints them (es-MX first, English too).

Mexican usage groups thousands with a comma and marks decimals with a point
(``1,234.5``), as English does; what differs between the languages is the words of
dates, which come from Babel's locale data (CLDR ``es_MX`` and ``en``). Tables use
short dates (``16 jun 2024``), headers long ones (``domingo 16 de junio de 2024``).
"""

from __future__ import annotations

import math
from datetime import date

from babel.dates import format_date

#: The Babel (CLDR) locale of each interface language.
LOCALES = {"es": "es_MX", "en": "en"}
#: Date patterns (CLDR) of each language: table dates and header dates.
SHORT_DATE = "d MMM y"
LONG_DATE = {"es": "EEEE d 'de' MMMM 'de' y", "en": "EEEE d MMMM y"}
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
    """Return a month's abbreviation in the locale (``jun`` in es-MX, ``Jun`` in English)."""
    return format_date(date(2000, month, 1), "MMM", locale=LOCALES[_lang(lang)])


def short_date(day: date, lang: str = "es") -> str:
    """Return ``16 jun 2024`` (English ``16 Jun 2024``), per the locale's month names."""
    return format_date(day, SHORT_DATE, locale=LOCALES[_lang(lang)])


def long_date(day: date, lang: str = "es") -> str:
    """Return ``domingo 16 de junio de 2024`` (English ``Sunday 16 June 2024``)."""
    lang = _lang(lang)
    return format_date(day, LONG_DATE[lang], locale=LOCALES[lang])


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
