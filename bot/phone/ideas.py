"""Staff moderating ideas, from a phone or the command line.

    /ideas                      what waits: new and approved ideas
    /idea ID-4821               one idea in full
    /approve ID-4821
    /reject ID-4821 done        done, scope, cost or rules (told in the resident's
                                language), or any reason in words
    /merge ID-3740 into ID-4821 a duplicate joins another idea
    /shortlist ID-4821 ID-2659  approved ideas become a poll (drafted, with its preview);
                                optional lines as for /poll: a question, closes: 3d, to: ...

An idea flagged for personal details is seen by organisers only, redacted, until one
approves it; workers are told how many wait. What is shortlisted is the redacted text.
"""

from __future__ import annotations

from bot.civic import ideas
from bot.english import counted
from bot.phone import commands as staff
from bot.store import ideas as stored
from bot.store.ideas import Idea

SHORTLIST_QUESTION = "Which idea should go forward?"
"""The shortlist poll's question when staff give none."""


def _idea(desk: staff.Desk, ref: str) -> Idea:
    """The idea ``ref`` names; to a worker, a flagged idea does not exist until approved."""
    idea_id = stored.idea_id_of(ref)
    idea = stored.get(desk.tx, idea_id) if idea_id is not None else None
    if idea is None or (idea.flagged and not _organiser(desk) and idea.status == stored.NEW):
        raise staff.Refused(f"There is no idea {ref}. Ideas are named like ID-4821.")
    return idea


def _organiser(desk: staff.Desk) -> bool:
    return desk.role is staff.Role.ORGANISER


def _line(idea: Idea) -> str:
    facts = [idea.status, idea.category or "no category", idea.area or "no area", idea.language]
    if idea.flagged:
        facts.insert(1, "FLAGGED " + "/".join(idea.pii))
    return f"{idea.reference} " + " · ".join(facts) + f"\n  {ideas.label(idea)}"


def listing(desk: staff.Desk) -> staff.StaffReply:
    waiting = stored.listing(desk.tx, (stored.NEW, stored.APPROVED), flagged=_organiser(desk))
    reply = staff.StaffReply()
    if not waiting:
        reply.lines.append("No ideas wait for moderation.")
    reply.lines += [_line(idea) for idea in waiting]
    hidden = 0 if _organiser(desk) else stored.flagged_waiting(desk.tx)
    if hidden:
        waits = "waits" if hidden == 1 else "wait"
        reply.lines.append(f"{counted(hidden, 'flagged idea')} {waits} for an organiser.")
    reply.lines.append("/approve, /reject, /merge or /shortlist with the ID.")
    return reply


def show(desk: staff.Desk, body: str) -> staff.StaffReply:
    idea = _idea(desk, _one(body, "/idea ID-NNNN"))
    lines = [_line(idea)]
    if idea.flagged and _organiser(desk):
        lines.append("Flagged as it arrived. As sent (do not share): " + idea.text)
    if idea.reason:
        lines.append(f"Reason: {idea.reason}")
    if idea.merged_into:
        lines.append(f"Merged into {stored.reference(idea.merged_into)}")
    if idea.poll_id:
        lines.append(f"Shortlisted in poll {idea.poll_id}")
    return staff.StaffReply(lines)


def _one(body: str, usage: str) -> str:
    words = body.split()
    if len(words) != 1:
        raise staff.Refused(f"Use: {usage}")
    return words[0]


def _open(idea: Idea, *allowed: str) -> None:
    if idea.status not in allowed:
        raise staff.Refused(f"{idea.reference} is {idea.status}.")


def approve(desk: staff.Desk, body: str) -> staff.StaffReply:
    idea = _idea(desk, _one(body, "/approve ID-NNNN"))
    _open(idea, stored.NEW)
    stored.moderate(desk.tx, idea.id, stored.APPROVED, desk.who, desk.now)
    note = " (its personal details stay hidden)" if idea.flagged else ""
    return staff.StaffReply([f"{idea.reference} approved{note}."])


def reject(desk: staff.Desk, body: str) -> staff.StaffReply:
    ref, _, reason = body.strip().partition(" ")
    reason = reason.strip()
    if not ref or not reason:
        raise staff.Refused(
            "Use: /reject ID-NNNN REASON, where REASON is done, scope, cost, rules"
            " (residents read these in their language) or your own words"
        )
    idea = _idea(desk, ref)
    _open(idea, stored.NEW, stored.APPROVED)
    stored.moderate(desk.tx, idea.id, stored.REJECTED, desk.who, desk.now, reason=reason)
    rejected = stored.get(desk.tx, idea.id)
    assert rejected is not None
    ideas.tell_submitters(
        desk.tx,
        desk.env,
        rejected,
        lambda language: ideas.rejected_news(desk.env, language, rejected),
        desk.now,
        desk.who,
    )
    known = "" if reason in ideas.REASONS else " Your reason is sent as written."
    return staff.StaffReply(
        [f"{idea.reference} will not be taken forward; its sender is told why.{known}"],
        scheduled=True,
    )


def merge(desk: staff.Desk, body: str) -> staff.StaffReply:
    words = [w for w in body.split() if w.lower() != "into"]
    if len(words) != 2:
        raise staff.Refused("Use: /merge ID-NNNN into ID-NNNN (the duplicate first)")
    duplicate, kept = _idea(desk, words[0]), _idea(desk, words[1])
    if duplicate.id == kept.id:
        raise staff.Refused("An idea cannot be merged into itself.")
    _open(duplicate, stored.NEW, stored.APPROVED)
    _open(kept, stored.NEW, stored.APPROVED, stored.SHORTLISTED)
    stored.moderate(desk.tx, duplicate.id, stored.MERGED, desk.who, desk.now, merged_into=kept.id)
    ideas.tell_submitters(
        desk.tx,
        desk.env,
        duplicate,
        lambda language: ideas.merged_news(desk.env, language, duplicate, kept),
        desk.now,
        desk.who,
    )
    return staff.StaffReply(
        [f"{duplicate.reference} merged into {kept.reference}; its sender is told."],
        scheduled=True,
    )


def shortlist(desk: staff.Desk, body: str) -> staff.StaffReply:
    first, _, rest = body.strip().partition("\n")
    refs = first.split()
    if len(refs) < 2:
        raise staff.Refused(
            "Use: /shortlist ID-NNNN ID-NNNN ... (2 to 9 approved ideas), then optional"
            " lines: the question, closes: 3d, to: ..., at: ..., pl: question | option ..."
        )
    chosen = [_idea(desk, ref) for ref in refs]
    for idea in chosen:
        if idea.status != stored.APPROVED:
            raise staff.Refused(f"{idea.reference} is {idea.status}: only approved ideas.")
    lines = [line.strip() for line in rest.splitlines() if line.strip()]
    question = [line for line in lines if not staff.is_setting(line, desk.settings)]
    settings = [line for line in lines if staff.is_setting(line, desk.settings)]
    if len(question) > 1:
        raise staff.Refused("Give one question line (or none), then the settings.")
    poll_body = "\n".join([question[0] if question else SHORTLIST_QUESTION, *settings])
    reply, poll = staff.make_poll(desk, poll_body, [ideas.label(idea) for idea in chosen])
    for idea in chosen:
        stored.moderate(desk.tx, idea.id, stored.SHORTLISTED, desk.who, desk.now, poll_id=poll.id)
        _tell_shortlisted(desk, idea)
    reply.lines.insert(0, f"Shortlisted {len(chosen)} ideas; their senders are told.")
    reply.scheduled = True
    return reply


def _tell_shortlisted(desk: staff.Desk, idea: Idea) -> None:
    ideas.tell_submitters(
        desk.tx,
        desk.env,
        idea,
        lambda language: ideas.shortlisted_news(desk.env, language, idea),
        desk.now,
        desk.who,
    )
