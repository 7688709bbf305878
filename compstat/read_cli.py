"""Read-side commands: the weekly accountability table and a unit's trend.

Their outputs are contracts scripts rely on (see the README): long form, one row per
unit x group x window for ``accountability``, one per unit x period for ``trends``.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click

from compstat import db, exports
from compstat.errors import OutputFileError
from compstat.queries import accountability as acc
from compstat.queries import trends as trends_query

FORMATS = exports.TABLE_FORMATS


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def write_output(data: bytes, output: str | None) -> None:
    """Write ``data`` to the file ``output`` (its folder must exist) or to standard output."""
    if output is None:
        sys.stdout.buffer.write(data)
        return
    target = Path(output)
    if not target.parent.is_dir():
        raise OutputFileError(f"{output}: the folder {target.parent} does not exist")
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise OutputFileError(f"{output}: cannot write: {exc.strerror}") from exc


@click.command("accountability")
@click.option("--level", type=click.Choice(acc.LEVELS), default="sector")
@click.option("--vintage", required=True)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Last day of the windows (default: the last Sunday of the loaded data).",
)
@click.option("--group", "groups", multiple=True, help="Group or category code (repeatable).")
@click.option("--parent", help="Only the units under this unit id.")
@click.option("--assignment", "basis", type=click.Choice(acc.BASES), default="recorded")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File (default stdout).")
def accountability(level, vintage, as_of, groups, parent, basis, fmt, output) -> None:
    """Print the weekly CompStat table in long form: one row per unit x group x window."""
    query = acc.AccountabilityQuery(vintage, level, _day(as_of), tuple(groups), basis, parent)
    with db.transaction(db.engine()) as conn:
        result = acc.accountability(conn, query)
    meta = {
        "table": "compstat_semanal",
        "vintage": vintage,
        "level": level,
        "as_of": result.query.as_of,
        "groups": list(result.query.groups),
        "assignment": basis,
        "parent": parent,
        "roster_fictitious": result.roster_fictitious,
    }
    write_output(exports.export(result.rows, fmt, meta), output)


@click.command("trends")
@click.option("--vintage", required=True)
@click.option("--unit", "units", multiple=True, required=True, help="Unit id (repeatable).")
@click.option("--group", default="alto_impacto", show_default=True)
@click.option("--period", type=click.Choice(trends_query.PERIODS), default="week")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--assignment", "basis", type=click.Choice(acc.BASES), default="recorded")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File (default stdout).")
def trends(vintage, units, group, period, start, end, basis, fmt, output) -> None:
    """Print weekly or monthly counts of units for one group, with the year-ago values."""
    query = trends_query.TrendQuery(
        vintage, tuple(units), group, period, _day(start), _day(end), basis
    )
    with db.transaction(db.engine()) as conn:
        frame = trends_query.trend(conn, query)
    meta = {
        "table": "tendencias",
        "vintage": vintage,
        "units": list(units),
        "group": group,
        "period": period,
        "assignment": basis,
    }
    write_output(exports.export(frame, fmt, meta), output)
