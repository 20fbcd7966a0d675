"""Serving a test's fake provider on 127.0.0.1, in the test's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import uvicorn
from starlette.types import ASGIApp


@contextlib.asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class TokenBucket:
    """How the fakes enforce a provider's rate: ``rate`` units a second, with bursts of
    up to one second's worth (``rate`` None: no limit)."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._tokens = rate or 0.0
        self._filled_at = time.monotonic()

    def over(self, cost: float = 1.0) -> bool:
        """True when taking ``cost`` now would exceed the rate (and nothing is taken)."""
        if self.rate is None:
            return False
        now = time.monotonic()
        self._tokens = min(self.rate, self._tokens + (now - self._filled_at) * self.rate)
        self._filled_at = now
        if self._tokens < cost:
            return True
        self._tokens -= cost
        return False
