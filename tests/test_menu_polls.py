"""The menu's "Vote in a poll": the polls open right now, real polls (one vote each,
changeable until the poll closes, results when it closes), never a survey that counts
every answer as another vote."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.store import polls
from bot.store.polls import NewPoll, PollOption
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


def _open(tx: sqlite3.Connection, question: str, now: datetime, **extra: Any) -> int:
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
    return poll_id


async def test_several_open_polls_are_listed_newest_first_and_no_other(office: Harness) -> None:
    now = office.clock()

    def make(tx: sqlite3.Connection) -> None:
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
