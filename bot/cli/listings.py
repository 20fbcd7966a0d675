"""``parley polls`` and ``parley broadcasts``: what there is, where each stands, and how
far it has got, in aligned columns; and the one-line summaries other commands show
before they change a poll or a broadcast."""

from __future__ import annotations

from typing import Any

import click

from bot.cli.common import run_async, settings_of
from bot.english import counted, table

_LIMIT = click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many, newest first.",
)


def poll_row(desk: Any, poll: Any) -> tuple[str, ...]:
    from bot.outreach.audience import Audience
    from bot.phone.commands import local_time
    from bot.store import broadcasts, polls

    state = {"draft": "not sent", "open": "open", "closed": "closed"}[poll.status]
    if poll.panel_id is not None:
        state += f" (panel {poll.panel_id} vote)"
    closes = local_time(poll.closes_at, desk.settings.timezone) if poll.closes_at else "-"
    question = poll.question[poll.language]
    if len(question) > 40:
        question = question[:39] + "…"
    sent = broadcasts.of_poll(desk.tx, poll.id)
    audience = "; ".join(
        f"broadcast {one.id}: {Audience.from_json(one.audience).describe()}" for one in sent
    )
    return (
        str(poll.id),
        state,
        closes,
        str(polls.asked(desk.tx, poll.id)),
        str(polls.voted(desk.tx, poll.id)),
        question,
        audience or "not sent",
    )


POLL_HEADER = ("Poll", "state", "closes", "asked", "voted", "question", "audience")


def broadcast_row(desk: Any, found: Any) -> tuple[str, ...]:
    from bot.outreach.audience import Audience
    from bot.phone.commands import local_time
    from bot.store import broadcasts
    from bot.store.decisions import reach

    what = {
        broadcasts.MESSAGE: "message",
        broadcasts.FLOW: f"survey '{found.flow_id}'",
        broadcasts.POLL: f"poll {found.poll_id}",
        broadcasts.REMINDER: f"reminder of {found.parent_id}",
        broadcasts.RESULTS: f"result of poll {found.poll_id}",
    }.get(found.kind, found.kind)
    state = found.status
    if found.status == "scheduled" and found.send_at is not None:
        state += " for " + local_time(found.send_at, desk.settings.timezone)
    if found.paused and found.status != "cancelled":
        state += ", paused"
    progress = "-"
    if found.status not in ("draft", "scheduled"):
        got = reach(desk.tx, found.id)
        progress = (
            f"{got.reached} of {counted(got.recipients, 'resident')} sent"
            f" ({got.delivered} delivered, {got.failed} failed, {got.waiting} waiting)"
        )
    return (str(found.id), what, state, progress, Audience.from_json(found.audience).describe())


BROADCAST_HEADER = ("Broadcast", "what", "state", "progress", "audience")


def summary(desk: Any, kind: str, number: int) -> list[str]:
    """A poll or a broadcast as one row of its listing, with its header."""
    from bot.store import broadcasts, polls

    if kind == "poll":
        poll = polls.get(desk.tx, number)
        return table(POLL_HEADER, [poll_row(desk, poll)]) if poll else []
    found = broadcasts.get(desk.tx, number)
    return table(BROADCAST_HEADER, [broadcast_row(desk, found)]) if found else []


@click.command(name="polls")
@_LIMIT
@click.pass_context
def polls_command(ctx: click.Context, limit: int) -> None:
    """The polls, newest first: state, closing time, residents asked and voters."""
    from bot.cli.broadcasts import _echo, _Office, _office
    from bot.store import polls

    def lines(desk: Any) -> list[str]:
        found = polls.recent(desk.tx, limit)
        if not found:
            return ["No polls yet. Make one with: parley poll QUESTION -o OPTION -o OPTION"]
        return table(POLL_HEADER, [poll_row(desk, poll) for poll in found])

    async def work(office: _Office) -> None:
        _echo(await office.at_desk(lines))

    run_async(_office(settings_of(ctx), work))


@click.command(name="broadcasts")
@_LIMIT
@click.pass_context
def broadcasts_command(ctx: click.Context, limit: int) -> None:
    """The broadcasts, newest first: what, state, how far sending has got, and to whom."""
    from bot.cli.broadcasts import _echo, _Office, _office
    from bot.store import broadcasts

    def lines(desk: Any) -> list[str]:
        found = broadcasts.recent(desk.tx, limit)
        if not found:
            return ["No broadcasts yet. Send one with: parley broadcast --text 'en=...'"]
        return table(BROADCAST_HEADER, [broadcast_row(desk, one) for one in found])

    async def work(office: _Office) -> None:
        _echo(await office.at_desk(lines))

    run_async(_office(settings_of(ctx), work))


LISTING_COMMANDS = [polls_command, broadcasts_command]
