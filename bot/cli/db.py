"""``parley db``: the database's schema (``migrate``, ``status``) and the move from one
database to another (``copy``, usually a SQLite file to PostgreSQL)."""

from __future__ import annotations

import click

from bot.cli.common import progress, run_async, settings_of
from bot.errors import ConfigError
from bot.settings import Settings
from bot.store.location import Location, Postgres, parse_location


@click.group()
def db() -> None:
    """The database Parley runs on (PARLEY_DATABASE): its schema, and moving it."""


@db.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Bring the database's schema up to this release (`parley run` also does, at start)."""
    from bot.store.database import Database, known_version, version_of

    settings = settings_of(ctx)
    before = version_of(settings.database)

    async def work() -> None:
        opened = await Database.open(settings.database)
        await opened.close()

    run_async(work())
    now = known_version()
    if before == now:
        click.echo(f"{settings.database}: schema version {now}, up to date.")
    else:
        click.echo(f"{settings.database}: schema version {before} → {now}, migrated.")


@db.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Which database, which schema version, and whether it needs migrating."""
    from bot.store.database import known_version, version_of

    settings: Settings = settings_of(ctx)
    kind = "PostgreSQL" if isinstance(settings.database, Postgres) else "SQLite"
    found = version_of(settings.database)
    known = known_version()
    click.echo(f"Database: {settings.database} ({kind})")
    if found == 0:
        state = "none yet: `parley db migrate` (or `parley run`) creates it"
    elif found < known:
        state = f"{found}, behind this release's {known}: `parley db migrate` brings it up"
    elif found > known:
        state = f"{found}, newer than this release knows ({known}): run a newer Parley"
    else:
        state = f"{found}, up to date"
    click.echo(f"Schema version: {state}")


def _location(value: str, option: str) -> Location:
    try:
        return parse_location(value)
    except ConfigError as error:
        reason = str(error).removeprefix("PARLEY_DATABASE: ")
        raise click.BadParameter(reason, param_hint=option) from None


@db.command()
@click.option(
    "--from",
    "origin_text",
    required=True,
    metavar="DATABASE",
    help="The database to copy: a SQLite file, or a postgresql:// URL.",
)
@click.option(
    "--to",
    "destination_text",
    required=True,
    metavar="DATABASE",
    help="A new, empty database to copy into (usually postgresql://...).",
)
def copy(origin_text: str, destination_text: str) -> None:
    """Copy every row of one database into a new, empty one, then compare the counts.

    For the move from SQLite to PostgreSQL: stop Parley, copy, point PARLEY_DATABASE at
    the new database, start Parley. Both are first brought to this release's schema; the
    target must hold no rows (nothing is merged), and a failed copy leaves it empty.
    """
    from bot.store import copy as copying

    origin = _location(origin_text, "--from")
    destination = _location(destination_text, "--to")
    run_async(copying.prepare(origin, destination))
    total = copying.total_rows(origin)
    with progress(total, "Copying") as bar:
        copied = copying.copy(origin, destination, bar.update)
    width = max(len(table.table) for table in copied)
    different = [table for table in copied if table.source != table.target]
    for table in copied:
        mark = "" if table.source == table.target else "  DIFFERENT"
        click.echo(f"{table.table:<{width}}  {table.source:>10,}  {table.target:>10,}{mark}")
    rows = sum(table.target for table in copied)
    if different:
        raise click.ClickException(
            f"the counts differ in {', '.join(table.table for table in different)}"
        )
    click.echo(f"Copied {rows:,} rows in {len(copied)} tables from {origin} to {destination}.")
