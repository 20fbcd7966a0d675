"""Idea rows: what residents sent, what staff did with it, and its short reference."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.store.sql import Row, Tx

NEW = "new"
APPROVED = "approved"
REJECTED = "rejected"
MERGED = "merged"
SHORTLISTED = "shortlisted"
DECIDED = "decided"

_PREFIX = "ID-"
_STEP = 7919  # a prime: it shuffles each block of references without repeating one
_REFERENCE = re.compile(r"^(?:ID-?)?([0-9]{1,12})$", re.IGNORECASE)


def reference(idea_id: int) -> str:
    """A short reference residents can quote, like ``ID-4821``: the first 9,000 ideas get
    four digits, the next 90,000 five, and so on; neighbours do not look alike."""
    digits, first = 4, 1
    while True:
        size = 9 * 10 ** (digits - 1)
        if idea_id < first + size:
            shuffled = ((idea_id - first) * _STEP + 3821) % size
            return f"{_PREFIX}{10 ** (digits - 1) + shuffled}"
        first += size
        digits += 1


def idea_id_of(text: str) -> int | None:
    """The idea a reference names (``ID-4821``, ``id4821``), or None."""
    match = _REFERENCE.match(text.strip())
    if match is None or len(match.group(1)) < 4 or match.group(1).startswith("0"):
        return None
    number = match.group(1)
    digits = len(number)
    size = 9 * 10 ** (digits - 1)
    first = 1 + sum(9 * 10 ** (d - 1) for d in range(4, digits))
    shuffled = int(number) - 10 ** (digits - 1)
    offset = int((shuffled - 3821) * pow(_STEP, -1, size)) % size
    return int(first + offset)


@dataclass(frozen=True)
class NewIdea:
    contact_id: int
    text: str
    shown_text: str  # with personal details replaced
    pii: tuple[str, ...]  # the kinds of personal detail found
    language: str
    channel: str
    area: str | None = None
    category: str | None = None
    session_id: int | None = None
    inbound_id: int | None = None


@dataclass(frozen=True)
class Idea(NewIdea):
    id: int = 0
    status: str = NEW
    reason: str | None = None
    merged_into: int | None = None
    poll_id: int | None = None

    @property
    def reference(self) -> str:
        return reference(self.id)

    @property
    def flagged(self) -> bool:
        return bool(self.pii)


def add(tx: Tx, idea: NewIdea, now: datetime) -> Idea:
    row = tx.execute(
        "INSERT INTO ideas (contact_id, session_id, inbound_id, text, shown_text, pii,"
        " language, channel, category, area, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (
            idea.contact_id,
            idea.session_id,
            idea.inbound_id,
            idea.text,
            idea.shown_text,
            json.dumps(list(idea.pii)) if idea.pii else None,
            idea.language,
            idea.channel,
            idea.category,
            idea.area,
            now.isoformat(),
        ),
    ).fetchone()
    assert row is not None
    return _idea(row)


def _idea(row: Row) -> Idea:
    return Idea(
        contact_id=row["contact_id"],
        text=row["text"],
        shown_text=row["shown_text"],
        pii=tuple(json.loads(row["pii"])) if row["pii"] else (),
        language=row["language"],
        channel=row["channel"],
        area=row["area"],
        category=row["category"],
        session_id=row["session_id"],
        inbound_id=row["inbound_id"],
        id=row["id"],
        status=row["status"],
        reason=row["reason"],
        merged_into=row["merged_into"],
        poll_id=row["poll_id"],
    )


def get(tx: Tx, idea_id: int) -> Idea | None:
    row = tx.execute("SELECT * FROM ideas WHERE id = ?", (idea_id,)).fetchone()
    return _idea(row) if row else None


def of_session(tx: Tx, session_id: int) -> Idea | None:
    row = tx.execute(
        "SELECT * FROM ideas WHERE session_id = ? ORDER BY id DESC LIMIT 1", (session_id,)
    ).fetchone()
    return _idea(row) if row else None


def set_category(tx: Tx, idea_id: int, category: str) -> None:
    tx.execute("UPDATE ideas SET category = ? WHERE id = ?", (category, idea_id))


def listing(tx: Tx, statuses: Sequence[str], flagged: bool, limit: int = 20) -> list[Idea]:
    """Ideas in ``statuses``, flagged ones first, then oldest first; flagged ones not yet
    approved only when ``flagged`` (an organiser's approval makes the redacted text shown
    to all staff)."""
    marks = ", ".join("?" * len(statuses))
    where = f"status IN ({marks})" + ("" if flagged else " AND (pii IS NULL OR status != 'new')")
    rows = tx.execute(
        f"SELECT * FROM ideas WHERE {where} ORDER BY pii IS NULL, id LIMIT ?", (*statuses, limit)
    ).fetchall()
    return [_idea(row) for row in rows]


def flagged_waiting(tx: Tx) -> int:
    """New ideas held back for an organiser because they look like they hold personal
    details."""
    row = tx.execute("SELECT count(*) FROM ideas WHERE status = 'new' AND pii IS NOT NULL")
    return int(row.fetchone()[0])


def moderate(
    tx: Tx,
    idea_id: int,
    status: str,
    who: str,
    now: datetime,
    *,
    reason: str | None = None,
    merged_into: int | None = None,
    poll_id: int | None = None,
) -> None:
    tx.execute(
        "UPDATE ideas SET status = ?, reason = coalesce(?, reason),"
        " merged_into = coalesce(?, merged_into), poll_id = coalesce(?, poll_id),"
        " moderated_by = ?, moderated_at = ? WHERE id = ?",
        (status, reason, merged_into, poll_id, who, now.isoformat(), idea_id),
    )


FAMILY = (
    "WITH RECURSIVE family(id) AS (SELECT CAST(? AS BIGINT) UNION SELECT i.id FROM ideas i"
    " JOIN family f ON i.merged_into = f.id)"
)
"""The ideas of one idea: itself and every idea merged into it, however deep. (The cast:
PostgreSQL takes a small number given as smallint, and the ids are bigint.)"""


def mark_decided(tx: Tx, idea_ids: Sequence[int]) -> None:
    """Ideas a decision answers, and those merged into them, are decided."""
    for idea_id in idea_ids:
        tx.execute(
            f"{FAMILY} UPDATE ideas SET status = 'decided' WHERE id IN (SELECT id FROM family)"
            " AND status != 'rejected'",
            (idea_id,),
        )


def submitters(tx: Tx, idea_id: int) -> list[int]:
    """Contacts who sent the idea or an idea merged into it."""
    return [
        int(row[0])
        for row in tx.execute(
            f"{FAMILY} SELECT DISTINCT i.contact_id FROM ideas i JOIN family f ON f.id = i.id"
            " ORDER BY i.contact_id",
            (idea_id,),
        )
    ]
