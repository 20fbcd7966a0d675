"""Making an export in a process of its own, at low CPU priority, so that a large one
(a million answers take seconds of CPU) never slows the webhooks that residents'
messages arrive by: the web server's process only passes bytes along.

Both halves of the pipe are here. The web starts ``python -m bot.exports.worker`` with
:meth:`Making.start`, which writes to the worker's standard input a pickle of
``(settings, request, key, now)`` (made by the parent, so trusted) and closes it. The
worker (:func:`main`) lowers its priority, loads the flows, reads a snapshot of the
database and writes the file to its standard output: the CSV as it is made, or a FLOIP
zip made in a temporary file first. The last line on its standard error is the number
of rows; if it fails, its exit status is 1 and that line says why. Nothing but the
file ever reaches its standard output: not a traceback, not a stray print.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import pickle
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO

from bot.errors import ParleyError
from bot.exports.request import Maker, Request
from bot.settings import Settings

log = logging.getLogger(__name__)

COMMAND: tuple[str, ...] = ("-m", "bot.exports.worker")
"""The worker, as arguments to this Python."""
CHUNK = 65536
"""Bytes read from the worker at a time."""
NICENESS = 10
_STDERR_KEPT = 4096  # of what the worker says on standard error: its last lines


# -- the worker --------------------------------------------------------------------------


def make(settings: Settings, request: Request, key: bytes, now: datetime, out: IO[bytes]) -> int:
    """Write the export to ``out`` (binary): its rows."""
    from bot.content import load_content
    from bot.store.database import snapshot

    flows, env = load_content(settings)
    maker = Maker(settings, flows, env, key)
    with snapshot(settings.database) as tx:
        if request.format == "floip":
            with tempfile.TemporaryDirectory(prefix="parley-export-") as folder:
                target = Path(folder) / "package.zip"
                rows = maker.write_floip(tx, request, target, now)
                with target.open("rb") as package:
                    shutil.copyfileobj(package, out, CHUNK)
            return rows
        table = maker.table(tx, request)
        text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        try:
            rows = maker.write_csv(table, request, text)
            text.flush()
        finally:
            text.detach()
        return rows


def main() -> int:
    # The file goes to the real standard output; anything else printed goes to
    # standard error, so a stray print or warning can never corrupt the download.
    out = os.fdopen(os.dup(1), "wb", buffering=CHUNK)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    try:
        settings, request, key, now = pickle.loads(sys.stdin.buffer.read())
        rows = make(settings, request, key, now, out)
        out.flush()
    except BaseException as problem:  # one line, never a traceback: it may quote data
        said = f": {str(problem)[:200]}" if isinstance(problem, ParleyError) else ""
        sys.stderr.write(f"\nfailed: {type(problem).__name__}{said}\n")
        sys.stderr.flush()
        return 1
    sys.stderr.write(f"\n{rows}\n")
    sys.stderr.flush()
    return 0


# -- the web's side ------------------------------------------------------------------------


class Making:
    """An export a worker process is making: its bytes as they come, then its rows."""

    def __init__(self, process: asyncio.subprocess.Process, export_id: int) -> None:
        self.process = process
        self.export_id = export_id
        self._said = bytearray()
        assert process.stderr is not None
        # Read standard error as it comes: a worker that says a lot there must never
        # wait on a full pipe while the web waits on its standard output.
        self._listening = asyncio.ensure_future(self._listen(process.stderr))

    @classmethod
    async def start(
        cls, settings: Settings, request: Request, key: bytes, now: datetime, export_id: int
    ) -> Making:
        # The worker needs no provider's credentials: they stay in this process.
        job = pickle.dumps((replace(settings, twilio=None, telegram=None), request, key, now))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *COMMAND,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        making = cls(process, export_id)
        assert process.stdin is not None
        try:
            process.stdin.write(job)
            await process.stdin.drain()
            process.stdin.close()
            await process.stdin.wait_closed()
        except (BrokenPipeError, ConnectionResetError):
            pass  # it ended already: finished() says how
        except BaseException:
            await making.stop()
            raise
        return making

    async def _listen(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(CHUNK):
            self._said += chunk
            del self._said[:-_STDERR_KEPT]

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file, as the worker writes it."""
        assert self.process.stdout is not None
        while chunk := await self.process.stdout.read(CHUNK):
            yield chunk

    async def finished(self) -> int | None:
        """Once the worker has ended: the rows it wrote, or None (and one log line)."""
        status = await self.process.wait()
        await self._listening
        lines = self._said.decode("utf-8", "replace").strip().splitlines()
        last = lines[-1].strip() if lines else ""
        if status == 0 and last.isdigit():
            return int(last)
        log.warning(
            "export %s: the worker ended with status %s (%s)",
            self.export_id,
            status,
            last[:200] or "it said nothing",
        )
        return None

    async def stop(self) -> None:
        """End the worker if it is still at work (the browser went away)."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            log.info("export %s: stopped, the browser went away", self.export_id)
        await self.process.wait()
        with contextlib.suppress(Exception):
            await self._listening

    def __repr__(self) -> str:
        return f"Making(export {self.export_id}, pid {self.process.pid})"


if __name__ == "__main__":
    sys.exit(main())
