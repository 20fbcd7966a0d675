"""Ideas: residents send them, staff moderate them, submitters hear what became of them.

An idea arrives through the ``idea`` flow or as ``IDEA <text>`` in any language. It is
stored as soon as its text is given, checked for personal details first (:mod:`bot.lang.pii`:
flagged ideas are shown redacted, and only to organisers until one approves it), and
acknowledged with a short reference such as ``ID-4821``. Staff approve, reject with a
reason, merge duplicates, and shortlist approved ideas into a poll in one action. Each
step a submitter would care about (merged, shortlisted, not taken forward, decided) is
sent to everyone who sent the idea or an idea merged into it, in their language, as a
small broadcast: so opt-out, quiet hours and pacing hold as for any other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.engine import Env
from bot.lang import pii
from bot.outreach.audience import Audience
from bot.store import broadcasts, ideas
from bot.store.broadcasts import NewBroadcast
from bot.store.contacts import Contact
from bot.store.ideas import Idea, NewIdea
from bot.store.sql import Tx

LABEL_LENGTH = 60
"""A shortlisted idea's text is cut to this many characters to become a poll option."""

REASONS = ("done", "scope", "cost", "rules")
"""Reasons for not taking an idea forward that residents are told in their language."""


def submit(
    tx: Tx,
    contact: Contact,
    text: str,
    language: str,
    now: datetime,
    *,
    region: str,
    session_id: int | None = None,
    inbound_id: int | None = None,
) -> Idea:
    """Store a resident's idea, with any personal details in it found and hidden
    (``region``: the country a phone number without its +country code is from; one from
    the country of the resident's ``language`` is found too)."""
    text = text.strip()
    found = pii.find(text, region, language)
    return ideas.add(
        tx,
        NewIdea(
            contact_id=contact.id,
            text=text,
            shown_text=pii.redact(text, found),
            pii=tuple(pii.kinds(found)),
            language=language,
            channel=contact.channel,
            area=contact.fields.get("area"),
            session_id=session_id,
            inbound_id=inbound_id,
        ),
        now,
    )


def saved_text(env: Env, language: str, idea: Idea) -> str:
    return env.phrases.text(language, "Your idea is saved as %(ref)s.", ref=idea.reference)


def label(idea: Idea) -> str:
    """The idea as a poll option: its shown text on one line, cut short."""
    text = " ".join(idea.shown_text.split())
    return text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1].rstrip() + "…"


# -- news for submitters -------------------------------------------------------------------


def reason_text(env: Env, language: str, reason: str) -> str:
    """A reason in the resident's language: a known one translated, another as written."""
    phrases = env.phrases
    match reason:
        case "done":
            return phrases.text(language, "It is already being done.")
        case "scope":
            return phrases.text(language, "It is not something this project can change.")
        case "cost":
            return phrases.text(language, "It costs more than the budget allows.")
        case "rules":
            return phrases.text(language, "It does not follow the rules for ideas.")
    return reason


def rejected_news(env: Env, language: str, idea: Idea) -> str:
    return env.phrases.text(
        language,
        "Your idea %(ref)s will not be taken forward. %(reason)s",
        ref=idea.reference,
        reason=reason_text(env, language, idea.reason or ""),
    )


def merged_news(env: Env, language: str, idea: Idea, into: Idea) -> str:
    return env.phrases.text(
        language,
        "Your idea %(ref)s was joined with a similar idea, %(other)s. We will tell you what"
        " happens to it.",
        ref=idea.reference,
        other=into.reference,
    )


def shortlisted_news(env: Env, language: str, idea: Idea) -> str:
    return env.phrases.text(
        language,
        "Good news: your idea %(ref)s is on the shortlist. Residents will now vote on it.",
        ref=idea.reference,
    )


def tell_submitters(
    tx: Tx,
    env: Env,
    idea: Idea,
    news: Callable[[str], str],
    now: datetime,
    who: str,
) -> int:
    """Send ``news(language)`` to everyone who sent ``idea`` (or an idea merged into it),
    now: a broadcast, so opt-out and quiet hours hold. Returns the broadcast's id."""
    texts = {language: news(language) for language in env.languages}
    new = NewBroadcast(
        broadcasts.MESSAGE,
        Audience(participants=(f"idea:{idea.id}",)).to_json(),
        texts=texts,
        created_by=who,
    )
    return broadcasts.send_now(tx, new, now)
