"""Staff ask for exports and charts from their phones, end to end: the real web
service and dispatcher, python-telegram-bot uploading the file to a fake Bot API, the
twilio SDK for a staff member on SMS. The file is made when it is sent."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.engine import Session
from bot.store import Database, contacts, sessions
from bot.store.answers import NewAnswer, record
from bot.store.sql import Tx
from tests import databases
from tests.channels.conftest import live_settings, telegram_env, twilio_env, until
from tests.conftest import Clock
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

WORKER, ORGANISER, SMS_ORGANISER = 7101, 7102, "+447700900301"
STAFF = f"telegram:{WORKER}=worker,telegram:{ORGANISER}=organiser,sms:{SMS_ORGANISER}=organiser"
RESIDENTS = (
    ("sms", "+447700900311", "en", "housing", "Rent, rent, rent"),
    ("sms", "+447700900312", "ar", "safety", "الإنارة في الشارع"),
    ("telegram", "6111", "pl", "housing", "Call me on 07700 900399"),
)


def _survey(tx: Tx, now: datetime) -> None:
    """Three residents who answered the priorities survey."""
    for channel, address, language, top, more in RESIDENTS:
        contact = contacts.touch(tx, channel, address, language, now)
        contacts.update(tx, contact, {"consent": "yes", "ward": "North"})
        state = Session("priorities", language, now, now, ended=True)
        session_id = sessions.create(tx, contact.id, state, now)
        for step, value, raw in (("top_issue", top, "1"), ("more", more, more)):
            record(
                tx,
                NewAnswer(
                    session_id, contact.id, None, "priorities", step, value, raw, language, channel
                ),
                now,
            )
        sessions.set_status(tx, session_id, sessions.Status.COMPLETED, now)


async def _say(parley: Any, telegram: FakeTelegram, chat: int, text: str) -> str:
    before = len(telegram.to(chat))
    response = await parley.telegram(parley.residents.message(chat, text, "en"))
    assert response.status_code == 200
    await until(lambda: len(telegram.to(chat)) > before)
    return str(telegram.to(chat)[-1]["text"])


def _files(telegram: FakeTelegram, chat: int) -> list[dict[str, Any]]:
    return [f for f in telegram.files if f["chat_id"] == chat]


async def test_staff_get_exports_and_charts_in_telegram_and_only_what_their_role_allows(
    tmp_path: Path,
    fake_twilio: tuple[FakeTwilio, str],
    fake_telegram: tuple[FakeTelegram, str],
    live: Any,
) -> None:
    twilio, twilio_api = fake_twilio
    telegram, telegram_api = fake_telegram
    clock = Clock(datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    settings = live_settings(
        tmp_path, **twilio_env(twilio_api), **telegram_env(telegram_api), PARLEY_STAFF=STAFF
    )
    database = await Database.open(settings.database)
    await database.run(lambda tx: _survey(tx, clock() - timedelta(days=1)))
    await database.close()

    async with live(settings, clock) as parley:
        # A worker exports the survey's responses: the CSV file arrives as a document.
        reply = await _say(parley, telegram, WORKER, "/export responses priorities")
        assert reply == "Export 1 (responses flow=priorities): the file follows."
        await until(lambda: len(_files(telegram, WORKER)) == 1)
        sent = _files(telegram, WORKER)[0]
        assert sent["method"] == "sendDocument"
        assert sent["name"] == "parley-responses-priorities-2026-11-02.csv"
        assert sent["caption"] == "Export 1 (responses flow=priorities): 3 rows"
        data: bytes = sent["data"]
        assert data.startswith("\ufeff".encode())  # for Excel on a phone
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        assert [row["top_issue (label)"] for row in rows] == ["Housing", "Safety", "Housing"]
        assert rows[1]["more: Is there anything else we should know? Write it in one"
                       " message, or reply No."] == "الإنارة في الشارع"  # fmt: skip
        text = data.decode("utf-8-sig")
        for _, address, *_ in RESIDENTS:
            assert address not in text
        assert "07700 900399" not in text
        assert "[phone]" in text
        assert all(row["resident"].startswith("R-") for row in rows)

        # Contacts, the message log and addresses are for organisers.
        refused = await _say(parley, telegram, WORKER, "/export contacts")
        assert refused == "Exports of contacts are for organisers only."
        refused = await _say(parley, telegram, WORKER, "/export ideas with addresses")
        assert refused == "Exports of ideas with addresses are for organisers only."
        assert len(_files(telegram, WORKER)) == 1

        await _say(parley, telegram, ORGANISER, "/export contacts with addresses")
        await until(lambda: len(_files(telegram, ORGANISER)) == 1)
        contacts_file = _files(telegram, ORGANISER)[0]["data"].decode("utf-8-sig")
        assert "+447700900311" in contacts_file
        assert "6111" in contacts_file
        logged = await parley.rows("SELECT what, addresses, requested_by, rows FROM exports")
        assert logged == [
            {"what": "responses", "addresses": 0, "requested_by": "contact 4", "rows": 3},
            {"what": "contacts", "addresses": 1, "requested_by": "contact 5", "rows": 5},
        ]

        # Results come with a bar chart.
        results = await _say(parley, telegram, WORKER, "/results priorities")
        assert "Survey 'priorities' (Local priorities): 3 runs, 3 completed" in results
        assert "1. Housing" in results
        await until(lambda: len(_files(telegram, WORKER)) == 2)
        chart = _files(telegram, WORKER)[1]
        assert chart["method"] == "sendPhoto"
        assert chart["data"].startswith(b"\x89PNG\r\n\x1a\n")
        assert len(chart["data"]) > 5_000
        assert chart["caption"] == "Survey 'priorities'"

        # By SMS, no file can come: the staff member is told where to get one.
        assert (await parley.sms(SMS_ORGANISER, "/export responses priorities")).status_code == 200
        await until(lambda: bool(twilio.to(SMS_ORGANISER)))
        assert "needs Telegram" in twilio.to(SMS_ORGANISER)[-1]
        await parley.until_all_sent()
    # Nothing about residents is left in the outbox: only what to make.
    with databases.connect(settings.database) as outbox:
        kept = [
            row[0]
            for row in outbox.execute("SELECT attachment FROM outbox WHERE attachment IS NOT NULL")
        ]
    assert len(kept) == 3
    assert not any("+44" in spec for spec in kept)
