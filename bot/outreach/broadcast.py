"""Broadcasts: a message, a survey flow or a poll, in each resident's language, to an
audience.

A broadcast is previewed before anything is written (who gets it on which channel and
in which language, what the SMS cost, which languages fall back to the source text, how
long sending takes at the configured rates), then written to the outbox in batches, so a
send to 100,000 residents streams rather than building one huge transaction. A survey or
poll opens a session for each recipient, so their reply is understood as its answer;
someone in the middle of another survey carries on with it afterwards. The dispatcher
then sends at each provider's pace; broadcast SMS wait out quiet hours.

Several processes on one database write a broadcast one at a time: the writer holds a
lease on it (:func:`bot.store.broadcasts.take_writing`), renewed in each batch's
transaction, and stops if another process took it over (see
:meth:`bot.outreach.schedule.Jobs.prepare`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from bot.channels.base import shown_text
from bot.channels.segments import SEGMENTED_CHANNELS, as_sent
from bot.engine import (
    Button,
    ContactChanged,
    Env,
    Flow,
    FlowEnded,
    MessageOut,
    Resume,
    Start,
    Turn,
    advance,
)
from bot.engine.flow import ChoiceQuestion, Localized, MessageStep, Question
from bot.outreach.audience import Recipient
from bot.settings import Settings
from bot.store import Database, contacts, messages, sessions
from bot.store.sessions import Status
from bot.store.sql import Tx

BATCH = 2_000
"""Outbox rows written per transaction while fanning out."""
PARALLEL_BATCHES = 2
"""Batches written at once on a database server (on SQLite, one after another)."""


@dataclass(frozen=True)
class Message:
    """A plain message: language -> text."""

    texts: Mapping[str, str]


@dataclass(frozen=True)
class Survey:
    """A flow each recipient starts (a poll is a one-question flow)."""

    flow: Flow


Content = Message | Survey


@dataclass(frozen=True)
class Outgoing:
    """What one recipient is sent, exactly."""

    text: str
    buttons: tuple[Button, ...]
    segments: int | None  # None unless billed per segment


class Rendering:
    """Turns content into what each (language, channel) is sent, computing each once."""

    def __init__(self, content: Content, env: Env, source: str, now: datetime) -> None:
        self.content = content
        self.env = env
        self.source = source
        self.now = now
        self.prefix: Mapping[str, str] = {}  # language -> a line sent before the content
        self._turns: dict[str, Turn] = {}
        self._sent: dict[tuple[str, str], Outgoing] = {}
        self._queued: dict[tuple[str, str], messages.QueuedAs] = {}
        self._does_more: dict[str, bool] = {}

    def start(self, language: str) -> Turn:
        """A survey's first turn in ``language`` (the same for everyone who speaks it)."""
        assert isinstance(self.content, Survey)
        turn = self._turns.get(language)
        if turn is None:
            turn = advance(self.content.flow, None, Start(language), self.now, self.env)
            self._turns[language] = turn
        return turn

    def outgoing(self, language: str, channel: str) -> Outgoing:
        key = (language, channel)
        sent = self._sent.get(key)
        if sent is None:
            if isinstance(self.content, Message):
                texts = self.content.texts
                sent = self._compose([texts.get(language) or texts[self.source]], (), channel)
            else:
                sent = self.of_turn(self.start(language), language, channel)
            self._sent[key] = sent
        return sent

    def queued_as(self, language: str, channel: str) -> messages.QueuedAs:
        """The outbox row of what :meth:`outgoing` sends, as stored, but for whom it
        goes to: made once, shared by every resident it is for."""
        key = (language, channel)
        queued = self._queued.get(key)
        if queued is None:
            queued = _queued_as(self.outgoing(language, channel), language, channel)
            self._queued[key] = queued
        return queued

    def starts_with_more(self, language: str) -> bool:
        """Whether a survey's first turn in ``language`` does more than ask (ends the
        survey, or sets a field): then each recipient's session is opened on its own."""
        does_more = self._does_more.get(language)
        if does_more is None:
            turn = self.start(language)
            does_more = any(not isinstance(event, MessageOut) for event in turn.events)
            self._does_more[language] = does_more
        return does_more

    def of_turn(self, turn: Turn, language: str, channel: str) -> Outgoing:
        said = turn.messages
        buttons = next((m.buttons for m in reversed(said) if m.buttons), ())
        texts = [shown_text(m, channel) for m in said]  # no list beside buttons
        return self._compose(texts, buttons, channel, language)

    def _compose(
        self,
        texts: list[str],
        buttons: tuple[Button, ...],
        channel: str,
        language: str | None = None,
    ) -> Outgoing:
        prefix = self.prefix.get(language or self.source)
        text, count = as_sent("\n\n".join([prefix, *texts] if prefix else texts), channel)
        return Outgoing(text, buttons, count)

    def translated(self, language: str) -> bool:
        """Whether residents speaking ``language`` get the content in it."""
        if isinstance(self.content, Message):
            return language in self.content.texts
        return all(language in text.texts for text in _first_texts(self.content.flow))


def _first_texts(flow: Flow) -> Iterable[Localized]:
    """The texts a survey's first turn shows: its messages up to the first question."""
    for step in flow.steps:
        if isinstance(step, MessageStep):
            yield step.text
        elif isinstance(step, Question):
            yield step.text
            if isinstance(step, ChoiceQuestion):
                yield from (option.label for option in step.options)
            return


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


def preview(recipients: Sequence[Recipient], rendering: Rendering, settings: Settings) -> Preview:
    """The preview of sending to ``recipients``."""
    return preview_of_counts(
        Counter((r.channel, r.language) for r in recipients), rendering, settings
    )


def preview_of_counts(
    counts: Mapping[tuple[str, str | None], int], rendering: Rendering, settings: Settings
) -> Preview:
    """The preview of sending to so many residents by (channel, language); a resident
    whose language is not known yet gets the default."""
    source = rendering.source
    by_channel_language: Counter[tuple[str, str]] = Counter()
    for (channel, language), number in counts.items():
        by_channel_language[(channel, language or source)] += number
    per_sms: dict[str, int] = {}
    total = 0
    messages_per_lane: Counter[str] = Counter()
    for (channel, language), count in by_channel_language.items():
        if channel in SEGMENTED_CHANNELS:
            per_sms[language] = rendering.outgoing(language, channel).segments or 0
            total += per_sms[language] * count
        else:
            messages_per_lane[channel] += count
    pace = settings.dispatch
    lane_seconds = [total / pace.twilio_rate if total else 0.0]
    lane_seconds.append(messages_per_lane["telegram"] / pace.telegram_rate)
    lane_seconds.append(messages_per_lane["whatsapp"] / pace.twilio_rate)
    fallback = sorted({lang for _, lang in by_channel_language if not rendering.translated(lang)})
    return Preview(
        recipients=sum(by_channel_language.values()),
        by_channel_language=dict(by_channel_language),
        segments_per_sms=per_sms,
        total_segments=total,
        cost=total * settings.sms_price,
        currency=settings.currency,
        fallback_languages=tuple(fallback),
        seconds=max(lane_seconds),
    )


class WritingLost(Exception):
    """Another process took over writing the broadcast (this one's lease ran out)."""


async def fan_out(
    database: Database,
    broadcast_id: int,
    recipients: Sequence[Recipient],
    rendering: Rendering,
    progress: Callable[[int], None] = lambda done: None,
    batch: int = BATCH,
    lease: Callable[[Tx], bool] | None = None,
    at_once: int | None = None,
) -> None:
    """Write the broadcast for ``recipients`` to the outbox, one transaction per batch;
    ``progress`` hears how many each batch wrote. ``lease`` renews the writer's lease in
    each batch's transaction: if it was lost, that batch is not written and
    :class:`WritingLost` is raised, as the process that took over writes the rest.

    On a database server ``at_once`` batches (:data:`PARALLEL_BATCHES`) are written at
    once, on connections of their own: one is made here while the server stores another.
    The lease is renewed last in each, so none waits for another's hold on the
    broadcast's row."""

    def written(tx: Tx, part: Sequence[Recipient]) -> int:
        write(tx, broadcast_id, part, rendering)
        if lease is not None and not lease(tx):
            raise WritingLost(f"broadcast {broadcast_id}: another process writes it now")
        return len(part)

    if at_once is None:
        at_once = PARALLEL_BATCHES if database.shared else 1
    writing: set[asyncio.Task[int]] = set()
    try:
        for start in range(0, len(recipients), batch):
            if len(writing) == at_once:
                done, writing = await asyncio.wait(writing, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    progress(task.result())
            part = recipients[start : start + batch]
            writing.add(asyncio.create_task(database.run(partial(written, part=part))))
        for last in asyncio.as_completed(writing):
            progress(await last)
    finally:  # a batch that failed stops the rest; those under way end, written or not
        await asyncio.gather(*writing, return_exceptions=True)


def write(
    tx: Tx,
    broadcast_id: int,
    recipients: Sequence[Recipient],
    rendering: Rendering,
) -> None:
    """Give each recipient the broadcast: an outbox row, and for a survey its session.
    What residents of one language and channel are sent is rendered (and made into its
    row's values) once; each resident adds only their contact id to it."""
    source = rendering.source
    flow = rendering.content.flow if isinstance(rendering.content, Survey) else None
    busy = sessions.active_among(tx, [r.contact_id for r in recipients]) if flow else set()
    fresh: dict[str, list[int]] = {}  # language -> contacts starting the survey afresh
    rows: list[messages.BroadcastRow] = []
    for recipient in recipients:
        contact_id, channel = recipient.contact_id, recipient.channel
        language = recipient.language or source
        if flow is not None:
            if contact_id in busy or rendering.starts_with_more(language):
                sent = _open_session(tx, recipient, flow, language, broadcast_id, rendering)
                rows.append((contact_id, *_queued_as(sent, language, channel)))
                continue
            fresh.setdefault(language, []).append(contact_id)
        rows.append((contact_id, *rendering.queued_as(language, channel)))
    for language, contact_ids in fresh.items():
        state = rendering.start(language).session
        sessions.create_many(tx, contact_ids, state, rendering.now, broadcast_id)
    messages.add_broadcast_batch(tx, broadcast_id, rows, rendering.now)


def _queued_as(sent: Outgoing, language: str, channel: str) -> messages.QueuedAs:
    return channel, sent.text, messages.stored_buttons(sent.buttons), language, sent.segments


def _open_session(
    tx: Tx,
    recipient: Recipient,
    flow: Flow,
    language: str,
    broadcast_id: int,
    rendering: Rendering,
) -> Outgoing:
    """Put ``flow`` to a recipient. Asked it already and not yet answered: it is asked
    again. In another survey: that one waits, and carries on once this one ends."""
    now = rendering.now
    active = sessions.active(tx, recipient.contact_id)
    if active is not None and active.session.flow_id == flow.id:
        session = active.session
        if session.language != language:
            session = session.evolve(language=language)
        turn = advance(flow, session, Resume(), now, rendering.env)
        sessions.save(tx, active.id, turn.session, Status.ACTIVE, now)
        return rendering.of_turn(turn, language, recipient.channel)
    parent = None
    if active is not None:
        sessions.set_status(tx, active.id, Status.INTERRUPTED, now)
        parent = active.id
    turn = rendering.start(language)
    ended = any(isinstance(e, FlowEnded) for e in turn.events)
    changes = {e.field: e.value for e in turn.events if isinstance(e, ContactChanged)}
    if changes:
        contacts.update(tx, contacts.get(tx, recipient.contact_id), changes)
    sessions.create(
        tx,
        recipient.contact_id,
        turn.session,
        now,
        parent,
        broadcast_id,
        Status.COMPLETED if ended else Status.ACTIVE,
    )
    if ended and parent is not None:  # nothing to answer: the other survey carries on
        sessions.set_status(tx, parent, Status.ACTIVE, now)
    return rendering.outgoing(language, recipient.channel)
