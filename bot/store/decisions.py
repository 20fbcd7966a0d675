"""Decision rows, each time one was sent, and how far each sending reached."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.store.sql import Tx

STATUSES = ("agreed", "rejected", "in_progress", "done")


@dataclass(frozen=True)
class Send:
    status: str
    texts: Mapping[str, str]  # language -> the decision's own text (before framing)
    broadcast_id: int
    created_at: datetime


@dataclass(frozen=True)
class Decision:
    id: int
    language: str
    answers: tuple[str, ...]  # "poll:3", "flow:priorities", "idea:12"
    sends: tuple[Send, ...]

    @property
    def status(self) -> str:
        return self.sends[-1].status

    @property
    def first(self) -> Send:
        return self.sends[0]


def create(tx: Tx, language: str, answers: Sequence[str], who: str, now: datetime) -> int:
    row = tx.execute(
        "INSERT INTO decisions (language, answers, created_by, created_at)"
        " VALUES (?, ?, ?, ?) RETURNING id",
        (language, json.dumps(list(answers)), who, now.isoformat()),
    ).fetchone()
    assert row is not None
    return int(row[0])


def add_send(
    tx: Tx,
    decision_id: int,
    status: str,
    texts: Mapping[str, str],
    broadcast_id: int,
    now: datetime,
) -> None:
    tx.execute(
        "INSERT INTO decision_sends (decision_id, status, texts, broadcast_id, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            decision_id,
            status,
            json.dumps(dict(texts), ensure_ascii=False),
            broadcast_id,
            now.isoformat(),
        ),
    )


def get(tx: Tx, decision_id: int) -> Decision | None:
    row = tx.execute("SELECT * FROM decisions WHERE id = ?", (decision_id,)).fetchone()
    if row is None:
        return None
    sends = tuple(
        Send(
            s["status"],
            json.loads(s["texts"]),
            s["broadcast_id"],
            datetime.fromisoformat(s["created_at"]),
        )
        for s in tx.execute(
            "SELECT * FROM decision_sends WHERE decision_id = ? ORDER BY id", (decision_id,)
        )
    )
    return Decision(row["id"], row["language"], tuple(json.loads(row["answers"])), sends)


@dataclass(frozen=True)
class Reach:
    """Where the messages of one sending are, from the outbox and the providers' reports."""

    recipients: int = 0
    waiting: int = 0  # in the outbox (quiet hours, pacing)
    sent: int = 0  # handed to the provider, no final report (Telegram gives none)
    delivered: int = 0  # the provider reported it delivered (or read)
    failed: int = 0  # Parley gave up, or the provider reported it undelivered
    withdrawn: int = 0  # not sent: opted out, unreachable or cancelled before its turn

    @property
    def reached(self) -> int:
        return self.sent + self.delivered


_SENT = ("sent", "delivered")  # outbox statuses of a message handed to the provider
_REACHED = ("delivered", "read")  # the provider's reports that it arrived
_UNDELIVERED = ("undelivered", "failed")  # ... that it did not


def reach(tx: Tx, broadcast_id: int) -> Reach:
    """The broadcast's messages counted by (status, provider's report), the few pairs
    there are, then summed here rather than by five expressions worked out for every
    message. An index of the outbox by (broadcast_id, status, delivery) would let
    SQLite count them from the index alone, five times as fast."""
    recipients = waiting = sent = delivered = failed = withdrawn = 0
    for status, delivery, count in tx.execute(
        "SELECT status, delivery, count(*) FROM outbox WHERE broadcast_id = ? GROUP BY 1, 2",
        (broadcast_id,),
    ):
        recipients += count
        if status == "queued":
            waiting += count
        elif status == "cancelled":
            withdrawn += count
        elif status == "failed" or (status in _SENT and delivery in _UNDELIVERED):
            failed += count
        elif status in _SENT and delivery in _REACHED:
            delivered += count
        elif status in _SENT:
            sent += count
    return Reach(recipients, waiting, sent, delivered, failed, withdrawn)
