"""``/poll``, ``/broadcast``, ``/send``, ``/cancel``, ``/pause``, ``/resume``,
``/results`` and ``/close``: the desk's broadcasts, polls and results, by text."""

from __future__ import annotations

import logging

from bot import staff_text
from bot.desk import broadcasts, polls, results
from bot.desk.broadcasts import Drafted, MessageContent, PollContent, SurveyContent
from bot.desk.errors import Forbidden, Invalid, NotFound
from bot.desk.polls import PollSpec
from bot.engine import Button
from bot.english import counted, local_time, span
from bot.phone import reading
from bot.phone.reading import BROADCAST_USAGE, POLL_KEYS, POLL_USAGE, RESULTS_USAGE, SEND_KEYS
from bot.phone.reply import Attachment, Phone, Said, StaffReply, sentence
from bot.store.polls import Poll

log = logging.getLogger(__name__)


def draft_lines(phone: Phone, drafted: Drafted) -> list[str]:
    """A draft's preview, when it goes, and how to send or drop it."""
    timezone = phone.desk.settings.timezone
    lines = [
        f"Broadcast {drafted.id} (draft) to {drafted.audience.describe()}:",
        *staff_text.preview(drafted.preview),
    ]
    timing = "now" if drafted.send_at is None else local_time(drafted.send_at, timezone)
    if drafted.remind_after is not None:
        timing += f"; non-responders reminded {span(drafted.remind_after)} later"
    lines.append(f"Sends {timing}.")
    lines.append(f"Reply /send {drafted.id} to send, /cancel {drafted.id} to drop.")
    return lines


def drafted_reply(phone: Phone, lines: list[str], drafted: Drafted) -> StaffReply:
    return StaffReply(
        [*lines, *draft_lines(phone, drafted)],
        buttons=(
            Button("Send", f"/send {drafted.id}"),
            Button("Cancel", f"/cancel {drafted.id}"),
        ),
    )


def poll_spec(phone: Phone, body: reading.Body, labels: list[str]) -> PollSpec:
    """The poll a /poll (or /shortlist) body describes, read the phone's way."""
    desk = phone.desk
    if len(labels) < 2 or not body.lines:
        raise Said(POLL_USAGE)
    rule = body.settings.get("results", "send").lower()
    if rule not in polls.RESULTS_RULES:
        raise Said("results: is send, public or private")
    closes = body.settings.get("closes")
    closes_at = reading.when(closes, desk.now, desk.settings) if closes else None
    try:
        question, options = polls.labelled(desk, body.lines[0], labels, body.translations)
    except Invalid as problem:  # "pl: give the question and all 3 options, split by |"
        raise Said(problem.problem) from None
    return PollSpec(
        question,
        options,
        multiple=body.settings.get("multiple", "no").lower() in ("yes", "true", "1"),
        results=rule,
        closes_at=closes_at,
    )


def make_poll(phone: Phone, spec: PollSpec) -> Poll:
    try:
        return polls.make(phone.desk, spec)
    except Invalid as problem:
        raise Said(f"Poll not made: {problem.problem}.\n{POLL_USAGE}") from None


def poll(phone: Phone, text: str) -> StaffReply:
    desk = phone.desk
    body = reading.read(text, desk.settings.languages, SEND_KEYS | POLL_KEYS)
    if len(body.lines) < 3:
        raise Said(POLL_USAGE)
    spec = poll_spec(phone, body, body.lines[1:])
    sending = reading.sending(body.settings, desk.now, desk.settings)
    made = make_poll(phone, spec)
    drafted = broadcasts.draft(desk, PollContent(made.id), sending)
    return drafted_reply(phone, staff_text.poll(made, desk.settings.timezone), drafted)


def broadcast(phone: Phone, text: str) -> StaffReply:
    desk = phone.desk
    body = reading.read(text, desk.settings.languages, SEND_KEYS)
    if not body.lines:
        raise Said(BROADCAST_USAGE)
    first = body.lines[0].split()
    sending = reading.sending(body.settings, desk.now, desk.settings)
    lines: list[str] = []
    content: broadcasts.Content
    if len(body.lines) == 1 and len(first) == 2 and first[0].lower() == "flow":
        flow = desk.flows.get(first[1])
        content = SurveyContent(first[1])
        if flow is not None:
            lines.append(f"Survey '{flow.id}': {flow.title}")
    elif len(body.lines) == 1 and len(first) == 2 and first[0].lower() == "poll":
        if not first[1].isdigit():
            raise Said(f"There is no poll {first[1]}.")
        shown = polls.show(desk, int(first[1]))
        content = PollContent(shown.poll.id)
        lines += staff_text.poll(shown.poll, desk.settings.timezone)
    else:
        if sending.remind_after is not None:
            raise Said("remind: is for flows and polls, which residents answer.")
        texts = {desk.settings.default_language: "\n".join(body.lines), **body.translations}
        content = MessageContent(texts)
    return drafted_reply(phone, lines, broadcasts.draft(desk, content, sending))


def send(phone: Phone, text: str) -> StaffReply:
    sent = broadcasts.send(phone.desk, reading.number(text, "/send BROADCAST"))
    if sent.at is None:
        said = f"Broadcast {sent.id} is being sent."
    else:
        said = (
            f"Broadcast {sent.id} will be sent {local_time(sent.at, phone.desk.settings.timezone)}."
        )
    if sent.quiet:
        said += " It is quiet hours: SMS wait until they end; Telegram goes now."
    return StaffReply([said])


def cancel(phone: Phone, text: str) -> StaffReply:
    done = broadcasts.cancel(phone.desk, reading.number(text, "/cancel BROADCAST"))
    if done.was_draft:
        return StaffReply([f"Broadcast {done.id} dropped; nothing was sent."])
    withdrawn = counted(done.withdrawn, "message")
    return StaffReply([f"Broadcast {done.id} cancelled: {withdrawn} not yet sent will not go."])


def pause(phone: Phone, text: str) -> StaffReply:
    found = broadcasts.pause(phone.desk, reading.number(text, "/pause BROADCAST"))
    return StaffReply([f"Broadcast {found.id} paused. /resume {found.id} to go on."])


def resume(phone: Phone, text: str) -> StaffReply:
    found = broadcasts.resume(phone.desk, reading.number(text, "/resume BROADCAST"))
    return StaffReply([f"Broadcast {found.id} resumed."])


def close(phone: Phone, text: str) -> StaffReply:
    closing = polls.close(phone.desk, reading.number(text, "/close POLL"))
    return StaffReply([f"Poll {closing.id} is closing now."])


def show_results(phone: Phone, text: str) -> StaffReply:
    """A poll's or a survey's results; in Telegram with a bar chart."""
    desk = phone.desk
    words = text.split()
    if not words or (len(words) > 1 and (len(words) != 3 or words[1] != "by")):
        raise Said(RESULTS_USAGE)
    by = words[2] if len(words) == 3 else None
    if not words[0].isdigit():
        try:
            report = results.of_flow(desk, words[0], by)
        except NotFound:
            raise Said(f"There is no poll or flow '{words[0]}'.\n{RESULTS_USAGE}") from None
        except Invalid as problem:
            raise Said(sentence(problem.problem)) from None
        reply = StaffReply(staff_text.report(report))
        if phone.files and report.summaries:
            chart = {"chart": {"flow": words[0]}}
            reply.attachments.append(Attachment(f"Survey '{words[0]}'", chart))
        return reply
    poll_id = int(words[0])
    try:
        found = results.of_poll(desk, poll_id, by)
    except Forbidden:
        raise Said(
            f"Poll {poll_id} is still open: live results are for organisers only."
            " You will see them when it closes."
        ) from None
    reply = StaffReply(staff_text.poll_results(found))
    if phone.files:
        reply.attachments.append(Attachment(f"Poll {poll_id}", {"chart": {"poll": poll_id}}))
    return reply
