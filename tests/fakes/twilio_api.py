"""A fake Twilio REST API: enough of ``POST /2010-04-01/Accounts/{sid}/Messages.json``
for the real twilio SDK to send through it, with scripted failures and an enforced rate.

Given where the public URL leads (``status_to``), it calls each accepted message's
status callback as Twilio does: shortly after accepting it, a signed form post for each
of ``status_states``. Like a load balancer in front of several processes, it posts a
report that was refused, cut off or answered 5xx again to the next of them."""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from bot.channels.segments import segments
from tests.fakes.servers import TokenBucket


@dataclass
class Refusal:
    status: int
    code: int | None = None
    retry_after: float | None = None


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    script: list[Refusal] = field(default_factory=list)  # answers before the next success
    rate: float | None = None  # SMS segments per second allowed (a one-second bucket)
    messages: list[dict[str, str]] = field(default_factory=list)  # accepted, in order
    attempts: list[tuple[float, int]] = field(default_factory=list)  # (time, status)
    too_fast: int = 0  # requests refused by the rate limit
    status_to: list[str] = field(default_factory=list)  # base URLs behind the public URL
    status_states: tuple[str, ...] = ("queued", "sent")  # the reports, in order
    status_after: float = 0.05  # seconds after accepting a message that its reports go
    reports: list[tuple[str, str, int]] = field(default_factory=list)  # (sid, state, answer)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _bucket: TokenBucket = field(init=False)
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _client: httpx.AsyncClient | None = None
    _reporting: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._bucket = TokenBucket(self.rate)

    async def close(self) -> None:
        """Stop the reports still to come and close the connections they used (in the
        loop that served it)."""
        for task in self._reporting:
            task.cancel()
        await asyncio.gather(*self._reporting, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def app(self) -> Starlette:
        path = "/2010-04-01/Accounts/{sid}/Messages.json"
        return Starlette(routes=[Route(path, self.create, methods=["POST"])])

    def to(self, address: str) -> list[str]:
        return [m["Body"] for m in self.messages if m["To"] == address]

    async def create(self, request: Request) -> Response:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.path_params["sid"] != self.account_sid or (
            request.headers.get("Authorization") != f"Basic {expected}"
        ):
            return self._answer(Refusal(401, 20003))
        form = {k: v for k, v in parse_qsl((await request.body()).decode())}
        if self._bucket.over(segments(form.get("Body", "")).count):
            self.too_fast += 1
            return self._answer(Refusal(429, 20429, retry_after=1))
        if self.script:
            return self._answer(self.script.pop(0))
        sid = f"SM{next(self._ids):032x}"
        self.messages.append({**form, "sid": sid})
        self.attempts.append((time.monotonic(), 201))
        body = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": form.get("To"),
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body"),
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
        }
        callback = form.get("StatusCallback")
        if callback and self.status_to:  # whether or not the sender reads the answer
            task = asyncio.create_task(self._report(callback, {**form, "sid": sid}))
            self._reporting.add(task)
            task.add_done_callback(self._reporting.discard)
        return JSONResponse(body, status_code=201)

    async def _report(self, callback: str, message: dict[str, str]) -> None:
        """Post the message's status reports to its callback URL, signed for that URL."""
        await asyncio.sleep(self.status_after)
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=15.0)
        url = urlsplit(callback)
        target = url.path + (f"?{url.query}" if url.query else "")
        validator = RequestValidator(self.auth_token)
        for state in self.status_states:
            form = {
                "AccountSid": self.account_sid,
                "ApiVersion": "2010-04-01",
                "From": message.get("From", ""),
                "MessageSid": message["sid"],
                "MessageStatus": state,
                "SmsSid": message["sid"],
                "SmsStatus": state,
                "To": message.get("To", ""),
            }
            headers = {"X-Twilio-Signature": validator.compute_signature(callback, form)}
            answer = 0
            for _ in range(3 * len(self.status_to)):
                host = self.status_to[next(self._turn) % len(self.status_to)]
                try:
                    response = await self._client.post(host + target, data=form, headers=headers)
                except httpx.HTTPError:
                    continue
                answer = response.status_code
                if answer < 500:
                    break
            self.reports.append((message["sid"], state, answer))

    def _answer(self, refusal: Refusal) -> Response:
        self.attempts.append((time.monotonic(), refusal.status))
        headers = {}
        if refusal.retry_after is not None:
            headers["Retry-After"] = f"{refusal.retry_after:g}"
        body = {"code": refusal.code, "message": "refused by the fake", "status": refusal.status}
        return JSONResponse(body, status_code=refusal.status, headers=headers)
