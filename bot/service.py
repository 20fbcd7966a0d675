"""The conversation service: from a stored inbound message to replies in the outbox.

For each message, in one transaction on the database thread: store it (dropping a
provider's duplicate) → act on the contact's unhandled messages, oldest first: global
keywords first (STOP, START, HELP, LANGUAGE in any shipped language), else the engine →
write answers, contact changes, session and one reply to the outbox → mark the message
handled (when none of the contact's messages was waiting, the usual case, it is stored
handled already: the transaction commits both or neither). Units of database work run
one at a time, so a contact's messages are handled one by one, in the order received;
anything stored but not handled (a message stored by an older Parley, or a crash) is
replayed at start-up by :meth:`resume_pending`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Collection, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot import phone
from bot.channels.base import Inbound, shown_text
from bot.channels.segments import as_sent
from bot.civic import ideas, panels
from bot.civic.polls import QUESTION_STEP, FlowBook, resident_text, results
from bot.desk import Actor, Desk, Front, Role
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
    ballot,
    is_expired,
)
from bot.engine.answers import Parsed, parse_choice
from bot.engine.flow import BallotQuestion, ChoiceQuestion, TextQuestion, Value
from bot.lang import formats
from bot.lang.words import Keyword, keyword_of, keyword_word, yes_no_of
from bot.settings import Settings
from bot.store import (
    Database,
    answers,
    audit,
    budgeting,
    contacts,
    erasure,
    messages,
    polls,
    sessions,
)
from bot.store import ideas as ideas_store
from bot.store.contacts import Contact
from bot.store.messages import NewOutbound, StoredInbound
from bot.store.sessions import SessionRow, Status
from bot.store.sql import Tx
from bot.triggers import Triggered, Triggers

log = logging.getLogger(__name__)

_DEEP_LINK = re.compile(r"^/start(?:@\w+)?\s+([A-Za-z0-9_-]{1,64})$")

WELCOME_BACK_AFTER = timedelta(days=30)
"""A resident who writes after this long away is greeted before anything else."""

FORGET_CONFIRM_WITHIN = timedelta(days=1)
"""How long a FORGET ME waits for its YES; after that a YES is an ordinary reply."""

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
        *,
        triggers: Triggers | None = None,
        guess: Callable[[str], str | None] = lambda text: None,
    ) -> None:
        self.database = database
        self.triggers = triggers or Triggers()
        # The language a new SMS contact's first message seems to be in (a hint only:
        # the welcome's language menu lists it first, and the resident confirms it).
        self.guess = guess
        self.flows = flows
        self.env = env
        self.settings = settings
        self.clock = clock
        self.on_queued = on_queued  # told when replies are waiting in the outbox
        self.on_scheduled: Callable[[], None] = lambda: None  # told when a job may be due
        self._scheduled = False
        self.book = FlowBook(flows, env)  # the flow files' flows and the polls'
        self.free_text = erasure.free_text(flows)  # what erasing a resident blanks
        self._in_turn = _InTurn()

    def _after_commit(self) -> None:
        self.on_queued()
        if self._scheduled:
            self._scheduled = False
            self.on_scheduled()

    async def receive(self, message: Inbound) -> bool:
        """Store ``message`` and act on it; False when it was a duplicate delivery.

        One transaction, one unit of work for the database: the message is inserted
        first, then the contact's unhandled messages are acted on, oldest first, each
        under a savepoint (when none was waiting, the message goes in handled and is
        the one acted on). A message whose handling fails stays stored, marked with the
        error, and the resident gets a plain apology. Were the process to die before
        the commit, nothing is stored and the provider, not yet answered, sends again.

        Several processes on one PostgreSQL database: the first statement updates the
        resident's row, which PostgreSQL then holds until the commit, so a message of
        theirs arriving at another process meanwhile waits, then sees this one handled:
        one resident's messages are handled one at a time, oldest first, everywhere.
        Within a process a resident's messages go to the database in the order they
        arrived (:class:`_InTurn`): the units of work run on several connections there,
        which would otherwise race for the resident's row.
        """
        async with self._in_turn.hold((message.channel, message.address)):
            return await self._receive(message)

    async def _receive(self, message: Inbound) -> bool:
        now = self.clock()
        hint = message.language_hint
        language = hint if hint in self.env.languages else self.settings.default_language

        def work(tx: Tx) -> bool:
            contact = contacts.touch(tx, message.channel, message.address, language, now)
            if contact.forgotten:  # erased, their goodbye not yet sent: this is someone new
                erasure.detach(tx, message.channel, message.address, now)
                contact = contacts.touch(tx, message.channel, message.address, language, now)
            if contact.is_new and hint is None:
                guessed = self.guess(message.text)
                if guessed is not None and guessed in self.env.languages:
                    contact = contacts.update(tx, contact, {"language": guessed})
            # Usually none of theirs waits: this one is then stored already handled (it
            # is, once this transaction commits), one write instead of two.
            waiting = not contact.is_new and messages.next_pending(tx, contact.id) is not None
            inbound_id = messages.add_inbound(
                tx,
                contact.id,
                message.channel,
                message.provider_id,
                message.text,
                now,
                message.pressed,
                handled=not waiting,
            )
            if inbound_id is None:
                log.info("duplicate delivery ignored (contact %s)", contact.id)
                return False
            known: Contact | None = contact  # as the database now has it
            if contact.is_new or not contact.consented:
                # Texting in first is consenting to be answered: kept with the keyword.
                how = self._consent_how(message.text, message.channel)
                contacts.record(tx, contact.id, "consent", now, how, now)
                known = None  # its consent is on record now: read it again
            if waiting:
                self._handle_pending(tx, contact.id, now, last=inbound_id, known=known)
            else:
                this = StoredInbound(
                    inbound_id, contact.id, message.channel, message.text, message.pressed
                )
                self._handle_one(tx, this, now, known, marked=True)
            return True

        # A staff member's commands may read or write much (an export, a broadcast):
        # their messages go to the database thread; a resident's is a small unit.
        small = (message.channel, message.address) not in self.settings.staff
        stored = await self.database.run(work, small=small)
        self._after_commit()
        return stored

    def _consent_how(self, text: str, channel: str) -> str:
        """How a resident who texted in first consented, never in their own words: the
        keyword or poster's word they sent, else that they wrote in."""
        keyword = keyword_of(text)
        if keyword is not None:
            return f"texted {keyword_word('en', keyword)}"
        if self.triggers.match(text) is not None:
            return f"texted {text.split()[0].upper()[:40]}"
        return "wrote to the Telegram bot" if channel == "telegram" else f"texted in by {channel}"

    async def process(self, contact_id: int) -> None:
        """Act on every unhandled message of one contact, oldest first."""
        now = self.clock()
        await self.database.run(lambda tx: self._handle_pending(tx, contact_id, now))
        self._after_commit()

    async def resume_pending(self) -> int:
        """Handle messages stored but not acted on before a restart; returns contacts seen."""
        contact_ids = await self.database.run(messages.contacts_with_pending)
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
        default = language or self.settings.default_language

        def work(tx: Tx) -> None:
            contact = contacts.ensure(tx, channel, address, default, now)
            if contact.opted_out:
                return
            handling = _Handling(self, tx, contact, None, now)
            handling.begin(flow_id)
            handling.send_reply()

        await self.database.run(work)
        self.on_queued()

    async def recipient_refused(self, channel: str, address: str, recipient: str) -> None:
        """A provider says a resident opted out at the carrier or blocked the bot."""
        now = self.clock()

        def work(tx: Tx) -> None:
            contact = contacts.find(tx, channel, address)
            if contact is not None:
                contacts.refuse(tx, contact.id, recipient, now)

        await self.database.run(work)

    def _handle_pending(
        self,
        tx: Tx,
        contact_id: int,
        now: datetime,
        last: int | None = None,
        known: Contact | None = None,
    ) -> None:
        """Act on the contact's unhandled messages in order, each all or nothing, up to
        and including message ``last`` (the one just stored: none of theirs is newer,
        so looking for another would be a query for nothing); ``known`` is the contact
        as the database has it now, saving reading it again.

        Every unit of database work runs whole on the database thread, one after
        another, so no other handling of this contact can interleave with this one."""
        while (pending := messages.next_pending(tx, contact_id)) is not None:
            self._handle_one(tx, pending, now, known)
            known = None  # handling a message may change the contact
            if pending.id == last:
                return

    def _handle_one(
        self,
        tx: Tx,
        pending: StoredInbound,
        now: datetime,
        known: Contact | None,
        marked: bool = False,
    ) -> None:
        """Act on one stored message, all or nothing; ``marked``: it was stored handled
        already (see :func:`messages.add_inbound`)."""
        tx.execute("SAVEPOINT handling")
        try:
            contact = known if known is not None else contacts.get(tx, pending.contact_id)
            _Handling(self, tx, contact, pending, now).handle()
            if not marked:
                messages.mark_handled(tx, pending.id, now)
        except Exception as error:
            # Nothing of the failed attempt is kept. Record the failure, tell the
            # resident plainly, and move on so one bad message cannot block the next.
            tx.execute("ROLLBACK TO handling")
            log.exception("inbound message %s failed (contact %s)", pending.id, pending.contact_id)
            self._record_failure(tx, pending, type(error).__name__, now)
        tx.execute("RELEASE handling")

    def _record_failure(self, tx: Tx, pending: StoredInbound, failure: str, now: datetime) -> None:
        contact = contacts.get(tx, pending.contact_id)
        messages.mark_handled(tx, pending.id, now, failure)
        if not contact.opted_out:
            language = contact.language or self.settings.default_language
            text = self.env.phrases.text(
                language, "Sorry, something went wrong. Please try again later."
            )
            messages.add_outbound(
                tx,
                NewOutbound(contact.id, pending.channel, text, language, (), pending.id),
                now,
            )


class _InTurn:
    """One lock per key (a resident's address), there only while someone holds or awaits
    it; asyncio's locks are fair, so those waiting go in the order they came."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


@dataclass
class _Reply:
    texts: list[str]
    buttons: tuple[Button, ...] = ()
    compliance: bool = False
    attachments: list[phone.Attachment] = field(default_factory=list)  # staff files, after
    redraws: list[bool] = field(default_factory=list)  # per text: it redraws a pressed message

    @property
    def redraw(self) -> bool:
        """Whether the whole reply redraws the message whose button was pressed."""
        return bool(self.redraws) and all(self.redraws)


class _Handling:
    """Acting on one inbound message (or a flow the bot starts), inside one transaction."""

    def __init__(
        self,
        service: ConversationService,
        tx: Tx,
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
        self.unasked = False  # a broadcast's question is asked now, instead of held

    @property
    def language(self) -> str:
        return self.contact.language or self.service.settings.default_language

    def sentence(self, message: str, **params: object) -> str:
        return self.service.env.phrases.text(self.language, message, **params)

    def word(self, keyword: Keyword) -> str:
        return keyword_word(self.language, keyword)

    # -- the decision ----------------------------------------------------------------

    def handle(self) -> None:
        assert self.inbound is not None
        keyword = keyword_of(self.inbound.text)
        command = phone.command_of(self.inbound.text)
        role = self.service.settings.staff.get((self.contact.channel, self.contact.address))
        linked = self.deep_link()
        triggered = self.service.triggers.match(self.inbound.text) if keyword is None else None
        if self.contact.forget_asked_at is not None and self.confirm_forget():
            self.send_reply()
            return
        if self.returning() and keyword is not Keyword.STOP and command is None:
            self.say(self.sentence("Welcome back to %(name)s!", name=self.service.settings.name))
        if command is not None and role is not None:
            self.staff_command(command, Role(role))
        elif command is not None and keyword is not Keyword.STOP and not self.contact.opted_out:
            log.warning(
                "staff command /%s refused: contact %s is not staff", command.value, self.contact.id
            )
            self.say(self.sentence("Sorry, that is only for staff."))
            self.reask()
        elif keyword is Keyword.MYDATA:
            self.ask_for_data()
        elif keyword is Keyword.FORGET:
            self.ask_to_forget()
        elif linked is not None:
            self.open_link(linked)
        elif self.contact.opted_out:
            self.while_opted_out(keyword, triggered is not None)
        elif keyword is Keyword.STOP:
            self.opt_out()
        elif keyword is Keyword.START:
            self.start_again()
        elif keyword is Keyword.HELP:
            self.say(self.help_text())
            self.reask()
        elif keyword is Keyword.LANGUAGE:
            self.change_language()
        elif triggered is not None and not (
            (triggered.unknown_code or triggered.text is not None) and self.at_text_question()
        ):
            self.trigger(triggered)
        else:
            self.answer()
        self.send_reply()

    def returning(self) -> bool:
        """Back after a long time away (an opted-out resident is not greeted)."""
        seen = self.contact.previous_seen_at
        return (
            seen is not None and not self.contact.opted_out and self.now - seen > WELCOME_BACK_AFTER
        )

    def staff_command(self, command: phone.Command, role: Role) -> None:
        assert self.inbound is not None
        service = self.service
        desk = Desk(
            self.tx,
            service.settings,
            service.env,
            service.flows,
            self.now,
            Actor(f"contact {self.contact.id}", role, Front.PHONE),
        )
        at_phone = phone.Phone(desk, files=self.contact.channel == "telegram")
        reply = phone.perform(at_phone, command, self.inbound.text)
        log.info("staff command /%s by contact %s", command.value, self.contact.id)
        if reply.scheduled:
            service._scheduled = True
        self.say(reply.text, reply.buttons)
        self.reply.attachments += reply.attachments

    def while_opted_out(self, keyword: Keyword | None, triggered: bool) -> None:
        """An opted-out resident hears nothing, except in answer to START and HELP, and
        to a poster's trigger word (told how to opt back in, never signed up by it)."""
        if keyword is Keyword.START:
            contacts.set_opted_out(self.tx, self.contact.id, False, self.now, "texted START")
            self.say(
                self.sentence(
                    "Welcome back! You will get our messages again. Reply %(stop)s to stop.",
                    stop=self.word(Keyword.STOP),
                )
            )
        elif keyword is Keyword.HELP or triggered:
            self.reply.compliance = True
            self.say(
                self.sentence(
                    "%(name)s: you get no messages from us. Reply %(start)s to get them again.",
                    name=self.service.settings.name,
                    start=self.word(Keyword.START),
                )
            )

    # -- a resident's own data -----------------------------------------------------------

    def resident_audit(self, action: str, **detail: object) -> None:
        """What a resident asked of their own data, in the audit log with staff actions."""
        me = f"contact {self.contact.id}"
        audit.record(self.tx, self.now, me, "resident", "phone", action, me, detail)
        log.info("contact %s: %s", self.contact.id, action)

    def ask_for_data(self) -> None:
        """MYDATA: staff are told and it is logged; the report itself never goes by text."""
        self.resident_audit("resident.report_asked")
        for (channel, address), role in sorted(self.service.settings.staff.items()):
            if role != Role.ORGANISER.value:
                continue
            staff = contacts.ensure(self.tx, channel, address, "en", self.now)
            text = (
                f"Contact {self.contact.id} asked for a copy of their data. Make it with"
                f" `parley contacts report {self.contact.id}` and give it to them in person"
                " or securely, never by text."
            )
            messages.add_outbound(
                self.tx, NewOutbound(staff.id, channel, text, "en", (), None), self.now
            )
        self.reply.compliance = True
        self.say(
            self.sentence(
                "Thank you. Staff will contact you to give you a copy of the data we hold "
                "about you. We never send it by text."
            )
        )
        if not self.contact.opted_out:
            self.reask()

    def ask_to_forget(self) -> None:
        """FORGET ME: nothing is erased until the resident confirms with YES."""
        contacts.ask_to_forget(self.tx, self.contact.id, self.now)
        self.reply.compliance = True
        self.say(
            self.sentence(
                "Reply YES to delete everything we hold about you. You will then get no "
                "more messages from us. Reply NO to keep it."
            )
        )

    def confirm_forget(self) -> bool:
        """The reply to FORGET ME's question: YES erases, NO keeps; anything else (or a
        reply a day later) is handled as usual. True when it was the answer."""
        assert self.inbound is not None
        assert self.contact.forget_asked_at is not None
        contacts.ask_to_forget(self.tx, self.contact.id, None)
        if self.now - self.contact.forget_asked_at > FORGET_CONFIRM_WITHIN:
            return False
        answer = yes_no_of(self.inbound.text, (self.language,))
        if answer is None:
            return False
        self.reply.compliance = True
        if answer is False:
            self.say(self.sentence("OK, nothing was deleted."))
            if not self.contact.opted_out:
                self.reask()
            return True
        goodbye = self.sentence("We have deleted your data. You will get no more messages from us.")
        erased = erasure.forget(
            self.tx, self.contact.id, self.now, self.service.free_text, goodbye=True
        )
        self.resident_audit("resident.forget", asked="FORGET ME", **erased.as_dict())
        self.say(goodbye)  # the last message: its text and the address go once it is sent
        return True

    def opt_out(self) -> None:
        assert self.inbound is not None
        how = f"texted {self.inbound.text.strip().upper()[:40]}"  # a STOP word, never more
        contacts.opt_out(self.tx, self.contact.id, self.now, how)
        self.reply.compliance = True
        self.say(
            self.sentence(
                "You will get no more messages from us. To start again, reply %(start)s.",
                start=self.word(Keyword.START),
            )
        )

    def start_again(self) -> None:
        """START from someone already opted in: carry on, or begin as a first message would."""
        if self.current() is None:
            self.answer()
            return
        self.say(
            self.sentence(
                "You will get our messages. Reply %(stop)s to stop.", stop=self.word(Keyword.STOP)
            )
        )
        self.reask()

    def help_text(self) -> str:
        return self.sentence(
            "%(name)s: reply with the number of your answer. Send %(language)s to change "
            "language, or %(stop)s to stop all messages.",
            name=self.service.settings.name,
            language=self.word(Keyword.LANGUAGE),
            stop=self.word(Keyword.STOP),
        )

    def trigger(self, triggered: Triggered) -> None:
        """A poster's word: start its flow, recording the code's value (the area)."""
        trigger = triggered.trigger
        if triggered.unknown_code:
            self.say(
                self.sentence(
                    "Sorry, we do not know the code %(code)s. Please check the poster and "
                    "try again.",
                    code=triggered.code,
                )
            )
            self.reask()
            return
        if trigger.field is not None and triggered.value is not None:
            self.contact = contacts.update(self.tx, self.contact, {trigger.field: triggered.value})
        log.info("trigger for flow %s (contact %s)", trigger.flow, self.contact.id)
        said = len(self.reply.texts)
        self.begin(trigger.flow)
        row = self.current()
        if triggered.text is not None and row is not None:
            # "IDEA more benches": the words answer the first question, so it is not asked.
            del self.reply.texts[said:]
            self.reply.buttons = ()
            assert self.inbound is not None
            self.run(row, self.flow(row), Reply(triggered.text), self.inbound.id)

    def at_text_question(self) -> bool:
        """Whether the resident is being asked for free text (any reply is an answer)."""
        row = self.current()
        if row is None or row.session.step_id is None:
            return False
        return isinstance(self.flow(row).step(row.session.step_id), TextQuestion)

    def deep_link(self) -> str | None:
        """The flow a Telegram ``/start <flow>`` link opens (from a poster, say)."""
        assert self.inbound is not None
        if self.contact.channel != "telegram":
            return None
        match = _DEEP_LINK.match(self.inbound.text.strip())
        if match is None or match.group(1) not in self.service.flows:
            return None
        return match.group(1)

    def open_link(self, flow_id: str) -> None:
        """Pressing a link is asking to take part: it opts a resident back in."""
        if self.contact.opted_out:
            contacts.set_opted_out(self.tx, self.contact.id, False, self.now, "opened a link")
        self.begin(flow_id)

    def begin(self, flow_id: str) -> None:
        """Start ``flow_id``, ending whatever the contact was in."""
        row = self.current()
        if row is not None:
            sessions.set_status(self.tx, row.id, Status.EXPIRED, self.now)
            if row.parent_id is not None:
                sessions.set_status(self.tx, row.parent_id, Status.EXPIRED, self.now)
        self.start(flow_id)

    def reask(self) -> None:
        row = self.current()
        if row is not None:
            self.run(row, self.flow(row), Resume())

    def change_language(self) -> None:
        row = self.current()
        language_flow = self.service.settings.language_flow
        if row is not None and row.session.flow_id == language_flow:
            self.run(row, self.flow(row), Resume())
            return
        if row is not None:
            sessions.set_status(self.tx, row.id, Status.INTERRUPTED, self.now)
        self.start(language_flow, parent_id=row.id if row else None)

    def answer(self) -> None:
        assert self.inbound is not None
        row = self.current()
        if row is not None and self.unasked:
            self.run(row, self.flow(row), Resume())
        elif row is not None:
            self.run(row, self.flow(row), Reply(self.inbound.text), self.inbound.id)
        elif self.poll_answer() or self.ballot_answer():
            return
        elif self.contact.is_new or self.contact.fields.get("consent") != "yes":
            self.start(self.service.settings.start_flow)
        else:
            self.start(self.service.settings.menu_flow)

    def poll_answer(self) -> bool:
        """A reply to the poll the resident was last asked, after they answered it: a
        changed vote while it is open, or a polite "closed" (and the result, if public)."""
        assert self.inbound is not None
        poll_id = polls.latest_asked(self.tx, self.contact.id)
        poll = polls.get(self.tx, poll_id) if poll_id is not None else None
        if poll is None or poll.status == "draft":
            return False
        flow = self.service.book.get(self.tx, poll.flow_id)
        assert flow is not None
        question = flow.steps[0]
        assert isinstance(question, ChoiceQuestion)
        parsed = parse_choice(
            question.options,
            question.words,
            question.multiple,
            self.inbound.text,
            (self.language,),
        )
        if not isinstance(parsed, Parsed):
            return False
        if poll.status == "closed":
            self.say(self.sentence("Sorry, this poll has closed."))
            if poll.public:
                self.say(
                    resident_text(
                        poll, results(self.tx, poll).overall, self.language, self.service.env
                    )
                )
            return True
        session_id = polls.latest_session(self.tx, self.contact.id, poll.id)
        assert session_id is not None
        first = not polls.has_voted(self.tx, poll.id, self.contact.id)
        self.record(
            session_id,
            flow,
            QUESTION_STEP,
            parsed.value,
            self.inbound.text,
            self.language,
            self.inbound.id,
        )
        if first:
            self.say(self.sentence("Thank you for voting!"))
            return True
        chosen = parsed.value if isinstance(parsed.value, list) else [parsed.value]
        language, labels = self.vote_labels(flow, chosen)
        self.say(
            self.service.env.phrases.text(
                language,
                "Thank you. Your vote is now: %(choice)s",
                choice=formats.listing(labels, language),
            )
        )
        return True

    def ballot_answer(self) -> bool:
        """A ballot reply after the ballot was cast (or its session ended): while voting
        is open, the ballot is taken up again from what was cast, and the reply acts on
        it; once voting has closed, a polite "closed", and nothing is counted."""
        assert self.inbound is not None
        round_id = budgeting.latest_round_asked(self.tx, self.contact.id)
        round_ = budgeting.get_round(self.tx, round_id) if round_id is not None else None
        flow = self.service.book.get(self.tx, round_.flow_id) if round_ is not None else None
        if round_ is None or flow is None or round_.phase not in ("voting", "counted"):
            return False
        step = flow.steps[0]
        assert isinstance(step, BallotQuestion)
        text = self.inbound.text
        if isinstance(ballot.read(step, text, self.language, self.service.env), ballot.Refused):
            return False  # not a ballot reply: the menu, as for any message
        if round_.phase == "counted":
            self.say(self.sentence("Sorry, voting has closed."))
            log.info("late ballot refused (round %s, contact %s)", round_.id, self.contact.id)
            return True
        earlier = budgeting.ballot_of(self.tx, round_.id, self.contact.id)
        known = {ballot.draft_key(step.id): [str(n) for n in earlier.choice]} if earlier else {}
        said = len(self.reply.texts)
        self.start(flow.id, answers=known)
        row = self.current()
        if row is not None and row.session.flow_id == flow.id:
            del self.reply.texts[said:]
            del self.reply.redraws[said:]
            self.reply.buttons = ()
            self.run(row, flow, Reply(text), self.inbound.id)
        return True

    def vote_labels(self, flow: Flow, chosen: Collection[object]) -> tuple[str, list[str]]:
        """The language to speak of a vote in, and the chosen options' labels in it: the
        resident's when the poll has it, else the poll's own, so labels are never foreign."""
        question = flow.steps[0]
        assert isinstance(question, ChoiceQuestion)
        language = self.language
        if not all(language in option.label.texts for option in question.options):
            language = flow.language
        return language, [o.label.texts[language] for o in question.options if o.id in chosen]

    def vote_so_far(self, flow: Flow) -> None:
        """Asked again a poll they voted in (from the menu, say), a resident is told their
        vote first; their answer replaces it (one vote each, the last counting)."""
        poll_id = polls.poll_id_of(flow.id)
        choice = polls.choice_of(self.tx, poll_id, self.contact.id) if poll_id else None
        if not choice:
            return
        language, labels = self.vote_labels(flow, choice)
        self.say(
            self.service.env.phrases.text(
                language,
                "Your vote so far: %(choice)s. Answer again to change it.",
                choice=formats.listing(labels, language),
            )
        )

    # -- sessions ----------------------------------------------------------------------

    def current(self) -> SessionRow | None:
        """The contact's waiting session; an expired one is ended with what it interrupted."""
        row = sessions.active(self.tx, self.contact.id)
        if row is None:
            return None
        flow = self.service.book.get(self.tx, row.session.flow_id, self.contact.id)
        step_id = row.session.step_id
        if flow is not None and step_id is not None and flow.has_step(step_id):
            if not self.poll_open(flow):
                # Closed while this resident was being asked: they carry on with what
                # the poll interrupted, if anything; a vote now gets "closed".
                sessions.give_way(self.tx, row.id, row.parent_id, self.now)
                return None if row.parent_id is None else self.current()
            if not is_expired(flow, row.session, self.now):
                return self.not_yet_asked(row)
            status = Status.EXPIRED
        else:
            status = Status.FAILED  # its flow was changed or removed under it
        sessions.set_status(self.tx, row.id, status, self.now)
        if row.parent_id is not None:
            sessions.set_status(self.tx, row.parent_id, Status.EXPIRED, self.now)
        return None

    def not_yet_asked(self, row: SessionRow) -> SessionRow:
        """The session to reply in, when a broadcast's question (a poll, a survey) is
        still held in the outbox (quiet hours, a long queue) as the resident writes.

        The held question is withdrawn: this reply asks it instead. If it interrupted
        something, that goes first and the broadcast's question is asked after it."""
        if row.broadcast_id is None or not messages.withdraw_unsent(
            self.tx, row.broadcast_id, self.contact.id, "asked in conversation instead"
        ):
            return row
        if row.parent_id is None:
            self.unasked = True  # their message cannot be its answer: ask it now
            return row
        sessions.swap_with_parent(self.tx, row, self.now)
        return sessions.get(self.tx, row.parent_id)

    def poll_open(self, flow: Flow) -> bool:
        """False for the flow of a poll that has closed, or of a round whose voting has
        closed; True for any other flow."""
        round_id = budgeting.round_id_of(flow.id)
        if round_id is not None:
            return budgeting.phase_of(self.tx, round_id) == "voting"
        poll_id = polls.poll_id_of(flow.id)
        return poll_id is None or polls.status(self.tx, poll_id) != "closed"

    def flow(self, row: SessionRow) -> Flow:
        flow = self.service.book.get(self.tx, row.session.flow_id, self.contact.id)
        assert flow is not None, "current() ends sessions whose flow is gone"
        return flow

    def start(
        self,
        flow_id: str,
        parent_id: int | None = None,
        answers: Mapping[str, Value] | None = None,
    ) -> None:
        # A file's, a poll's, a round's ballot, or the open polls this resident may vote in.
        flow = self.service.book.get(self.tx, flow_id, self.contact.id)
        assert flow is not None, f"no flow '{flow_id}': flows and triggers are checked at load"
        self.vote_so_far(flow)
        start = Start(self.language, answers or {})
        turn = advance(flow, None, start, self.now, self.service.env)
        session_id = sessions.create(self.tx, self.contact.id, turn.session, self.now, parent_id)
        self.apply(SessionRow(session_id, self.contact.id, turn.session, parent_id), flow, turn)

    def run(
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
        self.apply(row, flow, turn, inbound_id)

    def apply(self, row: SessionRow, flow: Flow, turn: Turn, inbound_id: int | None = None) -> None:
        changes: dict[str, str] = {}
        ended: FlowEnded | None = None
        for event in turn.events:
            match event:
                case MessageOut(buttons=buttons, redraw=redraw):
                    # With buttons on screen, the numbered list would say it all twice.
                    self.say(shown_text(event, self.contact.channel), buttons, redraw)
                case AnswerRecorded(step_id=step_id, value=value, raw=raw):
                    self.record(
                        row.id, flow, step_id, value, raw, turn.session.language, inbound_id
                    )
                case ContactChanged(field=name, value=value):
                    changes[name] = value
                case FlowEnded():
                    ended = event
        if changes:
            self.contact = contacts.update(self.tx, self.contact, changes)
            if changes.get("consent") in ("yes", "no"):
                # The welcome's "may we send you questions?": the answer is on record.
                yes = changes["consent"] == "yes"
                how = f"answered {changes['consent']} in the {flow.id} flow"
                said = "consent" if yes else "declined"
                contacts.record(self.tx, self.contact.id, said, self.now, how, self.now)
        if ended is None:
            sessions.save(self.tx, row.id, turn.session, Status.ACTIVE, self.now)
            return
        status = Status.COMPLETED if ended.reason is EndReason.COMPLETED else Status.FAILED
        sessions.save(self.tx, row.id, turn.session, status, self.now)
        if status is Status.COMPLETED:
            self.completed(row, flow, turn.session.answers)
        if ended.then is not None and self.chained < MAX_CHAINED_FLOWS:
            self.chained += 1
            self.start(ended.then, parent_id=row.parent_id)
        elif row.parent_id is not None:
            parent = sessions.get(self.tx, row.parent_id)
            sessions.set_status(self.tx, parent.id, Status.ACTIVE, self.now)
            self.run(parent, self.flow(parent), Resume())

    def completed(self, row: SessionRow, flow: Flow, answers: Mapping[str, Value]) -> None:
        """A finished panel invitation makes a volunteer; a finished seat question seats
        a member, or gives the seat to a reserve."""
        settings = self.service.settings
        if flow.id == settings.panel_flow:
            panel_id = panels.volunteered(
                self.tx, flow, answers, self.contact.id, row.broadcast_id, self.now
            )
            if panel_id is not None:
                log.info("contact %s volunteered for panel %s", self.contact.id, panel_id)
        elif flow.id == settings.panel_seat_flow and panels.SEAT in answers:
            taken = panels.seat_answered(
                self.tx, self.contact.id, answers[panels.SEAT], flow.id, self.now
            )
            if taken is not None:
                log.info("a declined panel seat goes to a reserve (%s)", taken.member.label)
                self.service._scheduled = True

    def idea_answer(
        self, session_id: int, flow: Flow, step_id: str, value: Value, language: str
    ) -> None:
        """The idea flow's first text answer is the idea: stored now, its reference said."""
        step = flow.step(step_id)
        first_text = next(s for s in flow.steps if isinstance(s, TextQuestion))
        if step is first_text and isinstance(value, str):
            idea = ideas.submit(
                self.tx,
                self.contact,
                value,
                language,
                self.now,
                region=self.service.settings.region,
                session_id=session_id,
                inbound_id=self.inbound.id if self.inbound else None,
            )
            log.info(
                "idea %s from contact %s (flagged: %s)", idea.id, self.contact.id, idea.flagged
            )
            self.say(ideas.saved_text(self.service.env, language, idea))
        elif isinstance(step, ChoiceQuestion) and step_id == "category" and isinstance(value, str):
            earlier = ideas_store.of_session(self.tx, session_id)
            if earlier is not None:
                ideas_store.set_category(self.tx, earlier.id, value)

    def record(
        self,
        session_id: int,
        flow: Flow,
        step_id: str,
        value: Value,
        raw: str,
        language: str,
        inbound_id: int | None,
    ) -> None:
        """Store an answer; an answer to a poll is also the resident's (latest) vote."""
        channel = self.contact.channel
        answers.record(
            self.tx,
            answers.NewAnswer(
                session_id,
                self.contact.id,
                inbound_id,
                flow.id,
                step_id,
                value,
                raw,
                language,
                channel,
            ),
            self.now,
        )
        poll_id = polls.poll_id_of(flow.id)
        round_id = budgeting.round_id_of(flow.id)
        if poll_id is not None:
            polls.vote(self.tx, poll_id, self.contact.id, value, language, channel, self.now)
        elif round_id is not None and isinstance(value, list):
            choice = [int(number) for number in value]
            budgeting.cast(self.tx, round_id, self.contact.id, choice, language, channel, self.now)
            log.info("ballot cast (round %s, contact %s)", round_id, self.contact.id)
        elif flow.id == self.service.settings.idea_flow:
            self.idea_answer(session_id, flow, step_id, value, language)

    # -- the reply ---------------------------------------------------------------------

    def say(self, text: str, buttons: tuple[Button, ...] = (), redraw: bool = False) -> None:
        self.reply.texts.append(text)
        self.reply.redraws.append(redraw)
        if buttons:
            self.reply.buttons = buttons

    def pressed(self) -> str | None:
        """The message whose button the resident pressed, if that is what they did."""
        return self.inbound.pressed if self.inbound is not None else None

    def send_reply(self) -> None:
        """All of a turn's messages go as one reply: one SMS costs less than several."""
        if not self.reply.texts:
            return
        text, count = as_sent("\n\n".join(self.reply.texts), self.contact.channel)
        messages.add_outbound(
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
                replaces=self.pressed() if self.reply.redraw else None,
            ),
            self.now,
        )
        for attachment in self.reply.attachments:
            messages.add_outbound(
                self.tx,
                NewOutbound(
                    self.contact.id,
                    self.contact.channel,
                    attachment.caption,
                    self.language,
                    attachment=attachment.spec,
                ),
                self.now,
            )
