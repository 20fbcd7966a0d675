"""A ballot's message redrawn in place on Telegram (python-telegram-bot against a fake
Bot API): edited when Telegram can, sent anew when it cannot, never lost."""

from __future__ import annotations

from bot.channels.base import Outbound
from bot.channels.telegram import TelegramChannel
from bot.engine import Button, ButtonKind
from bot.settings import TelegramSettings
from tests.channels.conftest import BOT_TOKEN
from tests.fakes.telegram_api import FakeTelegram

CHAT = 5550101
TICKED = (Button("✅ 1. Garden - £12,000", "+1", ButtonKind.PICK),)


async def _channel(url: str) -> TelegramChannel:
    channel = TelegramChannel(TelegramSettings(BOT_TOKEN, "polling", None, url))
    await channel.start()
    return channel


async def test_a_redraw_edits_the_pressed_message_text_and_keyboard(
    fake_telegram: tuple[FakeTelegram, str],
) -> None:
    fake, url = fake_telegram
    channel = await _channel(url)
    try:
        first = await channel.send(Outbound(1, "telegram", str(CHAT), "Chosen: £0"))
        again = await channel.send(
            Outbound(2, "telegram", str(CHAT), "Chosen: £12,000", TICKED, replaces=first)
        )
    finally:
        await channel.close()
    assert again == first
    assert len(fake.to(CHAT)) == 1
    assert fake.to(CHAT)[0]["text"] == "Chosen: £12,000"
    keys = fake.to(CHAT)[0]["reply_markup"]["inline_keyboard"]
    assert keys == [[{"text": "✅ 1. Garden - £12,000", "callback_data": "+1"}]]


async def test_a_redraw_of_a_message_telegram_cannot_edit_is_sent_anew(
    fake_telegram: tuple[FakeTelegram, str],
) -> None:
    fake, url = fake_telegram
    channel = await _channel(url)
    try:
        gone = await channel.send(
            Outbound(1, "telegram", str(CHAT), "Chosen: £12,000", TICKED, replaces=f"{CHAT}:999")
        )
        other_chat = await channel.send(
            Outbound(2, "telegram", str(CHAT), "Chosen: £4,500", replaces="42:1")
        )
    finally:
        await channel.close()
    assert [m["text"] for m in fake.to(CHAT)] == ["Chosen: £12,000", "Chosen: £4,500"]
    assert gone != f"{CHAT}:999"
    assert other_chat != "42:1"
