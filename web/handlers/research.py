"""The researcher page (``/investigacion``) and its download, without Flask.

Aggregates only: one row per sector or quadrant (the covariate export of
:mod:`compstat.queries.covariates`), the moderator's class of each unit and its
stability under Poisson resampling. Downloads are the CLI's own files
(:func:`compstat.covariates_cli.snapshot`), zipped with their manifests.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from compstat import covariates_cli, exports, snapshots
from compstat.errors import InvalidQueryError, NotFoundError
from compstat.presets import DEFAULT_PRESET, Preset, preset, presets
from compstat.queries import covariates as cq
from compstat.queries import hotspots
from compstat.stats import moderator, simulate
from compstat.stats.covariates import window_start
from web.handlers.args import choice, date_arg, list_arg, resolve_vintage, text_arg

#: Poisson resamples behind each unit's higher-class probability, and their seed
#: (the seed of ``compstat moderator sensitivity``).
DRAWS = 500
SEED = 20161
#: Units whose higher-class probability lies inside this band are uncertain.
NEAR_BAND = covariates_cli.NEAR_BAND
#: The seed and size of the illustrative study list (as ``compstat trial demo``).
ILLUSTRATIVE_SEED = 20161
ILLUSTRATIVE_SIZE = 60
#: Formats of the download (every format the covariate export writes).
FORMATS = snapshots.FORMATS
#: Most units a pasted list may hold (the 2016 vintage has 847 quadrants).
MAX_UNITS = 2000


@dataclass(frozen=True)
class ResearchQuery:
    """What the researcher asks for; None fields take the page's defaults."""

    vintage: str | None = None
    level: str = "sector"
    start: date | None = None
    end: date | None = None
    preset: str = DEFAULT_PRESET
    basis: str = "recorded"
    units: tuple[str, ...] = ()
    illustrative: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ResearchQuery:
        """Parse the page's query arguments (a bad one raises InvalidQueryError naming it)."""
        units = tuple(u for item in list_arg(args, "units") for u in item.split())
        if len(units) > MAX_UNITS:
            raise InvalidQueryError(f"units: at most {MAX_UNITS} units, not {len(units)}")
        return cls(
            vintage=text_arg(args, "vintage"),
            level=choice(args, "level", cq.LEVELS, "sector"),
            start=date_arg(args, "from"),
            end=date_arg(args, "to"),
            preset=choice(args, "preset", tuple(presets()), DEFAULT_PRESET),
            basis=choice(args, "basis", cq.BASES, "recorded"),
            units=units,
            illustrative=text_arg(args, "illustrative") in ("1", "true", "on"),
        )

    def arguments(self) -> dict[str, str]:
        """Return the query as URL arguments (for the download links and the audit)."""
        args = {
            "vintage": self.vintage,
            "level": self.level,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "preset": self.preset,
            "basis": self.basis,
            "units": ",".join(self.units) or None,
            "illustrative": "1" if self.illustrative else None,
        }
        return {k: v for k, v in args.items() if v}


@dataclass
class ResearchPage:
    """What the researcher page shows."""

    query: ResearchQuery
    vintages: list[str]
    presets: list[Preset]
    request: cq.CovariateRequest | None = None
    error: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    features: list[dict[str, Any]] = field(default_factory=list)
    uncertain: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    n_members: int = 0
    n_higher: int = 0
    listed_units: tuple[str, ...] = ()


@dataclass(frozen=True)
class Download:
    """A zip holding the export ``FILE`` and ``FILE.manifest.json``."""

    name: str
    body: bytes
    manifest: dict[str, Any]

    def __len__(self) -> int:
        return int(self.manifest["rows"])


def illustrative_units(conn: Connection, request: cq.CovariateRequest) -> tuple[str, ...]:
    """Return the ILLUSTRATIVE study list: 60 sectors drawn within zones (seed 20161).

    As ``compstat trial demo`` draws it from a covariate export: only among the sectors
    the moderator can classify (``in_comparison``), so the list never holds a sector
    without residents.
    """
    frame = cq.compute(conn, request.replace(units=None)).frame
    sectors = frame.loc[frame["in_comparison"] == 1, ["unit_id", "zone"]]
    size = min(ILLUSTRATIVE_SIZE, len(sectors) // 2 * 2)
    drawn = simulate.illustrative_assignment(sectors, n_study=size, seed=ILLUSTRATIVE_SEED)
    return tuple(drawn["sector"])


def default_end(conn: Connection) -> date:
    """Return the last day the loaded incidents cover (the default end of the window)."""
    days = [run["last_day"] for run in cq.load_runs(conn, None) if run["last_day"]]
    if not days:
        raise NotFoundError("no incidents are loaded")
    return max(days)


def covariate_request(conn: Connection, q: ResearchQuery) -> cq.CovariateRequest:
    """Return the covariate request of the page's query, with its defaults filled in."""
    chosen = preset(q.preset)
    end = q.end or default_end(conn)
    start = q.start or window_start(end, chosen.months)
    request = cq.CovariateRequest(
        vintage=q.vintage or "",
        level=q.level,
        start=start,
        end=end,
        units=q.units or None,
        preset=chosen,
        basis=q.basis,
    )
    if q.units or not q.illustrative:
        return request
    if q.level != "sector":
        raise InvalidQueryError("illustrative: the illustrative list holds sectors")
    return request.replace(units=illustrative_units(conn, request))


def _with_vintage(conn: Connection, q: ResearchQuery) -> tuple[ResearchQuery, list[str]]:
    vintage, names = resolve_vintage(conn, q.vintage)
    names = [n for n in names if n in cq.CENSUS]
    if vintage not in cq.CENSUS:
        raise NotFoundError(f"vintage {vintage!r} has no census populations")
    return dataclasses.replace(q, vintage=vintage), names


def _class_name(value: Any) -> str:
    if value is None or value is pd.NA:
        return "outside"
    return "higher" if int(value) == 1 else "lower"


def _number(value: Any) -> float | None:
    value = exports.jsonable(value)
    return None if value is None else float(value)


def research_page(conn: Connection, q: ResearchQuery) -> ResearchPage:
    """Return the page: the moderator map, the uncertain units and the covariate table.

    A window the data do not cover, an unknown unit or the like is shown on the
    page (``error``) with the form, so the researcher can correct it.
    """
    q, names = _with_vintage(conn, q)
    page = ResearchPage(q, names, list(presets().values()))
    try:
        request = covariate_request(conn, q)
        result = cq.compute(conn, request)
    except (InvalidQueryError, NotFoundError) as exc:
        page.error = str(exc)
        return page
    page.request = request
    page.listed_units = request.units or ()
    frame = result.frame
    probability = cq.higher_class_probability(result, DRAWS, SEED)
    members = result.inputs["members"]
    near = np.zeros(len(frame), dtype=bool)
    near[members] = moderator.near_cutoff(probability[members], NEAR_BAND)
    shapes = hotspots.simplified_shapes(conn, request.vintage, request.level)
    group = request.preset.group
    for i, row in enumerate(frame.to_dict("records")):
        unit = {
            "unit_id": row["unit_id"],
            "unit_name": row.get("unit_name") or "",
            "population": exports.jsonable(row["population"]),
            "count": exports.jsonable(row[f"{group}_count"]),
            "rate": _number(row[f"{group}_rate"]),
            "moderator_value": _number(row["moderator_value"]),
            "class": _class_name(row["higher_crime"]),
            "probability": _number(probability[i]),
            "uncertain": bool(near[i]),
        }
        page.rows.append(unit)
        if unit["uncertain"]:
            page.uncertain.append(unit)
        if row["unit_id"] in shapes:
            page.features.append(
                {"type": "Feature", "geometry": shapes[row["unit_id"]], "properties": unit}
            )
    page.notes = result.notes
    page.n_members = int(members.sum())
    page.n_higher = int(np.nansum(frame["higher_crime"].to_numpy(dtype=float, na_value=np.nan)))
    return page


def download_name(request: cq.CovariateRequest, fmt: str) -> str:
    """Return the export's file name: what it holds (vintage, level, window, preset)."""
    return exports.file_name(
        "covariables",
        request.vintage,
        request.level,
        request.start,
        request.end,
        request.preset.name,
        extension=fmt,
    )


def _zip(members: dict[str, bytes]) -> bytes:
    """Return a zip of ``members`` with fixed times, so the same files give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def research_download(conn: Connection, q: ResearchQuery, fmt: str) -> Download:
    """Return the export in ``fmt`` with its manifest, zipped (the CLI's very bytes)."""
    if fmt not in FORMATS:
        raise InvalidQueryError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    q, _ = _with_vintage(conn, q)
    request = covariate_request(conn, q)
    name = download_name(request, fmt)
    data, frozen = covariates_cli.snapshot(conn, request, fmt, name)
    members = {name: data, snapshots.manifest_path(name).name: snapshots.manifest_text(frozen)}
    body = _zip({k: v if isinstance(v, bytes) else v.encode() for k, v in members.items()})
    return Download(name.rsplit(".", 1)[0] + f"_{fmt}.zip", body, frozen)
