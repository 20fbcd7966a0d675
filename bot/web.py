"""The web service providers call: Twilio and Telegram webhooks, and a health check.

Every webhook is authenticated before anything is read into the database: Twilio's
``X-Twilio-Signature`` against the public URL, Telegram's secret token header. A
message is stored and acted on (a millisecond or two) before the provider gets its
answer (empty TwiML, or 200), so an answered webhook is never lost; one not answered
is sent again by the provider and de-duplicated.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import sqlite3
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.app import TELEGRAM_PATH, TWILIO_SMS_PATH, TWILIO_STATUS_PATH, App
from bot.channels import telegram as tg
from bot.channels import twilio as tw
from bot.store import contacts, messages

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Intake:
    """From a provider's report to a stored and handled message; what is left to do (a
    Telegram button's answer) is returned to run after the provider has its answer."""

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
        await self.app.service.receive(message)
        query, telegram = update.callback_query, self.app.telegram
        if query is None or telegram is None:
            return None

        async def answer_button() -> None:
            await telegram.answer_button(query.id)

        return answer_button


def build_web(app: App) -> Starlette:
    intake = Intake(app)
    settings = app.settings

    def twilio_signed(request: Request, form: dict[str, str]) -> bool:
        if app.twilio is None or settings.public_url is None:
            return False
        url = settings.public_url + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            return False
        validator = app.twilio.validator
        # The usual case costs one HMAC; validate() also tries the URL with and without
        # its port (Twilio signs either), computing two every time.
        expected = validator.compute_signature(url, form)
        if hmac.compare_digest(expected.encode(), signature.encode()):
            return True
        return bool(validator.validate(url, form, signature))

    async def twilio_sms(request: Request) -> Response:
        form = await _form(request)
        if not twilio_signed(request, form):
            log.warning("refused a Twilio message post without a valid signature")
            return PlainTextResponse("invalid signature", status_code=403)
        message = tw.inbound_message(form)
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
        code = tw.delivery_error(form)
        now = app.service.clock()
        error = f"Twilio error {code}" if code else None

        def work(tx: sqlite3.Connection) -> None:
            contact_id = messages.record_delivery(tx, sid, state, error, now)
            if contact_id is not None and code == tw.OPTED_OUT_AT_CARRIER:
                contacts.refuse(tx, contact_id, "opted_out", now)

        await app.database.run(work)
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
            row = await app.database.run(
                lambda tx: tx.execute(
                    "SELECT count(*) FROM outbox WHERE status = 'queued'"
                ).fetchone()
            )
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


async def _form(request: Request) -> dict[str, str]:
    """Twilio's form post (always URL-encoded; a repeated field keeps its last value)."""
    return dict(
        parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    )


def spawn(tasks: set[asyncio.Task[Any]], work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` in the background, keeping a reference until it is done."""
    task = asyncio.create_task(work)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
