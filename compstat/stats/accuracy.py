"""Forecast-accuracy scores of hotspot methods, as functions of arrays.

A method gives each area (grid cell or polygon) a score. The *selected* areas are the
top-scored ones that together cover the chosen share of the study area (see
:func:`select_top`); the scores then count the crimes of the test window:

``hit_rate``
    share of the test crimes that fell in the selected areas, ``n / N``.
``pai``
    Predictive Accuracy Index (Chainey, Tompson & Uhlig 2008): the hit rate over the
    share of area selected, ``(n / N) / (a / A)``. 1 is chance; a perfect forecast that
    covers ``c`` of the area scores ``1 / c``.
``pei``
    Predictive Efficiency Index: the PAI over the PAI of the best selection any method
    could have made with hindsight under the same rule (areas ranked by the test
    window's own crimes per unit area). For equal cells, both select the same number of
    cells and ``pei = n / n*``, the crimes captured over the most any same-size set of
    cells could have captured: this is the operational PEI* of White, Hunt & Green
    (2023), which the issue calls PEI. 1 is the best possible. With unequal areas
    (polygons), the hindsight selection ranked by density is a greedy approximation of
    the best one, so the PEI can slightly exceed 1.
``rri``
    Recapture Rate Index (Levine 2004): the test crimes in the selected areas over their
    training crimes, relative to the same ratio for the whole study area,
    ``(n_test / n_train) / (N_test / N_train)``. Above 1, the selected areas gained
    crime; below 1 they lost it.

Undefined scores (no test crimes, no training crimes in the selection) are ``nan``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class ForecastScores:
    """All scores of one forecast against one test window."""

    hit_rate: float
    pai: float
    pei: float
    rri: float
    captured: float
    test_crimes: float
    area_share: float
    selected: int

    def as_dict(self) -> dict[str, float]:
        """Return the scores as plain JSON-ready numbers."""
        return asdict(self)


def select_top(scores: np.ndarray, areas: np.ndarray, coverage: float) -> np.ndarray:
    """Return a mask of the top-scored areas that cover ``coverage`` of the total area.

    Areas are taken in decreasing score until their summed area reaches
    ``coverage * sum(areas)``; the area that crosses the target is included, so the
    selection covers at least the target (exactly ``ceil(coverage * n)`` equal cells, up
    to rounding). Ties are broken by position (the earlier area first), so the result
    is deterministic.
    """
    scores = np.asarray(scores, dtype=float)
    areas = np.asarray(areas, dtype=float)
    if scores.shape != areas.shape:
        raise ValueError(f"{scores.size} scores but {areas.size} areas")
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must be in (0, 1], got {coverage}")
    order = np.argsort(-scores, kind="stable")
    cumulative = np.cumsum(areas[order])
    target = coverage * cumulative[-1]
    count = int(np.searchsorted(cumulative, target * (1 - 1e-12), side="left")) + 1
    mask = np.zeros(scores.size, dtype=bool)
    mask[order[: min(count, scores.size)]] = True
    return mask


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def hit_rate(scores: np.ndarray, observed: np.ndarray, areas: np.ndarray, coverage: float) -> float:
    """Share of the observed crimes that fall in the selected areas."""
    observed = np.asarray(observed, dtype=float)
    mask = select_top(scores, areas, coverage)
    return _ratio(observed[mask].sum(), observed.sum())


def _pai_of(mask: np.ndarray, observed: np.ndarray, areas: np.ndarray) -> float:
    area_share = areas[mask].sum() / areas.sum()
    return _ratio(_ratio(observed[mask].sum(), observed.sum()), area_share)


def pai(scores: np.ndarray, observed: np.ndarray, areas: np.ndarray, coverage: float) -> float:
    """Predictive Accuracy Index: hit rate over the share of area selected."""
    observed = np.asarray(observed, dtype=float)
    areas = np.asarray(areas, dtype=float)
    return _pai_of(select_top(scores, areas, coverage), observed, areas)


def best_pai(observed: np.ndarray, areas: np.ndarray, coverage: float) -> float:
    """Return the PAI of the hindsight selection: areas ranked by observed crimes per area."""
    observed = np.asarray(observed, dtype=float)
    areas = np.asarray(areas, dtype=float)
    density = np.divide(observed, areas, out=np.zeros_like(observed), where=areas > 0)
    return _pai_of(select_top(density, areas, coverage), observed, areas)


def pei(scores: np.ndarray, observed: np.ndarray, areas: np.ndarray, coverage: float) -> float:
    """Predictive Efficiency Index: the PAI over the hindsight selection's PAI."""
    return _ratio(pai(scores, observed, areas, coverage), best_pai(observed, areas, coverage))


def rri(
    scores: np.ndarray,
    observed: np.ndarray,
    training: np.ndarray,
    areas: np.ndarray,
    coverage: float,
) -> float:
    """Recapture Rate Index: test over training crimes in the selection, over the same overall."""
    observed = np.asarray(observed, dtype=float)
    training = np.asarray(training, dtype=float)
    mask = select_top(scores, areas, coverage)
    inside = _ratio(observed[mask].sum(), training[mask].sum())
    return _ratio(inside, _ratio(observed.sum(), training.sum()))


def score_forecast(
    scores: np.ndarray,
    observed: np.ndarray,
    areas: np.ndarray,
    coverage: float,
    training: np.ndarray | None = None,
) -> ForecastScores:
    """Compute every score of one forecast; ``rri`` is ``nan`` without training counts.

    Parameters
    ----------
    scores : numpy.ndarray
        The forecast: higher means more expected crime (any scale).
    observed : numpy.ndarray
        Crimes of the test window per area.
    areas : numpy.ndarray
        Area of each unit (any unit; only shares are used).
    coverage : float
        Share of the total area to select, e.g. 0.05.
    training : numpy.ndarray, optional
        Crimes of the training window per area, for the RRI.

    Returns
    -------
    ForecastScores
    """
    observed = np.asarray(observed, dtype=float)
    areas = np.asarray(areas, dtype=float)
    mask = select_top(scores, areas, coverage)
    forecast_pai = _pai_of(mask, observed, areas)
    return ForecastScores(
        hit_rate=_ratio(observed[mask].sum(), observed.sum()),
        pai=forecast_pai,
        pei=_ratio(forecast_pai, best_pai(observed, areas, coverage)),
        rri=float("nan") if training is None else rri(scores, observed, training, areas, coverage),
        captured=float(observed[mask].sum()),
        test_crimes=float(observed.sum()),
        area_share=float(areas[mask].sum() / areas.sum()),
        selected=int(mask.sum()),
    )
