"""``parley polls`` and ``parley broadcasts``: what there is, where each stands, and how
far it has got, in aligned columns; and the one-line summaries other commands show
before they change a poll or a broadcast."""

from __future__ import annotations

import click

from bot.cli.office import Office, at_office, echo
from bot.desk import Desk
from bot.desk import broadcasts as desk_broadcasts
from bot.desk import polls as desk_polls
from bot.desk.broadcasts import Progress
from bot.desk.polls import PollView
from bot.english import counted, local_time, table
from bot.staff_text import what

_LIMIT = click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many, newest first.",
)

POLL_HEADER = ("Poll", "state", "closes", "asked", "voted", "question", "audience")
BROADCAST_HEADER = ("Broadcast", "what", "state", "progress", "audience")


def poll_row(desk: Desk, shown: PollView) -> tuple[str, ...]:
    poll = shown.poll
    state = {"draft": "not sent", "open": "open", "closed": "closed"}[poll.status]
    if poll.panel_id is not None:
        state += f" (panel {poll.panel_id} vote)"
    closes = local_time(poll.closes_at, desk.settings.timezone) if poll.closes_at else "-"
    question = poll.question[poll.language]
    if len(question) > 40:
        question = question[:39] + "…"
    audience = "; ".join(f"broadcast {one.id}: {chosen.describe()}" for one, chosen in shown.sends)
    return (
        str(poll.id),
        state,
        closes,
        str(shown.asked),
        str(shown.voted),
        question,
        audience or "not sent",
    )


def broadcast_row(desk: Desk, shown: Progress) -> tuple[str, ...]:
    found = shown.broadcast
    state = found.status
    if found.status == "scheduled" and found.send_at is not None:
        state += " for " + local_time(found.send_at, desk.settings.timezone)
    if found.paused and found.status != "cancelled":
        state += ", paused"
    progress = "-"
    if shown.reach is not None:
        got = shown.reach
        progress = (
            f"{got.reached} of {counted(got.recipients, 'resident')} sent"
            f" ({got.delivered} delivered, {got.failed} failed, {got.waiting} waiting)"
        )
    return (str(found.id), what(found), state, progress, shown.audience.describe())


def summary(desk: Desk, kind: str, number: int) -> list[str]:
    """A poll or a broadcast as one row of its listing, with its header."""
    if kind == "poll":
        return table(POLL_HEADER, [poll_row(desk, desk_polls.show(desk, number))])
    return table(BROADCAST_HEADER, [broadcast_row(desk, desk_broadcasts.show(desk, number))])


@click.command(name="polls")
@_LIMIT
@click.pass_context
def polls_command(ctx: click.Context, limit: int) -> None:
    """The polls, newest first: state, closing time, residents asked and voters."""

    def lines(desk: Desk) -> list[str]:
        found = desk_polls.listing(desk, limit)
        if not found:
            return ["No polls yet. Make one with: parley poll QUESTION -o OPTION -o OPTION"]
        return table(POLL_HEADER, [poll_row(desk, shown) for shown in found])

    async def work(office: Office) -> None:
        echo(await office.at_desk(lines))

    at_office(ctx, work)


@click.command(name="broadcasts")
@_LIMIT
@click.pass_context
def broadcasts_command(ctx: click.Context, limit: int) -> None:
    """The broadcasts, newest first: what, state, how far sending has got, and to whom."""

    def lines(desk: Desk) -> list[str]:
        found = desk_broadcasts.listing(desk, limit)
        if not found:
            return ["No broadcasts yet. Send one with: parley broadcast --text 'en=...'"]
        return table(BROADCAST_HEADER, [broadcast_row(desk, shown) for shown in found])

    async def work(office: Office) -> None:
        echo(await office.at_desk(lines))

    at_office(ctx, work)


LISTING_COMMANDS = [polls_command, broadcasts_command]
