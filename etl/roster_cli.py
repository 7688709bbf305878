"""The ``compstat commanders`` command group: load, list and invent commander rosters."""

from __future__ import annotations

import json

import click

from compstat import db
from compstat.queries import roster as roster_query
from etl import roster_demo
from etl.roster import load_roster


@click.group()
def commanders() -> None:
    """Commander roster: who is in charge of each unit."""


@commanders.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--fictitious", is_flag=True, help="The roster is invented (the demo roster).")
@click.option("--vintage", help="Vintage of rows without one (default: the newest loaded).")
def commanders_load(path: str, fictitious: bool, vintage: str | None) -> None:
    """Replace the roster of every vintage named in the CSV at PATH."""
    summary = load_roster(db.engine(), path, fictitious, vintage)
    mark = " (fictitious)" if fictitious else ""
    for name, counts in summary.items():
        click.echo(
            f"vintage {name}: {counts['terms']:,} terms over {counts['units']:,} units{mark}"
        )


@commanders.command("list")
@click.option("--vintage", help="Only this vintage.")
@click.option("--at", "day", type=click.DateTime(["%Y-%m-%d"]), help="Only terms covering day.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
def commanders_list(vintage: str | None, day, fmt: str) -> None:
    """Print the roster (one row per term), optionally of one vintage and day."""
    with db.transaction(db.engine()) as conn:
        frame = roster_query.roster(conn, vintage, day.date() if day else None)
    if fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    else:
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        click.echo(json.dumps(records, ensure_ascii=False, indent=2, default=str))


@commanders.command("demo")
@click.option("--vintage", required=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File (default stdout).")
@click.option("--seed", type=int, default=1, show_default=True)
def commanders_demo(vintage: str, output: str | None, seed: int) -> None:
    """Write an invented roster for every unit of VINTAGE (load it with --fictitious)."""
    with db.transaction(db.engine()) as conn:
        units = roster_demo.vintage_units(conn, vintage)
        period = roster_demo.data_period(conn)
    content = roster_demo.to_csv(roster_demo.demo_roster(vintage, units, period, seed))
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(content)
    else:
        click.echo(content, nl=False)
