"""Random keys a database makes once and keeps: the pseudonyms' key of exports, the
staff web's key for signing its cookies."""

from __future__ import annotations

import secrets
from datetime import datetime

from bot.store.sql import Tx


def kept(tx: Tx, name: str, now: datetime) -> bytes:
    """The key ``name``, made (32 random bytes) the first time it is asked for."""
    row = tx.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
    if row is not None:
        return bytes.fromhex(row[0])
    tx.execute(
        "INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO NOTHING",
        (name, secrets.token_bytes(32).hex(), now.isoformat()),
    )
    row = tx.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
    return bytes.fromhex(row[0])
