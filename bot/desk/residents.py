"""A resident's own data: everything Parley holds about one resident (a report the
organisation can hand over), and erasing them (with a preview first).

Both are for organisers and both are in the audit log. A resident is named by their
contact number or by their address (a phone number in any usual form, a chat id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.desk.contacts import ContactFilter, conditions
from bot.desk.context import Desk, operation
from bot.desk.errors import Invalid, NotFound
from bot.store import erasure, ideas

REPORT_VERSION = 1


def contact_of(desk: Desk, ref: str) -> int:
    """The contact a staff member names: ``12`` (a contact number) or an address."""
    text = ref.strip()
    if not text:
        raise Invalid("contact", "give a contact number or a phone number")
    number = text.isdigit() and not text.startswith("0") and len(text) < 9
    chosen = ContactFilter(number=int(text)) if number else ContactFilter(address=text)
    where, params = conditions(desk, chosen)
    found = desk.tx.execute(
        f"SELECT id FROM contacts WHERE {' AND '.join(where)}", params
    ).fetchone()
    if found is None:
        raise NotFound("contact", text)
    return int(found[0])


# -- the report ----------------------------------------------------------------------------


def _rows(desk: Desk, sql: str, contact_id: int) -> list[dict[str, Any]]:
    return [dict(row) for row in desk.tx.execute(sql, (contact_id,))]


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


@operation("resident.report", organiser="a resident's data")
def report(desk: Desk, contact_id: int) -> dict[str, Any]:
    """Everything held about one resident, as plain data (the JSON file as is; the
    readable page is made from it): the contact, its consent record, every message in
    and out, answers, votes, ballots, ideas, panel invitations, conversations."""
    row = desk.tx.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    if row is None:
        raise NotFound("contact", contact_id)
    language = row["language"] or desk.settings.default_language
    contact = {
        "number": row["id"],
        "channel": row["channel"],
        "address": None if row["forgotten_at"] else row["address"],
        "language": row["language"],
        "fields": json.loads(row["fields"]),
        "first_seen": row["created_at"],
        "last_heard_from": row["last_seen_at"],
        "consent_on_record_since": row["consent_at"],
        "opted_out_since": row["opted_out_at"],
        "unreachable_since": row["unreachable_at"],
        "forgotten_at": row["forgotten_at"],
    }
    consent = _rows(
        desk,
        "SELECT event, at, how, recorded_by, recorded_at FROM consents"
        " WHERE contact_id = ? ORDER BY id",
        contact_id,
    )
    said = [
        dict(message)
        for message in desk.tx.execute(
            "SELECT * FROM (SELECT received_at AS at, 'from them' AS direction, channel, text,"
            "   CASE WHEN handled_at IS NULL THEN 'waiting' ELSE 'handled' END AS status,"
            "   NULL AS delivery, NULL AS file, id FROM inbound WHERE contact_id = ?"
            " UNION ALL SELECT created_at, 'to them', channel, text, status, delivery,"
            "   attachment IS NOT NULL, id FROM outbox WHERE contact_id = ?) AS said"
            " ORDER BY at, direction, id",
            (contact_id, contact_id),
        )
    ]
    messages = [
        {key: value for key, value in message.items() if key != "id" and value is not None}
        for message in said
    ]
    for message in messages:
        if message.pop("file", None):
            message["file"] = "a file staff were sent (made when it was sent, not kept)"
    answers = [
        {
            "survey": answer["flow_id"],
            "question": answer["step_id"],
            "answer": _json(answer["value"]),
            "as_typed": answer["raw"],
            "language": answer["language"],
            "at": answer["answered_at"],
        }
        for answer in _rows(
            desk, "SELECT * FROM answers WHERE contact_id = ? ORDER BY answered_at, id", contact_id
        )
    ]
    votes = []
    for vote in _rows(
        desk,
        "SELECT v.*, p.question, p.options, p.language AS poll_language FROM votes v"
        " JOIN polls p ON p.id = v.poll_id WHERE v.contact_id = ? ORDER BY v.voted_at",
        contact_id,
    ):
        question = json.loads(vote["question"])
        options = {o["id"]: o["text"] for o in json.loads(vote["options"])}
        chosen = json.loads(vote["choice"])

        def shown(texts: dict[str, str], source: str = vote["poll_language"]) -> str:
            return texts.get(language) or texts.get(source) or next(iter(texts.values()), "")

        votes.append(
            {
                "poll": vote["poll_id"],
                "question": shown(question),
                "choice": [shown(options.get(option, {option: option})) for option in chosen],
                "at": vote["voted_at"],
                "times_changed": vote["changes"],
            }
        )
    ballots = [
        {
            "round": ballot["name"],
            "projects_chosen": json.loads(ballot["choice"]),
            "at": ballot["cast_at"],
            "times_changed": ballot["changes"],
        }
        for ballot in _rows(
            desk,
            "SELECT b.*, r.name FROM pb_ballots b JOIN pb_rounds r ON r.id = b.round_id"
            " WHERE b.contact_id = ? ORDER BY b.cast_at",
            contact_id,
        )
    ]
    their_ideas = [
        {
            "reference": ideas.reference(idea["id"]),
            "text": idea["text"],
            "status": idea["status"],
            "reason": idea["reason"],
            "at": idea["created_at"],
        }
        for idea in _rows(desk, "SELECT * FROM ideas WHERE contact_id = ? ORDER BY id", contact_id)
    ]
    panels = [
        {
            "panel": seat["name"],
            "volunteer": f"V{seat['number']}",
            "status": seat["status"],
            "profile": json.loads(seat["profile"]),
            "volunteered_at": seat["volunteered_at"],
            "answered_at": seat["answered_at"],
        }
        for seat in _rows(
            desk,
            "SELECT m.*, p.name FROM panel_members m JOIN panels p ON p.id = m.panel_id"
            " WHERE m.contact_id = ? ORDER BY m.volunteered_at",
            contact_id,
        )
    ]
    conversations = _rows(
        desk,
        "SELECT flow_id AS survey, status, started_at, ended_at FROM sessions"
        " WHERE contact_id = ? ORDER BY id",
        contact_id,
    )
    desk.audit("resident.report", f"contact {contact_id}", messages=len(messages))
    return {
        "report": REPORT_VERSION,
        "organisation": desk.settings.name,
        "made_at": desk.now.isoformat(),
        "made_by": desk.actor.name,
        "contact": contact,
        "consent": consent,
        "messages": messages,
        "answers": answers,
        "votes": votes,
        "budgeting_ballots": ballots,
        "ideas": their_ideas,
        "panels": panels,
        "conversations": conversations,
    }


# -- erasure -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """What erasing a resident would erase, and what stays counted."""

    contact_id: int
    channel: str
    forgotten: bool  # already erased
    inbound: int
    outbound: int
    answers: int
    ideas: int
    votes: int  # stay counted, anonymous
    ballots: int
    panels: int


@operation("resident.forget_preview", organiser="erasing a resident", changes=False)
def forget_preview(desk: Desk, contact_id: int) -> Preview:
    row = desk.tx.execute(
        "SELECT channel, forgotten_at FROM contacts WHERE id = ?", (contact_id,)
    ).fetchone()
    if row is None:
        raise NotFound("contact", contact_id)

    def count(sql: str) -> int:
        return int(desk.tx.execute(sql, (contact_id,)).fetchone()[0])

    return Preview(
        contact_id,
        row["channel"],
        row["forgotten_at"] is not None,
        count("SELECT count(*) FROM inbound WHERE contact_id = ? AND text != ''"),
        count("SELECT count(*) FROM outbox WHERE contact_id = ? AND text != ''"),
        count("SELECT count(*) FROM answers WHERE contact_id = ?"),
        count("SELECT count(*) FROM ideas WHERE contact_id = ? AND text != ''"),
        count("SELECT count(*) FROM votes WHERE contact_id = ?"),
        count("SELECT count(*) FROM pb_ballots WHERE contact_id = ?"),
        count("SELECT count(*) FROM panel_members WHERE contact_id = ?"),
    )


@operation("resident.forget", organiser="erasing a resident")
def forget(desk: Desk, contact_id: int) -> erasure.Erased:
    """Erase a resident for good (see :mod:`bot.store.erasure`); their votes stay
    counted, anonymous. Erasing someone already erased changes nothing."""
    preview = forget_preview(desk, contact_id)
    if preview.forgotten:
        raise Invalid("contact", f"contact {contact_id} was erased already")
    erased = erasure.forget(desk.tx, contact_id, desk.now, erasure.free_text(desk.flows))
    desk.audit("resident.forget", f"contact {contact_id}", **erased.as_dict())
    return erased
