"""Scheduled work (issue 4), with time in the test's hands: a broadcast goes at its time
and its SMS wait out quiet hours; a restart neither loses nor repeats a send; a fan-out
cut short is finished once; reminders reach only non-responders; a poll closes on time
and each voter gets the result in their language; pause, resume and cancel; and
APScheduler armed from the jobs table, on the real clock.

The harness clock starts on Monday 2 March 2026 at 10:00 UTC. London is on GMT until
29 March, so local time is UTC here; quiet hours are 21:00-09:00. Jobs are run by
calling ``jobs.run_due()`` where the test wants the clock (the harness runs no
APScheduler); ``dispatcher.drain()`` sends what may go at the clock's time.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.channels.base import Outbound
from bot.channels.simulator import SimulatorChannel
from bot.civic.polls import as_flow, options_from_labels
from bot.desk import Actor, Desk, Front, Role, moments
from bot.desk.broadcasts import store_draft
from bot.desk.polls import create as create_poll
from bot.outreach import schedule
from bot.outreach.audience import Audience
from bot.outreach.broadcast import Content, Message, Survey, fan_out
from bot.outreach.schedule import Jobs
from bot.outreach.scheduler import Scheduler
from bot.phone.broadcasts import send as phone_send
from bot.phone.reply import Phone
from bot.service import utc_now
from bot.settings import Settings, load_settings
from bot.store import Database, broadcasts, contacts
from bot.store.broadcasts import NewBroadcast
from bot.store.polls import NewPoll
from bot.store.sql import Tx
from tests import databases
from tests.conftest import Harness
from tests.service.test_keywords import into_survey


@dataclass(frozen=True)
class Person:
    channel: str
    address: str
    language: str


ANNA = Person("sms", "+447700900001", "en")
PIOTR = Person("sms", "+447700900002", "pl")
TOM = Person("telegram", "1003", "en")
OLA = Person("sms", "+447700900004", "en")
ORGANISER = Person("telegram", "9000", "en")  # staff: never in an audience

NEWS = {
    "en": "The community fridge opens on Saturday.",
    "pl": "Lodówka społeczna otwiera się w sobotę.",
}
QUESTION = {
    "en": "Which evening should the youth club open?",
    "pl": "Który wieczór ma być otwarty klub młodzieżowy?",
}
EVENINGS = {
    "en": ("Monday", "Wednesday", "Friday"),
    "pl": ("Poniedziałek", "Środa", "Piątek"),
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The defaults (quiet hours 21:00-09:00 Europe/London), with one organiser."""
    config = tmp_path / "parley.toml"
    config.write_text("[parley]\n", encoding="utf-8")
    environ = {
        "PARLEY_DATABASE": databases.of(tmp_path),
        "PARLEY_STAFF": f"{ORGANISER.channel}:{ORGANISER.address}=organiser",
    }
    return load_settings(environ, config_file=config)


# -- setting the scene -------------------------------------------------------------------


def _join(tx: Tx, people: Iterable[Person], now: datetime) -> None:
    for person in people:
        contact = contacts.touch(tx, person.channel, person.address, person.language, now)
        contacts.update(tx, contact, {"consent": "yes"})


async def join(app: App, now: datetime, *people: Person) -> None:
    """Residents who joined earlier and gave their consent."""
    await app.database.run(lambda tx: _join(tx, people, now))


def _desk(app: App, tx: Tx, now: datetime) -> Desk:
    jobs = app.jobs
    actor = Actor("test", Role.ORGANISER, Front.CLI)
    return Desk(tx, app.settings, jobs.env, jobs.flows, now, actor)


async def draft(app: App, now: datetime, new: NewBroadcast, content: Content) -> int:
    """Store a broadcast as a draft (to everyone opted in); its id."""
    return await app.database.run(lambda tx: store_draft(_desk(app, tx, now), new, content).id)


async def confirm(app: App, now: datetime, broadcast_id: int) -> str:
    """Confirm a draft, as ``/send N`` does; the organiser's reply."""
    return await app.database.run(
        lambda tx: phone_send(Phone(_desk(app, tx, now)), str(broadcast_id)).text
    )


async def announce(app: App, now: datetime, send_at: datetime | None = None) -> int:
    """The fridge news to everyone, confirmed to go at ``send_at`` (None: now)."""
    new = NewBroadcast(broadcasts.MESSAGE, Audience().to_json(), texts=NEWS, send_at=send_at)
    broadcast_id = await draft(app, now, new, Message(NEWS))
    await confirm(app, now, broadcast_id)
    return broadcast_id


async def ask(
    harness: Harness,
    closes_at: datetime | None = None,
    remind_after: timedelta | None = None,
) -> tuple[int, int]:
    """The youth-club poll (English and Polish), confirmed to go to everyone now;
    returns (poll id, broadcast id)."""
    app, now = harness.app, harness.clock()
    options = tuple(
        replace(option, texts={**option.texts, "pl": polish})
        for option, polish in zip(
            options_from_labels(EVENINGS["en"], "en"), EVENINGS["pl"], strict=True
        )
    )
    new_poll = NewPoll(QUESTION, options, "en", closes_at=closes_at, created_by="test")
    poll = await app.database.run(lambda tx: create_poll(_desk(app, tx, now), new_poll))
    new = NewBroadcast(
        broadcasts.POLL,
        Audience().to_json(),
        flow_id=poll.flow_id,
        poll_id=poll.id,
        remind_after=remind_after,
    )
    broadcast_id = await draft(app, now, new, Survey(as_flow(poll, app.jobs.env)))
    await confirm(app, now, broadcast_id)
    return poll.id, broadcast_id


# -- looking -------------------------------------------------------------------------------


async def run_due(harness: Harness) -> int:
    return await harness.app.jobs.run_due()


async def drain(harness: Harness) -> int:
    return await harness.app.dispatcher.drain()


async def says(harness: Harness, person: Person, text: str) -> list[str]:
    """``person`` sends ``text``; what the bot answered them."""
    return await harness.send(text, person.address, person.channel, person.language)


def got(harness: Harness, person: Person) -> list[str]:
    """Every text the simulator delivered to ``person``, in order."""
    return [
        m.text for m in harness.sent if (m.channel, m.address) == (person.channel, person.address)
    ]


async def outbox(harness: Harness, broadcast_id: int) -> dict[str, list[str]]:
    """A broadcast's outbox rows: each recipient's address -> the rows' statuses."""
    rows = await harness.rows(
        "SELECT c.address, o.status FROM outbox o JOIN contacts c ON c.id = o.contact_id"
        " WHERE o.broadcast_id = ? ORDER BY o.id",
        broadcast_id,
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["address"], []).append(row["status"])
    return found


async def status(harness: Harness, broadcast_id: int) -> str:
    [row] = await harness.rows("SELECT status FROM broadcasts WHERE id = ?", broadcast_id)
    return str(row["status"])


async def poll_sessions(harness: Harness, person: Person, poll_id: int) -> list[str]:
    """The statuses of ``person``'s sessions on the poll, oldest first."""
    rows = await harness.rows(
        "SELECT s.status FROM sessions s JOIN contacts c ON c.id = s.contact_id"
        " WHERE c.address = ? AND s.flow_id = ? ORDER BY s.id",
        person.address,
        f"poll-{poll_id}",
    )
    return [row["status"] for row in rows]


# -- 1. quiet hours ------------------------------------------------------------------------


async def test_a_broadcast_for_2230_is_written_at_2230_and_its_sms_wait_until_9am(
    harness: Harness,
) -> None:
    """Scheduled inside quiet hours: nothing is written before 22:30; at 22:30 it is
    written for everyone and Telegram gets it at once (a chat can be muted), while the
    SMS wait until 09:00. A resident who writes at 23:00 is answered at once."""
    app = harness.app
    await join(app, harness.clock(), ANNA, PIOTR, TOM)
    at = moments.when("22:30", harness.clock(), app.settings.timezone)
    assert at == datetime(2026, 3, 2, 22, 30, tzinfo=UTC)
    new = NewBroadcast(broadcasts.MESSAGE, Audience().to_json(), texts=NEWS, send_at=at)
    broadcast_id = await draft(app, harness.clock(), new, Message(NEWS))
    note = await confirm(app, harness.clock(), broadcast_id)
    assert note == (
        f"Broadcast {broadcast_id} will be sent Mon 02 Mar 22:30."
        " It is quiet hours: SMS wait until they end; Telegram goes now."
    )

    harness.clock.advance(hours=12, minutes=29)  # 22:29
    assert await run_due(harness) == 0
    assert await drain(harness) == 0
    assert await outbox(harness, broadcast_id) == {}
    assert await status(harness, broadcast_id) == "scheduled"

    harness.clock.advance(minutes=1)  # 22:30
    assert await run_due(harness) == 1
    assert await drain(harness) == 1
    assert got(harness, TOM) == [NEWS["en"]]
    assert got(harness, ANNA) == got(harness, PIOTR) == []
    assert await outbox(harness, broadcast_id) == {
        ANNA.address: ["queued"],
        PIOTR.address: ["queued"],
        TOM.address: ["sent"],
    }

    harness.clock.advance(minutes=30)  # 23:00: Anna asks for help, and is answered
    [answer] = await says(harness, ANNA, "HELP")
    assert answer != NEWS["en"]
    assert answer.startswith("Parley:")
    assert (await outbox(harness, broadcast_id))[ANNA.address] == ["queued"]

    harness.clock.advance(hours=9, minutes=59)  # 08:59
    assert await drain(harness) == 0
    harness.clock.advance(minutes=1)  # 09:00
    assert await drain(harness) == 2
    assert got(harness, ANNA) == [answer, NEWS["en"]]
    assert got(harness, PIOTR) == [NEWS["pl"]]
    assert got(harness, TOM) == [NEWS["en"]]
    assert await outbox(harness, broadcast_id) == {
        ANNA.address: ["sent"],
        PIOTR.address: ["sent"],
        TOM.address: ["sent"],
    }
    assert await run_due(harness) == 0


# -- 2. restarts -----------------------------------------------------------------------------


async def test_a_send_scheduled_before_a_restart_goes_once_at_its_time(
    harness: Harness, settings: Settings
) -> None:
    """An organiser schedules a broadcast for 2 hours later; Parley restarts; at the
    time it goes, once; running the jobs again, and restarting again, sends nothing more."""
    await join(harness.app, harness.clock(), ANNA, PIOTR, TOM)
    [preview] = await says(
        harness, ORGANISER, f"/broadcast {NEWS['en']}\npl: {NEWS['pl']}\nat: in 2h"
    )
    assert "Broadcast 1 (draft)" in preview
    assert "3 residents" in preview  # the organiser is not one of them
    assert "Sends Mon 02 Mar 12:00." in preview
    assert await says(harness, ORGANISER, "/send 1") == [
        "Broadcast 1 will be sent Mon 02 Mar 12:00."
    ]

    await harness.restart(settings)
    harness.clock.advance(hours=1, minutes=59)
    assert await run_due(harness) == 0  # not early
    assert await outbox(harness, 1) == {}

    harness.clock.advance(minutes=2)  # 12:01
    assert await run_due(harness) == 1
    assert await drain(harness) == 3
    assert await run_due(harness) == 0
    await harness.restart(settings)
    assert await run_due(harness) == 0
    assert await harness.app.jobs.resume() == 0
    assert await drain(harness) == 0

    assert got(harness, ANNA) == [NEWS["en"]]
    assert got(harness, PIOTR) == [NEWS["pl"]]
    assert got(harness, TOM) == [NEWS["en"]]
    assert await outbox(harness, 1) == {
        ANNA.address: ["sent"],
        PIOTR.address: ["sent"],
        TOM.address: ["sent"],
    }
    jobs = await harness.rows("SELECT kind, target, done_at FROM jobs")
    assert [(job["kind"], job["target"]) for job in jobs] == [("send", 1)]
    assert jobs[0]["done_at"] is not None
    [broadcast] = await harness.rows("SELECT status, recipients FROM broadcasts")
    assert (broadcast["status"], broadcast["recipients"]) == ("queued", 3)


class Crash(Exception):
    """The process dying in the middle of a fan-out."""


async def test_a_fan_out_cut_short_is_finished_by_resume_and_nobody_is_asked_twice(
    harness: Harness, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll's fan-out dies after writing two of four recipients (one per batch here).
    After the restart ``resume`` writes the other two: everyone is asked exactly once
    and has exactly one session on the poll."""
    await join(harness.app, harness.clock(), ANNA, PIOTR, TOM, OLA)
    poll_id, broadcast_id = await ask(harness)
    batches: list[int] = []

    def dies_after_two_batches(written: int) -> None:
        batches.append(written)
        if len(batches) == 2:
            raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(schedule, "fan_out", functools.partial(fan_out, batch=1, at_once=1))
        with pytest.raises(Crash):
            await harness.app.jobs.run_due(dies_after_two_batches)
    assert await status(harness, broadcast_id) == "sending"
    assert await outbox(harness, broadcast_id) == {
        ANNA.address: ["queued"],
        PIOTR.address: ["queued"],
    }

    await harness.restart(settings)  # sends what was written before the crash
    assert await run_due(harness) == 0  # the send job was claimed before the crash
    assert await harness.app.jobs.resume() == 1
    assert await drain(harness) == 2
    assert await harness.app.jobs.resume() == 0
    assert await run_due(harness) == 0
    assert await drain(harness) == 0

    assert await status(harness, broadcast_id) == "queued"
    assert await outbox(harness, broadcast_id) == {
        person.address: ["sent"] for person in (ANNA, PIOTR, TOM, OLA)
    }
    for person in (ANNA, PIOTR, TOM, OLA):
        [question] = got(harness, person)
        assert question.startswith(QUESTION[person.language])
        assert await poll_sessions(harness, person, poll_id) == ["active"]
    [counted] = await harness.rows("SELECT recipients FROM broadcasts WHERE id = ?", broadcast_id)
    assert counted["recipients"] == 4


async def test_two_processes_running_the_same_due_job_at_once_do_it_once(
    harness: Harness, settings: Settings
) -> None:
    """``parley run`` and a second process on the same database file (a CLI command:
    its own connection and jobs, as ``parley broadcast`` opens them) both run what is
    due at the same moment: the reminder is written and sent once, by one of them."""
    await join(harness.app, harness.clock(), ANNA, TOM)
    await ask(harness, remind_after=timedelta(days=1))
    assert await run_due(harness) == 1
    assert await drain(harness) == 2
    harness.clock.advance(days=1)

    database = await Database.open(settings.database)
    jobs = harness.app.jobs
    other = Jobs(database, jobs.flows, jobs.env, settings, harness.clock)
    try:
        done = await asyncio.gather(jobs.run_due(), other.run_due())
    finally:
        await database.close()
    assert sorted(done) == [0, 1]
    assert await drain(harness) == 2
    reminders = await harness.rows("SELECT id FROM broadcasts WHERE kind = 'reminder'")
    assert len(reminders) == 1
    for person in (ANNA, TOM):
        [question, reminder] = got(harness, person)
        assert question.startswith(QUESTION["en"])
        assert reminder.startswith("Reminder")


# -- 3. reminders ----------------------------------------------------------------------------


async def test_a_reminder_goes_once_and_only_to_those_who_have_not_voted(
    harness: Harness,
) -> None:
    """Three residents are asked, reminders after 1 day; Anna votes. A day later Ola
    and Tom are asked again, starting with "Reminder"; Anna gets nothing. Running the
    jobs again reminds nobody. A reminded resident can still vote."""
    await join(harness.app, harness.clock(), ANNA, OLA, TOM)
    poll_id, broadcast_id = await ask(harness, remind_after=timedelta(days=1))
    assert await run_due(harness) == 1
    assert await drain(harness) == 3
    [thanks] = await says(harness, ANNA, "2")
    assert thanks.startswith("Thank you for voting!")

    harness.clock.advance(hours=23, minutes=59)
    assert await run_due(harness) == 0
    harness.clock.advance(minutes=1)
    assert await run_due(harness) == 1
    assert await drain(harness) == 2

    for person in (OLA, TOM):
        question, reminder = got(harness, person)
        assert question.startswith(QUESTION["en"])
        assert reminder.startswith("Reminder")
        assert QUESTION["en"] in reminder
    assert len(got(harness, ANNA)) == 2  # the question, and the thanks for her vote
    reminders = await harness.rows("SELECT id, parent_id FROM broadcasts WHERE kind = 'reminder'")
    assert [row["parent_id"] for row in reminders] == [broadcast_id]
    assert set(await outbox(harness, reminders[0]["id"])) == {OLA.address, TOM.address}

    assert await run_due(harness) == 0
    harness.clock.advance(days=2)
    assert await run_due(harness) == 0
    assert await drain(harness) == 0
    assert len(got(harness, OLA)) == len(got(harness, TOM)) == 2

    [thanks] = await says(harness, OLA, "1")
    assert thanks.startswith("Thank you for voting!")
    votes = await harness.rows("SELECT choice FROM votes WHERE poll_id = ?", poll_id)
    assert sorted(row["choice"] for row in votes) == ['["monday"]', '["wednesday"]']


async def test_a_reminder_due_after_the_poll_closed_sends_nothing(harness: Harness) -> None:
    """The poll closes after 12 hours, its reminder was due after a day: by then there
    is nothing to answer, so no reminder is written or sent."""
    await join(harness.app, harness.clock(), ANNA, TOM)
    closes = harness.clock() + timedelta(hours=12)
    poll_id, _ = await ask(harness, closes_at=closes, remind_after=timedelta(days=1))
    assert await run_due(harness) == 1
    assert await drain(harness) == 2

    harness.clock.advance(hours=12)
    assert await run_due(harness) == 1  # closed (nobody voted: no result to send)
    [poll] = await harness.rows("SELECT status FROM polls WHERE id = ?", poll_id)
    assert poll["status"] == "closed"
    harness.clock.advance(hours=12)
    assert await run_due(harness) == 1  # the reminder's job, done without a reminder
    assert await drain(harness) == 0

    assert await harness.rows("SELECT id FROM broadcasts WHERE kind = 'reminder'") == []
    assert len(got(harness, ANNA)) == len(got(harness, TOM)) == 1
    pending = await harness.rows("SELECT kind FROM jobs WHERE done_at IS NULL")
    assert pending == []


# -- 4. closing ------------------------------------------------------------------------------


async def test_at_its_closing_time_a_poll_closes_and_each_voter_gets_the_result(
    harness: Harness,
) -> None:
    """Votes count until the closing time (Anna changes hers a minute before). At the
    time the poll closes by itself; Anna gets the result in English, Piotr in Polish
    (the options as the poll translated them); Tom, who never voted, and Ola, who voted
    and then opted out, get nothing. A vote after closing is not counted."""
    await join(harness.app, harness.clock(), ANNA, PIOTR, TOM, OLA)
    closes = harness.clock() + timedelta(days=2)
    poll_id, _ = await ask(harness, closes_at=closes)
    assert await run_due(harness) == 1
    assert await drain(harness) == 4
    await says(harness, ANNA, "1")
    await says(harness, PIOTR, "Środa")
    await says(harness, OLA, "2")
    await says(harness, OLA, "STOP")

    harness.clock.advance(days=2, minutes=-1)
    [changed] = await says(harness, ANNA, "3")
    assert "Friday" in changed
    assert await run_due(harness) == 0
    [poll] = await harness.rows("SELECT status FROM polls WHERE id = ?", poll_id)
    assert poll["status"] == "open"
    before = {person: len(got(harness, person)) for person in (ANNA, PIOTR, TOM, OLA)}

    harness.clock.advance(minutes=1)
    assert await run_due(harness) == 1
    assert await drain(harness) == 2
    [poll] = await harness.rows("SELECT status, closed_at FROM polls WHERE id = ?", poll_id)
    assert poll["status"] == "closed"
    assert poll["closed_at"] == closes.isoformat()

    english = got(harness, ANNA)[before[ANNA] :]
    polish = got(harness, PIOTR)[before[PIOTR] :]
    assert len(english) == len(polish) == 1
    assert QUESTION["en"] in english[0]
    assert "1. Monday: 0 votes (0%)" in english[0]  # Anna's first vote was replaced
    assert "3. Friday: 1 vote" in english[0]
    assert QUESTION["pl"] in polish[0]
    for number, label in enumerate(EVENINGS["pl"], start=1):
        assert f"{number}. {label}: " in polish[0]
    assert len(got(harness, TOM)) == before[TOM] == 1  # only the question
    assert len(got(harness, OLA)) == before[OLA]
    [result] = await harness.rows("SELECT id FROM broadcasts WHERE kind = 'results'")
    assert await outbox(harness, result["id"]) == {  # not even queued for Tom or Ola
        ANNA.address: ["sent"],
        PIOTR.address: ["sent"],
    }
    # Tom was still being asked: that question is over.
    assert await poll_sessions(harness, TOM, poll_id) == ["expired"]

    assert await run_due(harness) == 0  # the result goes once
    assert await drain(harness) == 0
    [late] = await says(harness, TOM, "1")
    assert late.startswith("Sorry, this poll has closed.")
    voters = await harness.rows(
        "SELECT c.address FROM votes v JOIN contacts c ON c.id = v.contact_id"
        " WHERE v.poll_id = ? ORDER BY c.id",
        poll_id,
    )
    assert [row["address"] for row in voters] == [ANNA.address, PIOTR.address, OLA.address]


# -- 5. pause, resume, cancel -----------------------------------------------------------------


async def test_a_paused_broadcast_sends_nothing_until_it_is_resumed(harness: Harness) -> None:
    """Written to the outbox, then paused by the organiser: nothing of it goes, even
    hours later; resumed, it all goes."""
    await join(harness.app, harness.clock(), ANNA, PIOTR, TOM)
    broadcast_id = await announce(harness.app, harness.clock())
    assert await run_due(harness) == 1

    paused = await says(harness, ORGANISER, f"/pause {broadcast_id}")  # drains, too
    assert paused == [f"Broadcast {broadcast_id} paused. /resume {broadcast_id} to go on."]
    harness.clock.advance(hours=2)
    assert await drain(harness) == 0
    assert got(harness, ANNA) == got(harness, PIOTR) == got(harness, TOM) == []
    assert await outbox(harness, broadcast_id) == {
        person.address: ["queued"] for person in (ANNA, PIOTR, TOM)
    }

    resumed = await says(harness, ORGANISER, f"/resume {broadcast_id}")  # drains
    assert resumed == [f"Broadcast {broadcast_id} resumed."]
    assert got(harness, ANNA) == [NEWS["en"]]
    assert got(harness, PIOTR) == [NEWS["pl"]]
    assert got(harness, TOM) == [NEWS["en"]]


async def test_a_broadcast_paused_before_its_time_waits_until_resumed(harness: Harness) -> None:
    """Paused while still scheduled: its time passes and nothing is written; resumed
    later, it is written and sent then."""
    await join(harness.app, harness.clock(), ANNA, TOM)
    broadcast_id = await announce(
        harness.app, harness.clock(), harness.clock() + timedelta(hours=1)
    )
    await says(harness, ORGANISER, f"/pause {broadcast_id}")
    harness.clock.advance(hours=2)
    assert await run_due(harness) == 0
    assert await outbox(harness, broadcast_id) == {}

    await says(harness, ORGANISER, f"/resume {broadcast_id}")
    assert await run_due(harness) == 1
    assert await drain(harness) == 2
    assert got(harness, ANNA) == got(harness, TOM) == [NEWS["en"]]


async def test_a_cancelled_scheduled_broadcast_never_runs(harness: Harness) -> None:
    """Cancelled before its time: its send job is dropped, and nothing is ever
    written or sent."""
    await join(harness.app, harness.clock(), ANNA, TOM)
    broadcast_id = await announce(
        harness.app, harness.clock(), harness.clock() + timedelta(hours=1)
    )
    cancelled = await says(harness, ORGANISER, f"/cancel {broadcast_id}")
    assert cancelled == [
        f"Broadcast {broadcast_id} cancelled: 0 messages not yet sent will not go."
    ]

    harness.clock.advance(hours=2)
    assert await run_due(harness) == 0
    assert await drain(harness) == 0
    assert await outbox(harness, broadcast_id) == {}
    assert got(harness, ANNA) == got(harness, TOM) == []
    [row] = await harness.rows(
        "SELECT status, started_at FROM broadcasts WHERE id = ?", broadcast_id
    )
    assert (row["status"], row["started_at"]) == ("cancelled", None)
    [job] = await harness.rows("SELECT kind, done_at FROM jobs")
    assert job["kind"] == "send"
    assert job["done_at"] is not None  # dropped, never to run


async def test_cancelling_mid_queue_withdraws_the_unsent_and_puts_residents_back(
    harness: Harness,
) -> None:
    """A poll goes out at 22:30: Tom (Telegram) is asked, the SMS wait for morning.
    Anna was in the middle of the priorities survey. The organiser cancels: the
    queued questions are withdrawn, Anna is back in her survey and Piotr in nothing;
    Tom, who was asked, keeps his question. Nothing more goes in the morning."""
    await into_survey(harness, ANNA.address)  # Anna: "What should be fixed first?"
    await join(harness.app, harness.clock(), PIOTR, TOM)
    harness.clock.advance(hours=12, minutes=30)  # 22:30, quiet hours
    poll_id, broadcast_id = await ask(harness)
    assert await run_due(harness) == 1
    assert await drain(harness) == 1  # Telegram only
    assert await poll_sessions(harness, ANNA, poll_id) == ["active"]
    before = len(got(harness, ANNA))

    cancelled = await says(harness, ORGANISER, f"/cancel {broadcast_id}")
    assert cancelled == [
        f"Broadcast {broadcast_id} cancelled: 2 messages not yet sent will not go."
    ]
    assert await outbox(harness, broadcast_id) == {
        ANNA.address: ["cancelled"],
        PIOTR.address: ["cancelled"],
        TOM.address: ["sent"],
    }
    assert await poll_sessions(harness, ANNA, poll_id) == ["expired"]
    assert await poll_sessions(harness, PIOTR, poll_id) == ["expired"]
    assert await poll_sessions(harness, TOM, poll_id) == ["active"]
    [survey] = await harness.rows(
        "SELECT s.flow_id FROM sessions s JOIN contacts c ON c.id = s.contact_id"
        " WHERE c.address = ? AND s.status = 'active'",
        ANNA.address,
    )
    assert survey["flow_id"] == "priorities"

    harness.clock.advance(hours=11)  # 09:30
    assert await run_due(harness) == 0
    assert await drain(harness) == 0
    assert len(got(harness, ANNA)) == before
    assert got(harness, PIOTR) == []
    await says(harness, ANNA, "1")  # her answer to the survey, not to the withdrawn poll
    answers = await harness.rows(
        "SELECT flow_id, step_id, value FROM answers a JOIN contacts c ON c.id = a.contact_id"
        " WHERE c.address = ? ORDER BY a.id",
        ANNA.address,
    )
    assert (answers[-1]["flow_id"], answers[-1]["step_id"], answers[-1]["value"]) == (
        "priorities",
        "top_issue",
        '"housing"',
    )
    assert await harness.rows("SELECT * FROM votes") == []


# -- 6. APScheduler, on the real clock ---------------------------------------------------------


async def _open(settings: Settings, sent: list[Outbound]) -> App:
    channels = {name: SimulatorChannel(name, sent.append) for name in ("sms", "telegram")}
    return await App.open(settings, channels, clock=utc_now)


async def _eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not done within {within} s")
        await asyncio.sleep(0.02)


async def _count(app: App, sql: str, params: Sequence[object] = ()) -> int:
    return int(await app.database.run(lambda tx: tx.execute(sql, params).fetchone()[0]))


async def _queued_for(app: App, broadcast_id: int, recipients: int) -> bool:
    """The broadcast is written for all its recipients and marked queued."""
    rows = await _count(app, "SELECT count(*) FROM outbox WHERE broadcast_id = ?", (broadcast_id,))
    done = await _count(
        app, "SELECT count(*) FROM broadcasts WHERE id = ? AND status = 'queued'", (broadcast_id,)
    )
    return rows == recipients and done == 1


async def test_the_scheduler_arms_a_job_from_the_database_and_fires_it_on_time(
    settings: Settings,
) -> None:
    """On the real clock: a broadcast confirmed to go in half a second is armed as a
    timer when the scheduler starts, and written to the outbox when it fires."""
    sent: list[Outbound] = []
    app = await _open(settings, sent)
    scheduler = Scheduler(app.jobs)
    try:
        await join(app, utc_now(), ANNA, TOM)
        due = utc_now() + timedelta(seconds=0.5)
        broadcast_id = await announce(app, utc_now(), due)
        await scheduler.start()
        assert scheduler.armed == [f"job-1-{due.isoformat()}"]
        assert await _count(app, "SELECT count(*) FROM outbox") == 0

        await _eventually(functools.partial(_queued_for, app, broadcast_id, 2))
        assert utc_now() >= due
        assert scheduler.armed == []
        assert await _count(app, "SELECT count(*) FROM jobs WHERE done_at IS NOT NULL") == 1
        await asyncio.sleep(0.1)  # the timer's re-reading of the jobs table
    finally:
        scheduler.stop()
        await app.close()


async def test_at_start_up_the_scheduler_finishes_what_parley_missed_while_down_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parley stopped in the middle of writing broadcast 1 (one of two recipients
    written), and was down an hour ago, when broadcast 2 fell due. At start-up the
    scheduler finishes the first and runs the second's late job; started again, it
    does neither a second time."""
    sent: list[Outbound] = []
    app = await _open(settings, sent)
    await join(app, utc_now(), ANNA, TOM)
    cut_short = await announce(app, utc_now())
    with monkeypatch.context() as patch:
        patch.setattr(schedule, "fan_out", functools.partial(fan_out, batch=1, at_once=1))
        with pytest.raises(Crash):
            await app.jobs.run_due(_crash)
    assert await _count(app, "SELECT count(*) FROM outbox") == 1
    confirmed = utc_now() - timedelta(hours=2)  # confirmed 2 h ago, to go 1 h ago
    missed = await announce(app, confirmed, confirmed + timedelta(hours=1))
    await app.close()
    assert missed == cut_short + 1

    for _ in range(2):  # started, then started again
        app = await _open(settings, sent)
        scheduler = Scheduler(app.jobs)
        try:
            await scheduler.start()
            await _eventually(functools.partial(_queued_for, app, cut_short, 2))
            await _eventually(functools.partial(_queued_for, app, missed, 2))
            await asyncio.sleep(0.2)  # anything else due would have run by now
            assert scheduler.armed == []
            assert await _count(app, "SELECT count(*) FROM outbox") == 4
            assert await _count(app, "SELECT count(*) FROM jobs WHERE done_at IS NULL") == 0
        finally:
            scheduler.stop()
            await app.close()
    assert sent == []  # written to the outbox; no dispatcher was running


def _crash(written: int) -> None:
    """A fan-out's progress report, where the process dies after the first batch."""
    raise Crash


async def test_a_resident_who_writes_before_a_held_question_reaches_them_is_asked_it_then(
    harness: Harness,
) -> None:
    """At 22:30 the poll's SMS wait for morning. Anna, mid-survey, answers her survey at
    23:00: that is a survey answer, not a vote, and the poll is asked once her survey
    ends. Piotr texts "1" at 23:00: he is asked the poll now (his "1" is no vote), and
    the held question does not go again in the morning."""
    await into_survey(harness, ANNA.address)  # Anna: "What should be fixed first?"
    await join(harness.app, harness.clock(), PIOTR)
    harness.clock.advance(hours=12, minutes=30)  # 22:30, quiet hours
    poll_id, broadcast_id = await ask(harness)
    assert await run_due(harness) == 1
    assert await drain(harness) == 0  # both SMS held

    harness.clock.advance(minutes=30)  # 23:00
    [piotr] = await says(harness, PIOTR, "1")
    assert piotr.startswith(QUESTION["pl"])
    await says(harness, ANNA, "1")  # housing: her survey's question
    answers = await harness.rows(
        "SELECT a.flow_id FROM answers a JOIN contacts c ON c.id = a.contact_id"
        " WHERE c.address IN (?, ?) AND a.answered_at >= ? ORDER BY a.id",
        ANNA.address,
        PIOTR.address,
        harness.clock().isoformat(),
    )
    assert [a["flow_id"] for a in answers] == ["priorities"]
    assert await outbox(harness, broadcast_id) == {
        ANNA.address: ["cancelled"],
        PIOTR.address: ["cancelled"],
    }
    assert await poll_sessions(harness, ANNA, poll_id) == ["interrupted"]

    harness.clock.advance(hours=10)  # 09:00: nothing held is left to go
    assert await drain(harness) == 0
    [vote] = await says(harness, PIOTR, "3")
    assert vote.startswith("Dziękujemy za głos!")  # Piotr reads Polish
    for text in ("2", "1 3", "4", "12", "1", "More street lights"):  # the rest of the survey
        replies = await says(harness, ANNA, text)
    assert QUESTION["en"] in replies[-1]  # the poll follows the survey's thanks
    [counted] = await harness.rows("SELECT count(*) AS n FROM votes WHERE poll_id = ?", poll_id)
    assert counted["n"] == 1
