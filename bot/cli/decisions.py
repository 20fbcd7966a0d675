"""``parley decision``: decisions sent back to everyone who took part (record, update,
reach). Each shows what would be sent and to whom, then asks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from bot import staff_text
from bot.cli.broadcasts import draft_lines
from bot.cli.common import check_languages, name_values
from bot.cli.office import Office, at_office, echo
from bot.desk import Desk, rehearse
from bot.desk import decisions as desk_decisions
from bot.desk.decisions import DecisionSent
from bot.english import counted

F = TypeVar("F", bound=Callable[..., Any])
_STATUS = click.Choice(list(desk_decisions.STATUSES))


@click.group()
def decision() -> None:
    """Decisions sent back to everyone who took part: record, update, reach."""


def _sending(what: str) -> Callable[[F], F]:
    """The options a decision's sending takes: its status, its text by language, --yes."""

    def add(command: F) -> F:
        for option in reversed(
            (
                click.option("--status", type=_STATUS, required=True),
                click.option(
                    "--text",
                    "texts",
                    multiple=True,
                    required=True,
                    metavar="LANG=TEXT",
                    help=f"The {what} in a language (the default one is needed).",
                ),
                click.option("--yes", is_flag=True, help="Send without asking."),
            )
        ):
            command = option(command)
        return command

    return add


def _decide(
    ctx: click.Context,
    texts: tuple[str, ...],
    make: Callable[[Desk, dict[str, str]], DecisionSent],
    yes: bool,
) -> None:
    """Preview a decision's sending (nothing kept), then, if confirmed, do it for real."""
    given = name_values(texts, "--text")

    async def work(office: Office) -> None:
        check_languages(office.settings, list(given), "--text")
        shown = await office.at_desk(lambda desk: rehearse(desk, lambda d: make(d, given)))
        echo(draft_lines(shown.drafted, office.settings.timezone))
        if not yes and not click.confirm("Send it?", default=False):
            click.echo("Nothing recorded or sent.")
            return
        sent = await office.at_desk(
            lambda desk: make(desk, given), lambda done: done.drafted.preview.recipients
        )
        recipients = counted(sent.drafted.preview.recipients, "resident")
        click.echo(f"Decision {sent.decision_id}: sent to {recipients} who took part.")
        click.echo(f"See who it reached with: parley decision reach {sent.decision_id}")

    at_office(ctx, work)


@decision.command()
@_sending("decision")
@click.option(
    "--answers",
    "answers",
    multiple=True,
    required=True,
    metavar="ITEM",
    help="What it answers: poll:3, flow:priorities, idea:ID-4821 (repeatable).",
)
@click.pass_context
def record(
    ctx: click.Context, status: str, texts: tuple[str, ...], answers: tuple[str, ...], yes: bool
) -> None:
    """Record a decision and send it to everyone who took part in what it answers."""
    _decide(
        ctx, texts, lambda desk, given: desk_decisions.record(desk, status, given, answers), yes
    )


@decision.command()
@click.argument("decision_id", type=int)
@_sending("update")
@click.pass_context
def update(
    ctx: click.Context, decision_id: int, status: str, texts: tuple[str, ...], yes: bool
) -> None:
    """Send a progress update on a decision to the same people it first went to."""
    _decide(
        ctx, texts, lambda desk, given: desk_decisions.update(desk, decision_id, status, given), yes
    )


@decision.command()
@click.argument("decision_id", type=int)
@click.pass_context
def reach(ctx: click.Context, decision_id: int) -> None:
    """Who each sending of a decision reached: delivered, sent, failed, waiting."""

    def lines(desk: Desk) -> list[str]:
        found = desk_decisions.reach(desk, decision_id)
        return staff_text.reach(found.decision, found.sends)

    async def work(office: Office) -> None:
        echo(await office.at_desk(lines))

    at_office(ctx, work)
