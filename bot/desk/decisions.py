"""Decisions sent back ("you said, we did"), for organisers: record one and send it to
everyone who took part in what it answers, send progress updates to the same people,
and count how far each sending reached."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.civic import decisions as decision_work
from bot.desk import lookup
from bot.desk.broadcasts import Drafted, schedule, store_draft
from bot.desk.context import Desk, operation
from bot.desk.errors import Invalid, NotFound
from bot.outreach.broadcast import Message
from bot.store import decisions as stored
from bot.store import ideas
from bot.store.broadcasts import NewBroadcast
from bot.store.decisions import Decision, Reach, Send

DECISIONS = "decisions"
STATUSES = stored.STATUSES


@dataclass(frozen=True)
class DecisionSent:
    decision_id: int
    drafted: Drafted  # the broadcast that carries it, already sent


@dataclass(frozen=True)
class ReachReport:
    decision: Decision
    sends: tuple[tuple[Send, Reach], ...]  # the first sending, then each update


def _answers(desk: Desk, answers: Sequence[str]) -> None:
    """Each item a decision answers exists (poll:N, flow:ID, idea:ID-NNNN)."""
    if not answers:
        raise Invalid("answers", "say what the decision answers: poll:N, flow:NAME or idea:ID-NNNN")
    for item in answers:
        kind, _, name = item.strip().partition(":")
        try:
            if kind == "poll" and name.isdigit():
                lookup.poll(desk, int(name))
            elif kind == "flow":
                lookup.flow(desk, name)
            elif kind == "idea" and ideas.idea_id_of(name) is not None:
                lookup.idea(desk, name)
            else:
                raise Invalid(
                    "answers",
                    f"'{item}' is not an existing poll:N, flow:NAME or idea:ID-NNNN"
                    " (what the decision answers)",
                )
        except NotFound as missing:
            raise NotFound(missing.kind, missing.given, missing.known, "answers") from None


def _send(
    desk: Desk, decision_id: int, new: NewBroadcast, status: str, texts: Mapping[str, str]
) -> Drafted:
    assert new.texts is not None
    drafted = store_draft(desk, new, Message(new.texts))
    stored.add_send(desk.tx, decision_id, status, texts, drafted.id, desk.now)
    schedule(desk, drafted.id, None)
    return drafted


def _texts(desk: Desk, texts: Mapping[str, str]) -> dict[str, str]:
    given = {code: text.strip() for code, text in texts.items() if text.strip()}
    unknown = sorted(set(given) - set(desk.settings.languages))
    if unknown:
        raise Invalid(
            "text",
            f"unknown language '{unknown[0]}'; languages: {', '.join(desk.settings.languages)}",
        )
    return given


@operation("decision.record", organiser=DECISIONS)
def record(
    desk: Desk, status: str, texts: Mapping[str, str], answers: Sequence[str]
) -> DecisionSent:
    """Record a decision and send it to everyone who took part in what it answers."""
    given = _texts(desk, texts)
    _answers(desk, answers)
    try:
        made = decision_work.record(
            desk.tx,
            desk.env,
            desk.flows,
            desk.settings.default_language,
            status,
            given,
            answers,
            desk.actor.who,
            desk.now,
        )
    except decision_work.Unknown as problem:
        raise Invalid("status" if "status" in str(problem) else "text", str(problem)) from None
    drafted = _send(desk, made.decision_id, made.broadcast, status, given)
    desk.audit(
        "decision.record",
        f"decision {made.decision_id}",
        status=status,
        answers=list(answers),
        recipients=drafted.preview.recipients,
    )
    return DecisionSent(made.decision_id, drafted)


@operation("decision.update", organiser=DECISIONS)
def update(desk: Desk, decision_id: int, status: str, texts: Mapping[str, str]) -> DecisionSent:
    """Send a progress update to the same people the decision first went to."""
    found = lookup.decision(desk, decision_id)
    given = _texts(desk, texts)
    try:
        new = decision_work.progress(desk.env, found, status, given, desk.actor.who)
    except decision_work.Unknown as problem:
        raise Invalid("status" if "status" in str(problem) else "text", str(problem)) from None
    drafted = _send(desk, decision_id, new, status, given)
    desk.audit(
        "decision.update",
        f"decision {decision_id}",
        status=status,
        recipients=drafted.preview.recipients,
    )
    return DecisionSent(decision_id, drafted)


@operation("decision.reach", organiser=DECISIONS, changes=False)
def reach(desk: Desk, decision_id: int) -> ReachReport:
    """For each sending: delivered, sent, failed, waiting and not sent, from the outbox."""
    found = lookup.decision(desk, decision_id)
    return ReachReport(
        found, tuple((send, stored.reach(desk.tx, send.broadcast_id)) for send in found.sends)
    )


@operation("decision.list", organiser=DECISIONS, changes=False)
def listing(desk: Desk, limit: int = 50) -> list[ReachReport]:
    ids = [
        int(row[0])
        for row in desk.tx.execute(
            "SELECT DISTINCT decision_id FROM decision_sends ORDER BY decision_id DESC LIMIT ?",
            (limit,),
        )
    ]
    return [reach(desk, decision_id) for decision_id in ids]
