"""Contacts: one per channel address, with language, opt-out state, free fields and the
consent record (every consent, opt-out and opt-in, with when and how)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.store import sessions
from bot.store.sql import Row, Tx


@dataclass(frozen=True)
class Contact:
    id: int
    channel: str
    address: str
    language: str | None
    opted_out: bool
    fields: dict[str, str] = field(default_factory=dict)
    is_new: bool = False  # this message is the first the contact ever sent
    previous_seen_at: datetime | None = None  # their message before this one
    consented: bool = True  # a consent is on record
    forgotten: bool = False  # erased: anonymous, never texted again
    forget_asked_at: datetime | None = None  # when they sent FORGET ME, unconfirmed


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _contact(row: Row) -> Contact:
    previous = row["previous_seen_at"]
    return Contact(
        id=row["id"],
        channel=row["channel"],
        address=row["address"],
        language=row["language"],
        opted_out=row["opted_out_at"] is not None,
        fields=json.loads(row["fields"]),
        is_new=previous is None,
        previous_seen_at=_moment(previous),
        consented=row["consent_at"] is not None,
        forgotten=row["forgotten_at"] is not None,
        forget_asked_at=_moment(row["forget_asked_at"]),
    )


def touch(tx: Tx, channel: str, address: str, language: str | None, now: datetime) -> Contact:
    """The contact at (channel, address), created on first contact; marks it seen now,
    keeping when it was seen before (None: this is its first message).

    A contact who writes is reachable again (a Telegram user who unblocked the bot).

    A known contact is updated first: an insert that meets its row would still use up
    an id on PostgreSQL (a sequence is not rolled back), and contact numbers are what
    staff name residents by."""
    stamp = now.isoformat()
    # unreachable_at is set apart: named in the SET, it would move the contact's entry
    # in the reachable-audience index (a JSON expression) at every message.
    row = tx.execute(
        "UPDATE contacts SET previous_seen_at = last_seen_at, last_seen_at = ?"
        " WHERE channel = ? AND address = ? RETURNING *",
        (stamp, channel, address),
    ).fetchone()
    if row is not None:
        if row["unreachable_at"] is not None:
            tx.execute("UPDATE contacts SET unreachable_at = NULL WHERE id = ?", (row["id"],))
        return _contact(row)
    row = tx.execute(  # new, or made meanwhile by another process
        "INSERT INTO contacts (channel, address, language, created_at, last_seen_at,"
        " consent_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (channel, address) DO UPDATE SET"
        " previous_seen_at = contacts.last_seen_at, last_seen_at = excluded.last_seen_at,"
        " unreachable_at = NULL"
        " RETURNING *",
        (channel, address, language, stamp, stamp, stamp),
    ).fetchone()
    assert row is not None
    return _contact(row)


def record(
    tx: Tx,
    contact_id: int,
    event: str,
    at: datetime,
    how: str,
    now: datetime,
    recorded_by: str = "parley",
) -> None:
    """Add to a contact's consent record: ``consent``, ``declined``, ``opt_out`` or
    ``opt_in``, said at ``at`` in the way ``how`` names (never the resident's words). A
    consent or opt-in is the consent messages rely on from then on."""
    tx.execute(
        "INSERT INTO consents (contact_id, event, at, how, recorded_by, recorded_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (contact_id, event, at.isoformat(), how, recorded_by, now.isoformat()),
    )
    if event in ("consent", "opt_in"):
        tx.execute(
            "UPDATE contacts SET consent_at = ? WHERE id = ?"
            " AND (consent_at IS NULL OR consent_at < ?)",
            (at.isoformat(), contact_id, at.isoformat()),
        )


def record_many(
    tx: Tx,
    events: Sequence[tuple[int, str, datetime, str]],
    now: datetime,
    recorded_by: str = "parley",
) -> None:
    """:func:`record` for many (contact, event, at, how) at once, as an import of
    100,000 contacts needs: the same rows, two statements in all rather than two each."""
    stamp = now.isoformat()
    rows = [(one, event, at.isoformat(), how, recorded_by, stamp) for one, event, at, how in events]
    tx.executemany(
        "INSERT INTO consents (contact_id, event, at, how, recorded_by, recorded_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    tx.executemany(
        "UPDATE contacts SET consent_at = ? WHERE id = ?"
        " AND (consent_at IS NULL OR consent_at < ?)",
        [(row[2], row[0], row[2]) for row in rows if row[1] in ("consent", "opt_in")],
    )


def get(tx: Tx, contact_id: int) -> Contact:
    row = tx.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    if row is None:
        raise LookupError(f"no contact {contact_id}")
    return _contact(row)


def ensure(tx: Tx, channel: str, address: str, language: str | None, now: datetime) -> Contact:
    """The contact at (channel, address), created if new; unlike :func:`touch` it does
    not count as the resident being seen (nor make a blocked resident reachable)."""
    known = find(tx, channel, address)
    if known is not None:
        return known  # (an insert meeting its row would use up an id on PostgreSQL)
    stamp = now.isoformat()
    tx.execute(
        "INSERT INTO contacts (channel, address, language, created_at, last_seen_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, address) DO NOTHING",
        (channel, address, language, stamp, stamp),
    )
    contact = find(tx, channel, address)
    assert contact is not None
    return contact


def find(tx: Tx, channel: str, address: str) -> Contact | None:
    row = tx.execute(
        "SELECT * FROM contacts WHERE channel = ? AND address = ?", (channel, address)
    ).fetchone()
    return _contact(row) if row else None


def set_opted_out(
    tx: Tx,
    contact_id: int,
    opted_out: bool,
    now: datetime,
    how: str = "opted out",
) -> None:
    """Opt a contact out or back in, keeping the event (and ``how``) on their record."""
    tx.execute(
        "UPDATE contacts SET opted_out_at = ? WHERE id = ?",
        (now.isoformat() if opted_out else None, contact_id),
    )
    record(tx, contact_id, "opt_out" if opted_out else "opt_in", now, how, now)


def update(tx: Tx, contact: Contact, changes: dict[str, str]) -> Contact:
    """Apply field changes; the ``language`` field is the contact's language column."""
    fields = dict(contact.fields)
    language = contact.language
    for name, value in changes.items():
        if name == "language":
            language = value
        else:
            fields[name] = value
    params: tuple[Any, ...] = (language, json.dumps(fields, ensure_ascii=False), contact.id)
    tx.execute("UPDATE contacts SET language = ?, fields = ? WHERE id = ?", params)
    return replace(contact, language=language, fields=fields)


def opt_out(tx: Tx, contact_id: int, now: datetime, how: str = "opted out") -> None:
    """The resident opted out: flag them and end every open conversation."""
    set_opted_out(tx, contact_id, True, now, how)
    sessions.stop_all(tx, contact_id, now)


def refuse(tx: Tx, contact_id: int, recipient: str, now: datetime) -> None:
    """Act on what a provider said about a resident: ``opted_out`` at the carrier, or
    ``unreachable`` (blocked the bot). Either way nothing more is sent to them."""
    if recipient == "opted_out":
        opt_out(tx, contact_id, now, "opted out at the carrier (STOP to the number)")
    elif recipient == "unreachable":
        set_unreachable(tx, contact_id, now)


def set_unreachable(tx: Tx, contact_id: int, now: datetime) -> None:
    """The resident blocked the bot: nothing more is sent until they write again."""
    tx.execute("UPDATE contacts SET unreachable_at = ? WHERE id = ?", (now.isoformat(), contact_id))


def ask_to_forget(tx: Tx, contact_id: int, now: datetime | None) -> None:
    """The resident sent FORGET ME (``now``), or answered the question it asked (None)."""
    tx.execute(
        "UPDATE contacts SET forget_asked_at = ? WHERE id = ?",
        (now.isoformat() if now else None, contact_id),
    )
