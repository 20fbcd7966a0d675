"""``parley run`` with real providers: one process serving the webhooks, sending the
outbox at each provider's pace, and (in polling mode) reading Telegram's updates."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bot.app import TELEGRAM_PATH, App
from bot.errors import ChannelError, ConfigError
from bot.outreach.retention import Retention
from bot.outreach.scheduler import Scheduler
from bot.service import utc_now
from bot.settings import Settings
from bot.web.app import build as build_web
from bot.web.webhooks import Intake, spawn

if TYPE_CHECKING:  # Telegram's SDK is imported only where a Telegram channel is made
    from telegram import Update

log = logging.getLogger(__name__)

KEEP_ALIVE = 5  # seconds an idle connection is kept open
HEADER_TIMEOUT = 10.0  # seconds for a request's line and headers to arrive
MAX_CONNECTIONS = 1000  # at once; beyond, uvicorn answers 503 rather than slow everyone


class _WebServer(uvicorn.Server):
    """uvicorn, minus its signal handling: Parley's own shuts everything down in order
    (uvicorn would re-raise SIGTERM and end the process before the database closes)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _Http(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 on its C parser (httptools; the pure-Python h11 costs a fifth of
    the inbound throughput), closing a connection that has not sent a whole request line
    and headers within ``HEADER_TIMEOUT`` seconds of opening or of its last answer:
    uvicorn itself only times out a connection that stays silent, and one byte now and
    then would hold a connection for ever."""

    _timer: asyncio.TimerHandle | None = None
    _waiting_since: object = None  # the cycle that was current when the timer was set

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._waiting_since = self.cycle
        self._timer = self.loop.call_later(HEADER_TIMEOUT, self._too_slow)

    def _too_slow(self) -> None:
        self._timer = None
        if self.cycle is self._waiting_since and not self.transport.is_closing():
            log.warning("closed a connection that sent no whole request in %g s", HEADER_TIMEOUT)
            self.transport.close()


async def listen(app: App) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """The web service (webhooks, the staff web, public results pages) listening on the
    deployment's address; ConfigError if it cannot."""
    settings = app.settings
    config = uvicorn.Config(
        build_web(app),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http=_Http,
        timeout_keep_alive=KEEP_ALIVE,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_graceful_shutdown=10,
    )
    web = _WebServer(config)
    serving = asyncio.create_task(web.serve())
    while not web.started:
        if serving.done():  # uvicorn has logged why, e.g. the port is taken
            raise ConfigError(f"PARLEY_PORT: could not listen on {settings.host}:{settings.port}")
        await asyncio.sleep(0.02)
    return web, serving


class Server:
    """Start, run and stop everything; ``port`` is known once started."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self.app: App | None = None
        self._web: uvicorn.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: list[asyncio.Task[Any]] = []
        self.scheduler: Scheduler | None = None

    @property
    def port(self) -> int:
        assert self._web is not None, "not started"
        assert self._web.servers, "not listening"
        return int(self._web.servers[0].sockets[0].getsockname()[1])

    async def start(self) -> None:
        settings = self.settings
        self.app = app = await App.open(settings, None, self.clock)
        if app.telegram is not None:
            await _telegram_start(app.telegram.start())
        # Load the language model before the first new resident writes, not on their message.
        await asyncio.to_thread(app.guesser.warm)
        await app.service.resume_pending()  # messages stored before the last stop
        self._web, serving = await listen(app)
        self._running.append(serving)
        self._running.append(asyncio.create_task(app.dispatcher.run()))
        leadership = app.database.leadership()
        self.scheduler = Scheduler(app.jobs, Retention.of(app.jobs), leadership)
        app.service.on_scheduled = self.scheduler.poke
        await self.scheduler.start()
        telegram = settings.telegram
        if app.telegram is not None and telegram is not None:
            if telegram.mode == "polling":
                intake = Intake(app)
                self._running.append(asyncio.create_task(app.telegram.poll(self._poller(intake))))
            else:
                assert telegram.secret is not None
                await _telegram_start(
                    app.telegram.register_webhook(
                        f"{settings.public_url}{TELEGRAM_PATH}", telegram.secret
                    )
                )
        log.info("Parley is listening on %s:%s", settings.host, self.port)

    def _poller(self, intake: Intake) -> Callable[[Update], Any]:
        async def handle(update: Update) -> None:
            try:
                after = await intake.telegram_update(update)
            except ChannelError as error:  # never stored: asking again would not help
                log.warning("skipped a Telegram update: %s", error)
                return
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
        if self.scheduler is not None:
            self.scheduler.stop()
        for task in [*self._running[1:], *self._tasks]:
            task.cancel()
        for task in [*self._running, *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._running.clear()
        if self.app is not None:
            await self.app.close()
            self.app = None


async def _telegram_start(call: Coroutine[Any, Any, None]) -> None:
    """Telegram refusing Parley at start-up is a settings problem, not a crash."""
    from telegram.error import InvalidToken, TelegramError

    try:
        await call
    except InvalidToken:
        raise ConfigError("TELEGRAM_BOT_TOKEN: Telegram refused this token") from None
    except TelegramError as error:
        raise ChannelError(f"Telegram: {error.message}") from None


YOUNG_OBJECTS = 10_000
"""Objects made and not yet freed before the garbage collector's youngest pass runs, in
``parley run`` (bench/inbound.py: its time under load 85 ms against 5 ms at 10,000)."""


async def serve(settings: Settings) -> None:
    """Run until SIGINT (Ctrl-C) or SIGTERM, then stop cleanly."""
    server = Server(settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await server.start()
        # What start-up made (modules, flows, catalogs, the web app) lives as long as the
        # process: set aside, the collector's full passes no longer walk it each time,
        # which under load was a tenth of a message's CPU (py-spy: gc_collect_main). A
        # message's objects are freed as it is answered, nearly all without the
        # collector, so it runs after YOUNG_OBJECTS new ones rather than Python's 700.
        gc.freeze()
        gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])
        stop = asyncio.create_task(stopping.wait())
        running = asyncio.create_task(server.wait())
        await asyncio.wait((stop, running), return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if running.done():
            await running  # a part failed: its error ends the run
        running.cancel()
    finally:
        await server.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
