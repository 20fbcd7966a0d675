"""Who a broadcast goes to: an audience is a set of rules over contacts, turned into one
query. Opted-out and unreachable residents, and those who declined when the welcome
asked whether Parley may send them questions, are never in any audience."""

from __future__ import annotations

import json
import random
import sqlite3
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bot.store import ideas
from bot.store.sql import Tx


@dataclass(frozen=True)
class Audience:
    languages: tuple[str, ...] = ()  # empty: any language
    channels: tuple[str, ...] = ()  # empty: any channel
    fields: dict[str, str] = field(default_factory=dict)  # contact field = value, all must hold
    took_part_in: str | None = None  # a flow id: only residents with an answer in it
    not_took_part_in: str | None = None  # a flow id: only residents without one
    sample: int | None = None  # a random sample of this many
    seed: int = 0  # the sample's seed: the same seed, the same residents
    strata: str | None = None  # a contact field the sample is spread over in proportion
    # Who took part in any of these: "poll:3" (voted), "flow:priorities" (answered),
    # "idea:12" (sent it, or an idea merged into it), "pb:2" (cast a ballot in round 2).
    # Set by decisions and idea news.
    participants: tuple[str, ...] = ()
    received: int | None = None  # only residents given this broadcast (the same people)
    panel: int | None = None  # only members of this panel ...
    panel_status: tuple[str, ...] = ()  # ... in these states (empty: any)
    contacts: tuple[int, ...] = ()  # only these contacts (one resident told one thing)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Audience:
        data = json.loads(text)
        for name in ("languages", "channels", "participants", "panel_status", "contacts"):
            data[name] = tuple(data.get(name, ()))
        return cls(**data)

    def describe(self) -> str:
        """The audience in a few words, for previews."""
        parts = []
        if self.languages:
            parts.append("language " + "/".join(self.languages))
        if self.channels:
            parts.append("on " + "/".join(self.channels))
        parts += [f"{name} = {value}" for name, value in sorted(self.fields.items())]
        if self.took_part_in:
            parts.append(f"took part in {self.took_part_in}")
        if self.not_took_part_in:
            parts.append(f"not in {self.not_took_part_in}")
        if self.participants:
            parts.append("took part in " + ", ".join(map(named, self.participants)))
        if self.received is not None:
            parts.append(f"given broadcast {self.received}")
        if self.panel is not None:
            states = "/".join(self.panel_status) or "all"
            parts.append(f"panel {self.panel} ({states})")
        if self.contacts:
            parts.append(f"{len(self.contacts)} chosen residents")
        if self.sample is not None:
            spread = f", spread by {self.strata}" if self.strata else ""
            parts.append(f"a random {self.sample} (seed {self.seed}{spread})")
        return "everyone opted in" + (": " + ", ".join(parts) if parts else "")

    @property
    def everyone(self) -> bool:
        """No rule narrows it: every resident opted in, those who join later included.
        A random sample narrows it (only those drawn were asked), whatever its seed."""
        return replace(self, seed=0, strata=None) == Audience()

    @property
    def asked_for(self) -> bool:
        """Residents who took part in something, hearing back about it: the welcome's
        "may we send you questions?" does not hold this back."""
        return (
            bool(self.participants or self.contacts)
            or self.received is not None
            or self.panel is not None
        )


def named(item: str) -> str:
    """``poll:3`` as staff name it: poll 3, survey 'priorities', idea ID-4821."""
    kind, _, name = item.partition(":")
    if kind == "idea" and name.isdigit():
        return f"idea {ideas.reference(int(name))}"
    if kind == "pb":
        return f"budgeting round {name}"
    return f"survey '{name}'" if kind == "flow" else f"{kind} {name}"


@dataclass(frozen=True)
class Recipient:
    contact_id: int
    channel: str
    language: str | None


def _where(audience: Audience) -> tuple[list[str], list[Any]]:
    """The audience as SQL conditions over ``contacts c``, and their parameters."""
    # Only contacts with consent on record (they texted in, or were imported with it).
    where = ["c.opted_out_at IS NULL", "c.unreachable_at IS NULL", "c.consent_at IS NOT NULL"]
    if not audience.asked_for:
        # A resident who said no when the welcome asked may we send questions.
        where.append("coalesce(json_extract(c.fields, '$.consent'), '') != 'no'")
    params: list[Any] = []
    if audience.languages:
        where.append(f"c.language IN ({', '.join('?' * len(audience.languages))})")
        params += audience.languages
    if audience.channels:
        where.append(f"c.channel IN ({', '.join('?' * len(audience.channels))})")
        params += audience.channels
    for name, value in sorted(audience.fields.items()):
        where.append("json_extract(c.fields, ?) = ?")
        params += [f'$."{name}"', value]
    if audience.took_part_in:
        where.append("EXISTS (SELECT 1 FROM answers a WHERE a.contact_id = c.id AND a.flow_id = ?)")
        params.append(audience.took_part_in)
    if audience.not_took_part_in:
        where.append(
            "NOT EXISTS (SELECT 1 FROM answers a WHERE a.contact_id = c.id AND a.flow_id = ?)"
        )
        params.append(audience.not_took_part_in)
    if audience.participants:
        took_part = [_took_part(item) for item in audience.participants]
        where.append("(" + " OR ".join(clause for clause, _ in took_part) + ")")
        params += [value for _, value in took_part]
    if audience.received is not None:
        where.append(
            "EXISTS (SELECT 1 FROM outbox o WHERE o.broadcast_id = ? AND o.contact_id = c.id)"
        )
        params.append(audience.received)
    if audience.contacts:
        where.append(f"c.id IN ({', '.join('?' * len(audience.contacts))})")
        params += audience.contacts
    if audience.panel is not None:
        states = audience.panel_status
        where.append(
            "EXISTS (SELECT 1 FROM panel_members m WHERE m.panel_id = ? AND m.contact_id = c.id"
            + (f" AND m.status IN ({', '.join('?' * len(states))})" if states else "")
            + ")"
        )
        params += [audience.panel, *states]
    return where, params


def select(
    tx: Tx,
    audience: Audience,
    staff: Collection[tuple[str, str]] = (),
) -> list[Recipient]:
    """The residents ``audience`` describes, in contact order (sampled if asked).

    Staff (their channel and address) are not residents: they are left out, in SQL. Only
    what a recipient is made of is read (a contact's fields only to spread a sample
    over), as plain tuples on SQLite: 100,000 residents are read for a broadcast."""
    where, params = _where(audience)
    _leave_out(staff, where, params)
    spread = audience.sample is not None and audience.strata is not None
    cursor = tx.execute(
        f"SELECT c.id, c.channel, c.language{', c.fields' if spread else ''} FROM contacts c"
        f" WHERE {' AND '.join(where)} ORDER BY c.id",
        params,
    )
    if isinstance(cursor, sqlite3.Cursor):  # plain tuples: rows by name cost a third more
        cursor.row_factory = None  # read at each fetch: none is fetched yet
    rows = cursor.fetchall()
    if audience.sample is not None and audience.sample < len(rows):
        if audience.strata:
            strata = [json.loads(row[3]).get(audience.strata) or "" for row in rows]
            chosen = stratified_sample(strata, audience.sample, audience.seed)
        else:
            chosen = random.Random(audience.seed).sample(range(len(rows)), audience.sample)
        rows = [rows[i] for i in sorted(chosen)]
    return [Recipient(row[0], row[1], row[2]) for row in rows]


def count(
    tx: Tx,
    audience: Audience,
    staff: Collection[tuple[str, str]] = (),
) -> Counter[tuple[str, str | None]]:
    """How many residents :func:`select` would give, by channel and language: counted in
    SQL (no resident is read into Python) unless the audience is a sample."""
    if audience.sample is not None:
        return Counter((r.channel, r.language) for r in select(tx, audience, staff))
    where, params = _where(audience)
    _leave_out(staff, where, params)
    rows = tx.execute(
        "SELECT c.channel, c.language, count(*) FROM contacts c"
        f" WHERE {' AND '.join(where)} GROUP BY c.channel, c.language",
        params,
    ).fetchall()
    return Counter({(row[0], row[1]): int(row[2]) for row in rows})


def _leave_out(staff: Collection[tuple[str, str]], where: list[str], params: list[Any]) -> None:
    """Add to ``where`` the condition that leaves out staff (their channel and address)."""
    if staff:
        pairs = ", ".join("(?, ?)" for _ in staff)
        where.append(f"(c.channel, c.address) NOT IN (VALUES {pairs})")
        params += [part for pair in staff for part in pair]


def _took_part(item: str) -> tuple[str, Any]:
    """The condition for having taken part in ``item`` ("poll:3", "flow:x", "idea:12")."""
    kind, _, name = item.partition(":")
    if kind == "poll":
        return "EXISTS (SELECT 1 FROM votes v WHERE v.poll_id = ? AND v.contact_id = c.id)", int(
            name
        )
    if kind == "flow":
        return "EXISTS (SELECT 1 FROM answers a WHERE a.flow_id = ? AND a.contact_id = c.id)", name
    if kind == "pb":
        return (
            "EXISTS (SELECT 1 FROM pb_ballots b WHERE b.round_id = ? AND b.contact_id = c.id)",
            int(name),
        )
    if kind == "idea":
        return (
            f"c.id IN ({ideas.FAMILY} SELECT i.contact_id FROM ideas i"
            " JOIN family f ON f.id = i.id)",
            int(name),
        )
    raise ValueError(f"'{item}' is not poll:N, flow:ID or idea:N")


def stratified_sample(strata: Sequence[str], size: int, seed: int) -> list[int]:
    """Positions of a seeded random sample of ``size``, each stratum (an area, say)
    getting its share in proportion to its size, by largest remainder (ties to the
    larger stratum, then by name), then a seeded shuffle within each stratum."""
    members: dict[str, list[int]] = {}
    for position, stratum in enumerate(strata):
        members.setdefault(stratum, []).append(position)
    total = len(strata)
    exact = {name: size * len(group) / total for name, group in members.items()}
    shares = {name: int(value) for name, value in exact.items()}
    left = size - sum(shares.values())
    by_remainder = sorted(
        members, key=lambda name: (-(exact[name] - shares[name]), -len(members[name]), name)
    )
    for name in by_remainder[:left]:
        shares[name] += 1
    chooser = random.Random(seed)
    chosen: list[int] = []
    for name in sorted(members):
        chosen += chooser.sample(members[name], shares[name])
    return chosen
