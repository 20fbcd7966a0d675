"""A community worker runs a poll from Telegram, end to end: the real web service,
dispatcher and scheduler; residents on SMS (the real twilio SDK) and on Telegram (the
real python-telegram-bot) against fake providers on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.store import Database, contacts
from bot.store.location import Location
from bot.store.sql import Tx
from tests.channels.conftest import Live, live_settings, telegram_env, twilio_env, until
from tests.conftest import Clock
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

WORKER, ORGANISER = 7001, 7002
SMS_EN, SMS_AR, SMS_GONE = "+447700900201", "+447700900202", "+447700900203"
TG_PL, TG_EN = 6001, 6002
STAFF = f"telegram:{WORKER}=worker,telegram:{ORGANISER}=organiser"

POLL = """/poll Which evening should the youth club open?
Monday
Wednesday
Friday
pl: Który wieczór ma być otwarty klub młodzieżowy? | Poniedziałek | Środa | Piątek
ar: في أي مساء يجب أن يفتح نادي الشباب؟ | الاثنين | الأربعاء | الجمعة
closes: 2d"""


def _residents(tx: Tx, now: datetime) -> None:
    """Residents who joined earlier (consent given); one has since opted out."""
    for channel, address, language in (
        ("sms", SMS_EN, "en"),
        ("sms", SMS_AR, "ar"),
        ("sms", SMS_GONE, "en"),
        ("telegram", str(TG_PL), "pl"),
        ("telegram", str(TG_EN), "en"),
    ):
        contact = contacts.touch(tx, channel, address, language, now)
        contacts.update(tx, contact, {"consent": "yes"})
    gone = contacts.find(tx, "sms", SMS_GONE)
    assert gone is not None
    contacts.opt_out(tx, gone.id, now)


class Parties:
    """Who says what, and what each of them has been sent."""

    def __init__(self, parley: Live, twilio: FakeTwilio, telegram: FakeTelegram) -> None:
        self.parley = parley
        self.twilio = twilio
        self.telegram = telegram

    async def chat(self, chat_id: int, text: str, language: str = "en") -> str:
        """Type in Telegram; the bot's answer."""
        before = len(self.telegram.to(chat_id))
        update = self.parley.residents.message(chat_id, text, language)
        assert (await self.parley.telegram(update)).status_code == 200
        await until(lambda: len(self.telegram.to(chat_id)) > before)
        return str(self.telegram.to(chat_id)[-1]["text"])

    async def press(self, chat_id: int, data: str, language: str = "en") -> str:
        before = len(self.telegram.to(chat_id))
        update = self.parley.residents.press(chat_id, data, language)
        assert (await self.parley.telegram(update)).status_code == 200
        await until(lambda: len(self.telegram.to(chat_id)) > before)
        return str(self.telegram.to(chat_id)[-1]["text"])

    async def text(self, sender: str, body: str) -> str:
        """Text by SMS; the bot's answer."""
        before = len(self.twilio.to(sender))
        assert (await self.parley.sms(sender, body)).status_code == 200
        await until(lambda: len(self.twilio.to(sender)) > before)
        return self.twilio.to(sender)[-1]

    def last(self, chat_id: int) -> dict[str, Any]:
        return self.telegram.to(chat_id)[-1]


async def test_a_worker_runs_a_poll_from_telegram_and_every_voter_hears_the_result(
    tmp_path: Path,
    fake_twilio: tuple[FakeTwilio, str],
    fake_telegram: tuple[FakeTelegram, str],
    live: Any,
) -> None:
    twilio, twilio_api = fake_twilio
    telegram, telegram_api = fake_telegram
    clock = Clock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))  # midday: not quiet hours
    settings = live_settings(
        tmp_path, **twilio_env(twilio_api), **telegram_env(telegram_api), PARLEY_STAFF=STAFF
    )
    database = await Database.open(settings.database)
    await database.run(lambda tx: _residents(tx, clock()))
    await database.close()

    async with live(settings, clock) as parley:
        people = Parties(parley, twilio, telegram)

        # A worker drafts the poll: the preview, and nothing sent yet.
        preview = await people.chat(WORKER, POLL)
        assert "Poll 1: Which evening should the youth club open?" in preview
        assert "closes Wed 04 Mar 12:00" in preview
        assert "4 residents" in preview  # the opted-out resident is not counted
        assert "SMS: " in preview
        assert "GBP" in preview
        assert "Sending takes about" in preview
        buttons = people.last(WORKER)["reply_markup"]["inline_keyboard"]
        assert [row[0]["callback_data"] for row in buttons] == ["/send 1", "/cancel 1"]
        assert twilio.messages == []
        assert telegram.to(TG_PL) == []

        # Confirmed with the button: everyone in the audience is asked, in their language.
        assert await people.press(WORKER, "/send 1") == "Broadcast 1 is being sent."
        await until(lambda: len(twilio.messages) == 2 and bool(telegram.to(TG_EN)))
        await until(lambda: bool(telegram.to(TG_PL)))
        assert twilio.to(SMS_EN)[0].startswith("Which evening should the youth club open?")
        assert twilio.to(SMS_AR)[0].startswith("في أي مساء يجب أن يفتح نادي الشباب؟")
        assert twilio.to(SMS_GONE) == []
        polish = people.last(TG_PL)
        assert polish["text"].startswith("Który wieczór ma być otwarty klub młodzieżowy?")
        assert [row[0]["callback_data"] for row in polish["reply_markup"]["inline_keyboard"]] == [
            "1",
            "2",
            "3",
        ]

        # Residents vote: by letter, by word, by button, by number; one changes their mind.
        thanks = await people.text(SMS_EN, "b")
        assert "Thank you for voting" in thanks
        assert "%" not in thanks  # no results before closing
        await people.text(SMS_AR, "الجمعة")
        await people.press(TG_PL, "3", "pl")
        await people.chat(TG_EN, "2")
        changed = await people.text(SMS_EN, "Friday")
        assert changed == "Thank you. Your vote is now: Friday"

        # Results stay with organisers while the poll is open.
        assert await people.chat(TG_EN, "/results 1") == "Sorry, that is only for staff."
        refused = await people.chat(WORKER, "/results 1")
        assert "live results are for organisers only" in refused
        live_results = await people.chat(ORGANISER, "/results 1 by channel")
        assert "1. Monday: 0 (0%)" in live_results
        assert "2. Wednesday: 1 (25%)" in live_results
        assert "3. Friday: 3 (75%)" in live_results
        assert "channel = sms: 2 voters" in live_results
        await until(lambda: any(f["chat_id"] == ORGANISER for f in telegram.files))
        chart = next(f for f in telegram.files if f["chat_id"] == ORGANISER)
        assert chart["method"] == "sendPhoto"  # the bar chart follows the table
        assert chart["caption"] == "Poll 1"
        assert await people.chat(WORKER, "/close 1") == "/close is for organisers only."
        assert "only for staff" in await people.chat(TG_EN, "/broadcast Free pizza!")

        # The organiser closes it; every voter hears the result in their own language.
        assert await people.chat(ORGANISER, "/close 1") == "Poll 1 is closing now."
        await until(lambda: len(twilio.to(SMS_EN)) == 4 and len(twilio.to(SMS_AR)) == 3)
        # TG_EN: the poll, thanks, two refusals, the result.
        await until(lambda: len(telegram.to(TG_PL)) == 3 and len(telegram.to(TG_EN)) == 5)
        english = twilio.to(SMS_EN)[-1]
        assert "Which evening should the youth club open?" in english
        assert "3. Friday: 3 votes (75%)" in english
        arabic = twilio.to(SMS_AR)[-1]
        assert "الجمعة" in arabic
        assert "(75%)" in arabic
        polish_result = people.last(TG_PL)["text"]
        assert polish_result.startswith("Wynik głosowania: Który wieczór")
        assert "3. Piątek: 3 głosy (75%)" in polish_result
        assert "(75%)" in polish_result
        assert twilio.to(SMS_GONE) == []

        # A vote after closing gets a polite answer, with the result.
        late = await people.text(SMS_EN, "1")
        assert late.startswith("Sorry, this poll has closed.")
        assert "3. Friday: 3 votes (75%)" in late
        worker_view = await people.chat(WORKER, "/results 1")
        assert "Poll 1 (closed)" in worker_view

    # One vote each, the last one counting; the late vote after closing changed nothing.
    assert await _votes(settings.database) == {
        SMS_EN: ('["friday"]', 1),
        SMS_AR: ('["friday"]', 0),
        str(TG_PL): ('["friday"]', 0),
        str(TG_EN): ('["wednesday"]', 0),
    }


async def _votes(path: Location) -> dict[str, Any]:
    database = await Database.open(path)
    rows = await database.run(
        lambda tx: tx.execute(
            "SELECT c.address, v.choice, v.changes FROM votes v"
            " JOIN contacts c ON c.id = v.contact_id ORDER BY c.id"
        ).fetchall()
    )
    await database.close()
    return {row[0]: (row[1], row[2]) for row in rows}
