"""Sector and quadrant covariates for researchers, and the higher-crime moderator.

Counts are read straight from ``incident`` and ``assignment_with_method``, restricted
to a list of incident load runs (every run by default), so an export frozen in a
manifest counts exactly the same incidents years later, whatever was loaded since.
The pure arithmetic lives in :mod:`compstat.stats.covariates` and
:mod:`compstat.stats.moderator`; the columns are documented in ``docs/covariates.md``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from compstat.errors import InvalidQueryError, NotFoundError
from compstat.groups import group
from compstat.presets import Preset, preset
from compstat.queries.cube import natural_key
from compstat.stats import covariates as cov
from compstat.stats import moderator
from compstat.taxonomy import categories
from geo.weights import queen_weights

LEVELS = ("sector", "quadrant")
BASES = ("recorded", "spatial", "source")
#: The census each vintage's own populations come from.
CENSUS = {"2016": "2010", "2023": "2020"}
_QUADRANT_OF_BASIS = {
    "recorded": "quadrant_id",
    "spatial": "spatial_quadrant_id",
    "source": "source_quadrant_id",
}


@dataclass(frozen=True)
class CovariateRequest:
    """What a covariate export asks for.

    Attributes
    ----------
    vintage : str
        Territory vintage (``"2016"`` or ``"2023"``).
    level : str
        ``sector`` or ``quadrant``.
    start, end : datetime.date
        Inclusive window of the counts.
    units : tuple of str or None
        The comparison set (ranks and cut-off); None: every unit of the level.
    preset : Preset
        The moderator definition.
    basis : str
        Assignment basis: ``recorded``, ``spatial`` or ``source``.
    census : str or None
        Census year of the populations; None: the vintage's own.
    runs : tuple of int or None
        Incident load runs to count; None: every incident load run.
    """

    vintage: str
    level: str
    start: date
    end: date
    units: tuple[str, ...] | None = None
    preset: Preset = field(default_factory=preset)
    basis: str = "recorded"
    census: str | None = None
    runs: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise InvalidQueryError(f"level must be one of {', '.join(LEVELS)}")
        if self.basis not in BASES:
            raise InvalidQueryError(f"assignment must be one of {', '.join(BASES)}")
        if self.start > self.end:
            raise InvalidQueryError("the start date is after the end date")
        if self.vintage not in CENSUS:
            raise NotFoundError(f"vintage {self.vintage!r} has no census populations")
        if self.census is not None and self.census not in CENSUS.values():
            raise InvalidQueryError(f"census must be one of {', '.join(CENSUS.values())}")

    @property
    def census_year(self) -> str:
        """The census of the populations (the vintage's own unless asked otherwise)."""
        return self.census or CENSUS[self.vintage]

    @property
    def moderator_start(self) -> date:
        """First day of the preset's window, which ends on :attr:`end`."""
        return cov.window_start(self.end, self.preset.months)

    def replace(self, **changes) -> CovariateRequest:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Covariates:
    """An export's table and what produced it (for its manifest)."""

    frame: pd.DataFrame
    geometry: list[bytes]
    request: CovariateRequest
    vintage: dict
    runs: list[dict]
    census: dict
    months: int
    notes: list[str]
    inputs: dict = field(repr=False, default_factory=dict)


# ----------------------------------------------------------------------------- reads


def vintage_info(conn: Connection, vintage: str) -> dict:
    """Return the vintage's id, source file and that file's SHA-256."""
    row = conn.execute(
        text("SELECT id, name, source_file, file_sha256 FROM territory_vintage WHERE name = :v"),
        {"v": vintage},
    ).first()
    if row is None:
        raise NotFoundError(f"vintage {vintage!r} is not loaded")
    return dict(row._mapping)


_RUNS = """
WITH spans AS (
    SELECT load_run_id, min(occurred_date) AS first_day, max(occurred_date) AS last_day
    FROM incident GROUP BY load_run_id
)
SELECT r.id, s.code AS source, s.high_impact_only, r.file_name, r.file_sha256, r.n_loaded,
       spans.first_day, spans.last_day
FROM load_run r
JOIN source s ON s.id = r.source_id
LEFT JOIN spans ON spans.load_run_id = r.id
WHERE r.kind = 'incidents' AND (CAST(:ids AS integer[]) IS NULL OR r.id = ANY(:ids))
ORDER BY r.id
"""


def load_runs(conn: Connection, ids: tuple[int, ...] | None) -> list[dict]:
    """Return the incident load runs (all, or those listed) with the days they cover.

    Raises
    ------
    NotFoundError
        A listed run is not in the database.
    """
    rows = conn.execute(text(_RUNS), {"ids": None if ids is None else list(ids)}).all()
    found = [dict(row._mapping) for row in rows]
    missing = sorted(set(ids or ()) - {run["id"] for run in found})
    if missing:
        raise NotFoundError(f"load run(s) {', '.join(map(str, missing))} are not in the database")
    return found


_QUADRANTS = """
SELECT q.id, q.code AS quadrant, q.population, q.area_km2,
       s.code AS sector, s.name AS sector_name, array_to_string(s.aliases, '; ') AS aliases,
       r.code AS region, r.name AS region_name, z.code AS zone, z.name AS zone_name
FROM quadrant q
JOIN sector s ON s.id = q.sector_id
JOIN region r ON r.id = s.region_id
JOIN zone z ON z.id = r.zone_id
WHERE q.vintage_id = :vintage_id
ORDER BY q.id
"""

_GEOMETRY = {
    "sector": "SELECT code, ST_AsBinary(geom) FROM sector WHERE vintage_id = :vintage_id",
    "quadrant": "SELECT code, ST_AsBinary(geom) FROM quadrant WHERE vintage_id = :vintage_id",
}


def quadrants(conn: Connection, vintage_id: int) -> pd.DataFrame:
    """Return the vintage's quadrants with their parents, population and area."""
    rows = conn.execute(text(_QUADRANTS), {"vintage_id": vintage_id}).all()
    return pd.DataFrame(rows, columns=list(rows[0]._fields) if rows else None)


def geometries(conn: Connection, vintage_id: int, level: str) -> dict[str, bytes]:
    """Return each unit's polygon as WKB (EPSG:4326), by unit id."""
    rows = conn.execute(text(_GEOMETRY[level]), {"vintage_id": vintage_id}).all()
    return {code: bytes(wkb) for code, wkb in rows}


_CARRIED = """
SELECT c.to_quadrant_id AS target, f.population, c.share_of_from
FROM quadrant_crosswalk c
JOIN quadrant f ON f.id = c.from_quadrant_id
JOIN quadrant t ON t.id = c.to_quadrant_id
WHERE t.vintage_id = :vintage_id AND f.vintage_id = :other_id
"""


def carried_population(conn: Connection, vintage_id: int, census: str, ids: np.ndarray) -> dict:
    """Return quadrant populations of another vintage's census, carried by area.

    Each quadrant of the vintage whose census is ``census`` gives its residents to the
    quadrants of ``vintage_id`` in proportion to the share of its area inside each
    (``quadrant_crosswalk``). Residents of the parts of those quadrants that lie outside
    every quadrant of ``vintage_id`` are lost, and the method is reported.
    """
    other = next(v for v, year in CENSUS.items() if year == census)
    other_id = conn.execute(
        text("SELECT id FROM territory_vintage WHERE name = :v"), {"v": other}
    ).scalar()
    if other_id is None:
        raise NotFoundError(f"census {census} needs vintage {other}, which is not loaded")
    rows = conn.execute(text(_CARRIED), {"vintage_id": vintage_id, "other_id": other_id}).all()
    if not rows:
        raise NotFoundError(f"no crosswalk between vintages {other} and this one is loaded")
    pairs = pd.DataFrame(rows, columns=["target", "population", "share"])
    position = pd.Series(np.arange(ids.size), index=ids)
    target = position.reindex(pairs["target"]).to_numpy()
    moved = cov.reallocate(
        pairs["population"].to_numpy(float), np.arange(len(pairs)), target, pairs["share"], ids.size
    )
    total_other = conn.execute(
        text("SELECT sum(population) FROM quadrant WHERE vintage_id = :v"), {"v": other_id}
    ).scalar()
    return {
        "population": moved,
        "method": "area-weighted",
        "from_vintage": other,
        "crosswalk": "quadrant_crosswalk (overlap in EPSG:32614)",
        "population_from_vintage": int(total_other or 0),
        "population_carried": float(moved.sum()),
    }


def _daily_sql(basis: str) -> str:
    quadrant = _QUADRANT_OF_BASIS[basis]
    return f"""
SELECT m.{quadrant} AS quadrant_id, i.category_id, i.occurred_date AS day, count(*) AS n
FROM incident i
JOIN assignment_with_method m ON m.incident_id = i.id AND m.vintage_id = :vintage_id
WHERE i.load_run_id = ANY(:runs) AND i.occurred_date BETWEEN :first AND :last
GROUP BY 1, 2, 3
"""


def daily_counts(
    conn: Connection, vintage_id: int, basis: str, runs: list[int], first: date, last: date
) -> pd.DataFrame:
    """Return incidents per quadrant (None: outside), category id and day of the runs."""
    params = {"vintage_id": vintage_id, "runs": runs, "first": first, "last": last}
    rows = conn.execute(text(_daily_sql(basis)), params).all()
    return pd.DataFrame(rows, columns=["quadrant_id", "category_id", "day", "n"])


def category_ids(conn: Connection) -> dict[int, str]:
    """Return every stored category code by id."""
    return dict(conn.execute(text("SELECT id, code FROM category")).all())


# ----------------------------------------------------------------------------- checks


def check_coverage(runs: list[dict], first: date, last: date) -> None:
    """Refuse a window some day of which no listed run's source covers (false zeros)."""
    spans = sorted((r["first_day"], r["last_day"]) for r in runs if r["first_day"])
    day = first
    for lo, hi in spans:
        if lo > day:
            break
        day = max(day, hi + pd.Timedelta(days=1).to_pytimedelta())
        if day > last:
            return
    raise InvalidQueryError(
        f"the loaded incidents do not cover {day} to {last}: counts there would be false zeros"
        f" (the window, with the moderator's {first} start, must lie inside the data)"
    )


def out_of_scope(runs: list[dict], first: date, last: date, codes: tuple[str, ...]) -> list[str]:
    """Return the groups with categories a high-impact-only source in the window lacks."""
    limited = any(
        r["high_impact_only"]
        and r["first_day"]
        and r["first_day"] <= last
        and r["last_day"] >= first
        for r in runs
    )
    high = {c.code for c in categories() if c.high_impact}
    return [code for code in codes if limited and not set(group(code).categories) <= high]


# ----------------------------------------------------------------------------- assembly


def _units(quads: pd.DataFrame, level: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Return the unit table (natural order) and each quadrant's unit position."""
    if level == "quadrant":
        table = quads.assign(
            unit_id=quads["quadrant"], unit_name=quads["quadrant"], aliases=""
        ).copy()
        keys = ["unit_id"]
    else:
        table = quads.rename(columns={"sector": "unit_id", "sector_name": "unit_name"})
        keys = ["unit_id"]
    columns = ["unit_id", "unit_name", "aliases", "zone", "zone_name", "region", "region_name"]
    if level == "quadrant":
        table = table.assign(parent_sector=quads["sector"], parent_sector_name=quads["sector_name"])
        columns += ["parent_sector", "parent_sector_name"]
    units = table[columns].drop_duplicates(keys)
    ids = list(units["unit_id"])
    units = units.iloc[sorted(range(len(ids)), key=lambda i: natural_key(ids[i]))]
    units = units.reset_index(drop=True)
    position = pd.Series(np.arange(len(units)), index=units["unit_id"])
    return units, position.reindex(table["unit_id"]).to_numpy()


def _group_matrix(ids: dict[int, str], codes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Return a (category id -> row) lookup and the category x group 0/1 matrix."""
    ordered = sorted(ids)
    lookup = np.full(max(ordered) + 1, -1)
    lookup[ordered] = np.arange(len(ordered))
    matrix = np.zeros((len(ordered), len(codes)))
    for j, code in enumerate(codes):
        members = set(group(code).categories)
        for i, cid in enumerate(ordered):
            matrix[i, j] = ids[cid] in members
    return lookup, matrix


def _monthly(
    daily: pd.DataFrame,
    unit_of_quadrant: dict[int, int],
    lookup: np.ndarray,
    matrix: np.ndarray,
    n_units: int,
    end: date,
    months: int,
    start: date,
) -> np.ndarray:
    """Return counts (units, groups, months) from ``start`` to ``end``, months in order."""
    result = np.zeros((n_units, matrix.shape[1], months))
    if daily.empty:
        return result
    days = pd.to_datetime(daily["day"]).to_numpy().astype("datetime64[D]")
    unit = daily["quadrant_id"].map(unit_of_quadrant).fillna(-1).to_numpy(int)
    month = cov.month_index(days, end, months)
    keep = (unit >= 0) & (month >= 0) & (days >= np.datetime64(start, "D"))
    category = lookup[daily["category_id"].to_numpy(int)[keep]]
    flat = (unit[keep] * months + month[keep]) * matrix.shape[0] + category
    per_category = np.bincount(
        flat, weights=daily["n"].to_numpy(float)[keep], minlength=n_units * months * len(matrix)
    ).reshape(n_units, months, len(matrix))
    return np.einsum("umc,cg->ugm", per_category, matrix)


def _members(units: pd.DataFrame, listed: tuple[str, ...] | None) -> np.ndarray:
    if listed is None:
        return np.ones(len(units), dtype=bool)
    known = set(units["unit_id"])
    unknown = [u for u in listed if u not in known]
    if unknown:
        raise NotFoundError(f"unknown unit(s) {', '.join(unknown[:5])} in this vintage and level")
    if len(set(listed)) != len(listed):
        raise InvalidQueryError("the unit list repeats a unit")
    return units["unit_id"].isin(listed).to_numpy()


def _per(measure: str, counts: np.ndarray, population: np.ndarray, area: np.ndarray) -> np.ndarray:
    if measure == "rate":
        return cov.measure(counts, population, cov.RATE_SCALE)
    if measure == "density":
        return cov.measure(counts, area)
    return cov.measure(counts, None)


def classify(values: np.ndarray, members: np.ndarray, ids: np.ndarray, p: Preset) -> np.ndarray:
    """Return the higher-crime class per unit (NaN outside the comparison set)."""
    inside = values[members]
    if not np.isfinite(inside).all():
        raise InvalidQueryError(
            f"the moderator's {p.measure} is undefined (no residents or no area) for "
            f"{', '.join(ids[members][~np.isfinite(inside)])}: choose another measure or leave "
            "them out of --units"
        )
    classes = np.full(values.size, np.nan)
    classes[members] = p.rule()(inside)
    return classes


def gather(conn: Connection, request: CovariateRequest, cache: dict | None = None) -> dict:
    """Read what an export needs: territory, populations, runs and daily counts.

    ``cache`` (a dict) keeps reads between calls that differ only in their preset,
    census or basis (the sensitivity variants).
    """
    cache = {} if cache is None else cache
    # Compiling these scans costs more than running them.
    conn.execute(text("SET LOCAL jit = off"))
    key = ("base", request.vintage, request.level, request.runs)
    if key not in cache:
        vintage = vintage_info(conn, request.vintage)
        quads = quadrants(conn, vintage["id"])
        units, unit_of_quad = _units(quads, request.level)
        cache[key] = {
            "vintage": vintage,
            "quads": quads,
            "units": units,
            "unit_of_quad": dict(zip(quads["id"], unit_of_quad, strict=True)),
            "runs": load_runs(conn, request.runs),
            "categories": category_ids(conn),
            "geometry": geometries(conn, vintage["id"], request.level),
        }
    base = cache[key]
    census_key = ("census", request.vintage, request.census_year)
    if census_key not in cache:
        ids = base["quads"]["id"].to_numpy()
        if request.census_year == CENSUS[request.vintage]:
            cache[census_key] = {
                "population": base["quads"]["population"].to_numpy(float),
                "method": "native",
            }
        else:
            cache[census_key] = carried_population(
                conn, base["vintage"]["id"], request.census_year, ids
            )
    first = min(request.start, request.moderator_start)
    counts_key = ("daily", request.vintage, request.basis, request.runs)
    stored = cache.get(counts_key)
    if stored is None or stored[0] > first or stored[1] < request.end:
        run_ids = [r["id"] for r in base["runs"]]
        daily = daily_counts(
            conn, base["vintage"]["id"], request.basis, run_ids, first, request.end
        )
        cache[counts_key] = (first, request.end, daily)
    return {**base, "census": cache[census_key], "daily": cache[counts_key][2]}


def compute(conn: Connection, request: CovariateRequest, cache: dict | None = None) -> Covariates:
    """Return the covariate table of ``request``: one row per unit, zeros included."""
    data = gather(conn, request, cache)
    p = request.preset
    members = _members(data["units"], request.units)
    check_coverage(data["runs"], min(request.start, request.moderator_start), request.end)
    codes = p.groups
    masked = out_of_scope(data["runs"], request.start, request.end, codes)
    if p.group in out_of_scope(data["runs"], request.moderator_start, request.end, (p.group,)):
        raise InvalidQueryError(
            f"the moderator's group {p.group!r} has categories a high-impact-only source over "
            "the window does not record"
        )
    units = data["units"]
    n = len(units)
    quad_unit = np.array([data["unit_of_quad"][q] for q in data["quads"]["id"]])
    population = np.bincount(quad_unit, weights=data["census"]["population"], minlength=n)
    area = np.bincount(quad_unit, weights=data["quads"]["area_km2"].to_numpy(float), minlength=n)
    lookup, matrix = _group_matrix(data["categories"], codes)
    months = cov.months_covering(request.start, request.end)
    series = _monthly(
        data["daily"], data["unit_of_quad"], lookup, matrix, n, request.end, months, request.start
    )
    window = _monthly(
        data["daily"],
        data["unit_of_quad"],
        lookup,
        matrix,
        n,
        request.end,
        p.months,
        request.moderator_start,
    )
    moderator_counts = window[:, 0, :].sum(axis=1)
    value = _per(p.measure, moderator_counts, population, area)
    undefined = members & ~np.isfinite(value)
    notes = []
    if request.units is None and undefined.any():
        members = members & ~undefined
        notes.append(
            f"left out of the comparison set, their {p.measure} being undefined (no residents "
            f"or no area): {', '.join(units['unit_id'][undefined])}"
        )
    weights = queen_weights(
        np.array([shapely.from_wkb(data["geometry"][u]) for u in units["unit_id"]])
    )
    frame = units.assign(
        area_km2=area,
        population=np.round(population).astype(np.int64),
        census=request.census_year,
        in_comparison=members.astype(np.int8),
    )
    columns = {}
    for j, code in enumerate(codes):
        total = series[:, j, :].sum(axis=1)
        rate = cov.measure(total, population, cov.RATE_SCALE)
        mean, sd, slope = cov.monthly_summary(series[:, j, :])
        ranked = _per(p.measure, total, population, area)
        rank, percentile = cov.rank_and_percentile(ranked, members)
        values = {
            "count": total,
            "rate": rate,
            "density": cov.measure(total, area),
            "monthly_mean": mean,
            "monthly_sd": sd,
            "trend_slope": slope,
            "rate_lag": cov.spatial_lag(rate, weights),
            "rank": rank,
            "percentile": percentile,
        }
        for name, column in values.items():
            columns[f"{code}_{name}"] = np.full(n, np.nan) if code in masked else column
    frame = frame.assign(**columns)
    for code in codes:
        frame[f"{code}_count"] = frame[f"{code}_count"].round().astype("Int64")
        frame[f"{code}_rank"] = frame[f"{code}_rank"].round().astype("Int64")
    classes = classify(value, members, units["unit_id"].to_numpy(), p)
    frame = frame.assign(
        moderator_count=np.round(moderator_counts).astype(np.int64),
        moderator_value=value,
        higher_crime=pd.array(np.where(np.isnan(classes), None, classes), dtype="Int8"),
        moderator_preset=p.name,
        moderator_version=p.version,
    )
    notes += [
        f"{code}: a high-impact-only source covers part of the window, so its counts are left "
        "missing"
        for code in masked
    ]
    return Covariates(
        frame=frame.reset_index(drop=True),
        geometry=[data["geometry"][u] for u in units["unit_id"]],
        request=request,
        vintage={k: data["vintage"][k] for k in ("name", "source_file", "file_sha256")},
        runs=[
            {k: r[k] for k in ("id", "source", "file_name", "file_sha256", "n_loaded")}
            for r in data["runs"]
        ],
        census={"year": request.census_year, "native": CENSUS[request.vintage]}
        | {k: v for k, v in data["census"].items() if k != "population"},
        months=months,
        notes=notes,
        inputs={
            "moderator_counts": moderator_counts,
            "population": population,
            "area": area,
            "members": members,
        },
    )


def higher_class_probability(result: Covariates, draws: int, seed: int) -> np.ndarray:
    """Probability of the higher-crime class under Poisson resampling (comparison set only)."""
    p = result.request.preset
    inputs = result.inputs
    members = inputs["members"]
    denominator = {"count": None, "rate": inputs["population"], "density": inputs["area"]}
    divisor = denominator[p.measure]
    probability = np.full(members.size, np.nan)
    probability[members] = moderator.higher_class_probability(
        inputs["moderator_counts"][members],
        None if divisor is None else divisor[members],
        rule=p.rule(),
        scale=cov.RATE_SCALE if p.measure == "rate" else 1.0,
        draws=draws,
        seed=seed,
    )
    return probability


# ----------------------------------------------------------------------------- labels

_FIXED_LABELS = {
    "unit_id": "Unit id (official code in the vintage)",
    "unit_name": "Official name of the unit",
    "aliases": "Other names of the sector (separated by '; ')",
    "zone": "Zone code",
    "zone_name": "Zone name",
    "region": "Region code",
    "region_name": "Region name",
    "parent_sector": "Sector of the quadrant",
    "parent_sector_name": "Name of the quadrant's sector",
    "area_km2": "Area in km2 (sum of the unit's quadrants, EPSG:32614)",
    "population": "Residents (census in column census)",
    "census": "Census year of the population",
    "in_comparison": "1 if the unit is in the comparison set (ranks, cut-off)",
    "moderator_count": "Crimes of the moderator's group in the moderator's window",
    "moderator_value": "The moderator's measure (count, rate or density) in its window",
    "higher_crime": "Higher-crime area (1/0) by the moderator preset; missing outside the set",
    "moderator_preset": "Name of the moderator preset",
    "moderator_version": "Version of the moderator presets file",
}
_GROUP_LABELS = {
    "count": "{g}: crimes in the window",
    "rate": "{g}: crimes per 100,000 residents",
    "density": "{g}: crimes per km2",
    "monthly_mean": "{g}: mean crimes per month",
    "monthly_sd": "{g}: sd of crimes per month",
    "trend_slope": "{g}: OLS slope of monthly crimes (per month)",
    "rate_lag": "{g}: mean rate of queen-contiguous neighbours",
    "rank": "{g}: rank in comparison set (1 = highest measure)",
    "percentile": "{g}: percentile in comparison set (100 = highest)",
}


def column_labels(columns: list[str], codes: tuple[str, ...]) -> dict[str, str]:
    """Return a short label (at most 80 characters, for Stata) for every column."""
    labels = {}
    for column in columns:
        if column in _FIXED_LABELS:
            labels[column] = _FIXED_LABELS[column]
            continue
        for code in codes:
            suffix = column.removeprefix(f"{code}_")
            if suffix != column and suffix in _GROUP_LABELS:
                labels[column] = _GROUP_LABELS[suffix].format(g=code)
                break
        else:
            labels[column] = column
    return {k: v[:80] for k, v in labels.items()}
