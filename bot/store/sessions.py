"""Session rows: the engine's :class:`~bot.engine.Session` as JSON, plus its status."""

from __future__ import annotations

import enum
import sqlite3
from dataclasses import dataclass
from datetime import datetime

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


def _row(row: sqlite3.Row) -> SessionRow:
    return SessionRow(
        row["id"], row["contact_id"], Session.from_json(row["state"]), row["parent_id"]
    )


def _ended_at(status: Status, now: datetime) -> str | None:
    return None if status in (Status.ACTIVE, Status.INTERRUPTED) else now.isoformat()


def active(tx: sqlite3.Connection, contact_id: int) -> SessionRow | None:
    row = tx.execute(
        "SELECT * FROM sessions WHERE contact_id = ? AND status = 'active'", (contact_id,)
    ).fetchone()
    return _row(row) if row else None


def get(tx: sqlite3.Connection, session_id: int) -> SessionRow:
    row = tx.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise LookupError(f"no session {session_id}")
    return _row(row)


def create(
    tx: sqlite3.Connection,
    contact_id: int,
    session: Session,
    now: datetime,
    parent_id: int | None = None,
) -> int:
    row = tx.execute(
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
    ).fetchone()
    assert row is not None
    return int(row[0])


def save(
    tx: sqlite3.Connection, session_id: int, session: Session, status: Status, now: datetime
) -> None:
    tx.execute(
        "UPDATE sessions SET state = ?, status = ?, updated_at = ?, ended_at = ? WHERE id = ?",
        (session.to_json(), status.value, now.isoformat(), _ended_at(status, now), session_id),
    )


def set_status(tx: sqlite3.Connection, session_id: int, status: Status, now: datetime) -> None:
    tx.execute(
        "UPDATE sessions SET status = ?, updated_at = ?, ended_at = ? WHERE id = ?",
        (status.value, now.isoformat(), _ended_at(status, now), session_id),
    )


def stop_all(tx: sqlite3.Connection, contact_id: int, now: datetime) -> None:
    """End every open session of a contact who opted out."""
    tx.execute(
        "UPDATE sessions SET status = 'stopped', updated_at = ?, ended_at = ?"
        " WHERE contact_id = ? AND status IN ('active', 'interrupted')",
        (now.isoformat(), now.isoformat(), contact_id),
    )
