"""Telegram, through python-telegram-bot used for transport only: sending messages with
inline keyboards, reading updates (webhook or long polling), answering button presses.

An update's ``update_id`` is the provider id Parley de-duplicates on, so an update that
arrives twice (a webhook retry, or polling again after a restart) is handled once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bot.channels.base import Inbound, Outbound, button_text
from bot.engine import Button, ButtonKind
from bot.errors import ChannelError, DatabaseUnavailable, TryAgain, Undeliverable
from bot.settings import TelegramSettings

# Time periods as timedelta (PTB 22's opt-in, the default in its next major version);
# without it PTB warns about its own RetryAfter.
os.environ.setdefault("PTB_TIMEDELTA", "1")

# httpx logs every request URL at INFO, and a Bot API URL contains the bot's token.
logging.getLogger("httpx").setLevel(logging.WARNING)

log = logging.getLogger(__name__)

TELEGRAM_API = "https://api.telegram.org"
UPDATES = ("message", "callback_query", "my_chat_member")
"""The updates Parley asks for: messages, button presses, and being blocked."""
SHORT_LABEL = 4  # buttons with labels this short (numbers on a scale) share a row
ROW = 5
POLL_TIMEOUT = 30  # seconds a getUpdates call waits for news
CAPTION_LIMIT = 1024  # characters Telegram allows under a photo or document
TICK = "✅ "  # before the label of a ticked toggle button
TICK_DATA = "tick:"  # a toggle button's callback data, before its option's number
DONE_DATA = "done"  # the Done button's callback data: send what is ticked
TEXT_LIMIT = 4096  # characters in the longest message Telegram sends
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")


class TelegramChannel:
    name = "telegram"

    def __init__(self, settings: TelegramSettings, concurrency: int = 4) -> None:
        api = settings.api_url or TELEGRAM_API
        self.bot = Bot(
            settings.token,
            base_url=f"{api}/bot",
            base_file_url=f"{api}/file/bot",
            request=HTTPXRequest(connection_pool_size=concurrency + 2, read_timeout=15),
            get_updates_request=HTTPXRequest(read_timeout=POLL_TIMEOUT + 10),
        )

    async def start(self) -> None:
        await self.bot.initialize()

    async def close(self) -> None:
        await self.bot.shutdown()

    async def send(self, message: Outbound) -> str:
        try:
            sent = await self._send(message)
        except RetryAfter as error:
            raise TryAgain("Telegram: flood control", _seconds(error)) from None
        except Forbidden:
            raise Undeliverable("Telegram: the resident blocked the bot", "unreachable") from None
        except (BadRequest, ChatMigrated) as error:
            raise Undeliverable(f"Telegram refused it: {error.message}") from None
        except InvalidToken:
            raise TryAgain("Telegram: the bot token was refused") from None
        except NetworkError as error:  # timeouts, 5xx, connection errors
            raise TryAgain(f"Telegram: {error.message}") from None
        except TelegramError as error:
            raise Undeliverable(f"Telegram: {error.message}") from None
        return sent if isinstance(sent, str) else f"{sent.chat_id}:{sent.message_id}"

    async def _send(self, message: Outbound) -> Message | str:
        chat, file = int(message.address), message.file
        if message.replaces is not None and file is None:
            redrawn = await self._redraw(chat, message)
            if redrawn is not None:
                return redrawn
        if file is None:
            return await self.bot.send_message(
                chat, message.text, reply_markup=keyboard(message.buttons)
            )
        caption = message.text[:CAPTION_LIMIT]
        if file.photo:
            return await self.bot.send_photo(
                chat, InputFile(file.data, filename=file.name), caption=caption
            )
        return await self.bot.send_document(
            chat, InputFile(file.data, filename=file.name), caption=caption
        )

    async def _redraw(self, chat: int, message: Outbound) -> str | None:
        """Edit the message a button was pressed on (a ballot's ticks and total); None
        when Telegram will not (too old, deleted): then it is sent as a new one."""
        assert message.replaces is not None
        sent_chat, _, message_id = message.replaces.partition(":")
        if sent_chat != str(chat) or not message_id.isdigit():
            return None
        try:
            await self.bot.edit_message_text(
                message.text,
                chat_id=chat,
                message_id=int(message_id),
                reply_markup=keyboard(message.buttons),
            )
        except BadRequest as error:
            if "not modified" not in error.message.lower():
                log.info("could not redraw a message (%s); sending it anew", error.message)
                return None
        return message.replaces

    async def answer_button(self, callback_query_id: str) -> None:
        """Stop the pressed button's spinner. Never raises: the answer itself is queued."""
        try:
            await self.bot.answer_callback_query(callback_query_id)
        except TelegramError as error:
            log.warning("could not answer a button press: %s", error.message)

    async def pressed(self, query: CallbackQuery) -> None:
        """After a press was stored: stop its spinner; after Done, take the ticks away,
        so the same answer cannot be sent again to the next question. Never raises."""
        await self.answer_button(query.id)
        message = query.message
        if query.data == DONE_DATA and isinstance(message, Message):
            try:
                await self.bot.edit_message_reply_markup(message.chat.id, message.message_id)
            except TelegramError as error:
                log.warning("could not take the ticks away: %s", error.message)

    async def tick(self, query: CallbackQuery) -> None:
        """Redraw the pressed message's keyboard with the toggle ticked or unticked;
        the answer is recorded only when Done is pressed. Never raises."""
        message = query.message
        data = query.data
        if (
            isinstance(message, Message)
            and message.reply_markup is not None
            and isinstance(data, str)
            and data.startswith(TICK_DATA)
        ):
            try:
                await self.bot.edit_message_reply_markup(
                    message.chat.id,
                    message.message_id,
                    reply_markup=ticked(message.reply_markup, data),
                )
            except TelegramError as error:
                log.warning("could not tick a button: %s", error.message)
        await self.answer_button(query.id)

    async def register_webhook(self, url: str, secret: str) -> None:
        await self.bot.set_webhook(url, secret_token=secret, allowed_updates=UPDATES)

    async def poll(self, handle: Callable[[Update], Awaitable[None]]) -> None:
        """Long-poll for updates for ever (cancel to stop), handing each to ``handle``.

        The offset only moves past an update once ``handle`` has stored it."""
        await self.bot.delete_webhook()
        offset: int | None = None
        pause = 1.0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT, allowed_updates=UPDATES
                )
            except RetryAfter as error:
                await asyncio.sleep(_seconds(error))
                continue
            except TelegramError as error:
                log.warning("Telegram polling failed (%s); trying again", error.message)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 60.0)
                continue
            pause = 1.0
            for update in updates:
                try:
                    await handle(update)
                except DatabaseUnavailable as error:  # asked for again once it is back
                    log.warning("could not store a Telegram update (%s); will ask again", error)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 60.0)
                    break
                except Exception:  # not stored: asked for again after a pause
                    log.exception("could not store a Telegram update; will ask again")
                    await asyncio.sleep(pause)
                    break
                offset = update.update_id + 1


def keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    """Inline buttons: short labels (a scale) in rows of five, others one per row."""
    if not buttons:
        return None
    keys = [_key(b) for b in buttons]
    if all(len(b.label) <= SHORT_LABEL for b in buttons):
        rows = [keys[i : i + ROW] for i in range(0, len(keys), ROW)]
    else:
        rows = [[key] for key in keys]
    return InlineKeyboardMarkup(rows)


def _key(button: Button) -> InlineKeyboardButton:
    data = {ButtonKind.TOGGLE: TICK_DATA + button.reply, ButtonKind.DONE: DONE_DATA}
    return InlineKeyboardButton(
        button_text(button), callback_data=data.get(button.kind, button.reply)
    )


def ticked(markup: InlineKeyboardMarkup, data: str) -> InlineKeyboardMarkup:
    """``markup`` with the toggle whose callback data is ``data`` ticked or unticked."""
    rows = [
        [
            InlineKeyboardButton(_flip(key.text), callback_data=key.callback_data)
            if key.callback_data == data
            else key
            for key in row
        ]
        for row in markup.inline_keyboard
    ]
    return InlineKeyboardMarkup(rows)


def _flip(text: str) -> str:
    return text.removeprefix(TICK) if text.startswith(TICK) else TICK + text


def _ticks(query: CallbackQuery) -> str:
    """The replies of the toggles ticked on the pressed message, like "1 3"."""
    message = query.message
    markup = message.reply_markup if isinstance(message, Message) else None
    if markup is None:
        return ""
    return " ".join(
        str(key.callback_data).removeprefix(TICK_DATA)
        for row in markup.inline_keyboard
        for key in row
        if str(key.callback_data).startswith(TICK_DATA) and key.text.startswith(TICK)
    )


def only_ticks(query: CallbackQuery) -> bool:
    """A press that only changes the keyboard: a toggle, or Done with nothing ticked.
    Nothing is sent to the conversation; the channel redraws the keyboard."""
    data = query.data
    if not isinstance(data, str):
        return False
    return data.startswith(TICK_DATA) or (data == DONE_DATA and not _ticks(query))


def _pressed(query: CallbackQuery, data: str) -> str:
    """What a button press says: its reply, or on Done the ticked toggles' replies."""
    return _ticks(query) if data == DONE_DATA else data


def inbound_message(update: Update) -> Inbound | None:
    """The resident's message or button press in ``update``; None for anything else.

    Raises ChannelError for an update that is not what Telegram sends (a chat id that
    is not a number, text that is not text, a button press from nobody): the Bot API
    is trusted for its secret token, not for the shape of what arrives with it."""
    provider_id = f"update-{_number(update.update_id, 'update_id')}"
    query = update.callback_query
    if query is not None:
        user = query.from_user
        if user is None:
            raise ChannelError("Telegram: a button press without 'from'")
        if query.message is not None and query.message.chat is None:
            raise ChannelError("Telegram: a button press without 'chat'")
        chat = query.message.chat.id if query.message else user.id
        data = _pressed(query, _text(query.data, "data"))
        hint = _language(user.language_code)
        on = query.message
        pressed = f"{chat}:{_number(on.message_id, 'message id')}" if on is not None else None
        return Inbound("telegram", _number(chat, "chat id"), data, provider_id, hint, pressed)
    message = update.message
    if message is None:
        return None
    if message.chat is None:
        raise ChannelError("Telegram: a message without 'chat'")
    sender = message.from_user
    text = _text(message.text, "text") or _text(message.caption, "caption")
    hint = _language(sender.language_code if sender else None)
    return Inbound("telegram", _number(message.chat.id, "chat id"), text, provider_id, hint)


def blocked_chat(update: Update) -> str | None:
    """The chat that just blocked the bot, if this update says so."""
    change = update.my_chat_member
    if change is None or change.new_chat_member is None:
        return None
    if change.new_chat_member.status != "kicked":
        return None
    if change.chat is None:
        raise ChannelError("Telegram: a member change without 'chat'")
    return _number(change.chat.id, "chat id")


def _number(value: object, what: str) -> str:
    """Telegram's ids are integers; anything else is refused, not made a contact."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ChannelError(f"Telegram: the {what} is not a number")
    return str(value)


def _text(value: object, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ChannelError(f"Telegram: the {what} is not text")
    return value


def _language(code: object) -> str | None:
    """Telegram sends IETF tags such as ``pt-br``; Parley's languages are primary tags."""
    if code is None or code == "":
        return None
    if not isinstance(code, str) or not _LANGUAGE_TAG.fullmatch(code):
        raise ChannelError("Telegram: the language_code is not a language tag")
    return re.split("[-_]", code)[0].lower()


def _seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
