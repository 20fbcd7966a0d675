"""``parley poll``, ``parley broadcast``, ``parley close``, ``parley pause``,
``parley resume`` and ``parley cancel``: the desk's polls and broadcasts at the shell.
Everything that sends or changes something for residents shows what it would do, then
asks (``--yes`` for scripts); a big send is written to the outbox with a progress bar."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from bot import staff_text
from bot.cli.common import TextFile, check_languages, name_values, read_yaml
from bot.cli.listings import summary
from bot.cli.office import Office, at_office, echo
from bot.cli.preview import go_ahead
from bot.desk import Desk, Invalid, moments, rehearse
from bot.desk import broadcasts as desk_broadcasts
from bot.desk import polls as desk_polls
from bot.desk.broadcasts import Drafted, MessageContent, PollContent, Sending, SurveyContent
from bot.desk.polls import PollSpec
from bot.english import counted, local_time, span
from bot.outreach.audience import Audience

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
    given = name_values(translations, "--translation")
    if from_flow is None and question is None:
        raise click.UsageError("give the question (or --from-flow FLOW) and its options with -o")

    async def work(office: Office) -> None:
        check_languages(office.settings, list(given), "--translation")

        def make(desk: Desk) -> list[str]:
            if from_flow is not None:
                texts, options = _flow_question(desk, from_flow)
            else:
                assert question is not None
                texts, options = desk_polls.labelled(desk, question, labels, given)
            at = (
                moments.when(closes, desk.now, desk.settings.timezone, "closes") if closes else None
            )
            made = desk_polls.make(desk, PollSpec(texts, options, multiple, results_rule, at))
            return [
                *staff_text.poll(made, desk.settings.timezone),
                f"Send it with: parley broadcast --poll {made.id}",
            ]

        echo(await office.at_desk(make))

    at_office(ctx, work)


def _flow_question(desk: Desk, flow_id: str) -> tuple[dict[str, str], tuple[Any, ...]]:
    from bot.desk import lookup
    from bot.engine.flow import ChoiceQuestion
    from bot.store.polls import PollOption

    flow = lookup.flow(desk, flow_id)
    question = next((s for s in flow.steps if isinstance(s, ChoiceQuestion)), None)
    if question is None:
        raise Invalid("from_flow", f"flow '{flow_id}' has no choice question to make a poll of")
    options = tuple(PollOption(o.id, dict(o.label.texts), dict(o.words)) for o in question.options)
    return dict(question.text.texts), options


# -- parley broadcast ---------------------------------------------------------------------


def draft_lines(drafted: Drafted, timezone: Any) -> list[str]:
    """A draft's preview as the shell shows it: to whom, and when it goes."""
    timing = "now" if drafted.send_at is None else local_time(drafted.send_at, timezone)
    if drafted.remind_after is not None:
        timing += f"; non-responders reminded {span(drafted.remind_after)} later"
    return [
        f"To {drafted.audience.describe()}:",
        *staff_text.preview(drafted.preview),
        f"Sends {timing}.",
    ]


async def send_drafted(office: Office, make: Any, yes: bool) -> Drafted | None:
    """Show the preview of what ``make(desk)`` drafts (worked out, then undone); if
    confirmed, draft and send it for real. The draft, or None: nothing was made."""
    shown = await office.at_desk(lambda desk: rehearse(desk, make))
    echo(draft_lines(shown, office.settings.timezone))
    if not shown.preview.recipients:
        click.echo("Nobody to send to. Nothing done.")
        return None
    if not go_ahead("Send it?", yes, "Not sent. Nothing done."):
        return None

    def send(desk: Desk) -> tuple[Drafted, desk_broadcasts.Sent]:
        drafted = make(desk)
        return drafted, desk_broadcasts.send(desk, drafted.id)

    drafted, sent = await office.at_desk(send, lambda done: done[0].preview.recipients)
    if sent.at is None:
        click.echo(
            f"Broadcast {drafted.id}: {counted(drafted.preview.recipients, 'message')}"
            " queued. A running `parley run` sends them."
        )
    else:
        click.echo(
            f"Broadcast {drafted.id} will be sent {local_time(sent.at, office.settings.timezone)}."
            " A running `parley run` sends it then (or at its next start)."
        )
    if sent.quiet:
        click.echo("It is quiet hours: SMS wait until they end; Telegram goes now.")
    return drafted


@click.command()
@click.option(
    "--text",
    "texts",
    multiple=True,
    metavar="LANG=TEXT",
    help="The message in a language; the default language is required.",
)
@click.option("--file", "text_file", type=TextFile(), help="A YAML file of language: text.")
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
    message: Mapping[str, str] = name_values(texts, "--text")
    if text_file is not None:
        loaded = read_yaml(text_file)
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise click.ClickException(f"{text_file}: expected lines like  en: the message")
        message = {str(k): v.strip() for k, v in loaded.items()} | dict(message)
    if sum(bool(x) for x in (message, flow_id, poll_id is not None)) != 1:
        raise click.ClickException("give one of: --text (or --file), --flow, --poll")
    audience = Audience(
        languages=languages,
        channels=channels,
        fields=name_values(fields, "--field"),
        took_part_in=took_part,
        not_took_part_in=not_took_part,
        sample=sample,
        seed=seed,
    )
    content: desk_broadcasts.Content
    if message:
        content = MessageContent(message)
    elif flow_id is not None:
        content = SurveyContent(flow_id)
    else:
        assert poll_id is not None
        content = PollContent(poll_id)

    async def work(office: Office) -> None:
        settings = office.settings
        check_languages(settings, [*message, *languages], "--text" if message else "--lang")

        def make(desk: Desk) -> Drafted:
            send_at = moments.when(at, desk.now, settings.timezone) if at else None
            remind = moments.duration(remind_after, "remind") if remind_after else None
            return desk_broadcasts.draft(desk, content, Sending(audience, send_at, remind))

        await send_drafted(office, make, yes)

    at_office(ctx, work)


# -- parley close, pause, resume, cancel ----------------------------------------------------


def _broadcast_action(name: str, help_text: str) -> click.Command:
    kind = "poll" if name == "close" else "broadcast"

    @click.command(name=name, help=help_text)
    @click.argument("number", type=int)
    @click.option("--yes", is_flag=True, help="Do it without asking.")
    @click.pass_context
    def action(ctx: click.Context, number: int, yes: bool) -> None:
        def do(desk: Desk) -> list[str]:
            if name == "close":
                desk_polls.close(desk, number)
                return [f"Poll {number} is closing now."]
            if name == "pause":
                desk_broadcasts.pause(desk, number)
                return [f"Broadcast {number} paused. Go on with: parley resume {number}"]
            if name == "resume":
                desk_broadcasts.resume(desk, number)
                return [f"Broadcast {number} resumed."]
            done = desk_broadcasts.cancel(desk, number)
            if done.was_draft:
                return [f"Broadcast {number} dropped; nothing was sent."]
            withdrawn = counted(done.withdrawn, "message")
            return [f"Broadcast {number} cancelled: {withdrawn} not yet sent will not go."]

        def preview(desk: Desk) -> list[str]:
            rehearse(desk, do)  # refused now, rather than after asking
            return summary(desk, kind, number)

        async def work(office: Office) -> None:
            echo(await office.at_desk(preview))
            what = "Close poll" if name == "close" else f"{name.capitalize()} broadcast"
            if not go_ahead(f"{what} {number}{' now' if name == 'close' else ''}?", yes):
                return
            echo(await office.at_desk(do))

        at_office(ctx, work)

    return action


close = _broadcast_action("close", "Close a poll now (its result goes to voters if it says so).")
pause = _broadcast_action("pause", "Pause a broadcast: nothing more of it is sent until resumed.")
resume = _broadcast_action("resume", "Resume a paused broadcast.")
cancel = _broadcast_action("cancel", "Cancel a broadcast: what is not yet sent never is.")
