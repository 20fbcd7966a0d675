"""The conversation service: from a stored inbound message to replies in the outbox.

For each message: store it (dropping a provider's duplicate) → take the contact's lock →
in one transaction handle the contact's oldest unhandled message: global keywords
first (STOP, START, HELP, LANGUAGE in any shipped language), else the engine → write
answers, contact changes, session and one reply to the outbox → mark the message
handled. Messages of one contact are handled one at a time, in the order received; a
crash leaves unhandled messages to be replayed at start-up by :meth:`resume_pending`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from bot.channels.base import Inbound
from bot.channels.segments import gsm7_friendly, segments
from bot.engine import (
    AnswerRecorded,
    Button,
    ContactChanged,
    EndReason,
    Env,
    Flow,
    FlowEnded,
    MessageOut,
    Reply,
    Resume,
    Start,
    Turn,
    advance,
    is_expired,
)
from bot.lang.words import Keyword, keyword_of, keyword_word
from bot.locks import KeyedLocks
from bot.outbox import mark_recipient
from bot.settings import Settings
from bot.store import Database, answers, contacts, messages, sessions
from bot.store.contacts import Contact
from bot.store.messages import NewOutbound, StoredInbound
from bot.store.sessions import SessionRow, Status

log = logging.getLogger(__name__)

_DEEP_LINK = re.compile(r"^/start(?:@\w+)?\s+([A-Za-z0-9_-]{1,64})$")

MAX_CHAINED_FLOWS = 5
"""How many flows one message may start through ``then``, against accidental cycles."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class ConversationService:
    def __init__(
        self,
        database: Database,
        flows: Mapping[str, Flow],
        env: Env,
        settings: Settings,
        clock: Callable[[], datetime] = utc_now,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.database = database
        self.flows = flows
        self.env = env
        self.settings = settings
        self.clock = clock
        self.on_queued = on_queued  # told when replies are waiting in the outbox
        self._locks = KeyedLocks()

    async def receive(self, message: Inbound) -> bool:
        """Store ``message`` and act on it. False when it was a duplicate delivery."""
        contact_id = await self.store(message)
        if contact_id is None:
            return False
        await self.process(contact_id)
        return True

    async def store(self, message: Inbound) -> int | None:
        """Commit ``message`` before anything acts on it; returns its contact's id, or
        None when the provider delivered this message before."""
        now = self.clock()
        hint = message.language_hint
        language = hint if hint in self.env.languages else self.settings.default_language
        async with self.database.transaction() as tx:
            contact = await contacts.touch(tx, message.channel, message.address, language, now)
            inbound_id = await messages.add_inbound(
                tx, contact.id, message.channel, message.provider_id, message.text, now
            )
        if inbound_id is None:
            log.info("duplicate delivery ignored (contact %s)", contact.id)
            return None
        return contact.id

    async def process(self, contact_id: int) -> None:
        """Handle every unhandled message of one contact, oldest first."""
        async with self._locks.hold(contact_id):
            while await self._handle_next(contact_id):
                pass
        self.on_queued()

    async def resume_pending(self) -> int:
        """Handle messages stored but not acted on before a restart; returns contacts seen."""
        async with self.database.transaction() as tx:
            contact_ids = await messages.contacts_with_pending(tx)
        for contact_id in contact_ids:
            await self.process(contact_id)
        return len(contact_ids)

    async def start_flow(
        self, channel: str, address: str, flow_id: str, language: str | None = None
    ) -> None:
        """Start ``flow_id`` for a resident now, ending whatever they were in.

        Nothing is sent to a contact who opted out.
        """
        if flow_id not in self.flows:
            raise KeyError(f"no flow '{flow_id}'")
        now = self.clock()
        language = language if language in self.env.languages else None
        async with self.database.transaction() as tx:
            contact = await contacts.touch(
                tx, channel, address, language or self.settings.default_language, now
            )
        async with self._locks.hold(contact.id), self.database.transaction() as tx:
            contact = await contacts.get(tx, contact.id)
            if contact.opted_out:
                return
            handling = _Handling(self, tx, contact, None, now)
            await handling.begin(flow_id)
            await handling.send_reply()
        self.on_queued()

    async def recipient_refused(self, channel: str, address: str, recipient: str) -> None:
        """A provider says a resident opted out at the carrier or blocked the bot."""
        async with self.database.transaction() as tx:
            contact = await contacts.find(tx, channel, address)
            if contact is not None:
                await mark_recipient(tx, contact.id, recipient, self.clock())

    async def _handle_next(self, contact_id: int) -> bool:
        now = self.clock()
        pending: StoredInbound | None = None
        try:
            async with self.database.transaction() as tx:
                pending = await messages.next_pending(tx, contact_id)
                if pending is None:
                    return False
                handling = _Handling(self, tx, await contacts.get(tx, contact_id), pending, now)
                await handling.handle()
                await messages.mark_handled(tx, pending.id, now)
            return True
        except Exception as error:
            if pending is None:
                raise
            # Nothing of the failed attempt was written. Record the failure, tell the
            # resident plainly, and move on so one bad message cannot block the next.
            log.exception("inbound message %s failed (contact %s)", pending.id, contact_id)
            async with self.database.transaction() as tx:
                contact = await contacts.get(tx, contact_id)
                await messages.mark_handled(tx, pending.id, now, type(error).__name__)
                if not contact.opted_out:
                    language = contact.language or self.settings.default_language
                    text = self.env.phrases.text(
                        language, "Sorry, something went wrong. Please try again later."
                    )
                    await messages.add_outbound(
                        tx,
                        NewOutbound(contact_id, pending.channel, text, language, (), pending.id),
                        now,
                    )
            return True


@dataclass
class _Reply:
    texts: list[str]
    buttons: tuple[Button, ...] = ()
    compliance: bool = False


class _Handling:
    """Acting on one inbound message (or a flow the bot starts), inside one transaction."""

    def __init__(
        self,
        service: ConversationService,
        tx: aiosqlite.Connection,
        contact: Contact,
        inbound: StoredInbound | None,
        now: datetime,
    ) -> None:
        self.service = service
        self.tx = tx
        self.contact = contact
        self.inbound = inbound
        self.now = now
        self.reply = _Reply([])
        self.chained = 0

    @property
    def language(self) -> str:
        return self.contact.language or self.service.settings.default_language

    def sentence(self, message: str, **params: object) -> str:
        return self.service.env.phrases.text(self.language, message, **params)

    def word(self, keyword: Keyword) -> str:
        return keyword_word(self.language, keyword)

    # -- the decision ----------------------------------------------------------------

    async def handle(self) -> None:
        assert self.inbound is not None
        keyword = keyword_of(self.inbound.text)
        linked = self.deep_link()
        if linked is not None:
            await self.open_link(linked)
        elif self.contact.opted_out:
            await self.while_opted_out(keyword)
        elif keyword is Keyword.STOP:
            await self.opt_out()
        elif keyword is Keyword.START:
            await self.start_again()
        elif keyword is Keyword.HELP:
            self.say(self.help_text())
            await self.reask()
        elif keyword is Keyword.LANGUAGE:
            await self.change_language()
        else:
            await self.answer()
        await self.send_reply()

    async def while_opted_out(self, keyword: Keyword | None) -> None:
        """An opted-out resident hears nothing, except in answer to START and HELP."""
        if keyword is Keyword.START:
            await contacts.set_opted_out(self.tx, self.contact.id, False, self.now)
            self.say(
                self.sentence(
                    "Welcome back! You will get our messages again. Reply %(stop)s to stop.",
                    stop=self.word(Keyword.STOP),
                )
            )
        elif keyword is Keyword.HELP:
            self.reply.compliance = True
            self.say(
                self.sentence(
                    "%(name)s: you get no messages from us. Reply %(start)s to get them again.",
                    name=self.service.settings.name,
                    start=self.word(Keyword.START),
                )
            )

    async def opt_out(self) -> None:
        await contacts.set_opted_out(self.tx, self.contact.id, True, self.now)
        await sessions.stop_all(self.tx, self.contact.id, self.now)
        self.reply.compliance = True
        self.say(
            self.sentence(
                "You will get no more messages from us. To start again, reply %(start)s.",
                start=self.word(Keyword.START),
            )
        )

    async def start_again(self) -> None:
        """START from someone already opted in: carry on, or begin as a first message would."""
        if await self.current() is None:
            await self.answer()
            return
        self.say(
            self.sentence(
                "You will get our messages. Reply %(stop)s to stop.", stop=self.word(Keyword.STOP)
            )
        )
        await self.reask()

    def help_text(self) -> str:
        return self.sentence(
            "%(name)s: reply with the number of your answer. Send %(language)s to change "
            "language, or %(stop)s to stop all messages.",
            name=self.service.settings.name,
            language=self.word(Keyword.LANGUAGE),
            stop=self.word(Keyword.STOP),
        )

    def deep_link(self) -> str | None:
        """The flow a Telegram ``/start <flow>`` link opens (from a poster, say)."""
        assert self.inbound is not None
        if self.contact.channel != "telegram":
            return None
        match = _DEEP_LINK.match(self.inbound.text.strip())
        if match is None or match.group(1) not in self.service.flows:
            return None
        return match.group(1)

    async def open_link(self, flow_id: str) -> None:
        """Pressing a link is asking to take part: it opts a resident back in."""
        if self.contact.opted_out:
            await contacts.set_opted_out(self.tx, self.contact.id, False, self.now)
        await self.begin(flow_id)

    async def begin(self, flow_id: str) -> None:
        """Start ``flow_id``, ending whatever the contact was in."""
        row = await self.current()
        if row is not None:
            await sessions.set_status(self.tx, row.id, Status.EXPIRED, self.now)
            if row.parent_id is not None:
                await sessions.set_status(self.tx, row.parent_id, Status.EXPIRED, self.now)
        await self.start(flow_id)

    async def reask(self) -> None:
        row = await self.current()
        if row is not None:
            await self.run(row, self.flow(row), Resume())

    async def change_language(self) -> None:
        row = await self.current()
        language_flow = self.service.settings.language_flow
        if row is not None and row.session.flow_id == language_flow:
            await self.run(row, self.flow(row), Resume())
            return
        if row is not None:
            await sessions.set_status(self.tx, row.id, Status.INTERRUPTED, self.now)
        await self.start(language_flow, parent_id=row.id if row else None)

    async def answer(self) -> None:
        assert self.inbound is not None
        row = await self.current()
        if row is not None:
            await self.run(row, self.flow(row), Reply(self.inbound.text), self.inbound.id)
        elif self.contact.is_new or self.contact.fields.get("consent") != "yes":
            await self.start(self.service.settings.start_flow)
        else:
            await self.start(self.service.settings.menu_flow)

    # -- sessions ----------------------------------------------------------------------

    async def current(self) -> SessionRow | None:
        """The contact's waiting session; an expired one is ended with what it interrupted."""
        row = await sessions.active(self.tx, self.contact.id)
        if row is None:
            return None
        flow = self.service.flows.get(row.session.flow_id)
        step_id = row.session.step_id
        if flow is not None and step_id is not None and flow.has_step(step_id):
            if not is_expired(flow, row.session, self.now):
                return row
            status = Status.EXPIRED
        else:
            status = Status.FAILED  # its flow was changed or removed under it
        await sessions.set_status(self.tx, row.id, status, self.now)
        if row.parent_id is not None:
            await sessions.set_status(self.tx, row.parent_id, Status.EXPIRED, self.now)
        return None

    def flow(self, row: SessionRow) -> Flow:
        return self.service.flows[row.session.flow_id]

    async def start(self, flow_id: str, parent_id: int | None = None) -> None:
        flow = self.service.flows[flow_id]
        turn = advance(flow, None, Start(self.language), self.now, self.service.env)
        session_id = await sessions.create(
            self.tx, self.contact.id, turn.session, self.now, parent_id
        )
        await self.apply(
            SessionRow(session_id, self.contact.id, turn.session, parent_id), flow, turn
        )

    async def run(
        self,
        row: SessionRow,
        flow: Flow,
        event: Reply | Resume,
        inbound_id: int | None = None,
    ) -> None:
        session = row.session
        if session.language != self.language:  # the contact changed language meanwhile
            session = session.evolve(language=self.language)
        turn = advance(flow, session, event, self.now, self.service.env)
        await self.apply(row, flow, turn, inbound_id)

    async def apply(
        self, row: SessionRow, flow: Flow, turn: Turn, inbound_id: int | None = None
    ) -> None:
        changes: dict[str, str] = {}
        ended: FlowEnded | None = None
        for event in turn.events:
            match event:
                case MessageOut(text=text, buttons=buttons):
                    self.say(text, buttons)
                case AnswerRecorded(step_id=step_id, value=value, raw=raw):
                    await answers.record(
                        self.tx,
                        answers.NewAnswer(
                            row.id,
                            self.contact.id,
                            inbound_id,
                            flow.id,
                            step_id,
                            value,
                            raw,
                            turn.session.language,
                            self.contact.channel,
                        ),
                        self.now,
                    )
                case ContactChanged(field=name, value=value):
                    changes[name] = value
                case FlowEnded():
                    ended = event
        if changes:
            self.contact = await contacts.update(self.tx, self.contact, changes)
        if ended is None:
            await sessions.save(self.tx, row.id, turn.session, Status.ACTIVE, self.now)
            return
        status = Status.COMPLETED if ended.reason is EndReason.COMPLETED else Status.FAILED
        await sessions.save(self.tx, row.id, turn.session, status, self.now)
        if ended.then is not None and self.chained < MAX_CHAINED_FLOWS:
            self.chained += 1
            await self.start(ended.then, parent_id=row.parent_id)
        elif row.parent_id is not None:
            parent = await sessions.get(self.tx, row.parent_id)
            await sessions.set_status(self.tx, parent.id, Status.ACTIVE, self.now)
            await self.run(parent, self.flow(parent), Resume())

    # -- the reply ---------------------------------------------------------------------

    def say(self, text: str, buttons: tuple[Button, ...] = ()) -> None:
        self.reply.texts.append(text)
        if buttons:
            self.reply.buttons = buttons

    async def send_reply(self) -> None:
        """All of a turn's messages go as one reply: one SMS costs less than several."""
        if not self.reply.texts:
            return
        text = "\n\n".join(self.reply.texts)
        count = None
        if self.contact.channel == "sms":
            text = gsm7_friendly(text)
            count = segments(text).count
        await messages.add_outbound(
            self.tx,
            NewOutbound(
                self.contact.id,
                self.contact.channel,
                text,
                self.language,
                self.reply.buttons,
                self.inbound.id if self.inbound else None,
                "compliance" if self.reply.compliance else "reply",
                count,
            ),
            self.now,
        )
