"""Who a broadcast goes to: an audience is a set of rules over contacts, turned into one
query. Opted-out and unreachable residents, and those who declined when the welcome
asked whether Parley may send them questions, are never in any audience."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Audience:
    languages: tuple[str, ...] = ()  # empty: any language
    channels: tuple[str, ...] = ()  # empty: any channel
    fields: dict[str, str] = field(default_factory=dict)  # contact field = value, all must hold
    took_part_in: str | None = None  # a flow id: only residents with an answer in it
    not_took_part_in: str | None = None  # a flow id: only residents without one
    sample: int | None = None  # a random sample of this many
    seed: int = 0  # the sample's seed: the same seed, the same residents

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Audience:
        data = json.loads(text)
        for name in ("languages", "channels"):
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
        if self.sample is not None:
            parts.append(f"a random {self.sample} (seed {self.seed})")
        return "everyone opted in" + (": " + ", ".join(parts) if parts else "")


@dataclass(frozen=True)
class Recipient:
    contact_id: int
    channel: str
    language: str | None


def select(
    tx: sqlite3.Connection,
    audience: Audience,
    staff: Collection[tuple[str, str]] = (),
) -> list[Recipient]:
    """The residents ``audience`` describes, in contact order (sampled if asked).

    Staff (their channel and address) are not residents: they are left out."""
    where = [
        "c.opted_out_at IS NULL",
        "c.unreachable_at IS NULL",
        # A resident who said no when the welcome asked may we send questions.
        "coalesce(json_extract(c.fields, '$.consent'), '') != 'no'",
    ]
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
    rows = tx.execute(
        "SELECT c.id, c.channel, c.language, c.address FROM contacts c"
        f" WHERE {' AND '.join(where)} ORDER BY c.id",
        params,
    ).fetchall()
    recipients = [
        Recipient(row[0], row[1], row[2]) for row in rows if (row[1], row[3]) not in staff
    ]
    if audience.sample is not None and audience.sample < len(recipients):
        chosen = random.Random(audience.seed).sample(range(len(recipients)), audience.sample)
        recipients = [recipients[i] for i in sorted(chosen)]
    return recipients
