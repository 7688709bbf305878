from datetime import date

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from compstat import windows as w
from compstat.stats.change import change_flag, change_z, flag_labels, pct_change


def test_last_complete_sunday():
    assert w.last_complete_sunday(date(2024, 6, 16)) == date(2024, 6, 16)  # a Sunday
    assert w.last_complete_sunday(date(2024, 6, 19)) == date(2024, 6, 16)  # a Wednesday
    assert w.last_complete_sunday(date(2024, 6, 15)) == date(2024, 6, 9)  # a Saturday


def test_standard_windows_of_a_sunday():
    ws = w.standard_windows(date(2024, 6, 16))
    assert (ws["week"].current.start, ws["week"].current.end) == (
        date(2024, 6, 10),
        date(2024, 6, 16),
    )
    assert ws["28d"].current.start == date(2024, 5, 20)
    assert ws["28d"].current.days == 28
    assert ws["ytd"].current.start == date(2024, 1, 1)
    # the design sketch's dates: 10-16 Jun 2024 vs 12-18 Jun 2023
    assert ws["week"].year_ago == w.Window("week", date(2023, 6, 12), date(2023, 6, 18))
    assert ws["week"].two_years_ago == w.Window("week", date(2022, 6, 13), date(2022, 6, 19))


@pytest.mark.parametrize("as_of", [date(2024, 6, 16), date(2023, 1, 1), date(2020, 3, 1)])
def test_year_ago_week_runs_monday_to_sunday(as_of):
    ws = w.standard_windows(as_of)
    for kind in ("week", "28d"):
        for period in (ws[kind].year_ago, ws[kind].two_years_ago):
            assert period.end.weekday() == as_of.weekday()
            assert period.days == ws[kind].current.days
    assert ws["week"].year_ago.start.weekday() == 0
    assert ws["week"].year_ago.end.weekday() == 6 or as_of.weekday() != 6


def test_week_to_date_of_a_wednesday():
    week = w.week_to_date(date(2024, 6, 19))
    assert (week.start, week.end, week.days) == (date(2024, 6, 17), date(2024, 6, 19), 3)


def test_year_to_date_around_29_february():
    leap = w.year_to_date(date(2024, 2, 29))
    assert w.year_ago(leap) == w.Window("ytd", date(2023, 1, 1), date(2023, 2, 28))
    assert w.two_years_ago(leap) == w.Window("ytd", date(2022, 1, 1), date(2022, 2, 28))
    after = w.year_to_date(date(2024, 3, 1))  # 61 days against 60
    assert (after.days, w.year_ago(after).days) == (61, 60)
    before_leap = w.year_to_date(date(2025, 3, 1))  # 60 days against 61
    assert w.year_ago(before_leap) == w.Window("ytd", date(2024, 1, 1), date(2024, 3, 1))


def test_previous_period_and_custom():
    window = w.custom(date(2024, 1, 10), date(2024, 1, 19))
    assert w.previous_period(window) == w.Window("custom", date(2023, 12, 31), date(2024, 1, 9))
    with pytest.raises(ValueError):
        w.custom(date(2024, 1, 2), date(2024, 1, 1))


def test_pct_change_is_undefined_for_a_zero_base():
    out = pct_change([14, 0, 3, 5], [9, 0, 0, 10])
    assert_allclose(out[[0, 3]], [500 / 9, -50.0])
    assert np.isnan(out[1]) and np.isnan(out[2])
    assert not np.isinf(out).any()


def test_poisson_change_flag_hand_computed():
    z = change_z([2, 62, 4, 9, 0, 14], [1, 40, 0, 25, 9, 9])
    # 2(√2-√1), 2(√62-√40), 2(√4-0), 2(3-5), 2(0-3), 2(√14-3)
    assert_allclose(z, [0.828427, 3.098905, 4.0, -4.0, -6.0, 1.483315], atol=1e-6)
    levels = change_flag(z)
    assert_array_equal(levels, [0, 2, 2, -2, -2, 0])
    assert_array_equal(change_flag([2.0, -2.0, 1.99, np.nan]), [1, -1, 0, 0])
    assert flag_labels(change_flag([2.5, -3.5, 0.1])) == ["increase", "strong_decrease", None]
