"""The desk, from a web request, without slowing residents down.

A page reads on a snapshot of the database in a worker thread: it never waits for the
writer that webhooks use, nor holds it up (SQLite runs queries without Python's lock,
and WAL lets readers and the writer go on together). An action is one unit of work on
the writer, like a resident's message: a millisecond or two. Once it has committed,
whatever it made due (a send confirmed, a poll closed) is handed to the scheduler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from bot.app import App
from bot.desk import Actor, Desk, Effects, Front, Role
from bot.store.database import snapshot
from bot.store.sql import Tx

T = TypeVar("T")


@dataclass(frozen=True)
class SignedIn:
    """The staff member a request comes from."""

    account_id: int
    name: str
    role: Role
    session_id: int

    @property
    def organiser(self) -> bool:
        return self.role is Role.ORGANISER

    @property
    def actor(self) -> Actor:
        return Actor(self.name, self.role, Front.WEB)


class Counter:
    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = app.settings

    def _desk(self, tx: Tx, staff: SignedIn, effects: Effects) -> Desk:
        jobs = self.app.jobs
        return Desk(
            tx, self.settings, jobs.env, jobs.flows, self.app.service.clock(), staff.actor, effects
        )

    async def read(self, staff: SignedIn, work: Callable[[Desk], T]) -> T:
        """``work(desk)`` on a snapshot, in a worker thread; it can change nothing."""

        def run() -> T:
            with snapshot(self.settings.database) as tx:
                return work(self._desk(tx, staff, Effects()))

        return await asyncio.to_thread(run)

    async def write(self, staff: SignedIn, work: Callable[[Desk], T]) -> T:
        """``work(desk)`` as one transaction on the writer; then what it made due runs."""
        effects = Effects()
        result = await self.app.database.run(lambda tx: work(self._desk(tx, staff, effects)))
        self.settled(effects)
        return result

    async def once(self, staff: SignedIn, token: str, work: Callable[[Desk], str]) -> str:
        """Do a form's work once for its one-time ``token``: the work gives where to go
        next; the same form sent again (a double click, back and resubmit) goes there
        without doing the work again."""
        effects = Effects()

        def run(tx: Tx) -> str:
            desk = self._desk(tx, staff, effects)
            stale = (desk.now - timedelta(days=1)).isoformat()
            tx.execute("DELETE FROM form_posts WHERE at < ?", (stale,))
            # The token is claimed before the work: on PostgreSQL the same form sent twice at
            # once runs on two connections, and the second waits here for the first to end
            # (its claim, rolled back with it, if its work failed), then goes where it went.
            claimed = tx.execute(
                "INSERT INTO form_posts (token, location, at) VALUES (?, '', ?)"
                " ON CONFLICT (token) DO NOTHING RETURNING token",
                (token, desk.now.isoformat()),
            ).fetchone()
            if claimed is None:
                done = tx.execute("SELECT location FROM form_posts WHERE token = ?", (token,))
                row = done.fetchone()
                assert row is not None, "a form's claim is kept once made"
                return str(row[0])
            location = work(desk)
            tx.execute("UPDATE form_posts SET location = ? WHERE token = ?", (location, token))
            return location

        location = await self.app.database.run(run)
        self.settled(effects)
        return location

    def settled(self, effects: Effects) -> None:
        if effects.scheduled:
            self.app.service.on_scheduled()
        self.app.dispatcher.wake()
