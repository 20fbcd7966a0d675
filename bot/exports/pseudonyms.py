"""Stable pseudonymous ids for residents in exports.

An export names a resident by a keyed hash of their channel and address, never by the
address itself: the same resident gets the same id in every export (so a spreadsheet
can join a survey with a poll), but nobody holding the file can tell who it is, or
test a guessed phone number against it, without the key. The key comes from
``PARLEY_EXPORT_SECRET``; without one, Parley makes a random key once and keeps it in the
database, so ids stay stable for that database.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from datetime import datetime

from bot.store import secrets
from bot.store.sql import Tx

PREFIX = "R-"
_KEY_NAME = "export_key"
_CACHE = 65_536  # residents remembered while exporting: memory stays bounded


def key(tx: Tx, configured: str | None, now: datetime) -> bytes:
    """The key ids are made with: the configured secret, or the database's own."""
    if configured:
        return configured.encode("utf-8")
    return secrets.kept(tx, _KEY_NAME, now)


def known_key(tx: Tx, configured: str | None) -> bytes:
    """The key, read only: :func:`key` made it when the export was recorded."""
    if configured:
        return configured.encode("utf-8")
    row = tx.execute("SELECT value FROM secrets WHERE name = ?", (_KEY_NAME,)).fetchone()
    if row is None:
        raise LookupError("no export key yet: record the export first")
    return bytes.fromhex(row[0])


# Two base 32 letters (RFC 4648's alphabet) for each 10 bits: an export names tens of
# thousands of residents, and base64.b32encode, pure Python, took longer than the hash.
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_PAIRS = [a + b for a in _BASE32 for b in _BASE32]


def pseudonym(key: bytes, channel: str, address: str) -> str:
    """``R-`` and 12 letters and digits (60 bits): never mistaken for a number. The
    first 12 letters of the hash's base 32 (RFC 4648)."""
    return _named(hmac.new(key, f"{channel}:{address}".encode(), hashlib.sha256).digest())


def _named(digest: bytes) -> str:
    bits = int.from_bytes(digest[:8]) >> 4  # the first 60
    pairs = _PAIRS
    return (
        f"{PREFIX}{pairs[bits >> 50]}{pairs[bits >> 40 & 1023]}{pairs[bits >> 30 & 1023]}"
        f"{pairs[bits >> 20 & 1023]}{pairs[bits >> 10 & 1023]}{pairs[bits & 1023]}"
    )


class Pseudonyms:
    """Ids by contact id, remembered for the most recent residents of an export."""

    def __init__(self, key: bytes) -> None:
        # The hash with the key already taken in, copied for each resident: half the
        # time of taking the key in again each time.
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)
        self._known: OrderedDict[int, str] = OrderedDict()

    def of(self, contact_id: int, channel: str, address: str) -> str:
        known = self._known.get(contact_id)
        if known is None:
            keyed = self._keyed.copy()
            keyed.update(f"{channel}:{address}".encode())
            known = self._known[contact_id] = _named(keyed.digest())
            if len(self._known) > _CACHE:
                self._known.popitem(last=False)
        return known
