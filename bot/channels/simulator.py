"""The simulator: a channel whose "provider" is the terminal, for trying flows without
any account. Used by ``parley chat`` and by ``parley run`` when no provider is set up."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from bot.channels.base import Outbound


class SimulatorChannel:
    """Hands every sent message to ``show`` (the terminal, or a list in tests)."""

    def __init__(self, name: str, show: Callable[[Outbound], None]) -> None:
        self.name = name
        self._show = show
        self._ids = itertools.count(1)

    async def send(self, message: Outbound) -> str:
        self._show(message)
        return f"sim-{message.outbox_id}-{next(self._ids)}"


def render(message: Outbound, buttons: bool) -> str:
    """How a message looks on the simulated phone; buttons as [1] [2] on Telegram."""
    if buttons and message.buttons:
        row = " ".join(f"[{b.label}]" for b in message.buttons)
        return f"{message.text}\n{row}"
    return message.text
