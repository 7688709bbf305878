"""Time windows of the weekly CompStat meeting and the periods they are compared with.

Pure functions: dates in, dates out. Every window is a closed range of days
``[start, end]``. Weeks run Monday to Sunday.

Comparisons
-----------
* **Year ago** of a week or 28-day window: the same window shifted back 364 days
  (52 weeks), so Mondays compare with Mondays.
* **Year ago** of a year-to-date window: 1 January to the same calendar date one year
  earlier. A year to date ending on 29 February compares with one ending on
  28 February (the year before has no 29 February); one ending on 1 March or later in
  a leap year compares with a period one day shorter, and the other way round. Days
  are never invented or dropped to force equal lengths: the periods are the same
  calendar dates, as the published year-to-date figures are.
* **Two years ago**: the year-ago rule applied twice (728 days for weeks and 28 days).
* **Previous period**: the period of equal length that ends the day before the start.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

__all__ = [
    "KINDS",
    "STANDARD",
    "Window",
    "WindowSet",
    "custom",
    "last_complete_sunday",
    "last_days",
    "previous_period",
    "standard_windows",
    "two_years_ago",
    "week_to_date",
    "year_ago",
    "year_to_date",
]

#: The meeting's windows, in the order a table shows them.
STANDARD = ("week", "28d", "ytd")
#: Every kind of window.
KINDS = (*STANDARD, "custom")
YEAR_AGO_DAYS = 364


@dataclass(frozen=True)
class Window:
    """A closed range of days.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    start, end : date
        First and last day, both included.
    """

    kind: str
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"window starts {self.start} after it ends {self.end}")

    @property
    def days(self) -> int:
        """Number of days in the window."""
        return (self.end - self.start).days + 1

    def shifted(self, days: int) -> Window:
        """Return the window moved back by ``days`` days."""
        step = timedelta(days=days)
        return replace(self, start=self.start - step, end=self.end - step)


def last_complete_sunday(last_day: date) -> date:
    """Return the last Sunday on or before ``last_day``: the end of the last complete week."""
    return last_day - timedelta(days=(last_day.weekday() + 1) % 7)


def week_to_date(as_of: date) -> Window:
    """Return Monday of ``as_of``'s week to ``as_of`` (the whole week when it is a Sunday)."""
    return Window("week", as_of - timedelta(days=as_of.weekday()), as_of)


def last_days(as_of: date, days: int = 28) -> Window:
    """Return the ``days`` days ending on ``as_of`` (kind ``28d`` for 28 days)."""
    kind = "28d" if days == 28 else "custom"
    return Window(kind, as_of - timedelta(days=days - 1), as_of)


def year_to_date(as_of: date) -> Window:
    """Return 1 January of ``as_of``'s year to ``as_of``."""
    return Window("ytd", date(as_of.year, 1, 1), as_of)


def custom(start: date, end: date) -> Window:
    """Return the window ``[start, end]``."""
    return Window("custom", start, end)


def _same_date_year_before(day: date) -> date:
    """Return the same calendar date a year earlier (28 February for 29 February)."""
    if (day.month, day.day) == (2, 29):
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def year_ago(window: Window) -> Window:
    """Return the window a year earlier (see the module's rules)."""
    if window.kind == "ytd":
        end = _same_date_year_before(window.end)
        return Window("ytd", date(end.year, 1, 1), end)
    return window.shifted(YEAR_AGO_DAYS)


def two_years_ago(window: Window) -> Window:
    """Return the window two years earlier (the year-ago rule applied twice)."""
    return year_ago(year_ago(window))


def previous_period(window: Window) -> Window:
    """Return the period of the same length that ends the day before ``window`` starts."""
    return window.shifted(window.days)


@dataclass(frozen=True)
class WindowSet:
    """A window and the periods it is compared with.

    Attributes
    ----------
    current : Window
    year_ago : Window
    two_years_ago : Window
    """

    current: Window
    year_ago: Window
    two_years_ago: Window

    @classmethod
    def of(cls, window: Window) -> WindowSet:
        """Return ``window`` with its year-ago and two-years-ago periods."""
        return cls(window, year_ago(window), two_years_ago(window))

    def periods(self) -> dict[str, Window]:
        """Return the three periods keyed ``current``, ``year_ago``, ``two_years_ago``."""
        return {
            "current": self.current,
            "year_ago": self.year_ago,
            "two_years_ago": self.two_years_ago,
        }


def standard_windows(as_of: date) -> dict[str, WindowSet]:
    """Return the meeting's windows ending on ``as_of``, keyed by :data:`STANDARD`."""
    windows = (week_to_date(as_of), last_days(as_of, 28), year_to_date(as_of))
    return {w.kind: WindowSet.of(w) for w in windows}
