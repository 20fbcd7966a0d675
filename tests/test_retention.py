"""Retention: the daily job erases exactly what is older than each setting, a minute over
(erased) or under (kept), and nothing still to be handled or sent; choices stay counted;
contacts not heard from are forgotten; ``never`` keeps everything; the audit log says
what was erased; the job goes a batch at a time, other database work running between
its batches; the scheduler arms it for 03:00 local time; ``parley retention`` shows what
the next run erases and erases it with ``--now``; a bad setting stops start-up."""

from __future__ import annotations

import asyncio
import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.channels.base import Outbound
from bot.civic import polls as poll_work
from bot.civic import results as reports
from bot.errors import ConfigError
from bot.outreach.retention import Retention, erase_old, next_run, preview
from bot.outreach.scheduler import Scheduler
from bot.settings import Settings, load_settings
from bot.store import Database, audit, contacts, messages, polls
from bot.store.erasure import FORGOTTEN, Erased, free_text
from bot.store.messages import NewOutbound
from bot.store.polls import NewPoll, PollOption
from bot.store.sql import Tx
from tests import databases
from tests.conftest import Clock, Harness, open_app
from tests.test_cli import parley

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
MESSAGES, ANSWERS, CONTACTS = timedelta(days=30), timedelta(days=60), timedelta(weeks=13)
KEPT = {  # three different times, so that each setting is seen to decide alone
    "PARLEY_RETENTION_MESSAGES": "30d",
    "PARLEY_RETENTION_ANSWERS": "60d",
    "PARLEY_RETENTION_CONTACTS": "13w",
}
IDEA = "Fix the lights on Elm Street"
# The welcome (English, agreed), the menu, an idea (a text question) and its category
# (a choice question): six messages in, six out, five answers, an idea, three ended
# conversations.
IDEA_RUN = ("hi", "1", "yes", "2", IDEA, "4")


@dataclass(frozen=True)
class Resident:
    address: str
    age: timedelta  # how long ago they wrote (all of it at once)


RESIDENTS = [
    Resident(f"+4477009001{number:02}", age)
    for number, age in enumerate(
        (
            MESSAGES - MINUTE,
            MESSAGES + MINUTE,
            ANSWERS - MINUTE,
            ANSWERS + MINUTE,
            CONTACTS - MINUTE,
            CONTACTS + MINUTE,
        )
    )
]
YOUNGEST = RESIDENTS[0]


def _settings(tmp_path: Path, **environ: str) -> Settings:
    config = tmp_path / "parley.toml"
    config.write_text("[parley]\n", encoding="utf-8")
    return load_settings({"PARLEY_DATABASE": databases.of(tmp_path), **environ}, config_file=config)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return _settings(tmp_path, **KEPT)


@pytest.fixture
async def talked(harness: Harness) -> Harness:
    """Every resident has shared an idea and voted in a poll, at their age; the
    youngest also has a message waiting to be sent and one waiting to be handled, both
    older than anything is kept. The clock is at NOW."""
    app = harness.app
    poll_id = await app.database.run(lambda tx: _poll(tx, NOW - timedelta(days=365)))
    for person in RESIDENTS:
        harness.clock.now = NOW - person.age
        for text in IDEA_RUN:
            await harness.send(text, person.address)
        at = harness.clock()
        await app.database.run(
            functools.partial(_vote, poll_id=poll_id, address=person.address, now=at)
        )
    ids = await harness.rows("SELECT id, address FROM contacts ORDER BY id")
    assert [(row["id"], row["address"]) for row in ids] == [
        (number, person.address) for number, person in enumerate(RESIDENTS, start=1)
    ]  # contact N is resident N: how rows are found once addresses are erased
    await app.database.run(lambda tx: _waiting(tx, YOUNGEST.address, NOW - timedelta(days=400)))
    harness.clock.now = NOW
    return harness


def _poll(tx: Tx, now: datetime) -> int:
    options = tuple(PollOption(code, {"en": code.title()}) for code in ("park", "library"))
    poll_id = polls.create(tx, NewPoll({"en": "Which first?"}, options, "en"), now)
    polls.open_poll(tx, poll_id)
    return poll_id


def _vote(tx: Tx, poll_id: int, address: str, now: datetime) -> None:
    contact = contacts.find(tx, "sms", address)
    assert contact is not None
    polls.vote(tx, poll_id, contact.id, "park" if contact.id % 2 else "library", "en", "sms", now)


def _waiting(tx: Tx, address: str, at: datetime) -> None:
    contact = contacts.find(tx, "sms", address)
    assert contact is not None
    messages.add_outbound(tx, NewOutbound(contact.id, "sms", "Still to go", "en"), at)
    messages.add_inbound(tx, contact.id, "sms", "late-1", "Still to read", at)


async def _by_contact(harness: Harness, sql: str) -> dict[str, list[Any]]:
    """``sql``'s one column for each resident's rows, by the resident's address."""
    found: dict[str, list[Any]] = {}
    for number, person in enumerate(RESIDENTS, start=1):
        rows = await harness.rows(f"{sql} AND contact_id = ? ORDER BY id", number)
        found[person.address] = [next(iter(row.values())) for row in rows]
    return found


async def _totals(harness: Harness) -> tuple[Any, ...]:
    """The poll's results and the idea survey's, as staff see them."""
    app = harness.app

    def count(tx: Tx) -> tuple[Any, ...]:
        poll = polls.get(tx, 1)
        assert poll is not None
        idea = reports.of_flow(tx, app.jobs.flows["idea"], app.settings.languages)
        welcome = reports.of_flow(tx, app.jobs.flows["welcome"], app.settings.languages)
        return poll_work.results(tx, poll).overall, idea.summaries, welcome.summaries

    return await app.database.run(count)


async def _erase(harness: Harness, batch: int = 500) -> Erased:
    app = harness.app
    return await erase_old(
        app.database, app.settings, free_text(app.jobs.flows), harness.clock(), batch=batch
    )


# -- exactly what is older than each setting ---------------------------------------------


async def test_retention_erases_exactly_what_is_older_than_each_setting(talked: Harness) -> None:
    before = await _totals(talked)
    erased = await _erase(talked)

    def over(kept: timedelta) -> dict[str, bool]:
        return {person.address: person.age > kept for person in RESIDENTS}

    # Messages: older than 30 days, in and out, have no text left; younger ones keep it.
    inbound = await _by_contact(talked, "SELECT text FROM inbound WHERE handled_at IS NOT NULL")
    outbound = await _by_contact(talked, "SELECT text FROM outbox WHERE status != 'queued'")
    for address, old in over(MESSAGES).items():
        assert len(inbound[address]) == len(outbound[address]) == len(IDEA_RUN)
        assert all(text == "" for text in inbound[address] + outbound[address]) is old, address
        assert all(text != "" for text in inbound[address] + outbound[address]) is not old
    assert inbound[YOUNGEST.address][4] == IDEA

    # Residents' words, older than 60 days: replies as typed, the idea's text (a text
    # question), the idea itself, ended conversations' copies; the choices stay.
    raw = await _by_contact(talked, "SELECT raw FROM answers WHERE true")
    typed = await _by_contact(
        talked, "SELECT value FROM answers WHERE flow_id = 'idea' AND step_id = 'idea'"
    )
    chosen = await _by_contact(
        talked, "SELECT value FROM answers WHERE flow_id = 'idea' AND step_id = 'category'"
    )
    ideas = await _by_contact(talked, "SELECT text || shown_text FROM ideas WHERE true")
    kept = await _by_contact(
        talked, "SELECT json_extract(state, '$.answers') FROM sessions WHERE true"
    )
    for address, old in over(ANSWERS).items():
        assert raw[address] == (["", "", "", "", ""] if old else ["1", "yes", "2", IDEA, "4"])
        assert typed[address] == (['""'] if old else [json.dumps(IDEA)]), address
        assert chosen[address] == ['"parks"'], address
        assert ideas[address] == ([""] if old else [IDEA + IDEA]), address
        assert len(kept[address]) == 3
        assert all(state == "{}" for state in kept[address]) is old, address
        assert all(state != "{}" for state in kept[address]) is not old
    assert await _totals(talked) == before  # the poll's and the surveys' counts

    # Contacts not heard from for 13 weeks are forgotten: no address, opted out.
    people = {
        person.address: (await talked.rows("SELECT * FROM contacts WHERE id = ?", number))[0]
        for number, person in enumerate(RESIDENTS, start=1)
    }
    for address, old in over(CONTACTS).items():
        row = people[address]
        assert (row["address"] == f"{FORGOTTEN}{row['id']}") is old, address
        assert (row["forgotten_at"] == NOW.isoformat()) is old
        assert (row["opted_out_at"] is not None) is old
        assert (row["fields"] == "{}") is old

    # What waits to be sent or handled is kept, however old.
    waiting = await talked.rows(
        "SELECT text FROM outbox WHERE status = 'queued'"
        " UNION ALL SELECT text FROM inbound WHERE handled_at IS NULL"
    )
    assert waiting == [{"text": "Still to go"}, {"text": "Still to read"}]

    # The counts: 5 residents' messages, 3 residents' words, 1 contact.
    assert erased == Erased(
        inbound=5 * 6, outbound=5 * 6, answers=3 * 5, ideas=3, sessions=3 * 3, contacts=1
    )
    assert await _erase(talked) == Erased()  # nothing is left to erase
    due = await talked.app.database.run(lambda tx: preview(tx, talked.app.settings, NOW))
    assert [kind.total for kind in due] == [0, 0, 0]


async def test_the_preview_counts_what_the_run_then_erases(talked: Harness) -> None:
    app = talked.app
    due = await app.database.run(lambda tx: preview(tx, app.settings, NOW))
    assert [(kind.kind, kind.before) for kind in due] == [
        ("messages", NOW - MESSAGES),
        ("answers", NOW - ANSWERS),
        ("contacts", NOW - CONTACTS),
    ]
    assert [dict(kind.rows) for kind in due] == [
        {"inbound": 30, "outbox": 30},
        {"answers": 15, "ideas": 3, "sessions": 9},
        {"contacts": 1},
    ]
    await _erase(talked)


async def test_never_keeps_everything(tmp_path: Path, clock: Clock) -> None:
    settings = _settings(
        tmp_path,
        PARLEY_RETENTION_MESSAGES="never",
        PARLEY_RETENTION_ANSWERS="NEVER",
        PARLEY_RETENTION_CONTACTS="never",
    )
    assert (settings.retention_messages, settings.retention_answers) == (None, None)
    sent: list[Outbound] = []
    harness = Harness(await open_app(settings, clock, sent), clock, sent)
    try:
        clock.now = NOW - timedelta(days=36500)
        for text in IDEA_RUN:
            await harness.send(text)
        clock.now = NOW
        assert await _erase(harness) == Erased()
        assert [row["text"] for row in await harness.rows("SELECT text FROM inbound")] == list(
            IDEA_RUN
        )
        assert (await harness.rows("SELECT raw FROM answers WHERE raw = ''")) == []
        assert (await harness.rows("SELECT text FROM ideas"))[0]["text"] == IDEA
        assert (await harness.rows("SELECT forgotten_at FROM contacts"))[0]["forgotten_at"] is None
        assert await harness.rows("SELECT * FROM audit") == []  # no run: nothing to look at
    finally:
        await harness.app.close()


async def test_the_audit_log_says_what_was_erased_and_the_cut_offs(talked: Harness) -> None:
    erased = await _erase(talked)
    [entry] = await talked.app.database.run(lambda tx: audit.search(tx, action="retention"))
    assert (entry.front, entry.actor, entry.role, entry.action) == (
        "system",
        "retention",
        "system",
        "retention.erase",
    )
    assert entry.at == NOW
    assert json.loads(entry.detail) == {
        **erased.as_dict(),
        "messages_before": (NOW - MESSAGES).isoformat(),
        "answers_before": (NOW - ANSWERS).isoformat(),
        "contacts_before": (NOW - CONTACTS).isoformat(),
    }
    assert all(person.address[1:] not in entry.detail for person in RESIDENTS)


# -- a batch at a time: webhooks are not held up -----------------------------------------


async def test_the_job_goes_a_batch_at_a_time_and_other_work_runs_between(
    talked: Harness,
) -> None:
    """With two rows a batch, erasing takes dozens of transactions. A unit of work
    handed to the database while the job runs (a webhook's) completes before the job
    ends, and sees it part done: so it ran between two of the job's transactions."""
    database = talked.app.database
    job = asyncio.create_task(_erase(talked, batch=2))
    seen: list[int] = []
    while not job.done():
        seen.append(
            await database.run(
                lambda tx: tx.execute("SELECT count(*) FROM inbound WHERE text = ''").fetchone()[0]
            )
        )
    erased = await job
    assert erased.inbound == 30
    partly = [count for count in seen if 0 < count < erased.inbound]
    assert len(partly) >= 5, seen  # many units completed while the job was under way
    assert seen == sorted(seen)


# -- the daily timer -------------------------------------------------------------------


async def test_the_scheduler_arms_the_job_daily_at_3_local_time(harness: Harness) -> None:
    scheduler = Scheduler(harness.app.jobs, Retention.of(harness.app.jobs))
    try:
        await scheduler.start()
        at = scheduler.retention_at
        assert at is not None
        local = at.astimezone(harness.app.settings.timezone)
        assert (local.hour, local.minute) == (3, 0)
        assert timedelta(0) < at - datetime.now(UTC) <= timedelta(days=1)
        assert scheduler.armed == []  # not a job row's timer
    finally:
        scheduler.stop()
    without = Scheduler(harness.app.jobs)
    try:
        await without.start()
        assert without.retention_at is None
    finally:
        without.stop()


async def test_a_failing_run_is_logged_and_the_timer_carries_on(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    retention = Retention.of(harness.app.jobs)
    scheduler = Scheduler(harness.app.jobs, retention)
    try:
        await scheduler.start()
        # Gone, as far as retention's statements can tell (a rename keeps what refers to
        # the table, which PostgreSQL would not let a DROP leave behind).
        await harness.app.database.run(lambda tx: tx.execute("ALTER TABLE ideas RENAME TO gone"))
        await scheduler.erase_old()  # as the timer calls it
        assert "retention failed" in caplog.text
        assert scheduler.retention_at is not None
    finally:
        scheduler.stop()


def test_the_next_run_is_at_3_in_the_deployments_time_zone(tmp_path: Path) -> None:
    settings = _settings(tmp_path, PARLEY_TIMEZONE="Europe/Warsaw")
    summer = datetime(2026, 7, 1, 0, 30, tzinfo=UTC)  # 02:30 in Warsaw
    assert next_run(settings, summer) == datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
    assert next_run(settings, summer + timedelta(hours=1)) == datetime(2026, 7, 2, 1, 0, tzinfo=UTC)


# -- settings -----------------------------------------------------------------------------


def test_the_defaults_and_the_forms_a_setting_takes(tmp_path: Path) -> None:
    defaults = _settings(tmp_path)
    assert (
        defaults.retention_messages,
        defaults.retention_answers,
        defaults.retention_contacts,
    ) == (timedelta(days=365), timedelta(days=730), timedelta(days=730))
    given = _settings(
        tmp_path,
        PARLEY_RETENTION_MESSAGES="90d",
        PARLEY_RETENTION_ANSWERS="52w",
        PARLEY_RETENTION_CONTACTS="never",
    )
    assert given.retention_messages == timedelta(days=90)
    assert given.retention_answers == timedelta(weeks=52)
    assert given.retention_contacts is None
    (tmp_path / "parley.toml").write_text('[parley]\nretention_answers = "400d"\n')
    from_file = load_settings(
        {"PARLEY_DATABASE": str(tmp_path / "p.db")}, config_file=tmp_path / "parley.toml"
    )
    assert from_file.retention_answers == timedelta(days=400)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PARLEY_RETENTION_MESSAGES", "1 year", "'1 year' is not a time like 365d or 52w"),
        ("PARLEY_RETENTION_ANSWERS", "365", "'365' is not a time like 365d or 52w"),
        ("PARLEY_RETENTION_CONTACTS", "0d", "0d is out of range (use 1d to 36500d, or never)"),
        ("PARLEY_RETENTION_CONTACTS", "99999w", "is out of range"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_it(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: .*{re.escape(message)}"):
        _settings(tmp_path, **{name: value})


def test_a_bad_setting_stops_parley_with_one_line_naming_it(tmp_path: Path) -> None:
    result = parley(tmp_path, "retention", env={"PARLEY_RETENTION_MESSAGES": "soon"})
    assert result.returncode == 1
    assert result.stderr == (
        "Error: PARLEY_RETENTION_MESSAGES: 'soon' is not a time like 365d or 52w (or never)\n"
    )


# -- parley retention -------------------------------------------------------------------


async def _seed(tmp_path: Path, now: datetime) -> None:
    """Two residents: one heard from 400 days ago (their message past the default 365
    days), one 800 days ago (past the 730 days of contacts too)."""
    database = await Database.open(databases.location(tmp_path))

    def work(tx: Tx) -> None:
        for number, days in ((1, 400), (2, 800)):
            at = now - timedelta(days=days)
            contact = contacts.touch(tx, "sms", f"+44770090020{number}", "en", at)
            inbound = messages.add_inbound(tx, contact.id, "sms", f"m{number}", "Hello", at)
            assert inbound is not None
            messages.mark_handled(tx, inbound, at)

    try:
        await database.run(work)
    finally:
        await database.close()


def test_parley_retention_shows_what_the_next_run_erases(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    asyncio.run(_seed(tmp_path, now))
    result = parley(tmp_path, "retention")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Settings: retention_messages 365d, retention_answers 730d, retention_contacts 730d."
    )
    assert lines[1].startswith("The next run: ")
    assert lines[1].endswith(" 03:00 (daily at 03:00, while parley run is running).")
    day = lines[1].removeprefix("The next run: ")[:10]
    run = datetime.fromisoformat(f"{day}T03:00").replace(tzinfo=_london()).astimezone(UTC)
    assert lines[2:] == [  # 365 and 730 days of 24 hours before the run
        f"Messages older than 365 days (before {_local(run - timedelta(days=365))}):"
        " 2 to erase (2 from residents).",
        f"Answers and ideas older than 730 days (before {_local(run - timedelta(days=730))}):"
        " 0 to erase.",
        f"Contacts not heard from for 730 days (last heard before"
        f" {_local(run - timedelta(days=730))}): 1 to forget.",
    ]
    with databases.connect(databases.location(tmp_path)) as db:  # only shown: nothing erased
        assert db.execute("SELECT count(*) FROM inbound WHERE text = 'Hello'").fetchone() == (2,)


def test_parley_retention_now_asks_then_erases_and_says_what(tmp_path: Path) -> None:
    asyncio.run(_seed(tmp_path, datetime.now(UTC)))
    declined = parley(tmp_path, "retention", "--now", stdin="n\n")
    assert declined.returncode == 0, declined.stderr
    assert "Erase it now? [y/N]: Nothing done." in declined.stdout
    assert "Messages older than 365 days (before " in declined.stdout
    with databases.connect(databases.location(tmp_path)) as db:
        assert db.execute("SELECT count(*) FROM inbound WHERE text = ''").fetchone() == (0,)

    result = parley(tmp_path, "retention", "--now", "--yes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "Erased the text of 2 messages from residents and 0 to them, 0 answers, 0 ideas"
        " and 0 ended conversations; forgot 1 contacts."
        " The audit log has it (parley audit --action retention)."
    )
    with databases.connect(databases.location(tmp_path)) as db:
        assert db.execute("SELECT count(*) FROM inbound WHERE text = ''").fetchone() == (2,)
        assert db.execute(
            "SELECT count(*) FROM contacts WHERE address LIKE 'forgotten:%'"
        ).fetchone() == (1,)
        front, action = db.execute("SELECT front, action FROM audit").fetchone()
    assert (front, action) == ("cli", "retention.erase")
    again = parley(tmp_path, "retention", "--now")
    assert again.stdout.splitlines()[-1] == "Nothing to erase."


def _london() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/London")


def _local(moment: datetime) -> str:
    return moment.astimezone(_london()).strftime("%Y-%m-%d %H:%M")
