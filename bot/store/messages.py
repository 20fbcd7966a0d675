"""The message log: inbound messages (stored before they are acted on) and the outbox
(every outbound message, written before any provider call)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.engine import Button, ButtonKind
from bot.store import bulk
from bot.store.sql import Row, Tx, stored_json


@dataclass(frozen=True)
class StoredInbound:
    id: int
    contact_id: int
    channel: str
    text: str
    pressed: str | None = None  # a button press: the message it was on (provider id)


def add_inbound(
    tx: Tx,
    contact_id: int,
    channel: str,
    provider_id: str,
    text: str,
    now: datetime,
    pressed: str | None = None,
    *,
    handled: bool = False,
) -> int | None:
    """Store an inbound message; None when the provider already delivered this id.

    ``handled``: it is acted on in the same transaction, so it goes in handled (at
    ``now``), rather than pending and then marked handled by a second write."""
    stamp = now.isoformat()
    row = tx.execute(
        "INSERT INTO inbound"
        " (contact_id, channel, provider_id, text, received_at, pressed, handled_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, provider_id) DO NOTHING RETURNING id",
        (contact_id, channel, provider_id, text, stamp, pressed, stamp if handled else None),
    ).fetchone()
    return int(row[0]) if row else None


def next_pending(tx: Tx, contact_id: int) -> StoredInbound | None:
    """The contact's oldest message not yet acted on."""
    row = tx.execute(
        "SELECT id, contact_id, channel, text, pressed FROM inbound"
        " WHERE contact_id = ? AND handled_at IS NULL ORDER BY id LIMIT 1",
        (contact_id,),
    ).fetchone()
    return StoredInbound(*row) if row else None


def contacts_with_pending(tx: Tx) -> list[int]:
    return [
        int(row[0])
        for row in tx.execute(
            "SELECT DISTINCT contact_id FROM inbound WHERE handled_at IS NULL"
        ).fetchall()
    ]


def mark_handled(tx: Tx, inbound_id: int, now: datetime, error: str | None = None) -> None:
    tx.execute(
        "UPDATE inbound SET handled_at = ?, error = ? WHERE id = ?",
        (now.isoformat(), error, inbound_id),
    )


@dataclass(frozen=True)
class NewOutbound:
    contact_id: int
    channel: str
    text: str
    language: str | None
    buttons: tuple[Button, ...] = ()
    reply_to: int | None = None
    kind: str = "reply"  # 'compliance': opt-out confirmations, sent even when opted out
    segments: int | None = None  # SMS segments the text takes
    broadcast_id: int | None = None  # the broadcast it is part of (None: a reply)
    attachment: Mapping[str, Any] | None = None  # a file made when it is sent (staff only)
    replaces: str | None = None  # redraws this message sent before (a ballot's ticks)


def add_outbound(tx: Tx, message: NewOutbound, now: datetime) -> int:
    attachment = message.attachment
    row = tx.execute(
        "INSERT INTO outbox (contact_id, channel, kind, text, buttons, language, reply_to,"
        " segments, broadcast_id, created_at, attachment, replaces)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            message.contact_id,
            message.channel,
            message.kind,
            message.text,
            stored_buttons(message.buttons),
            message.language,
            message.reply_to,
            message.segments,
            message.broadcast_id,
            now.isoformat(),
            stored_json(attachment) if attachment is not None else None,
            message.replaces,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def add_outbound_many(tx: Tx, batch: Sequence[NewOutbound], now: datetime) -> None:
    """Queue many messages in one statement (a broadcast's batch)."""
    created = now.isoformat()
    tx.executemany(
        "INSERT INTO outbox (contact_id, channel, kind, text, buttons, language, reply_to,"
        " segments, broadcast_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                m.contact_id,
                m.channel,
                m.kind,
                m.text,
                stored_buttons(m.buttons),
                m.language,
                m.reply_to,
                m.segments,
                m.broadcast_id,
                created,
            )
            for m in batch
        ],
    )


QueuedAs = tuple[str, str, str | None, str | None, int | None]
"""A broadcast message as the outbox keeps it, but for whom it is: (channel, text,
buttons as :func:`stored_buttons` gives them, language, SMS segments)."""
BroadcastRow = tuple[int, str, str, str | None, str | None, int | None]
"""A broadcast message to one resident: their contact id, then :data:`QueuedAs`."""


def add_broadcast_batch(
    tx: Tx, broadcast_id: int, rows: Sequence[BroadcastRow], now: datetime
) -> None:
    """Queue a batch of a broadcast's messages: as fast as the database takes many rows
    (:mod:`bot.store.bulk`), with no object made for each."""
    bulk.insert(
        tx,
        "outbox",
        ("contact_id", "channel", "text", "buttons", "language", "segments"),
        rows,
        {"broadcast_id": broadcast_id, "created_at": now.isoformat()},
    )


def stored_buttons(buttons: tuple[Button, ...]) -> str | None:
    """Buttons as the outbox keeps them (JSON), None for none."""
    if not buttons:
        return None
    rows = [
        [b.label, b.reply] if b.kind is ButtonKind.REPLY else [b.label, b.reply, b.kind.value]
        for b in buttons
    ]
    return stored_json(rows)


def withdraw_unsent(tx: Tx, broadcast_id: int, contact_id: int, reason: str) -> bool:
    """Cancel a broadcast's message to a contact if it is still waiting; True if it was."""
    cursor = tx.execute(
        "UPDATE outbox SET status = 'cancelled', error = ? WHERE broadcast_id = ?"
        " AND contact_id = ? AND status = 'queued'",
        (reason, broadcast_id, contact_id),
    )
    return cursor.rowcount > 0


@dataclass(frozen=True)
class QueuedMessage:
    id: int
    contact_id: int
    channel: str
    address: str
    text: str
    buttons: tuple[Button, ...]
    segments: int | None
    attempts: int  # provider calls already made for it
    sendable: bool  # False when the contact opted out (and this is no compliance reply)
    # or blocked the bot
    forgotten: bool  # the contact is erased: their address goes with their last message
    attachment: Mapping[str, Any] | None = None  # a file to make and send with it
    replaces: str | None = None  # the message (provider id) it redraws


_QUEUED = (
    "SELECT o.id, o.contact_id, o.channel, c.address, o.text, o.buttons, o.segments,"
    " o.attempts, (c.unreachable_at IS NULL"
    "   AND (c.opted_out_at IS NULL OR o.kind = 'compliance')) AS sendable,"
    " c.forgotten_at IS NOT NULL AS forgotten, o.attachment, o.replaces"
    " FROM outbox o JOIN contacts c ON c.id = o.contact_id WHERE o.status = 'queued'"
)


# When a queued message may go: its retry time has come; it is no broadcast held by quiet
# hours (parameter: broadcasts may go) or paused; and it is its contact's oldest queued
# message, not counting held broadcasts. Parameters: now, broadcasts, broadcasts (0 or 1,
# compared, as PostgreSQL takes no integer for a condition).
_HELD = "(SELECT id FROM broadcasts WHERE paused_at IS NOT NULL)"
_DUE = (
    "(o.next_attempt_at IS NULL OR o.next_attempt_at <= ?)"
    f" AND (o.broadcast_id IS NULL OR (? = 1 AND o.broadcast_id NOT IN {_HELD}))"
    " AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.contact_id = o.contact_id"
    "   AND e.status = 'queued' AND e.id < o.id"
    f"   AND (e.broadcast_id IS NULL OR (? = 1 AND e.broadcast_id NOT IN {_HELD})))"
)


def _queued(row: Row) -> QueuedMessage:
    return QueuedMessage(
        row["id"],
        row["contact_id"],
        row["channel"],
        row["address"],
        row["text"],
        tuple(_button(*saved) for saved in json.loads(row["buttons"] or "[]")),
        row["segments"],
        row["attempts"],
        bool(row["sendable"]),
        bool(row["forgotten"]),
        json.loads(row["attachment"]) if row["attachment"] else None,
        row["replaces"],
    )


# Not claimed by another process, or its claim has expired. Parameters: now, claimer.
_UNCLAIMED = "(o.claimed_until IS NULL OR o.claimed_until < ? OR o.claimed_by = ?)"


def due(
    tx: Tx,
    channels: Sequence[str],
    now: datetime,
    after_id: int = 0,
    limit: int = 100,
    broadcasts: bool = True,
    claimer: str | None = None,
) -> list[QueuedMessage]:
    """Queued messages ready to send, oldest first: each contact's oldest queued message
    only (so a contact's messages go out in order), and only once its retry time is due.

    With ``broadcasts`` False (quiet hours), broadcast messages wait, and replies go
    ahead of them. With a ``claimer``, messages another process claimed (see
    :func:`claim`) are left out until their claim expires; a contact's later messages
    wait meanwhile too, as its claimed one is still queued."""
    marks = ", ".join("?" * len(channels))
    unclaimed, claims = (f" AND {_UNCLAIMED}", (now.isoformat(), claimer)) if claimer else ("", ())
    return [
        _queued(row)
        for row in tx.execute(
            f"{_QUEUED} AND {_DUE}{unclaimed} AND o.id > ? AND o.channel IN ({marks})"
            " ORDER BY o.id LIMIT ?",
            (now.isoformat(), broadcasts, broadcasts, *claims, after_id, *channels, limit),
        ).fetchall()
    ]


def claim(
    tx: Tx,
    outbox_id: int,
    claimer: str,
    now: datetime,
    until: datetime,
    broadcasts: bool = True,
) -> QueuedMessage | None:
    """Claim the message for ``claimer`` until ``until``, if it is still due by the rules
    of :func:`due` (the resident may have opted out meanwhile, or an attempt may have set
    a later retry) and no other process holds a live claim on it; the message as it is
    now, or None. The claimer's own claim is renewed.

    The claim's conditions are on the updated row itself, which PostgreSQL checks again
    after waiting for a process claiming it at the same moment: exactly one of them
    wins. (SQLite has one writer at a time anyway.)"""
    row = tx.execute(
        f"{_QUEUED} AND {_DUE} AND o.id = ?",
        (now.isoformat(), broadcasts, broadcasts, outbox_id),
    ).fetchone()
    if row is None:
        return None
    claimed = tx.execute(
        "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id = ? AND status = 'queued'"
        " AND (claimed_until IS NULL OR claimed_until < ? OR claimed_by = ?)",
        (claimer, until.isoformat(), outbox_id, now.isoformat(), claimer),
    )
    return _queued(row) if claimed.rowcount == 1 else None


_UNCLAIM = "claimed_by = NULL, claimed_until = NULL"  # an attempt's result is recorded


def unclaim(tx: Tx, outbox_id: int, claimer: str) -> None:
    """Give a claim up unused (the process stops before sending): another may send it."""
    tx.execute(
        f"UPDATE outbox SET {_UNCLAIM} WHERE id = ? AND claimed_by = ?", (outbox_id, claimer)
    )


def mark_sent(tx: Tx, outbox_id: int, provider_id: str, now: datetime) -> None:
    """The provider accepted the message. Recorded already (its status report said so
    first, :func:`mark_accepted`, or a commit cut off was kept), nothing changes."""
    tx.execute(
        "UPDATE outbox SET status = 'sent', provider_id = ?, error = NULL,"
        f" attempts = attempts + 1, sent_at = ?, {_UNCLAIM} WHERE id = ? AND status != 'sent'",
        (provider_id, now.isoformat(), outbox_id),
    )


def mark_accepted(
    tx: Tx, outbox_id: int, provider_id: str, now: datetime, channels: Sequence[str]
) -> int | None:
    """A provider's status report for message ``outbox_id`` (named in the report's URL),
    whose result its sender has not recorded (yet, or ever: it died mid-call): the
    provider has it, so it is ``sent``, with ``provider_id``, and its claim is over, so
    that no process sends it again. The contact's id, or None when nothing changed.

    Only a message on one of the provider's ``channels``, still queued and with no
    provider id yet, is taken, and only for a provider id no other message has: a
    report whose outbox id does not match its provider id changes nothing."""
    if tx.execute("SELECT 1 FROM outbox WHERE provider_id = ?", (provider_id,)).fetchone():
        return None
    marks = ", ".join("?" * len(channels))
    row = tx.execute(
        "UPDATE outbox SET status = 'sent', provider_id = ?, error = NULL,"
        f" attempts = attempts + 1, sent_at = ?, {_UNCLAIM} WHERE id = ?"
        f" AND status = 'queued' AND provider_id IS NULL AND channel IN ({marks})"
        " RETURNING contact_id",
        (provider_id, now.isoformat(), outbox_id, *channels),
    ).fetchone()
    return int(row[0]) if row else None


# A result recorded for a message no longer queued changes nothing: its status report
# said the provider accepted it (:func:`mark_accepted`), whatever the call's answer was.


def mark_retry(tx: Tx, outbox_id: int, error: str, retry_at: datetime) -> None:
    """A failed attempt that will be tried again at ``retry_at``."""
    tx.execute(
        "UPDATE outbox SET error = ?, attempts = attempts + 1, next_attempt_at = ?,"
        f" {_UNCLAIM} WHERE id = ? AND status = 'queued'",
        (error, retry_at.isoformat(), outbox_id),
    )


def mark_unsent(tx: Tx, outbox_id: int, status: str, error: str, attempted: bool) -> None:
    """Give a message up: ``failed`` (the provider refused it) or ``cancelled`` (Parley
    chose not to send it, as to a resident who opted out)."""
    assert status in ("failed", "cancelled")
    tx.execute(
        f"UPDATE outbox SET status = ?, error = ?, attempts = attempts + ?, {_UNCLAIM}"
        " WHERE id = ? AND status = 'queued'",
        (status, error, int(attempted), outbox_id),
    )


# Provider reports can arrive out of order; a report never moves a message back.
DELIVERY_RANK = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
}
_RANK_SQL = " ".join(f"WHEN '{state}' THEN {rank}" for state, rank in DELIVERY_RANK.items())


def record_delivery(
    tx: Tx,
    provider_id: str,
    state: str,
    error: str | None,
    now: datetime,
) -> int | None:
    """Store a provider's delivery report; the contact's id, or None when no sent message
    has this provider id. A report ranking below the one already stored is ignored."""
    rank = DELIVERY_RANK.get(state)
    if rank is None:
        return None
    row = tx.execute(
        "UPDATE outbox SET delivery = ?, delivery_error = ?, delivery_at = ?"
        " WHERE provider_id = ?"
        f" AND COALESCE(CASE delivery {_RANK_SQL} END, 0) < ?"
        " RETURNING contact_id",
        (state, error, now.isoformat(), provider_id, rank),
    ).fetchone()
    if row is not None:
        return int(row[0])
    row = tx.execute(
        "SELECT contact_id FROM outbox WHERE provider_id = ?", (provider_id,)
    ).fetchone()
    return int(row[0]) if row else None


def _button(label: str, reply: str, kind: str = ButtonKind.REPLY.value) -> Button:
    return Button(label, reply, ButtonKind(kind))
