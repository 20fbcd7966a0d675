"""The conversation service on a real SQLite file: storage, ordering, restarts, expiry."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from bot.channels.base import Inbound
from bot.channels.segments import segments
from bot.settings import Settings
from bot.store.sql import Tx
from tests.conftest import Harness
from tests.service.test_keywords import into_survey


async def test_inbound_is_stored_and_marked_handled(harness: Harness) -> None:
    await harness.send("hello")
    [row] = await harness.rows("SELECT text, handled_at, error FROM inbound")
    assert row["text"] == "hello"
    assert row["handled_at"] is not None
    assert row["error"] is None


async def test_every_reply_goes_through_the_outbox(harness: Harness) -> None:
    await harness.send("hello")
    [row] = await harness.rows("SELECT status, provider_id, reply_to FROM outbox")
    assert row["status"] == "sent"
    assert row["provider_id"].startswith("sim-")
    assert row["reply_to"] == 1


async def test_duplicate_provider_id_is_ignored(harness: Harness) -> None:
    await into_survey(harness)
    first = await harness.send("2", provider_id="SM-1")
    again = await harness.send("2", provider_id="SM-1")
    assert first
    assert again == []
    answers = await harness.rows("SELECT * FROM answers WHERE flow_id = 'priorities'")
    assert len(answers) == 1
    assert len(await harness.rows("SELECT * FROM inbound WHERE provider_id = 'SM-1'")) == 1


async def test_messages_of_one_contact_are_handled_in_order_never_concurrently(
    harness: Harness,
) -> None:
    await into_survey(harness)
    service = harness.app.service
    # Three replies arrive at once: top issue, housing problem, services.
    await asyncio.gather(
        *(
            service.receive(Inbound("sms", "+447700900001", text, f"burst-{n}"))
            for n, text in enumerate(["1", "2", "1 3"])
        )
    )
    rows = await harness.rows(
        "SELECT step_id, value FROM answers WHERE flow_id = 'priorities' ORDER BY id"
    )
    assert [(r["step_id"], json.loads(r["value"])) for r in rows] == [
        ("top_issue", "housing"),
        ("housing_problem", "repairs"),
        ("services", ["gp", "community_centre"]),
    ]


async def test_restart_mid_survey_resumes_where_the_resident_was(
    harness: Harness, settings: Settings
) -> None:
    await into_survey(harness)
    await harness.send("2")  # safety
    await harness.restart(settings)
    [reply] = await harness.send("1 2")  # the services question, answered after the restart
    assert reply.startswith("How safe do you feel")
    rows = await harness.rows(
        "SELECT step_id FROM answers WHERE flow_id = 'priorities' ORDER BY id"
    )
    assert [r["step_id"] for r in rows] == ["top_issue", "services"]


async def test_a_message_stored_but_not_handled_before_a_crash_is_handled_at_start(
    harness: Harness, settings: Settings
) -> None:
    await into_survey(harness)
    # Store a message the way receive() does, but "crash" before acting on it.
    await harness.app.database.run(
        lambda tx: tx.execute(
            "INSERT INTO inbound (contact_id, channel, provider_id, text, received_at)"
            " VALUES (1, 'sms', 'lost-1', '4', ?)",
            (harness.clock().isoformat(),),
        )
    )
    before = len(harness.sent)
    await harness.restart(settings)
    assert "Which services do you use?" in harness.sent[before].text
    [row] = await harness.rows("SELECT value FROM answers WHERE flow_id = 'priorities'")
    assert json.loads(row["value"]) == "parks"


async def test_queued_replies_are_sent_after_a_restart(
    harness: Harness, settings: Settings
) -> None:
    now = harness.clock().isoformat()

    def queued_before_the_crash(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO contacts (channel, address, created_at, last_seen_at)"
            " VALUES ('sms', '+447700900002', ?, ?)",
            (now, now),
        )
        tx.execute(
            "INSERT INTO outbox (contact_id, channel, text, created_at)"
            " VALUES (1, 'sms', 'queued before the crash', ?)",
            (now,),
        )

    await harness.app.database.run(queued_before_the_crash)
    await harness.restart(settings)
    assert harness.sent[-1].text == "queued before the crash"


async def test_expired_survey_is_not_continued(harness: Harness) -> None:
    await into_survey(harness)
    harness.clock.advance(days=4)  # priorities expires after 3 days
    [reply] = await harness.send("2")
    assert reply.startswith("What would you like to do?")
    [row] = await harness.rows("SELECT status FROM sessions WHERE flow_id = 'priorities'")
    assert row["status"] == "expired"


async def test_answers_record_raw_text_value_language_and_channel(harness: Harness) -> None:
    await into_survey(harness)
    await harness.send(" B. ")
    [row] = await harness.rows(
        "SELECT raw, value, language, channel, flow_id, step_id FROM answers"
        " WHERE flow_id = 'priorities'"
    )
    assert row == {
        "raw": " B. ",
        "value": '"safety"',
        "language": "en",
        "channel": "sms",
        "flow_id": "priorities",
        "step_id": "top_issue",
    }


async def test_contact_fields_are_set_by_flows(harness: Harness) -> None:
    await into_survey(harness)
    [row] = await harness.rows("SELECT language, fields FROM contacts")
    assert row["language"] == "en"
    assert json.loads(row["fields"]) == {"consent": "yes"}


async def test_telegram_language_hint_preselects_a_new_contacts_language(
    harness: Harness,
) -> None:
    [reply] = await harness.send("/start", address="42", channel="telegram", language="pl")
    assert reply.startswith("Witamy")
    [row] = await harness.rows("SELECT language FROM contacts")
    assert row["language"] == "pl"


async def test_no_phone_number_in_logs(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await into_survey(harness)
    await harness.send("hello", provider_id="m2")  # a duplicate delivery is logged
    assert "+447700900001" not in caplog.text
    assert "447700900001" not in caplog.text


async def test_sms_replies_record_their_segments(harness: Harness) -> None:
    await harness.send("hello")  # English welcome with Arabic-script language names: UCS-2
    await harness.send("hi", address="42", channel="telegram")
    rows = await harness.rows("SELECT channel, text, segments FROM outbox ORDER BY id")
    sms, telegram = rows
    assert sms["segments"] == segments(sms["text"]).count
    assert sms["segments"] == 3  # UCS-2 for the other scripts; a menu page is 3 at most
    assert telegram["segments"] is None
