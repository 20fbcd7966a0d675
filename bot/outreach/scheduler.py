"""APScheduler, armed from the database: one timer per job row, re-armed at start-up.

The jobs themselves live in the ``jobs`` table (:mod:`bot.store.jobs`) and are done by
:class:`bot.outreach.schedule.Jobs`, exactly once each; APScheduler is only the alarm clock. At
start-up every job not yet done is armed (one missed while Parley was down runs at
once), a broadcast cut short is finished, and the table is re-read every
:data:`REARM_EVERY` seconds so that jobs made by ``parley broadcast --at`` in another
process are armed too.

One timer is not a job row: the daily retention job
(:class:`bot.outreach.retention.Retention`), at 03:00 local time. A failure of either is
logged and the timers carry on; a job whose run failed (the database unreachable, say)
is tried again after a growing pause, up to :data:`RETRY_AT_MOST` seconds.

Several processes on one PostgreSQL database each arm every job: a job's row makes it
run once however many timers fire, and if one process dies the others still run it on
time. What must be done by one process at a time — finishing a broadcast another
process stopped writing, the retention run — is done by the leader
(:meth:`bot.store.database.Database.leadership`), tried at each re-arm: if the leading
process dies, another leads within :data:`REARM_EVERY` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.errors import DatabaseUnavailable
from bot.outreach.retention import Retention
from bot.outreach.schedule import Jobs
from bot.store.database import Leadership, SoleProcess

log = logging.getLogger(__name__)

REARM_EVERY = 10.0
"""Seconds between re-reading the jobs table."""
RETRY_FIRST = 1.0
RETRY_AT_MOST = 30.0
"""Seconds before scheduled work that failed is tried again: doubling, up to this."""

_OWN = ("rearm", "retention")
"""The timers that are not a job row's."""


class Scheduler:
    def __init__(
        self,
        jobs: Jobs,
        retention: Retention | None = None,
        leadership: Leadership | None = None,
    ) -> None:
        self.jobs = jobs
        self.retention = retention  # None: nothing is erased by age (tests of the jobs)
        self.leadership = leadership or SoleProcess()
        self._retry_in = RETRY_FIRST
        self._timers = AsyncIOScheduler(
            timezone=UTC,
            # A job late because Parley was down still runs (once): its row says if done.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._armed: set[str] = set()

    async def start(self) -> None:
        """Finish interrupted broadcasts (when leading), then arm every job not yet done."""
        if await self.leading():
            await self.jobs.resume()
        self._timers.start()
        self._timers.add_job(self.rearm, IntervalTrigger(seconds=REARM_EVERY), id="rearm")
        if self.retention is not None:
            self._timers.add_job(self.erase_old, self.retention.trigger, id="retention")
        await self.rearm()

    async def leading(self) -> bool:
        """Whether this process leads (taking the lead if no process holds it)."""
        return await asyncio.to_thread(self.leadership.try_lead)

    async def rearm(self) -> None:
        """Arm a timer for each job row not armed yet; the leader also finishes any
        broadcast a stopped process left half-written."""
        try:
            if self._timers.running and await self.leading():
                await self.jobs.resume()
            pending = await self.jobs.pending()
        except Exception as error:  # the next re-arm tries again
            log.warning("scheduled work: could not read the jobs (%s); trying again", error)
            return
        for job in pending:
            timer = f"job-{job.id}-{job.due_at.isoformat()}"
            if timer in self._armed:
                continue
            self._armed.add(timer)
            self._timers.add_job(self.run_due, DateTrigger(run_date=job.due_at), id=timer)

    @property
    def armed(self) -> list[str]:
        """The timers waiting to fire, by job (for tests and ``parley`` diagnostics)."""
        return sorted(job.id for job in self._timers.get_jobs() if job.id not in _OWN)

    @property
    def retention_at(self) -> datetime | None:
        """When the retention job runs next; None when it is not armed."""
        timer = self._timers.get_job("retention")
        return None if timer is None else timer.next_run_time

    async def run_due(self) -> None:
        try:
            await self.jobs.run_due()
        except DatabaseUnavailable as error:
            self._try_again(str(error))
            return
        except Exception:
            log.exception("scheduled work failed")
            self._try_again("it failed")
            return
        self._retry_in = RETRY_FIRST
        await self.rearm()  # sending may have scheduled reminders and closings

    def _try_again(self, why: str) -> None:
        """Run what is due again after a pause that doubles while it keeps failing."""
        delay, self._retry_in = self._retry_in, min(self._retry_in * 2, RETRY_AT_MOST)
        log.warning("scheduled work: %s; trying again in %.0f s", why, delay)
        if self._timers.running:
            at = datetime.now(UTC) + timedelta(seconds=delay)
            self._timers.add_job(self.run_due, DateTrigger(run_date=at))

    async def erase_old(self) -> None:
        """The daily retention run; a failure is logged, and tomorrow's run goes on."""
        assert self.retention is not None
        try:
            if not await self.leading():
                return  # another process leads, and erases
            await self.retention.run()
        except Exception:
            log.exception("retention failed; what it had not erased yet waits for the next run")

    def poke(self) -> None:
        """Something may be due now (a staff member confirmed a send)."""
        if self._timers.running:
            self._timers.add_job(self.run_due)

    def stop(self) -> None:
        if self._timers.running:
            self._timers.shutdown(wait=False)
        self.leadership.release()
