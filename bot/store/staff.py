"""Staff web accounts, their sign-in sessions, and failed sign-ins.

A session is a random token kept in a signed cookie; only its SHA-256 is stored, so the
database alone never lets anyone in. A session ends when its staff member signs out,
after :data:`IDLE` without being seen, when their password changes, or when their
account is removed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store.sql import Row, Tx

IDLE = timedelta(hours=8)
"""A session not used for this long has ended."""
FAILURE_WINDOW = timedelta(minutes=15)
"""Failed sign-ins count (and their network address is kept) this long."""


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str  # organiser or worker
    password: str  # the Argon2 hash
    created_at: datetime
    password_at: datetime


def _account(row: Row) -> Account:
    return Account(
        row["id"],
        row["name"],
        row["role"],
        row["password"],
        datetime.fromisoformat(row["created_at"]),
        datetime.fromisoformat(row["password_at"]),
    )


def add(tx: Tx, name: str, role: str, password: str, now: datetime) -> Account:
    row = tx.execute(
        "INSERT INTO staff_accounts (name, role, password, created_at, password_at)"
        " VALUES (?, ?, ?, ?, ?) RETURNING *",
        (name, role, password, now.isoformat(), now.isoformat()),
    ).fetchone()
    return _account(row)


def get(tx: Tx, name: str) -> Account | None:
    row = tx.execute("SELECT * FROM staff_accounts WHERE name = ?", (name,)).fetchone()
    return _account(row) if row else None


def listing(tx: Tx) -> list[Account]:
    return [_account(row) for row in tx.execute("SELECT * FROM staff_accounts ORDER BY name")]


def set_password(tx: Tx, account_id: int, password: str, now: datetime) -> None:
    tx.execute(
        "UPDATE staff_accounts SET password = ?, password_at = ? WHERE id = ?",
        (password, now.isoformat(), account_id),
    )


def set_role(tx: Tx, account_id: int, role: str) -> None:
    tx.execute("UPDATE staff_accounts SET role = ? WHERE id = ?", (role, account_id))


def remove(tx: Tx, account_id: int) -> None:
    """The account and its sessions go."""
    tx.execute("DELETE FROM staff_sessions WHERE account_id = ?", (account_id,))
    tx.execute("DELETE FROM staff_accounts WHERE id = ?", (account_id,))


def organisers(tx: Tx) -> int:
    row = tx.execute("SELECT count(*) FROM staff_accounts WHERE role = 'organiser'").fetchone()
    return int(row[0])


# -- sessions -------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(tx: Tx, account_id: int, token: str, now: datetime) -> None:
    tx.execute(
        "INSERT INTO staff_sessions (token, account_id, created_at, seen_at) VALUES (?, ?, ?, ?)",
        (_digest(token), account_id, now.isoformat(), now.isoformat()),
    )


@dataclass(frozen=True)
class Session:
    id: int
    account: Account
    seen_at: datetime


def session(tx: Tx, token: str, now: datetime) -> Session | None:
    """The live session of ``token``, or None (unknown, signed out, idle too long)."""
    row = tx.execute(
        "SELECT s.id AS session_id, s.seen_at AS seen_at, a.* FROM staff_sessions s"
        " JOIN staff_accounts a ON a.id = s.account_id"
        " WHERE s.token = ? AND s.ended_at IS NULL",
        (_digest(token),),
    ).fetchone()
    if row is None:
        return None
    seen = datetime.fromisoformat(row["seen_at"])
    if now - seen > IDLE:
        return None
    return Session(row["session_id"], _account(row), seen)


def seen(tx: Tx, session_id: int, now: datetime) -> None:
    tx.execute("UPDATE staff_sessions SET seen_at = ? WHERE id = ?", (now.isoformat(), session_id))


def end_session(tx: Tx, token: str, now: datetime) -> None:
    tx.execute(
        "UPDATE staff_sessions SET ended_at = ? WHERE token = ? AND ended_at IS NULL",
        (now.isoformat(), _digest(token)),
    )


def end_sessions(tx: Tx, account_id: int, now: datetime) -> None:
    """End every session of an account (its password changed)."""
    tx.execute(
        "UPDATE staff_sessions SET ended_at = ? WHERE account_id = ? AND ended_at IS NULL",
        (now.isoformat(), account_id),
    )


# -- failed sign-ins ----------------------------------------------------------------------


def failed(tx: Tx, name: str, address: str, now: datetime) -> None:
    tx.execute(
        "INSERT INTO sign_in_failures (name, address, at) VALUES (?, ?, ?)",
        (name, address, now.isoformat()),
    )


def failures(tx: Tx, name: str, address: str, now: datetime) -> tuple[int, int, datetime | None]:
    """Failures in the window for the account name and for the address, and when the
    oldest of whichever counts more leaves the window. Older failures are forgotten."""
    since = (now - FAILURE_WINDOW).isoformat()
    tx.execute("DELETE FROM sign_in_failures WHERE at < ?", (since,))
    by_name = tx.execute(
        "SELECT count(*), min(at) FROM sign_in_failures WHERE name = ? AND at >= ?",
        (name, since),
    ).fetchone()
    by_address = tx.execute(
        "SELECT count(*), min(at) FROM sign_in_failures WHERE address = ? AND at >= ?",
        (address, since),
    ).fetchone()
    oldest = by_name[1] if by_name[0] >= by_address[0] else by_address[1]
    return int(by_name[0]), int(by_address[0]), datetime.fromisoformat(oldest) if oldest else None


def forget_failures(tx: Tx, name: str) -> None:
    """A successful sign-in clears the account's failures."""
    tx.execute("DELETE FROM sign_in_failures WHERE name = ?", (name,))
