"""A TCP proxy on 127.0.0.1 in front of the test PostgreSQL server's Unix socket, which a
test can cut (every connection through it closed, new ones refused) and restore: the
database going away under a running Parley, and coming back, as a network or a server
restart would make it.

Parley reaches the database through it at ``postgresql://postgres@127.0.0.1:PORT/NAME``
(:meth:`TcpProxy.url`); the server sees a local connection, as it does from the tests.
The proxy runs its own event loop on a thread of its own: Parley makes some database
calls that block the loop they are made from (the admin's key at start), and a proxy on
that loop could then never answer them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

T = TypeVar("T")

CHUNK = 64 * 1024


def server_socket(server_url: str) -> Path:
    """The Unix socket of the server a libpq URL names by its ``host`` folder
    (``postgresql://postgres@/postgres?host=/tmp/pgdev`` → /tmp/pgdev/.s.PGSQL.5432)."""
    parts = urlsplit(server_url)
    query = parse_qs(parts.query)
    folder = query.get("host", [parts.hostname or ""])[0]
    if not folder.startswith("/"):
        raise ValueError(f"{server_url}: the proxy forwards to a server's Unix socket folder")
    port = query.get("port", [str(parts.port or 5432)])[0]
    return Path(folder) / f".s.PGSQL.{port}"


class TcpProxy:
    """Forwards each connection on a loopback port to ``target`` (a Unix socket)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.port = 0
        self.accepted = 0  # connections let through, in all
        self.refused = 0  # connections closed at once while cut
        self._cut = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy")
        self._listener: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()  # both ends of every connection

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    @property
    def is_cut(self) -> bool:
        return self._cut

    def start(self) -> None:
        self._thread.start()
        self._listener = self._call(lambda: asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._listener.sockets[0].getsockname()[1]

    def cut(self) -> None:
        """Close every connection through the proxy now, and refuse new ones."""
        self._call(self._cut_all)

    def restore(self) -> None:
        """Let connections through again."""
        self._cut = False

    def close(self) -> None:
        self.cut()
        if self._listener is not None:
            self._call(self._stop_listening)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def _call(self, work: Callable[[], Awaitable[T]]) -> T:
        """Await ``work()`` on the proxy's loop, from any other thread; its result."""

        async def run() -> T:
            return await work()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)

    async def _cut_all(self) -> None:
        self._cut = True
        for writer in list(self._open):
            writer.transport.abort()  # at once, unsent data dropped, as a network going
        self._open.clear()

    async def _stop_listening(self) -> None:
        assert self._listener is not None
        self._listener.close()
        await self._listener.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_unix_connection(self.target)
        except OSError:
            writer.transport.abort()
            return
        if self._cut:  # cut while connecting upstream
            upstream_writer.transport.abort()
            writer.transport.abort()
            return
        self.accepted += 1
        self._open |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction until either end closes, then close the other."""
        try:
            while chunk := await reader.read(CHUNK):
                writer.write(chunk)
                await writer.drain()
        except OSError:
            pass
        finally:
            self._open.discard(writer)
            writer.transport.abort()


@contextlib.contextmanager
def proxying(target: Path) -> Iterator[TcpProxy]:
    """A started proxy to ``target``, closed (every connection with it) at the end."""
    proxy = TcpProxy(target)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
