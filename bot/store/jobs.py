"""Scheduled work: send a broadcast, remind its non-responders, close a poll.

A job runs once: :func:`claim` marks it done in the same transaction as its effect,
so a restart, or two timers firing together, can never run it twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.store.sql import Tx

SEND = "send"
REMIND = "remind"
CLOSE = "close"
# A budgeting round's phases (see bot.civic.budgeting.phases): 'pb_screening', 'pb_voting',
# 'pb_counted', each targeting the round.


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    target: int
    due_at: datetime


def add(tx: Tx, kind: str, target: int, due_at: datetime) -> None:
    """Schedule ``kind`` for ``target`` (re-scheduling it if not yet done)."""
    tx.execute(
        "INSERT INTO jobs (kind, target, due_at) VALUES (?, ?, ?) ON CONFLICT (kind, target)"
        " DO UPDATE SET due_at = excluded.due_at WHERE jobs.done_at IS NULL",
        (kind, target, due_at.isoformat()),
    )


def pending(tx: Tx, until: datetime | None = None) -> list[Job]:
    """Jobs not yet done (due by ``until``, if given), soonest first. Jobs of a paused
    or cancelled broadcast wait."""
    sql = (
        "SELECT j.id, j.kind, j.target, j.due_at FROM jobs j WHERE j.done_at IS NULL"
        " AND (j.kind NOT IN ('send', 'remind') OR NOT EXISTS (SELECT 1 FROM broadcasts b"
        "   WHERE b.id = j.target"
        "   AND (b.paused_at IS NOT NULL OR b.status = 'cancelled')))"
    )
    params: tuple[str, ...] = ()
    if until is not None:
        sql += " AND j.due_at <= ?"
        params = (until.isoformat(),)
    rows = tx.execute(sql + " ORDER BY j.due_at, j.id", params).fetchall()
    return [Job(r[0], r[1], r[2], datetime.fromisoformat(r[3])) for r in rows]


def claim(tx: Tx, job: Job, now: datetime) -> bool:
    """Mark ``job`` done; False if something else already did."""
    cursor = tx.execute(
        "UPDATE jobs SET done_at = ? WHERE id = ? AND done_at IS NULL", (now.isoformat(), job.id)
    )
    return cursor.rowcount == 1


def drop(tx: Tx, kind: str, target: int, now: datetime) -> None:
    """Never run ``kind`` for ``target`` (its broadcast was cancelled)."""
    tx.execute(
        "UPDATE jobs SET done_at = ? WHERE kind = ? AND target = ? AND done_at IS NULL",
        (now.isoformat(), kind, target),
    )
