"""Poll rows and votes: one vote per resident and poll, the last one counting."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.engine import Value
from bot.store.sql import Tx

_FLOW_ID = re.compile(r"^poll-([0-9]{1,12})$")


@dataclass(frozen=True)
class PollOption:
    id: str
    texts: Mapping[str, str]  # language -> label; the poll's language always present
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # extra words


@dataclass(frozen=True)
class NewPoll:
    question: Mapping[str, str]  # language -> question; the poll's language always present
    options: tuple[PollOption, ...]
    language: str
    multiple: bool = False
    results: str = "send"  # 'send': public and sent to voters; 'public'; 'private'
    closes_at: datetime | None = None
    created_by: str = "cli"
    panel_id: int | None = None  # a panel vote: put to this panel's members
    quorum: str | None = None  # a panel vote's quorum: '50%' or a number of members
    threshold: str | None = None  # 'majority', 'two-thirds' or '80%'


@dataclass(frozen=True)
class Poll(NewPoll):
    id: int = 0
    status: str = "draft"  # 'draft' until first sent, then 'open', then 'closed'
    outcome: str | None = None  # a panel vote's outcome (JSON), once closed

    @property
    def flow_id(self) -> str:
        return flow_id(self.id)

    @property
    def public(self) -> bool:
        return self.results in ("send", "public")


def flow_id(poll_id: int) -> str:
    """The id of the one-question flow a poll is asked through."""
    return f"poll-{poll_id}"


def poll_id_of(flow: str) -> int | None:
    """The poll a flow id belongs to, or None for a flow from a file."""
    match = _FLOW_ID.match(flow)
    return int(match.group(1)) if match else None


def create(tx: Tx, poll: NewPoll, now: datetime) -> int:
    options = [
        {"id": o.id, "text": dict(o.texts), "words": {k: list(v) for k, v in o.words.items()}}
        for o in poll.options
    ]
    row = tx.execute(
        "INSERT INTO polls (question, options, language, multiple, results, closes_at,"
        " created_by, created_at, panel_id, quorum, threshold)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            json.dumps(dict(poll.question), ensure_ascii=False),
            json.dumps(options, ensure_ascii=False),
            poll.language,
            int(poll.multiple),
            poll.results,
            poll.closes_at.isoformat() if poll.closes_at else None,
            poll.created_by,
            now.isoformat(),
            poll.panel_id,
            poll.quorum,
            poll.threshold,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def get(tx: Tx, poll_id: int) -> Poll | None:
    row = tx.execute("SELECT * FROM polls WHERE id = ?", (poll_id,)).fetchone()
    if row is None:
        return None
    options = tuple(
        PollOption(o["id"], o["text"], {k: tuple(v) for k, v in o.get("words", {}).items()})
        for o in json.loads(row["options"])
    )
    return Poll(
        id=row["id"],
        question=json.loads(row["question"]),
        options=options,
        language=row["language"],
        multiple=bool(row["multiple"]),
        results=row["results"],
        closes_at=datetime.fromisoformat(row["closes_at"]) if row["closes_at"] else None,
        created_by=row["created_by"],
        panel_id=row["panel_id"],
        quorum=row["quorum"],
        threshold=row["threshold"],
        status=row["status"],
        outcome=row["outcome"],
    )


def status(tx: Tx, poll_id: int) -> str | None:
    row = tx.execute("SELECT status FROM polls WHERE id = ?", (poll_id,)).fetchone()
    return str(row[0]) if row else None


def open_poll(tx: Tx, poll_id: int) -> None:
    """A drafted poll opens when it is first sent."""
    tx.execute("UPDATE polls SET status = 'open' WHERE id = ? AND status = 'draft'", (poll_id,))


def close(tx: Tx, poll_id: int, now: datetime) -> bool:
    """Close the poll; False when it was already closed (so closing happens once)."""
    cursor = tx.execute(
        "UPDATE polls SET status = 'closed', closed_at = ? WHERE id = ? AND status != 'closed'",
        (now.isoformat(), poll_id),
    )
    return cursor.rowcount == 1


def vote(
    tx: Tx,
    poll_id: int,
    contact_id: int,
    value: Value,
    language: str,
    channel: str,
    now: datetime,
) -> None:
    """Record a resident's vote, replacing any earlier one."""
    choice = value if isinstance(value, list) else [value]
    tx.execute(
        "INSERT INTO votes (poll_id, contact_id, choice, language, channel, voted_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (poll_id, contact_id) DO UPDATE SET"
        " choice = excluded.choice, language = excluded.language, channel = excluded.channel,"
        " voted_at = excluded.voted_at, changes = votes.changes + 1",
        (poll_id, contact_id, json.dumps(choice), language, channel, now.isoformat()),
    )


def set_outcome(tx: Tx, poll_id: int, outcome: str) -> None:
    tx.execute("UPDATE polls SET outcome = ? WHERE id = ?", (outcome, poll_id))


def choice_of(tx: Tx, poll_id: int, contact_id: int) -> tuple[str, ...] | None:
    """The options of a resident's current vote, or None if they have not voted."""
    row = tx.execute(
        "SELECT choice FROM votes WHERE poll_id = ? AND contact_id = ?", (poll_id, contact_id)
    ).fetchone()
    return tuple(json.loads(row[0])) if row else None


def has_voted(tx: Tx, poll_id: int, contact_id: int) -> bool:
    row = tx.execute(
        "SELECT 1 FROM votes WHERE poll_id = ? AND contact_id = ?", (poll_id, contact_id)
    ).fetchone()
    return row is not None


BY_VOTE = ("language", "channel")
"""What a vote itself records, to break results down by; anything else is a contact field."""
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def tally(
    tx: Tx, poll_id: int, by: str | None = None
) -> list[tuple[str | None, tuple[str, ...], int]]:
    """A poll's current votes counted in SQLite, by choice and (``by``) by the language
    or channel voted in or a contact field (None: the voter has no such field): rows of
    (group, choice, votes), in the order of each row's first voter by contact number, as
    reading every vote in that order would meet them. A choice is parsed once, however
    many voters made it."""
    if by is None:
        group, joined = "NULL", ""
        params: tuple[object, ...] = (poll_id,)
    elif by in BY_VOTE:
        group, joined = f"v.{by}", ""
        params = (poll_id,)
    elif _FIELD_NAME.match(by):
        group = "CASE WHEN c.fields != '' THEN json_extract(c.fields, ?) END"
        joined = " JOIN contacts c ON c.id = v.contact_id"
        params = (f'$."{by}"', poll_id)
    else:
        raise ValueError(f"'{by}' is not a field name")
    rows = tx.execute(
        f"SELECT {group}, v.choice, count(*), min(v.contact_id) FROM votes v{joined}"
        " WHERE v.poll_id = ? GROUP BY 1, 2 ORDER BY 4",
        params,
    ).fetchall()
    parsed: dict[str, tuple[str, ...]] = {}
    counted = []
    for value, choice, votes, _ in rows:
        if choice not in parsed:
            parsed[choice] = tuple(json.loads(choice))
        counted.append((None if value is None else str(value), parsed[choice], int(votes)))
    return counted


def latest_asked(tx: Tx, contact_id: int) -> int | None:
    """The poll put to a contact, if that is the last thing they were asked."""
    row = tx.execute(
        "SELECT flow_id FROM sessions WHERE contact_id = ? ORDER BY id DESC LIMIT 1",
        (contact_id,),
    ).fetchone()
    return poll_id_of(row[0]) if row else None


def latest_session(tx: Tx, contact_id: int, poll_id: int) -> int | None:
    row = tx.execute(
        "SELECT id FROM sessions WHERE contact_id = ? AND flow_id = ? ORDER BY id DESC LIMIT 1",
        (contact_id, flow_id(poll_id)),
    ).fetchone()
    return int(row[0]) if row else None


def open_sends(tx: Tx) -> list[tuple[int, int, str]]:
    """The polls open now that residents may vote in (not a panel's), newest first, each
    with the broadcasts that put it to residents (begun: not a draft, a scheduled or a
    cancelled one), as (poll id, broadcast id, audience JSON) rows."""
    return [
        (int(row[0]), int(row[1]), str(row[2]))
        for row in tx.execute(
            "SELECT p.id, b.id, b.audience FROM polls p JOIN broadcasts b ON b.poll_id = p.id"
            " WHERE p.status = 'open' AND p.panel_id IS NULL AND b.kind = 'poll'"
            " AND b.status IN ('sending', 'queued') ORDER BY p.id DESC, b.id"
        )
    ]


def given_to(tx: Tx, contact_id: int, broadcast_ids: Collection[int]) -> set[int]:
    """Which of these broadcasts were written to the outbox for the contact."""
    if not broadcast_ids:
        return set()
    marks = ", ".join("?" * len(broadcast_ids))
    return {
        int(row[0])
        for row in tx.execute(
            f"SELECT DISTINCT broadcast_id FROM outbox WHERE broadcast_id IN ({marks})"
            " AND contact_id = ?",
            (*broadcast_ids, contact_id),
        )
    }


def recent(tx: Tx, limit: int = 10, before: int | None = None) -> list[Poll]:
    """The newest polls first; ``before`` a poll's id: those older than it."""
    ids = [
        row[0]
        for row in tx.execute(
            "SELECT id FROM polls WHERE id < ? ORDER BY id DESC LIMIT ?",
            (before if before is not None else 2**62, limit),
        )
    ]
    return [poll for poll_id in ids if (poll := get(tx, poll_id)) is not None]


def open_ids(tx: Tx) -> list[int]:
    """Polls open now (residents' polls and panel votes), newest first."""
    return [
        int(r[0]) for r in tx.execute("SELECT id FROM polls WHERE status = 'open' ORDER BY id DESC")
    ]


def set_public(tx: Tx, poll_id: int, token: str | None) -> None:
    """Give the poll a public results page at ``token`` (None: take it away)."""
    tx.execute("UPDATE polls SET public_token = ? WHERE id = ?", (token, poll_id))


def public_token(tx: Tx, poll_id: int) -> str | None:
    row = tx.execute("SELECT public_token FROM polls WHERE id = ?", (poll_id,)).fetchone()
    return str(row[0]) if row and row[0] else None


def by_public_token(tx: Tx, token: str) -> Poll | None:
    row = tx.execute("SELECT id FROM polls WHERE public_token = ?", (token,)).fetchone()
    return get(tx, int(row[0])) if row else None


def asked(tx: Tx, poll_id: int) -> int:
    """Residents the poll was written to the outbox for (reminders not counted twice)."""
    row = tx.execute(
        "SELECT count(DISTINCT o.contact_id) FROM outbox o JOIN broadcasts b"
        " ON b.id = o.broadcast_id WHERE b.poll_id = ? AND b.kind = 'poll'",
        (poll_id,),
    ).fetchone()
    return int(row[0])


def voted(tx: Tx, poll_id: int) -> int:
    return int(tx.execute("SELECT count(*) FROM votes WHERE poll_id = ?", (poll_id,)).fetchone()[0])
