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

from bot.cli.broadcasts import _echo, _Office, _office
from bot.cli.common import (
    TextFile,
    check_languages,
    exists,
    name_values,
    recent_ids,
    run_async,
    settings_of,
    unknown,
    unknown_ideas,
)
from bot.cli.preview import as_typed_here, dry_run, go_ahead, news
from bot.english import counted

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def _staff_text(
    ctx: click.Context,
    text: str,
    question: str | None = None,
    yes: bool = False,
    hints: Callable[[list[str]], list[str]] = lambda shown: [],
    refs: tuple[str, ...] = (),
) -> None:
    """Do a staff command as typed on a phone, and write what it sends. Given a
    ``question``, it tells residents something: what they would be sent is shown
    first (worked out, then undone), and it is done only if the answer is yes."""
    from bot.phone import commands as staff
    from bot.store import broadcasts

    command = staff.command_of(text)
    assert command is not None

    def do(desk: Any) -> staff.StaffReply:
        problem = unknown_ideas(desk.tx, refs)  # the ideas named, or those that exist
        if problem is not None:
            raise staff.Refused(problem)
        reply = staff.perform(desk, command, text)
        if reply.refused:
            raise staff.Refused(" ".join(as_typed_here(reply.lines)))
        return reply

    def preview(desk: Any) -> list[str]:
        since = broadcasts.last_id(desk.tx)
        do(desk)
        return news(desk, since)

    async def work(office: _Office) -> None:
        if question is not None:
            _echo(await office.at_desk(lambda desk: dry_run(desk, preview)))
            if not go_ahead(question, yes):
                return
        reply = await office.at_desk(do)
        shown = as_typed_here(reply.lines)
        _echo(shown + hints(shown))
        if reply.scheduled:
            await office.jobs.run_due()

    run_async(_office(settings_of(ctx), work))


# -- parley ideas ---------------------------------------------------------------------------


@click.group()
def ideas() -> None:
    """Moderate residents' ideas: list, approve, reject, merge, shortlist into a poll."""


@ideas.command(name="list")
@click.pass_context
def ideas_list(ctx: click.Context) -> None:
    """New and approved ideas (flagged ones redacted)."""

    def hints(shown: list[str]) -> list[str]:
        if not any(line.startswith("ID-") for line in shown):
            return []
        return [
            "Moderate them with:",
            "  parley ideas approve ID",
            "  parley ideas reject ID REASON",
            "  parley ideas merge DUPLICATE KEPT",
            "  parley ideas shortlist ID ID ...",
        ]

    _staff_text(ctx, "/ideas", hints=hints)


@ideas.command(name="show")
@click.argument("ref")
@click.pass_context
def ideas_show(ctx: click.Context, ref: str) -> None:
    """One idea in full."""
    _staff_text(ctx, f"/idea {ref}", refs=(ref,))


@ideas.command()
@click.argument("ref")
@click.pass_context
def approve(ctx: click.Context, ref: str) -> None:
    """Approve an idea (a flagged one keeps its personal details hidden)."""
    _staff_text(ctx, f"/approve {ref}", refs=(ref,))


@ideas.command()
@click.argument("ref")
@click.argument("reason", nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="Tell the sender without asking.")
@click.pass_context
def reject(ctx: click.Context, ref: str, reason: tuple[str, ...], yes: bool) -> None:
    """Not taken forward: REASON is done, scope, cost, rules (sent translated) or words."""
    question = f"Reject {ref} and tell its sender?"
    _staff_text(ctx, f"/reject {ref} {' '.join(reason)}", question, yes, refs=(ref,))


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
    question = f"Merge {duplicate} into {words[0]} and tell its sender?"
    _staff_text(
        ctx, f"/merge {duplicate} into {words[0]}", question, yes, refs=(duplicate, words[0])
    )


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
    from bot.phone import commands as staff
    from bot.phone import ideas as moderation

    lines = [" ".join(refs)]
    if question:
        lines.append(question)
    if closes:
        lines.append(f"closes: {closes}")
    given = name_values(translations, "--translation")
    check_languages(settings_of(ctx), list(given), "--translation")
    lines += [f"{lang}: {text}" for lang, text in given.items()]

    if len(refs) < 2:
        raise click.UsageError("give 2 to 9 approved ideas, like: ID-4821 ID-2659")

    async def work(office: _Office) -> None:
        from bot.store import broadcasts

        def preview(desk: Any) -> list[str]:  # shown, then undone: nothing kept or told
            problem = unknown_ideas(desk.tx, refs)
            if problem is not None:
                raise staff.Refused(problem)
            since = broadcasts.last_id(desk.tx)
            shown = moderation.shortlist(desk, "\n".join(lines)).lines[1:]
            told = news(desk, since)
            return [*as_typed_here(shown), "News for their senders:" if told else "", *told]

        _echo(await office.at_desk(lambda desk: dry_run(desk, preview)))
        if not go_ahead("Shortlist them, tell their senders and send the poll?", yes):
            return

        def act(desk: Any) -> tuple[list[str], int]:
            reply = moderation.shortlist(desk, "\n".join(lines))
            drafted = int(reply.buttons[0].reply.split()[1])
            made = broadcasts.get(desk.tx, drafted)
            assert made is not None
            assert made.poll_id is not None
            return [reply.lines[0], *staff.confirm(desk, drafted).lines], made.poll_id

        said, poll_id = await office.at_desk(act)
        _echo(said)
        await office.run_due(1)
        click.echo(f"See the votes with: parley results {poll_id}")

    run_async(_office(settings_of(ctx), work))


# -- parley panel ---------------------------------------------------------------------------


@click.group()
def panel() -> None:
    """Resident panels chosen by lot: invite, select, notify, vote."""


async def _send(office: _Office, make: Callable[[Any], Any], yes: bool) -> Any | None:
    """Show the preview of the broadcast ``make(desk)`` drafts (worked out, then undone),
    and if confirmed draft and send it for real; returns what ``make`` gave, or None:
    then nothing was made."""
    from bot.phone import commands as staff

    shown = await office.at_desk(lambda desk: dry_run(desk, make))
    _echo(as_typed_here(shown.lines))
    if not shown.preview.recipients:
        click.echo("Nobody to send to. Nothing done.")
        return None
    if not go_ahead("Send it?", yes, "Not sent. Nothing done."):
        return None

    def send(desk: Any) -> tuple[Any, list[str]]:
        drafted = make(desk)
        return drafted, staff.confirm(desk, drafted.id).lines

    drafted, said = await office.at_desk(send)
    _echo(said)
    await office.run_due(drafted.preview.recipients)
    return drafted


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
        from bot.outreach.audience import Audience
        from bot.outreach.broadcast import Survey
        from bot.phone import commands as staff
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

        sent = await _send(office, make, yes)
        if sent is not None:
            panel_id = await office.at_desk(lambda desk: panels.inviting(desk.tx, sent.id))
            click.echo(f"See who volunteers with: parley panel show {panel_id}")

    run_async(_office(settings, work))


@panel.command()
@click.argument("panel_id", type=int)
@click.option(
    "--quotas",
    type=TextFile(),
    help="CSV: category,value,min,max: the pool against these (before the draw).",
)
@click.pass_context
def show(ctx: click.Context, panel_id: int, quotas: Path | None) -> None:
    """The pool by category against the quotas; once drawn, each volunteer's chance of
    selection and status."""
    from bot.civic import panels as panel_work

    async def work(office: _Office) -> None:
        chosen_quotas = panel_work.load_quotas(quotas) if quotas else None
        lines = await office.at_desk(lambda desk: _report(desk, panel_id, chosen_quotas))
        _echo(lines)
        if "not drawn yet" in lines[0]:
            click.echo(
                f"Draw it with: parley panel select {panel_id} --size N --quotas FILE --seed N"
            )

    run_async(_office(settings_of(ctx), work))


def _report(desk: Any, panel_id: int, quotas: Any = None) -> list[str]:
    from bot.civic import panels as panel_work
    from bot.phone.commands import Refused
    from bot.store import panels

    found = panels.get(desk.tx, panel_id)
    if found is None:
        raise Refused(unknown("panel", panel_id, recent_ids(desk.tx, "panel")))
    return panel_work.report(found, panels.members(desk.tx, panel_id), quotas)


@panel.command()
@click.argument("panel_id", type=int)
@click.option("--size", type=click.IntRange(min=1), required=True, help="Members to choose.")
@click.option(
    "--quotas",
    type=TextFile(),
    required=True,
    help="CSV: category,value,min,max.",
)
@click.option("--seed", type=int, required=True, help="The draw's seed (write it down).")
@click.pass_context
def select(ctx: click.Context, panel_id: int, size: int, quotas: Path, seed: int) -> None:
    """Stage 2: draw the panel from the volunteers, within the quotas (maximin)."""
    from bot.civic import panels as panel_work
    from bot.civic import sortition
    from bot.phone.commands import Refused
    from bot.store import panels

    async def work(office: _Office) -> None:
        chosen_quotas = panel_work.load_quotas(quotas)  # a problem: "file:line: what"

        def members(desk: Any) -> Any:
            found = panels.get(desk.tx, panel_id)
            if found is None:
                raise Refused(unknown("panel", panel_id, recent_ids(desk.tx, "panel")))
            if found.selected:
                raise Refused(f"panel {panel_id} was drawn already (seed {found.seed})")
            return panels.members(desk.tx, panel_id)

        volunteers = await office.at_desk(members)
        click.echo(
            f"Drawing {size} from {counted(len(volunteers), 'volunteer')} (maximin, seed {seed})…"
        )
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
@click.option("--yes", is_flag=True, help="Send without asking.")
@click.pass_context
def notify(ctx: click.Context, panel_id: int, yes: bool) -> None:
    """Ask the chosen to take their seat; thank the others (in their languages)."""
    settings = settings_of(ctx)

    async def work(office: _Office) -> None:
        from bot.civic import panels as panel_work
        from bot.phone.commands import Refused
        from bot.store import panels

        def tell(desk: Any) -> list[int]:
            found = panels.get(desk.tx, panel_id)
            if found is None:
                raise Refused(unknown("panel", panel_id, recent_ids(desk.tx, "panel")))
            if not found.selected:
                raise Refused(f"panel {panel_id} is not drawn yet")
            return panel_work.notify(
                desk.tx, desk.env, settings.panel_seat_flow, panel_id, desk.who, desk.now
            )

        def preview(desk: Any) -> list[str]:
            from bot.store import broadcasts

            since = broadcasts.last_id(desk.tx)
            tell(desk)
            return news(desk, since)

        _echo(await office.at_desk(lambda desk: dry_run(desk, preview)))
        if not go_ahead("Ask the chosen to take their seat and thank the others?", yes):
            return
        sent = await office.at_desk(tell)
        await office.run_due(1)
        click.echo(f"Broadcasts {', '.join(map(str, sent))}: the chosen and the reserves told.")
        click.echo(f"See who takes their seat with: parley panel show {panel_id}")

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
    check_languages(settings, list(texts), "--translation")

    async def work(office: _Office) -> None:
        from bot.civic import panels as panel_work
        from bot.civic.polls import as_flow, check
        from bot.outreach.audience import Audience
        from bot.outreach.broadcast import Survey
        from bot.phone import commands as staff
        from bot.store import broadcasts, panels
        from bot.store.broadcasts import NewBroadcast

        def make(desk: Any) -> Any:
            if panels.get(desk.tx, panel_id) is None:
                raise staff.Refused(unknown("panel", panel_id, recent_ids(desk.tx, "panel")))
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
                wrong = f"a quorum of {quorum} is more than the {counted(seated, 'member')} seated"
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

        sent = await _send(office, make, yes)
        if sent is not None:
            made = await office.at_desk(lambda desk: broadcasts.get(desk.tx, sent.id))
            assert made is not None
            click.echo(f"See the vote with: parley results {made.poll_id}")

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
    check_languages(settings, list(given), "--text")

    def make(desk: Any) -> Any:
        from bot.civic import decisions
        from bot.phone import commands as staff

        for item in answers:  # a poll or flow that does not exist: say which ones do
            kind, _, name = item.strip().partition(":")
            if kind == "poll" and name.isdigit() and not exists(desk.tx, "poll", int(name)):
                known = recent_ids(desk.tx, "poll")
                raise staff.Refused(f"--answers: {unknown('poll', name, known)}")
            if kind == "flow" and name not in desk.flows:
                raise staff.Refused(
                    f"--answers: there is no flow '{name}'; flows: {', '.join(sorted(desk.flows))}"
                )
            if kind == "idea" and (problem := unknown_ideas(desk.tx, [name])) is not None:
                raise staff.Refused(f"--answers: {problem}")
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
    check_languages(settings, list(given), "--text")

    def make(desk: Any) -> Any:
        from bot.civic import decisions
        from bot.phone import commands as staff
        from bot.store import decisions as stored

        found = stored.get(desk.tx, decision_id)
        if found is None or not found.sends:
            raise staff.Refused(unknown("decision", decision_id, recent_ids(desk.tx, "decision")))
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
    from bot.civic import decisions
    from bot.outreach.broadcast import Message
    from bot.phone import commands as staff

    def preview(desk: Any) -> list[str]:
        new = make(desk)[1]
        return staff.draft(desk, new, Message(new.texts)).lines

    _echo(as_typed_here(await office.at_desk(lambda desk: dry_run(desk, preview))))
    if not yes and not click.confirm("Send it?", default=False):
        click.echo("Nothing recorded or sent.")
        return

    def send(desk: Any) -> tuple[int, int]:
        decision_id, new = make(desk)
        drafted = decisions.send(desk, decision_id, new, status, texts)
        return decision_id, drafted.preview.recipients

    decision_id, recipients = await office.at_desk(send)
    await office.run_due(recipients)
    click.echo(f"Decision {decision_id}: sent to {counted(recipients, 'resident')} who took part.")
    click.echo(f"See who it reached with: parley decision reach {decision_id}")


@decision.command()
@click.argument("decision_id", type=int)
@click.pass_context
def reach(ctx: click.Context, decision_id: int) -> None:
    """Who each sending of a decision reached: delivered, sent, failed, waiting."""

    async def work(office: _Office) -> None:
        from bot.civic import decisions
        from bot.phone.commands import Refused
        from bot.store import decisions as stored

        def lines(desk: Any) -> list[str]:
            found = stored.get(desk.tx, decision_id)
            if found is None or not found.sends:
                raise Refused(unknown("decision", decision_id, recent_ids(desk.tx, "decision")))
            return decisions.reach_lines(desk.tx, found)

        _echo(await office.at_desk(lines))

    run_async(_office(settings_of(ctx), work))


COMMUNITY_COMMANDS = [ideas, panel, decision]
