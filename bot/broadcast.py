"""Broadcasts: one message, in each resident's language, to an audience.

A broadcast is previewed before anything is written (who gets it on which channel and
in which language, what the SMS cost, which languages fall back to the source text, how
long sending takes at the configured rates), then written to the outbox in batches, so a
send to 100,000 residents streams rather than building one huge transaction. The
dispatcher then sends it at each provider's pace; broadcast SMS wait out quiet hours.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from bot.audience import Audience, Recipient, select
from bot.channels.segments import gsm7_friendly, segments
from bot.settings import Settings
from bot.store import Database, messages

BATCH = 2_000
"""Outbox rows written per transaction while fanning out."""

SMS_CHANNELS = ("sms",)  # billed per segment


@dataclass(frozen=True)
class Preview:
    recipients: int
    by_channel_language: dict[tuple[str, str], int]  # (channel, language) -> residents
    segments_per_sms: dict[str, int]  # language -> segments one SMS takes
    total_segments: int
    cost: float
    currency: str
    fallback_languages: tuple[str, ...]  # residents' languages with no translation given
    seconds: float  # to send everything at the configured rates

    def lines(self) -> list[str]:
        """The preview as a community worker reads it."""
        out = [f"{self.recipients} residents"]
        for (channel, language), count in sorted(self.by_channel_language.items()):
            out.append(f"  {channel:<9} {language:<4} {count}")
        if self.total_segments:
            per = ", ".join(f"{lang} {n}" for lang, n in sorted(self.segments_per_sms.items()))
            out.append(
                f"SMS: {self.total_segments} segments ({per} per message),"
                f" about {self.cost:.2f} {self.currency}"
            )
        if self.fallback_languages:
            out.append(
                "No translation for: "
                + ", ".join(self.fallback_languages)
                + " (they get the source text)"
            )
        minutes, seconds = divmod(round(self.seconds), 60)
        out.append(f"Sending takes about {minutes} min {seconds} s at the configured rates")
        return out


def text_for(texts: Mapping[str, str], language: str | None, source: str) -> str:
    """The broadcast in ``language``, or in the source language when not translated."""
    return texts.get(language or source) or texts[source]


def outgoing(texts: Mapping[str, str], language: str | None, source: str, channel: str) -> str:
    """Exactly what is sent: on SMS, typographic punctuation made plain if that saves."""
    text = text_for(texts, language, source)
    return gsm7_friendly(text) if channel in SMS_CHANNELS else text


def preview(
    recipients: Sequence[Recipient], texts: Mapping[str, str], settings: Settings
) -> Preview:
    source = settings.default_language
    by_channel_language: Counter[tuple[str, str]] = Counter(
        (r.channel, r.language or source) for r in recipients
    )
    per_sms: dict[str, int] = {}
    total = 0
    messages_per_lane: Counter[str] = Counter()
    for (channel, language), count in by_channel_language.items():
        if channel in SMS_CHANNELS:
            if language not in per_sms:
                per_sms[language] = segments(outgoing(texts, language, source, channel)).count
            total += per_sms[language] * count
        else:
            messages_per_lane[channel] += count
    pace = settings.dispatch
    lane_seconds = [total / pace.twilio_rate if total else 0.0]
    lane_seconds.append(messages_per_lane["telegram"] / pace.telegram_rate)
    lane_seconds.append(messages_per_lane["whatsapp"] / pace.twilio_rate)
    fallback = sorted({lang for _, lang in by_channel_language if lang not in texts})
    return Preview(
        recipients=len(recipients),
        by_channel_language=dict(by_channel_language),
        segments_per_sms=per_sms,
        total_segments=total,
        cost=total * settings.sms_price,
        currency=settings.currency,
        fallback_languages=tuple(fallback),
        seconds=max(lane_seconds),
    )


async def choose(
    database: Database, audience: Audience, texts: Mapping[str, str], settings: Settings
) -> tuple[list[Recipient], Preview]:
    """The audience's residents now, and the preview of sending them ``texts``."""
    if settings.default_language not in texts:
        raise ValueError(f"the message needs a text in {settings.default_language}")
    recipients = await database.run(lambda tx: select(tx, audience))
    return recipients, preview(recipients, texts, settings)


async def send(
    database: Database,
    recipients: Sequence[Recipient],
    texts: Mapping[str, str],
    audience: Audience,
    settings: Settings,
    now: datetime,
    progress: Callable[[int], None] = lambda done: None,
    batch: int = BATCH,
) -> int:
    """Write the broadcast to the outbox in batches; returns the broadcast's id.

    Each batch is one transaction; ``progress`` hears how many were written."""
    source = settings.default_language
    broadcast_id = await database.run(lambda tx: _create(tx, texts, audience, len(recipients), now))
    for start in range(0, len(recipients), batch):
        part = recipients[start : start + batch]
        await database.run(
            partial(
                _write,
                broadcast_id=broadcast_id,
                recipients=part,
                texts=texts,
                source=source,
                now=now,
            )
        )
        progress(len(part))
    await database.run(
        lambda tx: tx.execute(
            "UPDATE broadcasts SET status = 'queued', queued_at = ? WHERE id = ?",
            (now.isoformat(), broadcast_id),
        )
    )
    return broadcast_id


def _create(
    tx: sqlite3.Connection,
    texts: Mapping[str, str],
    audience: Audience,
    count: int,
    now: datetime,
) -> int:
    row = tx.execute(
        "INSERT INTO broadcasts (texts, audience, status, recipients, created_at)"
        " VALUES (?, ?, 'sending', ?, ?) RETURNING id",
        (json.dumps(dict(texts), ensure_ascii=False), audience.to_json(), count, now.isoformat()),
    ).fetchone()
    return int(row[0])


def _write(
    tx: sqlite3.Connection,
    broadcast_id: int,
    recipients: Sequence[Recipient],
    texts: Mapping[str, str],
    source: str,
    now: datetime,
) -> None:
    prepared: dict[tuple[str, str], tuple[str, int | None]] = {}
    for recipient in recipients:
        language = recipient.language or source
        key = (recipient.channel, language)
        if key not in prepared:
            text = outgoing(texts, language, source, recipient.channel)
            count = segments(text).count if recipient.channel in SMS_CHANNELS else None
            prepared[key] = (text, count)
        text, count = prepared[key]
        messages.add_outbound(
            tx,
            messages.NewOutbound(
                recipient.contact_id,
                recipient.channel,
                text,
                language,
                segments=count,
                broadcast_id=broadcast_id,
            ),
            now,
        )
