"""Erasing what residents wrote: one resident whole (they asked to be forgotten, or have
not been heard from for longer than the deployment keeps contacts), or text older than
the retention settings.

Erasing keeps rows and blanks their contents, so what was counted still adds up: a vote
stays counted and its voter becomes anonymous; a broadcast's sent and delivered figures
stay; an answer to a choice question keeps its option, while the resident's own words
(the reply as typed, a free-text answer, an idea) become empty. A forgotten contact's
address becomes ``forgotten:<id>``, so the same number texting later is a new contact,
and the row stays opted out and unreachable: nothing is ever sent to it again.

The database is opened with ``secure_delete`` on, so erased bytes are overwritten rather
than left in free space; a checkpoint (:meth:`bot.store.Database.checkpoint`) then takes
them out of the write-ahead log.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.engine import Flow
from bot.engine.flow import TextQuestion
from bot.store import sessions
from bot.store.sql import Tx

FORGOTTEN = "forgotten:"
"""An erased contact's address: this and the contact's id (unique, never a number)."""

FreeText = Mapping[str, Collection[str]]
"""For each flow id, the steps whose answers are a resident's own words."""


def free_text(flows: Mapping[str, Flow]) -> dict[str, frozenset[str]]:
    """The text questions of ``flows``: their answers are what residents wrote."""
    found = {
        flow_id: frozenset(step.id for step in flow.steps if isinstance(step, TextQuestion))
        for flow_id, flow in flows.items()
    }
    return {flow_id: steps for flow_id, steps in found.items() if steps}


@dataclass(frozen=True)
class Erased:
    """How many rows had something erased."""

    inbound: int = 0  # messages from residents
    outbound: int = 0  # messages to them
    answers: int = 0
    ideas: int = 0
    sessions: int = 0
    contacts: int = 0

    def __add__(self, other: Erased) -> Erased:
        return Erased(
            *(getattr(self, name) + getattr(other, name) for name in self.__dataclass_fields__)
        )

    @property
    def total(self) -> int:
        return sum(getattr(self, name) for name in self.__dataclass_fields__)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


_BLANK_INBOUND = "UPDATE inbound SET text = '', pressed = NULL"
_BLANK_OUTBOUND = (
    "UPDATE outbox SET text = '', buttons = NULL, error = NULL, delivery_error = NULL,"
    " provider_id = NULL, replaces = NULL"  # a Telegram message id holds the chat id
)
_BLANK_IDEAS = "UPDATE ideas SET text = '', shown_text = '', pii = NULL"
_BLANK_SESSIONS = "UPDATE sessions SET state = json_set(state, '$.answers', json('{}'))"


def _blank_free_answers(
    tx: Tx, where: str, params: tuple[object, ...], text_steps: FreeText
) -> None:
    """Blank the free-text answers among the answers ``where`` selects."""
    for flow_id, steps in sorted(text_steps.items()):
        marks = ", ".join("?" * len(steps))
        tx.execute(
            f"UPDATE answers SET value = '\"\"' WHERE {where} AND flow_id = ?"
            f" AND step_id IN ({marks}) AND value != '\"\"'",
            (*params, flow_id, *sorted(steps)),
        )


def forget(
    tx: Tx,
    contact_id: int,
    now: datetime,
    text_steps: FreeText,
    *,
    goodbye: bool = False,
) -> Erased:
    """Erase one resident: their address, language and fields; the text of every
    message to and from them; their words in answers and ideas. Their votes, ballots and
    choices stay counted, anonymous. Queued messages to them are cancelled.

    With ``goodbye``, the address is kept until one last message (saying it is done) has
    gone: :func:`after_goodbye` erases it then."""
    me = (contact_id,)
    inbound = tx.execute(f"{_BLANK_INBOUND} WHERE contact_id = ? AND text != ''", me).rowcount
    tx.execute("UPDATE inbound SET pressed = NULL WHERE contact_id = ?", me)
    # Counted before: every row is blanked (and a queued one cancelled), but one whose
    # text retention erased already is not erased a second time.
    outbound = int(
        tx.execute(
            "SELECT count(*) FROM outbox WHERE contact_id = ? AND text != ''", me
        ).fetchone()[0]
    )
    tx.execute(
        f"{_BLANK_OUTBOUND}, status = CASE status WHEN 'queued' THEN 'cancelled' ELSE status END"
        " WHERE contact_id = ?",
        me,
    )
    answers = tx.execute(
        "UPDATE answers SET raw = '' WHERE contact_id = ? AND raw != ''", me
    ).rowcount
    _blank_free_answers(tx, "contact_id = ?", me, text_steps)
    ideas = tx.execute(f"{_BLANK_IDEAS} WHERE contact_id = ? AND text != ''", me).rowcount
    sessions.stop_all(tx, contact_id, now)
    stopped = tx.execute(
        f"{_BLANK_SESSIONS} WHERE contact_id = ? AND state NOT LIKE '%\"answers\":{{}}%'", me
    ).rowcount
    stamp = now.isoformat()
    tx.execute(
        "UPDATE contacts SET language = NULL, fields = '{}', previous_seen_at = NULL,"
        " opted_out_at = coalesce(opted_out_at, ?), forgotten_at = ?, forget_asked_at = NULL"
        " WHERE id = ?",
        (stamp, stamp, contact_id),
    )
    if not goodbye:
        _erase_address(tx, contact_id, now)
    return Erased(inbound, outbound, answers, ideas, stopped, 1)


def _erase_address(tx: Tx, contact_id: int, now: datetime) -> None:
    tx.execute(
        "UPDATE contacts SET address = ? || id, unreachable_at = ? WHERE id = ?",
        (FORGOTTEN, now.isoformat(), contact_id),
    )


def after_goodbye(tx: Tx, contact_id: int, now: datetime) -> None:
    """A message to ``contact_id`` has been sent or given up: if they are forgotten and
    it was the last one (the goodbye), erase it and their address."""
    row = tx.execute(
        "SELECT forgotten_at IS NOT NULL AND address NOT LIKE 'forgotten:%' FROM contacts"
        " WHERE id = ?",
        (contact_id,),
    ).fetchone()
    if row is None or not row[0]:
        return
    queued = tx.execute(
        "SELECT 1 FROM outbox WHERE contact_id = ? AND status = 'queued'", (contact_id,)
    ).fetchone()
    if queued is not None:
        return
    tx.execute(f"{_BLANK_OUTBOUND} WHERE contact_id = ?", (contact_id,))
    _erase_address(tx, contact_id, now)


def detach(tx: Tx, channel: str, address: str, now: datetime) -> None:
    """A forgotten contact still waiting for their goodbye texts again: the message is a
    new contact's, so the old row lets go of the address now."""
    row = tx.execute(
        "SELECT id FROM contacts WHERE channel = ? AND address = ? AND forgotten_at IS NOT NULL",
        (channel, address),
    ).fetchone()
    if row is not None:
        tx.execute(f"{_BLANK_OUTBOUND} WHERE contact_id = ?", (row[0],))
        tx.execute(
            "UPDATE outbox SET status = 'cancelled' WHERE contact_id = ? AND status = 'queued'",
            (row[0],),
        )
        _erase_address(tx, int(row[0]), now)


# -- retention: what is older than the deployment keeps, a batch at a time ----------------


# What retention erases, for each table: what still has text in it, older than the cut-off
# (the one parameter), and nothing waiting to be handled or sent. The erasing and the
# count ``parley retention`` shows both read them, so the count is what goes.
_EXPIRED = {
    "inbound": "text != '' AND received_at < ? AND handled_at IS NOT NULL",
    "outbox": "text != '' AND created_at < ? AND status != 'queued'",
    "answers": "raw != '' AND answered_at < ?",
    "ideas": "text != '' AND created_at < ?",
    "sessions": "ended_at IS NOT NULL AND state NOT LIKE '%\"answers\":{}%' AND ended_at < ?",
    "contacts": "forgotten_at IS NULL AND last_seen_at < ?",
}
_AGE = {
    "inbound": "received_at",
    "outbox": "created_at",
    "answers": "answered_at",
    "ideas": "created_at",
    "sessions": "ended_at",
    "contacts": "last_seen_at",
}


def _oldest(table: str) -> str:
    """The ids of the oldest rows of ``table`` retention erases (parameters: the
    cut-off, how many)."""
    return f"SELECT id FROM {table} WHERE {_EXPIRED[table]} ORDER BY {_AGE[table]} LIMIT ?"


def erase_messages(tx: Tx, before: datetime, limit: int) -> Erased:
    """Blank the text of up to ``limit`` messages in and ``limit`` out older than
    ``before``; never one still waiting to be handled or sent."""
    cutoff = before.isoformat()
    inbound = tx.execute(
        f"{_BLANK_INBOUND} WHERE id IN ({_oldest('inbound')})", (cutoff, limit)
    ).rowcount
    outbound = tx.execute(
        f"{_BLANK_OUTBOUND} WHERE id IN ({_oldest('outbox')})", (cutoff, limit)
    ).rowcount
    return Erased(inbound=inbound, outbound=outbound)


def erase_answers(tx: Tx, before: datetime, limit: int, text_steps: FreeText) -> Erased:
    """Blank residents' words older than ``before``, up to ``limit`` rows of each kind:
    replies as typed and free-text answers, ideas, ended conversations' copies of their
    answers. Choices stay, so totals are unchanged."""
    cutoff = before.isoformat()
    ids = [int(row[0]) for row in tx.execute(_oldest("answers"), (cutoff, limit))]
    if ids:
        chosen = f"id IN ({', '.join('?' * len(ids))})"
        tx.execute(f"UPDATE answers SET raw = '' WHERE {chosen}", ids)
        _blank_free_answers(tx, chosen, tuple(ids), text_steps)
    ideas = tx.execute(f"{_BLANK_IDEAS} WHERE id IN ({_oldest('ideas')})", (cutoff, limit)).rowcount
    ended = tx.execute(
        f"{_BLANK_SESSIONS} WHERE id IN ({_oldest('sessions')})", (cutoff, limit)
    ).rowcount
    return Erased(answers=len(ids), ideas=ideas, sessions=ended)


def unheard(tx: Tx, before: datetime, limit: int) -> list[int]:
    """Up to ``limit`` contacts not heard from since before ``before``, not yet forgotten."""
    return [int(row[0]) for row in tx.execute(_oldest("contacts"), (before.isoformat(), limit))]


def due(tx: Tx, table: str, before: datetime) -> int:
    """How many rows of ``table`` retention would erase now (for ``parley retention``):
    ``inbound``, ``outbox``, ``answers``, ``ideas``, ``sessions`` or ``contacts``."""
    sql = f"SELECT count(*) FROM {table} WHERE {_EXPIRED[table]}"
    return int(tx.execute(sql, (before.isoformat(),)).fetchone()[0])
