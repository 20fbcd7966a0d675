"""``parley backup FILE``: a checked copy of the database, made while Parley runs."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import settings_of
from bot.errors import ConfigError
from bot.store.location import Postgres


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_context
def backup(ctx: click.Context, file: Path) -> None:
    """Copy the database to FILE, whole and consistent, while Parley keeps running.

    The copy is checked (SQLite's integrity check), is one file readable by its owner
    only (0600), and replaces FILE only once it is complete: an earlier backup there is
    never left half-written. It holds residents' phone numbers and answers: keep it as
    safe as the server, and no longer than the shortest retention period.
    """
    from bot.store.backup import backup as make_backup

    settings = settings_of(ctx)
    if isinstance(settings.database, Postgres):
        raise ConfigError(
            f"{settings.database}: a PostgreSQL database is backed up with its own tools:"
            " pg_dump --format=custom (see the README's Backups)"
        )
    made = make_backup(settings.database, file)
    click.echo(f"Backed up {settings.database} to {file}: {size(made.size)}, integrity ok.")


def size(count: int) -> str:
    """``12.3 MB``: bytes in decimal units, as file managers show them."""
    if count < 1000:
        return f"{count} bytes"
    value, unit = count / 1000, "kB"
    for larger in ("MB", "GB", "TB"):
        if value < 999.95:  # would not print as 1000.0
            break
        value, unit = value / 1000, larger
    return f"{value:.1f} {unit}"
