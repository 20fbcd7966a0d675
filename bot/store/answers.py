"""Recorded answers: the raw reply and the parsed value, with language and channel."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot.engine import Value
from bot.store.sql import Tx, stored_json


@dataclass(frozen=True)
class NewAnswer:
    session_id: int
    contact_id: int
    inbound_id: int | None
    flow_id: str
    step_id: str
    value: Value
    raw: str
    language: str
    channel: str


def record(tx: Tx, answer: NewAnswer, now: datetime) -> None:
    tx.execute(
        "INSERT INTO answers (session_id, contact_id, inbound_id, flow_id, step_id, value,"
        " raw, language, channel, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            answer.session_id,
            answer.contact_id,
            answer.inbound_id,
            answer.flow_id,
            answer.step_id,
            stored_json(answer.value),
            answer.raw,
            answer.language,
            answer.channel,
            now.isoformat(),
        ),
    )


def for_session(tx: Tx, session_id: int) -> dict[str, Value]:
    """step id -> value for one session (the last answer wins)."""
    rows = tx.execute(
        "SELECT step_id, value FROM answers WHERE session_id = ? ORDER BY id", (session_id,)
    ).fetchall()
    return {row["step_id"]: json.loads(row["value"]) for row in rows}
