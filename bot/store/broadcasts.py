"""Broadcast rows: what is sent to whom and when, and where sending has got to.

A broadcast is drafted (previewed, nothing sent), confirmed (scheduled: for a time, or
for now), started (its recipients are being written to the outbox), then queued (all
written; the dispatcher sends them), then sent once none of its messages is waiting in
the outbox (each sent, failed or withdrawn). It can be paused at any point and cancelled
until everything is sent.

"Sent" is not stored: :func:`get` works it out from the outbox, so the state shown can
never lag behind the messages (the dispatcher, another process, a cancel may each
finish the last one)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.store import jobs, sessions
from bot.store.sql import Tx

MESSAGE = "message"
FLOW = "flow"
POLL = "poll"
REMINDER = "reminder"
RESULTS = "results"
SENT = "sent"  # derived: queued, and nothing of it left in the outbox to send


@dataclass(frozen=True)
class NewBroadcast:
    kind: str
    audience: str  # the audience as JSON (see bot.outreach.audience)
    texts: dict[str, str] | None = None  # a message: language -> text
    flow_id: str | None = None  # a flow or poll: the flow each recipient starts
    poll_id: int | None = None
    parent_id: int | None = None  # a reminder: the broadcast it reminds of
    send_at: datetime | None = None  # None: once confirmed
    remind_after: timedelta | None = None
    created_by: str = "cli"


@dataclass(frozen=True)
class Broadcast(NewBroadcast):
    id: int = 0
    status: str = "draft"
    recipients: int = 0
    paused: bool = False
    started_at: datetime | None = None


def create(tx: Tx, new: NewBroadcast, status: str, now: datetime) -> int:
    row = tx.execute(
        "INSERT INTO broadcasts (kind, texts, flow_id, poll_id, parent_id, audience, status,"
        " send_at, remind_after, created_by, created_at, started_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            new.kind,
            json.dumps(new.texts, ensure_ascii=False) if new.texts is not None else None,
            new.flow_id,
            new.poll_id,
            new.parent_id,
            new.audience,
            status,
            new.send_at.isoformat() if new.send_at else None,
            int(new.remind_after.total_seconds()) if new.remind_after else None,
            new.created_by,
            now.isoformat(),
            now.isoformat() if status == "sending" else None,  # written from now on
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def send_now(tx: Tx, new: NewBroadcast, now: datetime) -> int:
    """Create a broadcast that needs no confirming (news for idea senders, a panel's
    invitations to take a seat), due now: the scheduler writes it like any other."""
    broadcast_id = create(tx, new, "scheduled", now)
    jobs.add(tx, jobs.SEND, broadcast_id, now)
    return broadcast_id


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def get(tx: Tx, broadcast_id: int) -> Broadcast | None:
    row = tx.execute("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,)).fetchone()
    if row is None:
        return None
    return Broadcast(
        kind=row["kind"],
        audience=row["audience"],
        texts=json.loads(row["texts"]) if row["texts"] else None,
        flow_id=row["flow_id"],
        poll_id=row["poll_id"],
        parent_id=row["parent_id"],
        send_at=_time(row["send_at"]),
        remind_after=timedelta(seconds=row["remind_after"]) if row["remind_after"] else None,
        created_by=row["created_by"],
        id=row["id"],
        status=_status(tx, row["id"], row["status"]),
        recipients=row["recipients"],
        paused=row["paused_at"] is not None,
        started_at=_time(row["started_at"]),
    )


def _status(tx: Tx, broadcast_id: int, stored: str) -> str:
    if stored != "queued":
        return str(stored)
    waiting = tx.execute(
        "SELECT 1 FROM outbox WHERE broadcast_id = ? AND status = 'queued' LIMIT 1",
        (broadcast_id,),
    ).fetchone()
    return stored if waiting else SENT


def set_status(tx: Tx, broadcast_id: int, status: str) -> None:
    tx.execute("UPDATE broadcasts SET status = ? WHERE id = ?", (status, broadcast_id))


def start(tx: Tx, broadcast_id: int, now: datetime) -> bool:
    """Scheduled → sending; False if it was not scheduled (so it starts once)."""
    cursor = tx.execute(
        "UPDATE broadcasts SET status = 'sending', started_at = ?"
        " WHERE id = ? AND status = 'scheduled'",
        (now.isoformat(), broadcast_id),
    )
    return cursor.rowcount == 1


def finish(tx: Tx, broadcast_id: int, now: datetime) -> int:
    """Sending → queued, counting the recipients written; returns that count."""
    count = int(
        tx.execute(
            "SELECT count(*) FROM outbox WHERE broadcast_id = ?", (broadcast_id,)
        ).fetchone()[0]
    )
    tx.execute(
        "UPDATE broadcasts SET status = 'queued', queued_at = ?, recipients = ?,"
        " writer = NULL, writing_until = NULL WHERE id = ? AND status = 'sending'",
        (now.isoformat(), count, broadcast_id),
    )
    return count


def take_writing(tx: Tx, broadcast_id: int, writer: str, now: datetime, until: datetime) -> bool:
    """Take the lease on writing a broadcast's recipients to the outbox, until ``until``
    (several processes on one database: one writes at a time); False while another
    writer's lease runs, or when the broadcast is not being written. Its conditions are
    on the updated row itself, which PostgreSQL checks again after waiting for a process
    taking it at the same moment: one of them gets it."""
    cursor = tx.execute(
        "UPDATE broadcasts SET writer = ?, writing_until = ? WHERE id = ? AND status = 'sending'"
        " AND (writing_until IS NULL OR writing_until < ? OR writer = ?)",
        (writer, until.isoformat(), broadcast_id, now.isoformat(), writer),
    )
    return cursor.rowcount == 1


def renew_writing(tx: Tx, broadcast_id: int, writer: str, until: datetime) -> bool:
    """Extend ``writer``'s lease; False if it was lost (it ran out and another process
    took it over, which then wrote whom this writer meant to) or the broadcast is no
    longer being written."""
    cursor = tx.execute(
        "UPDATE broadcasts SET writing_until = ? WHERE id = ? AND status = 'sending'"
        " AND writer = ?",
        (until.isoformat(), broadcast_id, writer),
    )
    return cursor.rowcount == 1


def release_writing(tx: Tx, broadcast_id: int, writer: str) -> None:
    """Give the lease up (the writing failed): another process may finish it at once."""
    tx.execute(
        "UPDATE broadcasts SET writer = NULL, writing_until = NULL WHERE id = ? AND writer = ?",
        (broadcast_id, writer),
    )


def sending(tx: Tx) -> list[int]:
    """Broadcasts whose writing to the outbox was interrupted (a crash or a stop)."""
    return [
        int(row[0])
        for row in tx.execute("SELECT id FROM broadcasts WHERE status = 'sending' ORDER BY id")
    ]


def written(tx: Tx, broadcast_id: int) -> set[int]:
    """Contacts already given this broadcast (resuming must not give it twice)."""
    return {
        int(row[0])
        for row in tx.execute(
            "SELECT contact_id FROM outbox WHERE broadcast_id = ?", (broadcast_id,)
        )
    }


def set_paused(tx: Tx, broadcast_id: int, paused: bool, now: datetime) -> None:
    tx.execute(
        "UPDATE broadcasts SET paused_at = ? WHERE id = ? OR parent_id = ?",
        (now.isoformat() if paused else None, broadcast_id, broadcast_id),
    )


def cancel(tx: Tx, broadcast_id: int, now: datetime) -> int:
    """Cancel a broadcast and its reminders: nothing more of them is sent; residents who
    were given a question they never received are put back where they were. Returns
    the messages withdrawn."""
    ids = [broadcast_id] + [
        int(row[0])
        for row in tx.execute("SELECT id FROM broadcasts WHERE parent_id = ?", (broadcast_id,))
    ]
    withdrawn = 0
    for one in ids:
        tx.execute(
            "UPDATE broadcasts SET status = 'cancelled' WHERE id = ? AND status != 'cancelled'",
            (one,),
        )
        withdrawn += tx.execute(
            "UPDATE outbox SET status = 'cancelled', error = 'broadcast cancelled'"
            " WHERE broadcast_id = ? AND status = 'queued'",
            (one,),
        ).rowcount
        # Sessions opened by a question that was withdrawn: end them, and let the
        # resident carry on with what they were doing before.
        for session_id, parent_id in tx.execute(
            "SELECT s.id, s.parent_id FROM sessions s WHERE s.broadcast_id = ?"
            " AND s.status = 'active' AND EXISTS (SELECT 1 FROM outbox o WHERE"
            " o.broadcast_id = ? AND o.contact_id = s.contact_id AND o.status = 'cancelled')",
            (one, one),
        ).fetchall():
            sessions.give_way(tx, session_id, parent_id, now)
    return withdrawn


def made_after(tx: Tx, broadcast_id: int) -> list[Broadcast]:
    """The broadcasts made after ``broadcast_id`` (0: all), oldest first."""
    ids = [
        r[0]
        for r in tx.execute("SELECT id FROM broadcasts WHERE id > ? ORDER BY id", (broadcast_id,))
    ]
    return [b for one in ids if (b := get(tx, one)) is not None]


def of_poll(tx: Tx, poll_id: int) -> list[Broadcast]:
    """The broadcasts that put a poll to residents (not drafts or cancelled ones)."""
    ids = [
        r[0]
        for r in tx.execute(
            "SELECT id FROM broadcasts WHERE poll_id = ? AND kind = ?"
            " AND status NOT IN ('draft', 'cancelled') ORDER BY id",
            (poll_id, POLL),
        )
    ]
    return [b for one in ids if (b := get(tx, one)) is not None]


def last_id(tx: Tx) -> int:
    """The newest broadcast's number, 0 when there is none."""
    return int(tx.execute("SELECT coalesce(max(id), 0) FROM broadcasts").fetchone()[0])


def recent(tx: Tx, limit: int = 10, before: int | None = None) -> list[Broadcast]:
    """The newest broadcasts first; ``before`` an id: those older than it (the next page)."""
    ids = [
        r[0]
        for r in tx.execute(
            "SELECT id FROM broadcasts WHERE id < ? ORDER BY id DESC LIMIT ?",
            (before if before is not None else 2**62, limit),
        )
    ]
    return [b for one in ids if (b := get(tx, one)) is not None]


def in_progress(tx: Tx, limit: int = 10) -> list[Broadcast]:
    """Broadcasts still being written or with messages waiting in the outbox, newest first.

    The waiting messages are read once, through the queue's index: asked broadcast by
    broadcast, every message of every earlier broadcast was read again on each call."""
    ids = [
        r[0]
        for r in tx.execute(
            "SELECT b.id FROM broadcasts b WHERE b.status IN ('sending', 'scheduled')"
            " OR (b.status = 'queued' AND b.id IN"
            "  (SELECT broadcast_id FROM outbox WHERE status = 'queued'))"
            " ORDER BY b.id DESC LIMIT ?",
            (limit,),
        )
    ]
    return [b for one in ids if (b := get(tx, one)) is not None]
