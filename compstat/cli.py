"""The ``compstat`` console script.

The core defines the root group and ``db``; the ``etl`` and ``web`` command groups
are plugged in through the ``compstat.commands`` entry points declared in
``pyproject.toml``, so this module never imports the layers above it.
"""

from __future__ import annotations

import logging
import sys
from importlib.metadata import entry_points

import click

from compstat import db, embedded
from compstat.errors import CompstatError


class CompstatGroup(click.Group):
    """Root group that reports every error as one line on stderr.

    Domain errors exit with status 1, usage errors (an unknown option or a value not
    allowed) with status 2, as click does, but without the usage text.
    """

    def invoke(self, ctx: click.Context):
        """Run the command, reporting errors without a traceback or usage text."""
        try:
            return super().invoke(ctx)
        except CompstatError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except click.UsageError as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=CompstatGroup)
def root() -> None:
    """CompStat for Mexico City's sectoral police."""


@root.group(name="db")
def db_group() -> None:
    """Database set-up."""


@db_group.command()
def upgrade() -> None:
    """Create or migrate the schema (enables PostGIS)."""
    url = db.resolve_url()
    db.upgrade(url)
    click.echo(f"schema at head on {db.engine(url).url.render_as_string(hide_password=True)}")


@db_group.command()
def setup() -> None:
    """Install and start the local PostGIS when no DATABASE_URL is set."""
    url = db.resolve_url()
    click.echo(f"database ready: {db.engine(url).url.render_as_string(hide_password=True)}")


@db_group.command()
@click.argument("name", default=embedded.DEFAULT_DATABASE)
def reset(name: str) -> None:
    """Drop and recreate a local database (managed PostGIS only)."""
    embedded.ensure_database(name, fresh=True)
    click.echo(f"recreated {name}")


def build_cli() -> click.Group:
    """Return the root group with every plugged-in command group added."""
    for entry in entry_points(group="compstat.commands"):
        root.add_command(entry.load(), name=entry.name)
    return root


def quiet_driver_cleanup() -> None:
    """Keep the database driver's cleanup warnings off stderr.

    When a connection drops in the middle of a COPY, psycopg logs that it could not
    end the copy ("error ignored terminating ...") while the error itself travels up
    to :class:`CompstatGroup`, which reports it as the one ``error:`` line; the
    warning would only repeat it as a second line. Errors from the driver's logger
    still print.
    """
    logging.getLogger("psycopg").setLevel(logging.ERROR)


def main() -> None:
    """Console-script entry point."""
    quiet_driver_cleanup()
    build_cli()(prog_name="compstat")
