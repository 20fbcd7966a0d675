"""``parley ideas``: moderating residents' ideas at the shell (list, show, approve,
reject, merge, shortlist into a poll). What tells residents something shows what they
would be sent, then asks."""

from __future__ import annotations

from collections.abc import Callable

import click

from bot import staff_text
from bot.civic import ideas as idea_work
from bot.cli.broadcasts import send_drafted
from bot.cli.common import check_languages, name_values, settings_of
from bot.cli.office import Office, at_office, echo
from bot.cli.preview import go_ahead, news
from bot.desk import Desk, moments, rehearse
from bot.desk import ideas as desk_ideas
from bot.desk.broadcasts import Drafted
from bot.store import broadcasts
from bot.store import ideas as stored


def _telling(
    ctx: click.Context, act: Callable[[Desk], list[str]], question: str, yes: bool
) -> None:
    """Show what ``act`` would tell residents (worked out, then undone), ask, then do it."""

    async def work(office: Office) -> None:
        def preview(desk: Desk) -> list[str]:
            since = broadcasts.last_id(desk.tx)
            act(desk)
            return news(desk, since)

        echo(await office.at_desk(lambda desk: rehearse(desk, preview)))
        if not go_ahead(question, yes):
            return
        echo(await office.at_desk(act))

    at_office(ctx, work)


@click.group()
def ideas() -> None:
    """Moderate residents' ideas: list, approve, reject, merge, shortlist into a poll."""


@ideas.command(name="list")
@click.pass_context
def ideas_list(ctx: click.Context) -> None:
    """New and approved ideas (flagged ones redacted)."""

    def lines(desk: Desk) -> list[str]:
        waiting = desk_ideas.queue(desk)
        if not waiting.ideas:
            return ["No ideas wait for moderation."]
        return [
            *(staff_text.idea(idea) for idea in sorted(waiting.ideas, key=lambda idea: idea.id)),
            "Moderate them with:",
            "  parley ideas approve ID",
            "  parley ideas reject ID REASON",
            "  parley ideas merge DUPLICATE KEPT",
            "  parley ideas shortlist ID ID ...",
        ]

    async def work(office: Office) -> None:
        echo(await office.at_desk(lines))

    at_office(ctx, work)


@ideas.command(name="show")
@click.argument("ref")
@click.pass_context
def ideas_show(ctx: click.Context, ref: str) -> None:
    """One idea in full."""

    def lines(desk: Desk) -> list[str]:
        return staff_text.idea_in_full(desk_ideas.show(desk, ref))

    async def work(office: Office) -> None:
        echo(await office.at_desk(lines))

    at_office(ctx, work)


@ideas.command()
@click.argument("ref")
@click.pass_context
def approve(ctx: click.Context, ref: str) -> None:
    """Approve an idea (a flagged one keeps its personal details hidden)."""

    def act(desk: Desk) -> list[str]:
        idea = desk_ideas.approve(desk, ref)
        note = " (its personal details stay hidden)" if idea.flagged else ""
        return [f"{idea.reference} approved{note}."]

    async def work(office: Office) -> None:
        echo(await office.at_desk(act))

    at_office(ctx, work)


@ideas.command()
@click.argument("ref")
@click.argument("reason", nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="Tell the sender without asking.")
@click.pass_context
def reject(ctx: click.Context, ref: str, reason: tuple[str, ...], yes: bool) -> None:
    """Not taken forward: REASON is done, scope, cost, rules (sent translated) or words."""

    def act(desk: Desk) -> list[str]:
        told = desk_ideas.reject(desk, ref, " ".join(reason))
        known = "" if told.idea.reason in idea_work.REASONS else " Your reason is sent as written."
        return [f"{told.idea.reference} will not be taken forward; its sender is told why.{known}"]

    _telling(ctx, act, f"Reject {ref} and tell its sender?", yes)


@ideas.command()
@click.argument("duplicate")
@click.argument("kept", nargs=-1, required=True, metavar="[into] KEPT")
@click.option("--yes", is_flag=True, help="Tell the sender without asking.")
@click.pass_context
def merge(ctx: click.Context, duplicate: str, kept: tuple[str, ...], yes: bool) -> None:
    """Merge DUPLICATE into KEPT; its sender hears about KEPT from now on."""
    words = [word for word in kept if word.lower() != "into"]
    if len(words) != 1:
        raise click.UsageError("give the duplicate, then the idea it joins: ID [into] ID")

    def act(desk: Desk) -> list[str]:
        told = desk_ideas.merge(desk, duplicate, words[0])
        into = stored.reference(told.idea.merged_into or 0)
        return [f"{told.idea.reference} merged into {into}; its sender is told."]

    _telling(ctx, act, f"Merge {duplicate} into {words[0]} and tell its sender?", yes)


@ideas.command()
@click.argument("refs", nargs=-1, required=True)
@click.option("--question", help="The poll's question (default: which idea should go forward?)")
@click.option("--closes", metavar="WHEN", help="Closing time: 18:00, 2026-12-01 18:00 or 3d.")
@click.option(
    "--translation",
    "translations",
    multiple=True,
    metavar="LANG=Q|A|B",
    help="The question and options in another language, split by |.",
)
@click.option("--yes", is_flag=True, help="Send the poll to everyone without asking.")
@click.pass_context
def shortlist(
    ctx: click.Context,
    refs: tuple[str, ...],
    question: str | None,
    closes: str | None,
    translations: tuple[str, ...],
    yes: bool,
) -> None:
    """Make a poll of approved ideas, tell their senders, and send it."""
    given = name_values(translations, "--translation")
    check_languages(settings_of(ctx), list(given), "--translation")
    if len(refs) < 2:
        raise click.UsageError("give 2 to 9 approved ideas, like: ID-4821 ID-2659")
    lines = {language: _split(text) for language, text in given.items()}

    async def work(office: Office) -> None:
        def make(desk: Desk) -> Drafted:
            at = (
                moments.when(closes, desk.now, desk.settings.timezone, "closes") if closes else None
            )
            return desk_ideas.shortlist(desk, refs, question, lines, at).drafted

        def told(desk: Desk) -> list[str]:  # shown, then undone: nothing kept or told
            since = broadcasts.last_id(desk.tx)
            made = desk_ideas.shortlist(desk, refs, question, lines, None)
            said = news(desk, since)
            head = [f"The ideas become poll {made.poll.id}."]
            return [*head, "News for their senders:", *said] if said else head

        echo(await office.at_desk(lambda desk: rehearse(desk, told)))
        drafted = await send_drafted(office, make, yes)
        if drafted is not None:
            click.echo(f"Shortlisted {len(refs)} ideas; their senders are told.")
            poll_id = await office.at_desk(lambda desk: _poll_of(desk, drafted.id))
            click.echo(f"See the votes with: parley results {poll_id}")

    at_office(ctx, work)


def _split(line: str) -> tuple[str, list[str]]:
    """``question | option | option``: the question, and the options' labels."""
    parts = [part.strip() for part in line.split("|")]
    return parts[0], parts[1:]


def _poll_of(desk: Desk, broadcast_id: int) -> int:
    found = broadcasts.get(desk.tx, broadcast_id)
    assert found is not None
    assert found.poll_id is not None
    return found.poll_id
