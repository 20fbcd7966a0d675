"""The plain messages that cross between channels and the conversation service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.engine import Button, ButtonKind, MessageOut


@dataclass(frozen=True)
class Inbound:
    """A message from a resident, as the channel received it."""

    channel: str
    address: str  # phone number or chat id: never logged
    text: str
    provider_id: str  # the provider's message id, used to drop duplicate deliveries
    language_hint: str | None = None  # e.g. Telegram's language_code
    pressed: str | None = None  # the message whose button this is (its provider id)


@dataclass(frozen=True)
class File:
    """A file sent to staff (an export, a results chart), made just before sending."""

    name: str
    data: bytes
    photo: bool = False  # shown as a picture, not as a document to open


@dataclass(frozen=True)
class Outbound:
    """A message taken from the outbox to be sent; with a file, ``text`` is its caption."""

    outbox_id: int
    channel: str
    address: str
    text: str
    buttons: tuple[Button, ...] = ()
    file: File | None = None
    replaces: str | None = None  # a message sent before (its provider id) this redraws


class Channel(Protocol):
    name: str

    async def send(self, message: Outbound) -> str:
        """Deliver ``message``; return the provider's id for it. Raise ChannelError."""
        ...


BUTTON_CHANNELS = frozenset({"telegram"})
"""Channels that show a question's options as buttons: its text leaves the list out."""


def shown_text(message: MessageOut, channel: str) -> str:
    """``message`` as ``channel`` says it: beside buttons, without the numbered list."""
    if channel in BUTTON_CHANNELS and message.beside_buttons is not None:
        return message.beside_buttons
    return message.text


def button_text(button: Button) -> str:
    """What a button shows: "1. Housing" for an option (its number, which can be typed
    too), the label alone for Done or a button that sends its own label ("4")."""
    if button.kind in (ButtonKind.DONE, ButtonKind.PICK) or button.label == button.reply:
        return button.label
    return f"{button.reply}. {button.label}"
