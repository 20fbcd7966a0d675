"""Polls: residents vote by number, letter, word or button, the last vote counts, results
stay with staff until the poll closes, the results' arithmetic, what a poll must be, the
cost preview against what is really sent, and audiences that never reach an opted-out or
unreachable resident (a property test)."""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.channels.base import Outbound
from bot.channels.segments import segments
from bot.civic.polls import Results, Tally, check, options_from_labels, resident_text, results
from bot.engine import Env
from bot.outreach.audience import Audience, select
from bot.outreach.schedule import Jobs
from bot.settings import Settings, load_settings
from bot.staff_text import poll_results
from bot.store import Database, broadcasts, contacts, polls
from bot.store.polls import NewPoll, Poll, PollOption
from bot.store.sql import Tx
from tests import databases
from tests.conftest import Clock, Harness, open_app

ORGANISER = ("9001", "telegram")  # (address, channel)
THANKS = "Thank you for voting! We will send you the result when the poll closes."
HINT = "Please reply with a number from 1 to 3."
CLOSED = "Sorry, this poll has closed."

POLL = """Which evening should the youth club open?
Monday
Wednesday
Friday
pl: W który wieczór ma być otwarty klub młodzieżowy? | Poniedziałek | Środa | Piątek"""


# -- a Parley with staff, and residents who joined earlier -------------------------------


def staff_settings(tmp_path: Path, staff: str) -> Settings:
    config = tmp_path / "parley.toml"
    config.write_text("[parley]\n", encoding="utf-8")
    environ = {"PARLEY_DATABASE": databases.of(tmp_path), "PARLEY_STAFF": staff}
    return load_settings(environ, config_file=config)


@asynccontextmanager
async def staffed(tmp_path: Path, clock: Clock, staff: str) -> AsyncIterator[Harness]:
    """The real app on a real SQLite file, with ``staff`` (PARLEY_STAFF) configured."""
    sent: list[Outbound] = []
    app = await open_app(staff_settings(tmp_path, staff), clock, sent)
    try:
        yield Harness(app, clock, sent)
    finally:
        await app.close()


@pytest.fixture
async def office(tmp_path: Path, clock: Clock) -> AsyncIterator[Harness]:
    async with staffed(tmp_path, clock, f"{ORGANISER[1]}:{ORGANISER[0]}=organiser") as bench:
        yield bench


@dataclass(frozen=True)
class Resident:
    address: str
    channel: str = "sms"
    language: str = "en"
    ward: str | None = None


async def join(harness: Harness, *people: Resident) -> dict[str, int]:
    """Residents who agreed earlier (as after the welcome flow); address -> contact id."""

    def work(tx: Tx) -> dict[str, int]:
        ids = {}
        for person in people:
            contact = contacts.touch(
                tx, person.channel, person.address, person.language, harness.clock()
            )
            fields = {"consent": "yes"} | ({"ward": person.ward} if person.ward else {})
            contacts.update(tx, contact, fields)
            ids[person.address] = contact.id
        return ids

    return await harness.app.database.run(work)


def number(pattern: str, text: str) -> int:
    found = re.search(pattern, text, re.MULTILINE)
    assert found is not None, f"{pattern!r} not in {text!r}"
    return int(found.group(1))


async def staff_says(harness: Harness, text: str, who: tuple[str, str] = ORGANISER) -> str:
    [reply] = await harness.send(text, *who)
    return reply


async def put(harness: Harness, command: str, who: tuple[str, str] = ORGANISER) -> int:
    """A staff member drafts a broadcast (``/poll …`` or ``/broadcast …``) and sends it;
    everything is written and delivered. Returns the broadcast's number."""
    draft = await staff_says(harness, command, who)
    broadcast_id = number(r"/send (\d+)", draft)
    confirmed = await staff_says(harness, f"/send {broadcast_id}", who)
    assert confirmed == f"Broadcast {broadcast_id} is being sent."
    await harness.app.jobs.run_due()
    await harness.app.dispatcher.drain()
    return broadcast_id


async def vote_rows(harness: Harness) -> dict[int, tuple[list[str], int]]:
    """contact id -> (choice, changes)"""
    rows = await harness.rows("SELECT contact_id, choice, changes FROM votes ORDER BY contact_id")
    return {row["contact_id"]: (json.loads(row["choice"]), row["changes"]) for row in rows}


def to(harness: Harness, address: str) -> list[Outbound]:
    return [message for message in harness.sent if message.address == address]


# -- voting --------------------------------------------------------------------------------


async def test_residents_vote_by_number_letter_word_and_button(office: Harness) -> None:
    ids = await join(
        office,
        Resident("+447700900001"),
        Resident("+447700900002"),
        Resident("+447700900003"),
        Resident("+447700900004", language="pl"),
        Resident("1005", channel="telegram"),
        Resident("+447700900006"),
    )
    await put(office, "/poll " + POLL)

    [asked] = to(office, "+447700900001")
    assert (
        asked.text
        == "Which evening should the youth club open?\n1. Monday\n2. Wednesday\n3. Friday"
    )
    [polish] = to(office, "+447700900004")
    assert polish.text.startswith(
        "W który wieczór ma być otwarty klub młodzieżowy?\n1. Poniedziałek"
    )
    [telegram] = to(office, "1005")
    assert [button.label for button in telegram.buttons] == ["Monday", "Wednesday", "Friday"]
    assert telegram.text == "Which evening should the youth club open?"  # buttons, no list

    assert await office.send("2", "+447700900001") == [THANKS]  # a number
    assert await office.send("b", "+447700900002") == [THANKS]  # a letter
    assert await office.send("C", "+447700900003") == [THANKS]  # a capital letter
    [thanks] = await office.send("środa", "+447700900004")  # the option's word, in Polish
    assert "%" not in thanks
    friday = next(button for button in telegram.buttons if button.label == "Friday")
    assert await office.send(friday.reply, "1005", "telegram") == [THANKS]  # the button

    # Not understood: a hint, no vote, and the question still waits for an answer.
    assert await office.send("maybe later", "+447700900006") == [HINT]
    assert ids["+447700900006"] not in await vote_rows(office)
    assert await office.send("1", "+447700900006") == [THANKS]

    assert await vote_rows(office) == {
        ids["+447700900001"]: (["wednesday"], 0),
        ids["+447700900002"]: (["wednesday"], 0),
        ids["+447700900003"]: (["friday"], 0),
        ids["+447700900004"]: (["wednesday"], 0),
        ids["1005"]: (["friday"], 0),
        ids["+447700900006"]: (["monday"], 0),
    }
    channels = await office.rows("SELECT contact_id, channel, language FROM votes")
    assert {(r["contact_id"], r["channel"], r["language"]) for r in channels} >= {
        (ids["+447700900004"], "sms", "pl"),
        (ids["1005"], "telegram", "en"),
    }


async def test_two_replies_not_understood_end_the_question_without_thanks(
    office: Harness,
) -> None:
    """No "thank you for voting" for someone who did not vote; their next clear answer
    is their first vote, thanked as one."""
    ids = await join(office, Resident("+447700900001"))
    await put(office, "/poll " + POLL)
    assert await office.send("maybe later", "+447700900001") == [HINT]
    [gave_up] = await office.send("no idea", "+447700900001")
    assert "Thank you for voting" not in gave_up
    assert ids["+447700900001"] not in await vote_rows(office)
    assert await office.send("3", "+447700900001") == ["Thank you for voting!"]
    assert await vote_rows(office) == {ids["+447700900001"]: (["friday"], 0)}


async def test_the_last_vote_counts(office: Harness) -> None:
    ids = await join(
        office,
        Resident("+447700900001"),
        Resident("+447700900002", language="pl"),
        Resident("+447700900003"),
    )
    await put(office, "/poll " + POLL)
    first, polish, other = ids["+447700900001"], ids["+447700900002"], ids["+447700900003"]

    assert await office.send("1", "+447700900001") == [THANKS]
    assert await office.send("3", "+447700900001") == ["Thank you. Your vote is now: Friday"]
    assert (await vote_rows(office))[first] == (["friday"], 1)
    assert await office.send("wednesday", "+447700900001") == [
        "Thank you. Your vote is now: Wednesday"
    ]
    await office.send("1", "+447700900002")
    [changed] = await office.send("3", "+447700900002")
    assert changed.endswith("Piątek")  # the option as the resident read it
    await office.send("3", "+447700900003")

    assert await vote_rows(office) == {
        first: (["wednesday"], 2),
        polish: (["friday"], 1),
        other: (["friday"], 0),
    }
    # Every answer is kept as given; only the latest vote is counted.
    answers = await office.rows("SELECT count(*) AS n FROM answers WHERE contact_id = ?", first)
    assert answers[0]["n"] == 3
    live = await staff_says(office, "/results 1")
    assert live.splitlines() == [
        "Poll 1 (open, live): Which evening should the youth club open?",
        "  1. Monday: 0 (0%)",
        "  2. Wednesday: 1 (33%)",
        "  3. Friday: 2 (67%)",
        "  3 voters",
    ]


def shows_counts(text: str) -> bool:
    """Whether a message gives away how people voted (in any language: a percentage)."""
    return "%" in text or re.search(r"\d+ (votes?|voters?|people voted)", text) is not None


@pytest.mark.parametrize("rule", ["send", "public", "private"])
async def test_results_stay_with_staff_until_the_poll_closes(office: Harness, rule: str) -> None:
    ids = await join(
        office,
        Resident("+447700900001"),
        Resident("+447700900002", language="pl"),
        Resident("1003", channel="telegram"),
        Resident("+447700900004"),  # never votes
    )
    await put(office, f"/poll {POLL}\ncloses: 2d\nresults: {rule}")
    residents = ["+447700900001", "+447700900002", "1003", "+447700900004"]

    thanks = THANKS if rule == "send" else "Thank you for voting!"
    assert await office.send("1", "+447700900001") == [thanks]
    await office.send("2", "+447700900002")
    await office.send("2", "1003", "telegram")
    await office.send("3", "+447700900001")
    # A resident asking for results is not staff, whatever the poll's rule.
    [refused] = await office.send("/results 1", "+447700900004")
    assert refused.startswith("Sorry, that is only for staff.\n\nWhich evening")  # asked again

    before_close = {address: len(to(office, address)) for address in residents}
    told = [m.text for address in residents for m in to(office, address)]
    assert len(told) == 9  # the questions, and an answer to each message
    assert not any(shows_counts(text) for text in told)

    office.clock.advance(days=2)
    assert await office.app.jobs.run_due() == 1  # the scheduled close
    await office.app.dispatcher.drain()
    assert (await office.rows("SELECT status FROM polls"))[0]["status"] == "closed"
    at_close = {a: [m.text for m in to(office, a)][before_close[a] :] for a in residents}
    if rule == "send":
        for voter in ("+447700900001", "+447700900002", "1003"):
            [result] = at_close[voter]
            assert shows_counts(result)
        assert "2. Wednesday: 2 votes (67%)" in at_close["+447700900001"][0]
        assert "Środa" in at_close["+447700900002"][0]
    else:
        assert all(not sent for sent in at_close.values())
    assert at_close["+447700900004"] == []  # did not vote: no result

    # Votes after closing change nothing; the result is shown only if it is public.
    votes = await vote_rows(office)
    for address in ("+447700900001", "+447700900004"):
        [late] = await office.send("2", address)
        if rule == "private":
            assert late == CLOSED
        else:
            assert late.startswith(CLOSED + "\n\n")
            assert "1. Monday: 0 votes (0%)" in late
            assert "3. Friday: 1 vote (33%)" in late
            assert "3 people voted" in late
    assert await vote_rows(office) == votes
    assert ids["+447700900004"] not in votes


# -- results arithmetic ----------------------------------------------------------------------

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(databases.location(tmp_path))
    yield database
    await database.close()


VOTERS = [  # channel, address, language, ward
    ("sms", "+447700900001", "en", "North"),
    ("sms", "+447700900002", "pl", "North"),
    ("telegram", "1003", "en", "South"),
    ("sms", "+447700900004", "en", None),
    ("telegram", "1005", "pl", "South"),
    ("sms", "+447700900006", "en", "North"),
]


def _poll(labels: Sequence[str], multiple: bool = False) -> NewPoll:
    return NewPoll(
        question={"en": "What should the fund pay for?"},
        options=options_from_labels(labels, "en"),
        language="en",
        multiple=multiple,
    )


def _voting(tx: Tx, poll: NewPoll, choices: Sequence[str | list[str]]) -> Poll:
    """Store the poll, open it, and have VOTERS[i] choose ``choices[i]``."""
    poll_id = polls.create(tx, poll, NOW)
    polls.open_poll(tx, poll_id)
    for (channel, address, language, ward), choice in zip(VOTERS, choices, strict=False):
        contact = contacts.touch(tx, channel, address, language, NOW)
        if ward is not None:
            contacts.update(tx, contact, {"ward": ward})
        polls.vote(tx, poll_id, contact.id, choice, language, channel, NOW)
    found = polls.get(tx, poll_id)
    assert found is not None
    return found


async def test_results_of_a_single_answer_poll_overall_and_by_group(database: Database) -> None:
    def work(tx: Tx) -> dict[str | None, Results]:
        poll = _voting(
            tx, _poll(["Park", "Library", "Pool"]), ["pool", "park", "library", "park", "pool"]
        )
        # The sixth voter first chose the library, then the park: only the park counts.
        sixth = contacts.touch(tx, "sms", "+447700900006", "en", NOW)
        contacts.update(tx, sixth, {"ward": "North"})
        polls.vote(tx, poll.id, sixth.id, "library", "en", "sms", NOW)
        polls.vote(tx, poll.id, sixth.id, "park", "en", "sms", NOW)
        polls.vote(tx, poll.id, 1, "park", "en", "sms", NOW)  # the first changed too
        return {by: results(tx, poll, by) for by in (None, "language", "channel", "ward")}

    found = await database.run(work)
    overall = found[None].overall
    assert overall == Tally(6, {"park": 4, "library": 1, "pool": 1})
    assert [overall.percent(o) for o in ("park", "library", "pool", "nothing")] == [67, 17, 17, 0]
    assert found[None].groups == {}
    assert found["language"].groups == {
        "en": Tally(4, {"park": 3, "library": 1}),
        "pl": Tally(2, {"park": 1, "pool": 1}),
    }
    assert found["channel"].groups == {
        "sms": Tally(4, {"park": 4}),
        "telegram": Tally(2, {"library": 1, "pool": 1}),
    }
    by_ward = found["ward"]
    assert by_ward.groups == {
        "North": Tally(3, {"park": 3}),
        "South": Tally(2, {"library": 1, "pool": 1}),
        "(none)": Tally(1, {"park": 1}),
    }
    assert poll_results(by_ward) == [
        "Poll 1 (open, live): What should the fund pay for?",
        "  1. Park: 4 (67%)",
        "  2. Library: 1 (17%)",
        "  3. Pool: 1 (17%)",
        "  6 voters",
        "ward = (none): 1 voter",
        "    1. Park: 1 (100%)",
        "    2. Library: 0 (0%)",
        "    3. Pool: 0 (0%)",
        "    1 voter",
        "ward = North: 3 voters",
        "    1. Park: 3 (100%)",
        "    2. Library: 0 (0%)",
        "    3. Pool: 0 (0%)",
        "    3 voters",
        "ward = South: 2 voters",
        "    1. Park: 0 (0%)",
        "    2. Library: 1 (50%)",
        "    3. Pool: 1 (50%)",
        "    2 voters",
    ]
    assert resident_text(by_ward.poll, overall, "en", Env()).splitlines() == [
        "Poll result: What should the fund pay for?",
        "1. Park: 4 votes (67%)",
        "2. Library: 1 vote (17%)",
        "3. Pool: 1 vote (17%)",
        "6 people voted. Thank you!",
    ]


async def test_results_of_a_multiple_answer_poll_are_shares_of_voters(database: Database) -> None:
    def work(tx: Tx) -> tuple[Results, Results]:
        poll = _voting(
            tx,
            _poll(["Benches", "Lights", "Bins"], multiple=True),
            [["benches", "lights"], ["lights"], ["lights", "bins"], ["benches", "lights", "bins"]],
        )
        return results(tx, poll), results(tx, poll, "channel")

    overall, by_channel = await database.run(work)
    tally = overall.overall
    assert tally == Tally(4, {"benches": 2, "lights": 4, "bins": 2})
    assert [tally.percent(o) for o in ("benches", "lights", "bins")] == [50, 100, 50]
    assert by_channel.groups == {
        "sms": Tally(3, {"benches": 2, "lights": 3, "bins": 1}),
        "telegram": Tally(1, {"lights": 1, "bins": 1}),
    }
    assert poll_results(by_channel)[1:5] == [
        "  1. Benches: 2 (50%)",
        "  2. Lights: 4 (100%)",
        "  3. Bins: 2 (50%)",
        "  4 voters",
    ]
    assert poll_results(by_channel)[5:10] == [
        "channel = sms: 3 voters",
        "    1. Benches: 2 (67%)",
        "    2. Lights: 3 (100%)",
        "    3. Bins: 1 (33%)",
        "    3 voters",
    ]


async def test_a_poll_nobody_voted_in_shows_zeros(database: Database) -> None:
    def work(tx: Tx) -> Results:
        return results(tx, _voting(tx, _poll(["Yes please", "No thanks"]), []), "ward")

    empty = await database.run(work)
    assert empty.overall == Tally(0, {})
    assert empty.overall.percent("yes") == 0
    assert poll_results(empty) == [
        "Poll 1 (open, live): What should the fund pay for?",
        "  1. Yes please: 0 (0%)",
        "  2. No thanks: 0 (0%)",
        "  0 voters",
    ]


# -- what a poll must be -------------------------------------------------------------------------


def _labelled(count: int, **changes: Any) -> NewPoll:
    return replace(_poll([f"Choice {n}" for n in range(1, count + 1)]), **changes)


def test_check_accepts_two_to_nine_options_and_a_closing_time_ahead() -> None:
    assert check(_labelled(2), NOW) is None
    assert check(_labelled(9), NOW) is None
    assert check(_labelled(3, closes_at=NOW + timedelta(minutes=1)), NOW) is None


SAME_IDS = (PollOption("a", {"en": "A"}), PollOption("a", {"en": "B"}))
UNTRANSLATED = (PollOption("a", {"en": "A"}), PollOption("b", {"pl": "B"}))


@pytest.mark.parametrize(
    ("poll", "problem"),
    [
        (_labelled(1), "a poll has 2 to 9 options, not 1"),
        (_labelled(10), "a poll has 2 to 9 options, not 10"),
        (_labelled(0), "a poll has 2 to 9 options, not 0"),
        (_labelled(2, options=SAME_IDS), "two options have the same id"),
        (_labelled(2, closes_at=NOW), "the closing time has already passed"),
        (_labelled(2, closes_at=NOW - timedelta(days=1)), "the closing time has already passed"),
        (_labelled(2, question={"en": "  "}), "the question needs a text in en"),
        (_labelled(2, question={"pl": "Pytanie?"}), "the question needs a text in en"),
        (_labelled(2, options=UNTRANSLATED), "option 'b' needs a text in en"),
    ],
)
def test_check_rejects(poll: NewPoll, problem: str) -> None:
    assert check(poll, NOW) == problem


def test_options_from_labels_make_plain_unique_ids() -> None:
    labels = [
        "Youth club!",
        "youth club",
        "A new sports hall for everyone",
        "2024",
        "Środa",
        "Park",
        " Park ",
        "Late-night bus",
    ]
    options = options_from_labels(labels, "pl")
    assert [o.id for o in options] == [
        "youth_club",
        "option2",  # the same id again
        "a_new_sports",  # the first three words
        "option4",  # a number is not an id
        "option5",  # not plain ASCII
        "park",
        "option7",
        "latenight_bus",
    ]
    assert [dict(o.texts) for o in options][:2] == [{"pl": "Youth club!"}, {"pl": "youth club"}]
    assert dict(options[6].texts) == {"pl": "Park"}  # labels are trimmed
    long = options_from_labels(["Supercalifragilisticexpialidocious extraordinary things"], "en")
    assert len(long[0].id) == 30


# -- the cost preview is what sending costs --------------------------------------------------

# Typographic quotes would make the English UCS-2 (3 segments); plain, it is GSM-7 (2).
EN_TEXT = (
    "The residents’ panel meets on Tuesday at 6pm in the community centre on Station Road."
    " We will decide how to spend this year’s “small grants” fund – please come and bring a"
    " neighbour!"
)
AR_TEXT = (
    "تجتمع لجنة السكان يوم الثلاثاء الساعة السادسة مساءً في المركز المجتمعي في شارع المحطة."
    " سنقرر كيف ننفق صندوق المنح الصغيرة هذا العام"
)
EN_QUESTION = (
    "What’s the best evening for the “youth club” to open, now that the community centre on"
    " Station Road has agreed to host it every week?"
)
AR_QUESTION = "ما هو أفضل مساء لفتح نادي الشباب في المركز المجتمعي كل أسبوع؟"

BROADCASTS = {
    "message": f"/broadcast {EN_TEXT}\nar: {AR_TEXT}",
    "poll": f"/poll {EN_QUESTION}\nMonday\nWednesday\nFriday\n"
    f"ar: {AR_QUESTION} | الاثنين | الأربعاء | الجمعة",
}


@pytest.mark.parametrize("kind", sorted(BROADCASTS))
async def test_the_preview_costs_exactly_the_segments_written_and_sent(
    office: Harness, kind: str
) -> None:
    ids = await join(
        office,
        Resident("+447700900001"),
        Resident("+447700900002"),
        Resident("+447700900003"),
        Resident("+447700900004", language="ar"),
        Resident("+447700900005", language="ar"),
        Resident("1006", channel="telegram"),  # not billed per segment
        Resident("+447700900007"),  # opts out before the draft
    )
    await office.send("STOP", "+447700900007")

    draft = await staff_says(office, BROADCASTS[kind])
    line = next(line for line in draft.splitlines() if line.startswith("SMS: "))
    total = number(r"^SMS: (\d+) segments", line)
    assert line == f"SMS: {total} segments (ar 2, en 2 per message), about {total * 0.04:.2f} GBP"
    assert total == 3 * 2 + 2 * 2
    assert "6 residents" in draft
    broadcast_id = number(r"/send (\d+)", draft)
    assert await office.rows("SELECT * FROM outbox WHERE broadcast_id IS NOT NULL") == []

    await staff_says(office, f"/send {broadcast_id}")
    await office.app.jobs.run_due()
    rows = await office.rows(
        "SELECT id, contact_id, channel, text, segments FROM outbox WHERE broadcast_id = ?",
        broadcast_id,
    )
    assert sorted(row["contact_id"] for row in rows) == sorted(
        ids[a] for a in ids if a != "+447700900007"
    )
    sms = [row for row in rows if row["channel"] == "sms"]
    assert sum(row["segments"] for row in sms) == total
    assert all(row["segments"] == segments(row["text"]).count for row in sms)
    assert [row["segments"] for row in rows if row["channel"] == "telegram"] == [None]
    arabic = {ids["+447700900004"], ids["+447700900005"]}
    assert all(
        row["text"].startswith(("تجتمع", "ما هو")) for row in sms if row["contact_id"] in arabic
    )

    await office.app.dispatcher.drain()
    sms_ids = {row["id"] for row in sms}
    went = [m.text for m in office.sent if m.outbox_id in sms_ids]
    assert len(went) == 5
    assert sum(segments(text).count for text in went) == total
    assert not any("’" in text or "“" in text for text in went)  # plain quotes on SMS


# -- audiences never reach opted-out or unreachable residents (property) ----------------------

LANGUAGES = ("en", "pl", "ar")
CHANNELS = ("sms", "telegram", "whatsapp")
WARDS = ("North", "South")
FLOWS = ("priorities", "idea")


@dataclass(frozen=True)
class Person:
    channel: str
    language: str | None
    ward: str | None
    opted_out: bool
    unreachable: bool
    took_part: frozenset[str]
    opts_out_before_sending: bool


rarely = st.sampled_from([False, False, False, True])
people = st.lists(
    st.builds(
        Person,
        channel=st.sampled_from(CHANNELS),
        language=st.none() | st.sampled_from(LANGUAGES),
        ward=st.none() | st.sampled_from(WARDS),
        opted_out=rarely,
        unreachable=rarely,
        took_part=st.frozensets(st.sampled_from(FLOWS)),
        opts_out_before_sending=rarely,
    ),
    min_size=6,
    max_size=20,
)
audiences = st.builds(
    Audience,
    languages=st.just(())
    | st.lists(st.sampled_from(LANGUAGES), unique=True, min_size=1).map(tuple),
    channels=st.just(()) | st.lists(st.sampled_from(CHANNELS), unique=True, min_size=1).map(tuple),
    fields=st.just({}) | st.fixed_dictionaries({"ward": st.sampled_from(WARDS)}),
    took_part_in=st.none() | st.sampled_from(FLOWS),
    not_took_part_in=st.none() | st.sampled_from(FLOWS),
    sample=st.none() | st.integers(0, 8),
    seed=st.integers(0, 1000),
)


def fits(person: Person, audience: Audience) -> bool:
    """Whether ``audience`` describes ``person``, opt-outs aside."""
    return (
        (not audience.languages or person.language in audience.languages)
        and (not audience.channels or person.channel in audience.channels)
        and all(name == "ward" and person.ward == value for name, value in audience.fields.items())
        and (audience.took_part_in is None or audience.took_part_in in person.took_part)
        and (audience.not_took_part_in is None or audience.not_took_part_in not in person.took_part)
    )


def _populate(tx: Tx, population: Sequence[Person]) -> None:
    for n, person in enumerate(population, start=1):
        address = f"+4477009{n:05d}" if person.channel != "telegram" else str(n)
        contact = contacts.touch(tx, person.channel, address, person.language, NOW)
        assert contact.id == n
        if person.ward is not None:
            contacts.update(tx, contact, {"ward": person.ward})
        if person.opted_out:
            contacts.opt_out(tx, n, NOW)
        if person.unreachable:
            contacts.set_unreachable(tx, n, NOW)
        for flow_id in person.took_part:
            session = tx.execute(
                "INSERT INTO sessions (contact_id, flow_id, status, state, started_at,"
                " updated_at) VALUES (?, ?, 'completed', '{}', ?, ?) RETURNING id",
                (n, flow_id, NOW.isoformat(), NOW.isoformat()),
            ).fetchone()[0]
            tx.execute(
                "INSERT INTO answers (session_id, contact_id, flow_id, step_id, value, raw,"
                " language, channel, answered_at) VALUES (?, ?, ?, 'q', '\"x\"', 'x', 'en', ?, ?)",
                (session, n, flow_id, person.channel, NOW.isoformat()),
            )


async def _select_and_send(
    path: Path, population: Sequence[Person], audience: Audience
) -> tuple[list[int], list[int], list[int]]:
    """Selected contacts (twice, for the seed), then those a confirmed broadcast to
    ``audience`` is written for once some residents have opted out meanwhile."""
    database = await Database.open(path)
    try:
        await database.run(lambda tx: _populate(tx, population))

        def chosen(tx: Tx) -> list[int]:
            return [recipient.contact_id for recipient in select(tx, audience)]

        first, again = await database.run(chosen), await database.run(chosen)

        def confirm(tx: Tx) -> int:
            new = broadcasts.NewBroadcast(
                broadcasts.MESSAGE, audience.to_json(), texts={"en": "The panel meets."}
            )
            broadcast_id = broadcasts.send_now(tx, new, NOW)
            for n, person in enumerate(population, start=1):
                if person.opts_out_before_sending:
                    contacts.opt_out(tx, n, NOW)
            return broadcast_id

        broadcast_id = await database.run(confirm)
        settings = load_settings({"PARLEY_DATABASE": str(path)}, config_file=_config(path))
        assert await Jobs(database, {}, Env(), settings, lambda: NOW).run_due() == 1

        def written(tx: Tx) -> list[int]:
            return [
                row[0]
                for row in tx.execute(
                    "SELECT contact_id FROM outbox WHERE broadcast_id = ? ORDER BY contact_id",
                    (broadcast_id,),
                )
            ]

        return first, again, await database.run(written)
    finally:
        await database.close()


def _config(path: Path) -> Path:
    config = path.parent / "parley.toml"
    config.write_text("[parley]\n", encoding="utf-8")
    return config


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(population=people, audience=audiences)
@example(  # a sample of some of many: still in contact order
    population=[Person(c, "en", "North", False, False, frozenset(), False) for c in CHANNELS * 3],
    audience=Audience(sample=4, seed=3),
)
def test_audiences_never_include_opted_out_or_unreachable_residents(
    population: list[Person], audience: Audience
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        first, again, sent = asyncio.run(
            _select_and_send(Path(folder) / "parley.db", population, audience)
        )

    def person(contact_id: int) -> Person:
        return population[contact_id - 1]

    eligible = [
        n
        for n, one in enumerate(population, start=1)
        if not one.opted_out and not one.unreachable and fits(one, audience)
    ]
    assert first == again  # the same seed, the same residents
    assert first == sorted(first)
    assert not any(person(n).opted_out or person(n).unreachable for n in first)
    assert all(fits(person(n), audience) for n in first)
    if audience.sample is None:
        assert first == eligible
    else:
        assert set(first) <= set(eligible)
        assert len(first) == min(audience.sample, len(eligible))

    # Written at send time: nobody who opted out (even after the draft) or is unreachable.
    still = [n for n in eligible if not person(n).opts_out_before_sending]
    assert not any(
        person(n).opted_out or person(n).unreachable or person(n).opts_out_before_sending
        for n in sent
    )
    assert set(sent) <= set(still)
    if audience.sample is None:
        assert sent == still
    else:
        assert len(sent) == min(audience.sample, len(still))
