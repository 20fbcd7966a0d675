"""The web service providers call: Twilio and Telegram webhooks, and a health check.

Every webhook is authenticated before anything is read into the database: Twilio's
``X-Twilio-Signature`` against the public URL, Telegram's secret token header. A
message is stored and acted on (a millisecond or two) before the provider gets its
answer (empty TwiML, or 200), so an answered webhook is never lost; one not answered
is sent again by the provider and de-duplicated.

What passes authentication is still not trusted: a body is read only up to
``MAX_BODY`` bytes and for ``BODY_TIMEOUT`` seconds, a message longer than the provider
sends and a sender Parley could never answer are refused, and every refusal is a 4xx
with one log line (no traceback, no phone number, no message text), nothing stored.

A Twilio status report names its message's outbox id in its (signed) URL: the first
report for a message its sender never recorded (the process died mid-call) records it
sent, so that no other process sends it again once the sender's claim runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import weakref
from collections.abc import Callable, Coroutine, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.app import TELEGRAM_PATH, TWILIO_SMS_PATH, TWILIO_STATUS_PATH, App
from bot.channels import twilio as tw
from bot.errors import ChannelError, DatabaseUnavailable
from bot.store import contacts, erasure, messages
from bot.store.sql import Tx

if TYPE_CHECKING:
    from telegram import Update

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 64 * 1024  # bytes: far more than any provider's form or update holds
BODY_TIMEOUT = 10.0  # seconds to receive a whole body
RETRY_AFTER = 5  # seconds a provider is asked to wait while the database is unavailable


class Refusal(Exception):
    """A request refused at the door: answered ``status``, logged as one line."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class TooLong(ChannelError):
    """A message longer than its provider ever sends."""


class Intake:
    """From a provider's report to a stored and handled message; what is left to do (a
    Telegram button's answer) is returned to run after the provider has its answer.

    An update Parley cannot trust raises ChannelError before anything is stored."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def telegram_update(
        self, update: Update
    ) -> Callable[[], Coroutine[Any, Any, None]] | None:
        from bot.channels import telegram as tg

        blocked = tg.blocked_chat(update)
        if blocked is not None:
            await self.app.service.recipient_refused("telegram", blocked, "unreachable")
            return None
        tick = update.callback_query
        if tick is not None and tg.only_ticks(tick):  # the keyboard changes, nothing is said
            return None if self.app.telegram is None else partial(self.app.telegram.tick, tick)
        message = tg.inbound_message(update)
        if message is None:
            return None
        if len(message.text) > tg.TEXT_LIMIT:
            raise TooLong(f"Telegram: a text longer than {tg.TEXT_LIMIT} characters")
        await self.app.service.receive(message)
        query, telegram = update.callback_query, self.app.telegram
        if query is None or telegram is None:
            return None

        return partial(telegram.pressed, query)


def routes(app: App) -> list[Route]:
    """The providers' webhooks (those configured) and the health check."""
    intake = Intake(app)
    settings = app.settings

    def twilio_signed(request: Request, form: dict[str, str]) -> bool:
        if app.twilio is None or settings.public_url is None:
            return False
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            return False
        # The URL Twilio requested, from the request itself rather than through
        # Starlette's parsed URL (a third of this check's cost).
        url = settings.public_url + request.scope["path"]
        if query := request.scope["query_string"]:
            url += "?" + query.decode("latin-1")
        validator = app.twilio.validator
        # The usual case costs one HMAC; validate() also tries the URL with and without
        # its port (Twilio signs either), computing two every time.
        if hmac.compare_digest(tw.signature_of(validator, url, form), signature.encode()):
            return True
        return bool(validator.validate(url, form, signature))

    async def twilio_sms(request: Request) -> Response:
        form = await _form(request)
        if not twilio_signed(request, form):
            log.warning("refused a Twilio message post without a valid signature")
            return PlainTextResponse("invalid signature", status_code=403)
        if len(form.get("Body", "")) > tw.BODY_LIMIT:
            raise Refusal(413, f"a Twilio message longer than {tw.BODY_LIMIT} characters")
        try:
            message = tw.inbound_message(form)
        except ChannelError as error:
            raise Refusal(400, str(error)) from None
        if message is None:
            return PlainTextResponse("no message in this post", status_code=400)
        await app.service.receive(message)
        return Response(EMPTY_TWIML, media_type="application/xml")

    async def twilio_status(request: Request) -> Response:
        form = await _form(request)
        if not twilio_signed(request, form):
            log.warning("refused a Twilio status post without a valid signature")
            return PlainTextResponse("invalid signature", status_code=403)
        sid, state = form.get("MessageSid", ""), form.get("MessageStatus", "")
        try:
            code = tw.delivery_error(form)
            outbox_id = tw.reported_outbox_id(request.query_params)
        except ChannelError as problem:
            raise Refusal(400, str(problem)) from None
        now = app.service.clock()
        error = f"Twilio error {code}" if code else None

        def work(tx: Tx) -> None:
            # Twilio has the message: if its sender has not recorded it (it may have died
            # mid-call), it is recorded sent now, so that no process sends it again.
            accepted = None
            if outbox_id is not None and sid and state in messages.DELIVERY_RANK:
                accepted = messages.mark_accepted(tx, outbox_id, sid, now, tw.TwilioChannel.names)
            contact_id = messages.record_delivery(tx, sid, state, error, now)
            if contact_id is not None and code == tw.OPTED_OUT_AT_CARRIER:
                contacts.refuse(tx, contact_id, "opted_out", now)
            if accepted is not None:  # a forgotten resident's goodbye: the address goes
                erasure.after_goodbye(tx, accepted, now)

        await app.database.run(work)
        return Response(status_code=204)

    async def telegram(request: Request) -> Response:
        expected = settings.telegram.secret if settings.telegram else None
        given = request.headers.get(SECRET_HEADER, "")
        if app.telegram is None or not expected or not hmac.compare_digest(given, expected):
            log.warning("refused a Telegram post without the secret token")
            return PlainTextResponse("invalid secret token", status_code=403)
        body = await _body(request)
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise TypeError("not an object")
            from telegram import Update

            update = Update.de_json(data, app.telegram.bot)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            raise Refusal(400, "a Telegram post that is not an update") from None
        try:
            after = await intake.telegram_update(update)
        except ChannelError as error:
            status = 413 if isinstance(error, TooLong) else 400
            raise Refusal(status, str(error)) from None
        return Response(status_code=200, background=BackgroundTask(after) if after else None)

    async def healthz(request: Request) -> Response:
        try:
            row = await app.database.run(
                lambda tx: tx.execute(
                    "SELECT count(*) FROM outbox WHERE status = 'queued'"
                ).fetchone()
            )
        except Exception as error:
            log.error("health check: the database failed: %s", type(error).__name__)
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "queued": row[0] if row else 0})

    served = [Route("/healthz", healthz, methods=["GET"])]
    if app.twilio is not None:
        served += [
            Route(TWILIO_SMS_PATH, twilio_sms, methods=["POST"]),
            Route(TWILIO_STATUS_PATH, twilio_status, methods=["POST"]),
        ]
    if app.telegram is not None and settings.telegram and settings.telegram.mode == "webhook":
        served.append(Route(TELEGRAM_PATH, telegram, methods=["POST"]))
    return served


async def _refused(request: Request, refusal: Refusal) -> Response:
    """One warning line, and the refusal's status."""
    log.warning(
        "refused %s %s (%d): %s", request.method, request.url.path, refusal.status, refusal.reason
    )
    # The connection is closed after the answer: what is left of a refused body is
    # never read.
    return PlainTextResponse(
        refusal.reason, status_code=refusal.status, headers={"Connection": "close"}
    )


async def _disconnected(request: Request, error: ClientDisconnect) -> Response:
    log.warning(
        "%s %s: the client went away before sending its whole body",
        request.method,
        request.url.path,
    )
    return Response(status_code=400)


async def _body(request: Request) -> bytes:
    """The request's body, refused (413) past ``MAX_BODY`` bytes before reading it all,
    and (408) when it takes longer than ``BODY_TIMEOUT`` to arrive."""
    length = request.headers.get("content-length", "")
    if len(length) > len(str(MAX_BODY)) or (length.isdigit() and int(length) > MAX_BODY):
        raise Refusal(413, f"a body larger than {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    with _READING.watch(BODY_TIMEOUT) as watch:
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY:
                    raise Refusal(413, f"a body larger than {MAX_BODY} bytes")
                chunks.append(chunk)
        except asyncio.CancelledError:
            if watch.timed_out():
                raise Refusal(408, f"a body not received within {BODY_TIMEOUT:g} seconds") from None
            raise
    return b"".join(chunks)


class _Watch:
    """One task reading a body, until its deadline."""

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.cancelling = task.cancelling()  # cancellations asked before, not ours
        self.expired = False

    def timed_out(self) -> bool:
        """Whether the task was cancelled for its deadline alone (and if so, it is no
        longer being cancelled), as ``asyncio.timeout`` tells it apart."""
        return self.expired and self.task.uncancel() <= self.cancelling


class _Deadlines:
    """The tasks reading a body, grouped by the tenth of a second their time runs out:
    one timer a tenth of a second for all of them, where ``asyncio.timeout`` makes one
    per request (a Timeout and a TimerHandle, pushed into the event loop's heap with
    Python comparisons, then cancelled, the heap rebuilt whenever half of it is
    cancelled): that was a third of what the Twilio webhook's own code cost the event loop
    (py-spy). A body may take up to a tenth of a second longer than its timeout."""

    STEP = 0.1  # seconds

    def __init__(self) -> None:
        # Per event loop (a timer fires on the loop it was set on), gone with its loop.
        self._due: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, set[_Watch]]]
        self._due = weakref.WeakKeyDictionary()

    @contextlib.contextmanager
    def watch(self, timeout: float) -> Iterator[_Watch]:
        """The current task, cancelled once ``timeout`` has passed (:meth:`_Watch.timed_out`
        then says so) unless it has left this block."""
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        due = self._due.get(loop)
        if due is None:
            due = self._due[loop] = {}
        tick = math.ceil((loop.time() + timeout) / self.STEP)
        watches = due.get(tick)
        if watches is None:
            watches = due[tick] = set()
            loop.call_at(tick * self.STEP, self._expire, due, tick)
        watch = _Watch(task)
        watches.add(watch)
        try:
            yield watch
        finally:
            watches.discard(watch)

    @staticmethod
    def _expire(due: dict[int, set[_Watch]], tick: int) -> None:
        for watch in due.pop(tick, ()):
            watch.expired = True
            watch.task.cancel()


_READING = _Deadlines()


async def _form(request: Request) -> dict[str, str]:
    """Twilio's form post (always URL-encoded; a repeated field keeps its last value)."""
    return form_fields((await _body(request)).decode("utf-8", "replace"))


def form_fields(body: str) -> dict[str, str]:
    """A URL-encoded form's fields, as ``dict(parse_qsl(body, keep_blank_values=True))``
    reads them, at a third of its cost: a field is unquoted only when it needs it."""
    fields: dict[str, str] = {}
    for pair in body.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            fields[_unquoted(name)] = _unquoted(value)
    return fields


def _unquoted(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    return unquote(text) if "%" in text else text


async def _database_away(request: Request, error: DatabaseUnavailable) -> Response:
    """The database server is gone for now: nothing was stored, so the provider must send
    the message again (Twilio and Telegram retry a 503), never a 200 that would lose it."""
    log.error("%s %s answered 503: %s", request.method, request.url.path, error)
    return PlainTextResponse(
        "the database is unavailable; send this again later",
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER)},
    )


EXCEPTION_HANDLERS: Any = {
    Refusal: _refused,
    ClientDisconnect: _disconnected,
    DatabaseUnavailable: _database_away,
}
"""What a webhook refused at the door is answered with (and logged as)."""


def spawn(tasks: set[asyncio.Task[Any]], work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` in the background, keeping a reference until it is done."""
    task = asyncio.create_task(work)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
