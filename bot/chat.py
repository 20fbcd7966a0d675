"""Talking to the bot as a resident from the terminal (the simulator).

Interactive: a prompt and the bot's replies. Piped (stdin not a terminal): one resident
reply per input line, and each bot message printed followed by a blank line, so a flow
can be tried from a script or CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import uuid
from collections.abc import Callable
from typing import TextIO

from bot.app import App
from bot.channels.base import Inbound, Outbound
from bot.channels.simulator import SimulatorChannel, render
from bot.settings import Settings


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
) -> None:
    show = _printer(out, interactive, buttons=channel == "telegram")
    app = await App.open(settings, {channel: SimulatorChannel(channel, show, address)})
    try:
        await app.recover()
        await app.jobs.resume()
        while True:
            line = await _next_line(source, interactive)
            if line is None:
                break
            if not line.strip():
                continue
            inbound = Inbound(channel, address, line, f"sim-{uuid.uuid4().hex}", language)
            await app.service.receive(inbound)
            await app.jobs.run_due()  # a staff member may have confirmed a send
            await app.dispatcher.drain()
    finally:
        await app.close()


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
