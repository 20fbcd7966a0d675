"""Scheduled work, done exactly once: sending a broadcast, reminding its
non-responders, closing a poll (and sending voters its result).

Every job is a row in the database (:mod:`bot.store.jobs`). :meth:`Jobs.run_due` does
whatever is due at the injected clock's time; :mod:`bot.outreach.scheduler` calls it when a job
falls due, tests call it with the clock where they want it. A job is claimed in the
same transaction as its first effect, and a broadcast records that it has started
writing its recipients, so a restart between any two steps neither loses a send nor
sends one twice: :meth:`Jobs.resume` finishes a broadcast whose writing was cut short.

Processes sharing a database write a broadcast one at a time: the writer takes the
broadcast's lease in the transaction that works out who still needs it, and renews it
with each batch (:data:`WRITE_LEASE`). A process that dies while writing leaves the lease
to run out; then ``resume`` in another process (the leader's, at each re-arm) takes it
over and writes the rest, no one twice. A writing that fails otherwise gives the lease up
at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta

from bot.civic import panels as panel_votes
from bot.civic.budgeting import phases
from bot.civic.polls import FlowBook, close, resident_text, results
from bot.engine import Env, Flow
from bot.outreach.audience import Audience, Recipient, select
from bot.outreach.broadcast import Content, Message, Rendering, Survey, WritingLost, fan_out
from bot.settings import Settings
from bot.store import Database, broadcasts, claims, jobs, polls
from bot.store.broadcasts import Broadcast, NewBroadcast
from bot.store.jobs import Job
from bot.store.sql import Tx

log = logging.getLogger(__name__)

WRITE_LEASE = 60.0
"""Seconds a writer's lease on a broadcast lasts, renewed with each batch (a batch of
2,000 takes about a second)."""


class Jobs:
    def __init__(
        self,
        database: Database,
        flows: Mapping[str, Flow],
        env: Env,
        settings: Settings,
        clock: Callable[[], datetime],
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.database = database
        self.flows = flows
        self.env = env
        self.settings = settings
        self.clock = clock
        self.on_queued = on_queued  # told when messages are waiting in the outbox
        self.book = FlowBook(flows, env)
        self._lock = asyncio.Lock()
        self.writer = claims.claimer(database)  # this process, holding a broadcast's lease

    async def pending(self) -> list[Job]:
        return await self.database.run(jobs.pending)

    async def run_due(self, progress: Callable[[int], None] = lambda done: None) -> int:
        """Do every job due now; returns how many were done here."""
        async with self._lock:
            now = self.clock()
            done = 0
            for job in await self.database.run(lambda tx: jobs.pending(tx, now)):
                if await self._run(job, now, progress):
                    done += 1
            return done

    async def resume(self, progress: Callable[[int], None] = lambda done: None) -> int:
        """Finish writing broadcasts a stop or crash interrupted, and counts of rounds
        whose voting closed; returns how many."""
        async with self._lock:
            interrupted = await self.database.run(broadcasts.sending)
            for broadcast_id in interrupted:
                log.info("resuming broadcast %s", broadcast_id)
                await self._write(broadcast_id, progress)
            rounds = await self.database.run(phases.waiting_for_count)
            for round_id in rounds:
                log.info("resuming the count of round %s", round_id)
                await self.count(round_id, progress)
            return len(interrupted) + len(rounds)

    async def count(self, round_id: int, progress: Callable[[int], None]) -> None:
        """Count a round whose voting closed, in a process of its own: a large round
        takes minutes, and neither the database nor residents' messages wait for it.
        Then its results go out (once, however often this runs)."""
        votes = await self.database.run(lambda tx: phases.election_of(tx, round_id))
        if votes is None:
            return
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")  # no copy of this process's threads
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            greedy, mes = await loop.run_in_executor(pool, phases.counted, votes)
        now = self.clock()

        def results(tx: Tx) -> list[int]:
            world = phases.World(tx, self.env, self.flows, "schedule", now)
            return phases.send_results(world, round_id, greedy, mes)

        for broadcast_id in await self.database.run(results):
            await self._write(broadcast_id, progress)

    async def _run(self, job: Job, now: datetime, progress: Callable[[int], None]) -> bool:
        if job.kind in phases.PHASE_OF_JOB:
            made = await self.database.run(lambda tx: self._phase(tx, job, now))
            for broadcast_id in made or ():
                await self._write(broadcast_id, progress)
            if made is not None and job.kind == phases.JOBS["counted"]:
                await self.count(job.target, progress)
            return made is not None
        if job.kind == jobs.SEND:
            started = await self.database.run(lambda tx: self._start(tx, job, now))
        elif job.kind == jobs.REMIND:
            started = await self.database.run(lambda tx: self._remind(tx, job, now))
        else:
            started = await self.database.run(lambda tx: self._close(tx, job, now))
        if started is None:
            return False
        if started:
            await self._write(started, progress)
        return True

    # -- claiming a job, in one transaction with its first effect ---------------------

    def _start(self, tx: Tx, job: Job, now: datetime) -> int | None:
        if not jobs.claim(tx, job, now):
            return None
        if not broadcasts.start(tx, job.target, now):
            return 0  # cancelled, or started by another hand
        broadcast = broadcasts.get(tx, job.target)
        assert broadcast is not None
        if broadcast.poll_id is not None:
            if polls.status(tx, broadcast.poll_id) == "closed":
                broadcasts.cancel(tx, broadcast.id, now)  # closed before its send time
                return 0
            polls.open_poll(tx, broadcast.poll_id)
        if broadcast.remind_after is not None:
            jobs.add(tx, jobs.REMIND, broadcast.id, now + broadcast.remind_after)
        return broadcast.id

    def _remind(self, tx: Tx, job: Job, now: datetime) -> int | None:
        if not jobs.claim(tx, job, now):
            return None
        parent = broadcasts.get(tx, job.target)
        if parent is None or parent.status == "cancelled" or parent.flow_id is None:
            return 0
        if parent.poll_id is not None:
            poll = polls.get(tx, parent.poll_id)
            if poll is None or poll.status == "closed":
                return 0  # nothing left to answer
        reminder = NewBroadcast(
            broadcasts.REMINDER,
            parent.audience,
            flow_id=parent.flow_id,
            poll_id=parent.poll_id,
            parent_id=parent.id,
            created_by="schedule",
        )
        return self._begin(tx, reminder, now)

    def _phase(self, tx: Tx, job: Job, now: datetime) -> list[int] | None:
        """Begin a budgeting round's phase; the broadcasts it made. A round that is not
        ready (bids not screened) stays where it is, and the job is done: staff see why
        in the log and on the round, and begin the phase by hand."""
        if not jobs.claim(tx, job, now):
            return None
        world = phases.World(tx, self.env, self.flows, "schedule", now)
        tx.execute("SAVEPOINT phase")
        try:
            made = phases.begin(world, job.target, phases.PHASE_OF_JOB[job.kind])
        except phases.NotReady as problem:
            tx.execute("ROLLBACK TO phase")
            log.warning("round %s: %s", job.target, problem)
            made = []
        tx.execute("RELEASE phase")
        return made

    def _close(self, tx: Tx, job: Job, now: datetime) -> int | None:
        if not jobs.claim(tx, job, now):
            return None
        return self.close_poll(tx, job.target, now)

    def close_poll(self, tx: Tx, poll_id: int, now: datetime) -> int:
        """Close a poll now (on time, or early by an organiser). When its result goes to
        voters, returns the broadcast that carries it (to be written); else 0."""
        jobs.drop(tx, jobs.CLOSE, poll_id, now)
        if not close(tx, poll_id, now):
            return 0
        poll = polls.get(tx, poll_id)
        assert poll is not None
        if poll.panel_id is not None:
            decided = panel_votes.decide(tx, poll)
            log.info("panel vote %s closed: passed=%s", poll.id, decided.passed)
        if poll.results != "send":
            return 0
        tally = results(tx, poll).overall
        texts = {
            code: resident_text(poll, tally, code, self.env)
            for code in {*self.env.languages, poll.language}
        }
        result = NewBroadcast(
            broadcasts.RESULTS,
            Audience().to_json(),
            texts=texts,
            poll_id=poll.id,
            created_by="schedule",
        )
        return self._begin(tx, result, now)

    @staticmethod
    def _begin(tx: Tx, new: NewBroadcast, now: datetime) -> int:
        return broadcasts.create(tx, new, "sending", now)

    # -- writing a broadcast to the outbox ---------------------------------------------

    async def _write(self, broadcast_id: int, progress: Callable[[int], None]) -> None:
        prepared = await self.database.run(lambda tx: self.prepare(tx, broadcast_id))
        if prepared is None:
            return
        recipients, rendering = prepared

        def renewed(tx: Tx) -> bool:
            until = self.clock() + timedelta(seconds=WRITE_LEASE)
            return broadcasts.renew_writing(tx, broadcast_id, self.writer, until)

        def finished(tx: Tx) -> int | None:
            return broadcasts.finish(tx, broadcast_id, self.clock()) if renewed(tx) else None

        try:
            await fan_out(
                self.database, broadcast_id, recipients, rendering, progress, lease=renewed
            )
            count = await self.database.run(finished)
        except WritingLost as lost:
            log.warning("%s", lost)
            return
        except BaseException:  # another process (or a retry here) may finish it at once
            with contextlib.suppress(Exception):
                await self.database.run(
                    lambda tx: broadcasts.release_writing(tx, broadcast_id, self.writer)
                )
            raise
        if count is None:
            log.warning("broadcast %s: another process finishes writing it", broadcast_id)
            return
        log.info("broadcast %s queued for %s residents", broadcast_id, count)
        self.on_queued()

    def prepare(self, tx: Tx, broadcast_id: int) -> tuple[list[Recipient], Rendering] | None:
        """Who still needs the broadcast (none twice), and what they are sent; None when
        there is nothing to write, or another process's lease on writing it runs.

        The lease is taken first, in this same transaction: on PostgreSQL a second
        process taking it waits for this transaction and then finds it held, and what
        is read after it (who was written already) includes every batch committed by a
        writer before; that writer's later batches fail to renew the lease."""
        broadcast = broadcasts.get(tx, broadcast_id)
        if broadcast is None or broadcast.status != "sending":
            return None
        now = self.clock()
        until = now + timedelta(seconds=WRITE_LEASE)
        if not broadcasts.take_writing(tx, broadcast_id, self.writer, now, until):
            log.info("broadcast %s: another process is writing it", broadcast_id)
            return None
        content = self.content(tx, broadcast)
        if content is None:
            log.warning("broadcast %s: its flow no longer exists; cancelled", broadcast_id)
            broadcasts.cancel(tx, broadcast_id, self.clock())
            return None
        rendering = Rendering(content, self.env, self.settings.default_language, self.clock())
        if broadcast.kind == broadcasts.REMINDER:
            rendering.prefix = {
                code: self.env.phrases.text(code, "Reminder: we would still like your answer.")
                for code in self.env.languages
            }
        given = broadcasts.written(tx, broadcast_id)
        chosen = self.recipients(tx, broadcast)
        return [r for r in chosen if r.contact_id not in given], rendering

    def content(self, tx: Tx, broadcast: Broadcast) -> Content | None:
        if broadcast.texts is not None:
            return Message(broadcast.texts)
        flow = self.book.get(tx, broadcast.flow_id or "")
        return Survey(flow) if flow is not None else None

    def recipients(self, tx: Tx, broadcast: Broadcast) -> list[Recipient]:
        if broadcast.kind == broadcasts.REMINDER:
            return _not_responded(tx, broadcast)
        if broadcast.kind == broadcasts.RESULTS:
            return _voters(tx, broadcast)
        return select(tx, Audience.from_json(broadcast.audience), self.settings.staff.keys())


def _reachable(column: str) -> str:
    return (
        f"JOIN contacts c ON c.id = {column}"
        " WHERE c.opted_out_at IS NULL AND c.unreachable_at IS NULL"
    )


def _not_responded(tx: Tx, reminder: Broadcast) -> list[Recipient]:
    """Who was sent the reminded broadcast and has not answered it since."""
    parent = broadcasts.get(tx, reminder.parent_id or 0)
    if parent is None or parent.started_at is None:
        return []
    rows = tx.execute(
        "SELECT DISTINCT c.id, c.channel, c.language FROM outbox o "
        + _reachable("o.contact_id")
        + " AND o.broadcast_id = ? AND o.status != 'cancelled'"
        " AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.contact_id = c.id"
        "   AND a.flow_id = ? AND a.answered_at >= ?)"
        " ORDER BY c.id",
        (parent.id, parent.flow_id, parent.started_at.isoformat()),
    ).fetchall()
    return [Recipient(row[0], row[1], row[2]) for row in rows]


def _voters(tx: Tx, broadcast: Broadcast) -> list[Recipient]:
    rows = tx.execute(
        "SELECT c.id, c.channel, c.language FROM votes v "
        + _reachable("v.contact_id")
        + " AND v.poll_id = ? ORDER BY c.id",
        (broadcast.poll_id,),
    ).fetchall()
    return [Recipient(row[0], row[1], row[2]) for row in rows]
