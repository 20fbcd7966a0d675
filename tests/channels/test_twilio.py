"""SMS and WhatsApp through Twilio: signed webhooks in, the real SDK out to a fake API."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.channels.base import Channel, Outbound
from bot.outreach import outbox
from bot.outreach.outbox import Dispatcher, Lane
from bot.service import utc_now
from bot.store import contacts, messages
from bot.store.sql import Tx
from bot.web.app import build
from tests.channels.conftest import (
    PARLEY_NUMBER,
    PUBLIC_URL,
    Live,
    live_settings,
    twilio_env,
    until,
    until_length,
)
from tests.fakes.servers import serving
from tests.fakes.twilio_api import FakeTwilio, Refusal

RESIDENT = "+447700900123"
SURVEY = ["hi", "1", "yes", "1", "1", "2", "1 3", "4", "12", "1", "More street lights"]


async def _welcomed(parley: Live, fake: FakeTwilio, *senders: str) -> list[str]:
    """Each sender says hi; the sids of the welcomes, once their results are recorded."""
    for sender in senders:
        await parley.sms(sender, "hi")
    await until(lambda: len(fake.messages) == len(senders))
    await parley.until_all_sent()
    return [m["sid"] for m in fake.messages]


async def _report(parley: Live, sid: str, state: str, code: str | None = None) -> None:
    """Post a signed delivery report, as Twilio does."""
    params = {"MessageSid": sid, "MessageStatus": state, **({"ErrorCode": code} if code else {})}
    assert (await parley.post_twilio("/twilio/status", params)).status_code == 204


async def test_a_resident_completes_the_priorities_survey_by_sms(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        for count, text in enumerate(SURVEY, 1):
            response = await parley.sms(RESIDENT, text)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("application/xml")
            assert "<Response/>" in response.text
            await until_length(lambda: fake.to(RESIDENT), count)
        await parley.until_all_sent()
        replies = fake.to(RESIDENT)
        answers = await parley.rows(
            "SELECT step_id, value FROM answers WHERE flow_id = 'priorities' ORDER BY id"
        )
        outbox = await parley.rows(
            "SELECT id, status, provider_id, segments FROM outbox ORDER BY id"
        )
    assert replies[0].startswith("Welcome to Parley!")
    assert "What should be fixed first?" in replies[3]
    assert replies[-1] == "Thank you! Your answers help decide what is fixed first."
    assert {m["From"] for m in fake.messages} == {PARLEY_NUMBER}
    assert [m["StatusCallback"] for m in fake.messages] == [
        f"https://parley.example.org/twilio/status?outbox={row['id']}" for row in outbox
    ]
    assert [(a["step_id"], json.loads(a["value"])) for a in answers] == [
        ("top_issue", "housing"),
        ("housing_problem", "repairs"),
        ("services", ["gp", "community_centre"]),
        ("safe_at_night", 4),
        ("years", 12),
        ("panel", "yes"),
        ("more", "More street lights"),
    ]
    assert {row["status"] for row in outbox} == {"sent"}
    assert [row["provider_id"] for row in outbox] == [m["sid"] for m in fake.messages]
    assert all(row["segments"] >= 1 for row in outbox)


async def test_whatsapp_goes_through_the_same_adapter(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        await parley.sms(f"whatsapp:{RESIDENT}", "hi")
        await until(lambda: len(fake.messages) == 1)
        contacts = await parley.rows("SELECT channel, address FROM contacts")
    assert fake.messages[0]["To"] == f"whatsapp:{RESIDENT}"
    assert fake.messages[0]["From"] == f"whatsapp:{PARLEY_NUMBER}"
    assert contacts == [{"channel": "whatsapp", "address": RESIDENT}]


async def test_unsigned_or_wrongly_signed_posts_are_refused_and_not_stored(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        unsigned = await parley.client.post(
            "/twilio/sms", data={"From": RESIDENT, "Body": "hi", "MessageSid": "SM1"}
        )
        wrong = await parley.sms(RESIDENT, "hi", signature="bm90IGEgc2lnbmF0dXJl")
        status = await parley.post_twilio(
            "/twilio/status", {"MessageSid": "SM1", "MessageStatus": "delivered"}, "bad"
        )
        stored = await parley.rows(
            "SELECT (SELECT count(*) FROM inbound) AS inbound,"
            " (SELECT count(*) FROM contacts) AS contacts"
        )
    assert (unsigned.status_code, wrong.status_code, status.status_code) == (403, 403, 403)
    assert stored == [{"inbound": 0, "contacts": 0}]
    assert fake.messages == []


async def test_a_message_delivered_three_times_is_acted_on_once(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        for text in SURVEY[:4]:
            await parley.sms(RESIDENT, text)
        await until(lambda: len(fake.to(RESIDENT)) == 4)
        for _ in range(3):
            assert (await parley.sms(RESIDENT, "2", sid="SMsame")).status_code == 200
        await until(lambda: len(fake.to(RESIDENT)) == 5)
        await parley.sms(RESIDENT, "HELP")  # a later message: everything before is done
        await until(lambda: len(fake.to(RESIDENT)) == 6)
        answers = await parley.rows("SELECT value FROM answers WHERE flow_id = 'priorities'")
        inbound = await parley.rows("SELECT count(*) AS n FROM inbound")
    assert answers == [{"value": '"safety"'}]
    assert inbound == [{"n": 6}]
    assert "Which services do you use?" in fake.to(RESIDENT)[4]


async def test_delivery_reports_update_state_in_any_order(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        first, second = await _welcomed(parley, fake, RESIDENT, "+447700900124")
        reports = [
            (first, "sent", None),
            (first, "delivered", None),
            (second, "delivered", None),  # arrives before "sent" and "queued"
            (second, "sent", None),
            (second, "queued", None),
            ("SMunknown", "delivered", None),
        ]
        for sid, state, code in reports:
            await _report(parley, sid, state, code)
        rows = await parley.rows("SELECT provider_id, delivery FROM outbox ORDER BY id")
    assert [row["delivery"] for row in rows] == ["delivered", "delivered"]


async def test_undelivered_is_recorded_with_its_error(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        [sid] = await _welcomed(parley, fake, RESIDENT)
        for state, code in (("sent", None), ("undelivered", "30003"), ("delivered", None)):
            await _report(parley, sid, state, code)
        rows = await parley.rows("SELECT delivery, delivery_error FROM outbox")
    assert rows == [{"delivery": "undelivered", "delivery_error": "Twilio error 30003"}]


async def test_carrier_opt_out_21610_in_a_report_opts_the_resident_out(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        [sid] = await _welcomed(parley, fake, RESIDENT)
        await _report(parley, sid, "failed", "21610")
        contact = await parley.rows("SELECT opted_out_at FROM contacts")
        await parley.sms(RESIDENT, "1")  # an answer after the carrier opt-out: silence
        await parley.until_row("SELECT 1 FROM inbound WHERE id = 2 AND handled_at IS NOT NULL")
        queued = await parley.rows("SELECT count(*) AS n FROM outbox WHERE id > 1")
    assert contact[0]["opted_out_at"] is not None
    assert queued == [{"n": 0}]
    assert len(fake.messages) == 1


async def test_carrier_opt_out_21610_on_sending_opts_the_resident_out(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    fake.script = [Refusal(400, 21610)]
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        await parley.sms(RESIDENT, "hi")
        await until(lambda: len(fake.attempts) == 1)
        await parley.until_row("SELECT 1 FROM outbox WHERE status = 'failed'")
        outbox = await parley.rows("SELECT status, error, attempts FROM outbox")
        contact = await parley.rows("SELECT opted_out_at FROM contacts")
    assert outbox == [{"status": "failed", "error": "Twilio error 21610 (HTTP 400)", "attempts": 1}]
    assert contact[0]["opted_out_at"] is not None
    assert fake.messages == []


async def test_transient_failures_are_retried_until_one_delivery(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    fake.script = [Refusal(500, 20500), Refusal(429, 20429, retry_after=1)]
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        await parley.sms(RESIDENT, "hi")
        await parley.until_row("SELECT 1 FROM outbox WHERE status = 'sent'")
        outbox = await parley.rows("SELECT status, attempts, provider_id FROM outbox")
    statuses = [status for _, status in fake.attempts]
    assert statuses == [500, 429, 201]
    (_, _), (limited_at, _), (delivered_at, _) = fake.attempts
    assert delivered_at - limited_at >= 1.0  # Retry-After: 1 was respected
    assert outbox == [{"status": "sent", "attempts": 3, "provider_id": fake.messages[0]["sid"]}]


async def test_a_permanent_refusal_is_given_up_with_the_reason(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    fake.script = [Refusal(400, 21211)]  # invalid 'To' number
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        await parley.sms(RESIDENT, "hi")
        await parley.until_row("SELECT 1 FROM outbox WHERE status = 'failed'")
        outbox = await parley.rows("SELECT status, error, attempts FROM outbox")
    assert outbox == [{"status": "failed", "error": "Twilio error 21211 (HTTP 400)", "attempts": 1}]
    assert len(fake.attempts) == 1


async def test_health_check_reports_the_database(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    _, api = fake_twilio
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        response = await parley.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "queued": 0}


# -- a sender that dies after Twilio accepted its message ------------------------------


class DiesAfterTheCall:
    """The real channel, whose calls never come back once Twilio has answered: the
    process died after Twilio accepted the message, before recording it."""

    name = "twilio"

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.accepted = asyncio.Event()

    async def send(self, message: Outbound) -> str:
        await self.channel.send(message)
        self.accepted.set()
        await asyncio.Event().wait()
        raise AssertionError("never")


async def test_a_message_twilio_accepted_is_not_sent_again_when_its_sender_died(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, api = fake_twilio
    monkeypatch.setattr(outbox, "STOP_GRACE", 0.0)  # killed: the call in flight is cut
    claim = 1.0  # seconds the dying sender's claim lasts
    fake.status_after = 0.5  # Twilio's reports come after the kill
    app = await App.open(live_settings(tmp_path, **twilio_env(api)))
    try:
        assert app.twilio is not None
        now = utc_now()

        def queue(tx: Tx) -> list[int]:
            resident = contacts.touch(tx, "sms", RESIDENT, "en", now).id
            return [
                messages.add_outbound(tx, messages.NewOutbound(resident, "sms", text, "en"), now)
                for text in ("The first", "The second")
            ]

        first, _ = await app.database.run(queue)
        async with serving(build(app)) as url:
            fake.status_to = [url]  # where PARLEY_PUBLIC_URL leads
            dying = DiesAfterTheCall(app.twilio)
            lanes = [Lane("twilio", ("sms",), 100.0)]
            sender = Dispatcher(app.database, {"sms": dying}, utc_now, lanes, claim_for=claim)
            sending = asyncio.create_task(sender.run())
            await asyncio.wait_for(dying.accepted.wait(), 10)
            sending.cancel()  # the kill: its claim stays, nothing recorded
            await asyncio.gather(sending, return_exceptions=True)
            killed = await _outbox(app)
            await until(lambda: len(fake.reports) == 2)
            reported = await _outbox(app)
            await asyncio.sleep(claim + 0.2)  # the dead sender's claim has lapsed
            drained = await app.dispatcher.drain()  # another process, or the restart
    finally:
        await app.close()
    sid = fake.messages[0]["sid"]
    assert fake.messages[0]["StatusCallback"] == f"{PUBLIC_URL}/twilio/status?outbox={first}"
    assert killed[0]["status"] == "queued"
    assert killed[0]["claimed_by"] is not None
    assert fake.reports == [(sid, "queued", 204), (sid, "sent", 204)]
    # The report recorded it sent, claim over: the contact's next message may go.
    assert reported[0] == {
        "id": first,
        "status": "sent",
        "provider_id": sid,
        "attempts": 1,
        "claimed_by": None,
        "claimed_until": None,
        "delivery": "sent",
    }
    assert reported[1]["status"] == "queued"
    # Once the claim lapsed, only the second message went: nothing twice.
    assert drained == 1
    assert fake.to(RESIDENT) == ["The first", "The second"]


async def _outbox(app: App) -> list[dict[str, Any]]:
    return await app.database.run(
        lambda tx: [
            dict(row)
            for row in tx.execute(
                "SELECT id, status, provider_id, attempts, claimed_by, claimed_until, delivery"
                " FROM outbox ORDER BY id"
            )
        ]
    )


async def test_a_reports_outbox_id_is_trusted_only_for_a_message_with_no_provider_id(
    tmp_path: Path, fake_twilio: tuple[FakeTwilio, str], live: Any
) -> None:
    fake, api = fake_twilio
    async with live(live_settings(tmp_path, **twilio_env(api))) as parley:
        [sid] = await _welcomed(parley, fake, RESIDENT)
        assert parley.server.app is not None
        database = parley.server.app.database
        later = utc_now() + timedelta(days=1)

        def held(tx: Tx) -> int:
            """A queued message that waits for its retry, a day away."""
            message = messages.NewOutbound(1, "sms", "Held back", "en")
            outbox_id = messages.add_outbound(tx, message, utc_now())
            messages.mark_retry(tx, outbox_id, "Twilio error 20500 (HTTP 500)", later)
            return outbox_id

        waiting = await database.run(held)
        [welcome] = await parley.rows("SELECT id FROM outbox WHERE provider_id = ?", sid)
        reports = [
            (waiting, sid, "delivered"),  # the welcome's sid: the welcome's report only
            (welcome["id"], "SM" + "7" * 32, "sent"),  # the welcome has its provider id
            (999, "SM" + "8" * 32, "sent"),  # no such message
            (waiting, "SM" + "9" * 32, "bogus"),  # no such state
        ]
        for outbox_id, reported, state in reports:
            params = {"MessageSid": reported, "MessageStatus": state}
            path = f"/twilio/status?outbox={outbox_id}"
            assert (await parley.post_twilio(path, params)).status_code == 204
        rows = await parley.rows(
            "SELECT id, status, provider_id, attempts, delivery FROM outbox ORDER BY id"
        )
    assert rows == [
        {
            "id": welcome["id"],
            "status": "sent",
            "provider_id": sid,
            "attempts": 1,
            "delivery": "delivered",
        },
        {"id": waiting, "status": "queued", "provider_id": None, "attempts": 1, "delivery": None},
    ]
    assert len(fake.messages) == 1
