"""APScheduler, armed from the database: one timer per job row, re-armed at start-up.

The jobs themselves live in the ``jobs`` table (:mod:`bot.store.jobs`) and are done by
:class:`bot.outreach.schedule.Jobs`, exactly once each; APScheduler is only the alarm clock. At
start-up every job not yet done is armed (one missed while Parley was down runs at
once), a broadcast cut short is finished, and the table is re-read every
:data:`REARM_EVERY` seconds so that jobs made by ``parley broadcast --at`` in another
process are armed too.

One timer is not a job row: the daily retention job
(:class:`bot.outreach.retention.Retention`), at 03:00 local time. A failure of either is
logged and the timers carry on.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.outreach.retention import Retention
from bot.outreach.schedule import Jobs

log = logging.getLogger(__name__)

REARM_EVERY = 30.0
"""Seconds between re-reading the jobs table."""

_OWN = ("rearm", "retention")
"""The timers that are not a job row's."""


class Scheduler:
    def __init__(self, jobs: Jobs, retention: Retention | None = None) -> None:
        self.jobs = jobs
        self.retention = retention  # None: nothing is erased by age (tests of the jobs)
        self._timers = AsyncIOScheduler(
            timezone=UTC,
            # A job late because Parley was down still runs (once): its row says if done.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._armed: set[str] = set()

    async def start(self) -> None:
        """Finish interrupted broadcasts, then arm every job not yet done."""
        await self.jobs.resume()
        self._timers.start()
        self._timers.add_job(self.rearm, IntervalTrigger(seconds=REARM_EVERY), id="rearm")
        if self.retention is not None:
            self._timers.add_job(self.erase_old, self.retention.trigger, id="retention")
        await self.rearm()

    async def rearm(self) -> None:
        """Arm a timer for each job row not armed yet."""
        for job in await self.jobs.pending():
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
            await self.rearm()  # sending may have scheduled reminders and closings
        except Exception:
            log.exception("scheduled work failed")

    async def erase_old(self) -> None:
        """The daily retention run; a failure is logged, and tomorrow's run goes on."""
        assert self.retention is not None
        try:
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
