"""Broadcasts: choosing the audience, the preview a worker sees before sending, writing
the outbox in batches, and quiet hours holding broadcast SMS (but not replies)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import staff_text
from bot.civic.polls import as_flow, options_from_labels
from bot.content import load_content
from bot.engine import Env, Start, advance
from bot.outreach.audience import Audience, Recipient, count, select
from bot.outreach.broadcast import Message, Preview, Rendering, Survey, fan_out, preview
from bot.settings import Settings
from bot.store import Database, broadcasts, contacts, messages, polls, sessions
from bot.store.polls import NewPoll
from bot.store.sql import Tx
from tests import databases
from tests.test_cli import parley

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # midday in London: not quiet
TEXTS = {"en": "The panel meets on Tuesday at 6pm.", "pl": "Panel spotyka się we wtorek."}
QUESTION = {"en": "Which evening should the youth club open?", "pl": "Który wieczór?"}


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(settings.database)
    await database.run(_residents)
    yield database
    await database.close()


def _residents(tx: Tx) -> None:
    """Ten residents: a mix of channels, languages, wards and survey takers."""
    people = [
        ("sms", "+447700900001", "en", {"ward": "North"}),
        ("sms", "+447700900002", "pl", {"ward": "North"}),
        ("sms", "+447700900003", "ar", {"ward": "South"}),
        ("telegram", "1001", "en", {"ward": "South"}),
        ("telegram", "1002", "pl", {}),
        ("whatsapp", "+447700900006", "ro", {"ward": "North"}),
        ("sms", "+447700900007", "en", {}),
        ("sms", "+447700900008", "en", {"ward": "North"}),  # opts out
        ("telegram", "1009", "en", {"ward": "North"}),  # blocked the bot
        ("sms", "+447700900010", "ur", {"ward": "South"}),
    ]
    for channel, address, language, fields in people:
        contact = contacts.touch(tx, channel, address, language, NOW)
        if fields:
            contacts.update(tx, contact, fields)
    contacts.set_opted_out(tx, 8, True, NOW)
    contacts.set_unreachable(tx, 9, NOW)
    session = tx.execute(
        "INSERT INTO sessions (contact_id, flow_id, status, state, started_at, updated_at)"
        " VALUES (1, 'priorities', 'completed', '{}', 'x', 'x') RETURNING id"
    ).fetchone()[0]
    for contact_id in (1, 4):
        tx.execute(
            "INSERT INTO answers (session_id, contact_id, flow_id, step_id, value, raw,"
            " language, channel, answered_at) VALUES (?, ?, 'priorities', 'top_issue',"
            " '\"housing\"', '1', 'en', 'sms', 'x')",
            (session, contact_id),
        )


async def choose(
    database: Database, audience: Audience, texts: dict[str, str], settings: Settings
) -> tuple[list[Recipient], Preview]:
    recipients = await database.run(lambda tx: select(tx, audience))
    return recipients, preview(recipients, _rendering(texts, settings), settings)


def _rendering(texts: dict[str, str], settings: Settings) -> Rendering:
    return Rendering(Message(texts), Env(), settings.default_language, NOW)


async def send(
    database: Database,
    recipients: list[Recipient],
    texts: dict[str, str],
    settings: Settings,
    progress: Callable[[int], None] = lambda done: None,
    batch: int = 2000,
) -> int:
    new = broadcasts.NewBroadcast(broadcasts.MESSAGE, Audience().to_json(), texts=texts)
    broadcast_id = await database.run(lambda tx: broadcasts.create(tx, new, "sending", NOW))
    rendering = _rendering(texts, settings)
    await fan_out(database, broadcast_id, recipients, rendering, progress, batch)
    await database.run(lambda tx: broadcasts.finish(tx, broadcast_id, NOW))
    return broadcast_id


async def _ids(database: Database, audience: Audience) -> list[int]:
    return [r.contact_id for r in await database.run(lambda tx: select(tx, audience))]


async def test_opted_out_and_unreachable_residents_are_never_included(database: Database) -> None:
    assert await _ids(database, Audience()) == [1, 2, 3, 4, 5, 6, 7, 10]


async def test_residents_who_declined_the_welcome_question_are_never_included(
    database: Database,
) -> None:
    def decline(tx: Tx) -> None:
        contacts.update(tx, contacts.get(tx, 2), {"consent": "no"})
        contacts.update(tx, contacts.get(tx, 3), {"consent": "yes"})

    await database.run(decline)
    assert await _ids(database, Audience()) == [1, 3, 4, 5, 6, 7, 10]


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        (Audience(languages=("pl",)), [2, 5]),
        (Audience(channels=("telegram",)), [4, 5]),
        (Audience(fields={"ward": "North"}), [1, 2, 6]),
        (Audience(took_part_in="priorities"), [1, 4]),
        (Audience(not_took_part_in="priorities", channels=("sms",)), [2, 3, 7, 10]),
        (Audience(languages=("en",), fields={"ward": "South"}), [4]),
    ],
)
async def test_audiences(database: Database, audience: Audience, expected: list[int]) -> None:
    assert await _ids(database, audience) == expected


@pytest.mark.parametrize(
    "audience",
    [
        Audience(),
        Audience(languages=("pl", "en")),
        Audience(channels=("telegram", "whatsapp")),
        Audience(fields={"ward": "North"}),
        Audience(took_part_in="priorities"),
        Audience(not_took_part_in="priorities", channels=("sms",)),
        Audience(participants=("flow:priorities",)),
        Audience(sample=3, seed=7),
        Audience(sample=4, seed=1, strata="ward"),
    ],
)
@pytest.mark.parametrize("staff", [(), (("sms", "+447700900001"), ("telegram", "1002"))])
async def test_the_preview_counts_in_sql_whom_sending_would_reach(
    database: Database, audience: Audience, staff: tuple[tuple[str, str], ...]
) -> None:
    """The preview counts by channel and language in SQL; it must be whom a send picks."""

    def both(
        tx: Tx,
    ) -> tuple[Counter[tuple[str, str | None]], Counter[tuple[str, str | None]]]:
        chosen = Counter((r.channel, r.language) for r in select(tx, audience, staff))
        return chosen, count(tx, audience, staff)

    picked, counted = await database.run(both)
    assert counted == picked
    assert sum(counted.values()) == len(await database.run(lambda tx: select(tx, audience, staff)))


async def test_a_seeded_sample_is_reproducible(database: Database) -> None:
    first = await _ids(database, Audience(sample=3, seed=7))
    again = await _ids(database, Audience(sample=3, seed=7))
    other = await _ids(database, Audience(sample=3, seed=8))
    assert first == again
    assert len(first) == 3
    assert set(first) <= {1, 2, 3, 4, 5, 6, 7, 10}
    assert other != first


async def test_the_preview_counts_people_segments_cost_and_missing_translations(
    database: Database, settings: Settings
) -> None:
    recipients, preview = await choose(database, Audience(), TEXTS, settings)
    assert preview.recipients == len(recipients) == 8
    assert preview.by_channel_language == {
        ("sms", "en"): 2,
        ("sms", "pl"): 1,
        ("sms", "ar"): 1,
        ("sms", "ur"): 1,
        ("telegram", "en"): 1,
        ("telegram", "pl"): 1,
        ("whatsapp", "ro"): 1,
    }
    # English fits one GSM-7 segment; Polish needs UCS-2 (ę) but is short; the Arabic
    # and Urdu residents get the English source text.
    assert preview.segments_per_sms == {"en": 1, "pl": 1, "ar": 1, "ur": 1}
    assert preview.total_segments == 5
    assert preview.cost == pytest.approx(5 * 0.04)
    assert preview.fallback_languages == ("ar", "ro", "ur")
    assert preview.seconds == pytest.approx(5.0)  # 5 segments at 1 a second
    assert "8 residents" in staff_text.preview(preview)[0]


async def test_sending_writes_the_outbox_in_batches_in_each_language(
    database: Database, settings: Settings
) -> None:
    recipients, _ = await choose(database, Audience(), TEXTS, settings)
    progress: list[int] = []
    broadcast_id = await send(database, recipients, TEXTS, settings, progress.append, batch=3)
    rows = await database.run(
        lambda tx: [
            tuple(row)
            for row in tx.execute(
                "SELECT contact_id, text, broadcast_id FROM outbox ORDER BY contact_id"
            )
        ]
    )
    status = await database.run(
        lambda tx: tx.execute("SELECT status, recipients FROM broadcasts").fetchone()
    )
    # Batches of 3, the last the 2 left; on a database server two are written at once,
    # so they may finish in either order.
    assert sorted(progress) == [2, 3, 3]
    assert tuple(status) == ("queued", 8)
    assert {broadcast for _, _, broadcast in rows} == {broadcast_id}
    texts = {contact: text for contact, text, _ in rows}
    assert texts[2] == TEXTS["pl"]
    assert texts[3] == TEXTS["en"]  # Arabic: no translation, the source text
    assert 8 not in texts  # opted out
    assert 9 not in texts  # blocked the bot


def _many_more(tx: Tx) -> None:
    """500 more residents, languages and channels interleaved (some language unknown)."""
    languages = ("en", "pl", "ar", None)
    channels = ("sms", "telegram", "whatsapp")
    for n in range(500):
        contacts.touch(tx, channels[n % 3], f"+4477011{n:05d}", languages[n % 4], NOW)


def _by_batch(rows: list[Any], recipients: list[Recipient], batch: int) -> list[Any]:
    """Outbox rows (contact id first), read in the outbox's order, put batch by batch:
    on a database server two batches are written at once, so their rows may come
    interleaved; within each, the order is the residents' (a stable sort keeps it)."""
    position = {recipient.contact_id: n for n, recipient in enumerate(recipients)}
    return sorted(rows, key=lambda row: position[row[0]] // batch)


async def test_every_row_is_what_its_resident_is_sent_in_the_residents_order(
    database: Database, settings: Settings
) -> None:
    """Each language and channel is rendered once and a batch goes to the database in a
    few statements (bot/store/bulk.py): still each row is exactly what that resident is
    sent, and the rows follow the residents' order, within and across statements and
    batches (the dispatcher sends in the outbox's order)."""
    await database.run(_many_more)
    recipients, _ = await choose(database, Audience(), TEXTS, settings)
    assert len(recipients) == 508
    broadcast_id = await send(database, recipients, TEXTS, settings, batch=300)
    rows = await database.run(
        lambda tx: tx.execute(
            "SELECT contact_id, channel, kind, text, buttons, language, reply_to, segments,"
            " broadcast_id, created_at, status FROM outbox ORDER BY id"
        ).fetchall()
    )
    rendering = _rendering(TEXTS, settings)
    expected = []
    for recipient in recipients:
        language = recipient.language or settings.default_language
        sent = rendering.outgoing(language, recipient.channel)
        stored = (sent.text, None, language, None, sent.segments, broadcast_id, NOW.isoformat())
        expected.append((recipient.contact_id, recipient.channel, "reply", *stored, "queued"))
    assert _by_batch([tuple(row) for row in rows], recipients, 300) == expected
    assert {row[5] for row in rows} == {"en", "pl", "ar", "ro", "ur"}
    assert {row[7] for row in rows} == {1, None}  # SMS segments; none on Telegram


async def test_a_poll_gives_each_resident_its_row_and_session_in_their_language(
    database: Database, settings: Settings
) -> None:
    """A poll's rows carry its buttons, and each resident new to it gets a session in
    their language, many in one statement; one in another survey has it wait under the
    poll, one asked the poll already (not yet answered) is asked again, no second
    session."""
    await database.run(_many_more)
    _, env = load_content(settings)
    new_poll = NewPoll(QUESTION, options_from_labels(["Monday", "Friday"], "en"), "en")
    poll = await database.run(lambda tx: polls.get(tx, polls.create(tx, new_poll, NOW)))
    assert poll is not None
    flow = as_flow(poll, env)
    rendering = Rendering(Survey(flow), env, settings.default_language, NOW)
    asked_before = advance(flow, None, Start("pl"), NOW, env).session

    def earlier(tx: Tx) -> int:
        other = tx.execute(
            "INSERT INTO sessions (contact_id, flow_id, status, state, started_at, updated_at)"
            " VALUES (1, 'priorities', 'active', ?, 'x', 'x') RETURNING id",
            (asked_before.evolve(flow_id="priorities").to_json(),),
        ).fetchone()[0]
        sessions.create(tx, 2, asked_before, NOW)
        return int(other)

    other = await database.run(earlier)
    recipients = await database.run(lambda tx: select(tx, Audience()))
    new = broadcasts.NewBroadcast(
        broadcasts.POLL, Audience().to_json(), flow_id=poll.flow_id, poll_id=poll.id
    )
    broadcast_id = await database.run(lambda tx: broadcasts.create(tx, new, "sending", NOW))
    await fan_out(database, broadcast_id, recipients, rendering, batch=300)

    rows = await database.run(
        lambda tx: tx.execute(
            "SELECT contact_id, channel, text, buttons, language, segments FROM outbox"
            " WHERE broadcast_id = ? ORDER BY id",
            (broadcast_id,),
        ).fetchall()
    )
    opened = await database.run(
        lambda tx: {
            row[0]: tuple(row[1:])
            for row in tx.execute(
                "SELECT contact_id, flow_id, status, state, parent_id, broadcast_id,"
                " started_at, updated_at, ended_at FROM sessions WHERE flow_id = ?",
                (poll.flow_id,),
            )
        }
    )
    rows = _by_batch(rows, recipients, 300)
    assert [row[0] for row in rows] == [r.contact_id for r in recipients]
    assert len(opened) == len(recipients) == 508
    for row, recipient in zip(rows, recipients, strict=True):
        language = recipient.language or settings.default_language
        sent = rendering.outgoing(language, recipient.channel)
        buttons = messages.stored_buttons(sent.buttons)
        assert buttons is not None
        assert "Friday" in buttons
        if recipient.contact_id != 2:  # asked again: as a resumed turn words it
            assert tuple(row[1:]) == (
                recipient.channel,
                sent.text,
                buttons,
                language,
                sent.segments,
            )
        if recipient.contact_id not in (1, 2):
            state = rendering.start(language).session.to_json()
            when = NOW.isoformat()
            assert opened[recipient.contact_id] == (
                (poll.flow_id, "active", state, None, broadcast_id, when, when, None)
            )
    assert (opened[1][1], opened[1][3]) == ("active", other)  # the other survey waits under it
    status = await database.run(
        lambda tx: tx.execute("SELECT status FROM sessions WHERE id = ?", (other,)).fetchone()
    )
    assert status[0] == "interrupted"
    assert opened[2][1] == "active"  # the same session, asked again
    assert opened[2][4] is None  # not opened by this broadcast: it was there before


async def test_a_broadcast_is_sent_once_nothing_of_it_waits_in_the_outbox(
    database: Database, settings: Settings
) -> None:
    """Regression (issue 17): every message sent, and the broadcast still showed queued."""
    recipients, _ = await choose(database, Audience(), TEXTS, settings)
    broadcast_id = await send(database, recipients, TEXTS, settings)

    def status(tx: Tx) -> str:
        found = broadcasts.get(tx, broadcast_id)
        assert found is not None
        return found.status

    def outbox(tx: Tx) -> list[int]:
        query = "SELECT id FROM outbox WHERE broadcast_id = ? ORDER BY id"
        return [row[0] for row in tx.execute(query, (broadcast_id,))]

    first, *middle, last = await database.run(outbox)
    assert await database.run(status) == "queued"

    def sent(tx: Tx, ids: list[int]) -> None:
        for one in ids:
            messages.mark_sent(tx, one, f"SM{one}", NOW)

    await database.run(lambda tx: sent(tx, [first]))
    await database.run(lambda tx: sent(tx, middle))
    assert await database.run(status) == "queued"  # one still to go
    await database.run(lambda tx: messages.mark_unsent(tx, last, "failed", "refused", True))
    assert await database.run(status) == broadcasts.SENT == "sent"


async def test_quiet_hours_hold_broadcasts_but_not_replies(
    database: Database, settings: Settings
) -> None:
    recipients, _ = await choose(database, Audience(channels=("sms",)), TEXTS, settings)
    await send(database, recipients[:1], TEXTS, settings)
    reply = messages.NewOutbound(1, "sms", "Thanks for your answer.", "en")
    await database.run(lambda tx: messages.add_outbound(tx, reply, NOW))

    def due(tx: Tx, broadcasts: bool) -> list[str]:
        return [m.text for m in messages.due(tx, ("sms",), NOW, broadcasts=broadcasts)]

    quiet = await database.run(lambda tx: due(tx, False))
    daytime = await database.run(lambda tx: due(tx, True))
    assert quiet == ["Thanks for your answer."]  # the reply overtakes the held broadcast
    assert daytime == [TEXTS["en"]]  # by day the broadcast, queued first, goes first


def test_quiet_hours_are_local_and_span_midnight(settings: Settings) -> None:
    summer = datetime(2026, 7, 1, tzinfo=UTC)
    assert settings.is_quiet(summer + timedelta(hours=20, minutes=30))  # 21:30 BST
    assert settings.is_quiet(summer + timedelta(hours=7, minutes=59))  # 08:59 BST
    assert not settings.is_quiet(summer + timedelta(hours=8))  # 09:00 BST
    assert not settings.is_quiet(summer + timedelta(hours=19, minutes=59))  # 20:59 BST


def test_the_cli_shows_the_preview_and_sends_only_when_confirmed(tmp_path: Path) -> None:
    chat = parley(tmp_path, "chat", stdin="hi\n1\nyes\n")  # one resident, in English
    assert chat.returncode == 0, chat.stderr
    args = ("broadcast", "--text", "en=The panel meets on Tuesday.", "--text", "pl=Wtorek.")
    declined = parley(tmp_path, *args, stdin="n\n")
    assert declined.returncode == 0, declined.stderr
    assert "1 resident\n" in declined.stdout
    assert "Not sent." in declined.stdout
    confirmed = parley(tmp_path, *args, "--yes")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "1 message queued" in confirmed.stdout
    with databases.connect(databases.location(tmp_path)) as db:
        sent = db.execute("SELECT text FROM outbox WHERE broadcast_id IS NOT NULL").fetchall()
    assert sent == [("The panel meets on Tuesday.",)]
    missing = parley(tmp_path, "broadcast", "--text", "pl=Tylko po polsku")
    assert missing.returncode == 1
    assert "give the message in en" in missing.stderr
