"""Moderating ideas by text: the desk's idea operations.

/ideas                      what waits: new and approved ideas
/idea ID-4821               one idea in full
/approve ID-4821
/reject ID-4821 done        done, scope, cost or rules (told in the resident's
                            language), or any reason in words
/merge ID-3740 into ID-4821 a duplicate joins another idea
/shortlist ID-4821 ID-2659  approved ideas become a poll (drafted, with its preview);
                            optional lines as for /poll: a question, closes: 3d, to: ...
"""

from __future__ import annotations

from bot import staff_text
from bot.civic import ideas as idea_work
from bot.desk import ideas
from bot.desk.errors import Invalid
from bot.english import counted
from bot.phone import reading
from bot.phone.broadcasts import drafted_reply, poll_spec
from bot.phone.reading import POLL_KEYS, SEND_KEYS
from bot.phone.reply import Phone, Said, StaffReply
from bot.store import ideas as stored


def listing(phone: Phone, text: str) -> StaffReply:
    waiting = ideas.queue(phone.desk)
    reply = StaffReply()
    if not waiting.ideas:
        reply.lines.append("No ideas wait for moderation.")
    reply.lines += [
        staff_text.idea(idea) for idea in sorted(waiting.ideas, key=lambda idea: idea.id)
    ]
    if waiting.hidden:
        waits = "waits" if waiting.hidden == 1 else "wait"
        reply.lines.append(f"{counted(waiting.hidden, 'flagged idea')} {waits} for an organiser.")
    reply.lines.append("/approve, /reject, /merge or /shortlist with the ID.")
    return reply


def _one(text: str, usage: str) -> str:
    words = text.split()
    if len(words) != 1:
        raise Said(f"Use: {usage}")
    return words[0]


def show(phone: Phone, text: str) -> StaffReply:
    return StaffReply(staff_text.idea_in_full(ideas.show(phone.desk, _one(text, "/idea ID-NNNN"))))


def approve(phone: Phone, text: str) -> StaffReply:
    idea = ideas.approve(phone.desk, _one(text, "/approve ID-NNNN"))
    note = " (its personal details stay hidden)" if idea.flagged else ""
    return StaffReply([f"{idea.reference} approved{note}."])


def reject(phone: Phone, text: str) -> StaffReply:
    ref, _, reason = text.strip().partition(" ")
    if not ref or not reason.strip():
        raise Said(
            "Use: /reject ID-NNNN REASON, where REASON is done, scope, cost, rules"
            " (residents read these in their language) or your own words"
        )
    told = ideas.reject(phone.desk, ref, reason)
    known = "" if told.idea.reason in idea_work.REASONS else " Your reason is sent as written."
    return StaffReply(
        [f"{told.idea.reference} will not be taken forward; its sender is told why.{known}"]
    )


def merge(phone: Phone, text: str) -> StaffReply:
    words = [w for w in text.split() if w.lower() != "into"]
    if len(words) != 2:
        raise Said("Use: /merge ID-NNNN into ID-NNNN (the duplicate first)")
    told = ideas.merge(phone.desk, words[0], words[1])
    kept = stored.reference(told.idea.merged_into or 0)
    return StaffReply([f"{told.idea.reference} merged into {kept}; its sender is told."])


def shortlist(phone: Phone, text: str) -> StaffReply:
    """``/shortlist ID ID ...`` then, optionally, the poll's question and /poll's lines."""
    desk = phone.desk
    first, _, rest = text.strip().partition("\n")
    refs = first.split()
    if len(refs) < 2:
        raise Said(
            "Use: /shortlist ID-NNNN ID-NNNN ... (2 to 9 approved ideas), then optional"
            " lines: the question, closes: 3d, to: ..., at: ..., pl: question | option ..."
        )
    body = reading.read(rest, desk.settings.languages, SEND_KEYS | POLL_KEYS)
    if len(body.lines) > 1:
        raise Said("Give one question line (or none), then the settings.")
    # The options are the ideas: read the lines as /poll would, with placeholder labels.
    body.lines = [body.lines[0] if body.lines else ideas.SHORTLIST_QUESTION]
    translations = {}
    for language, line in body.translations.items():
        parts = [part.strip() for part in line.split("|")]
        translations[language] = (parts[0], parts[1:])
    spec = poll_spec(phone, reading.Body(body.lines, body.settings, {}), ["a", "b"])
    sending = reading.sending(body.settings, desk.now, desk.settings)
    try:
        made = ideas.shortlist(
            desk,
            refs,
            spec.question[desk.settings.default_language],
            translations,
            spec.closes_at,
            sending,
            spec.multiple,
            spec.results,
        )
    except Invalid as problem:
        if problem.field == "ideas":
            raise Said(problem.problem[:1].upper() + problem.problem[1:] + ".") from None
        raise
    head = [
        f"Shortlisted {len(made.ideas)} ideas; their senders are told.",
        *staff_text.poll(made.poll, desk.settings.timezone),
    ]
    return drafted_reply(phone, head, made.drafted)
