"""The menu's "Vote in a poll": the polls open right now, real polls (one vote each,
changeable until the poll closes, results when it closes), never a survey that counts
every answer as another vote."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.civic.polls import open_for
from bot.outreach.audience import Audience
from bot.store import Database, broadcasts, polls
from bot.store.broadcasts import POLL as POLL_KIND
from bot.store.broadcasts import NewBroadcast
from bot.store.polls import NewPoll, PollOption
from bot.store.sql import Tx
from tests.conftest import Clock, Harness
from tests.test_polls import ORGANISER, POLL, Resident, join, put, staff_says, staffed, to

MENU = (
    "What would you like to do?\n1. Answer a short survey about your area\n"
    "2. Share an idea\n3. Vote in a poll"
)
QUESTION = "Which evening should the youth club open?\n1. Monday\n2. Wednesday\n3. Friday"
THANKS = "Thank you for voting! We will send you the result when the poll closes."
NO_POLL = "There is no poll open right now."
ANA = "+447700900001"


@pytest.fixture
async def office(tmp_path: Path, clock: Clock) -> AsyncIterator[Harness]:
    async with staffed(tmp_path, clock, f"{ORGANISER[1]}:{ORGANISER[0]}=organiser") as bench:
        yield bench


async def votes(harness: Harness) -> list[tuple[int, int, list[str], int]]:
    rows = await harness.rows("SELECT poll_id, contact_id, choice, changes FROM votes")
    return [(r["poll_id"], r["contact_id"], json.loads(r["choice"]), r["changes"]) for r in rows]


async def test_with_no_poll_open_the_menu_says_so_briefly_in_the_residents_language(
    office: Harness,
) -> None:
    await join(office, Resident(ANA), Resident("+447700900002", language="pl"))
    assert await office.send("hi", ANA) == [MENU]
    assert await office.send("3", ANA) == [NO_POLL]
    [polish_menu] = await office.send("hej", "+447700900002")
    assert polish_menu.endswith("3. Zagłosuj w sondzie")
    assert await office.send("3", "+447700900002") == ["W tej chwili nie ma otwartej sondy."]
    # The keywords people write on posters lead to the same place.
    assert await office.send("VOTE", ANA) == [NO_POLL]
    assert await votes(office) == []
    assert await office.rows("SELECT count(*) AS n FROM answers WHERE flow_id = 'poll_fund'") == [
        {"n": 0}
    ]


async def test_a_resident_votes_from_the_menu_once_and_can_change_the_vote(
    office: Harness,
) -> None:
    await put(office, "/poll " + POLL)  # sent to nobody yet: no resident has joined
    ids = await join(office, Resident(ANA))
    assert await office.send("hi", ANA) == [MENU]
    assert await office.send("3", ANA) == [QUESTION]  # the one open poll, asked at once
    assert await office.send("2", ANA) == [THANKS]
    assert await votes(office) == [(1, ids[ANA], ["wednesday"], 0)]

    # Back to the menu (a message that is no vote), the poll again: the vote is shown and
    # the new answer replaces it. The count never grows with repeated votes.
    assert await office.send("hello", ANA) == [MENU]
    [again] = await office.send("3", ANA)
    assert again == "Your vote so far: Wednesday. Answer again to change it.\n\n" + QUESTION
    assert await office.send("3", ANA) == [THANKS]
    await office.send("hello", ANA)
    await office.send("vote", ANA)
    await office.send("friday", ANA)
    assert await votes(office) == [(1, ids[ANA], ["friday"], 2)]
    live = await staff_says(office, "/results 1")
    assert "  3. Friday: 1 (100%)" in live
    assert "  1 voter" in live

    # It closes: the result goes to the menu's voter as to everyone who voted.
    assert await staff_says(office, "/close 1") == "Poll 1 is closing now."
    await office.app.jobs.run_due()
    await office.app.dispatcher.drain()
    result = to(office, ANA)[-1].text
    assert result.startswith("Poll result: Which evening should the youth club open?")
    assert "3. Friday: 1 vote (100%)" in result
    # Closed: the menu no longer offers it.
    await office.send("hello", ANA)
    assert await office.send("3", ANA) == [NO_POLL]


def _open(tx: Tx, question: str, now: datetime, **extra: Any) -> int:
    poll_id = polls.create(
        tx,
        NewPoll(
            question={"en": question, "pl": f"{question} (pl)"},
            options=(PollOption("yes", {"en": "Yes"}), PollOption("no", {"en": "No"})),
            language="en",
            **extra,
        ),
        now,
    )
    polls.open_poll(tx, poll_id)
    sent = NewBroadcast(POLL_KIND, Audience().to_json(), flow_id=polls.flow_id(poll_id))
    broadcasts.create(tx, replace(sent, poll_id=poll_id), "queued", now)  # to everyone
    return poll_id


async def test_several_open_polls_are_listed_newest_first_and_no_other(office: Harness) -> None:
    now = office.clock()

    def make(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO panels (id, name, invite_seed, created_at) VALUES (1, 'Panel', 1, ?)",
            (now.isoformat(),),
        )
        _open(tx, "Close the road on Sundays?", now)  # 1
        _open(tx, "A panel's own vote?", now, panel_id=1, quorum="50%", threshold="majority")
        closed = _open(tx, "Last year's question?", now)  # 3
        polls.close(tx, closed, now)
        _open(tx, "Plant trees on the green?", now)  # 4
        polls.create(  # 5: a draft, not sent yet
            tx,
            NewPoll({"en": "Not yet?"}, (PollOption("a", {"en": "A"}),) * 2, "en"),
            now,
        )

    await office.app.database.run(make)
    ids = await join(office, Resident(ANA), Resident("+447700900002", language="pl"))
    await office.send("hi", ANA)
    assert await office.send("3", ANA) == [
        "Which poll would you like to vote in?\n"
        "1. Plant trees on the green?\n2. Close the road on Sundays?"
    ]
    assert await office.send("2", ANA) == ["Close the road on Sundays?\n1. Yes\n2. No"]
    assert await office.send("1", ANA) == [THANKS]
    # In Polish: the list and the questions in Polish where the poll has them.
    await office.send("hej", "+447700900002")
    [listed] = await office.send("3", "+447700900002")
    assert listed.startswith(
        "W której sondzie chcesz zagłosować?\n1. Plant trees on the green? (pl)"
    )
    assert await votes(office) == [(1, ids[ANA], ["yes"], 0)]


# -- each resident is offered the polls meant for them ------------------------------------

BEN = "+447700900002"
POLISH_NO_POLL = "W tej chwili nie ma otwartej sondy."


async def test_a_poll_for_ward_north_is_offered_in_the_north_and_not_in_the_south(
    office: Harness,
) -> None:
    ids = await join(
        office, Resident(ANA, ward="North"), Resident(BEN, language="pl", ward="South")
    )
    await put(office, "/poll " + POLL + "\nto: ward=North")
    assert [m.text for m in to(office, ANA)] == [QUESTION]
    assert to(office, BEN) == []
    assert await office.send("2", ANA) == [THANKS]
    # From the menu, North is offered it (their vote shown, to change it).
    assert await office.send("hello", ANA) == [MENU]
    [again] = await office.send("3", ANA)
    assert again == "Your vote so far: Wednesday. Answer again to change it.\n\n" + QUESTION
    # South is not: no poll is open for them, in their language, and no way to vote.
    [polish_menu] = await office.send("hej", BEN)
    assert polish_menu.endswith("3. Zagłosuj w sondzie")
    assert await office.send("3", BEN) == [POLISH_NO_POLL]
    assert await office.send("2", BEN) == [polish_menu]  # no vote: the menu again
    assert await office.send("vote", BEN) == [POLISH_NO_POLL]
    assert await votes(office) == [(1, ids[ANA], ["wednesday"], 0)]
    assert await office.rows(
        "SELECT count(*) AS n FROM sessions WHERE contact_id = ? AND flow_id = 'poll-1'",
        ids[BEN],
    ) == [{"n": 0}]


async def test_a_poll_sent_to_everyone_is_offered_to_a_resident_who_joined_since(
    office: Harness,
) -> None:
    await join(office, Resident(ANA))
    await put(office, "/poll " + POLL)
    assert [m.text for m in to(office, ANA)] == [QUESTION]
    ids = await join(office, Resident(BEN))  # after it was sent: not in the outbox
    assert await office.send("hi", BEN) == [MENU]
    assert await office.send("3", BEN) == [QUESTION]
    assert await office.send("3", BEN) == [THANKS]
    assert await votes(office) == [(1, ids[BEN], ["friday"], 0)]


async def test_a_poll_put_to_a_sample_is_offered_only_to_those_drawn(office: Harness) -> None:
    people = [f"+4477009000{n:02d}" for n in range(1, 5)]
    await join(office, *(Resident(address) for address in people))
    await put(office, "/poll " + POLL + "\nto: sample=2 seed=7")
    drawn = [address for address in people if to(office, address)]
    assert len(drawn) == 2
    newcomer = "+447700900099"
    await join(office, Resident(newcomer))
    for address in [*people, newcomer]:
        assert await office.send("vote", address) == (
            [QUESTION] if address in drawn else [NO_POLL]
        ), address


@pytest.mark.parametrize(
    ("audience", "everyone"),
    [
        (Audience(), True),
        (Audience(seed=7, strata="ward"), True),  # no sample drawn: they mean nothing
        (Audience(sample=200), False),
        (Audience(sample=200, seed=7, strata="ward"), False),
        (Audience(fields={"ward": "North"}), False),
        (Audience(languages=("pl",)), False),
        (Audience(channels=("sms",)), False),
        (Audience(took_part_in="priorities"), False),
        (Audience(not_took_part_in="priorities"), False),
        (Audience(participants=("poll:1",)), False),
        (Audience(received=3), False),
        (Audience(panel=1), False),
        (Audience(contacts=(4,)), False),
    ],
)
def test_an_audience_is_everyone_only_when_no_rule_narrows_it(
    audience: Audience, everyone: bool
) -> None:
    assert Audience.from_json(audience.to_json()).everyone is everyone


async def test_the_open_polls_of_a_resident_are_found_through_indexes(tmp_path: Path) -> None:
    """Every menu visit looks them up: the queries search indexes, never scan a table."""
    database = await Database.open(tmp_path / "p.db")
    seen: list[str] = []

    def work(tx: Tx) -> list[str]:
        now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        for_all = _open(tx, "For everyone?", now)
        north = _open(tx, "For the North?", now)
        tx.execute(
            "UPDATE broadcasts SET audience = ? WHERE poll_id = ?",
            (Audience(fields={"ward": "North"}).to_json(), north),
        )
        assert isinstance(tx, sqlite3.Connection)  # the plan asked of SQLite itself
        tx.set_trace_callback(seen.append)
        assert [poll.id for poll in open_for(tx, 1, 9)] == [for_all]
        tx.set_trace_callback(None)
        choosing = [sql for sql in seen if "FROM polls p" in sql or "FROM outbox" in sql]
        assert len(choosing) == 2, seen
        return [str(row[3]) for sql in choosing for row in tx.execute("EXPLAIN QUERY PLAN " + sql)]

    try:
        plan = await database.run(work)
    finally:
        await database.close()
    assert plan, "no query plan"
    for step in plan:
        assert "INDEX" in step, plan
