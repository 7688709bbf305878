import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from compstat.stats.accuracy import (
    best_pai,
    hit_rate,
    pai,
    pei,
    rri,
    score_forecast,
    select_top,
)

SCORES = np.arange(9.0, -1.0, -1.0)
OBSERVED = np.array([5, 0, 3, 0, 0, 0, 0, 10, 0, 2.0])
TRAINING = np.array([10, 5, 3, 1, 1, 1, 1, 2, 1, 5.0])
CELLS = np.ones(10)


def test_equal_cells_hand_computed():
    # 20 % of 10 cells = cells 0 and 1: 5 of 20 crimes.
    assert hit_rate(SCORES, OBSERVED, CELLS, 0.2) == 0.25
    assert_allclose(pai(SCORES, OBSERVED, CELLS, 0.2), 0.25 / 0.2)
    # hindsight: cells 7 and 0, 15 crimes: PAI 3.75 and PEI 5 / 15.
    assert_allclose(best_pai(OBSERVED, CELLS, 0.2), 3.75)
    assert_allclose(pei(SCORES, OBSERVED, CELLS, 0.2), 1 / 3)
    # training: 15 of 30 crimes in cells 0 and 1; test 5 of 20: (5 / 15) / (20 / 30).
    assert_allclose(rri(SCORES, OBSERVED, TRAINING, CELLS, 0.2), 0.5)


def test_score_forecast_gathers_every_score():
    scores = score_forecast(SCORES, OBSERVED, CELLS, 0.2, training=TRAINING)
    assert scores.as_dict() == pytest.approx(
        {
            "hit_rate": 0.25,
            "pai": 1.25,
            "pei": 1 / 3,
            "rri": 0.5,
            "captured": 5.0,
            "test_crimes": 20.0,
            "area_share": 0.2,
            "selected": 2,
        }
    )
    assert math.isnan(score_forecast(SCORES, OBSERVED, CELLS, 0.2).rri)


def test_perfect_predictor_scores_one_over_coverage_and_pei_one():
    observed = np.zeros(100)
    observed[[3, 40, 77]] = [4, 9, 1]
    scores = score_forecast(observed, observed, np.full(100, 62_500.0), 0.05)
    assert scores.selected == 5
    assert_allclose(scores.pai, 1 / 0.05)
    assert scores.pei == 1.0
    assert scores.hit_rate == 1.0


def test_unequal_areas_hand_computed():
    areas = np.array([2, 1, 1, 4.0])
    scores = np.array([4, 3, 2, 1.0])
    observed = np.array([1, 2, 0, 5.0])
    # 30 % of 8 = 2.4: units 0 and 1 (area 3, 37.5 %), 3 of 8 crimes: PAI 1.
    assert_array_equal(select_top(scores, areas, 0.3), [True, True, False, False])
    assert_allclose(pai(scores, observed, areas, 0.3), 1.0)
    # hindsight by density (0.5, 2, 0, 1.25): units 1 and 3, area 5, 7 crimes: PAI 1.4.
    assert_allclose(best_pai(observed, areas, 0.3), (7 / 8) / (5 / 8))
    assert_allclose(pei(scores, observed, areas, 0.3), 1 / 1.4)


def test_selection_reaches_the_target_area_and_breaks_ties_by_position():
    assert select_top(np.zeros(10), CELLS, 0.25).nonzero()[0].tolist() == [0, 1, 2]
    assert select_top(SCORES, CELLS, 0.3).sum() == 3
    assert select_top(SCORES, CELLS, 1.0).all()


def test_undefined_scores_are_nan():
    assert math.isnan(pai(SCORES, np.zeros(10), CELLS, 0.2))
    assert math.isnan(pei(SCORES, np.zeros(10), CELLS, 0.2))
    assert math.isnan(rri(SCORES, OBSERVED, np.zeros(10), CELLS, 0.2))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="coverage"):
        select_top(SCORES, CELLS, 0)
    with pytest.raises(ValueError, match="areas"):
        select_top(SCORES, np.ones(3), 0.1)
