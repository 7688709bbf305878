"""``compstat etl run``: the weekly refresh of every configured source."""

from __future__ import annotations

import json
import sys

import click
import pandas as pd

from compstat import db
from etl.jobs import failures, read_config, run_sources


@click.group()
def etl() -> None:
    """Scheduled loads."""


@etl.command("run")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="TOML file of [[source]] tables (see sources.example.toml).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def run(config_path: str, fmt: str) -> None:
    """Load every source CONFIG lists, skipping files already loaded; one summary table.

    Exit status 0 when every file loaded or was skipped (quarantined rows are fine),
    1 with a one-line error when any failed (the others still load).
    """
    configs = read_config(config_path)
    results = run_sources(db.engine(), configs)
    rows = [r.row() for r in results]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(_table(rows))
    failed = failures(results)
    if failed:
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        click.echo(f"error: {first.name}: {first.error}{more}", err=True)
        sys.exit(1)


_COUNTS = ("read", "loaded", "duplicates", "quarantined", "retired")


def _table(rows: list[dict]) -> str:
    """Return the summary as aligned text, ``-`` where a file stored nothing."""
    shown = [
        {k: "-" if v is None else f"{v:,}" if k in _COUNTS else v for k, v in r.items()}
        for r in rows
    ]
    return pd.DataFrame(shown).drop(columns=["error"]).to_string(index=False)
