"""Moderating residents' ideas: the queue (flagged ideas first, and only to organisers
until one approves them), approving, rejecting with a reason, merging a duplicate, and
shortlisting approved ideas into a poll. Whoever sent an idea (or one merged into it) is
told what became of it, in their language."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.civic import ideas as idea_work
from bot.civic.polls import as_flow, options_from_labels
from bot.desk import lookup
from bot.desk.broadcasts import Drafted, Sending, store_draft
from bot.desk.context import Desk, operation
from bot.desk.errors import Invalid, Refused
from bot.desk.polls import PollSpec, build, create, translate
from bot.outreach.broadcast import Survey
from bot.store import broadcasts
from bot.store import ideas as stored
from bot.store.broadcasts import NewBroadcast
from bot.store.ideas import Idea
from bot.store.polls import Poll

SHORTLIST_QUESTION = "Which idea should go forward?"
"""The shortlist poll's question when staff give none."""

QUEUE = (stored.NEW, stored.APPROVED)
"""What waits for moderation: new ideas, and approved ones not yet shortlisted."""


@dataclass(frozen=True)
class Queue:
    ideas: tuple[Idea, ...]  # flagged first, then oldest first
    hidden: int  # flagged ideas waiting for an organiser, not shown to a worker


@dataclass(frozen=True)
class IdeaView:
    idea: Idea
    as_sent: str | None  # a flagged idea's text as the resident wrote it: organisers only


@dataclass(frozen=True)
class Told:
    """An idea moderated, and the broadcast that tells its senders (0: none)."""

    idea: Idea
    news: int


@dataclass(frozen=True)
class Shortlisted:
    ideas: tuple[Idea, ...]
    poll: Poll
    drafted: Drafted  # the poll's broadcast, a draft: sent with broadcasts.send


@operation("idea.list", changes=False)
def queue(desk: Desk, limit: int = 50) -> Queue:
    organiser = desk.actor.organiser
    waiting = stored.listing(desk.tx, QUEUE, flagged=organiser, limit=limit)
    ordered = sorted(waiting, key=lambda idea: (not idea.flagged, idea.id))
    hidden = 0 if organiser else stored.flagged_waiting(desk.tx)
    return Queue(tuple(ordered), hidden)


@operation("idea.show", changes=False)
def show(desk: Desk, ref: str) -> IdeaView:
    idea = lookup.idea(desk, ref)
    shown = idea.text if idea.flagged and desk.actor.organiser else None
    return IdeaView(idea, shown)


def _open(idea: Idea, *allowed: str) -> None:
    if idea.status not in allowed:
        raise Refused(f"{idea.reference} is {idea.status}")


@operation("idea.approve")
def approve(desk: Desk, ref: str) -> Idea:
    """Approve an idea; a flagged one keeps its personal details hidden."""
    idea = lookup.idea(desk, ref)
    _open(idea, stored.NEW)
    stored.moderate(desk.tx, idea.id, stored.APPROVED, desk.actor.who, desk.now)
    desk.audit("idea.approve", idea.reference)
    return replace(idea, status=stored.APPROVED)


@operation("idea.reject")
def reject(desk: Desk, ref: str, reason: str) -> Told:
    """Not taken forward: ``reason`` is done, scope, cost or rules (its senders read it
    in their language) or the staff member's own words (sent as written)."""
    reason = reason.strip()
    if not reason:
        raise Invalid("reason", "give a reason: done, scope, cost, rules or your own words")
    idea = lookup.idea(desk, ref)
    _open(idea, stored.NEW, stored.APPROVED)
    stored.moderate(desk.tx, idea.id, stored.REJECTED, desk.actor.who, desk.now, reason=reason)
    rejected = replace(idea, status=stored.REJECTED, reason=reason)
    news = _tell(
        desk, rejected, lambda language: idea_work.rejected_news(desk.env, language, rejected)
    )
    desk.audit(
        "idea.reject", idea.reference, reason=reason if reason in idea_work.REASONS else "own words"
    )
    return Told(rejected, news)


@operation("idea.merge")
def merge(desk: Desk, duplicate_ref: str, kept_ref: str) -> Told:
    """A duplicate joins another idea; its senders hear about that one from now on."""
    duplicate, kept = lookup.idea(desk, duplicate_ref), lookup.idea(desk, kept_ref)
    if duplicate.id == kept.id:
        raise Invalid("kept", "an idea cannot be merged into itself")
    _open(duplicate, stored.NEW, stored.APPROVED)
    _open(kept, stored.NEW, stored.APPROVED, stored.SHORTLISTED)
    stored.moderate(
        desk.tx, duplicate.id, stored.MERGED, desk.actor.who, desk.now, merged_into=kept.id
    )
    news = _tell(
        desk, duplicate, lambda language: idea_work.merged_news(desk.env, language, duplicate, kept)
    )
    desk.audit("idea.merge", duplicate.reference, into=kept.reference)
    return Told(replace(duplicate, status=stored.MERGED, merged_into=kept.id), news)


@operation("idea.shortlist")
def shortlist(
    desk: Desk,
    refs: Sequence[str],
    question: str | None = None,
    translations: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    closes_at: datetime | None = None,
    sending: Sending | None = None,
    multiple: bool = False,
    results: str = "send",
) -> Shortlisted:
    """Approved ideas (2 to 9) become a poll's options, drafted with its preview; their
    senders are told. ``translations``: language -> (question, the options' labels)."""
    if len(refs) < 2:
        raise Invalid("ideas", "choose 2 to 9 approved ideas")
    chosen = [lookup.idea(desk, ref) for ref in refs]
    if len({idea.id for idea in chosen}) != len(chosen):
        raise Invalid("ideas", "an idea is chosen twice")
    for idea in chosen:
        if idea.status != stored.APPROVED:
            raise Invalid("ideas", f"{idea.reference} is {idea.status}: only approved ideas")
    sending = sending or Sending()
    source = desk.settings.default_language
    texts: dict[str, str] = {source: (question or "").strip() or SHORTLIST_QUESTION}
    options = options_from_labels([idea_work.label(idea) for idea in chosen], source)
    for language, (asked, labels) in (translations or {}).items():
        texts, options = translate(desk, texts, options, language, asked, labels)
    spec = PollSpec(texts, options, multiple, results, closes_at)
    poll = create(desk, build(desk, spec))
    new = NewBroadcast(
        broadcasts.POLL,
        sending.audience.to_json(),
        flow_id=poll.flow_id,
        poll_id=poll.id,
        send_at=sending.send_at,
        remind_after=sending.remind_after,
    )
    drafted = store_draft(desk, new, Survey(as_flow(poll, desk.env)))
    for idea in chosen:
        stored.moderate(
            desk.tx, idea.id, stored.SHORTLISTED, desk.actor.who, desk.now, poll_id=poll.id
        )
        _tell(desk, idea, functools.partial(idea_work.shortlisted_news, desk.env, idea=idea))
    desk.audit(
        "idea.shortlist",
        f"poll {poll.id}",
        ideas=[idea.reference for idea in chosen],
        broadcast=drafted.id,
    )
    shortlisted = tuple(
        replace(idea, status=stored.SHORTLISTED, poll_id=poll.id) for idea in chosen
    )
    return Shortlisted(shortlisted, poll, drafted)


def _tell(desk: Desk, idea: Idea, news: Callable[[str], str]) -> int:
    """Send the news to the idea's senders now (a broadcast, so opt-out and quiet hours
    hold); its broadcast's number."""
    desk.effects.scheduled = True
    return idea_work.tell_submitters(desk.tx, desk.env, idea, news, desk.now, desk.actor.who)
