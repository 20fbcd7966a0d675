"""Retention: what residents wrote, and residents not heard from, erased once older than
the deployment keeps them (the ``retention_*`` settings), by a daily job at 03:00.

Three kinds, each with its own setting: the text of messages in and out
(``retention_messages``); residents' own words in answers, ideas and ended conversations,
choices staying counted (``retention_answers``); contacts not heard from, forgotten whole
(``retention_contacts``). What is still to be handled or sent is never erased.

The job erases a batch at a time (:mod:`bot.store.erasure`), each batch one short
transaction on the database thread: the units of work webhooks hand the database are run
between them, so a big first run never holds up a resident's reply for long. Then a
checkpoint takes the erased text out of the write-ahead log, and one audit entry and one
log line say what was erased: counts and cut-off dates, never who.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.outreach.schedule import Jobs
from bot.settings import Settings
from bot.store import Database, audit, erasure
from bot.store.erasure import Erased, FreeText
from bot.store.sql import Tx

log = logging.getLogger(__name__)

BATCH = 500
"""Rows of each kind erased in one transaction (contacts: a tenth, as each is many rows).
Measured on 20,000 contacts with 400,000 messages: a batch takes 1 to 9 ms."""

DAILY_AT = (3, 0)
"""When the job runs, local time (hour, minute): the quietest hour of most days."""

ACTION = "retention.erase"

KINDS = ("messages", "answers", "contacts")

_TABLES = {
    "messages": ("inbound", "outbox"),
    "answers": ("answers", "ideas", "sessions"),
    "contacts": ("contacts",),
}


def kept_for(settings: Settings) -> dict[str, timedelta | None]:
    """How long each kind is kept; None: for ever."""
    return {
        "messages": settings.retention_messages,
        "answers": settings.retention_answers,
        "contacts": settings.retention_contacts,
    }


def cutoffs(settings: Settings, now: datetime) -> dict[str, datetime | None]:
    """For each kind, the moment before which it is erased (in UTC, as rows are stamped:
    they are compared as text); None for a kind kept for ever."""
    now = now.astimezone(UTC)
    return {kind: None if kept is None else now - kept for kind, kept in kept_for(settings).items()}


def daily(settings: Settings) -> CronTrigger:
    """The job's timer: every day at 03:00 in the deployment's time zone."""
    hour, minute = DAILY_AT
    return CronTrigger(hour=hour, minute=minute, timezone=settings.timezone)


def next_run(settings: Settings, now: datetime) -> datetime:
    """When the daily job next runs after ``now``."""
    moment = daily(settings).get_next_fire_time(None, now)
    assert isinstance(moment, datetime)  # a daily timer always fires again
    return moment


@dataclass(frozen=True)
class Due:
    """What a run at a given moment would erase of one kind."""

    kind: str  # messages, answers or contacts
    kept_for: timedelta | None  # None: kept for ever, and nothing is due
    before: datetime | None  # the cut-off: what is older is erased
    rows: Mapping[str, int]  # for each table, how many rows

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def preview(tx: Tx, settings: Settings, now: datetime) -> list[Due]:
    """For each kind, its cut-off and how many rows a run at ``now`` would erase."""
    kept = kept_for(settings)
    return [
        Due(
            kind,
            kept[kind],
            before,
            {}
            if before is None
            else {table: erasure.due(tx, table, before) for table in _TABLES[kind]},
        )
        for kind, before in cutoffs(settings, now).items()
    ]


async def erase_old(
    database: Database,
    settings: Settings,
    text_steps: FreeText,
    now: datetime,
    *,
    batch: int = BATCH,
    actor: str = "retention",
    role: str = "system",
    front: str = "system",
) -> Erased:
    """Erase everything older than the settings keep, as of ``now``, a batch at a time;
    record it in the audit log (as ``actor``, from ``front``: Parley itself, unless a
    staff member ran it) and the log. What was erased, by kind."""
    now = now.astimezone(UTC)
    before = cutoffs(settings, now)
    if all(cut is None for cut in before.values()):
        return Erased()
    erased = Erased()
    record = functools.partial(_record, before=before, now=now, by=(actor, role, front))
    try:
        for one in _batches(before, now, batch, text_steps):
            while (found := await database.run(one)).total:  # each batch a transaction
                erased += found
                await asyncio.sleep(0)  # what webhooks handed the database meanwhile goes next
    except Exception:
        if erased.total:  # what was erased before the failure is on record all the same
            with contextlib.suppress(Exception):
                await database.run(functools.partial(record, erased=erased, complete=False))
        log.warning("retention stopped by an error, after erasing %s", _said(erased))
        raise
    if erased.total:
        await database.checkpoint()
    await database.run(functools.partial(record, erased=erased, complete=True))
    log.info("retention erased %s", _said(erased))
    return erased


def _batches(
    before: Mapping[str, datetime | None], now: datetime, batch: int, text_steps: FreeText
) -> list[Callable[[Tx], Erased]]:
    """One batch of each kind not kept for ever, to run until it finds nothing left.
    Forgetting a contact blanks rows in every table: a tenth as many go in a batch."""
    found: list[Callable[[Tx], Erased]] = []
    if (cut := before["messages"]) is not None:
        found.append(functools.partial(erasure.erase_messages, before=cut, limit=batch))
    if (cut := before["answers"]) is not None:
        found.append(
            functools.partial(erasure.erase_answers, before=cut, limit=batch, text_steps=text_steps)
        )
    if (cut := before["contacts"]) is not None:
        found.append(
            functools.partial(
                _forget_unheard,
                before=cut,
                now=now,
                limit=max(1, batch // 10),
                text_steps=text_steps,
            )
        )
    return found


def _forget_unheard(
    tx: Tx, before: datetime, now: datetime, limit: int, text_steps: FreeText
) -> Erased:
    erased = Erased()
    for contact_id in erasure.unheard(tx, before, limit):
        erased += erasure.forget(tx, contact_id, now, text_steps)
    return erased


def _record(
    tx: Tx,
    before: Mapping[str, datetime | None],
    now: datetime,
    by: tuple[str, str, str],
    erased: Erased,
    complete: bool,
) -> None:
    detail: dict[str, object] = dict(erased.as_dict())
    for kind, cut in before.items():
        detail[f"{kind}_before"] = cut.isoformat() if cut is not None else "never"
    if not complete:
        detail["complete"] = False  # stopped by an error; the next run erases the rest
    actor, role, front = by
    entry = audit.Entry(now, actor, role, front, ACTION, "", json.dumps(detail))
    audit.add(tx, entry)


def _said(erased: Erased) -> str:
    return (
        f"the text of {erased.inbound} messages from residents and {erased.outbound} to them,"
        f" {erased.answers} answers, {erased.ideas} ideas, {erased.sessions} conversations;"
        f" forgot {erased.contacts} contacts"
    )


class Retention:
    """The daily job as the scheduler runs it: erase what is older than the settings."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        text_steps: FreeText,
        clock: Callable[[], datetime],
        batch: int = BATCH,
    ) -> None:
        self.database = database
        self.settings = settings
        self.text_steps = text_steps
        self.clock = clock
        self.batch = batch

    @classmethod
    def of(cls, jobs: Jobs) -> Retention:
        """The job for what ``jobs`` runs on: its database, settings, flows and clock."""
        return cls(jobs.database, jobs.settings, erasure.free_text(jobs.flows), jobs.clock)

    @property
    def trigger(self) -> CronTrigger:
        return daily(self.settings)

    async def run(self) -> Erased:
        return await erase_old(
            self.database, self.settings, self.text_steps, self.clock(), batch=self.batch
        )
