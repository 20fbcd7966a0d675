"""Polls: made (2 to 9 options, translated, a closing time), listed with how many were
asked and voted, closed early, and given a public results page residents can open."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.civic.polls import options_from_labels, problem, translated
from bot.desk import lookup
from bot.desk.context import Desk, operation
from bot.desk.errors import Invalid, Refused
from bot.outreach.audience import Audience
from bot.store import broadcasts, jobs, polls
from bot.store.broadcasts import Broadcast
from bot.store.polls import NewPoll, Poll, PollOption

RESULTS_RULES = ("send", "public", "private")


@dataclass(frozen=True)
class PollSpec:
    """A poll as staff describe it (see :func:`labelled` for the usual way to make one)."""

    question: Mapping[str, str]  # language -> the question; the default language needed
    options: tuple[PollOption, ...]  # each option's label by language
    multiple: bool = False
    results: str = "send"  # send the result to voters, show it to late voters, or neither
    closes_at: datetime | None = None


@dataclass(frozen=True)
class PollView:
    """A poll, where it stands, and who it went to."""

    poll: Poll
    asked: int  # residents it was written to the outbox for
    voted: int
    sends: tuple[tuple[Broadcast, Audience], ...]  # the broadcasts that put it to residents
    public_token: str | None


def labelled(
    desk: Desk,
    question: str,
    labels: Sequence[str],
    translations: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], tuple[PollOption, ...]]:
    """A question and its options' labels in the default language, with any other
    language given as one line, ``question | option | option ...``."""
    source = desk.settings.default_language
    texts = {source: question.strip()}
    options = options_from_labels([label for label in labels if label.strip()], source)
    for language, line in (translations or {}).items():
        parts = [part.strip() for part in line.split("|")]
        texts, options = translate(desk, texts, options, language, parts[0], parts[1:])
    return texts, options


def translate(
    desk: Desk,
    texts: Mapping[str, str],
    options: tuple[PollOption, ...],
    language: str,
    question: str,
    labels: Sequence[str],
) -> tuple[dict[str, str], tuple[PollOption, ...]]:
    """The poll with its question and every option in ``language`` too."""
    if language not in desk.settings.languages:
        raise Invalid(
            "translations",
            f"unknown language '{language}'; languages: {', '.join(desk.settings.languages)}",
        )
    line = " | ".join([question, *labels])
    both = translated(texts, options, language, line) if "|" not in question else None
    if both is None or any("|" in label for label in labels):
        raise Invalid(
            f"translation_{language}",
            f"{language}: give the question and all {len(options)} options, split by |",
        )
    return both


def build(desk: Desk, spec: PollSpec) -> NewPoll:
    """The poll ``spec`` describes, checked."""
    if spec.results not in RESULTS_RULES:
        raise Invalid("results", "results is send, public or private")
    new = NewPoll(
        question=dict(spec.question),
        options=tuple(spec.options),
        language=desk.settings.default_language,
        multiple=spec.multiple,
        results=spec.results,
        closes_at=spec.closes_at,
        created_by=desk.actor.who,
    )
    wrong = problem(new, desk.now)
    if wrong is not None:
        raise Invalid(*wrong)
    return new


def create(desk: Desk, new: NewPoll) -> Poll:
    """Store a checked poll, with its closing scheduled."""
    poll_id = polls.create(desk.tx, new, desk.now)
    if new.closes_at is not None:
        jobs.add(desk.tx, jobs.CLOSE, poll_id, new.closes_at)
    return lookup.poll(desk, poll_id)


@operation("poll.make")
def make(desk: Desk, spec: PollSpec) -> Poll:
    """Make a poll (sent with a broadcast of it)."""
    poll = create(desk, build(desk, spec))
    desk.audit("poll.make", f"poll {poll.id}", options=len(poll.options), closes=poll.closes_at)
    return poll


def view(desk: Desk, poll: Poll) -> PollView:
    sent = broadcasts.of_poll(desk.tx, poll.id)
    return PollView(
        poll,
        polls.asked(desk.tx, poll.id),
        polls.voted(desk.tx, poll.id),
        tuple((one, Audience.from_json(one.audience)) for one in sent),
        polls.public_token(desk.tx, poll.id),
    )


@operation("poll.show", changes=False)
def show(desk: Desk, poll_id: int) -> PollView:
    return view(desk, lookup.poll(desk, poll_id))


@operation("poll.list", changes=False)
def listing(desk: Desk, limit: int = 20, before: int | None = None) -> list[PollView]:
    """Polls, newest first: state, closing time, residents asked and voters."""
    return [view(desk, poll) for poll in polls.recent(desk.tx, limit, before)]


@operation("poll.close", organiser="closing a poll early")
def close(desk: Desk, poll_id: int) -> Poll:
    """Close a poll now: its result goes to voters (if it says so), once."""
    poll = lookup.poll(desk, poll_id)
    if poll.status == "closed":
        raise Refused(f"poll {poll_id} has already closed")
    # Closing is a job like the scheduled one, due now: it runs once, results and all.
    jobs.add(desk.tx, jobs.CLOSE, poll_id, desk.now)
    desk.effects.scheduled = True
    desk.audit("poll.close", f"poll {poll_id}")
    return poll


@operation("poll.publish", organiser="a public results page")
def publish(desk: Desk, poll_id: int, public: bool = True) -> str | None:
    """Give a poll a public results page (its token, for ``/r/<token>``), or take it
    away. The page shows no one's data: the question, the options and, once the poll
    has closed, the counts, in the poll's languages."""
    poll = lookup.poll(desk, poll_id)
    if public and poll.results == "private":
        raise Refused(f"poll {poll_id} keeps its result private")
    if public and poll.panel_id is not None:
        raise Refused(f"poll {poll_id} is a panel's vote: its result is the panel's")
    token = polls.public_token(desk.tx, poll_id)
    if public and token is None:
        token = secrets.token_urlsafe(6)
        polls.set_public(desk.tx, poll_id, token)
    elif not public:
        token = None
        polls.set_public(desk.tx, poll_id, None)
    desk.audit("poll.publish", f"poll {poll_id}", public=public)
    return token
