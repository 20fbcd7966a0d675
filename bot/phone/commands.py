"""Staff commands, sent from a phone (Telegram, or SMS from a staff number).

Community workers and organisers are configured by channel and address with a role
(``PARLEY_STAFF``). A command is one message; drafting never sends anything:

    /poll Which evening should the youth club open?
    Monday
    Wednesday
    Friday
    closes: 3d
    to: lang=en,pl ward=North

answers with the poll, who would get it, what the SMS cost and how long sending takes,
and buttons to send or cancel. ``/send 4`` confirms; ``/results 2``, ``/close 2``,
``/pause 4``, ``/resume 4`` and ``/cancel 4`` do what they say. Live results and closing
a poll early are for organisers. In Telegram, ``/results`` comes with a bar chart, and
``/export`` sends a CSV file (:mod:`bot.phone.exports`). Ideas are moderated with
``/ideas``, ``/idea``, ``/approve``, ``/reject``, ``/merge`` and ``/shortlist``
(:mod:`bot.phone.ideas`).
Staff replies are in English; residents never see them.
"""

from __future__ import annotations

import enum
import logging
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.civic.polls import as_flow, check, options_from_labels, results, translated
from bot.engine import Button, Env, Flow
from bot.english import counted
from bot.errors import ExportError
from bot.outreach.audience import Audience, select
from bot.outreach.broadcast import Content, Message, Preview, Rendering, Survey, preview
from bot.phone import ideas as moderation
from bot.settings import Settings
from bot.store import broadcasts, jobs, polls
from bot.store.broadcasts import NewBroadcast
from bot.store.polls import NewPoll, Poll

log = logging.getLogger(__name__)


class Role(enum.Enum):
    ORGANISER = "organiser"  # everything
    WORKER = "worker"  # create and send polls and broadcasts, see results once closed


class Command(enum.Enum):
    POLL = "poll"
    BROADCAST = "broadcast"
    SEND = "send"
    RESULTS = "results"
    CLOSE = "close"
    CANCEL = "cancel"
    PAUSE = "pause"
    RESUME = "resume"
    IDEAS = "ideas"
    IDEA = "idea"
    APPROVE = "approve"
    REJECT = "reject"
    MERGE = "merge"
    SHORTLIST = "shortlist"
    EXPORT = "export"


ORGANISER_ONLY = frozenset({Command.CLOSE})
"""Commands a worker may not use. Live results of an open poll are organiser-only too."""

_COMMAND = re.compile(r"^/([a-z]+)(?:@\w+)?(?=\s|$)", re.IGNORECASE)


def command_of(text: str) -> Command | None:
    """The staff command a message is, if it is one."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    try:
        return Command(match.group(1).lower())
    except ValueError:
        return None


class Refused(Exception):
    """A staff action that cannot be done; the message says why, for the staff member."""


@dataclass(frozen=True)
class Attachment:
    """A file to send after the reply (Telegram only), made when it is sent."""

    caption: str
    spec: Mapping[str, object]  # what to make: {"export": {...}} or {"chart": {...}}


@dataclass
class StaffReply:
    lines: list[str] = field(default_factory=list)
    buttons: tuple[Button, ...] = ()
    attachments: list[Attachment] = field(default_factory=list)
    scheduled: bool = False  # a job may be due now: wake the scheduler
    refused: bool = False  # nothing was done (the lines say why)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Desk:
    """What staff commands work with, inside the transaction of the message."""

    tx: sqlite3.Connection
    settings: Settings
    env: Env
    flows: Mapping[str, Flow]
    now: datetime
    who: str  # 'contact <id>' or 'cli': recorded, never an address
    role: Role
    files: bool = False  # whether the staff member can receive files (Telegram)


def perform(desk: Desk, command: Command, text: str) -> StaffReply:
    """Do a staff command; a problem with it is explained, never raised."""
    if command in ORGANISER_ONLY and desk.role is not Role.ORGANISER:
        log.warning("staff command /%s refused: %s is a worker", command.value, desk.who)
        return StaffReply([f"/{command.value} is for organisers only."], refused=True)
    body = _COMMAND.sub("", text.strip(), count=1)
    desk.tx.execute("SAVEPOINT staff_command")  # a refused command leaves nothing behind
    try:
        match command:
            case Command.POLL:
                return draft_poll(desk, body)
            case Command.BROADCAST:
                return draft_broadcast(desk, body)
            case Command.SEND:
                return confirm(desk, _number(body, "/send BROADCAST"))
            case Command.RESULTS:
                return show_results(desk, body)
            case Command.CLOSE:
                return close_now(desk, _number(body, "/close POLL"))
            case Command.CANCEL:
                return cancel(desk, _number(body, "/cancel BROADCAST"))
            case Command.PAUSE | Command.RESUME:
                paused = command is Command.PAUSE
                return pause(desk, _number(body, f"/{command.value} BROADCAST"), paused)
            case Command.IDEAS:
                return moderation.listing(desk)
            case Command.IDEA:
                return moderation.show(desk, body)
            case Command.APPROVE:
                return moderation.approve(desk, body)
            case Command.REJECT:
                return moderation.reject(desk, body)
            case Command.MERGE:
                return moderation.merge(desk, body)
            case Command.SHORTLIST:
                return moderation.shortlist(desk, body)
            case Command.EXPORT:
                from bot.phone.exports import export

                return export(desk, body)
    except Refused as problem:
        desk.tx.execute("ROLLBACK TO staff_command")
        return StaffReply([str(problem)], refused=True)
    finally:
        desk.tx.execute("RELEASE staff_command")
    raise AssertionError(command)  # pragma: no cover


# -- reading a command ------------------------------------------------------------------

_SETTING = re.compile(r"^([a-z][a-z_-]*)\s*:\s*(.*)$", re.IGNORECASE)
_RELATIVE = re.compile(r"^(?:in\s+)?(\d{1,4})\s*(m|min|h|d)$", re.IGNORECASE)
_CLOCK = re.compile(r"^(?:(today|tomorrow)\s+)?(\d{1,2}):(\d{2})$", re.IGNORECASE)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days"}


def _number(body: str, usage: str) -> int:
    words = body.split()
    if len(words) != 1 or not words[0].isdigit():
        raise Refused(f"Use: {usage} (its number)")
    return int(words[0])


def duration(text: str) -> timedelta:
    """``30m``, ``6h``, ``2d``."""
    match = _RELATIVE.match(text.strip())
    if match is None:
        raise Refused(f"'{text}' is not a delay like 30m, 6h or 2d")
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


def when(text: str, now: datetime, timezone: ZoneInfo) -> datetime:
    """A time: ``2d`` or ``in 6h`` from now, ``18:00`` (the next one), ``tomorrow 9:30``
    or ``2026-12-01 18:00``, in the deployment's time zone."""
    text = text.strip()
    if _RELATIVE.match(text):
        return now + duration(text)
    local = now.astimezone(timezone)
    clock = _CLOCK.match(text)
    try:
        if clock is not None:
            day, hour, minute = clock.groups()
            at = local.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)
            if (day or "").lower() == "tomorrow" or (day is None and at <= local):
                at += timedelta(days=1)
        else:
            at = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=timezone)
    except ValueError:
        raise Refused(
            f"'{text}' is not a time like 18:00, tomorrow 9:30, 2026-12-01 18:00 or 2d"
        ) from None
    return at.astimezone(now.tzinfo)


_AUDIENCE_KEYS = {"lang", "language", "channel", "took-part", "not-took-part", "sample", "seed"}


def audience(text: str) -> Audience:
    """``lang=pl,ar channel=sms ward=North took-part=priorities sample=200 seed=7``;
    any other name is a contact field."""
    found: dict[str, str] = {}
    fields: dict[str, str] = {}
    for item in text.split():
        name, equals, value = item.partition("=")
        if not name or not equals or not value:
            raise Refused(f"to: '{item}' should be name=value, like lang=pl or ward=North")
        name = name.lower()
        (found if name in _AUDIENCE_KEYS else fields)[name] = value
    try:
        sample = int(found["sample"]) if "sample" in found else None
        seed = int(found.get("seed", "0"))
    except ValueError:
        raise Refused("to: sample and seed are whole numbers") from None
    languages = found.get("lang") or found.get("language") or ""
    return Audience(
        languages=tuple(v for v in languages.split(",") if v),
        channels=tuple(v for v in found.get("channel", "").split(",") if v),
        fields=fields,
        took_part_in=found.get("took-part"),
        not_took_part_in=found.get("not-took-part"),
        sample=sample,
        seed=seed,
    )


def is_setting(line: str, settings: Settings) -> bool:
    """Whether a line of a /poll body is a setting or a translation, not text."""
    setting = _SETTING.match(line.strip())
    if line.strip().lower() == "multiple":
        return True
    if setting is None:
        return False
    name = setting.group(1).lower()
    return name in settings.languages or name in _SEND_KEYS | _POLL_KEYS


@dataclass
class _Draft:
    """A command's body: its text lines, and its ``name: value`` settings."""

    lines: list[str]
    settings: dict[str, str]
    translations: dict[str, str]


def _read(body: str, languages: Sequence[str], known: set[str]) -> _Draft:
    draft = _Draft([], {}, {})
    for raw in body.splitlines():
        line = raw.strip()
        if not line:
            continue
        setting = _SETTING.match(line)
        name = setting.group(1).lower() if setting else ""
        if setting and name in languages:
            draft.translations[name] = setting.group(2).strip()
        elif setting and name in known:
            draft.settings[name] = setting.group(2).strip()
        elif line.lower() == "multiple" and "multiple" in known:
            draft.settings["multiple"] = "yes"
        else:
            draft.lines.append(line)
    return draft


# -- drafting -----------------------------------------------------------------------------

_SEND_KEYS = {"to", "at", "remind"}
_POLL_KEYS = {"closes", "multiple", "results"}

POLL_USAGE = (
    "Use: /poll then the question, then one option per line (2 to 9).\n"
    "Optional lines: closes: 3d | multiple | results: send, public or private |"
    " pl: question | option 1 | option 2 ... | to: lang=pl ward=North | at: 18:00 |"
    " remind: 1d"
)
BROADCAST_USAGE = (
    "Use: /broadcast then the message (or: flow FLOW, or: poll NUMBER).\n"
    "Optional lines: pl: the message in Polish | to: lang=pl ward=North | at: 18:00 |"
    " remind: 1d (flows and polls)"
)


def draft_poll(desk: Desk, body: str) -> StaffReply:
    return make_poll(desk, body)[0]


def make_poll(
    desk: Desk, body: str, labels: Sequence[str] | None = None
) -> tuple[StaffReply, Poll]:
    """Make the poll ``/poll`` describes and draft its broadcast. Given ``labels`` (a
    shortlist's ideas), those are the options and ``body`` only the question and settings."""
    settings = desk.settings
    draft = _read(body, settings.languages, _SEND_KEYS | _POLL_KEYS)
    if labels is not None:
        draft.lines[1:] = list(labels)
    if len(draft.lines) < 3:
        raise Refused(POLL_USAGE)
    source = settings.default_language
    question, labels = draft.lines[0], draft.lines[1:]
    options = options_from_labels(labels, source)
    texts = {source: question}
    for language, line in draft.translations.items():
        both = translated(texts, options, language, line)
        if both is None:
            raise Refused(
                f"{language}: give the question and all {len(labels)} options, split by |"
            )
        texts, options = both
    results_rule = draft.settings.get("results", "send").lower()
    if results_rule not in ("send", "public", "private"):
        raise Refused("results: is send, public or private")
    closes = draft.settings.get("closes")
    new = NewPoll(
        question=texts,
        options=options,
        language=source,
        multiple=draft.settings.get("multiple", "no").lower() in ("yes", "true", "1"),
        results=results_rule,
        closes_at=when(closes, desk.now, settings.timezone) if closes else None,
        created_by=desk.who,
    )
    problem = check(new, desk.now)
    if problem is not None:
        raise Refused(f"Poll not made: {problem}.\n{POLL_USAGE}")
    poll = create_poll(desk.tx, new, desk.now)
    reply = StaffReply(poll_lines(poll, settings.timezone))
    _draft(
        desk,
        reply,
        NewBroadcast(
            broadcasts.POLL,
            "",
            flow_id=poll.flow_id,
            poll_id=poll.id,
        ),
        draft.settings,
        Survey(as_flow(poll, desk.env)),
    )
    return reply, poll


def create_poll(tx: sqlite3.Connection, new: NewPoll, now: datetime) -> Poll:
    """Store a checked poll, with its closing scheduled."""
    poll_id = polls.create(tx, new, now)
    if new.closes_at is not None:
        jobs.add(tx, jobs.CLOSE, poll_id, new.closes_at)
    poll = polls.get(tx, poll_id)
    assert poll is not None
    return poll


def poll_lines(poll: Poll, timezone: ZoneInfo) -> list[str]:
    lines = [f"Poll {poll.id}: {poll.question[poll.language]}"]
    lines += [
        f"{n}. {option.texts[poll.language]}" for n, option in enumerate(poll.options, start=1)
    ]
    other = sorted(set(poll.question) - {poll.language})
    notes = ["several answers allowed" if poll.multiple else "one answer each"]
    if other:
        notes.append("also in " + ", ".join(other))
    if poll.closes_at is not None:
        notes.append("closes " + local_time(poll.closes_at, timezone))
    notes.append(
        {
            "send": "result sent to voters",
            "public": "result public after close",
            "private": "result kept private",
        }[poll.results]
    )
    return [*lines, "(" + "; ".join(notes) + ")"]


def local_time(moment: datetime, timezone: ZoneInfo) -> str:
    return moment.astimezone(timezone).strftime("%a %d %b %H:%M")


def draft_broadcast(desk: Desk, body: str) -> StaffReply:
    settings = desk.settings
    draft = _read(body, settings.languages, _SEND_KEYS)
    if not draft.lines:
        raise Refused(BROADCAST_USAGE)
    first = draft.lines[0].split()
    reply = StaffReply()
    content: Content
    if len(draft.lines) == 1 and len(first) == 2 and first[0].lower() == "flow":
        flow = desk.flows.get(first[1])
        if flow is None:
            raise Refused(f"There is no flow '{first[1]}'. Flows: {', '.join(sorted(desk.flows))}")
        new = NewBroadcast(broadcasts.FLOW, "", flow_id=flow.id)
        content = Survey(flow)
        reply.lines.append(f"Survey '{flow.id}': {flow.title}")
    elif len(draft.lines) == 1 and len(first) == 2 and first[0].lower() == "poll":
        poll = polls.get(desk.tx, int(first[1])) if first[1].isdigit() else None
        if poll is None:
            raise Refused(f"There is no poll {first[1]}.")
        if poll.status == "closed":
            raise Refused(f"Poll {poll.id} has closed.")
        new = NewBroadcast(broadcasts.POLL, "", flow_id=poll.flow_id, poll_id=poll.id)
        content = Survey(as_flow(poll, desk.env))
        reply.lines += poll_lines(poll, settings.timezone)
    else:
        if "remind" in draft.settings:
            raise Refused("remind: is for flows and polls, which residents answer.")
        texts = {settings.default_language: "\n".join(draft.lines), **draft.translations}
        new = NewBroadcast(broadcasts.MESSAGE, "", texts=texts)
        content = Message(texts)
    _draft(desk, reply, new, draft.settings, content)
    return reply


def _draft(
    desk: Desk,
    reply: StaffReply,
    new: NewBroadcast,
    options: Mapping[str, str],
    content: Content,
) -> None:
    """Store the broadcast as a draft and add its preview and buttons to ``reply``."""
    chosen = audience(options.get("to", ""))
    send_at = when(options["at"], desk.now, desk.settings.timezone) if "at" in options else None
    remind = duration(options["remind"]) if "remind" in options else None
    new = replace(new, audience=chosen.to_json(), send_at=send_at, remind_after=remind)
    drafted = draft(desk, new, content)
    reply.lines += drafted.lines
    reply.lines.append(f"Reply /send {drafted.id} to send, /cancel {drafted.id} to drop.")
    reply.buttons = (
        Button("Send", f"/send {drafted.id}"),
        Button("Cancel", f"/cancel {drafted.id}"),
    )


@dataclass(frozen=True)
class Drafted:
    id: int
    preview: Preview
    lines: list[str]


def draft(desk: Desk, new: NewBroadcast, content: Content) -> Drafted:
    """Store a broadcast as a draft: nothing is sent until it is confirmed. Returns
    its preview: who gets it, in which language, at what cost and how fast."""
    chosen = Audience.from_json(new.audience)
    new = replace(new, created_by=desk.who)
    broadcast_id = broadcasts.create(desk.tx, new, "draft", desk.now)
    recipients = select(desk.tx, chosen, desk.settings.staff.keys())
    rendering = Rendering(content, desk.env, desk.settings.default_language, desk.now)
    shown = preview(recipients, rendering, desk.settings)
    lines = [f"Broadcast {broadcast_id} (draft) to {chosen.describe()}:", *shown.lines()]
    timing = "now" if new.send_at is None else local_time(new.send_at, desk.settings.timezone)
    if new.remind_after is not None:
        timing += f"; non-responders reminded {_span(new.remind_after)} later"
    lines.append(f"Sends {timing}.")
    return Drafted(broadcast_id, shown, lines)


def _span(delay: timedelta) -> str:
    minutes = int(delay.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} d"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


# -- acting on a broadcast ---------------------------------------------------------------


def _broadcast(tx: sqlite3.Connection, broadcast_id: int) -> broadcasts.Broadcast:
    found = broadcasts.get(tx, broadcast_id)
    if found is None or found.kind in (broadcasts.REMINDER, broadcasts.RESULTS):
        raise Refused(f"There is no broadcast {broadcast_id}.")
    return found


def confirm(desk: Desk, broadcast_id: int) -> StaffReply:
    """Send a drafted broadcast: now, or at its time."""
    found = _broadcast(desk.tx, broadcast_id)
    if found.status != "draft":
        raise Refused(f"Broadcast {broadcast_id} is {found.status}, not a draft.")
    schedule(desk.tx, broadcast_id, found.send_at, desk.now)
    if found.send_at is None or found.send_at <= desk.now:
        text = f"Broadcast {broadcast_id} is being sent."
    else:
        at = local_time(found.send_at, desk.settings.timezone)
        text = f"Broadcast {broadcast_id} will be sent {at}."
    if desk.settings.is_quiet(max(found.send_at or desk.now, desk.now)):
        text += " It is quiet hours: SMS wait until they end; Telegram goes now."
    return StaffReply([text], scheduled=True)


def schedule(
    tx: sqlite3.Connection, broadcast_id: int, send_at: datetime | None, now: datetime
) -> None:
    """Draft → scheduled: the send job runs at ``send_at`` (or as soon as possible)."""
    broadcasts.set_status(tx, broadcast_id, "scheduled")
    jobs.add(tx, jobs.SEND, broadcast_id, max(send_at or now, now))


def cancel(desk: Desk, broadcast_id: int) -> StaffReply:
    found = _broadcast(desk.tx, broadcast_id)
    if found.status == "cancelled":
        raise Refused(f"Broadcast {broadcast_id} was already cancelled.")
    withdrawn = broadcasts.cancel(desk.tx, broadcast_id, desk.now)
    jobs.drop(desk.tx, jobs.SEND, broadcast_id, desk.now)
    jobs.drop(desk.tx, jobs.REMIND, broadcast_id, desk.now)
    if found.status == "draft":
        return StaffReply([f"Broadcast {broadcast_id} dropped; nothing was sent."])
    return StaffReply(
        [
            f"Broadcast {broadcast_id} cancelled: {counted(withdrawn, 'message')} not yet sent"
            " will not go."
        ]
    )


def pause(desk: Desk, broadcast_id: int, paused: bool) -> StaffReply:
    found = _broadcast(desk.tx, broadcast_id)
    if found.status in ("draft", "cancelled"):
        raise Refused(f"Broadcast {broadcast_id} is {found.status}.")
    if found.paused == paused:
        raise Refused(f"Broadcast {broadcast_id} is already {'paused' if paused else 'going'}.")
    broadcasts.set_paused(desk.tx, broadcast_id, paused, desk.now)
    if paused:
        return StaffReply([f"Broadcast {broadcast_id} paused. /resume {broadcast_id} to go on."])
    return StaffReply([f"Broadcast {broadcast_id} resumed."], scheduled=True)


# -- polls ---------------------------------------------------------------------------------


RESULTS_USAGE = (
    "Use: /results POLL or /results FLOW, optionally followed by: by language"
    " (or channel, or a field)"
)


def show_results(desk: Desk, body: str) -> StaffReply:
    """A poll's or a survey's results; in Telegram with a bar chart."""
    from bot.civic.results import of_flow

    words = body.split()
    if not words or (len(words) > 1 and (len(words) != 3 or words[1] != "by")):
        raise Refused(RESULTS_USAGE)
    by = words[2] if len(words) == 3 else None
    if not words[0].isdigit():
        flow = desk.flows.get(words[0])
        if flow is None:
            raise Refused(f"There is no poll or flow '{words[0]}'.\n{RESULTS_USAGE}")
        try:
            report = of_flow(desk.tx, flow, desk.settings.languages, by)
        except ExportError as problem:
            raise Refused(str(problem)) from None
        reply = StaffReply(report.lines())
        if desk.files and report.summaries:
            chart = {"chart": {"flow": flow.id}}
            reply.attachments.append(Attachment(f"Survey '{flow.id}'", chart))
        return reply
    poll = polls.get(desk.tx, int(words[0]))
    if poll is None:
        raise Refused(f"There is no poll {words[0]}.")
    if poll.status != "closed" and desk.role is not Role.ORGANISER:
        log.warning("live results of poll %s refused: %s is a worker", poll.id, desk.who)
        raise Refused(
            f"Poll {poll.id} is still open: live results are for organisers only."
            " You will see them when it closes."
        )
    reply = StaffReply(results(desk.tx, poll, by).lines())
    if desk.files:
        reply.attachments.append(Attachment(f"Poll {poll.id}", {"chart": {"poll": poll.id}}))
    return reply


def close_now(desk: Desk, poll_id: int) -> StaffReply:
    poll = polls.get(desk.tx, poll_id)
    if poll is None:
        raise Refused(f"There is no poll {poll_id}.")
    if poll.status == "closed":
        raise Refused(f"Poll {poll_id} has already closed.")
    # Closing is a job like the scheduled one, due now: it runs once, results and all.
    jobs.add(desk.tx, jobs.CLOSE, poll_id, desk.now)
    return StaffReply([f"Poll {poll_id} is closing now."], scheduled=True)
