"""A fake Twilio REST API: enough of ``POST /2010-04-01/Accounts/{sid}/Messages.json``
for the real twilio SDK to send through it, with scripted failures and an enforced rate."""

from __future__ import annotations

import base64
import itertools
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _bucket: TokenBucket = field(init=False)

    def __post_init__(self) -> None:
        self._bucket = TokenBucket(self.rate)

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
        return JSONResponse(body, status_code=201)

    def _answer(self, refusal: Refusal) -> Response:
        self.attempts.append((time.monotonic(), refusal.status))
        headers = {}
        if refusal.retry_after is not None:
            headers["Retry-After"] = f"{refusal.retry_after:g}"
        body = {"code": refusal.code, "message": "refused by the fake", "status": refusal.status}
        return JSONResponse(body, status_code=refusal.status, headers=headers)
