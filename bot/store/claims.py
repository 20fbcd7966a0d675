"""Who claims a row: the names processes sharing a database go by.

What one process sends (an outbox message) or writes (a broadcast's recipients) it claims
first, for a while, under a name of its own: its host, its process id and a random part,
so a restarted process, with the same id on the same host, is still someone else, and the
claims of the one that died expire rather than being taken for its own. On a database
only one process runs on (SQLite, under its run lock) every process has the same name:
whatever a dead one claimed, the next one takes over at once.
"""

from __future__ import annotations

import os
import secrets
import socket

from bot.store.database import Database

SOLE = "sole"
"""The name of the one process on a database not shared."""


def claimer(database: Database) -> str:
    """A name for what claims rows on ``database``: unique across processes sharing it."""
    if not database.shared:
        return SOLE
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
