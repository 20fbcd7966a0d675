"""Talking to the bot as a resident from the terminal (the simulator).

Interactive: a prompt and the bot's replies. Piped (stdin not a terminal): one resident
reply per input line, and each bot message printed followed by a blank line, so a flow
can be tried from a script or CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from bot.app import App
from bot.channels.base import Inbound, Outbound
from bot.channels.simulator import SimulatorChannel, render
from bot.settings import Settings
from bot.store.location import Location


def _printer(out: TextIO, interactive: bool, buttons: bool) -> Callable[[Outbound], None]:
    def show(message: Outbound) -> None:
        text = render(message, buttons)
        if interactive:
            lines = text.splitlines() or [""]
            out.write("bot> " + "\n     ".join(lines) + "\n")
        else:
            out.write(text + "\n\n")
        out.flush()

    return show


async def chat(
    settings: Settings,
    channel: str,
    address: str,
    language: str | None,
    source: TextIO,
    out: TextIO,
    interactive: bool,
    web: bool = False,
) -> None:
    show = _printer(out, interactive, buttons=channel == "telegram")
    app = await App.open(settings, {channel: SimulatorChannel(channel, show, address)})
    settling = asyncio.Lock()
    pending: set[asyncio.Task[None]] = set()

    async def settle() -> None:
        """Do what is due (a send a staff member confirmed) and send what is queued,
        one at a time, whether the resident or the staff web asked."""
        async with settling:
            await app.jobs.run_due()
            await app.dispatcher.drain()

    def soon() -> None:
        task = asyncio.create_task(settle())
        pending.add(task)
        task.add_done_callback(pending.discard)

    served = None
    try:
        await app.recover()
        await app.jobs.resume()
        if web:
            served = await _staff_web(app, interactive)
            app.service.on_scheduled = soon
        while True:
            line = await _next_line(source, interactive)
            if line is None:
                break
            if not line.strip():
                continue
            inbound = Inbound(channel, address, line, f"sim-{uuid.uuid4().hex}", language)
            await app.service.receive(inbound)
            await settle()
    finally:
        if served is not None:
            served[0].should_exit = True
            await served[1]
        for task in list(pending):
            await task
        await app.close()


async def _staff_web(app: App, interactive: bool) -> tuple[Any, asyncio.Task[None]] | None:
    """The staff web beside the simulator (``parley run`` with no provider): a worker can
    send the simulated resident a poll from the browser. A port already taken is said,
    and the simulator goes on without it."""
    from bot.errors import ConfigError
    from bot.server import listen

    settings = app.settings
    try:
        served = await listen(app)
    except ConfigError as problem:
        sys.stderr.write(f"The staff web is not served: {problem}\n")
        return None
    if interactive:
        sys.stderr.write(
            f"Staff web: http://{settings.host}:{settings.port}/admin/ (make an account"
            " first: parley staff add NAME --role organiser)\n"
        )
    return served


async def _next_line(source: TextIO, interactive: bool) -> str | None:
    """The resident's next line, read in a thread of its own that is left behind on
    Ctrl-C: a thread of asyncio's pool would be waited for at exit, until Enter."""
    loop = asyncio.get_running_loop()
    line: asyncio.Future[str | None] = loop.create_future()

    def settle(value: str | None, problem: BaseException | None) -> None:
        if line.done():
            return
        if problem is not None:
            line.set_exception(problem)
        else:
            line.set_result(value)

    def read() -> None:
        try:
            value, problem = _read_line(source, interactive), None
        except Exception as error:  # handed to the reader, as to_thread would
            value, problem = None, error
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
            loop.call_soon_threadsafe(settle, value, problem)

    threading.Thread(target=read, name="parley-chat-input", daemon=True).start()
    return await line


def _read_line(source: TextIO, interactive: bool) -> str | None:
    if interactive:
        try:
            return input("you> ")
        except EOFError:
            sys.stdout.write("\n")
            return None
    line = source.readline()
    return line.rstrip("\r\n") if line else None


def chat_log(database: Location) -> Path:
    """Where the simulator's log lines go: a file beside its database (or here, when the
    database is on a server)."""
    folder = database.parent if isinstance(database, Path) else Path.cwd()
    return folder / "parley-chat.log"


@contextlib.contextmanager
def logs_aside(database: Location, verbose: bool) -> Iterator[None]:
    """Keep log lines out of the conversation while the simulator runs.

    The terminal is the resident's phone: a WARNING printed between two bot messages
    reads as one of them. Log lines go to :func:`chat_log` instead (the file is made only
    when something is logged), unless ``-v`` asked for them on the terminal."""
    if verbose:
        yield
        return
    root = logging.getLogger()
    terminal = [h for h in root.handlers if isinstance(h, logging.StreamHandler)]
    terminal = [h for h in terminal if not isinstance(h, logging.FileHandler)]
    aside = logging.FileHandler(chat_log(database), encoding="utf-8", delay=True)
    aside.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for handler in terminal:
        root.removeHandler(handler)
    root.addHandler(aside)
    try:
        yield
    finally:
        root.removeHandler(aside)
        aside.close()
        for handler in terminal:
            root.addHandler(handler)
