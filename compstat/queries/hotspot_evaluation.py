"""Rolling-origin accuracy of hotspot methods: which one predicts next weeks' crime best.

For each consecutive test window of ``test_days`` days in ``[start, end]``, every
method ranks the 250 m cells of the study area (the cells whose centre lies in the
vintage's quadrants; all the same size) from the incidents before the window only,
the top-ranked cells covering ``coverage`` of the area are flagged, and the window's
incidents are scored with :mod:`compstat.stats.accuracy` (hit rate, PAI, PEI, RRI).
Quadrant methods give each cell its quadrant's score (the quadrant holding the
cell's centre). Incidents are the located ones inside the vintage's quadrants
(spatial basis). Methods (:data:`METHODS`):

``grid``
    the baseline: each cell's incidents in the last ``train_days`` days (365).
``quadrant``
    quadrants by incidents per km² in the last 365 days.
``kde``
    quartic kernel density (250 m search radius) of the last 365 days' incidents.
``gistar``
    Gi* z-score (queen contiguity, analytic) of quadrant densities over 365 days.
``emerging``
    emerging hot spot category over the last 52 weeks, then mean weekly Gi* z.
``blend``
    cell counts over up to four years, each incident weighted by ``0.5 ** (age /
    half_life)`` (half-life 365 days), plus ``borrow`` (0.5) times the same surface of
    all offences, each surface as shares of its total; ``blend_bandwidth`` > 0 also
    smooths both with a quartic kernel (off by default: it lowered the PAI, see
    ``docs/hotspots.md``).
``hindsight``
    not a forecast: the test window's own counts, the best any selection could do
    (its PEI is 1 by definition). Shown as the ceiling; never a default.

With ``exclude_reporting_places``, the reporting places
(:mod:`compstat.queries.reporting_places`) found in the ``places_days`` days before the
first test window (never in a test window) are dropped: every incident in their 100 m
cells, training and test alike, as if those complaints had no location.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from compstat.groups import group
from compstat.queries import cube as cubes
from compstat.queries import hotspots as hs
from compstat.queries import reporting_places as rp
from compstat.stats.accuracy import score_forecast
from compstat.stats.emerging import classify_emerging, space_time_gi_star
from compstat.stats.forecast import (
    decayed_counts,
    emerging_scores,
    recent_counts,
    share,
)
from compstat.stats.getis_ord import gi_star
from compstat.stats.reporting_places import in_cells
from geo.grid import OUTSIDE
from geo.kde import density

METHODS = ("grid", "quadrant", "kde", "gistar", "emerging", "blend")
#: The forecasts and the hindsight ceiling.
ALL_METHODS = (*METHODS, "hindsight")
#: The method the map shows by default, chosen from the 2023 evaluation (docs/hotspots.md).
DEFAULT_METHOD = "blend"
BASELINE = "grid"
DEFAULT_BASKETS = ("alto_impacto", "all", "robo_transeunte_cv")
BROADER_BASKET = "all"


@dataclass(frozen=True)
class EvaluationQuery:
    """What ``compstat hotspots evaluate`` is asked for.

    Attributes
    ----------
    vintage : str
    start, end : date
        Test windows run from ``start`` while they end on or before ``end``.
    baskets : tuple of str
        Group or category codes.
    methods : tuple of str
        Some of :data:`METHODS`.
    test_days : int
        Length of each test window.
    coverage : float
        Share of the study area flagged.
    train_days : int
        Training days of the grid, quadrant, KDE and Gi* methods.
    cell_size, bandwidth : float
        Cell side and KDE search radius, metres.
    history_days, half_life, blend_bandwidth, borrow : float
        The blend's history cap, decay half-life (days), smoothing radius (m) and the
        weight of the broader basket's surface.
    exclude_reporting_places : bool
        Drop the incidents of the reporting places found before the first test window.
    places_days : int
        Days before the first test window the reporting places are found in.
    """

    vintage: str
    start: date
    end: date
    baskets: tuple[str, ...] = DEFAULT_BASKETS
    methods: tuple[str, ...] = METHODS
    test_days: int = 28
    coverage: float = 0.05
    train_days: int = 365
    cell_size: float = 250.0
    bandwidth: float = 250.0
    history_days: int = 4 * 365
    half_life: float = 365.0
    blend_bandwidth: float = 0.0
    borrow: float = 0.5
    emerging_weeks: int = 52
    exclude_reporting_places: bool = False
    places_days: int = 365

    def __post_init__(self) -> None:
        for method in self.methods:
            cubes.check_choice("method", method, ALL_METHODS)
        for basket in self.baskets:
            group(basket)
        if not 0 < self.coverage <= 1:
            raise cubes.InvalidQueryError(f"coverage must be in (0, 1], not {self.coverage}")
        if self.test_days < 1 or self.train_days < 1:
            raise cubes.InvalidQueryError("test and training days must be positive")

    def test_windows(self) -> list[tuple[date, date]]:
        """Return the consecutive test windows ``(first, last day)`` inside ``[start, end]``."""
        step = timedelta(days=self.test_days)
        windows, first = [], self.start
        while first + step - timedelta(days=1) <= self.end:
            windows.append((first, first + step - timedelta(days=1)))
            first += step
        if not windows:
            raise cubes.InvalidQueryError(
                f"no whole {self.test_days}-day test window between {self.start} and {self.end}"
            )
        return windows

    def places_query(self) -> rp.PlacesQuery:
        """Return the reporting places' query: the ``places_days`` days before ``start``."""
        first = self.start - timedelta(days=self.places_days)
        return rp.PlacesQuery(self.vintage, first, self.start - timedelta(days=1))

    def first_training_day(self) -> date:
        """Return the earliest day any method reads."""
        longest = max(self.history_days, self.train_days, 7 * self.emerging_weeks)
        return self.start - timedelta(days=longest)


@dataclass
class StudyData:
    """Everything the methods read: cells, quadrants and located incidents.

    Attributes
    ----------
    centres : numpy.ndarray
        ``(n_cells, 2)`` cell centres, EPSG:32614 metres.
    cell_quadrant : numpy.ndarray
        Position (in ``quadrant_area``) of the quadrant holding each cell's centre, -1 none.
    quadrant_area : numpy.ndarray
        Area of each quadrant, km².
    weights : scipy.sparse.csr_array
        Queen contiguity between quadrants.
    xy, cell, quadrant, day, category : numpy.ndarray
        Per incident: metric point, cell (-1 outside the cells), quadrant position,
        day number and category id.
    excluded : dict
        With reporting places excluded: ``{"places", "incidents"}`` dropped; else empty.
    """

    centres: np.ndarray
    cell_quadrant: np.ndarray
    quadrant_area: np.ndarray
    weights: object
    xy: np.ndarray
    cell: np.ndarray
    quadrant: np.ndarray
    day: np.ndarray
    category: np.ndarray
    category_ids: dict[str, int] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def n_cells(self) -> int:
        """Return the number of cells."""
        return len(self.centres)

    def basket_mask(self, basket: str) -> np.ndarray:
        """Return which incidents belong to the basket."""
        ids = [self.category_ids[c] for c in group(basket).categories if c in self.category_ids]
        return np.isin(self.category, ids)


def load_study(conn: Connection, q: EvaluationQuery) -> StudyData:
    """Read the vintage's cells, quadrants and the located incidents the evaluation needs."""
    c = cubes.cube(conn, q.vintage)
    grid = hs.vintage_grid(conn, q.vintage, q.cell_size, rule="centre")
    quadrants = cubes.units(c, "quadrant")
    shapes = hs.polygons(conn, q.vintage, "quadrant").set_index("unit_id").loc[quadrants["unit_id"]]
    metric = shapes.geometry.to_crs(32614)
    weights = hs.level_weights(conn, q.vintage, "quadrant", quadrants["unit_id"].tolist())
    points = hs.incident_points(conn, q.vintage)
    lo, hi = np.searchsorted(
        points.day, cubes.day_bounds(q.first_training_day(), q.end, points.day.dtype)
    )
    keep, excluded = _kept(conn, q, points.x[lo:hi], points.y[lo:hi])
    xy = np.column_stack([points.x[lo:hi][keep], points.y[lo:hi][keep]])
    return StudyData(
        centres=grid.centres,
        cell_quadrant=_containing(metric.values, grid.centres),
        quadrant_area=quadrants["area_km2"].to_numpy(float),
        weights=weights,
        xy=xy,
        cell=grid.cell_index(xy[:, 0], xy[:, 1]),
        quadrant=_containing(metric.values, xy),
        day=points.day[lo:hi][keep].astype(np.int64),
        category=points.category[lo:hi][keep],
        category_ids=dict(c.category_ids),
        excluded=excluded,
    )


def _kept(
    conn: Connection, q: EvaluationQuery, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, dict[str, int]]:
    """Return which incidents the evaluation keeps and, if places are excluded, how many went."""
    if not q.exclude_reporting_places:
        return np.ones(len(x), bool), {}
    places = q.places_query()
    keys = rp.place_keys(conn, places)
    dropped = in_cells(x, y, keys, places.rule.cell_size)
    return ~dropped, {"places": len(keys), "incidents": int(dropped.sum())}


def _containing(polygons: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Return the position of the polygon containing each point (-1 none; first on ties)."""
    tree = shapely.STRtree(polygons)
    point_i, poly_i = tree.query(shapely.points(xy), predicate="intersects")
    found = np.full(len(xy), -1, np.int64)
    order = np.argsort(poly_i, kind="stable")[::-1]
    found[point_i[order]] = poly_i[order]
    return found


Method = Callable[[StudyData, np.ndarray, int, EvaluationQuery, np.ndarray], np.ndarray]


def _grid(data: StudyData, mask, origin: int, q: EvaluationQuery, broad) -> np.ndarray:
    return recent_counts(data.cell[mask], data.day[mask], origin, q.train_days, data.n_cells)


def _quadrant_density(data: StudyData, mask, origin: int, days: int) -> np.ndarray:
    counts = recent_counts(
        data.quadrant[mask], data.day[mask], origin, days, len(data.quadrant_area)
    )
    return counts / data.quadrant_area


def _to_cells(data: StudyData, per_quadrant: np.ndarray) -> np.ndarray:
    return np.where(data.cell_quadrant >= 0, per_quadrant[data.cell_quadrant], -np.inf)


def _quadrant(data: StudyData, mask, origin: int, q: EvaluationQuery, broad) -> np.ndarray:
    return _to_cells(data, _quadrant_density(data, mask, origin, q.train_days))


def _kde(data: StudyData, mask, origin: int, q: EvaluationQuery, broad) -> np.ndarray:
    keep = mask & (data.day < origin) & (data.day >= origin - q.train_days)
    return density(data.xy[keep], data.centres, q.bandwidth)


def _gistar(data: StudyData, mask, origin: int, q: EvaluationQuery, broad) -> np.ndarray:
    values = _quadrant_density(data, mask, origin, q.train_days)
    return _to_cells(data, gi_star(values, data.weights, permutations=0).z)


def _emerging(data: StudyData, mask, origin: int, q: EvaluationQuery, broad) -> np.ndarray:
    weeks = q.emerging_weeks
    n = len(data.quadrant_area)
    counts = np.column_stack(
        [
            recent_counts(data.quadrant[mask], data.day[mask], origin - 7 * k, 7, n)
            for k in range(weeks - 1, -1, -1)
        ]
    )
    z, bins = space_time_gi_star(counts, data.weights)
    categories = classify_emerging(bins, z)
    return _to_cells(data, emerging_scores(categories, z.mean(axis=1)))


def blend_surface(data: StudyData, mask, origin: int, q: EvaluationQuery) -> np.ndarray:
    """Return the decayed, smoothed cell surface of the incidents in ``mask`` (shares)."""
    weighted = decayed_counts(
        data.cell[mask], data.day[mask], origin, q.history_days, q.half_life, data.n_cells
    )
    if q.blend_bandwidth <= 0:
        return share(weighted)
    present = weighted > 0
    smooth = density(
        data.centres[present], data.centres, q.blend_bandwidth, weights=weighted[present]
    )
    return share(smooth)


def _blend(data: StudyData, mask, origin: int, q: EvaluationQuery, broad) -> np.ndarray:
    own = blend_surface(data, mask, origin, q)
    if q.borrow <= 0 or broad is None or np.array_equal(broad, mask):
        return own
    return own + q.borrow * blend_surface(data, broad, origin, q)


def _hindsight(data: StudyData, mask, origin: int, q: EvaluationQuery, broad) -> np.ndarray:
    return _window_cells(data, mask, origin, origin + q.test_days - 1)


FORECASTS: dict[str, Method] = {
    "grid": _grid,
    "quadrant": _quadrant,
    "kde": _kde,
    "gistar": _gistar,
    "emerging": _emerging,
    "blend": _blend,
    "hindsight": _hindsight,
}


def _day(d: date) -> int:
    return cubes.day_number(d)


def score_windows(data: StudyData, q: EvaluationQuery) -> pd.DataFrame:
    """Return one row per basket, method and test window with its scores."""
    areas = np.ones(data.n_cells)
    broad = data.basket_mask(BROADER_BASKET)
    rows = []
    for basket in q.baskets:
        mask = data.basket_mask(basket)
        for first, last in q.test_windows():
            origin = _day(first)
            observed = _window_cells(data, mask, origin, _day(last))
            training = recent_counts(
                data.cell[mask], data.day[mask], origin, q.train_days, data.n_cells
            )
            for method in q.methods:
                scores = FORECASTS[method](data, mask, origin, q, broad)
                result = score_forecast(scores, observed, areas, q.coverage, training)
                rows.append(
                    {
                        "basket": basket,
                        "method": method,
                        "test_start": first,
                        "test_end": last,
                        **{k: result.as_dict()[k] for k in ("pai", "pei", "rri", "hit_rate")},
                        "test_crimes": int(result.test_crimes),
                        "captured": int(result.captured),
                    }
                )
    return pd.DataFrame(rows)


def _window_cells(data: StudyData, mask, first: int, last: int) -> np.ndarray:
    keep = mask & (data.day >= first) & (data.day <= last) & (data.cell != OUTSIDE)
    return np.bincount(data.cell[keep], minlength=data.n_cells).astype(float)


def summarise(windows: pd.DataFrame) -> pd.DataFrame:
    """Return per basket and method: windows, mean and median PAI, mean PEI, RRI, hit rate."""
    grouped = windows.groupby(["basket", "method"], sort=False)
    summary = grouped.agg(
        windows=("pai", "size"),
        mean_pai=("pai", "mean"),
        median_pai=("pai", "median"),
        mean_pei=("pei", "mean"),
        mean_rri=("rri", "mean"),
        mean_hit_rate=("hit_rate", "mean"),
    ).reset_index()
    return summary.round(4)


@dataclass
class Evaluation:
    """An evaluation's parameters, summary table and per-window scores."""

    query: EvaluationQuery
    summary: pd.DataFrame
    windows: pd.DataFrame
    default_method: str = DEFAULT_METHOD
    excluded: dict[str, int] = field(default_factory=dict)

    def beats_baseline(self) -> dict[str, bool]:
        """Return, per basket, whether the default method's mean PAI beats the grid's."""
        table = self.summary.set_index(["basket", "method"])["mean_pai"]
        return {
            b: bool(table.get((b, self.default_method), np.nan) > table.get((b, BASELINE), np.inf))
            for b in self.query.baskets
        }

    def as_json(self) -> dict:
        """Return the issue's JSON contract (with a ``basket`` key per method and window)."""
        parameters = {
            k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self.query).items()
        }
        windows = self.windows.assign(
            test_start=self.windows["test_start"].map(date.isoformat),
            test_end=self.windows["test_end"].map(date.isoformat),
        )
        return {
            "parameters": parameters,
            "default_method": self.default_method,
            "beats_baseline": self.beats_baseline(),
            "excluded": self.excluded,
            "methods": _clean(self.summary),
            "windows": _clean(windows),
        }


def _clean(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def evaluate(conn: Connection, q: EvaluationQuery) -> Evaluation:
    """Run the rolling-origin evaluation of ``q`` (read-only)."""
    data = load_study(conn, q)
    windows = score_windows(data, q)
    return Evaluation(q, summarise(windows), windows, excluded=data.excluded)


def markdown(result: Evaluation) -> str:
    """Return the summary as a Markdown table (baseline and default method marked)."""
    header = (
        "| basket | method | windows | mean PAI | median PAI | mean PEI | mean RRI | hit rate |"
    )
    lines = [header, "|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in result.summary.itertuples():
        mark = " (baseline)" if row.method == BASELINE else ""
        mark += " (default)" if row.method == result.default_method else ""
        mark += " (ceiling, not a forecast)" if row.method == "hindsight" else ""
        lines.append(
            f"| {row.basket} | {row.method}{mark} | {row.windows} | {row.mean_pai:.2f} | "
            f"{row.median_pai:.2f} | {row.mean_pei:.3f} | {row.mean_rri:.3f} | "
            f"{row.mean_hit_rate:.3f} |"
        )
    verdict = ", ".join(f"{b}: {'yes' if v else 'no'}" for b, v in result.beats_baseline().items())
    lines.append("")
    lines.append(f"Default method `{result.default_method}` above the grid baseline: {verdict}.")
    if result.query.exclude_reporting_places:
        places = result.query.places_query()
        lines.append(
            f"Reporting places excluded: {result.excluded['places']} places found from "
            f"{places.start} to {places.end}, {result.excluded['incidents']:,} incidents dropped."
        )
    return "\n".join(lines) + "\n"


def plot(result: Evaluation, path: str) -> None:
    """Save a PNG: mean PAI per basket and method, and PAI per test window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    baskets = list(result.query.baskets)
    figure, axes = plt.subplots(1, 1 + len(baskets), figsize=(5 * (1 + len(baskets)), 4))
    table = result.summary.pivot(index="basket", columns="method", values="mean_pai")
    forecasts = [m for m in result.query.methods if m != "hindsight"]
    table.loc[baskets, forecasts].plot.bar(ax=axes[0], rot=0)
    axes[0].set_title("Mean PAI (bars: methods)")
    axes[0].set_ylabel("PAI")
    highest = np.nan_to_num(table.loc[baskets, forecasts].to_numpy(float), nan=0.0).max()
    axes[0].set_ylim(0, 1.4 * max(float(highest), 1.0))
    axes[0].legend(fontsize="small", ncol=3, loc="upper center")
    for ax, basket in zip(axes[1:], baskets, strict=True):
        part = result.windows[result.windows["basket"] == basket]
        for method, rows in part.groupby("method", sort=False):
            style = ":" if method == "hindsight" else "-"
            ax.plot(
                pd.to_datetime(rows["test_start"]), rows["pai"], style, marker=".", label=method
            )
        ax.set_title(f"PAI per test window: {basket}")
        ax.tick_params(axis="x", rotation=45)
    axes[-1].legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
