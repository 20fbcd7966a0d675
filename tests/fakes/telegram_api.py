"""A fake Telegram Bot API: the methods Parley's python-telegram-bot calls, updates to
hand out by long polling, and scripted failures for sendMessage."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.servers import TokenBucket

POLL_WAIT = 0.3  # a getUpdates call waits at most this long, so servers stop quickly


@dataclass
class Refusal:
    status: int
    retry_after: int | None = None
    description: str = "refused by the fake"


@dataclass
class FakeTelegram:
    token: str
    script: list[Refusal] = field(default_factory=list)  # sendMessage answers before success
    rate: float | None = None  # sendMessage calls per second allowed (a one-second bucket)
    sent: list[dict[str, Any]] = field(default_factory=list)  # accepted sendMessage calls
    files: list[dict[str, Any]] = field(default_factory=list)  # sendPhoto, sendDocument
    attempts: list[tuple[float, int]] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)  # callback query ids answered
    edits: list[dict[str, Any]] = field(default_factory=list)  # editMessage* calls
    webhook: dict[str, Any] | None = None
    too_fast: int = 0
    updates: list[dict[str, Any]] = field(default_factory=list)  # for getUpdates
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _news: asyncio.Event = field(default_factory=asyncio.Event)
    _bucket: TokenBucket = field(init=False)

    def __post_init__(self) -> None:
        self._bucket = TokenBucket(self.rate)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/bot{token}/{method}", self.call, methods=["POST"])])

    def to(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["chat_id"] == chat_id]

    def push(self, update: dict[str, Any]) -> None:
        """Make ``update`` available to getUpdates (polling mode)."""
        self.updates.append(update)
        self._news.set()

    async def call(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        if method in ("sendPhoto", "sendDocument"):
            return await self._send_file(request, method)
        params = dict(parse_qsl((await request.body()).decode()))
        if method == "getMe":
            return _ok({"id": 42, "is_bot": True, "first_name": "Parley", "username": "parley_bot"})
        if method == "setWebhook":
            self.webhook = params
            return _ok(True)
        if method == "deleteWebhook":
            self.webhook = None
            return _ok(True)
        if method == "answerCallbackQuery":
            self.answered.append(params["callback_query_id"])
            return _ok(True)
        if method == "getUpdates":
            return _ok(await self._get_updates(params))
        if method in ("editMessageReplyMarkup", "editMessageText"):
            return self._edit(params)
        if method == "sendMessage":
            return self._send(params)
        return _error(404, "Not Found: method not found")

    async def _get_updates(self, params: dict[str, str]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", "0"))
        waiting = [u for u in self.updates if u["update_id"] >= offset]
        if not waiting and float(params.get("timeout", "0")) > 0:
            self._news.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_WAIT):
                    await self._news.wait()
            waiting = [u for u in self.updates if u["update_id"] >= offset]
        return waiting

    async def _send_file(self, request: Request, method: str) -> Response:
        """A photo or document, sent as multipart form data as PTB does."""
        async with request.form() as form:
            part = form["photo" if method == "sendPhoto" else "document"]
            assert not isinstance(part, str), "Parley uploads the file itself"
            chat_id = int(str(form["chat_id"]))
            message_id = next(self._ids)
            self.files.append(
                {
                    "chat_id": chat_id,
                    "method": method,
                    "name": part.filename,
                    "data": await part.read(),
                    "caption": str(form.get("caption", "")),
                    "id": message_id,
                }
            )
        return _ok({"message_id": message_id, "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"}})  # fmt: skip

    def _edit(self, params: dict[str, str]) -> Response:
        """A new keyboard (and, with editMessageText, a new text) for a message already
        sent: the chat shows it from now on."""
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        markup = json.loads(params["reply_markup"]) if "reply_markup" in params else None
        edit = {"chat_id": chat_id, "id": message_id, "reply_markup": markup}
        if "text" in params:
            edit["text"] = params["text"]
        self.edits.append(edit)
        for message in self.sent:
            if message["chat_id"] == chat_id and message["id"] == message_id:
                message["reply_markup"] = markup
                message["text"] = params.get("text", message["text"])
                return _ok({**_message(chat_id, message_id, message["text"]),
                            "reply_markup": markup})  # fmt: skip
        return _error(400, "Bad Request: message to edit not found")

    def _send(self, params: dict[str, str]) -> Response:
        now = time.monotonic()
        if self._bucket.over():
            self.too_fast += 1
            self.attempts.append((now, 429))
            return _error(429, "Too Many Requests: retry after 1", retry_after=1)
        if self.script:
            refusal = self.script.pop(0)
            self.attempts.append((now, refusal.status))
            return _error(refusal.status, refusal.description, refusal.retry_after)
        self.attempts.append((now, 200))
        message_id = next(self._ids)
        chat_id = int(params["chat_id"])
        markup = json.loads(params["reply_markup"]) if "reply_markup" in params else None
        self.sent.append(
            {"chat_id": chat_id, "text": params["text"], "reply_markup": markup, "id": message_id}
        )
        return _ok(
            {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": params["text"],
            }
        )


def _message(chat_id: int, message_id: int, text: str) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "text": text,
    }


def _ok(result: Any) -> Response:
    return JSONResponse({"ok": True, "result": result})


def _error(status: int, description: str, retry_after: int | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=status)


class Residents:
    """Builds the updates Telegram would send for residents' messages and button presses."""

    def __init__(self) -> None:
        self._ids = itertools.count(1000)

    def _user(self, chat_id: int, language: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "Resident"}
        if language:
            user["language_code"] = language
        return user

    def message(self, chat_id: int, text: str, language: str | None = None) -> dict[str, Any]:
        update_id = next(self._ids)
        return {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": self._user(chat_id, language),
                "text": text,
            },
        }

    def press(
        self,
        chat_id: int,
        data: str,
        language: str | None = None,
        on: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A press of the button with callback ``data``; ``on`` is the sent message (as
        :attr:`FakeTelegram.sent` holds it) whose keyboard it is, sent back as Telegram does."""
        update_id = next(self._ids)
        message = _message(chat_id, 1, "question")
        if on is not None:
            message = _message(chat_id, on["id"], on["text"])
            if on["reply_markup"] is not None:
                message["reply_markup"] = on["reply_markup"]
        return {
            "update_id": update_id,
            "callback_query": {
                "id": f"cb{update_id}",
                "from": self._user(chat_id, language),
                "chat_instance": "ci",
                "data": data,
                "message": message,
            },
        }

    def blocked(self, chat_id: int) -> dict[str, Any]:
        update_id = next(self._ids)
        member = {"user": {"id": 42, "is_bot": True, "first_name": "Parley"}}
        return {
            "update_id": update_id,
            "my_chat_member": {
                "chat": {"id": chat_id, "type": "private"},
                "from": self._user(chat_id, None),
                "date": int(time.time()),
                "old_chat_member": {**member, "status": "member"},
                "new_chat_member": {**member, "status": "kicked", "until_date": 0},
            },
        }
