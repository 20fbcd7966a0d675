"""Parley's SQLite store: the database, its migrations and one repository per table.

Repositories are plain functions that take the connection of an open transaction,
so the caller decides what is one unit of work: ``await database.run(work)`` runs
``work(tx)`` as one transaction on the database's own thread.
"""

from bot.store.database import Database

__all__ = ["Database"]
