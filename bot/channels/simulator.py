"""The simulator: a channel whose "provider" is the terminal, for trying flows without
any account. Used by ``parley chat`` and by ``parley run`` when no provider is set up."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from bot.channels.base import Outbound, button_text


class SimulatorChannel:
    """Hands sent messages to ``show`` (the terminal, or a list in tests).

    With ``address``, the terminal is that one resident's phone: messages to anyone else
    (a broadcast's other copies, a result sent to every voter) count as delivered but are
    not shown, so the screen holds the simulated resident's conversation only."""

    def __init__(
        self, name: str, show: Callable[[Outbound], None], address: str | None = None
    ) -> None:
        self.name = name
        self._show = show
        self._address = address
        self._ids = itertools.count(1)

    async def send(self, message: Outbound) -> str:
        if self._address is None or message.address == self._address:
            self._show(message)
        return f"sim-{message.outbox_id}-{next(self._ids)}"


def render(message: Outbound, buttons: bool) -> str:
    """How a message looks on the simulated phone; buttons as [1. Yes] [2. No] on
    Telegram (ticks cannot be pressed here: type the numbers, like 1 3)."""
    if buttons and message.buttons:
        row = " ".join(f"[{button_text(b)}]" for b in message.buttons)
        return f"{message.text}\n{row}"
    return message.text
