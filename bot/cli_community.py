"""Closing the loop from the command line: ``parley ideas``, ``parley panel`` and
``parley decision``. Each acts as an organiser, shows what would be sent before it
is, and writes what it sends to the outbox with a progress bar (a running
``parley run`` sends it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.cli_common import name_values, run_async, settings_of
from bot.cli_staff import _echo, _Office, _office

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def _staff_text(ctx: click.Context, text: str) -> None:
    """Do a staff command as typed on a phone, and write what it sends."""
    from bot import staff

    command = staff.command_of(text)
    assert command is not None

    async def work(office: _Office) -> None:
        reply = await office.at_desk(lambda desk: staff.perform(desk, command, text))
        if reply.refused:
            raise click.ClickException(reply.text)
        _echo([line for line in reply.lines if not line.startswith("Reply /send")])
        if reply.scheduled:
            await office.jobs.run_due()

    run_async(_office(settings_of(ctx), work))


def _dry_run(desk: Any, work: Callable[[Any], T]) -> T:
    """``work(desk)`` for its preview only: everything it wrote is undone."""
    desk.tx.execute("SAVEPOINT preview")
    try:
        return work(desk)
    finally:
        desk.tx.execute("ROLLBACK TO preview")
        desk.tx.execute("RELEASE preview")


# -- parley ideas ---------------------------------------------------------------------------


@click.group()
def ideas() -> None:
    """Moderate residents' ideas: list, approve, reject, merge, shortlist into a poll."""


@ideas.command(name="list")
@click.pass_context
def ideas_list(ctx: click.Context) -> None:
    """New and approved ideas (flagged ones redacted)."""
    _staff_text(ctx, "/ideas")


@ideas.command(name="show")
@click.argument("ref")
@click.pass_context
def ideas_show(ctx: click.Context, ref: str) -> None:
    """One idea in full."""
    _staff_text(ctx, f"/idea {ref}")


@ideas.command()
@click.argument("ref")
@click.pass_context
def approve(ctx: click.Context, ref: str) -> None:
    """Approve an idea (a flagged one keeps its personal details hidden)."""
    _staff_text(ctx, f"/approve {ref}")


@ideas.command()
@click.argument("ref")
@click.argument("reason", nargs=-1, required=True)
@click.pass_context
def reject(ctx: click.Context, ref: str, reason: tuple[str, ...]) -> None:
    """Not taken forward: REASON is done, scope, cost, rules (sent translated) or words."""
    _staff_text(ctx, f"/reject {ref} {' '.join(reason)}")


@ideas.command()
@click.argument("duplicate")
@click.argument("kept")
@click.pass_context
def merge(ctx: click.Context, duplicate: str, kept: str) -> None:
    """Merge DUPLICATE into KEPT; its sender hears about KEPT from now on."""
    _staff_text(ctx, f"/merge {duplicate} into {kept}")


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
    from bot import moderation, staff

    lines = [" ".join(refs)]
    if question:
        lines.append(question)
    if closes:
        lines.append(f"closes: {closes}")
    lines += [
        f"{lang}: {text}" for lang, text in name_values(translations, "--translation").items()
    ]

    async def work(office: _Office) -> None:
        def preview(desk: Any) -> list[str]:  # shown, then undone: nothing kept or told
            return moderation.shortlist(desk, "\n".join(lines)).lines

        shown = await office.at_desk(lambda desk: _dry_run(desk, preview))
        _echo([line for line in shown if not line.startswith("Reply")])
        if not yes and not click.confirm(
            "Shortlist them, tell their senders and send the poll?", default=False
        ):
            click.echo("Nothing done.")
            return

        def act(desk: Any) -> list[str]:
            reply = moderation.shortlist(desk, "\n".join(lines))
            drafted = int(reply.buttons[0].reply.split()[1])
            return staff.confirm(desk, drafted).lines

        _echo(await office.at_desk(act))
        await office.run_due(1)

    run_async(_office(settings_of(ctx), work))


# -- parley panel ---------------------------------------------------------------------------


@click.group()
def panel() -> None:
    """Resident panels chosen by lot: invite, select, notify, vote."""


async def _send(office: _Office, make: Callable[[Any], Any], yes: bool) -> int | None:
    """Draft a broadcast with ``make(desk)``, show its preview, send it if confirmed;
    returns the broadcast sent, or None."""
    from bot import staff
    from bot.store import broadcasts

    drafted = await office.at_desk(make)
    _echo(drafted.lines)
    if not drafted.preview.recipients:
        click.echo("Nobody to send to.")
    elif yes or click.confirm("Send it?", default=False):
        _echo((await office.at_desk(lambda desk: staff.confirm(desk, drafted.id))).lines)
        await office.run_due(drafted.preview.recipients)
        return int(drafted.id)
    await office.at_desk(lambda desk: broadcasts.cancel(desk.tx, drafted.id, desk.now))
    click.echo("Not sent.")
    return None


@panel.command()
@click.argument("name")
@click.option("--sample", type=click.IntRange(min=1), required=True, help="How many to invite.")
@click.option("--seed", type=int, required=True, help="The sample's seed (write it down).")
@click.option("--by", "strata", metavar="FIELD", help="Spread the sample over this contact field.")
@click.option("--yes", is_flag=True, help="Send without asking.")
@click.pass_context
def invite(
    ctx: click.Context, name: str, sample: int, seed: int, strata: str | None, yes: bool
) -> None:
    """Stage 1: invite a seeded random sample to volunteer (the panel flow)."""
    settings = settings_of(ctx)

    async def work(office: _Office) -> None:
        from bot import staff
        from bot.audience import Audience
        from bot.broadcast import Survey
        from bot.store import broadcasts, panels
        from bot.store.broadcasts import NewBroadcast

        def make(desk: Any) -> Any:
            flow = desk.flows.get(settings.panel_flow)
            if flow is None:
                raise staff.Refused(f"there is no flow '{settings.panel_flow}' (PARLEY_PANEL_FLOW)")
            panel_id = panels.create(desk.tx, name, seed, desk.now)
            audience = Audience(sample=sample, seed=seed, strata=strata)
            new = NewBroadcast(broadcasts.FLOW, audience.to_json(), flow_id=flow.id)
            drafted = staff.draft(desk, new, Survey(flow))
            panels.set_invite(desk.tx, panel_id, drafted.id)
            return replace(drafted, lines=[f"Panel {panel_id} '{name}':", *drafted.lines[1:]])

        if await _send(office, make, yes) is None:  # no panel without its invitation
            await office.at_desk(lambda desk: panels.drop_uninvited(desk.tx))

    run_async(_office(settings, work))


@panel.command()
@click.argument("panel_id", type=int)
@click.pass_context
def show(ctx: click.Context, panel_id: int) -> None:
    """Volunteers and, once drawn, each one's chance of selection and status."""

    async def work(office: _Office) -> None:
        _echo(await office.at_desk(lambda desk: _report(desk, panel_id)))

    run_async(_office(settings_of(ctx), work))


def _report(desk: Any, panel_id: int) -> list[str]:
    from bot import panels as panel_work
    from bot.staff import Refused
    from bot.store import panels

    found = panels.get(desk.tx, panel_id)
    if found is None:
        raise Refused(f"there is no panel {panel_id}")
    return panel_work.report(found, panels.members(desk.tx, panel_id))


@panel.command()
@click.argument("panel_id", type=int)
@click.option("--size", type=click.IntRange(min=1), required=True, help="Members to choose.")
@click.option(
    "--quotas",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="CSV: category,value,min,max.",
)
@click.option("--seed", type=int, required=True, help="The draw's seed (write it down).")
@click.pass_context
def select(ctx: click.Context, panel_id: int, size: int, quotas: Path, seed: int) -> None:
    """Stage 2: draw the panel from the volunteers, within the quotas (maximin)."""
    from bot import panels as panel_work
    from bot import sortition
    from bot.staff import Refused
    from bot.store import panels

    async def work(office: _Office) -> None:
        chosen_quotas = panel_work.load_quotas(quotas)  # a problem: "file:line: what"

        def members(desk: Any) -> Any:
            found = panels.get(desk.tx, panel_id)
            if found is None:
                raise Refused(f"there is no panel {panel_id}")
            if found.selected:
                raise Refused(f"panel {panel_id} was drawn already (seed {found.seed})")
            return panels.members(desk.tx, panel_id)

        volunteers = await office.at_desk(members)
        click.echo(f"Drawing {size} from {len(volunteers)} volunteers (maximin, seed {seed})…")
        try:
            draw = await asyncio.to_thread(
                sortition.draw, panel_work.pool(volunteers), chosen_quotas, size, seed
            )
        except (sortition.Infeasible, sortition.Unavailable) as problem:
            raise Refused(f"panel not drawn: {problem}") from None
        await office.at_desk(
            lambda desk: panel_work.record(
                desk.tx, panel_id, volunteers, chosen_quotas, size, draw, desk.now
            )
        )
        _echo(await office.at_desk(lambda desk: _report(desk, panel_id)))
        click.echo(f"Tell them with: parley panel notify {panel_id}")

    run_async(_office(settings_of(ctx), work))


@panel.command()
@click.argument("panel_id", type=int)
@click.pass_context
def notify(ctx: click.Context, panel_id: int) -> None:
    """Ask the chosen to take their seat; thank the others (in their languages)."""
    settings = settings_of(ctx)

    async def work(office: _Office) -> None:
        from bot import panels as panel_work
        from bot.staff import Refused
        from bot.store import panels

        def tell(desk: Any) -> list[int]:
            found = panels.get(desk.tx, panel_id)
            if found is None or not found.selected:
                raise Refused(f"panel {panel_id} is not drawn yet")
            return panel_work.notify(
                desk.tx, desk.env, settings.panel_seat_flow, panel_id, desk.who, desk.now
            )

        sent = await office.at_desk(tell)
        await office.run_due(1)
        click.echo(f"Broadcasts {', '.join(map(str, sent))}: the chosen and the reserves told.")

    run_async(_office(settings, work))


@panel.command()
@click.argument("panel_id", type=int)
@click.option("--proposal", required=True, help="What the panel votes on, in the default language.")
@click.option(
    "--translation",
    "translations",
    multiple=True,
    metavar="LANG=TEXT",
    help="The proposal in another language.",
)
@click.option(
    "--quorum", default="50%", show_default=True, help="Share of members (50%) or a number."
)
@click.option(
    "--threshold",
    default="majority",
    show_default=True,
    help="majority, two-thirds or a share like 80%.",
)
@click.option("--closes", metavar="WHEN", help="Closing time: 18:00, 2026-12-01 18:00 or 3d.")
@click.option("--yes", is_flag=True, help="Send without asking.")
@click.pass_context
def vote(
    ctx: click.Context,
    panel_id: int,
    proposal: str,
    translations: tuple[str, ...],
    quorum: str,
    threshold: str,
    closes: str | None,
    yes: bool,
) -> None:
    """Put a proposal or funding bid to the members who took their seat."""
    settings = settings_of(ctx)
    texts = {settings.default_language: proposal, **name_values(translations, "--translation")}

    async def work(office: _Office) -> None:
        from bot import panels as panel_work
        from bot import staff
        from bot.audience import Audience
        from bot.broadcast import Survey
        from bot.polls import as_flow, check
        from bot.store import broadcasts, panels
        from bot.store.broadcasts import NewBroadcast

        def make(desk: Any) -> Any:
            if panels.get(desk.tx, panel_id) is None:
                raise staff.Refused(f"there is no panel {panel_id}")
            at = staff.when(closes, desk.now, settings.timezone) if closes else None
            try:
                new_poll = panel_work.panel_poll(
                    desk.env,
                    settings.default_language,
                    texts,
                    panel_id,
                    quorum,
                    threshold,
                    at,
                    "cli",
                )
            except ValueError as bad:
                raise staff.Refused(str(bad)) from None
            wrong = check(new_poll, desk.now)
            seated = panel_work.seated(desk.tx, panel_id)
            if wrong is None and quorum.strip().isdigit() and int(quorum) > seated:
                wrong = f"a quorum of {quorum} is more than the {seated} members seated"
            if wrong is not None:
                raise staff.Refused(f"vote not made: {wrong}")
            poll = staff.create_poll(desk.tx, new_poll, desk.now)
            audience = Audience(panel=panel_id, panel_status=(panels.ACCEPTED,))
            new = NewBroadcast(
                broadcasts.POLL, audience.to_json(), flow_id=poll.flow_id, poll_id=poll.id
            )
            drafted = staff.draft(desk, new, Survey(as_flow(poll, desk.env)))
            head = f"Panel vote: poll {poll.id} (quorum {quorum}, threshold {threshold})"
            return replace(drafted, lines=[head, *drafted.lines])

        await _send(office, make, yes)

    run_async(_office(settings, work))


# -- parley decision --------------------------------------------------------------------------


@click.group()
def decision() -> None:
    """Decisions sent back to everyone who took part: record, update, reach."""


_STATUS = click.Choice(["agreed", "rejected", "in_progress", "done"])


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
    settings = settings_of(ctx)
    given = name_values(texts, "--text")

    def make(desk: Any) -> Any:
        from bot import decisions, staff

        try:
            made = decisions.record(
                desk.tx,
                desk.env,
                desk.flows,
                settings.default_language,
                status,
                given,
                answers,
                desk.who,
                desk.now,
            )
        except decisions.Unknown as problem:
            raise staff.Refused(str(problem)) from None
        return made.decision_id, made.broadcast

    run_async(_office(settings, lambda office: _decide(office, make, status, given, yes)))


@decision.command()
@click.argument("decision_id", type=int)
@_sending("update")
@click.pass_context
def update(
    ctx: click.Context, decision_id: int, status: str, texts: tuple[str, ...], yes: bool
) -> None:
    """Send a progress update on a decision to the same people it first went to."""
    settings = settings_of(ctx)
    given = name_values(texts, "--text")

    def make(desk: Any) -> Any:
        from bot import decisions, staff
        from bot.store import decisions as stored

        found = stored.get(desk.tx, decision_id)
        if found is None or not found.sends:
            raise staff.Refused(f"there is no decision {decision_id}")
        try:
            new = decisions.progress(desk.env, found, status, given, desk.who)
        except decisions.Unknown as problem:
            raise staff.Refused(str(problem)) from None
        return decision_id, new

    run_async(_office(settings, lambda office: _decide(office, make, status, given, yes)))


async def _decide(
    office: _Office, make: Callable[[Any], Any], status: str, texts: dict[str, str], yes: bool
) -> None:
    """Preview a decision's sending (nothing kept), then, if confirmed, do it for real.
    ``make(desk)`` records what is needed and gives (decision, its broadcast)."""
    from bot import decisions, staff
    from bot.broadcast import Message

    def preview(desk: Any) -> list[str]:
        new = make(desk)[1]
        return staff.draft(desk, new, Message(new.texts)).lines

    _echo(await office.at_desk(lambda desk: _dry_run(desk, preview)))
    if not yes and not click.confirm("Send it?", default=False):
        click.echo("Nothing recorded or sent.")
        return

    def send(desk: Any) -> tuple[int, int]:
        decision_id, new = make(desk)
        drafted = decisions.send(desk, decision_id, new, status, texts)
        return decision_id, drafted.preview.recipients

    decision_id, recipients = await office.at_desk(send)
    await office.run_due(recipients)
    click.echo(f"Decision {decision_id}: sent to {recipients} residents who took part.")
    click.echo(f"See who it reached with: parley decision reach {decision_id}")


@decision.command()
@click.argument("decision_id", type=int)
@click.pass_context
def reach(ctx: click.Context, decision_id: int) -> None:
    """Who each sending of a decision reached: delivered, sent, failed, waiting."""

    async def work(office: _Office) -> None:
        from bot import decisions
        from bot.staff import Refused
        from bot.store import decisions as stored

        def lines(desk: Any) -> list[str]:
            found = stored.get(desk.tx, decision_id)
            if found is None or not found.sends:
                raise Refused(f"there is no decision {decision_id}")
            return decisions.reach_lines(desk.tx, found)

        _echo(await office.at_desk(lines))

    run_async(_office(settings_of(ctx), work))


COMMUNITY_COMMANDS = [ideas, panel, decision]
