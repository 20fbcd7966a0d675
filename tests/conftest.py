"""Shared fixtures: a real SQLite file per test, the bundled flows and catalogs, a frozen
clock, and a simulator channel that records what the bot sends."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.channels.base import Inbound, Outbound
from bot.channels.simulator import SimulatorChannel
from bot.settings import Settings, load_settings
from tests import databases

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach a host other than this machine."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        local = ("127.0.0.1", "localhost", "::1", "")
        inet = self.family in (socket.AF_INET, socket.AF_INET6)
        if inet and isinstance(host, str) and host not in local:
            raise RuntimeError(f"test tried to reach {host}: tests stay on 127.0.0.1")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """On PostgreSQL, each test's databases are dropped when it ends (see tests/databases.py)."""
    yield
    databases.drop_made()


@pytest.fixture(scope="session", autouse=True)
def _drop_template() -> Iterator[None]:
    yield
    databases.drop_template()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        {"PARLEY_DATABASE": databases.of(tmp_path)}, config_file=_empty_config(tmp_path)
    )


def _empty_config(tmp_path: Path) -> Path:
    path = tmp_path / "parley.toml"
    path.write_text("[parley]\n", encoding="utf-8")
    return path


@dataclass
class Phone:
    """What one resident sees."""

    channel: str
    address: str
    language: str | None = None
    counter: int = 0


@dataclass
class Harness:
    """The real app on a real SQLite file, with the simulator standing in for providers."""

    app: App
    clock: Clock
    sent: list[Outbound] = field(default_factory=list)
    _ids: int = 0
    folder: Path | None = None  # the test's folder, for commands run beside the app

    async def send(
        self,
        text: str,
        address: str = "+447700900001",
        channel: str = "sms",
        language: str | None = None,
        provider_id: str | None = None,
    ) -> list[str]:
        """Send as a resident; return the texts the bot sent back to that resident (not
        the files staff get: see ``files``)."""
        self._ids += 1
        before = len(self.sent)
        await self.app.service.receive(
            Inbound(channel, address, text, provider_id or f"m{self._ids}", language)
        )
        await self.app.dispatcher.drain()
        return [m.text for m in self.sent[before:] if m.address == address and m.file is None]

    def files(self, address: str) -> list[Outbound]:
        """The files (exports, charts) sent to a staff member, with their captions."""
        return [m for m in self.sent if m.address == address and m.file is not None]

    async def rows(self, query: str, *params: Any) -> list[dict[str, Any]]:
        return await self.app.database.run(
            lambda tx: [dict(row) for row in tx.execute(query, params)]
        )

    async def restart(self, settings: Settings) -> None:
        """Close and reopen everything on the same database file, as a process restart."""
        await self.app.close()
        self.app = await open_app(settings, self.clock, self.sent)
        await self.app.recover()


async def open_app(settings: Settings, clock: Clock, sent: list[Outbound]) -> App:
    channels = {name: SimulatorChannel(name, sent.append) for name in ("sms", "telegram")}
    return await App.open(settings, channels, clock)


@pytest.fixture
async def harness(settings: Settings, clock: Clock) -> AsyncIterator[Harness]:
    sent: list[Outbound] = []
    app = await open_app(settings, clock, sent)
    bench = Harness(app, clock, sent)
    yield bench
    await bench.app.close()
