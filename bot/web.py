"""The web service providers call: Twilio and Telegram webhooks, and a health check.

Every webhook is authenticated before anything is read into the database: Twilio's
``X-Twilio-Signature`` against the public URL, Telegram's secret token header. A
message is committed, then the provider gets its answer (empty TwiML, or 200), and only
then is the message acted on, so a slow turn never makes a provider retry.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.app import TELEGRAM_PATH, TWILIO_SMS_PATH, TWILIO_STATUS_PATH, App
from bot.channels import telegram as tg
from bot.channels import twilio as tw
from bot.outbox import mark_recipient
from bot.store import messages

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Intake:
    """From a provider's report to a stored message; what to do next is returned as a
    coroutine function to run after the provider has its answer."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def telegram_update(
        self, update: Update
    ) -> Callable[[], Coroutine[Any, Any, None]] | None:
        blocked = tg.blocked_chat(update)
        if blocked is not None:
            await self.app.service.recipient_refused("telegram", blocked, "unreachable")
            return None
        message = tg.inbound_message(update)
        if message is None:
            return None
        contact_id = await self.app.service.store(message)
        query = update.callback_query

        async def after() -> None:
            if query is not None and self.app.telegram is not None:
                await self.app.telegram.answer_button(query.id)
            if contact_id is not None:
                await self.act(contact_id)

        return after

    async def act(self, contact_id: int) -> None:
        try:
            await self.app.service.process(contact_id)
        except Exception:  # the message stays stored, and is handled again at start-up
            log.exception("could not act on a message from contact %s", contact_id)


def build_web(app: App) -> Starlette:
    intake = Intake(app)
    settings = app.settings

    def twilio_signed(request: Request, form: FormData) -> bool:
        if app.twilio is None or settings.public_url is None:
            return False
        url = settings.public_url + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        signature = request.headers.get("X-Twilio-Signature", "")
        return bool(signature) and app.twilio.validator.validate(url, form, signature)

    async def twilio_sms(request: Request) -> Response:
        form = await request.form()
        if not twilio_signed(request, form):
            log.warning("refused a Twilio message post without a valid signature")
            return PlainTextResponse("invalid signature", status_code=403)
        message = tw.inbound_message(_fields(form))
        if message is None:
            return PlainTextResponse("no message in this post", status_code=400)
        contact_id = await app.service.store(message)
        task = BackgroundTask(intake.act, contact_id) if contact_id is not None else None
        return Response(EMPTY_TWIML, media_type="application/xml", background=task)

    async def twilio_status(request: Request) -> Response:
        form = await request.form()
        if not twilio_signed(request, form):
            log.warning("refused a Twilio status post without a valid signature")
            return PlainTextResponse("invalid signature", status_code=403)
        fields = _fields(form)
        sid, state = fields.get("MessageSid", ""), fields.get("MessageStatus", "")
        code = tw.delivery_error(fields)
        async with app.database.transaction() as tx:
            now = app.service.clock()
            error = f"Twilio error {code}" if code else None
            contact_id = await messages.record_delivery(tx, sid, state, error, now)
            if contact_id is not None and code == tw.OPTED_OUT_AT_CARRIER:
                await mark_recipient(tx, contact_id, "opted_out", now)
        return Response(status_code=204)

    async def telegram(request: Request) -> Response:
        expected = settings.telegram.secret if settings.telegram else None
        given = request.headers.get(SECRET_HEADER, "")
        if app.telegram is None or not expected or not hmac.compare_digest(given, expected):
            log.warning("refused a Telegram post without the secret token")
            return PlainTextResponse("invalid secret token", status_code=403)
        try:
            update = Update.de_json(json.loads(await request.body()), app.telegram.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return PlainTextResponse("not a Telegram update", status_code=400)
        after = await intake.telegram_update(update)
        return Response(status_code=200, background=BackgroundTask(after) if after else None)

    async def healthz(request: Request) -> Response:
        try:
            async with (
                app.database.transaction() as tx,
                tx.execute("SELECT count(*) FROM outbox WHERE status = 'queued'") as cursor,
            ):
                row = await cursor.fetchone()
        except Exception as error:
            log.error("health check: the database failed: %s", type(error).__name__)
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "queued": row[0] if row else 0})

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if app.twilio is not None:
        routes += [
            Route(TWILIO_SMS_PATH, twilio_sms, methods=["POST"]),
            Route(TWILIO_STATUS_PATH, twilio_status, methods=["POST"]),
        ]
    if app.telegram is not None and settings.telegram and settings.telegram.mode == "webhook":
        routes.append(Route(TELEGRAM_PATH, telegram, methods=["POST"]))
    return Starlette(routes=routes)


def _fields(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


def spawn(tasks: set[asyncio.Task[Any]], work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` in the background, keeping a reference until it is done."""
    task = asyncio.create_task(work)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
