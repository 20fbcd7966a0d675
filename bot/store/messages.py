"""The message log: inbound messages (stored before they are acted on) and the outbox
(every outbound message, written before any provider call)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.engine import Button


@dataclass(frozen=True)
class StoredInbound:
    id: int
    contact_id: int
    channel: str
    text: str


async def add_inbound(
    tx: aiosqlite.Connection,
    contact_id: int,
    channel: str,
    provider_id: str,
    text: str,
    now: datetime,
) -> int | None:
    """Store an inbound message; None when the provider already delivered this id."""
    async with tx.execute(
        "INSERT INTO inbound (contact_id, channel, provider_id, text, received_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, provider_id) DO NOTHING RETURNING id",
        (contact_id, channel, provider_id, text, now.isoformat()),
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else None


async def next_pending(tx: aiosqlite.Connection, contact_id: int) -> StoredInbound | None:
    """The contact's oldest message not yet acted on."""
    async with tx.execute(
        "SELECT id, contact_id, channel, text FROM inbound"
        " WHERE contact_id = ? AND handled_at IS NULL ORDER BY id LIMIT 1",
        (contact_id,),
    ) as cursor:
        row = await cursor.fetchone()
    return StoredInbound(*row) if row else None


async def contacts_with_pending(tx: aiosqlite.Connection) -> list[int]:
    async with tx.execute(
        "SELECT DISTINCT contact_id FROM inbound WHERE handled_at IS NULL"
    ) as cursor:
        return [int(row[0]) for row in await cursor.fetchall()]


async def mark_handled(
    tx: aiosqlite.Connection, inbound_id: int, now: datetime, error: str | None = None
) -> None:
    await tx.execute(
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


async def add_outbound(tx: aiosqlite.Connection, message: NewOutbound, now: datetime) -> int:
    buttons = json.dumps([[b.label, b.reply] for b in message.buttons], ensure_ascii=False)
    async with tx.execute(
        "INSERT INTO outbox (contact_id, channel, kind, text, buttons, language, reply_to,"
        " segments, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            message.contact_id,
            message.channel,
            message.kind,
            message.text,
            buttons if message.buttons else None,
            message.language,
            message.reply_to,
            message.segments,
            now.isoformat(),
        ),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


@dataclass(frozen=True)
class QueuedMessage:
    id: int
    contact_id: int
    channel: str
    address: str
    text: str
    buttons: tuple[Button, ...]
    sendable: bool  # False when the contact opted out and this is not a compliance reply


async def queued(tx: aiosqlite.Connection, limit: int) -> list[QueuedMessage]:
    async with tx.execute(
        "SELECT o.id, o.contact_id, o.channel, c.address, o.text, o.buttons,"
        " (c.opted_out_at IS NULL OR o.kind = 'compliance') AS sendable"
        " FROM outbox o JOIN contacts c ON c.id = o.contact_id"
        " WHERE o.status = 'queued' ORDER BY o.id LIMIT ?",
        (limit,),
    ) as cursor:
        rows = await cursor.fetchall()
    return [
        QueuedMessage(
            row["id"],
            row["contact_id"],
            row["channel"],
            row["address"],
            row["text"],
            tuple(Button(label, reply) for label, reply in json.loads(row["buttons"] or "[]")),
            bool(row["sendable"]),
        )
        for row in rows
    ]


async def set_outbound_status(
    tx: aiosqlite.Connection,
    outbox_id: int,
    status: str,
    now: datetime,
    provider_id: str | None = None,
    error: str | None = None,
) -> None:
    await tx.execute(
        "UPDATE outbox SET status = ?, provider_id = COALESCE(?, provider_id), error = ?,"
        " attempts = attempts + 1, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END"
        " WHERE id = ?",
        (status, provider_id, error, status, now.isoformat(), outbox_id),
    )
