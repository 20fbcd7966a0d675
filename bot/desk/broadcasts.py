"""Broadcasts: a message, a survey or a poll drafted for an audience (with its preview:
who gets it, in which language, what it costs, how long sending takes), sent now or at
its time, paused, resumed or cancelled; and where each one's sending has got to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.civic.polls import as_flow
from bot.desk import lookup
from bot.desk.context import Desk, operation
from bot.desk.errors import Invalid, Refused
from bot.outreach import broadcast as outreach
from bot.outreach.audience import Audience
from bot.outreach.audience import count as audience_count
from bot.outreach.broadcast import Preview, Rendering
from bot.store import broadcasts, jobs
from bot.store.broadcasts import Broadcast, NewBroadcast
from bot.store.decisions import Reach, reach


@dataclass(frozen=True)
class MessageContent:
    """A plain message: language -> text; the default language is needed."""

    texts: Mapping[str, str]


@dataclass(frozen=True)
class SurveyContent:
    """A survey flow each recipient starts."""

    flow_id: str


@dataclass(frozen=True)
class PollContent:
    """A poll, put to (another) audience."""

    poll_id: int


Content = MessageContent | SurveyContent | PollContent


@dataclass(frozen=True)
class Sending:
    """To whom, when, and whether non-responders are reminded."""

    audience: Audience = field(default_factory=Audience)
    send_at: datetime | None = None  # None: as soon as it is sent
    remind_after: timedelta | None = None  # flows and polls only


@dataclass(frozen=True)
class Drafted:
    """A broadcast stored as a draft (nothing sent), with its preview."""

    id: int
    kind: str
    audience: Audience
    preview: Preview
    send_at: datetime | None
    remind_after: timedelta | None


@dataclass(frozen=True)
class Sent:
    """A draft confirmed: it goes now (``at`` None) or at ``at``."""

    id: int
    at: datetime | None
    quiet: bool  # it falls in quiet hours: SMS wait until they end; Telegram goes


@dataclass(frozen=True)
class Cancelled:
    id: int
    was_draft: bool  # a draft dropped: nothing had been sent
    withdrawn: int  # messages not yet sent that now never will be


@dataclass(frozen=True)
class Progress:
    """A broadcast and how far its sending has got (None before it starts)."""

    broadcast: Broadcast
    audience: Audience
    reach: Reach | None

    @property
    def state(self) -> str:
        return self.broadcast.status


def _new(desk: Desk, content: Content) -> tuple[NewBroadcast, outreach.Content]:
    """The broadcast row and what its recipients are sent."""
    if isinstance(content, MessageContent):
        source = desk.settings.default_language
        texts = {code: text.strip() for code, text in content.texts.items() if text.strip()}
        if source not in texts:
            raise Invalid("text", f"give the message in {source} (the default language)")
        unknown = sorted(set(texts) - set(desk.settings.languages))
        if unknown:
            raise Invalid(
                "text",
                f"unknown language '{unknown[0]}'; languages: {', '.join(desk.settings.languages)}",
            )
        return NewBroadcast(broadcasts.MESSAGE, "", texts=texts), outreach.Message(texts)
    if isinstance(content, SurveyContent):
        flow = lookup.flow(desk, content.flow_id)
        return NewBroadcast(broadcasts.FLOW, "", flow_id=flow.id), outreach.Survey(flow)
    poll = lookup.poll(desk, content.poll_id)
    if poll.status == "closed":
        raise Refused(f"poll {poll.id} has closed")
    if poll.panel_id is not None:
        raise Refused(f"poll {poll.id} is panel {poll.panel_id}'s vote, for its members only")
    new = NewBroadcast(broadcasts.POLL, "", flow_id=poll.flow_id, poll_id=poll.id)
    return new, outreach.Survey(as_flow(poll, desk.env))


def _check(desk: Desk, content: Content, sending: Sending) -> None:
    audience = sending.audience
    for name, flow_id in (
        ("took_part", audience.took_part_in),
        ("not_took_part", audience.not_took_part_in),
    ):
        if flow_id is not None:
            try:
                lookup.flow_or_poll(desk, flow_id)
            except Refused:
                raise Invalid(
                    name,
                    f"there is no flow '{flow_id}'; flows: {', '.join(sorted(desk.flows))}"
                    " (a poll's flow is poll-N)",
                ) from None
    unknown = sorted(set(audience.languages) - set(desk.settings.languages))
    if unknown:
        raise Invalid(
            "languages",
            f"unknown language '{unknown[0]}'; languages: {', '.join(desk.settings.languages)}",
        )
    if sending.remind_after is not None:
        if isinstance(content, MessageContent):
            raise Invalid("remind", "a reminder is for flows and polls, which residents answer")
        if sending.remind_after <= timedelta(0):
            raise Invalid("remind", "the reminder's delay must be more than nothing")
    if sending.send_at is not None and sending.send_at < desk.now - timedelta(minutes=1):
        raise Invalid("at", "the sending time has already passed")


def preview_of(desk: Desk, new: NewBroadcast, content: outreach.Content) -> Preview:
    """Who ``new`` would reach now, in which language, at what cost and how fast."""
    chosen = Audience.from_json(new.audience)
    counts = audience_count(desk.tx, chosen, desk.settings.staff.keys())
    rendering = Rendering(content, desk.env, desk.settings.default_language, desk.now)
    return outreach.preview_of_counts(counts, rendering, desk.settings)


def store_draft(desk: Desk, new: NewBroadcast, content: outreach.Content) -> Drafted:
    """Store ``new`` as a draft made by the actor, and work out its preview: the part
    every drafting operation (a broadcast, a shortlist, a panel's invitation) shares."""
    new = replace(new, created_by=desk.actor.who)
    broadcast_id = broadcasts.create(desk.tx, new, "draft", desk.now)
    return Drafted(
        broadcast_id,
        new.kind,
        Audience.from_json(new.audience),
        preview_of(desk, new, content),
        new.send_at,
        new.remind_after,
    )


@operation("broadcast.preview", changes=False)
def preview(desk: Desk, content: Content, sending: Sending = Sending()) -> Preview:
    """What :func:`draft` would show, with nothing stored."""
    _check(desk, content, sending)
    new, rendered = _new(desk, content)
    return preview_of(desk, replace(new, audience=sending.audience.to_json()), rendered)


@operation("broadcast.draft")
def draft(desk: Desk, content: Content, sending: Sending = Sending()) -> Drafted:
    """Store a broadcast as a draft, with its preview; nothing is sent until :func:`send`."""
    _check(desk, content, sending)
    new, rendered = _new(desk, content)
    new = replace(
        new,
        audience=sending.audience.to_json(),
        send_at=sending.send_at,
        remind_after=sending.remind_after,
    )
    drafted = store_draft(desk, new, rendered)
    desk.audit(
        "broadcast.draft",
        f"broadcast {drafted.id}",
        kind=drafted.kind,
        poll=new.poll_id,
        flow=new.flow_id,
        audience=drafted.audience.describe(),
        recipients=drafted.preview.recipients,
    )
    return drafted


def schedule(desk: Desk, broadcast_id: int, send_at: datetime | None) -> None:
    """Draft → scheduled: the send job runs at ``send_at`` (or as soon as possible)."""
    broadcasts.set_status(desk.tx, broadcast_id, "scheduled")
    jobs.add(desk.tx, jobs.SEND, broadcast_id, max(send_at or desk.now, desk.now))
    desk.effects.scheduled = True


@operation("broadcast.send")
def send(desk: Desk, broadcast_id: int) -> Sent:
    """Send a draft: now, or at its time. A broadcast already sent is refused, so a form
    sent twice, or a button pressed twice, sends once."""
    found = lookup.broadcast(desk, broadcast_id)
    if found.status != "draft":
        raise Refused(f"broadcast {broadcast_id} is {found.status}, not a draft")
    schedule(desk, broadcast_id, found.send_at)
    later = found.send_at if found.send_at is not None and found.send_at > desk.now else None
    desk.audit("broadcast.send", f"broadcast {broadcast_id}", at=later)
    return Sent(broadcast_id, later, desk.settings.is_quiet(later or desk.now))


@operation("broadcast.cancel")
def cancel(desk: Desk, broadcast_id: int) -> Cancelled:
    """Drop a draft, or stop a broadcast: what is not yet sent never is, and residents
    who had not yet been asked its question are put back where they were."""
    found = lookup.broadcast(desk, broadcast_id)
    if found.status == "cancelled":
        raise Refused(f"broadcast {broadcast_id} was already cancelled")
    withdrawn = broadcasts.cancel(desk.tx, broadcast_id, desk.now)
    jobs.drop(desk.tx, jobs.SEND, broadcast_id, desk.now)
    jobs.drop(desk.tx, jobs.REMIND, broadcast_id, desk.now)
    desk.audit("broadcast.cancel", f"broadcast {broadcast_id}", withdrawn=withdrawn)
    return Cancelled(broadcast_id, found.status == "draft", withdrawn)


def _pause(desk: Desk, broadcast_id: int, paused: bool) -> Broadcast:
    found = lookup.broadcast(desk, broadcast_id)
    if found.status in ("draft", "cancelled"):
        raise Refused(f"broadcast {broadcast_id} is {found.status}")
    if found.paused == paused:
        raise Refused(f"broadcast {broadcast_id} is already {'paused' if paused else 'going'}")
    broadcasts.set_paused(desk.tx, broadcast_id, paused, desk.now)
    desk.audit("broadcast.pause" if paused else "broadcast.resume", f"broadcast {broadcast_id}")
    if not paused:
        desk.effects.scheduled = True
    changed = broadcasts.get(desk.tx, broadcast_id)
    assert changed is not None
    return changed


@operation("broadcast.pause")
def pause(desk: Desk, broadcast_id: int) -> Broadcast:
    """Hold what is not yet sent of a broadcast (and its reminders)."""
    return _pause(desk, broadcast_id, True)


@operation("broadcast.resume")
def resume(desk: Desk, broadcast_id: int) -> Broadcast:
    """Let a paused broadcast go on."""
    return _pause(desk, broadcast_id, False)


def progress_of(desk: Desk, found: Broadcast) -> Progress:
    started = found.status not in ("draft", "scheduled")
    return Progress(
        found,
        Audience.from_json(found.audience),
        reach(desk.tx, found.id) if started else None,
    )


@operation("broadcast.show", changes=False)
def show(desk: Desk, broadcast_id: int) -> Progress:
    return progress_of(desk, lookup.broadcast(desk, broadcast_id))


@operation("broadcast.list", changes=False)
def listing(desk: Desk, limit: int = 20, before: int | None = None) -> list[Progress]:
    """Broadcasts, newest first (``before`` an id: the page after it)."""
    return [progress_of(desk, found) for found in broadcasts.recent(desk.tx, limit, before)]


@operation("broadcast.preview_draft", changes=False)
def preview_draft(desk: Desk, broadcast_id: int) -> Preview:
    """The preview of a stored broadcast, as it would go now."""
    found = lookup.broadcast(desk, broadcast_id)
    content = _content_of(desk, found)
    return preview_of(desk, found, content)


def _content_of(desk: Desk, found: Broadcast) -> outreach.Content:
    if found.texts is not None:
        return outreach.Message(found.texts)
    if found.poll_id is not None:
        return outreach.Survey(as_flow(lookup.poll(desk, found.poll_id), desk.env))
    return outreach.Survey(lookup.flow(desk, found.flow_id or ""))
