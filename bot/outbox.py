"""The outbox dispatcher: sends what the service queued, through the channel adapters.

Every reply is already committed to the ``outbox`` table before this runs, so a crash
loses nothing: at start-up the dispatcher sends whatever is still queued. A message to
a contact who has since opted out is cancelled, not sent (only the opt-out
confirmation itself and HELP answers, marked ``compliance``, go out regardless).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from bot.channels.base import Channel, Outbound
from bot.errors import ChannelError
from bot.store import Database, messages

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        database: Database,
        channels: Mapping[str, Channel],
        clock: Callable[[], datetime],
        batch_size: int = 100,
    ) -> None:
        self.database = database
        self.channels = channels
        self.clock = clock
        self.batch_size = batch_size

    async def drain(self) -> int:
        """Send everything queued now; returns how many messages were sent."""
        sent = 0
        while True:
            async with self.database.transaction() as tx:
                batch = await messages.queued(tx, self.batch_size)
            if not batch:
                return sent
            for message in batch:
                sent += await self._send(message)

    async def _send(self, message: messages.QueuedMessage) -> int:
        channel = self.channels.get(message.channel)
        if not message.sendable:
            status, provider_id, error = "cancelled", None, "opted out"
        elif channel is None:
            status, provider_id, error = "failed", None, f"no channel '{message.channel}'"
        else:
            outbound = Outbound(
                message.id, message.channel, message.address, message.text, message.buttons
            )
            try:
                provider_id = await channel.send(outbound)
                status, error = "sent", None
            except ChannelError as failure:
                status, provider_id, error = "failed", None, str(failure)
        if error:
            log.warning("outbox message %s %s: %s", message.id, status, error)
        async with self.database.transaction() as tx:
            await messages.set_outbound_status(
                tx, message.id, status, self.clock(), provider_id, error
            )
        return 1 if status == "sent" else 0
