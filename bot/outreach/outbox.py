"""The outbox dispatcher: sends what is queued in the ``outbox`` table, through the
channel adapters, at each provider's pace.

Every message is committed to the outbox before any provider call, so a crash loses
nothing: whatever is still ``queued`` is sent after a restart. The price is a small
window: a message the provider accepted just before the process died, whose ``sent``
status was not yet written, is sent again. At most ``concurrency`` messages are in flight
at once for each provider, so at most that many of a provider's residents can get a
message twice after a crash. A clean
stop (SIGTERM, Ctrl-C) waits for the calls in flight, so it sends nothing twice.

Several processes may send from one PostgreSQL database (``Database.shared``). Each
*claims* a message before sending it, in the transaction that checks it is still due
(:func:`bot.store.messages.claim`): exactly one process wins it, and the others leave it
alone until its result is recorded or the claim expires (:data:`CLAIM`, well over a
provider call's timeout). A process that dies mid-call leaves its claims behind; once they
expire another process sends those messages, and nothing is lost. Twilio tells which of
them it had accepted: each message's status callback URL names its outbox id, and the
first report, seconds after Twilio accepted it, reaches a process still running (through
the load balancer) and records the message sent (:mod:`bot.web.webhooks`), long before
the claim expires, so none is sent twice. Telegram has no such report: at most the calls
the dead process had in flight on it (``concurrency``) can reach a resident twice. (With
one process, on SQLite, a report sent while it is down reaches no one, so on either
provider a restart may send those calls again.) A contact's later messages wait while
its earlier one is claimed, as it is still queued, so their order holds across
processes. On SQLite one process runs (the run lock) and every process bears the same
name (:mod:`bot.store.claims`): a restarted one takes over its predecessor's claims at
once.

Messages go out in *lanes*, one per provider account (Telegram; Twilio's SMS and
WhatsApp), each paced on its own: a lane never sends faster than its rate (messages or
SMS segments per second), and Telegram's per-chat limit holds a chat's next message
back while others go ahead. On a shared database a lane's pace is the deployment's, not
each process's: every process reserves the lane's next slot in the ``lanes`` table
(:class:`SharedPacer`), in the transaction that claims the message. A call held up
past its slot takes a new one rather than going at once, so that a stall never ends in
a burst. Telegram's per-chat
limit stays each process's own: a chat's messages are claimed one at a time anyway, so
only two processes sending a chat's consecutive messages could crowd it. A contact's
messages always go in the order they were queued. Transient failures (rate limits, 5xx,
timeouts) are retried with doubling delays, or after the provider's Retry-After (on a
shared database every process holds the lane back); permanent ones are given up with the
reason stored. A message to a resident who opted out or blocked the bot is cancelled,
not sent (opt-out confirmations and HELP answers, marked ``compliance``, still go).

When the database server cannot be reached (PostgreSQL), nothing more goes: each
message is checked in the database before it is sent. Each lane logs one line and
looks again after a pause that doubles up to :data:`AWAY_AT_MOST`. A result that
cannot be recorded is tried again the same way until the database is back, the
message held (and its slot) meanwhile: left queued, a message the provider had
accepted would be sent a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot.channels.base import Channel, File, Outbound
from bot.errors import DatabaseUnavailable, TryAgain, Undeliverable
from bot.store import Database, claims, contacts, erasure, messages
from bot.store.messages import QueuedMessage
from bot.store.sql import Tx

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 15 * 60.0
AWAY_FIRST = 0.5
AWAY_AT_MOST = 5.0
"""Seconds between tries while the database is unavailable: doubling from the first
to at most this, so it is back in use within seconds of returning."""
STOP_GRACE = 10.0
"""Seconds a stopping dispatcher waits for the provider calls in flight."""
IDLE_POLL = 1.0
"""Seconds between looks at the outbox when nothing woke the dispatcher (other
processes, such as a CLI broadcast, write to it too)."""
AHEAD = 0.03
"""Seconds before a message's slot that its lane hands it to a sending task (which
checks it once more meanwhile) and goes on to claim the next."""
LATE = 1.0
"""A call later than this many of its lane's units (1/rate seconds each) for its slot
takes a new slot rather than going at once: the calls held up together (a stall of the
process, the machine or the database) would otherwise go together, crowding the slots
after theirs, and the provider would see a burst over its rate."""
CLAIM = 15.0 + 120.0
"""Seconds a process's claim on a message lasts: a provider call's timeout (15 s, both
channels) and a margin for the wait for its slot, making its file and recording it."""


class Pacer:
    """Spaces calls evenly at ``rate`` units per second: no bursts, so a provider that
    enforces the same rate never has to refuse one."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._next = 0.0

    def delay(self, cost: float = 1.0) -> float:
        """Take the next slot for ``cost`` units; returns how long to wait for it."""
        now = self._clock()
        start = max(now, self._next)
        self._next = start + cost / self.rate
        return start - now

    def pause(self, seconds: float) -> None:
        """Nothing goes for ``seconds`` (the provider asked us to slow down)."""
        self._next = max(self._next, self._clock() + seconds)

    def ready_in(self) -> float:
        return max(0.0, self._next - self._clock())


class SharedPacer:
    """A lane's pace kept in the database (the ``lanes`` table), for every process that
    sends on the lane: each reserves the lane's next slot there, so that together they
    never send faster than its rate. Times are wall-clock seconds, which hosts kept by
    NTP agree on to a few milliseconds."""

    def __init__(self, name: str, rate: float, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.rate = rate
        self._clock = clock

    def reserve(self, tx: Tx, cost: float = 1.0) -> float | None:
        """Take the lane's next slot for ``cost`` units: returns when it begins, in
        wall-clock seconds, or None if the lane was free (its slot is now, whenever the
        caller gets to it). A time, not a wait: a wait would be counted from before this
        statement, so the rest of the transaction, its commit and the way back would be
        added to the slot, by a different amount each time. One statement: the row's
        lock makes processes reserving at once take turns."""
        now, span = self._clock(), cost / self.rate
        row = tx.execute(
            "INSERT INTO lanes (name, next_at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE"
            " SET next_at = CASE WHEN lanes.next_at > ? THEN lanes.next_at ELSE ? END + ?"
            " RETURNING next_at",
            (self.name, now + span, now, now, span),
        ).fetchone()
        next_at = float(row[0])
        return next_at - span if next_at > now + span else None  # free: now + span exactly

    def pause(self, tx: Tx, seconds: float) -> None:
        """Nothing goes on the lane, from any process, for ``seconds``."""
        until = self._clock() + seconds
        tx.execute(
            "INSERT INTO lanes (name, next_at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE"
            " SET next_at = CASE WHEN lanes.next_at > ? THEN lanes.next_at ELSE ? END",
            (self.name, until, until, until),
        )


@dataclass
class Lane:
    """Channels that share one provider account, and so one pace."""

    name: str
    channels: tuple[str, ...]
    rate: float  # messages (or segments) per second
    chat_rate: float | None = None  # messages per second to one chat, if limited
    by_segments: bool = False  # pace SMS by segments, not messages
    quiet: Callable[[], bool] | None = None  # True during quiet hours: broadcasts wait
    pacer: Pacer = field(init=False)
    _chat_next: dict[int, float] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.pacer = Pacer(self.rate)

    def broadcasts_may_go(self) -> bool:
        return self.quiet is None or not self.quiet()

    def cost(self, message: QueuedMessage) -> float:
        return float(message.segments or 1) if self.by_segments else 1.0

    def chat_wait(self, contact_id: int, now: float) -> float:
        """Seconds until this chat may get its next message (0 when it may now)."""
        return max(0.0, self._chat_next.get(contact_id, 0.0) - now)

    def chat_sent(self, contact_id: int, now: float) -> None:
        if self.chat_rate is not None:
            self._chat_next[contact_id] = now + 1.0 / self.chat_rate
            if len(self._chat_next) > 10_000:  # forget chats whose wait is long over
                self._chat_next = {k: t for k, t in self._chat_next.items() if t > now}


MakeFile = Callable[[Mapping[str, Any], str], Awaitable[tuple[File | None, str]]]
"""Makes the file a message carries (from its outbox ``attachment``) and its caption."""


class Dispatcher:
    def __init__(
        self,
        database: Database,
        channels: Mapping[str, Channel],
        clock: Callable[[], datetime],
        lanes: Sequence[Lane] = (),
        concurrency: int = 4,
        attempts: int = 8,
        retry_delay: float = 2.0,
        batch_size: int = 200,
        make_file: MakeFile | None = None,
        claim_for: float = CLAIM,
    ) -> None:
        self.database = database
        self.make_file = make_file
        self.channels = channels
        self.clock = clock
        self.lanes = list(lanes)
        self.attempts = attempts
        self.retry_delay = retry_delay
        self.batch_size = batch_size
        # Each lane has its own calls in flight, so a provider that hangs holds up only
        # its own messages.
        self._slots = {lane.name: asyncio.Semaphore(concurrency) for lane in self.lanes}
        # Messages claimed and handed to a sending task, waiting for their slot or in
        # flight: the lane claims no further ahead.
        self._handed = {lane.name: asyncio.Semaphore(2 * concurrency) for lane in self.lanes}
        self._wakes = {lane.name: asyncio.Event() for lane in self.lanes}
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.claimer = claims.claimer(database)
        self.claim_for = timedelta(seconds=claim_for)
        # Several processes on one database keep each lane's pace together.
        self._shared = (
            {lane.name: SharedPacer(lane.name, lane.rate) for lane in self.lanes}
            if database.shared
            else {}
        )

    def wake(self) -> None:
        """Something was queued: look at the outbox now rather than at the next poll."""
        for event in self._wakes.values():
            event.set()

    # -- sending everything now, in order (the simulator and tests) ------------------

    async def drain(self) -> int:
        """Send everything due now, one by one, without pacing; returns how many went.
        As in :meth:`run`, broadcasts on a lane in its quiet hours wait."""
        sent = 0
        while True:
            now, batch = self.clock(), []
            for names, broadcasts in self._drain_groups():
                found = await self.database.run(
                    partial(
                        messages.due,
                        channels=names,
                        now=now,
                        limit=self.batch_size,
                        broadcasts=broadcasts,
                        claimer=self.claimer,
                    )
                )
                batch += [(message.id, broadcasts) for message in found]
            if not batch:
                return sent
            for outbox_id, broadcasts in sorted(batch):
                claim = partial(self._claim, outbox_id, broadcasts=broadcasts)
                claimed = await self.database.run(claim)
                if claimed is not None:  # else another process is sending it
                    sent += await self._deliver(claimed, None)

    def _drain_groups(self) -> list[tuple[tuple[str, ...], bool]]:
        """The channels, split by whether broadcasts may go on them now."""
        held = {
            name for lane in self.lanes if not lane.broadcasts_may_go() for name in lane.channels
        }
        names = tuple(self.channels)
        groups = [
            (tuple(name for name in names if name not in held), True),
            (tuple(name for name in names if name in held), False),
        ]
        return [(channels, broadcasts) for channels, broadcasts in groups if channels]

    # -- the paced loop (``parley run``) ------------------------------------------------

    async def run(self) -> None:
        """Send queued messages for ever, each lane at its pace. Cancel to stop."""
        try:
            await asyncio.gather(*(self._run_lane(lane) for lane in self.lanes))
        finally:
            # Let the calls in flight finish and be recorded, so that a clean stop does
            # not send them again at the next start; only a hung call is cut short.
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=STOP_GRACE)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run_lane(self, lane: Lane) -> None:
        """Pass over the due messages in id order, starting what may go; when a pass
        started nothing, wait for news (a message queued or sent) or the next chat slot."""
        after, started, soonest = 0, False, IDLE_POLL
        away = 0.0  # the pause before the next look, while the database is unavailable
        while True:
            try:
                batch = await self.database.run(
                    partial(
                        messages.due,
                        channels=lane.channels,
                        now=self.clock(),
                        after_id=after,
                        limit=self.batch_size,
                        broadcasts=lane.broadcasts_may_go(),
                        claimer=self.claimer,
                    )
                )
                if away:
                    log.info("outbox (%s): the database is back", lane.name)
                    away = 0.0
                if not batch:
                    if not started:
                        await self._idle(lane, soonest)
                    after, started, soonest = 0, False, IDLE_POLL
                    continue
                for message in batch:
                    after = message.id
                    if message.id in self._in_flight:
                        continue
                    wait = lane.chat_wait(message.contact_id, time.monotonic())
                    if wait > 0:  # this chat had a message a moment ago; others go first
                        soonest = min(soonest, wait)
                        continue
                    started = await self._start(lane, message) or started
            except DatabaseUnavailable as error:  # one line, not one a second
                if not away:
                    log.warning("outbox (%s): %s; sending waits for it", lane.name, error)
                away = min(away * 2, AWAY_AT_MOST) if away else AWAY_FIRST
                await asyncio.sleep(away)
            except Exception:  # e.g. the database locked by another process for long
                log.exception("outbox (%s): could not read the queue; trying again", lane.name)
                await asyncio.sleep(IDLE_POLL)

    async def _idle(self, lane: Lane, seconds: float) -> None:
        # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that comes in
        # the same turn as the wake, and the lane would then never stop.
        wake = self._wakes[lane.name]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await wake.wait()
        wake.clear()

    def _claim(self, outbox_id: int, tx: Tx, broadcasts: bool) -> QueuedMessage | None:
        """Claim a message for this process, if it is still due and nobody else has it."""
        now = self.clock()
        return messages.claim(tx, outbox_id, self.claimer, now, now + self.claim_for, broadcasts)

    async def _start(self, lane: Lane, message: QueuedMessage) -> bool:
        """Claim ``message`` and hand it to a sending task once pace and slots allow;
        False if it turned out not to be due any more, or another process has it. The
        task checks it once more and waits out the last of its slot while this lane
        claims its next message, so the round trips to the database do not make the
        lane late. At most twice ``concurrency`` messages are handed out at once, and
        ``concurrency`` calls in flight."""
        shared = self._shared.get(lane.name)

        def claim(tx: Tx) -> tuple[QueuedMessage | None, float | None]:
            claimed = self._claim(message.id, tx, lane.broadcasts_may_go())
            if claimed is None or not claimed.sendable or shared is None:
                return claimed, None
            return claimed, shared.reserve(tx, lane.cost(claimed))  # the deployment's pace

        claiming = asyncio.ensure_future(self.database.run(claim))
        try:
            claimed, slot = await asyncio.shield(claiming)
        except asyncio.CancelledError:
            await self._give_up_claim(message.id, claiming)
            raise
        if claimed is None:
            return False
        at = time.monotonic()  # its slot, in monotonic time
        if claimed.sendable:
            at = self._local_slot(lane, claimed) if shared is None else self._monotonic(slot)
        try:
            # The sending task waits out the last AHEAD seconds, while this lane claims
            # its next message: a slow round trip then does not make the lane late for
            # its next slot.
            await asyncio.sleep(max(0.0, at - AHEAD - time.monotonic()))
            await self._handed[lane.name].acquire()
        except BaseException:  # stopping: another process may send it now
            await self._give_up_claim(claimed.id)
            raise
        if claimed.sendable:
            lane.chat_sent(claimed.contact_id, at)
        self._in_flight.add(claimed.id)
        task = asyncio.create_task(self._send_and_release(lane, claimed, at))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    @staticmethod
    def _local_slot(lane: Lane, message: QueuedMessage) -> float:
        """Take the lane's next slot in this process: when it begins, in monotonic time."""
        return time.monotonic() + lane.pacer.delay(lane.cost(message))

    @staticmethod
    def _monotonic(slot: float | None) -> float:
        """A shared lane's slot (wall-clock time, None for now) in monotonic time."""
        now = time.monotonic()
        return now if slot is None else now + slot - time.time()

    async def _new_slot(self, lane: Lane, message: QueuedMessage) -> float:
        """Take the lane's next slot again, for a message that was late for its own."""
        shared = self._shared.get(lane.name)
        if shared is None:
            return self._local_slot(lane, message)
        cost = lane.cost(message)
        return self._monotonic(await self.database.run(partial(shared.reserve, cost=cost)))

    async def _give_up_claim(
        self, outbox_id: int, claiming: asyncio.Future[Any] | None = None
    ) -> None:
        """Stopping before its call: give the message's claim up, so another process may
        send it now (once a claim under way is done, so that it does not come after)."""
        with contextlib.suppress(Exception):
            if claiming is not None:
                await claiming
            await self.database.run(
                partial(messages.unclaim, claimer=self.claimer, outbox_id=outbox_id)
            )

    async def _send_and_release(self, lane: Lane, message: QueuedMessage, at: float) -> None:
        """Send ``message`` at its slot ``at`` (monotonic time), or at a new one if it is
        held up past it (:data:`LATE`), then free its place."""
        calling = False
        # It may have waited a while: is it still due, may it still go, and is it still
        # this process's? (The claim is renewed: shielded, so that a stop gives the claim
        # up only after the renewal is done.)
        broadcasts = lane.broadcasts_may_go()
        check = asyncio.ensure_future(
            self.database.run(partial(self._claim, message.id, broadcasts=broadcasts))
        )
        try:
            fresh = await asyncio.shield(check)
            while fresh is not None:
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                async with self._slots[lane.name]:  # a call in flight
                    if not fresh.sendable or time.monotonic() - at <= LATE / lane.rate:
                        calling = True
                        await self._deliver(fresh, lane)
                        break
                # Held up past its slot (the check, a call in flight, the event loop):
                # going now would crowd the next slots, so it takes a new one.
                at = await self._new_slot(lane, fresh)
                lane.chat_sent(fresh.contact_id, at)
        except DatabaseUnavailable as error:  # nothing was sent: it stays queued
            log.warning("outbox message %s: %s; it waits", message.id, error)
        except Exception:  # the database failed; the message stays queued for later
            log.exception("outbox message %s: could not record the result", message.id)
        except BaseException:  # stopping: unless its call had begun, another may send it
            if not calling:
                await self._give_up_claim(message.id, check)
            raise
        finally:
            self._in_flight.discard(message.id)
            self._handed[lane.name].release()
            self._wakes[lane.name].set()  # the contact's next message may be due now

    # -- one message ----------------------------------------------------------------

    async def _deliver(self, message: QueuedMessage, lane: Lane | None) -> int:
        """Send one message and record what happened; 1 if it was sent."""
        channel = self.channels.get(message.channel)
        if not message.sendable:
            await self._give_up(message, "cancelled", "opted out or unreachable", False)
            return 0
        if channel is None:
            await self._give_up(message, "failed", f"no channel '{message.channel}'", False)
            return 0
        file, text = None, message.text
        try:
            if message.attachment is not None:
                if self.make_file is None:
                    raise Undeliverable("no way to make the file it carries")
                file, text = await self.make_file(message.attachment, message.text)
            outbound = Outbound(
                message.id,
                message.channel,
                message.address,
                text,
                message.buttons,
                file,
                message.replaces,
            )
            provider_id = await channel.send(outbound)
        except TryAgain as failure:
            if failure.retry_after is not None and lane is not None:
                await self._pause(lane, failure.retry_after)
            await self._retry_later(message, str(failure), failure.retry_after)
            return 0
        except Undeliverable as failure:
            await self._give_up(message, "failed", str(failure), True, failure.recipient)
            return 0
        except DatabaseUnavailable:  # making its file read the database: sent later
            raise
        except Exception as error:  # not foreseen: retried with backoff, then given up
            log.exception("outbox message %s: unexpected error while sending", message.id)
            await self._retry_later(message, f"unexpected {type(error).__name__}", None)
            return 0
        now = self.clock()

        def sent(tx: Tx) -> None:
            messages.mark_sent(tx, message.id, provider_id, now)
            if message.forgotten:  # a goodbye gone; for anyone else, no read of the contact
                erasure.after_goodbye(tx, message.contact_id, now)

        await self._record(message, sent)
        return 1

    async def _pause(self, lane: Lane, seconds: float) -> None:
        """The provider asked us to slow down: this process, and on a shared database
        every process, sends nothing more on the lane for ``seconds``."""
        lane.pacer.pause(seconds)
        shared = self._shared.get(lane.name)
        if shared is not None:
            await self.database.run(partial(shared.pause, seconds=seconds))

    async def _retry_later(
        self, message: QueuedMessage, error: str, retry_after: float | None
    ) -> None:
        tried = message.attempts + 1
        if tried >= self.attempts:
            await self._give_up(message, "failed", f"gave up after {tried} tries: {error}", True)
            return
        delay = retry_after if retry_after is not None else self.retry_delay * 2 ** (tried - 1)
        delay = min(delay, MAX_RETRY_DELAY)
        log.warning("outbox message %s: %s; retrying in %.1f s", message.id, error, delay)
        retry_at = self.clock() + timedelta(seconds=delay)
        await self._record(message, lambda tx: messages.mark_retry(tx, message.id, error, retry_at))

    async def _give_up(
        self,
        message: QueuedMessage,
        status: str,
        error: str,
        attempted: bool,
        recipient: str | None = None,
    ) -> None:
        log.warning("outbox message %s %s: %s", message.id, status, error)
        now = self.clock()

        def work(tx: Tx) -> None:
            messages.mark_unsent(tx, message.id, status, error, attempted)
            if recipient is not None:
                contacts.refuse(tx, message.contact_id, recipient, now)
            if message.forgotten:
                erasure.after_goodbye(tx, message.contact_id, now)

        await self._record(message, work)

    async def _record(self, message: QueuedMessage, work: Callable[[Tx], None]) -> None:
        """Record what became of ``message``; while the database is unavailable, try
        again after a doubling pause until it is back, holding the message. (Recording
        twice does no harm: a result whose commit was cut off may have been kept.)"""
        pause = AWAY_FIRST
        while True:
            try:
                await self.database.run(work)
            except DatabaseUnavailable as error:
                if pause == AWAY_FIRST:
                    log.warning(
                        "outbox message %s: %s; its result is recorded when it is back",
                        message.id,
                        error,
                    )
                await asyncio.sleep(pause)
                pause = min(pause * 2, AWAY_AT_MOST)
                continue
            if pause > AWAY_FIRST:
                log.info("outbox message %s: its result recorded", message.id)
            return
