"""The weekly CompStat table: each unit's counts in the meeting's windows, against a year ago.

One row per unit x group x window (``week``, ``28d``, ``ytd``) with the columns of
:data:`COLUMNS`, the output contract of ``compstat accountability``; the web table is a
pivot of exactly these rows. Counts come from the vintage's cube (``cube.py``).

A period that loaded data do not fully cover (for example 2016-10 to 2018-12, between
the SSP and FGJ files), or that only a high-impact-only source covers for a group
with other categories, has no count (``None``), never a false zero; :attr:`notes`
says why. Comparisons whose periods come from different sources are labelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from compstat import windows as win
from compstat.errors import InvalidQueryError, NotFoundError
from compstat.groups import Group, resolve_groups
from compstat.queries import cube as cubes
from compstat.queries import roster
from compstat.stats.change import change_flag, change_z, flag_labels, pct_change

LEVELS = cubes.LEVELS
BASES = cubes.BASES
COLUMNS = [
    "vintage",
    "level",
    "unit_id",
    "unit_name",
    "parent_id",
    "commander",
    "group",
    "window",
    "start",
    "end",
    "current",
    "year_ago",
    "pct_change",
    "two_year_ago",
    "two_year_pct_change",
    "z",
    "flag",
    "rate_per_100k",
    "rank",
]
#: The columns that hold one window's numbers (the rest name the unit, group and window).
VALUE_COLUMNS = COLUMNS[COLUMNS.index("current") :]
PERIODS = ("current", "year_ago", "two_years_ago")
CENSUS = {"2016": "2010", "2023": "2020"}

#: Returns ``{unit_id: commander text}`` for a vintage, level and day, and whether the
#: roster is fictitious.
CommanderLookup = Callable[[Connection, str, str, date], tuple[dict[str, str], bool]]


@dataclass(frozen=True)
class AccountabilityQuery:
    """What the weekly table is asked for.

    Attributes
    ----------
    vintage : str
    level : str
        One of :data:`LEVELS`.
    as_of : date or None
        Last day of the windows; ``None`` means the last Sunday of the loaded data.
    groups : tuple of str
        Group codes (``compstat.groups``); empty means ``("alto_impacto",)``.
    basis : str
        One of :data:`BASES`.
    parent : str or None
        A unit id above ``level``: only its descendants are shown.
    """

    vintage: str
    level: str = "sector"
    as_of: date | None = None
    groups: tuple[str, ...] = ()
    basis: str = "recorded"
    parent: str | None = None

    def __post_init__(self) -> None:
        cubes.check_choice("level", self.level, LEVELS)
        cubes.check_choice("basis", self.basis, BASES)


@dataclass
class Accountability:
    """The weekly table and what the page says about it (see the module docstring)."""

    query: AccountabilityQuery
    windows: dict[str, win.WindowSet]
    rows: pd.DataFrame
    totals: pd.DataFrame
    breadcrumb: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    census: str | None = None
    roster_fictitious: bool = False


def group_matrix(c: cubes.Cube, groups: list[Group]) -> np.ndarray:
    """Return a (category id + 1) x group 0/1 matrix: which categories each group sums."""
    size = max(c.category_ids.values(), default=0) + 1
    matrix = np.zeros((size, len(groups)))
    for j, g in enumerate(groups):
        for code in g.categories:
            if code in c.category_ids:
                matrix[c.category_ids[code], j] = 1
    return matrix


def slot_lookup(c: cubes.Cube, shown: pd.DataFrame, level: str, outside: bool) -> np.ndarray:
    """Return, indexed by quadrant id + 1, each quadrant's row in ``shown`` (-1: not shown).

    Incidents outside every quadrant (id -1, index 0) go to the extra last row when
    ``outside`` is true. Kept with the cube when ``shown`` is the whole level
    (:func:`compstat.queries.cube.units`); read-only.
    """
    if shown is not cubes.units(c, level):
        return _slot_lookup(c, shown, level, outside)
    key = ("slot_lookup", level, outside)
    return cubes.derived(c, key, lambda: _slot_lookup(c, shown, level, outside))


def _slot_lookup(c: cubes.Cube, shown: pd.DataFrame, level: str, outside: bool) -> np.ndarray:
    t = c.territory
    lookup = np.full(int(t["quadrant_id"].to_numpy().max(initial=0)) + 2, -1, np.int64)
    position = pd.Series(np.arange(len(shown)), index=shown["unit_id"].to_numpy())
    slots = t[level].map(position)
    inside = slots.notna().to_numpy()
    lookup[t["quadrant_id"].to_numpy()[inside] + 1] = slots.to_numpy()[inside].astype(np.int64)
    if outside:
        lookup[0] = len(shown)
    return lookup


def window_counts(
    c: cubes.Cube, basis: str, window: win.Window, lookup: np.ndarray, slots: int, matrix
) -> np.ndarray:
    """Return incidents per shown unit (rows) and group (columns) in ``window``."""
    return period_counts(c, basis, window, 1, lookup, slots, matrix)[:, 0, :]


def period_counts(
    c: cubes.Cube,
    basis: str,
    span: win.Window,
    periods: int,
    lookup: np.ndarray,
    slots: int,
    matrix: np.ndarray,
) -> np.ndarray:
    """Return incidents per shown unit, period and group: ``span`` cut into equal periods.

    Shaped ``(slots, periods, groups)``; ``span.days`` must be a multiple of ``periods``.
    """
    if span.days % periods:
        raise ValueError(f"{span.days} days do not split into {periods} equal periods")
    rows = c.rows_between(span.start, span.end)
    slot = lookup[c.quadrant[rows] + 1]
    keep = slot >= 0
    n_cat = matrix.shape[0]
    flat = slot[keep]
    if periods > 1:
        days = c.day[rows][keep].astype(np.int64) - cubes.day_number(span.start)
        flat = flat * periods + days // (span.days // periods)
    flat = flat * n_cat + c.category[rows][keep]
    weights = c.counts[basis][rows][keep]
    per_category = np.bincount(flat, weights=weights, minlength=slots * periods * n_cat)
    return (per_category.reshape(slots * periods, n_cat) @ matrix).reshape(slots, periods, -1)


def coverage(c: cubes.Cube, window: win.Window, groups: list[Group]) -> list[str | None]:
    """Return, per group, why a period has no count, or None when loaded data cover it.

    The reasons are ``no_data``, ``partial_data`` and ``out_of_scope`` (a group with
    categories a high-impact-only source does not record).
    """
    covered = c.covered_days(window.start, window.end)
    if covered == 0:
        return ["no_data"] * len(groups)
    if covered < window.days:
        return ["partial_data"] * len(groups)
    limited = any(s.high_impact_only for s in c.sources_in(window.start, window.end))
    high_impact = set(_high_impact_codes())
    return [
        "out_of_scope" if limited and not set(g.categories) <= high_impact else None for g in groups
    ]


def _high_impact_codes() -> list[str]:
    from compstat.taxonomy import categories

    return [cat.code for cat in categories() if cat.high_impact]


def shown_units(c: cubes.Cube, q: AccountabilityQuery) -> pd.DataFrame:
    """Return the units of the query's level under its parent (all when no parent)."""
    frame = cubes.units(c, q.level)
    if q.parent is None:
        return frame
    parent_level, _ = cubes.find_unit(c, q.parent)
    above = LEVELS[: LEVELS.index(q.level)]
    if parent_level not in above:
        raise InvalidQueryError(f"parent {q.parent!r} is not a unit above the {q.level} level")
    return frame.loc[frame[parent_level] == q.parent].reset_index(drop=True)


def breadcrumb(c: cubes.Cube, parent: str | None) -> list[dict]:
    """Return the units from the zone down to ``parent``: ``level``, ``unit_id``, ``unit_name``."""
    if parent is None:
        return []
    level, _ = cubes.find_unit(c, parent)
    row = c.territory.loc[c.territory[level] == parent].iloc[0]
    chain = LEVELS[: LEVELS.index(level) + 1]
    return [{"level": lv, "unit_id": row[lv], "unit_name": row[f"{lv}_name"]} for lv in chain]


def default_as_of(c: cubes.Cube) -> date:
    """Return the last Sunday with complete data: the end of the last full loaded week."""
    if c.last_day is None:
        raise NotFoundError(f"vintage {c.vintage} has no incidents placed yet")
    return win.last_complete_sunday(c.last_day)


def _masked(counts: np.ndarray, missing: list[str | None]) -> np.ndarray:
    """Return ``counts`` (units x groups) with NaN in the groups whose period has no data."""
    return np.where(np.array([m is not None for m in missing])[None, :], np.nan, counts)


def _pct(current: np.ndarray, base: np.ndarray) -> np.ndarray:
    return np.round(pct_change(current, base), 1)


def _rank(current: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """Return 1 for the most crime among ranked rows in each column (ties share the best)."""
    values = pd.DataFrame(np.where(ranked[:, None], current, np.nan))
    return values.rank(method="min", ascending=False).to_numpy()


def _window_columns(
    frame: pd.DataFrame, counts: dict, missing: dict, ranked: np.ndarray
) -> dict[str, np.ndarray]:
    """Return every computed column of one window as units x groups arrays."""
    cur, old, older = (_masked(counts[p], missing[p]) for p in PERIODS)
    z = np.round(change_z(cur, old), 3)
    population = frame["population"].to_numpy(float)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(population > 0, np.round(cur / population * 100_000, 2), np.nan)
    return {
        "current": cur,
        "year_ago": old,
        "pct_change": _pct(cur, old),
        "two_year_ago": older,
        "two_year_pct_change": _pct(cur, older),
        "z": z,
        "flag": change_flag(z),
        "rate_per_100k": rate,
        "rank": _rank(cur, ranked),
    }


INTEGER_COLUMNS = ("current", "year_ago", "two_year_ago", "rank")


def _table(
    q: AccountabilityQuery,
    frame: pd.DataFrame,
    counted: dict,
    groups: list[Group],
    commanders: dict[str, str],
    ranked: np.ndarray,
) -> pd.DataFrame:
    """Return the long-form rows of ``frame``'s units (group, window, unit order)."""
    n_units, n_groups = len(frame), len(groups)
    parts = []
    for kind, (counts, missing) in counted.items():
        window = missing["window"]
        columns = _window_columns(frame, counts, missing, ranked)
        flat = {name: values.T.ravel() for name, values in columns.items()}
        flat["flag"] = np.array(flag_labels(flat["flag"]), dtype=object)
        parts.append(
            pd.DataFrame(
                {
                    "group": np.repeat([g.code for g in groups], n_units),
                    "window": kind,
                    "start": window.start,
                    "end": window.end,
                    "order": np.repeat(np.arange(n_groups), n_units),
                    "unit": np.tile(np.arange(n_units), n_groups),
                    **flat,
                }
            )
        )
    table = pd.concat(parts, ignore_index=True)
    table["kind"] = table["window"].map({k: i for i, k in enumerate(win.STANDARD)})
    table = table.sort_values(["order", "kind", "unit"], kind="stable")
    for name in INTEGER_COLUMNS:
        table[name] = pd.array(table[name].round(), dtype="Int64")
    # plain Python values, None where missing: the unit's columns taken per unit once and
    # spread by position, the others converted once (dtype=object keeps pandas from
    # inferring text columns back into Arrow strings)
    per_unit = _unit_columns(q, frame, commanders)
    at = table["unit"].to_numpy()
    values = {
        name: per_unit[name][at]
        if name in per_unit
        else table[name].to_numpy(dtype=object, na_value=None)
        for name in COLUMNS
    }
    return pd.DataFrame(values, dtype=object)


def _unit_columns(
    q: AccountabilityQuery, frame: pd.DataFrame, commanders: dict[str, str]
) -> dict[str, np.ndarray]:
    """Return each of ``frame``'s units' naming columns as object arrays, in frame order."""
    ids = frame["unit_id"].to_numpy(dtype=object, na_value=None)
    n = len(frame)
    return {
        "vintage": np.full(n, q.vintage, dtype=object),
        "level": np.full(n, q.level, dtype=object),
        "unit_id": ids,
        "unit_name": frame["unit_name"].to_numpy(dtype=object, na_value=None),
        "parent_id": frame["parent_id"].to_numpy(dtype=object, na_value=None),
        "commander": np.array([commanders.get(u) for u in ids], dtype=object),
    }


def _notes(c: cubes.Cube, windows: dict[str, win.WindowSet], groups: list[Group]) -> list[dict]:
    notes = []
    for kind, ws in windows.items():
        for period, window in ws.periods().items():
            for g, reason in zip(groups, coverage(c, window, groups), strict=True):
                if reason:
                    notes.append(
                        {
                            "code": reason,
                            "window": kind,
                            "period": period,
                            "group": g.code,
                            "start": window.start,
                            "end": window.end,
                        }
                    )
        current = {s.code for s in c.sources_in(ws.current.start, ws.current.end)}
        for period in ("year_ago", "two_years_ago"):
            window = ws.periods()[period]
            other = {s.code for s in c.sources_in(window.start, window.end)}
            if current and other and current != other:
                notes.append(
                    {
                        "code": "cross_source",
                        "window": kind,
                        "period": period,
                        "sources": sorted(current),
                        "compared_with": sorted(other),
                        "start": window.start,
                        "end": window.end,
                    }
                )
    return notes


def accountability(
    conn: Connection, q: AccountabilityQuery, commanders: CommanderLookup = roster.commander_labels
) -> Accountability:
    """Return the weekly table for ``q``, computed once per data version (read-only).

    Raises
    ------
    NotFoundError
        The vintage or parent unit is not loaded.
    InvalidQueryError
        Unknown group, level or basis, or a parent that is not above the level.
    """
    key = ("accountability", q, commanders)
    return cubes.cached_table(conn, key, lambda: compute_accountability(conn, q, commanders))


def compute_accountability(
    conn: Connection, q: AccountabilityQuery, commanders: CommanderLookup = roster.commander_labels
) -> Accountability:
    """Compute the weekly table for ``q`` (see :class:`Accountability`), uncached.

    Raises
    ------
    NotFoundError
        The vintage or parent unit is not loaded.
    InvalidQueryError
        Unknown group, level or basis, or a parent that is not above the level.
    """
    groups = resolve_groups(q.groups)
    c = cubes.cube(conn, q.vintage)
    q = replace(q, as_of=q.as_of or default_as_of(c), groups=tuple(g.code for g in groups))
    windows = win.standard_windows(q.as_of)
    frame = shown_units(c, q)
    lookup = slot_lookup(c, frame, q.level, outside=q.parent is None)
    matrix = group_matrix(c, groups)
    slots = len(frame) + 1
    counted = {}
    for kind, ws in windows.items():
        counts = {
            p: window_counts(c, q.basis, w, lookup, slots, matrix) for p, w in ws.periods().items()
        }
        missing = {p: coverage(c, w, groups) for p, w in ws.periods().items()}
        counted[kind] = (counts, {**missing, "window": ws.current})
    names, fictitious = commanders(conn, q.vintage, q.level, q.as_of)
    outside = pd.DataFrame(
        [
            {
                "unit_id": cubes.OUTSIDE_ID,
                "unit_name": cubes.OUTSIDE_NAME,
                "parent_id": None,
                "population": np.nan,
            }
        ]
    )
    with_outside = pd.concat([frame, outside], ignore_index=True)
    ranked = np.r_[np.ones(len(frame), bool), False]
    table = _table(q, with_outside, counted, groups, names, ranked)
    table = _drop_empty_outside(table)
    totals = _totals(q, c, counted, groups)
    return Accountability(
        query=q,
        windows=windows,
        rows=table,
        totals=totals,
        breadcrumb=breadcrumb(c, q.parent),
        sources=_sources(c, windows),
        notes=_notes(c, windows, groups),
        census=CENSUS.get(q.vintage),
        roster_fictitious=fictitious,
    )


def _drop_empty_outside(table: pd.DataFrame) -> pd.DataFrame:
    """Keep FUERA's rows of a group only when some period of it counted an incident."""
    outside = table["unit_id"].to_numpy() == cubes.OUTSIDE_ID
    periods = table[["current", "year_ago", "two_year_ago"]].to_numpy()[outside]
    counted = np.array([any(v for v in row if v is not None) for row in periods], dtype=bool)
    groups = table["group"].to_numpy()
    nonzero = set(groups[outside][counted])
    keep = ~outside | np.isin(groups, list(nonzero))
    return table.loc[keep].reset_index(drop=True)


def _totals(q, c: cubes.Cube, counted: dict, groups: list[Group]) -> pd.DataFrame:
    """Return the sum of the shown rows (FUERA included) per group and window."""
    if q.parent is None:
        unit_id, name, population = cubes.CITY_ID, cubes.CITY_NAME, _city_population(c, q.level)
    else:
        level, name = cubes.find_unit(c, q.parent)
        unit_id = q.parent
        population = float(cubes.units(c, level).set_index("unit_id").at[q.parent, "population"])
    summed = {
        kind: ({p: v.sum(axis=0, keepdims=True) for p, v in counts.items()}, missing)
        for kind, (counts, missing) in counted.items()
    }
    frame = pd.DataFrame(
        [{"unit_id": unit_id, "unit_name": name, "parent_id": None, "population": population}]
    )
    return _table(q, frame, summed, groups, {}, np.zeros(1, bool))


def _city_population(c: cubes.Cube, level: str) -> float:
    return float(cubes.units(c, "zone")["population"].sum())


def _sources(c: cubes.Cube, windows: dict[str, win.WindowSet]) -> list[dict]:
    used = {}
    for ws in windows.values():
        for w in ws.periods().values():
            for span in c.sources_in(w.start, w.end):
                used[span.code] = {
                    "code": span.code,
                    "name": span.name,
                    "first": span.first,
                    "last": span.last,
                }
    return list(used.values())
