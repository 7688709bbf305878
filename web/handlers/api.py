"""What the API v1 endpoints return, without Flask: parsed parameters in, JSON-ready data out.

Each function takes a connection (inside the request's audited transaction) and
the parsed parameters of its endpoint (:mod:`web.api.v1`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from compstat import covariates_cli, exports, presets
from compstat.errors import InvalidQueryError
from compstat.queries import accountability as acc
from compstat.queries import covariates as cq
from compstat.queries import incidents as incidents_query
from compstat.queries import territory, units
from compstat.queries import trends as trends_query
from compstat.queries.counts import CountsQuery
from compstat.queries.counts import counts as counts_frame


def _page(items: list[Any], total: int, args: Mapping[str, Any], **meta: Any) -> dict[str, Any]:
    pages = max(1, -(-total // args["per_page"]))
    following = args["page"] + 1 if args["page"] < pages else None
    pagination = {
        "page": args["page"],
        "per_page": args["per_page"],
        "total": total,
        "pages": pages,
        "next_page": following,
    }
    return {**meta, "data": items, "pagination": pagination}


def _slice(rows: list[Any], args: Mapping[str, Any]) -> list[Any]:
    start = (args["page"] - 1) * args["per_page"]
    return rows[start : start + args["per_page"]]


def vintages(conn: Connection, args: Mapping[str, Any]) -> dict[str, Any]:
    """Return the loaded vintages with their units per level."""
    rows = [
        {
            "name": r["name"],
            "source_file": r["source_file"],
            "loaded_at": r["loaded_at"],
            **territory.level_counts(conn, r["name"]),
        }
        for r in territory.vintages(conn)
    ]
    return {"data": rows}


def unit_list(conn: Connection, args: Mapping[str, Any], tolerance: float) -> dict[str, Any]:
    """Return a page of the units of one level (geometry as GeoJSON text when asked)."""
    rows = units.units(
        conn, args["vintage"], args["level"], geometry=args["geometry"], tolerance=tolerance
    )
    return _page(_slice(rows, args), len(rows), args, vintage=args["vintage"], level=args["level"])


def unit(conn: Connection, args: Mapping[str, Any], tolerance: float) -> dict[str, Any]:
    """Return one unit by code (404 when the vintage has no such unit)."""
    found = units.find_unit(
        conn, args["vintage"], args["code"], geometry=args["geometry"], tolerance=tolerance
    )
    return {"vintage": args["vintage"], "data": [found]}


def counts_query(args: Mapping[str, Any]) -> CountsQuery:
    """Return the counts query of the API parameters (those of ``compstat counts``)."""
    return CountsQuery(
        args["vintage"],
        args["level"],
        args["period"],
        args["from"],
        args["to"],
        tuple(args["category"]),
        args["assignment"],
    )


def counts(conn: Connection, args: Mapping[str, Any]) -> dict[str, Any] | pd.DataFrame:
    """Return a page of counts in long form, or every row when a file format is asked."""
    frame = counts_frame(conn, counts_query(args))
    if args["format"] != "json":
        return frame
    rows = frame.to_dict("records")
    meta = {k: args[k] for k in ("vintage", "level", "period", "from", "to", "assignment")}
    return _page(_slice(rows, args), len(rows), args, **meta, columns=list(frame.columns))


def incidents(conn: Connection, args: Mapping[str, Any]) -> dict[str, Any]:
    """Return a page of incident points (exact place and time)."""
    q = incidents_query.IncidentsQuery(
        args["vintage"],
        args["unit"],
        args["from"],
        args["to"],
        tuple(args["category"]),
        limit=args["per_page"],
        offset=(args["page"] - 1) * args["per_page"],
    )
    found = incidents_query.incidents(conn, q)
    meta = {k: args[k] for k in ("vintage", "unit", "from", "to")}
    return _page(found.items, found.total, args, **meta, columns=list(incidents_query.COLUMNS))


def _rows_page(frame: pd.DataFrame, args: Mapping[str, Any], meta: dict[str, Any]) -> dict:
    """Return a page of ``frame``'s rows as the export registry's JSON writes them."""
    rows = exports.jsonable(frame.to_dict("records"))
    return _page(_slice(rows, args), len(rows), args, **meta, columns=list(frame.columns))


def accountability(conn: Connection, args: Mapping[str, Any]) -> dict[str, Any]:
    """Return a page of the rows of ``compstat accountability`` (one per unit x group x window)."""
    query = acc.AccountabilityQuery(
        args["vintage"],
        args["level"],
        args["as_of"],
        tuple(args["group"]),
        args["assignment"],
        args["parent"],
    )
    result = acc.accountability(conn, query)
    meta = {
        "table": "compstat_semanal",
        "vintage": args["vintage"],
        "level": args["level"],
        "as_of": result.query.as_of,
        "groups": list(result.query.groups),
        "assignment": args["assignment"],
        "parent": args["parent"],
        "roster_fictitious": result.roster_fictitious,
    }
    return _rows_page(result.rows, args, exports.jsonable(meta))


def trends(conn: Connection, args: Mapping[str, Any]) -> dict[str, Any]:
    """Return a page of the rows of ``compstat trends`` (one per unit x period)."""
    if not args["unit"]:
        raise InvalidQueryError("parameter 'unit' is required (repeat it for several units)")
    query = trends_query.TrendQuery(
        args["vintage"],
        tuple(args["unit"]),
        args["group"],
        args["period"],
        args["from"],
        args["to"],
        args["assignment"],
    )
    frame = trends_query.trend(conn, query)
    meta = {
        "table": "tendencias",
        "vintage": args["vintage"],
        "units": list(args["unit"]),
        "group": args["group"],
        "period": args["period"],
        "assignment": args["assignment"],
    }
    return _rows_page(frame, args, meta)


def covariates(conn: Connection, args: Mapping[str, Any]) -> dict[str, Any]:
    """Return a page of the rows of ``compstat covariates`` and what produced them.

    ``metadata`` is the export's manifest without a file: parameters, preset and
    version, vintage, census, load runs (with their files' SHA-256), windows, notes,
    code version and row count; its ``command`` writes the same rows as CSV.
    """
    request = cq.CovariateRequest(
        vintage=args["vintage"],
        level=args["level"],
        start=args["from"],
        end=args["to"],
        units=tuple(args["unit"]) or None,
        preset=presets.preset(args["preset"]),
        basis=args["assignment"],
        census=args["census"],
    )
    result = cq.compute(conn, request)
    metadata = covariates_cli.manifest(result, "csv", None)
    metadata["parameters"] = {
        k: v for k, v in metadata["parameters"].items() if k not in ("format", "units_file")
    }
    return _rows_page(result.frame, args, {"metadata": exports.jsonable(metadata)})
