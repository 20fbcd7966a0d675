"""Session rows: the engine's :class:`~bot.engine.Session` as JSON, plus its status."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.engine import Session


class Status(enum.Enum):
    ACTIVE = "active"
    INTERRUPTED = "interrupted"  # waiting under another session (e.g. LANGUAGE)
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    STOPPED = "stopped"  # the resident opted out


@dataclass(frozen=True)
class SessionRow:
    id: int
    contact_id: int
    session: Session
    parent_id: int | None


def _row(row: aiosqlite.Row) -> SessionRow:
    return SessionRow(
        row["id"], row["contact_id"], Session.from_json(row["state"]), row["parent_id"]
    )


def _ended_at(status: Status, now: datetime) -> str | None:
    return None if status in (Status.ACTIVE, Status.INTERRUPTED) else now.isoformat()


async def active(tx: aiosqlite.Connection, contact_id: int) -> SessionRow | None:
    async with tx.execute(
        "SELECT * FROM sessions WHERE contact_id = ? AND status = 'active'", (contact_id,)
    ) as cursor:
        row = await cursor.fetchone()
    return _row(row) if row else None


async def get(tx: aiosqlite.Connection, session_id: int) -> SessionRow:
    async with tx.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise LookupError(f"no session {session_id}")
    return _row(row)


async def create(
    tx: aiosqlite.Connection,
    contact_id: int,
    session: Session,
    now: datetime,
    parent_id: int | None = None,
) -> int:
    async with tx.execute(
        "INSERT INTO sessions (contact_id, flow_id, status, state, parent_id, started_at,"
        " updated_at) VALUES (?, ?, 'active', ?, ?, ?, ?) RETURNING id",
        (
            contact_id,
            session.flow_id,
            session.to_json(),
            parent_id,
            now.isoformat(),
            now.isoformat(),
        ),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def save(
    tx: aiosqlite.Connection, session_id: int, session: Session, status: Status, now: datetime
) -> None:
    await tx.execute(
        "UPDATE sessions SET state = ?, status = ?, updated_at = ?, ended_at = ? WHERE id = ?",
        (session.to_json(), status.value, now.isoformat(), _ended_at(status, now), session_id),
    )


async def set_status(
    tx: aiosqlite.Connection, session_id: int, status: Status, now: datetime
) -> None:
    await tx.execute(
        "UPDATE sessions SET status = ?, updated_at = ?, ended_at = ? WHERE id = ?",
        (status.value, now.isoformat(), _ended_at(status, now), session_id),
    )


async def stop_all(tx: aiosqlite.Connection, contact_id: int, now: datetime) -> None:
    """End every open session of a contact who opted out."""
    await tx.execute(
        "UPDATE sessions SET status = 'stopped', updated_at = ?, ended_at = ?"
        " WHERE contact_id = ? AND status IN ('active', 'interrupted')",
        (now.isoformat(), now.isoformat(), contact_id),
    )
