"""Telegram through the real python-telegram-bot, against a fake Bot API: webhook and
polling modes, buttons, deep links, blocked residents, retries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.channels.conftest import (
    PUBLIC_URL,
    SECRET,
    Live,
    live_settings,
    telegram_env,
    until,
    until_length,
)
from tests.fakes.telegram_api import FakeTelegram, Refusal

CHAT = 5550001

# (kind, data): "press" a button or "type" a message, through the whole priorities survey
SURVEY = [
    ("type", "/start"),
    ("press", "1"),  # English
    ("press", "1"),  # consent: yes
    ("press", "1"),  # menu: the survey
    ("press", "1"),  # housing
    ("press", "2"),  # repairs and damp
    ("type", "1 3"),  # several services
    ("press", "4"),  # safe at night: 4
    ("type", "12"),  # years
    ("press", "1"),  # panel: yes
    ("type", "More street lights"),
]
EXPECTED = [
    ("top_issue", "housing"),
    ("housing_problem", "repairs"),
    ("services", ["gp", "community_centre"]),
    ("safe_at_night", 4),
    ("years", 12),
    ("panel", "yes"),
    ("more", "More street lights"),
]


async def _survey(parley: Live, fake: FakeTelegram, deliver: Any) -> list[str]:
    presses = []
    for count, (kind, data) in enumerate(SURVEY, 1):
        if kind == "press":
            assert fake.to(CHAT)[-1]["reply_markup"] is not None, "a choice shows buttons"
            update = parley.residents.press(CHAT, data, "en")
            presses.append(update["callback_query"]["id"])
        else:
            update = parley.residents.message(CHAT, data, "en")
        await deliver(update)
        await until_length(lambda: fake.to(CHAT), count)
    await until(lambda: len(fake.answered) == len(presses))
    assert fake.answered == presses  # every button press was answered
    return [m["text"] for m in fake.to(CHAT)]


async def _answers(parley: Live) -> list[tuple[str, Any]]:
    rows = await parley.rows(
        "SELECT step_id, value FROM answers WHERE flow_id = 'priorities' ORDER BY id"
    )
    return [(row["step_id"], json.loads(row["value"])) for row in rows]


async def test_priorities_survey_over_a_webhook_with_buttons(
    tmp_path: Path, fake_telegram: tuple[FakeTelegram, str], live: Any
) -> None:
    fake, api = fake_telegram
    async with live(live_settings(tmp_path, **telegram_env(api, "webhook"))) as parley:
        assert fake.webhook is not None
        assert fake.webhook["url"] == f"{PUBLIC_URL}/telegram"
        assert fake.webhook["secret_token"] == SECRET

        async def deliver(update: dict[str, Any]) -> None:
            assert (await parley.telegram(update)).status_code == 200

        texts = await _survey(parley, fake, deliver)
        answers = await _answers(parley)
    assert texts[0].startswith("Welcome to Parley!")
    assert texts[-1] == "Thank you! Your answers help decide what is fixed first."
    assert answers == EXPECTED
    keyboard = fake.to(CHAT)[3]["reply_markup"]["inline_keyboard"]  # "What should be fixed"
    assert [row[0]["text"] for row in keyboard][:2] == ["1. Housing", "2. Safety"]
    assert [row[0]["callback_data"] for row in keyboard][:2] == ["1", "2"]
    assert texts[3].endswith("What should be fixed first?")  # the buttons are the list
    for message in fake.to(CHAT):  # no option is said twice, as a line and as a button
        keys = [k["text"] for row in (message["reply_markup"] or {}).get("inline_keyboard", [])
                for k in row]  # fmt: skip
        assert not set(keys) & set(message["text"].splitlines()), message["text"]


async def test_priorities_survey_by_polling(
    tmp_path: Path, fake_telegram: tuple[FakeTelegram, str], live: Any
) -> None:
    fake, api = fake_telegram
    settings = live_settings(tmp_path, **telegram_env(api, "polling"))
    async with live(settings) as parley:

        async def deliver(update: dict[str, Any]) -> None:
            fake.push(update)

        texts = await _survey(parley, fake, deliver)
        answers = await _answers(parley)
        refused = await parley.telegram(parley.residents.message(CHAT, "hi"))
    assert fake.webhook is None  # polling removed any webhook
    assert texts[-1] == "Thank you! Your answers help decide what is fixed first."
    assert answers == EXPECTED
    assert refused.status_code == 404  # no webhook route in polling mode


@pytest.mark.parametrize("secret", [None, "wrong-secret"])
async def test_webhook_without_the_secret_is_refused(
    tmp_path: Path, fake_telegram: tuple[FakeTelegram, str], live: Any, secret: str | None
) -> None:
    fake, api = fake_telegram
    async with live(live_settings(tmp_path, **telegram_env(api))) as parley:
        response = await parley.telegram(parley.residents.message(CHAT, "/start"), secret)
        stored = await parley.rows("SELECT count(*) AS n FROM inbound")
    assert response.status_code == 403
    assert stored == [{"n": 0}]
    assert fake.sent == []


async def test_a_repeated_update_is_handled_once(
    tmp_path: Path, fake_telegram: tuple[FakeTelegram, str], live: Any
) -> None:
    fake, api = fake_telegram
    async with live(live_settings(tmp_path, **telegram_env(api))) as parley:
        update = parley.residents.message(CHAT, "/start")
        for _ in range(3):
            assert (await parley.telegram(update)).status_code == 200
        await until(lambda: len(fake.sent) == 1)
        await parley.telegram(parley.residents.message(CHAT, "HELP"))
        await until(lambda: len(fake.sent) == 2)
        stored = await parley.rows("SELECT count(*) AS n FROM inbound")
    assert stored == [{"n": 2}]


async def test_language_code_preselects_the_language(
    tmp_path: Path, fake_telegram: tuple[FakeTelegram, str], live: Any
) -> None:
    fake, api = fake_telegram
    async with live(live_settings(tmp_path, **telegram_env(api))) as parley:
        await parley.telegram(parley.residents.message(CHAT, "/start", "pl-PL"))
        await parley.telegram(parley.residents.message(CHAT + 1, "/start", "xx"))
        await until(lambda: len(fake.sent) == 2)
        languages = await parley.rows("SELECT address, language FROM contacts ORDER BY id")
    assert fake.to(CHAT)[0]["text"].startswith("Witamy w Parley!")
    assert fake.to(CHAT + 1)[0]["text"].startswith("Welcome to Parley!")
    assert languages == [
        {"address": str(CHAT), "language": "pl"},
        {"address": str(CHAT + 1), "language": "en"},
    ]


async def test_a_deep_link_opens_its_flow(
    tmp_path: Path, fake_telegram: tuple[FakeTelegram, str], live: Any
) -> None:
    fake, api = fake_telegram
    async with live(live_settings(tmp_path, **telegram_env(api))) as parley:
        await parley.telegram(parley.residents.message(CHAT, "/start poll_fund", "en"))
        await until(lambda: len(fake.sent) == 1)
        await parley.telegram(parley.residents.press(CHAT, "2", "en"))
        await until(lambda: len(fake.sent) == 2)
        await parley.telegram(parley.residents.message(CHAT + 1, "/start no_such_flow"))
        await until(lambda: len(fake.sent) == 3)
        answers = await parley.rows("SELECT flow_id FROM answers")
    assert fake.to(CHAT)[0]["reply_markup"] is not None
    assert answers == [{"flow_id": "poll_fund"}]
    assert fake.to(CHAT + 1)[0]["text"].startswith("Welcome to Parley!")  # unknown: /start


async def test_a_resident_who_blocked_the_bot_is_unreachable_not_retried(
    tmp_path: Path, fake_telegram: tuple[FakeTelegram, str], live: Any
) -> None:
    fake, api = fake_telegram
    fake.script = [Refusal(403, description="Forbidden: bot was blocked by the user")]
    async with live(live_settings(tmp_path, **telegram_env(api))) as parley:
        await parley.telegram(parley.residents.message(CHAT, "/start"))
        await until(lambda: len(fake.attempts) == 1)
        await parley.until_row("SELECT 1 FROM outbox WHERE status = 'failed'")
        outbox = await parley.rows("SELECT status, attempts FROM outbox")
        contact = await parley.rows("SELECT unreachable_at FROM contacts")
        # Writing again means they unblocked us: reachable again.
        await parley.telegram(parley.residents.message(CHAT, "hello"))
        await until(lambda: len(fake.sent) == 1)
        again = await parley.rows("SELECT unreachable_at FROM contacts")
    assert outbox == [{"status": "failed", "attempts": 1}]
    assert contact[0]["unreachable_at"] is not None
    assert again == [{"unreachable_at": None}]


async def test_being_blocked_is_noticed_from_the_update_too(
    tmp_path: Path, fake_telegram: tuple[FakeTelegram, str], live: Any
) -> None:
    fake, api = fake_telegram
    async with live(live_settings(tmp_path, **telegram_env(api))) as parley:
        await parley.telegram(parley.residents.message(CHAT, "/start"))
        await until(lambda: len(fake.sent) == 1)
        assert (await parley.telegram(parley.residents.blocked(CHAT))).status_code == 200
        contact = await parley.rows("SELECT unreachable_at FROM contacts")
    assert contact[0]["unreachable_at"] is not None


async def test_server_errors_then_flood_control_then_one_delivery(
    tmp_path: Path, fake_telegram: tuple[FakeTelegram, str], live: Any
) -> None:
    fake, api = fake_telegram
    fake.script = [Refusal(500), Refusal(429, retry_after=1)]
    async with live(live_settings(tmp_path, **telegram_env(api))) as parley:
        await parley.telegram(parley.residents.message(CHAT, "/start"))
        await parley.until_row("SELECT 1 FROM outbox WHERE status = 'sent'")
        outbox = await parley.rows("SELECT status, attempts, provider_id FROM outbox")
    assert [status for _, status in fake.attempts] == [500, 429, 200]
    assert fake.attempts[2][0] - fake.attempts[1][0] >= 1.0
    assert outbox == [{"status": "sent", "attempts": 3, "provider_id": f"{CHAT}:1"}]


async def test_one_chat_gets_at_most_one_message_a_second(
    tmp_path: Path, fake_telegram: tuple[FakeTelegram, str], live: Any
) -> None:
    fake, api = fake_telegram
    settings = live_settings(tmp_path, **telegram_env(api), PARLEY_TELEGRAM_CHAT_RATE="1")
    async with live(settings) as parley:
        await parley.telegram(parley.residents.message(CHAT, "/start"))
        await parley.telegram(parley.residents.message(CHAT, "HELP"))
        await parley.telegram(parley.residents.message(CHAT + 1, "/start"))
        await until(lambda: len(fake.sent) == 3)
    times = {message["id"]: at for message, (at, _) in zip(fake.sent, fake.attempts, strict=True)}
    first, second = (m["id"] for m in fake.to(CHAT))
    [other] = (m["id"] for m in fake.to(CHAT + 1))
    assert times[second] - times[first] >= 0.95  # the same chat: a second apart
    assert times[other] - times[first] < 0.5  # another chat did not wait for it


# -- several answers: toggle buttons and Done ------------------------------------------


async def _at_services(parley: Live, fake: FakeTelegram) -> dict[str, Any]:
    """Play the survey by buttons up to its question with several answers; that message."""
    for count, (kind, data) in enumerate(SURVEY[:6], 1):
        if kind == "press":
            update = parley.residents.press(CHAT, data, "en")
        else:
            update = parley.residents.message(CHAT, data, "en")
        assert (await parley.telegram(update)).status_code == 200
        await until_length(lambda: fake.to(CHAT), count)
    return fake.to(CHAT)[-1]


async def _press(parley: Live, fake: FakeTelegram, data: str) -> None:
    """Press a button of the last message, as its keyboard is now."""
    update = parley.residents.press(CHAT, data, "en", on=fake.to(CHAT)[-1])
    assert (await parley.telegram(update)).status_code == 200


def _keys(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k["text"], k["callback_data"]) for row in message["reply_markup"]["inline_keyboard"]
            for k in row]  # fmt: skip


async def test_several_answers_are_ticked_on_buttons_and_sent_with_done(
    tmp_path: Path, fake_telegram: tuple[FakeTelegram, str], live: Any
) -> None:
    fake, api = fake_telegram
    async with live(live_settings(tmp_path, **telegram_env(api))) as parley:
        question = await _at_services(parley, fake)
        asked = len(fake.to(CHAT))
        # The question and how to answer it; the options are the buttons, not lines too.
        assert question["text"].endswith(
            "Which services do you use?\nTick one or more, then press Done."
        )
        assert "1. " not in question["text"]
        assert "like: 1 3" not in question["text"]
        assert _keys(question) == [
            ("1. Doctor (GP)", "tick:1"),
            ("2. Library", "tick:2"),
            ("3. Community centre", "tick:3"),
            ("4. Food bank", "tick:4"),
            ("5. None of these", "tick:5"),
            ("Done", "done"),
        ]
        for count, data in enumerate(["tick:1", "tick:3", "tick:1", "tick:2"], 1):
            await _press(parley, fake, data)
            await until(lambda: len(fake.edits) == count)  # noqa: B023
        ticked = fake.to(CHAT)[-1]
        assert len(fake.to(CHAT)) == asked  # ticking says nothing
        assert await parley.rows("SELECT 1 FROM answers WHERE step_id = 'services'") == []
        assert [text for text, _ in _keys(ticked)][:3] == [
            "1. Doctor (GP)",  # ticked, then unticked
            "✅ 2. Library",
            "✅ 3. Community centre",
        ]
        await _press(parley, fake, "done")
        await until_length(lambda: fake.to(CHAT), asked + 1)
        answers = await _answers(parley)
        await until(lambda: len(fake.answered) == 5 + 5)  # every press answered
        await until(lambda: len(fake.edits) == 5)
    assert answers[-1] == ("services", ["library", "community_centre"])
    assert fake.to(CHAT)[-1]["text"].startswith("How safe do you feel")
    # Done took the buttons away: the answer cannot be sent twice.
    assert fake.edits[-1] == {"chat_id": CHAT, "id": ticked["id"], "reply_markup": None}


async def test_done_with_none_of_these_and_another_is_refused_and_with_nothing_does_nothing(
    tmp_path: Path, fake_telegram: tuple[FakeTelegram, str], live: Any
) -> None:
    fake, api = fake_telegram
    async with live(live_settings(tmp_path, **telegram_env(api))) as parley:
        await _at_services(parley, fake)
        asked = len(fake.to(CHAT))
        await _press(parley, fake, "done")  # nothing ticked: nothing to send
        await until(lambda: len(fake.answered) == 5)
        assert len(fake.to(CHAT)) == asked
        await _press(parley, fake, "tick:1")
        await until(lambda: len(fake.edits) == 1)
        await _press(parley, fake, "tick:5")
        await until(lambda: len(fake.edits) == 2)
        await _press(parley, fake, "done")
        await until_length(lambda: fake.to(CHAT), asked + 1)
        answers = await _answers(parley)
    assert fake.to(CHAT)[-1]["text"] == (
        'You cannot choose "None of these" together with other answers.'
    )
    assert [step for step, _ in answers] == ["top_issue", "housing_problem"]
