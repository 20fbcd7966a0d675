"""Decisions returned to residents: "you said, we did".

An organiser records what was decided (its text, with translations), its status
(agreed, not agreed, in progress, done) and what it answers: polls and panel votes
(``poll:3``), surveys (``flow:priorities``) and ideas (``idea:ID-4821``). Parley sends
it to everyone who took part in any of them — voters, respondents, and whoever sent the
idea or one merged into it — in their language, as a broadcast: opt-out, quiet hours
and pacing hold, and its reach is counted from the outbox. A later progress update goes
to the same people the decision first went to (those still opted in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.engine import Env, Flow
from bot.outreach.audience import Audience
from bot.store import broadcasts, budgeting, decisions, ideas, polls
from bot.store.broadcasts import NewBroadcast
from bot.store.decisions import STATUSES, Decision
from bot.store.sql import Tx


class Unknown(ValueError):
    """Something a decision names does not exist; the message says what."""


def items(tx: Tx, named: Sequence[str], flows: Mapping[str, Flow]) -> tuple[list[str], list[int]]:
    """Check what a decision answers; returns the items as stored (an idea by its row)
    and the ideas among them. ``idea:ID-4821`` and ``idea:4821`` name the same idea."""
    checked: list[str] = []
    idea_ids: list[int] = []
    for item in named:
        kind, _, name = item.strip().partition(":")
        kind = kind.lower()
        if kind == "poll" and name.isdigit() and polls.get(tx, int(name)) is not None:
            checked.append(f"poll:{int(name)}")
        elif kind == "pb" and name.isdigit() and budgeting.get_round(tx, int(name)) is not None:
            checked.append(f"pb:{int(name)}")
        elif kind == "flow" and name in flows:
            checked.append(f"flow:{name}")
        elif kind == "idea" and (idea_id := ideas.idea_id_of(name)) is not None:
            if ideas.get(tx, idea_id) is None:
                raise Unknown(f"there is no idea {name}")
            checked.append(f"idea:{idea_id}")
            idea_ids.append(idea_id)
        else:
            raise Unknown(
                f"'{item}' is not an existing poll:N, flow:NAME or idea:ID-NNNN"
                " (what the decision answers)"
            )
    if not checked:
        raise Unknown("say what the decision answers: poll:N, flow:NAME or idea:ID-NNNN")
    return checked, idea_ids


def heading(env: Env, language: str, status: str) -> str:
    phrases = env.phrases
    match status:
        case "agreed":
            return phrases.text(language, "You said, we did. Agreed:")
        case "rejected":
            return phrases.text(language, "You said, we listened. Not agreed:")
        case "in_progress":
            return phrases.text(language, "You said, we did. Update, in progress:")
        case "done":
            return phrases.text(language, "You said, we did. Done:")
    raise ValueError(f"status is one of {', '.join(STATUSES)}, not '{status}'")


def resident_texts(env: Env, source: str, status: str, texts: Mapping[str, str]) -> dict[str, str]:
    """The decision as each language's residents read it: heading and text both in
    their language, or both in the source language, never half-translated."""
    out = {}
    for code in env.languages:
        language = code if code in texts else source
        out[code] = heading(env, language, status) + "\n" + texts[language]
    return out


@dataclass(frozen=True)
class Recorded:
    decision_id: int
    broadcast: NewBroadcast


def record(
    tx: Tx,
    env: Env,
    flows: Mapping[str, Flow],
    source: str,
    status: str,
    texts: Mapping[str, str],
    answers: Sequence[str],
    who: str,
    now: datetime,
) -> Recorded:
    """Store a decision and the broadcast (not yet sent) that tells everyone who took part."""
    _check(source, status, texts)
    checked, idea_ids = items(tx, answers, flows)
    decision_id = decisions.create(tx, source, checked, who, now)
    ideas.mark_decided(tx, idea_ids)
    new = NewBroadcast(
        broadcasts.MESSAGE,
        Audience(participants=tuple(checked)).to_json(),
        texts=resident_texts(env, source, status, texts),
        created_by=who,
    )
    return Recorded(decision_id, new)


def progress(
    env: Env, decision: Decision, status: str, texts: Mapping[str, str], who: str
) -> NewBroadcast:
    """The broadcast of a progress update: to whoever the decision first went to."""
    _check(decision.language, status, texts)
    return NewBroadcast(
        broadcasts.MESSAGE,
        Audience(received=decision.first.broadcast_id).to_json(),
        texts=resident_texts(env, decision.language, status, texts),
        created_by=who,
    )


def _check(source: str, status: str, texts: Mapping[str, str]) -> None:
    if status not in STATUSES:
        raise Unknown(f"the status is one of {', '.join(STATUSES)}, not '{status}'")
    if not texts.get(source, "").strip():
        raise Unknown(f"give the decision's text in {source} (the default language)")
