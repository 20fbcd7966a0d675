"""Channel adapters: turn a provider's payloads into :class:`Inbound` and send
:class:`Outbound` messages. Each adapter is small; the service never sees a provider."""

from bot.channels.base import Channel, Inbound, Outbound

__all__ = ["Channel", "Inbound", "Outbound"]
