"""Command groups for loading data and exporting counts (plugged into ``compstat``)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from compstat import db, exports, taxonomy
from compstat.errors import CompstatError, InputFileError, OutputFileError
from compstat.queries import counts as counts_query
from compstat.queries import territory as territory_query
from etl.incidents import load_incidents
from etl.reconcile import Reconciliation, reconcile_report
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
@click.option(
    "--population",
    type=click.Path(dir_okay=False),
    help="Layer with SUMPOB1 by Nomenclatu, when PATH has no population.",
)
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
@click.option("--encoding", help="The file's text encoding (default: detected; e.g. cp1252).")
@click.option(
    "--accept-partial",
    is_flag=True,
    help="Load what a truncated compressed file holds; the run is marked partial.",
)
@click.option(
    "--taxonomy-extra",
    "extra",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Extra taxonomy CSV (offence or official-category rows); repeatable.",
)
@click.option(
    "--supersedes",
    is_flag=True,
    help="PATH is a cumulative release: it replaces earlier ones for the days it covers.",
)
@FORMAT
def incidents_load(
    path: str,
    source: str,
    encoding: str | None,
    accept_partial: bool,
    extra: tuple[str, ...],
    supersedes: bool,
    fmt: str,
) -> None:
    """Load incident points from PATH (.csv, .csv.gz or .zip)."""
    try:
        summary = _load_with_extra(path, source, encoding, accept_partial, extra, supersedes)
    except CompstatError:
        raise
    except Exception as exc:  # never a traceback: one line naming the file, exit status 1
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputFileError(f"{path}: {reason}") from exc
    if sys.stderr.isatty():
        click.echo("", err=True)
    data = summary.as_json()
    if fmt == "json":
        _echo_json(data)
        return
    click.echo(
        f"read {data['read']:,}  loaded {data['loaded']:,}  "
        f"duplicates {data['duplicates']:,}  "
        f"quarantined {sum(data['quarantined'].values()):,}"
        + ("  (partial file)" if data["partial"] else "")
    )
    if supersedes:
        click.echo(f"retired {data['retired']:,}")
    for reason, n in data["quarantined"].items():
        click.echo(f"  quarantined {reason}: {n:,}")
    for offence, n in data["unknown_offences"].items():
        click.echo(f"  unknown offence (loaded as 'otros'): {offence!r}: {n:,}")
    for note in data["notes"]:
        click.echo(f"  note: {note}")


def _load_with_extra(
    path: str,
    source: str,
    encoding: str | None,
    accept_partial: bool,
    extra: tuple[str, ...],
    supersedes: bool = False,
):
    """Load with the extra taxonomy files in use, then drop them again."""
    taxonomy.set_extra(extra)
    try:
        try:
            taxonomy.offence_map()  # a broken extra file fails here, before the load starts
            taxonomy.official_categories()
        except ValueError as exc:
            raise InputFileError(str(exc)) from exc
        return load_incidents(
            db.engine(),
            path,
            source,
            _progress_bar(source),
            encoding=encoding,
            accept_partial=accept_partial,
            supersedes=supersedes,
        )
    finally:
        taxonomy.set_extra(())


@incidents.command("reconcile")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json"]), default="text")
def incidents_reconcile(path: str, fmt: str) -> None:
    """Compare the official SSP monthly spreadsheet at PATH with the loaded SSP points.

    Months the reply covers only in part (it was drawn up before they ended) are flagged
    ``partial``: their official counts are short by construction.
    """
    with db.transaction(db.engine()) as conn:
        report = reconcile_report(conn, path)
    by_quadrant = report.by_quadrant
    if fmt == "csv":
        click.echo(by_quadrant.to_csv(index=False), nl=False)
    elif fmt == "json":
        _echo_json(
            {
                "extracted": report.extracted,
                "partial_months": report.partial_months,
                "by_year": report.by_year.to_dict("records"),
                "by_month": report.by_month.to_dict("records"),
                "by_quadrant": by_quadrant.to_dict("records"),
            }
        )
    else:
        _echo_reconciliation(report)


def _echo_reconciliation(report: Reconciliation) -> None:
    click.echo(report.by_year.to_string(index=False))
    drawn_up = report.extracted or "on a day it does not say"
    for month in report.partial_months:
        click.echo(f"{month}: partial, the reply (drawn up {drawn_up}) covers it only in part")
    by_quadrant = report.by_quadrant
    off = by_quadrant[by_quadrant["difference"] != 0]
    in_partial = int(off["partial"].sum())
    click.echo(
        f"{len(off):,} of {len(by_quadrant):,} quadrant-months differ "
        f"({in_partial:,} of them in partial months)"
    )


@click.command("counts")
@click.option("--level", type=click.Choice(counts_query.LEVELS), default="quadrant")
@click.option("--vintage", required=True)
@click.option("--period", type=click.Choice(counts_query.PERIODS), default="month")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]))
@click.option(
    "--category",
    "categories",
    multiple=True,
    help="Category or group code (e.g. alto_impacto); repeatable. Default: every category.",
)
@click.option("--assignment", "basis", type=click.Choice(counts_query.BASES), default="recorded")
@click.option("--zeros", is_flag=True, help="One row per unit x period x category, zeros too.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(exports.TABLE_FORMATS),
    default="csv",
    help="Any format of the export registry (compstat.exports).",
)
@click.option("--output", "-o", help="File (default stdout); its directory must exist.")
@click.option(
    "--as-of-run",
    "as_of_run",
    type=click.IntRange(min=1),
    help="Count what was known after load run N, from the raw incidents (slower).",
)
def counts(level, vintage, period, start, end, categories, basis, zeros, fmt, output, as_of_run):
    """Print incident counts rolled up by LEVEL and PERIOD, in long form."""
    query = counts_query.CountsQuery(
        vintage,
        level,
        period,
        _day(start),
        _day(end),
        tuple(categories),
        basis,
        zeros=zeros,
        as_of_run=as_of_run,
    )
    if output:
        _check_output(output)
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


def _check_output(output: str) -> None:
    """Refuse an output path that cannot be written, before any query runs."""
    path = Path(output)
    if path.is_dir():
        raise OutputFileError(f"{output}: is a directory, not a file")
    if not path.parent.is_dir():
        raise OutputFileError(f"{output}: directory {str(path.parent)!r} does not exist")


def _write_bytes(body: bytes, output: str | None) -> None:
    if not output:
        sys.stdout.buffer.write(body)
        return
    try:
        Path(output).write_bytes(body)
    except OSError as exc:
        raise OutputFileError(f"{output}: cannot write: {exc.strerror}") from exc
