"""The staff commands on the command line: ``parley poll``, ``parley broadcast``,
``parley results``, ``parley close``, ``parley pause``, ``parley resume``,
``parley cancel``. They do what the Telegram commands do (:mod:`bot.phone.commands`), as an
organiser, and show progress while a big send is written to the outbox."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.cli.common import (
    OutputPath,
    TextFile,
    check_languages,
    exists,
    name_values,
    read_yaml,
    recent_ids,
    run_async,
    settings_of,
    unknown,
)
from bot.cli.preview import as_typed_here, dry_run, go_ahead
from bot.english import counted
from bot.settings import Settings

T = TypeVar("T")


@dataclass
class _Office:
    """Parley opened for one staff command from the command line."""

    settings: Settings
    database: Any
    jobs: Any

    @classmethod
    async def open(cls, settings: Settings) -> _Office:
        from bot.app import load_content
        from bot.outreach.schedule import Jobs
        from bot.service import utc_now
        from bot.store import Database

        flows, env = load_content(settings)
        database = await Database.open(settings.database)
        return cls(settings, database, Jobs(database, flows, env, settings, utc_now))

    async def at_desk(self, work: Callable[[Any], T]) -> T:
        """Run ``work(desk)`` in one transaction, as an organiser at the command line."""
        from bot.phone.commands import Desk, Role

        jobs = self.jobs
        now = jobs.clock()
        return await self.database.run(  # type: ignore[no-any-return]
            lambda tx: work(
                Desk(tx, self.settings, jobs.env, jobs.flows, now, "cli", Role.ORGANISER)
            )
        )

    async def run_due(self, expected: int) -> None:
        """Do what is due now (a send just confirmed), with a progress bar."""
        with click.progressbar(
            length=max(expected, 1), label="Writing to the outbox", file=sys.stderr
        ) as bar:
            await self.jobs.run_due(bar.update)

    async def close(self) -> None:
        await self.database.close()


async def _office(settings: Settings, work: Callable[[_Office], Any]) -> None:
    from bot.phone.commands import Refused

    office = await _Office.open(settings)
    try:
        await work(office)
    except Refused as problem:
        said = as_typed_here(str(problem).splitlines())  # never the phone's /results
        raise click.ClickException("\n".join(said)) from None
    finally:
        await office.close()


def _echo(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


# -- parley poll --------------------------------------------------------------------------


@click.command()
@click.argument("question", required=False)
@click.option("-o", "--option", "labels", multiple=True, metavar="TEXT", help="An option (2-9).")
@click.option(
    "--translation",
    "translations",
    multiple=True,
    metavar="LANG=Q|A|B",
    help="The question and options in another language, split by |.",
)
@click.option("--from-flow", metavar="FLOW", help="Take the question of this flow (translated).")
@click.option("--multiple", is_flag=True, help="Residents may choose several options.")
@click.option("--closes", metavar="WHEN", help="Closing time: 18:00, 2026-12-01 18:00 or 3d.")
@click.option(
    "--results",
    "results_rule",
    type=click.Choice(["send", "public", "private"]),
    default="send",
    show_default=True,
    help="After closing: send voters the result, only show it to late voters, or neither.",
)
@click.pass_context
def poll(
    ctx: click.Context,
    question: str | None,
    labels: tuple[str, ...],
    translations: tuple[str, ...],
    from_flow: str | None,
    multiple: bool,
    closes: str | None,
    results_rule: str,
) -> None:
    """Make a poll (send it with `parley broadcast --poll N`)."""
    settings = settings_of(ctx)

    async def work(office: _Office) -> None:
        from bot.civic.polls import check, options_from_labels, translated
        from bot.phone.commands import Refused, create_poll, poll_lines, when
        from bot.store.polls import NewPoll

        source = settings.default_language
        if from_flow is not None:
            texts, options = _flow_question(office.jobs.flows, from_flow)
        elif question is None:
            raise Refused("give the question (or --from-flow FLOW) and its options with -o")
        else:
            texts, options = {source: question}, options_from_labels(labels, source)
            given = name_values(translations, "--translation")
            check_languages(settings, list(given), "--translation")
            for language, line in given.items():
                both = translated(texts, options, language, line)
                if both is None:
                    raise Refused(f"--translation {language}: the question and each option, by |")
                texts, options = both

        def make(desk: Any) -> list[str]:
            new = NewPoll(
                texts,
                options,
                source,
                multiple,
                results_rule,
                when(closes, desk.now, settings.timezone) if closes else None,
                "cli",
            )
            problem = check(new, desk.now)
            if problem is not None:
                raise Refused(f"poll not made: {problem}")
            made = create_poll(desk.tx, new, desk.now)
            return [
                *poll_lines(made, settings.timezone),
                f"Send it with: parley broadcast --poll {made.id}",
            ]

        _echo(await office.at_desk(make))

    run_async(_office(settings, work))


def _flow_question(flows: Any, flow_id: str) -> tuple[dict[str, str], tuple[Any, ...]]:
    from bot.engine.flow import ChoiceQuestion
    from bot.phone.commands import Refused
    from bot.store.polls import PollOption

    flow = flows.get(flow_id)
    if flow is None:
        raise Refused(f"there is no flow '{flow_id}'; flows: {', '.join(sorted(flows))}")
    question = next((s for s in flow.steps if isinstance(s, ChoiceQuestion)), None)
    if question is None:
        raise Refused(f"flow '{flow_id}' has no choice question to make a poll of")
    options = tuple(PollOption(o.id, dict(o.label.texts), dict(o.words)) for o in question.options)
    return dict(question.text.texts), options


# -- parley broadcast ---------------------------------------------------------------------


@click.command()
@click.option(
    "--text",
    "texts",
    multiple=True,
    metavar="LANG=TEXT",
    help="The message in a language; the default language is required.",
)
@click.option(
    "--file",
    "text_file",
    type=TextFile(),
    help="A YAML file of language: text.",
)
@click.option("--flow", "flow_id", metavar="FLOW", help="Send this survey flow instead.")
@click.option("--poll", "poll_id", type=int, metavar="N", help="Send this poll instead.")
@click.option(
    "--lang", "languages", multiple=True, metavar="CODE", help="Only this language (repeatable)."
)
@click.option(
    "--channel",
    "channels",
    multiple=True,
    type=click.Choice(["sms", "whatsapp", "telegram"]),
    help="Only this channel (repeatable).",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=VALUE",
    help="Only residents whose field has this value, like ward=North.",
)
@click.option("--took-part", metavar="FLOW", help="Only residents who answered this flow/poll.")
@click.option("--not-took-part", metavar="FLOW", help="Only residents who did not answer it.")
@click.option("--sample", type=click.IntRange(min=1), help="A random sample of this many.")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="The same seed picks the same sample."
)
@click.option("--at", "at", metavar="WHEN", help="Send later: 18:00, 2026-12-01 18:00 or 2h.")
@click.option(
    "--remind-after",
    metavar="DELAY",
    help="Remind who has not answered the flow or poll after this delay, like 2d.",
)
@click.option("--yes", is_flag=True, help="Send without asking for confirmation.")
@click.pass_context
def broadcast(
    ctx: click.Context,
    texts: tuple[str, ...],
    text_file: Path | None,
    flow_id: str | None,
    poll_id: int | None,
    languages: tuple[str, ...],
    channels: tuple[str, ...],
    fields: tuple[str, ...],
    took_part: str | None,
    not_took_part: str | None,
    sample: int | None,
    seed: int,
    at: str | None,
    remind_after: str | None,
    yes: bool,
) -> None:
    """Send a message, a survey flow or a poll to an audience: shows who gets it and
    what it costs, asks, then writes it to the outbox (a running `parley run` sends it;
    one set for later is sent by `parley run` when its time comes)."""
    from bot.outreach.audience import Audience

    settings = settings_of(ctx)
    message = name_values(texts, "--text")
    if text_file is not None:
        loaded = read_yaml(text_file)
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise click.ClickException(f"{text_file}: expected lines like  en: the message")
        message = {str(k): v.strip() for k, v in loaded.items()} | message
    chosen = sum(bool(x) for x in (message, flow_id, poll_id is not None))
    if chosen != 1:
        raise click.ClickException("give one of: --text (or --file), --flow, --poll")
    check_languages(settings, [*message, *languages], "--text" if message else "--lang")
    if message and settings.default_language not in message:
        raise click.ClickException(
            f"give the message in {settings.default_language} (the default language),"
            f" like --text '{settings.default_language}=...'"
        )
    audience = Audience(
        languages=languages,
        channels=channels,
        fields=name_values(fields, "--field"),
        took_part_in=took_part,
        not_took_part_in=not_took_part,
        sample=sample,
        seed=seed,
    )

    async def work(office: _Office) -> None:
        from bot.civic.polls import as_flow
        from bot.outreach.broadcast import Message, Survey
        from bot.phone import commands as staff
        from bot.store import broadcasts, polls
        from bot.store.broadcasts import NewBroadcast

        def make(desk: Any) -> staff.Drafted:
            for option, named in (("--took-part", took_part), ("--not-took-part", not_took_part)):
                if named is not None and not _flow_exists(desk, named):
                    raise staff.Refused(
                        f"{option}: there is no flow '{named}'; flows:"
                        f" {', '.join(sorted(desk.flows))} (a poll's flow is poll-N)"
                    )
            send_at = staff.when(at, desk.now, settings.timezone) if at else None
            remind = staff.duration(remind_after) if remind_after else None
            content: Any
            if message:
                if remind is not None:
                    raise staff.Refused("--remind-after is for flows and polls")
                new = NewBroadcast(broadcasts.MESSAGE, audience.to_json(), texts=message)
                content = Message(message)
            elif flow_id is not None:
                flow = desk.flows.get(flow_id)
                if flow is None:
                    raise staff.Refused(
                        f"there is no flow '{flow_id}'; flows: {', '.join(sorted(desk.flows))}"
                    )
                new = NewBroadcast(broadcasts.FLOW, audience.to_json(), flow_id=flow_id)
                content = Survey(flow)
            else:
                assert poll_id is not None
                found = polls.get(desk.tx, poll_id)
                if found is None:
                    raise staff.Refused(unknown("poll", poll_id, recent_ids(desk.tx, "poll")))
                if found.status == "closed":
                    raise staff.Refused(f"poll {poll_id} has closed")
                new = NewBroadcast(
                    broadcasts.POLL, audience.to_json(), flow_id=found.flow_id, poll_id=found.id
                )
                content = Survey(as_flow(found, desk.env))
            return staff.draft(desk, replace(new, send_at=send_at, remind_after=remind), content)

        # The preview is worked out and undone; a confirmed send drafts it again for real,
        # so a broadcast not sent leaves nothing behind.
        shown = await office.at_desk(lambda desk: dry_run(desk, make))
        click.echo(f"To {audience.describe()}:")
        _echo(shown.lines[1:])
        if not shown.preview.recipients:
            click.echo("Nobody to send to. Nothing done.")
            return
        if not go_ahead("Send it?", yes, "Not sent. Nothing done."):
            return

        def send(desk: Any) -> tuple[staff.Drafted, staff.StaffReply]:
            drafted = make(desk)
            return drafted, staff.confirm(desk, drafted.id)

        drafted, reply = await office.at_desk(send)
        _echo(reply.lines)
        if at is None:
            await office.run_due(drafted.preview.recipients)
            click.echo(
                f"Broadcast {drafted.id}: {counted(drafted.preview.recipients, 'message')}"
                " queued. A running `parley run` sends them."
            )
        else:
            click.echo("A running `parley run` sends it then (or at its next start).")

    run_async(_office(settings, work))


# -- parley results, close, pause, resume, cancel -----------------------------------------


@click.command()
@click.argument("target", metavar="POLL|FLOW")
@click.option("--by", metavar="WHAT", help="Break down by language, channel or a contact field.")
@click.option(
    "--chart",
    type=OutputPath(),
    help="Also draw a bar chart to this PNG file.",
)
@click.option("--question", metavar="ID", help="Survey question to chart (default: the first).")
@click.pass_context
def results(
    ctx: click.Context, target: str, by: str | None, chart: Path | None, question: str | None
) -> None:
    """Results of a poll (by number) or a survey (by flow id): counts, percentages and a
    breakdown; live while a poll is open."""
    from bot.phone import commands as staff

    if by is not None and len(by.split()) != 1:
        raise click.BadParameter(
            "one word: language, channel or a contact field", param_hint="--by"
        )
    body = f"{target} by {by}" if by else target
    settings = settings_of(ctx)

    async def work(office: _Office) -> None:
        await office.at_desk(lambda desk: _known_target(desk, target))
        reply = await office.at_desk(lambda desk: staff.show_results(desk, body))
        _echo(reply.lines)
        if chart is not None:
            legend = await office.at_desk(lambda desk: _draw(desk, target, question, chart))
            click.echo(f"Chart written to {chart}.", err=True)
            if legend:
                click.echo("The chart numbers its bars (this script cannot be drawn here):")
                _echo(list(legend))

    run_async(_office(settings, work))


def _flow_exists(desk: Any, flow_id: str) -> bool:
    from bot.store.polls import poll_id_of

    number = poll_id_of(flow_id)
    return flow_id in desk.flows or (number is not None and exists(desk.tx, "poll", number))


def _known_target(desk: Any, target: str) -> None:
    """A poll's number or a flow's id that exists, or an error naming those that do."""
    from bot.phone.commands import Refused
    from bot.store import polls

    if target.isdigit():
        if polls.get(desk.tx, int(target)) is None:
            raise Refused(unknown("poll", target, recent_ids(desk.tx, "poll")))
    elif target not in desk.flows:
        polls_known = ", ".join(recent_ids(desk.tx, "poll")) or "none yet"
        raise Refused(
            f"there is no poll or flow '{target}'; flows: {', '.join(sorted(desk.flows))};"
            f" polls: {polls_known}"
        )


def _draw(desk: Any, target: str, question: str | None, path: Path) -> tuple[str, ...]:
    """Draw the chart of a poll or of a survey's question; the legend, if bars are
    numbered rather than labelled."""
    from bot.civic.fonts import Fonts
    from bot.civic.results import draw, find
    from bot.errors import ExportError
    from bot.phone.commands import Refused

    try:
        report = find(desk.tx, target, desk.flows, desk.settings.languages)
        picture = draw(report, question, Fonts.find(desk.settings.fonts_dir))
    except ExportError as problem:
        raise Refused(str(problem)) from None
    path.write_bytes(picture.png)
    return picture.legend


def _known(desk: Any, kind: str, number: int) -> None:
    """An id of a poll or a broadcast that exists, or an error naming those that do."""
    from bot.phone.commands import Refused

    if not exists(desk.tx, kind, number):
        raise Refused(unknown(kind, number, recent_ids(desk.tx, kind)))


def _broadcast_action(name: str, help_text: str) -> click.Command:
    @click.command(name=name, help=help_text)
    @click.argument("number", type=int)
    @click.option("--yes", is_flag=True, help="Do it without asking.")
    @click.pass_context
    def action(ctx: click.Context, number: int, yes: bool) -> None:
        from bot.cli.listings import summary
        from bot.phone import commands as staff

        command = staff.Command(name)
        kind = "poll" if name == "close" else "broadcast"

        def do(desk: Any) -> staff.StaffReply:
            reply = staff.perform(desk, command, f"/{name} {number}")
            if reply.refused:
                raise staff.Refused(" ".join(as_typed_here(reply.lines)))
            return reply

        def preview(desk: Any) -> list[str]:
            dry_run(desk, do)  # refused now, rather than after asking
            return summary(desk, kind, number)

        async def work(office: _Office) -> None:
            await office.at_desk(lambda desk: _known(desk, kind, number))
            _echo(await office.at_desk(preview))
            what = "Close poll" if name == "close" else f"{name.capitalize()} broadcast"
            if not go_ahead(f"{what} {number}{' now' if name == 'close' else ''}?", yes):
                return
            reply = await office.at_desk(do)
            _echo(as_typed_here(reply.lines))
            if reply.scheduled:
                await office.jobs.run_due()

        run_async(_office(settings_of(ctx), work))

    return action


STAFF_COMMANDS = [
    poll,
    broadcast,
    results,
    _broadcast_action("close", "Close a poll now (its result goes to voters if it says so)."),
    _broadcast_action("pause", "Pause a broadcast: nothing more of it is sent until resumed."),
    _broadcast_action("resume", "Resume a paused broadcast."),
    _broadcast_action("cancel", "Cancel a broadcast: what is not yet sent never is."),
]
