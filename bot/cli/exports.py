"""``parley export`` and ``parley exports``: results out of Parley, for spreadsheets,
reports and other tools, with residents shown by pseudonymous id."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import click

from bot.cli.common import OutputPath, progress, run_async, settings_of, unknown
from bot.desk.lookup import recent as recent_ids
from bot.engine import Env, Flow
from bot.errors import ExportError
from bot.exports import KINDS, Filters, Request, source
from bot.settings import Settings
from bot.store.polls import poll_id_of
from bot.store.sql import Tx


def moment(text: str | None, settings: Settings, option: str, end: bool = False) -> datetime | None:
    """``--since``/``--until``: a local date or time (see :func:`bot.exports.source.moment`)."""
    if text is None:
        return None
    try:
        return source.moment(text, settings.timezone, end)
    except ExportError as problem:
        raise click.BadParameter(str(problem), param_hint=option) from None


@click.command()
@click.argument("what", type=click.Choice(list(KINDS)))
@click.option("--flow", "flow_id", metavar="ID", help="responses: the survey (poll-N: a poll).")
@click.option("--poll", "poll_id", type=int, metavar="N", help="votes: only this poll.")
@click.option("--since", metavar="DATE", help="From this date or time (local), like 2026-11-01.")
@click.option("--until", metavar="DATE", help="Up to this date (included) or time (local).")
@click.option(
    "-o", "--output", type=OutputPath(folder_ok=True),
    help="File to write (default: standard output). For floip: a folder, or a .zip file.",
)  # fmt: skip
@click.option("--format", "form", type=click.Choice(["csv", "floip"]), default="csv",
              show_default=True, help="CSV, or a FLOIP Flow Results package.")  # fmt: skip
@click.option("--bom", is_flag=True, help="Start with a byte order mark, for Excel.")
@click.option(
    "--with-addresses", "addresses", is_flag=True,
    help="Organisers only: add residents' phone numbers and chat ids, and texts as"
    " written. Logged.",
)  # fmt: skip
@click.pass_context
def export(
    ctx: click.Context,
    what: str,
    flow_id: str | None,
    poll_id: int | None,
    since: str | None,
    until: str | None,
    output: Path | None,
    form: str,
    bom: bool,
    addresses: bool,
) -> None:
    """Export responses, votes, ideas, decisions, contacts or messages.

    Residents appear by a stable pseudonymous id, never by phone number. Text cells that
    a spreadsheet would run as a formula or turn into a number, date or boolean start with
    an invisible mark (a zero width space), so they show as written.
    """
    settings = settings_of(ctx)
    start = moment(since, settings, "--since")
    filters = Filters(flow_id, poll_id, start, moment(until, settings, "--until", end=True))
    request = Request(what, filters, form, addresses, bom)
    if form == "floip" and output is None:
        raise click.BadParameter("a FLOIP package is two files: give a folder or a .zip",
                                 param_hint="--output")  # fmt: skip
    run_async(_export(settings, request, output))


async def _export(settings: Settings, request: Request, output: Path | None) -> None:
    from bot.cli.office import shell_user
    from bot.content import load_content
    from bot.desk import Actor, Desk, Front, Role
    from bot.desk import exports as desk_exports
    from bot.exports import Maker
    from bot.store import Database, exports
    from bot.store.database import snapshot

    flows, env = load_content(settings)
    now = datetime.now(UTC)  # not bot.service's clock: it would import the bot's every part
    database = await Database.open(settings.database)
    try:
        # Checked first: an export asked for wrongly leaves no record and no file.
        await database.run(lambda tx: _check(tx, request, flows, env, output))
        actor = Actor(shell_user(), Role.ORGANISER, Front.CLI)
        recorded = await database.run(
            lambda tx: desk_exports.request(Desk(tx, settings, env, flows, now, actor), request)
        )
        export_id = recorded.id
        maker = Maker(settings, flows, env, recorded.key)
        with snapshot(settings.database) as tx:
            if request.format == "floip":
                assert output is not None
                total = maker.floip_total(tx, request)
                with progress(total, "Exporting") as bar:
                    rows = maker.write_floip(tx, request, output, now, bar.update)
            else:
                table = maker.table(tx, request)
                with progress(table.total, "Exporting") as bar, whole_file(output) as out:
                    rows = maker.write_csv(table, request, out, bar.update)
        await database.run(lambda tx: exports.finish(tx, export_id, rows))
    finally:
        await database.close()
    where = f" to {output}" if output is not None else ""
    click.echo(f"Export {export_id}: {rows} rows of {request.what}{where}.", err=True)
    if request.addresses:
        click.echo(
            "This file holds residents' phone numbers or chat ids: keep it safe and delete it"
            " when done. The export is logged.",
            err=True,
        )


def _check(
    tx: Tx,
    request: Request,
    flows: Mapping[str, Flow],
    env: Env,
    output: Path | None,
) -> None:
    """What would make the export fail, found before it is recorded or a file is made
    (exit status 1, like the export's own errors)."""
    from bot.civic.polls import FlowBook
    from bot.store import polls

    request.check()
    flow_id, poll_id = request.filters.flow_id, request.filters.poll_id
    if flow_id is None and (request.what == "responses" or request.format == "floip"):
        raise click.ClickException("--flow: say which flow (a poll's flow is poll-N)")
    if flow_id is not None and FlowBook(flows, env).get(tx, flow_id) is None:
        number = poll_id_of(flow_id)
        raise click.ClickException(
            f"--flow: there is no flow '{flow_id}'; flows: {', '.join(sorted(flows))}"
            " (a poll's flow is poll-N)"
            if number is None
            else f"--flow: {unknown('poll', number, recent_ids(tx, 'poll'))} (flow {flow_id})"
        )
    if poll_id is not None and polls.get(tx, poll_id) is None:
        raise click.ClickException(f"--poll: {unknown('poll', poll_id, recent_ids(tx, 'poll'))}")
    if request.format == "floip" and output is not None and output.suffix.lower() != ".zip":
        if output.is_file() or (output.is_dir() and any(output.iterdir())):
            raise click.ClickException(
                f"{output} is not an empty folder: give a new folder or a .zip"
            )
    elif request.format == "csv" and output is not None and output.is_dir():
        raise click.ClickException(f"{output}: is a folder, not a file (--output)")


class whole_file:
    """Standard output, or a file that appears whole or not at all: written to a
    temporary file beside it, moved into place only once complete."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._temporary: Path | None = None
        self._file: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        if self.path is None:
            return sys.stdout
        handle, name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent or ".")
        self._temporary = Path(name)
        self._file = os.fdopen(handle, "w", encoding="utf-8", newline="")
        return self._file

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self._file is None or self._temporary is None:
            return
        self._file.close()
        if error is None:
            self._temporary.replace(self.path)  # type: ignore[arg-type]
        else:
            self._temporary.unlink(missing_ok=True)


@click.command(name="exports")
@click.option("--limit", default=20, show_default=True, help="How many of the latest.")
@click.pass_context
def exports_log(ctx: click.Context, limit: int) -> None:
    """The record of exports: what, how many rows, by whom, and which carried addresses."""
    settings = settings_of(ctx)
    run_async(_exports_log(settings, limit))


async def _exports_log(settings: Settings, limit: int) -> None:
    from bot.store import Database, exports

    database = await Database.open(settings.database)
    try:
        rows = await database.run(lambda tx: exports.recent(tx, limit))
    finally:
        await database.close()
    if not rows:
        click.echo("No exports yet.")
    for row in rows:
        marks = " WITH ADDRESSES" if row["addresses"] else ""
        count = "unfinished" if row["rows"] is None else f"{row['rows']} rows"
        click.echo(
            f"{row['id']:>4}  {row['created_at'][:16]}  {row['what']:<10} {row['format']:<5}"
            f" {count:<12} by {row['requested_by']}{marks}"
        )


EXPORT_COMMANDS = [export, exports_log]
