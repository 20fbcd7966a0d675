"""The staff web, in process: the real app on a real SQLite file, served through
Starlette to httpx (no network), with an organiser's and a worker's accounts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx
import pytest

from bot.desk.accounts import password
from bot.store import staff
from bot.store.sql import Tx
from bot.web.admin.pages import PAGES
from bot.web.app import build
from tests.conftest import Harness

ORGANISER = ("olu", "organiser password 1")
WORKER = ("wren", "worker password 22")
WEB_PAGES = [
    page.path
    for page in PAGES
    if "GET" in page.methods and not page.path.endswith((".png", "/progress"))
]
"""Every HTML page of the staff web (not the chart images nor the progress JSON)."""
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
# Made once: Argon2 takes a tenth of a second on purpose.
_HASHES: dict[str, str] = {}


def hashed(text: str) -> str:
    if text not in _HASHES:
        _HASHES[text] = password(text).hashed
    return _HASHES[text]


def add_account(tx: Tx, name: str, role: str, text: str, harness: Harness) -> None:
    staff.add(tx, name, role, hashed(text), harness.clock())


@dataclass
class Browser:
    """An httpx client with its cookies, that knows the page's form token."""

    client: httpx.AsyncClient
    token: str = ""

    async def get(self, path: str) -> httpx.Response:
        page = await self.client.get(path)
        found = _TOKEN.search(page.text)
        if found:
            self.token = found.group(1)
        return page

    async def post(
        self, path: str, data: Mapping[str, object] | None = None, **extra: object
    ) -> httpx.Response:
        fields = {"csrf_token": self.token, **(data or {})}
        return await self.client.post(path, data=fields, **extra)  # type: ignore[arg-type]

    async def sign_in(self, name: str, secret: str) -> httpx.Response:
        await self.get("/admin/login")
        answer = await self.post("/admin/login", {"name": name, "password": secret})
        await self.get("/admin/")
        return answer


@pytest.fixture
async def web(harness: Harness) -> Harness:
    def accounts(tx: Tx) -> None:
        add_account(tx, ORGANISER[0], "organiser", ORGANISER[1], harness)
        add_account(tx, WORKER[0], "worker", WORKER[1], harness)

    await harness.app.database.run(accounts)
    return harness


async def browser(harness: Harness, address: str = "198.51.100.7") -> Browser:
    """A new browser (no cookies yet) at a network ``address``."""
    transport = httpx.ASGITransport(app=build(harness.app), client=(address, 5000))
    client = httpx.AsyncClient(transport=transport, base_url="http://parley.test")
    return Browser(client)


@pytest.fixture
async def organiser(web: Harness) -> AsyncIterator[Browser]:
    signed = await browser(web)
    await signed.sign_in(*ORGANISER)
    yield signed
    await signed.client.aclose()


@pytest.fixture
async def worker(web: Harness) -> AsyncIterator[Browser]:
    signed = await browser(web)
    await signed.sign_in(*WORKER)
    yield signed
    await signed.client.aclose()


# The live Parley and the fake providers of the channel tests, for the browser tests.
from tests.channels.conftest import fake_telegram, fake_twilio, live  # noqa: E402, F401
