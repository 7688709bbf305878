"""Command groups for loading data and exporting counts (plugged into ``compstat``)."""

from __future__ import annotations

import json
import sys
from datetime import date

import click

from compstat import db, exports
from compstat.queries import counts as counts_query
from compstat.queries import territory as territory_query
from etl.incidents import load_incidents
from etl.reconcile import reconcile
from etl.territory import load_territory

FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group()
def territory() -> None:
    """Territory vintages: load and inspect."""


@territory.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--vintage", required=True, help="Vintage name, e.g. 2016 or 2023.")
@click.option("--population", type=click.Path(dir_okay=False),
              help="Layer with SUMPOB1 by Nomenclatu, when PATH has no population.")  # fmt: skip
@FORMAT
def territory_load(path: str, vintage: str, population: str | None, fmt: str) -> None:
    """Load quadrant polygons from PATH as vintage VINTAGE."""
    result = load_territory(db.engine(), path, vintage, population)
    if fmt == "json":
        _echo_json(result)
        return
    counts = result["counts"]
    click.echo(f"vintage {vintage}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    for key, value in result["report"].items():
        click.echo(f"  {key}: {value}")
    if result.get("already_loaded"):
        click.echo("  (already loaded from this file: nothing changed)")


@territory.command("show")
@click.option("--vintage", required=True)
@FORMAT
def territory_show(vintage: str, fmt: str) -> None:
    """Print the number of units per level of a vintage."""
    with db.transaction(db.engine()) as conn:
        counts = territory_query.level_counts(conn, vintage)
    if fmt == "json":
        _echo_json(counts)
    else:
        click.echo("\n".join(f"{k}: {n}" for k, n in counts.items()))


@click.group()
def incidents() -> None:
    """Incident files: load and reconcile."""


def _progress_bar(label: str):
    if not sys.stderr.isatty():
        return None
    state = {"last": 0}

    def report(rows: int) -> None:
        if rows - state["last"] >= 50_000:
            click.echo(f"\r{label}: {rows:,} rows read", err=True, nl=False)
            state["last"] = rows

    return report


@incidents.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--source", type=click.Choice(["ssp", "fgj"]), required=True)
@FORMAT
def incidents_load(path: str, source: str, fmt: str) -> None:
    """Load incident points from PATH (.csv, .csv.gz or .zip)."""
    summary = load_incidents(db.engine(), path, source, _progress_bar(source))
    if sys.stderr.isatty():
        click.echo("", err=True)
    data = summary.as_json()
    if fmt == "json":
        _echo_json(data)
        return
    click.echo(f"read {data['read']:,}  loaded {data['loaded']:,}  "
               f"duplicates {data['duplicates']:,}  "
               f"quarantined {sum(data['quarantined'].values()):,}")  # fmt: skip
    for reason, n in data["quarantined"].items():
        click.echo(f"  quarantined {reason}: {n:,}")
    for offence, n in data["unknown_offences"].items():
        click.echo(f"  unknown offence (loaded as 'otros'): {offence!r}: {n:,}")
    for note in data["notes"]:
        click.echo(f"  note: {note}")


@incidents.command("reconcile")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json"]), default="text")
def incidents_reconcile(path: str, fmt: str) -> None:
    """Compare the official SSP monthly spreadsheet at PATH with the loaded SSP points."""
    with db.transaction(db.engine()) as conn:
        by_quadrant, by_year = reconcile(conn, path)
    if fmt == "csv":
        click.echo(by_quadrant.to_csv(index=False), nl=False)
    elif fmt == "json":
        _echo_json({"by_year": by_year.to_dict("records"),
                    "by_quadrant": by_quadrant.to_dict("records")})  # fmt: skip
    else:
        click.echo(by_year.to_string(index=False))
        off = by_quadrant[by_quadrant["difference"] != 0]
        click.echo(f"{len(off):,} of {len(by_quadrant):,} quadrant-months differ")


@click.command("counts")
@click.option("--level", type=click.Choice(counts_query.LEVELS), default="quadrant")
@click.option("--vintage", required=True)
@click.option("--period", type=click.Choice(counts_query.PERIODS), default="month")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--category", "categories", multiple=True, help="Canonical category code.")
@click.option("--assignment", "basis", type=click.Choice(counts_query.BASES), default="recorded")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(exports.TABLE_FORMATS),
    default="csv",
    help="Any format of the export registry (compstat.exports).",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File (default stdout).")
def counts(level, vintage, period, start, end, categories, basis, fmt, output) -> None:
    """Print incident counts rolled up by LEVEL and PERIOD, in long form."""
    query = counts_query.CountsQuery(
        vintage, level, period, _day(start), _day(end), tuple(categories), basis
    )
    with db.transaction(db.engine()) as conn:
        frame = counts_query.counts(conn, query)
    meta = {
        "table": "conteos",
        "vintage": vintage,
        "level": level,
        "period": period,
        "from": query.start,
        "to": query.end,
        "categories": list(categories),
        "assignment": basis,
    }
    _write_bytes(exports.export(frame, fmt, meta), output)


def _day(value) -> date | None:
    return value.date() if value else None


def _write_bytes(body: bytes, output: str | None) -> None:
    if output:
        with open(output, "wb") as handle:
            handle.write(body)
    else:
        sys.stdout.buffer.write(body)
