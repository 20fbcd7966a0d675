"""Parley's SQLite store: the database, its migrations and one repository per table.

Repositories are plain async functions that take the connection of an open
transaction (``async with database.transaction() as tx``), so the caller decides what
is one unit of work.
"""

from bot.store.database import Database

__all__ = ["Database"]
