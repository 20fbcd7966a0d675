"""Budgeting rounds, their bids and residents' ballots: one ballot per resident and
round, the last one cast counting."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.store.sql import Tx

PHASES = ("bids", "screening", "voting", "counted")
STYLES = ("approval", "k_approval", "ranking")
BID_STATUSES = ("proposed", "eligible", "ineligible")
_FLOW_ID = re.compile(r"^pb-([0-9]{1,12})$")


@dataclass(frozen=True)
class NewRound:
    name: str
    budget: int
    currency: str
    audience: str  # JSON Audience
    style: str  # approval (within the budget), k_approval, ranking
    k: int | None
    rule: str  # greedy or mes: what decides what is funded
    language: str
    panel_id: int | None = None
    screening_at: datetime | None = None
    voting_at: datetime | None = None
    counted_at: datetime | None = None
    created_by: str = "cli"

    def at(self, phase: str) -> datetime | None:
        """When ``phase`` is scheduled to begin (None: by hand)."""
        times = {"screening": self.screening_at, "voting": self.voting_at}
        return times.get(phase, self.counted_at if phase == "counted" else None)


@dataclass(frozen=True)
class Round(NewRound):
    id: int = 0
    phase: str = "bids"
    ballot_id: int | None = None
    count: Mapping[str, Any] | None = None
    decision_id: int | None = None
    created_at: datetime | None = None

    @property
    def flow_id(self) -> str:
        return flow_id(self.id)


@dataclass(frozen=True)
class NewBid:
    title: Mapping[str, str]  # language -> title; the round's language always present
    description: Mapping[str, str]
    cost: int
    proposer: str
    proposer_id: int | None = None
    ward: str | None = None
    idea_id: int | None = None


@dataclass(frozen=True)
class Bid(NewBid):
    id: int = 0
    round_id: int = 0
    number: int = 0
    status: str = "proposed"
    reason: str | None = None
    poll_id: int | None = None
    told_at: datetime | None = None


@dataclass(frozen=True)
class Ballot:
    contact_id: int
    choice: tuple[int, ...]  # bid numbers, in rank order for a ranking
    language: str
    channel: str
    cast_at: datetime
    changes: int = 0


@dataclass(frozen=True)
class Tallies:
    ballots: int
    votes: Mapping[int, int] = field(default_factory=dict)  # bid number -> ballots choosing it


def flow_id(round_id: int) -> str:
    """The id of the flow a round's ballot is cast through."""
    return f"pb-{round_id}"


def round_id_of(flow: str) -> int | None:
    match = _FLOW_ID.match(flow)
    return int(match.group(1)) if match else None


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# -- rounds ---------------------------------------------------------------------------


def create_round(tx: Tx, new: NewRound, now: datetime) -> int:
    row = tx.execute(
        "INSERT INTO pb_rounds (name, budget, currency, audience, style, k, rule, language,"
        " panel_id, screening_at, voting_at, counted_at, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            new.name,
            new.budget,
            new.currency,
            new.audience,
            new.style,
            new.k,
            new.rule,
            new.language,
            new.panel_id,
            _moment(new.screening_at),
            _moment(new.voting_at),
            _moment(new.counted_at),
            new.created_by,
            now.isoformat(),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


_ROUND = (
    "SELECT id, name, budget, currency, audience, style, k, rule, language, panel_id,"
    " screening_at, voting_at, counted_at, created_by, phase, ballot_id, count, decision_id,"
    " created_at FROM pb_rounds"
)


def _round(row: Sequence[Any]) -> Round:
    return Round(
        name=row[1],
        budget=row[2],
        currency=row[3],
        audience=row[4],
        style=row[5],
        k=row[6],
        rule=row[7],
        language=row[8],
        panel_id=row[9],
        screening_at=_datetime(row[10]),
        voting_at=_datetime(row[11]),
        counted_at=_datetime(row[12]),
        created_by=row[13],
        id=row[0],
        phase=row[14],
        ballot_id=row[15],
        count=json.loads(row[16]) if row[16] else None,
        decision_id=row[17],
        created_at=_datetime(row[18]),
    )


def get_round(tx: Tx, round_id: int) -> Round | None:
    row = tx.execute(_ROUND + " WHERE id = ?", (round_id,)).fetchone()
    return _round(row) if row else None


def rounds(tx: Tx, limit: int = 50) -> list[Round]:
    """Rounds, newest first."""
    return [_round(r) for r in tx.execute(_ROUND + " ORDER BY id DESC LIMIT ?", (limit,))]


def round_ids(tx: Tx) -> list[int]:
    return [int(r[0]) for r in tx.execute("SELECT id FROM pb_rounds ORDER BY id")]


def set_phase(tx: Tx, round_id: int, phase: str) -> None:
    tx.execute("UPDATE pb_rounds SET phase = ? WHERE id = ?", (phase, round_id))


def phase_of(tx: Tx, round_id: int) -> str | None:
    row = tx.execute("SELECT phase FROM pb_rounds WHERE id = ?", (round_id,)).fetchone()
    return str(row[0]) if row else None


def set_schedule(tx: Tx, round_id: int, phase: str, at: datetime | None) -> None:
    assert phase in ("screening", "voting", "counted")
    tx.execute(f"UPDATE pb_rounds SET {phase}_at = ? WHERE id = ?", (_moment(at), round_id))


def set_ballot_broadcast(tx: Tx, round_id: int, broadcast_id: int) -> None:
    tx.execute("UPDATE pb_rounds SET ballot_id = ? WHERE id = ?", (broadcast_id, round_id))


def set_count(tx: Tx, round_id: int, count: Mapping[str, Any]) -> None:
    tx.execute(
        "UPDATE pb_rounds SET count = ? WHERE id = ?",
        (json.dumps(count, ensure_ascii=False, sort_keys=True), round_id),
    )


def set_decision(tx: Tx, round_id: int, decision_id: int) -> None:
    tx.execute("UPDATE pb_rounds SET decision_id = ? WHERE id = ?", (decision_id, round_id))


# -- bids -----------------------------------------------------------------------------


def add_bid(tx: Tx, round_id: int, new: NewBid, now: datetime) -> Bid:
    """Store a bid with the round's next number."""
    row = tx.execute(
        "INSERT INTO pb_bids (round_id, number, title, description, cost, proposer,"
        " proposer_id, ward, idea_id, created_at)"
        " VALUES (?, (SELECT coalesce(max(number), 0) + 1 FROM pb_bids WHERE round_id = ?),"
        " ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            round_id,
            round_id,
            json.dumps(dict(new.title), ensure_ascii=False),
            json.dumps(dict(new.description), ensure_ascii=False),
            new.cost,
            new.proposer,
            new.proposer_id,
            new.ward,
            new.idea_id,
            now.isoformat(),
        ),
    ).fetchone()
    assert row is not None
    found = get_bid(tx, int(row[0]))
    assert found is not None
    return found


_BID = (
    "SELECT id, round_id, number, title, description, cost, proposer, proposer_id, ward,"
    " idea_id, status, reason, poll_id, told_at FROM pb_bids"
)


def _bid(row: Sequence[Any]) -> Bid:
    return Bid(
        title=json.loads(row[3]),
        description=json.loads(row[4]),
        cost=row[5],
        proposer=row[6],
        proposer_id=row[7],
        ward=row[8],
        idea_id=row[9],
        id=row[0],
        round_id=row[1],
        number=row[2],
        status=row[10],
        reason=row[11],
        poll_id=row[12],
        told_at=_datetime(row[13]),
    )


def get_bid(tx: Tx, bid_id: int) -> Bid | None:
    row = tx.execute(_BID + " WHERE id = ?", (bid_id,)).fetchone()
    return _bid(row) if row else None


def bid_by_number(tx: Tx, round_id: int, number: int) -> Bid | None:
    row = tx.execute(_BID + " WHERE round_id = ? AND number = ?", (round_id, number)).fetchone()
    return _bid(row) if row else None


def bids(tx: Tx, round_id: int, status: str | None = None) -> list[Bid]:
    """The round's bids by number (only those of ``status``, if given)."""
    if status is None:
        rows = tx.execute(_BID + " WHERE round_id = ? ORDER BY number", (round_id,))
    else:
        rows = tx.execute(
            _BID + " WHERE round_id = ? AND status = ? ORDER BY number", (round_id, status)
        )
    return [_bid(r) for r in rows]


def bid_of_poll(tx: Tx, poll_id: int) -> Bid | None:
    row = tx.execute(_BID + " WHERE poll_id = ?", (poll_id,)).fetchone()
    return _bid(row) if row else None


def update_bid(tx: Tx, bid_id: int, changes: Mapping[str, Any]) -> None:
    """Change a bid's texts, cost, proposer, ward, status, reason, poll or told time."""
    allowed = {
        "title",
        "description",
        "cost",
        "proposer",
        "proposer_id",
        "ward",
        "status",
        "reason",
        "poll_id",
        "told_at",
    }
    assert changes.keys() <= allowed, sorted(changes.keys() - allowed)
    values = [
        json.dumps(dict(v), ensure_ascii=False)
        if k in ("title", "description")
        else _moment(v)
        if k == "told_at"
        else v
        for k, v in changes.items()
    ]
    sets = ", ".join(f"{name} = ?" for name in changes)
    tx.execute(f"UPDATE pb_bids SET {sets} WHERE id = ?", (*values, bid_id))


# -- ballots --------------------------------------------------------------------------


def cast(
    tx: Tx,
    round_id: int,
    contact_id: int,
    choice: Sequence[int],
    language: str,
    channel: str,
    now: datetime,
) -> bool:
    """Store the resident's ballot, replacing any earlier one; True if it is their first."""
    row = tx.execute(
        "INSERT INTO pb_ballots (round_id, contact_id, choice, language, channel, cast_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (round_id, contact_id) DO UPDATE SET"
        " choice = excluded.choice, language = excluded.language, channel = excluded.channel,"
        " cast_at = excluded.cast_at, changes = pb_ballots.changes + 1 RETURNING changes",
        (round_id, contact_id, json.dumps(list(choice)), language, channel, now.isoformat()),
    ).fetchone()
    return row is not None and int(row[0]) == 0


def ballot_of(tx: Tx, round_id: int, contact_id: int) -> Ballot | None:
    row = tx.execute(
        "SELECT contact_id, choice, language, channel, cast_at, changes FROM pb_ballots"
        " WHERE round_id = ? AND contact_id = ?",
        (round_id, contact_id),
    ).fetchone()
    return _ballot(row) if row else None


def _ballot(row: Sequence[Any]) -> Ballot:
    return Ballot(
        row[0], tuple(json.loads(row[1])), row[2], row[3], datetime.fromisoformat(row[4]), row[5]
    )


def ballots(tx: Tx, round_id: int, batch: int = 5000) -> list[Ballot]:
    """Every ballot of the round, by contact (read in batches by key)."""
    found: list[Ballot] = []
    after = 0
    while True:
        rows = tx.execute(
            "SELECT contact_id, choice, language, channel, cast_at, changes FROM pb_ballots"
            " WHERE round_id = ? AND contact_id > ? ORDER BY contact_id LIMIT ?",
            (round_id, after, batch),
        ).fetchall()
        if not rows:
            return found
        found += [_ballot(r) for r in rows]
        after = rows[-1][0]


def ballots_with_addresses(tx: Tx, round_id: int) -> list[tuple[Ballot, str]]:
    """Every ballot with its voter's address, for pseudonymous ids (never shown)."""
    rows = tx.execute(
        "SELECT b.contact_id, b.choice, b.language, b.channel, b.cast_at, b.changes, c.address"
        " FROM pb_ballots b JOIN contacts c ON c.id = b.contact_id WHERE b.round_id = ?"
        " ORDER BY b.contact_id",
        (round_id,),
    ).fetchall()
    return [(_ballot(row[:6]), str(row[6])) for row in rows]


def tallies(tx: Tx, round_id: int) -> Tallies:
    """How many ballots were cast, and how many chose each bid (counted in SQL)."""
    total = tx.execute(
        "SELECT count(*) FROM pb_ballots WHERE round_id = ?", (round_id,)
    ).fetchone()[0]
    rows = tx.execute(
        "SELECT j.value, count(*) FROM pb_ballots b, json_each(b.choice) j"
        " WHERE b.round_id = ? GROUP BY j.value",
        (round_id,),
    ).fetchall()
    return Tallies(int(total), {int(r[0]): int(r[1]) for r in rows})


def latest_round_asked(tx: Tx, contact_id: int) -> int | None:
    """The round whose ballot the resident was last given (a session of its flow)."""
    row = tx.execute(
        "SELECT flow_id FROM sessions WHERE contact_id = ? AND flow_id LIKE 'pb-%'"
        " ORDER BY id DESC LIMIT 1",
        (contact_id,),
    ).fetchone()
    return round_id_of(row[0]) if row else None


def proposer_bids(tx: Tx, round_id: int) -> list[Bid]:
    """Bids whose proposer can be told about them."""
    return [b for b in bids(tx, round_id) if b.proposer_id is not None]


def mark_told(tx: Tx, bid_ids: Sequence[int], now: datetime) -> None:
    tx.executemany(
        "UPDATE pb_bids SET told_at = ? WHERE id = ?", [(now.isoformat(), i) for i in bid_ids]
    )
