"""``parley run`` with real providers: one process serving the webhooks, sending the
outbox at each provider's pace, and (in polling mode) reading Telegram's updates."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import uvicorn
from telegram import Update

from bot.app import TELEGRAM_PATH, App
from bot.service import utc_now
from bot.settings import Settings
from bot.web import Intake, build_web, spawn

log = logging.getLogger(__name__)


class Server:
    """Start, run and stop everything; ``port`` is known once started."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self.app: App | None = None
        self._web: uvicorn.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: list[asyncio.Task[Any]] = []

    @property
    def port(self) -> int:
        assert self._web is not None, "not started"
        assert self._web.servers, "not listening"
        return int(self._web.servers[0].sockets[0].getsockname()[1])

    async def start(self) -> None:
        settings = self.settings
        self.app = app = await App.open(settings, None, self.clock)
        if app.telegram is not None:
            await app.telegram.start()
        await app.service.resume_pending()  # messages stored before the last stop
        config = uvicorn.Config(
            build_web(app),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._web = uvicorn.Server(config)
        self._running.append(asyncio.create_task(self._web.serve()))
        while not self._web.started:
            if self._running[0].done():  # e.g. the port is taken
                await self._running[0]
                raise RuntimeError("the web service stopped at start-up")
            await asyncio.sleep(0.02)
        self._running.append(asyncio.create_task(app.dispatcher.run()))
        telegram = settings.telegram
        if app.telegram is not None and telegram is not None:
            if telegram.mode == "polling":
                intake = Intake(app)
                self._running.append(asyncio.create_task(app.telegram.poll(self._poller(intake))))
            else:
                assert telegram.secret is not None
                await app.telegram.register_webhook(
                    f"{settings.public_url}{TELEGRAM_PATH}", telegram.secret
                )
        log.info("Parley is listening on %s:%s", settings.host, self.port)

    def _poller(self, intake: Intake) -> Callable[[Update], Any]:
        async def handle(update: Update) -> None:
            after = await intake.telegram_update(update)
            if after is not None:
                spawn(self._tasks, after())

        return handle

    async def wait(self) -> None:
        """Until the web service stops (Ctrl-C or SIGTERM) or a part fails."""
        done, _ = await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def stop(self) -> None:
        if self._web is not None:
            self._web.should_exit = True
        for task in [*self._running[1:], *self._tasks]:
            task.cancel()
        for task in [*self._running, *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._running.clear()
        if self.app is not None:
            await self.app.close()
            self.app = None


async def serve(settings: Settings) -> None:
    server = Server(settings)
    try:
        await server.start()
        await server.wait()
    finally:
        await server.stop()
