"""Parley opened for one staff command at the server's shell: the desk, as an organiser
(whoever can run ``parley`` on the server can read its database anyway), named by the
shell's user in the audit log; and a desk refusal as one ``Error:`` line."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from bot.cli.common import run_async, settings_of, unknown
from bot.desk import Actor, Desk, Effects, Front, NotFound, Refused, Role
from bot.settings import Settings

T = TypeVar("T")


def shell_user() -> str:
    """Who is at the shell, for the audit log (``cli`` when the system cannot say)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def problem(error: Refused, command: click.Command | None = None) -> str:
    """A refusal in the command line's words: an unknown id names those that exist, and
    a wrong argument the option it came from (``--took-part: ...``)."""
    said = str(error)
    if isinstance(error, NotFound):
        plural = "staff accounts" if error.kind == "staff account" else ""
        said = unknown(error.kind, error.given, error.known, plural)
    field = getattr(error, "field", None)
    option = _option(command, field) if field else None
    return f"{option}: {said}" if option else said


def _option(command: click.Command | None, field: str) -> str | None:
    """The command's option for a desk argument (``took_part``: ``--took-part``)."""
    for param in command.params if command is not None else ():
        if isinstance(param, click.Option) and param.name in (field, field + "s"):
            return max(param.opts, key=len)
    return None


@dataclass
class Office:
    settings: Settings
    database: Any
    jobs: Any
    actor: Actor

    @classmethod
    async def open(cls, settings: Settings) -> Office:
        from bot.content import load_content
        from bot.outreach.schedule import Jobs
        from bot.service import utc_now
        from bot.store import Database

        flows, env = load_content(settings)
        database = await Database.open(settings.database)
        jobs = Jobs(database, flows, env, settings, utc_now)
        return cls(settings, database, jobs, Actor(shell_user(), Role.ORGANISER, Front.CLI))

    async def at_desk(
        self, work: Callable[[Desk], T], expected: Callable[[T], int] = lambda done: 1
    ) -> T:
        """Run ``work(desk)`` in one transaction; do at once what it made due (a send
        confirmed, a poll closed, news for idea senders), with a progress bar of
        ``expected(result)`` messages."""
        effects = Effects()
        now = self.jobs.clock()
        result: T = await self.database.run(
            lambda tx: work(
                Desk(tx, self.settings, self.jobs.env, self.jobs.flows, now, self.actor, effects)
            )
        )
        if effects.scheduled:
            await self.run_due(expected(result))
        return result

    async def run_due(self, expected: int = 1) -> None:
        """Do what is due now (a send just confirmed): written to the outbox, which a
        running ``parley run`` sends."""
        if not sys.stderr.isatty():
            await self.jobs.run_due()
            return
        with click.progressbar(
            length=max(expected, 1), label="Writing to the outbox", file=sys.stderr
        ) as bar:
            await self.jobs.run_due(bar.update)

    async def close(self) -> None:
        await self.database.close()


def at_office(ctx: click.Context, work: Callable[[Office], Coroutine[Any, Any, None]]) -> None:
    """Open Parley, do ``work``, close; a refusal is one ``Error:`` line and exit 1."""
    settings = settings_of(ctx)

    async def run() -> None:
        office = await Office.open(settings)
        try:
            await work(office)
        except Refused as error:
            raise click.ClickException(problem(error, ctx.command)) from None
        finally:
            await office.close()

    run_async(run())


def echo(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)
