"""``parley retention``: how long residents' data is kept, and what the next daily run
erases; ``--now`` erases it now, after asking (``--yes`` for scripts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import click

from bot.cli.office import Office, at_office, echo
from bot.cli.preview import go_ahead
from bot.outreach.retention import DAILY_AT, Due, erase_old, next_run, preview
from bot.settings import Settings
from bot.store.erasure import Erased, free_text

_SAID = {  # what each kind is called, how its age is said, what becomes of it
    "messages": ("Messages", "older than", "before", "to erase"),
    "answers": ("Answers and ideas", "older than", "before", "to erase"),
    "contacts": ("Contacts", "not heard from for", "last heard before", "to forget"),
}
_ROWS = {
    "inbound": "from residents",
    "outbox": "to them",
    "answers": "answers",
    "ideas": "ideas",
    "sessions": "ended conversations",
}  # contacts are only counted: the line says what they are


@click.command()
@click.option(
    "--now", "at_once", is_flag=True, help="Erase it now instead of at the next daily run."
)
@click.option("--yes", is_flag=True, help="With --now: erase without asking.")
@click.pass_context
def retention(ctx: click.Context, at_once: bool, yes: bool) -> None:
    """How long residents' data is kept (the retention_* settings) and what the next
    daily run, at 03:00, will erase."""

    async def work(office: Office) -> None:
        settings = office.settings
        now = office.jobs.clock()
        moment = now if at_once else next_run(settings, now)
        due = await office.database.run(lambda tx: preview(tx, settings, moment))
        echo(report(settings, due, moment, at_once))
        if not at_once:
            return
        if not sum(kind.total for kind in due):
            click.echo("Nothing to erase.")
            return
        if not go_ahead("Erase it now?", yes):
            return
        actor = office.actor
        erased = await erase_old(
            office.database,
            settings,
            free_text(office.jobs.flows),
            moment,  # the cut-offs just shown
            actor=actor.name,
            role=actor.role.value,
            front=actor.front.value,
        )
        click.echo(done(erased))

    at_office(ctx, work)


def report(settings: Settings, due: Sequence[Due], moment: datetime, at_once: bool) -> list[str]:
    """The settings, then for each kind its cut-off and how many rows go."""
    zone = settings.timezone
    shown = ", ".join(f"retention_{kind.kind} {_setting(kind.kept_for)}" for kind in due)
    hour, minute = DAILY_AT
    when = (
        f"Erasing as of now, {_day(moment, zone)}."
        if at_once
        else f"The next run: {_day(moment, zone)} (daily at {hour:02}:{minute:02},"
        " while parley run is running)."
    )
    lines = [f"Settings: {shown}.", when]
    for kind in due:
        name, age, since, verb = _SAID[kind.kind]
        if kind.kept_for is None or kind.before is None:
            lines.append(f"{name}: kept for ever, none {verb}.")
            continue
        parts = [f"{count:,} {_ROWS[t]}" for t, count in kind.rows.items() if count and t in _ROWS]
        more = f" ({', '.join(parts)})" if parts else ""
        lines.append(
            f"{name} {age} {_days(kind.kept_for)} ({since} {_day(kind.before, zone)}):"
            f" {kind.total:,} {verb}{more}."
        )
    return lines


def done(erased: Erased) -> str:
    return (
        f"Erased the text of {erased.inbound:,} messages from residents and"
        f" {erased.outbound:,} to them, {erased.answers:,} answers, {erased.ideas:,} ideas"
        f" and {erased.sessions:,} ended conversations; forgot {erased.contacts:,} contacts."
        " The audit log has it (parley audit --action retention)."
    )


def _days(kept: timedelta) -> str:
    return "1 day" if kept.days == 1 else f"{kept.days:,} days"


def _setting(kept: timedelta | None) -> str:
    return "never" if kept is None else f"{kept.days}d"


def _day(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
