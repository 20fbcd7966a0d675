"""Session rows: the engine's :class:`~bot.engine.Session` as JSON, plus its status."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.engine import Session
from bot.store import bulk
from bot.store.sql import Row, Tx


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
    broadcast_id: int | None = None  # the broadcast that opened it, if one did


def _row(row: Row) -> SessionRow:
    return SessionRow(
        row["id"],
        row["contact_id"],
        Session.from_json(row["state"]),
        row["parent_id"],
        row["broadcast_id"],
    )


def _ended_at(status: Status, now: datetime) -> str | None:
    return None if status in (Status.ACTIVE, Status.INTERRUPTED) else now.isoformat()


def active(tx: Tx, contact_id: int) -> SessionRow | None:
    row = tx.execute(
        "SELECT * FROM sessions WHERE contact_id = ? AND status = 'active'", (contact_id,)
    ).fetchone()
    return _row(row) if row else None


def get(tx: Tx, session_id: int) -> SessionRow:
    row = tx.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise LookupError(f"no session {session_id}")
    return _row(row)


def create(
    tx: Tx,
    contact_id: int,
    session: Session,
    now: datetime,
    parent_id: int | None = None,
    broadcast_id: int | None = None,
    status: Status | None = None,
) -> int:
    row = tx.execute(
        "INSERT INTO sessions (contact_id, flow_id, status, state, parent_id, broadcast_id,"
        " started_at, updated_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            contact_id,
            session.flow_id,
            (status or Status.ACTIVE).value,
            session.to_json(),
            parent_id,
            broadcast_id,
            now.isoformat(),
            now.isoformat(),
            _ended_at(status or Status.ACTIVE, now),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def active_among(tx: Tx, contact_ids: Sequence[int]) -> set[int]:
    """Which of ``contact_ids`` are in a session now: one query, over the range of ids
    they span in the index of active sessions (a broadcast's batches come in id order,
    so together they read that index once)."""
    if not contact_ids:
        return set()
    rows = tx.execute(
        "SELECT contact_id FROM sessions WHERE status = 'active' AND contact_id BETWEEN ? AND ?",
        (min(contact_ids), max(contact_ids)),
    )
    return set(contact_ids).intersection(int(row[0]) for row in rows)


def create_many(
    tx: Tx,
    contact_ids: Sequence[int],
    state: Session,
    now: datetime,
    broadcast_id: int | None = None,
) -> None:
    """Open the same new session for many contacts (a survey sent to an audience), as
    fast as the database takes many rows (:mod:`bot.store.bulk`)."""
    when = now.isoformat()
    bulk.insert(
        tx,
        "sessions",
        ("contact_id",),
        [(contact_id,) for contact_id in contact_ids],
        {
            "flow_id": state.flow_id,
            "status": Status.ACTIVE.value,
            "state": state.to_json(),
            "broadcast_id": broadcast_id,
            "started_at": when,
            "updated_at": when,
        },
    )


def save(tx: Tx, session_id: int, session: Session, status: Status, now: datetime) -> None:
    tx.execute(
        "UPDATE sessions SET state = ?, status = ?, updated_at = ?, ended_at = ? WHERE id = ?",
        (session.to_json(), status.value, now.isoformat(), _ended_at(status, now), session_id),
    )


def set_status(tx: Tx, session_id: int, status: Status, now: datetime) -> None:
    tx.execute(
        "UPDATE sessions SET status = ?, updated_at = ?, ended_at = ? WHERE id = ?",
        (status.value, now.isoformat(), _ended_at(status, now), session_id),
    )


def give_way(tx: Tx, session_id: int, parent_id: int | None, now: datetime) -> None:
    """End a session that will not be answered (its poll closed, its question was
    withdrawn); what it interrupted, if anything, is active again."""
    set_status(tx, session_id, Status.EXPIRED, now)
    if parent_id is not None:
        tx.execute(
            "UPDATE sessions SET status = 'active', updated_at = ? WHERE id = ?"
            " AND status = 'interrupted'",
            (now.isoformat(), parent_id),
        )


def swap_with_parent(tx: Tx, child: SessionRow, now: datetime) -> None:
    """Let the interrupted parent go first: it becomes active, and ``child`` waits
    under it (to be resumed when the parent ends)."""
    assert child.parent_id is not None
    parent = get(tx, child.parent_id)
    stamp = now.isoformat()
    tx.execute(
        "UPDATE sessions SET status = 'interrupted', parent_id = ?, updated_at = ? WHERE id = ?",
        (parent.parent_id, stamp, child.id),
    )
    tx.execute(
        "UPDATE sessions SET status = 'active', parent_id = ?, updated_at = ? WHERE id = ?",
        (child.id, stamp, parent.id),
    )


def stop_all(tx: Tx, contact_id: int, now: datetime) -> None:
    """End every open session of a contact who opted out."""
    tx.execute(
        "UPDATE sessions SET status = 'stopped', updated_at = ?, ended_at = ?"
        " WHERE contact_id = ? AND status IN ('active', 'interrupted')",
        (now.isoformat(), now.isoformat(), contact_id),
    )
