"""How a webhook reads its request: the Twilio form reader and signature against the
standard library's and the SDK's (what they read and sign, these read and sign the same),
and the deadline a body is read within."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, urlencode

import pytest
from twilio.request_validator import RequestValidator

from bot.channels.twilio import is_phone_number, signature_of
from bot.web.webhooks import _Deadlines, form_fields

BODIES = [
    "",
    "&",
    "a=1",
    "a=1&a=2",  # a repeated field keeps its last value
    "a=&b",  # blank values kept, a field without '='
    "=x&&b=2&",
    "From=%2B447700900001&Body=caf%C3%A9+ol%C3%A9%21&To=%2B44",
    "Body=50%25+off+%2B+more&x=%E2%82%AC",
    "Body=%ZZ%4&bad=%C3",  # broken escapes and a broken UTF-8 sequence
    "na+me%3D=va%26lue%3Dx",
    urlencode({"Body": "مرحبا 👋 + & = %", "From": "whatsapp:+447700900001"}),
]


@pytest.mark.parametrize("body", BODIES)
def test_form_fields_read_as_parse_qsl_does(body: str) -> None:
    assert form_fields(body) == dict(parse_qsl(body, keep_blank_values=True))


@pytest.mark.parametrize("body", BODIES)
def test_the_signature_is_the_sdks(body: str) -> None:
    validator = RequestValidator("a-token")
    form = form_fields(body)
    for url in ("https://parley.example.org/twilio/sms", "https://p.example:8443/s?outbox=12"):
        expected = validator.compute_signature(url, form)
        assert signature_of(validator, url, form) == expected.encode()
        assert validator.validate(url, form, expected)


def test_phone_numbers_are_checked_the_same_when_asked_again() -> None:
    for _ in range(2):
        assert is_phone_number("+447700900001")
        assert not is_phone_number("+4477009000011234567")
        assert not is_phone_number("447700900001")


async def test_a_body_read_past_its_deadline_is_cut_off_and_others_go_on() -> None:
    deadlines = _Deadlines()
    outcomes: dict[str, str] = {}

    async def read(name: str, within: float, takes: float) -> None:
        with deadlines.watch(within) as watch:
            try:
                await asyncio.sleep(takes)
                outcomes[name] = "read"
            except asyncio.CancelledError:
                outcomes[name] = "timed out" if watch.timed_out() else "cancelled"
                if outcomes[name] == "cancelled":
                    raise

    slow = asyncio.create_task(read("slow", 0.2, 5))
    quick = asyncio.create_task(read("quick", 0.2, 0.05))
    stopped = asyncio.create_task(read("stopped", 5, 5))
    await asyncio.sleep(0.1)
    stopped.cancel()  # cancelled by someone else: not a timeout, and it stays cancelled
    await asyncio.gather(slow, quick, stopped, return_exceptions=True)
    assert outcomes == {"slow": "timed out", "quick": "read", "stopped": "cancelled"}
    assert stopped.cancelled()
    assert not slow.cancelled()
    assert slow.cancelling() == 0  # our cancellation was taken back, as asyncio.timeout does
