"""Heterogeneity analysis of a cluster-randomized trial by the higher-crime moderator.

The model is the ordinary least squares fit of an officer-level outcome on an
intercept, ``treatment``, ``higher_crime``, ``treatment:higher_crime`` and optional
controls, with arms assigned by sector (the cluster).

Inference
---------
Standard errors
    CR1 cluster-robust by sector, ``G / (G - 1) * (N - 1) / (N - K)`` times the sandwich:
    the same numbers as statsmodels' ``OLS.fit(cov_type="cluster")``.
Confidence intervals and p-values
    Student's t with ``G - 1`` degrees of freedom, as statsmodels gives with
    ``use_t=True`` for clustered errors (and Stata's ``vce(cluster)``).
Wild cluster bootstrap
    Restricted (null imposed, "WCR"): for each term the model is refitted without it,
    and bootstrap outcomes are the restricted fit plus its residuals times one weight
    per cluster (Rademacher ±1 or Webb's six-point weights). The statistic is the CR1
    t-statistic; the p-value is the share of draws with ``|t*| >= |t|`` (symmetric).
    With 60 clusters Rademacher weights give 2^60 distinct draws, so Webb's are
    needed only for much smaller trials.
Randomization inference
    Arms are re-drawn at sector level within strata (every draw keeps the number of
    treated sectors of each stratum), the moderator and every other column held
    fixed, and the model refitted. The statistic is the CR1 t-statistic of the term;
    the p-value is ``(1 + #{|t*| >= |t|}) / (1 + draws)``, a test of the sharp null
    that treatment changed no officer's outcome. The moderator is not randomized, so
    ``higher_crime`` has no randomization p-value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

TERMS = ("treatment", "higher_crime", "treatment:higher_crime")
RANDOMIZED_TERMS = ("treatment", "treatment:higher_crime")
WEIGHTS = ("rademacher", "webb")
_WEBB = np.sqrt(np.array([0.5, 1.0, 1.5]))
_WEBB = np.concatenate([-_WEBB, _WEBB])
_SINGULAR = 1e12  # condition number of X'X beyond which a re-drawn design counts as collinear


@dataclass(frozen=True)
class ClusterFit:
    """An OLS fit with its CR1 cluster-robust covariance."""

    params: np.ndarray
    cov: np.ndarray
    n_obs: int
    n_clusters: int

    @property
    def std_errors(self) -> np.ndarray:
        """Standard errors, the square roots of the covariance's diagonal."""
        return np.sqrt(np.diag(self.cov))

    @property
    def df(self) -> int:
        """Degrees of freedom of the t reference distribution, ``G - 1``."""
        return self.n_clusters - 1


def design_matrix(
    treatment: np.ndarray, higher_crime: np.ndarray, controls: np.ndarray | None = None
) -> np.ndarray:
    """Columns: intercept, treatment, higher_crime, treatment:higher_crime, controls."""
    treatment = np.asarray(treatment, dtype=float)
    higher_crime = np.asarray(higher_crime, dtype=float)
    columns = [np.ones_like(treatment), treatment, higher_crime, treatment * higher_crime]
    if controls is not None and np.size(controls):
        columns.extend(np.asarray(controls, dtype=float).reshape(treatment.size, -1).T)
    return np.column_stack(columns)


def column_names(control_names: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Names of the columns of :func:`design_matrix`, in order."""
    return ["Intercept", *TERMS, *control_names]


def cluster_codes(clusters: np.ndarray | pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes 0..G-1 of the cluster labels, and G."""
    codes, uniques = pd.factorize(np.asarray(clusters), sort=True)
    return codes, len(uniques)


def _cluster_sums(values: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """Sum the rows of a 1-D or 2-D array within each cluster (``G`` or ``G x K``)."""
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=n_clusters)
    return np.column_stack([_cluster_sums(column, codes, n_clusters) for column in values.T])


def _small_sample_factor(n_obs: int, n_params: int, n_clusters: int) -> float:
    return n_clusters / (n_clusters - 1) * (n_obs - 1) / (n_obs - n_params)


def _check_design(design: np.ndarray, y: np.ndarray, n_clusters: int) -> None:
    n_obs, n_params = design.shape
    if y.shape != (n_obs,):
        raise ValueError("the outcome needs one value per row of the design")
    if n_clusters < 2:
        raise ValueError("clustered standard errors need at least two clusters")
    if n_obs <= n_params or np.linalg.matrix_rank(design) < n_params:
        raise ValueError(
            "the design is collinear: some term is a combination of the others "
            "(e.g. every treated sector is higher-crime, or a control is constant)"
        )


def fit_cluster_ols(design: np.ndarray, y: np.ndarray, clusters: np.ndarray) -> ClusterFit:
    """OLS of ``y`` on ``design`` with CR1 standard errors clustered by ``clusters``.

    Parameters
    ----------
    design
        Design matrix, ``N x K`` (include the intercept).
    y
        Outcome, length ``N``.
    clusters
        Cluster label of each row.

    Returns
    -------
    ClusterFit
        Coefficients and their CR1 covariance (statsmodels' ``cov_type="cluster"``).
    """
    design = np.asarray(design, dtype=float)
    y = np.asarray(y, dtype=float)
    codes, n_clusters = cluster_codes(clusters)
    _check_design(design, y, n_clusters)
    bread = np.linalg.inv(design.T @ design)
    params = bread @ (design.T @ y)
    scores = _cluster_sums(design * (y - design @ params)[:, None], codes, n_clusters)
    factor = _small_sample_factor(*design.shape, n_clusters)
    cov = factor * bread @ (scores.T @ scores) @ bread
    return ClusterFit(params, cov, design.shape[0], n_clusters)


def t_inference(
    estimate: np.ndarray, std_error: np.ndarray, df: int, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Confidence limits and two-sided p-values from Student's t with ``df`` degrees.

    Returns
    -------
    tuple of numpy.ndarray
        ``(ci_low, ci_high, p_value)``.
    """
    estimate = np.asarray(estimate, dtype=float)
    std_error = np.asarray(std_error, dtype=float)
    margin = scipy_stats.t.ppf(0.5 + level / 2, df) * std_error
    p_value = 2 * scipy_stats.t.sf(np.abs(estimate / std_error), df)
    return estimate - margin, estimate + margin, p_value


def cluster_weights(n_clusters: int, draws: int, rng: np.random.Generator, kind: str) -> np.ndarray:
    """Wild bootstrap weights, one per cluster and draw (``G x draws``)."""
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(n_clusters, draws))
    if kind == "webb":
        return rng.choice(_WEBB, size=(n_clusters, draws))
    raise ValueError(f"unknown bootstrap weights {kind!r}: use one of {', '.join(WEIGHTS)}")


def wild_bootstrap_t(
    design: np.ndarray, y: np.ndarray, clusters: np.ndarray, column: int, weights: np.ndarray
) -> tuple[float, np.ndarray]:
    """Observed and restricted wild-cluster-bootstrap CR1 t-statistics of one column.

    The null ``beta[column] = 0`` is imposed: bootstrap outcomes are the fit without the
    column plus its residuals times each cluster's weight. All draws are computed at
    once from cluster sums (no refit per draw).

    Parameters
    ----------
    design, y, clusters
        The design, outcome and cluster labels.
    column
        Index of the tested column of ``design``.
    weights
        ``G x draws`` weights, rows in the order of the sorted cluster labels.

    Returns
    -------
    tuple
        The observed t-statistic and the array of bootstrap t-statistics.
    """
    design = np.asarray(design, dtype=float)
    y = np.asarray(y, dtype=float)
    codes, n_clusters = cluster_codes(clusters)
    fit = fit_cluster_ols(design, y, clusters)
    observed = fit.params[column] / fit.std_errors[column]
    restricted_design = np.delete(design, column, axis=1)
    restricted = np.linalg.lstsq(restricted_design, y, rcond=None)[0]
    fitted = restricted_design @ restricted
    resid = y - fitted
    bread = np.linalg.inv(design.T @ design)
    row = bread[column]
    leverage = design @ row
    fitted_part = _cluster_sums(leverage * fitted, codes, n_clusters)
    resid_part = _cluster_sums(leverage * resid, codes, n_clusters)
    cross = _cluster_sums(leverage[:, None] * design, codes, n_clusters)
    resid_scores = _cluster_sums(design * resid[:, None], codes, n_clusters)
    params = (bread @ (design.T @ fitted))[:, None] + bread @ resid_scores.T @ weights
    scores = fitted_part[:, None] + resid_part[:, None] * weights - cross @ params
    factor = _small_sample_factor(*design.shape, n_clusters)
    std_errors = np.sqrt(factor * (scores**2).sum(axis=0))
    return float(observed), params[column] / std_errors


def wild_bootstrap_pvalue(
    design: np.ndarray,
    y: np.ndarray,
    clusters: np.ndarray,
    column: int,
    *,
    draws: int = 9999,
    seed: int = 0,
    weights: str = "rademacher",
) -> float:
    """Symmetric restricted wild cluster bootstrap p-value of ``beta[column] = 0``."""
    _, n_clusters = cluster_codes(clusters)
    rng = np.random.default_rng(seed)
    observed, boot = wild_bootstrap_t(
        design, y, clusters, column, cluster_weights(n_clusters, draws, rng, weights)
    )
    return _share_at_least(boot, observed, plus_one=False)


def _share_at_least(draws: np.ndarray, observed: float, *, plus_one: bool) -> float:
    """Share of draws at least as extreme as observed, with a relative rounding margin."""
    margin = 1e-9 * max(1.0, abs(observed))
    extreme = int((np.abs(draws) >= abs(observed) - margin).sum())
    if plus_one:
        return (1 + extreme) / (1 + draws.size)
    return extreme / draws.size


def redraw_arms(
    arms: np.ndarray, strata: np.ndarray, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Re-draw arms within strata: each row is a permutation of ``arms`` inside every stratum.

    Parameters
    ----------
    arms
        Observed arm (1 treated, 0 control) of each randomized unit.
    strata
        Stratum label of each unit.
    draws
        Number of re-draws.
    rng
        Random generator.

    Returns
    -------
    numpy.ndarray
        ``draws x units`` array of 0/1; each stratum keeps its number of treated units.
    """
    arms = np.asarray(arms, dtype=np.int8)
    strata = np.asarray(strata)
    redrawn = np.empty((draws, arms.size), dtype=np.int8)
    for stratum in pd.unique(strata):
        members = np.flatnonzero(strata == stratum)
        redrawn[:, members] = rng.permuted(np.tile(arms[members], (draws, 1)), axis=1)
    return redrawn


def _t_statistics(design: np.ndarray, y: np.ndarray, codes: np.ndarray, n_clusters: int, columns):
    bread = np.linalg.inv(design.T @ design)
    params = bread @ (design.T @ y)
    scores = _cluster_sums(design * (y - design @ params)[:, None], codes, n_clusters)
    rows = bread[list(columns)]
    variances = _small_sample_factor(*design.shape, n_clusters) * ((scores @ rows.T) ** 2).sum(
        axis=0
    )
    return params[list(columns)] / np.sqrt(variances)


def randomization_pvalues(
    y: np.ndarray,
    higher_crime: np.ndarray,
    controls: np.ndarray | None,
    unit_of_row: np.ndarray,
    arms: np.ndarray,
    strata: np.ndarray,
    *,
    draws: int = 9999,
    seed: int | np.random.SeedSequence = 0,
) -> dict[str, float]:
    """Randomization-inference p-values of ``treatment`` and ``treatment:higher_crime``.

    Parameters
    ----------
    y
        Outcome per officer.
    higher_crime
        Moderator per officer (its sector's class; held fixed across draws).
    controls
        Control columns per officer, or None.
    unit_of_row
        Index of each officer's sector into ``arms`` and ``strata``.
    arms
        Observed arm of each randomized sector.
    strata
        Stratum of each randomized sector.
    draws
        Number of re-drawn assignments.
    seed
        Seed of the random generator.

    Returns
    -------
    dict
        Term name to p-value ``(1 + #{|t*| >= |t|}) / (1 + draws)``.
    """
    y = np.asarray(y, dtype=float)
    unit_of_row = np.asarray(unit_of_row)
    codes, n_clusters = cluster_codes(unit_of_row)
    columns = [column_names().index(term) for term in RANDOMIZED_TERMS]
    arms = np.asarray(arms)
    design = design_matrix(arms[unit_of_row], higher_crime, controls)
    _check_design(design, y, n_clusters)
    observed = _t_statistics(design, y, codes, n_clusters, columns)
    redrawn = redraw_arms(arms, strata, draws, np.random.default_rng(seed))
    statistics = np.full((draws, len(columns)), np.nan)
    for draw, assignment in enumerate(redrawn):
        design_draw = design_matrix(assignment[unit_of_row], higher_crime, controls)
        if np.linalg.cond(design_draw.T @ design_draw) < _SINGULAR:
            statistics[draw] = _t_statistics(design_draw, y, codes, n_clusters, columns)
    # A draw whose design is collinear (possible only in tiny trials) has no statistic
    # and counts as at least as extreme, which keeps the test valid (conservative).
    statistics = np.where(np.isnan(statistics), np.inf, statistics)
    return {
        term: _share_at_least(statistics[:, i], observed[i], plus_one=True)
        for i, term in enumerate(RANDOMIZED_TERMS)
    }


def estimate_interaction(
    y: np.ndarray,
    higher_crime: np.ndarray,
    controls: np.ndarray | None,
    unit_of_row: np.ndarray,
    arms: np.ndarray,
    strata: np.ndarray,
    *,
    draws: int = 9999,
    seed: int = 0,
    weights: str = "rademacher",
    level: float = 0.95,
) -> dict:
    """Fit the heterogeneity model and every p-value of its three terms.

    Parameters are those of :func:`randomization_pvalues`; ``weights`` are the wild
    bootstrap's and ``level`` the confidence level. The wild bootstrap and the
    randomization inference use independent streams spawned from ``seed``.

    Returns
    -------
    dict
        ``{"n_obs", "n_clusters", "terms": [{"term", "estimate", "std_error", "ci_low",
        "ci_high", "p_value", "wild_p_value", "ri_p_value"}]}``; ``ri_p_value`` of
        ``higher_crime`` is None (the moderator is not randomized).
    """
    arms = np.asarray(arms)
    unit_of_row = np.asarray(unit_of_row)
    design = design_matrix(arms[unit_of_row], higher_crime, controls)
    y = np.asarray(y, dtype=float)
    fit = fit_cluster_ols(design, y, unit_of_row)
    low, high, p_values = t_inference(fit.params, fit.std_errors, fit.df, level)
    wild_seed, ri_seed = np.random.SeedSequence(seed).spawn(2)
    weight_draws = cluster_weights(fit.n_clusters, draws, np.random.default_rng(wild_seed), weights)
    ri = randomization_pvalues(
        y, higher_crime, controls, unit_of_row, arms, strata, draws=draws, seed=ri_seed
    )
    names = column_names()
    terms = []
    for term in TERMS:
        i = names.index(term)
        observed, boot = wild_bootstrap_t(design, y, unit_of_row, i, weight_draws)
        terms.append(
            {
                "term": term,
                "estimate": float(fit.params[i]),
                "std_error": float(fit.std_errors[i]),
                "ci_low": float(low[i]),
                "ci_high": float(high[i]),
                "p_value": float(p_values[i]),
                "wild_p_value": _share_at_least(boot, observed, plus_one=False),
                "ri_p_value": ri.get(term),
            }
        )
    return {"n_obs": fit.n_obs, "n_clusters": fit.n_clusters, "terms": terms}


def welch_test(treated: np.ndarray, control: np.ndarray) -> float:
    """Two-sided p-value of Welch's unequal-variance t-test (NaN when both arms are constant)."""
    treated = np.asarray(treated, dtype=float)
    control = np.asarray(control, dtype=float)
    var_t = treated.var(ddof=1) / treated.size
    var_c = control.var(ddof=1) / control.size
    if var_t + var_c == 0:
        return float("nan")
    statistic = (treated.mean() - control.mean()) / np.sqrt(var_t + var_c)
    df = (var_t + var_c) ** 2 / (var_t**2 / (treated.size - 1) + var_c**2 / (control.size - 1))
    return float(2 * scipy_stats.t.sf(abs(statistic), df))


def balance_table(
    covariates: pd.DataFrame,
    arms: np.ndarray,
    strata: np.ndarray,
    *,
    draws: int = 9999,
    seed: int = 0,
) -> pd.DataFrame:
    """Covariate means by arm, differences and p-values, one row per covariate.

    Parameters
    ----------
    covariates
        One row per randomized unit (sector), numeric columns only.
    arms
        Arm of each row (1 treated, 0 control).
    strata
        Stratum of each row, for the randomization p-values.
    draws
        Number of re-drawn assignments.
    seed
        Seed of the random generator.

    Returns
    -------
    pandas.DataFrame
        Columns ``covariate, mean_treatment, mean_control, difference,
        std_difference, p_value, ri_p_value``: the standardized difference divides by
        ``sqrt((s1² + s0²) / 2)``; ``p_value`` is Welch's t-test; ``ri_p_value`` re-draws
        arms within strata with the difference in means as statistic.
    """
    arms = np.asarray(arms, dtype=np.int8)
    values = covariates.to_numpy(dtype=float)
    if values.shape[0] != arms.size:
        raise ValueError("balance needs one arm per row of covariates")
    if min((arms == 1).sum(), (arms == 0).sum()) < 2:
        raise ValueError("balance needs at least two units in each arm")
    if not np.isfinite(values).all():
        raise ValueError("the covariates have missing or infinite values")
    redrawn = redraw_arms(arms, strata, draws, np.random.default_rng(seed)).astype(float)
    n_treated = redrawn.sum(axis=1, keepdims=True)
    redrawn_diff = redrawn @ values / n_treated - (1 - redrawn) @ values / (arms.size - n_treated)
    rows = []
    for j, name in enumerate(covariates.columns):
        treated, control = values[arms == 1, j], values[arms == 0, j]
        difference = treated.mean() - control.mean()
        spread = np.sqrt((treated.var(ddof=1) + control.var(ddof=1)) / 2)
        rows.append(
            {
                "covariate": name,
                "mean_treatment": treated.mean(),
                "mean_control": control.mean(),
                "difference": difference,
                "std_difference": difference / spread if spread > 0 else float("nan"),
                "p_value": welch_test(treated, control),
                "ri_p_value": _share_at_least(redrawn_diff[:, j], difference, plus_one=True),
            }
        )
    return pd.DataFrame(rows)
