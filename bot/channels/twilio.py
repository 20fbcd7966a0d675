"""Twilio: SMS, and WhatsApp through the same account (``whatsapp:`` addresses).

Inbound messages and delivery reports arrive as signed form posts (see ``bot.web.webhooks``);
replies leave through the SDK's async client. A contact's address is the bare phone
number; the channel (``sms`` or ``whatsapp``) says how to reach it.

Each message's status callback URL carries its outbox id (``?outbox=123``), which Twilio
signs with the rest of the URL: its first report, seconds after Twilio accepted it,
records it as sent even when the process that sent it died before recording it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import aiohttp
import phonenumbers
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.base import Inbound, Outbound
from bot.errors import ChannelError, TryAgain, Undeliverable
from bot.settings import TwilioSettings

# The SDK logs each request's URL and the response body (phone numbers) at INFO.
logging.getLogger("twilio").setLevel(logging.WARNING)

TWILIO_API = "https://api.twilio.com"
WHATSAPP = "whatsapp:"
OPTED_OUT_AT_CARRIER = 21610  # "Attempt to send to unsubscribed recipient"
SEND_TIMEOUT = 15.0
OUTBOX_PARAMETER = "outbox"  # the status callback URL's query: the message's outbox id
_OUTBOX_ID_DIGITS = 18  # an outbox id fits a 64-bit integer
BODY_LIMIT = 1600  # characters: the longest message body Twilio takes or passes on
_ERROR_CODE_DIGITS = 6  # Twilio's error codes have five digits


class _HttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]  # untyped SDK
    """The SDK's client, pointed at another API endpoint when configured, telling a rate
    limit (429, with the provider's Retry-After) apart from other refusals, and passing
    credentials and timeout the way current aiohttp wants them."""

    def __init__(self, api_url: str | None) -> None:
        super().__init__(pool_connections=False)
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT))
        self._api_url = api_url

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the SDK's signature; unused)
        allow_redirects: bool = False,
    ) -> Response:
        if self._api_url and url.startswith(TWILIO_API):
            url = self._api_url + url[len(TWILIO_API) :]
        headers = dict(headers or {})
        if auth is not None:
            credentials = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {credentials}"
        response = await super().request(
            method, url, params, data, headers, None, None, allow_redirects
        )
        if response.status_code == 429:
            raise TryAgain("Twilio: too many requests (429)", _retry_after(response))
        return response


def _retry_after(response: Response) -> float | None:
    value = (response.headers or {}).get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class TwilioChannel:
    """Sends for the ``sms`` and ``whatsapp`` channels."""

    name = "twilio"
    names = ("sms", "whatsapp")

    def __init__(self, settings: TwilioSettings, status_url: str | None) -> None:
        self._settings = settings
        self._http = _HttpClient(settings.api_url)
        self._client = Client(settings.account_sid, settings.auth_token, http_client=self._http)
        self._status_url = status_url
        self.validator = RequestValidator(settings.auth_token)
        self._messages: Any = None  # the SDK's message list, once its modules are loaded

    async def _message_list(self) -> Any:
        """The SDK's message list. Its first use imports the SDK's generated API modules
        (a third of a second): that is done on a thread, not on the event loop, where it
        would hold up every webhook answer meanwhile."""
        if self._messages is None:
            self._messages = await asyncio.to_thread(lambda: self._client.messages)
        return self._messages

    async def send(self, message: Outbound) -> str:
        whatsapp = message.channel == "whatsapp"
        to = f"{WHATSAPP}{message.address}" if whatsapp else message.address
        sender: dict[str, str] = {}
        if self._settings.sender.startswith("MG"):
            sender["messaging_service_sid"] = self._settings.sender
        else:
            sender["from_"] = (
                f"{WHATSAPP}{self._settings.sender}" if whatsapp else (self._settings.sender)
            )
        if self._status_url:
            # The report names the message: it records the message sent even if this
            # process dies before it can (bot.web.webhooks).
            query = f"{OUTBOX_PARAMETER}={message.outbox_id}"
            sender["status_callback"] = f"{self._status_url}?{query}"
        try:
            messages = await self._message_list()
            created = await messages.create_async(to=to, body=message.text, **sender)
        except TwilioRestException as error:
            raise _refusal(error) from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TryAgain(f"Twilio unreachable: {type(error).__name__}") from None
        if not created.sid:
            raise TryAgain("Twilio answered without a message id")
        return str(created.sid)

    async def close(self) -> None:
        await self._http.close()


def _refusal(error: TwilioRestException) -> TryAgain | Undeliverable:
    # Twilio's message text can quote the phone number: store only the codes.
    reason = f"Twilio error {error.code or '-'} (HTTP {error.status})"
    if error.code == OPTED_OUT_AT_CARRIER:
        return Undeliverable(reason, recipient="opted_out")
    if error.status >= 500 or error.status in (408, 429):
        return TryAgain(reason)
    return Undeliverable(reason)


def signature_of(validator: RequestValidator, url: str, form: Mapping[str, str]) -> bytes:
    """The signature Twilio gives a form post to ``url`` (HMAC-SHA1 of the URL and the
    fields sorted by name, in base64), as ``validator.compute_signature`` computes it for a
    plain mapping, one value a field, less its generic handling of repeated fields."""
    signed = url + "".join(name + form[name] for name in sorted(form))
    digest = hmac.new(validator.token, signed.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest)


def inbound_message(form: Mapping[str, str]) -> Inbound | None:
    """The resident's message in a Twilio webhook post; None if the post has none.

    Raises ChannelError when the sender is not a phone number (Parley could never
    answer it). The body's length is checked at the door (``BODY_LIMIT``)."""
    sender = form.get("From", "")
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not sender or not sid:
        return None
    channel = "sms"
    if sender.startswith(WHATSAPP):
        channel, sender = "whatsapp", sender[len(WHATSAPP) :]
    if not is_phone_number(sender):
        raise ChannelError("Twilio: 'From' is not a phone number")
    return Inbound(channel, sender, form.get("Body", ""), sid)


@lru_cache(maxsize=4096)  # residents write again and again: a number is parsed once
def is_phone_number(address: str) -> bool:
    """A number in E.164 form (+, country code, number) that could exist."""
    if not address.startswith("+") or not address[1:].isascii() or not address[1:].isdigit():
        return False
    try:
        return bool(phonenumbers.is_possible_number(phonenumbers.parse(address, None)))
    except phonenumbers.NumberParseException:
        return False


def delivery_error(form: Mapping[str, str]) -> int | None:
    """The error code of a delivery report, None if it has none; raises ChannelError
    for one that is not a Twilio error code."""
    code = form.get("ErrorCode")
    if not code:
        return None
    if len(code) > _ERROR_CODE_DIGITS or not code.isascii() or not code.isdigit():
        raise ChannelError("Twilio: 'ErrorCode' is not an error code")
    return int(code)


def reported_outbox_id(query: Mapping[str, str]) -> int | None:
    """The outbox id a status callback URL carries (see :meth:`TwilioChannel.send`), None
    if it has none; raises ChannelError for one that is not an outbox id."""
    value = query.get(OUTBOX_PARAMETER)
    if value is None:
        return None
    if not 0 < len(value) <= _OUTBOX_ID_DIGITS or not value.isascii() or not value.isdigit():
        raise ChannelError(f"Twilio: '{OUTBOX_PARAMETER}' is not an outbox id")
    return int(value)
