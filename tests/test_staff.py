"""Staff commands from a phone: what is a command, who may use which, what a draft shows,
that nothing is sent before /send, and the times and audiences staff write."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.desk import Refused
from bot.desk.moments import when
from bot.outreach.audience import Audience
from bot.phone.commands import Command, command_of
from bot.phone.reading import audience
from bot.phone.reply import Said
from tests.conftest import Clock, Harness
from tests.test_polls import Resident, join, staffed

ORGANISER = ("+447700900900", "sms")  # (address, channel)
WORKER = ("5001", "telegram")
STAFF = "sms:+447700900900=organiser,telegram:5001=worker"
ADDRESSES = ("+447700900900", "5001", "+447700900001", "+447700900002", "+447700900003")

POLL = "/poll Which evening should the youth club open?\nMonday\nWednesday\nFriday"


@pytest.fixture
async def office(tmp_path: Path, clock: Clock) -> AsyncIterator[Harness]:
    async with staffed(tmp_path, clock, STAFF) as bench:
        yield bench


async def says(harness: Harness, text: str, who: tuple[str, str]) -> str:
    [reply] = await harness.send(text, *who)
    return reply


async def count(harness: Harness, table: str) -> int:
    [row] = await harness.rows(f"SELECT count(*) AS n FROM {table}")
    return int(row["n"])


def no_addresses(caplog: pytest.LogCaptureFixture, *addresses: str) -> None:
    """No log line names a phone number or chat id."""
    for record in caplog.records:
        message = record.getMessage()
        assert not any(address in message for address in addresses), message


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO):
        yield caplog


# -- what is a command ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/poll Which evening?\nMonday\nFriday", Command.POLL),
        ("/poll\nWhich evening?", Command.POLL),
        ("/Broadcast@ParleyBot The panel meets on Tuesday", Command.BROADCAST),
        ("/SEND 3", Command.SEND),
        ("  /results 2 by ward", Command.RESULTS),
        ("/close@Parley_bot 2", Command.CLOSE),
        ("/cancel 4", Command.CANCEL),
        ("/pause 4", Command.PAUSE),
        ("/resume", Command.RESUME),
        ("/start", None),
        ("/start poll_fund", None),
        ("/stop", None),
        ("poll Which evening?", None),
        ("/polling", None),
        ("/poll-now", None),
        ("send 3", None),
        ("please /send 3", None),
        ("/", None),
        ("", None),
    ],
)
def test_command_of(text: str, command: Command | None) -> None:
    assert command_of(text) is command


# -- residents are not staff -------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "channel"), [("+447700900123", "sms"), ("70012345", "telegram")]
)
@pytest.mark.parametrize(
    "text", ["/broadcast hello everyone", POLL, "/send 1", "/results 1", "/close 1"]
)
async def test_a_resident_is_politely_refused_and_nothing_is_done(
    office: Harness, logs: pytest.LogCaptureFixture, address: str, channel: str, text: str
) -> None:
    assert await office.send(text, address, channel) == ["Sorry, that is only for staff."]
    assert await count(office, "broadcasts") == 0
    assert await count(office, "polls") == 0
    assert await count(office, "jobs") == 0
    [contact] = await office.rows("SELECT id, opted_out_at FROM contacts")
    assert contact["opted_out_at"] is None
    name = text.split()[0][1:]
    assert f"staff command /{name} refused: contact {contact['id']} is not staff" in logs.messages
    no_addresses(logs, address)


@pytest.mark.parametrize("word", ["/cancel", "/stop", "/CANCEL", "/Stop"])
async def test_stop_words_win_for_residents_even_written_as_commands(
    office: Harness, word: str
) -> None:
    await office.send("hi")
    await office.send("1")  # English
    await office.send("yes")  # consent
    [reply] = await office.send(word)
    assert reply == "You will get no more messages from us. To start again, reply START."
    [contact] = await office.rows("SELECT opted_out_at FROM contacts")
    assert contact["opted_out_at"] is not None
    assert await office.send("/broadcast hello") == []  # opted out: no answer at all
    assert await count(office, "broadcasts") == 0


async def test_a_resident_cancelling_a_number_is_not_stopping(office: Harness) -> None:
    """Only the whole message "/cancel" is a STOP word; "/cancel 3" is a staff command."""
    assert await office.send("/cancel 3") == ["Sorry, that is only for staff."]
    [contact] = await office.rows("SELECT opted_out_at FROM contacts")
    assert contact["opted_out_at"] is None


async def test_for_staff_cancel_is_the_command_not_stop(office: Harness) -> None:
    assert await says(office, "/cancel", ORGANISER) == "Use: /cancel BROADCAST (its number)"
    [contact] = await office.rows("SELECT opted_out_at FROM contacts")
    assert contact["opted_out_at"] is None


# -- workers and organisers ------------------------------------------------------------------


async def test_a_worker_runs_broadcasts_and_polls_but_only_organisers_close_or_peek(
    office: Harness, logs: pytest.LogCaptureFixture
) -> None:
    ids = await join(
        office, Resident("+447700900001"), Resident("+447700900002"), Resident("+447700900003")
    )
    residents = list(ids)

    # A poll: drafted, confirmed, paused while it is being sent, then resumed.
    draft = await says(office, POLL, WORKER)
    assert draft.startswith("Poll 1: Which evening should the youth club open?\n1. Monday")
    assert "Broadcast 1 (draft)" in draft
    assert await says(office, "/send 1", WORKER) == "Broadcast 1 is being sent."
    await office.app.jobs.run_due()  # written to the outbox; not yet delivered
    assert await says(office, "/pause 1", WORKER) == "Broadcast 1 paused. /resume 1 to go on."
    assert not any(m.address in residents for m in office.sent)
    assert await says(office, "/pause 1", WORKER) == "Broadcast 1 is already paused."
    assert await says(office, "/resume 1", WORKER) == "Broadcast 1 resumed."
    assert {m.address for m in office.sent} >= set(residents)

    # A message: drafted, then dropped before sending.
    draft = await says(office, "/broadcast The panel meets on Tuesday.", WORKER)
    assert "Broadcast 2 (draft)" in draft
    assert await says(office, "/cancel 2", WORKER) == "Broadcast 2 dropped; nothing was sent."
    [dropped] = await office.rows("SELECT status FROM broadcasts WHERE id = 2")
    assert dropped["status"] == "cancelled"
    assert await office.rows("SELECT * FROM outbox WHERE broadcast_id = 2") == []

    await office.send("1", "+447700900001")
    await office.send("3", "+447700900002")

    # While the poll is open: no live results and no closing it for a worker.
    assert await says(office, "/results 1", WORKER) == (
        "Poll 1 is still open: live results are for organisers only."
        " You will see them when it closes."
    )
    assert await says(office, "/close 1", WORKER) == "/close is for organisers only."
    assert await office.rows("SELECT * FROM jobs WHERE kind = 'close'") == []
    await office.app.jobs.run_due()
    [poll] = await office.rows("SELECT status FROM polls")
    assert poll["status"] == "open"

    # An organiser sees live results and closes it.
    live = await says(office, "/results 1", ORGANISER)
    assert live.splitlines()[:4] == [
        "Poll 1 (open, live): Which evening should the youth club open?",
        "  1. Monday: 1 (50%)",
        "  2. Wednesday: 0 (0%)",
        "  3. Friday: 1 (50%)",
    ]
    assert await says(office, "/close 1", ORGANISER) == "Poll 1 is closing now."
    await office.app.jobs.run_due()
    [poll] = await office.rows("SELECT status FROM polls")
    assert poll["status"] == "closed"
    assert await says(office, "/close 1", ORGANISER) == "Poll 1 has already closed."

    # Once closed, a worker sees the results, broken down too.
    closed = await says(office, "/results 1", WORKER)
    assert closed.startswith("Poll 1 (closed): Which evening should the youth club open?")
    assert "  2 voters" in closed
    by_channel = await says(office, "/results 1 by channel", WORKER)
    assert "channel = sms: 2 voters" in by_channel
    # In Telegram a bar chart follows each table; by SMS (the organiser here) none can.
    charts = office.files(WORKER[0])
    assert [(c.text, c.file.photo) for c in charts if c.file] == [("Poll 1", True)] * 2
    assert office.files(ORGANISER[0]) == []
    assert "needs Telegram" in await says(office, "/export votes 1", ORGANISER)

    worker = (await office.rows("SELECT id FROM contacts WHERE address = '5001'"))[0]["id"]
    assert f"staff command /close refused: contact {worker} is a worker" in logs.messages
    assert (
        f"live results of an open poll refused: contact {worker} (phone) is a worker"
        in logs.messages
    )
    no_addresses(logs, *ADDRESSES)


# -- /poll: mistakes are explained, and nothing is made ------------------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("Which evening?\nMonday", "Use: /poll then the question, then one option per line"),
        ("", "Use: /poll then the question"),
        (
            "Which evening?\n" + "\n".join(f"Day {n}" for n in range(1, 11)),
            "Poll not made: a poll has 2 to 9 options, not 10.",
        ),
        (
            "Which evening?\nMonday\nWednesday\nFriday\npl: Który wieczór? | Poniedziałek | Środa",
            "pl: give the question and all 3 options, split by |",
        ),
        (
            "Which evening?\nMonday\nFriday\npl: Który wieczór? | | Piątek",
            "pl: give the question and all 2 options, split by |",
        ),
        (
            "Which evening?\nMonday\nFriday\ncloses: someday",
            "'someday' is not a time like 18:00, tomorrow 9:30, 2026-12-01 18:00 or 2d",
        ),
        (
            "Which evening?\nMonday\nFriday\ncloses: 2026-03-01 18:00",
            "Poll not made: the closing time has already passed.",
        ),
        (
            "Which evening?\nMonday\nFriday\nresults: secret",
            "results: is send, public or private",
        ),
        (
            "Which evening?\nMonday\nFriday\nto: wardNorth",
            "to: 'wardNorth' should be name=value, like lang=pl or ward=North",
        ),
        (
            "Which evening?\nMonday\nFriday\nto: sample=lots",
            "to: sample and seed are whole numbers",
        ),
        (
            "Which evening?\nMonday\nFriday\nat: half past six",
            "'half past six' is not a time like 18:00",
        ),
        (
            "Which evening?\nMonday\nFriday\ncloses: 3d\nremind: soon",
            "'soon' is not a delay like 30m, 6h or 2d",
        ),
    ],
)
async def test_a_poll_with_a_mistake_is_explained_and_nothing_is_made(
    office: Harness, body: str, problem: str
) -> None:
    reply = await says(office, f"/poll {body}", WORKER)
    assert reply.startswith(problem)
    for table in ("polls", "broadcasts", "jobs"):
        assert await count(office, table) == 0, table


# -- /broadcast: the preview, and nothing sent before /send ------------------------------------


async def test_a_broadcast_preview_then_sending_only_when_confirmed(office: Harness) -> None:
    ids = await join(
        office,
        Resident("+447700900001", ward="North"),
        Resident("+447700900002", ward="North"),
        Resident("+447700900003", language="pl", ward="North"),
        Resident("+447700900004", language="ar", ward="North"),
        Resident("1005", channel="telegram", ward="North"),
        Resident("+447700900006", ward="South"),
    )
    draft = await says(
        office,
        "/broadcast The panel meets on Tuesday at 6pm.\npl: Panel spotyka się we wtorek o 18.\n"
        "to: ward=North",
        WORKER,
    )
    assert draft.splitlines() == [
        "Broadcast 1 (draft) to everyone opted in: ward = North:",
        "5 residents",
        "  sms       ar   1",
        "  sms       en   2",
        "  sms       pl   1",
        "  telegram  en   1",
        "SMS: 4 segments (ar 1, en 1, pl 1 per message), about 0.16 GBP",
        "No translation for: ar (they get the source text)",
        "Sending takes about 0 min 4 s at the configured rates",
        "Sends now.",
        "Reply /send 1 to send, /cancel 1 to drop.",
    ]
    [buttons] = [m.buttons for m in office.sent if m.address == WORKER[0]]
    assert [(b.label, b.reply) for b in buttons] == [("Send", "/send 1"), ("Cancel", "/cancel 1")]
    await office.app.jobs.run_due()
    assert await office.rows("SELECT * FROM outbox WHERE broadcast_id IS NOT NULL") == []

    assert await says(office, "/send 1", WORKER) == "Broadcast 1 is being sent."
    assert await says(office, "/send 1", WORKER) == "Broadcast 1 is scheduled, not a draft."
    await office.app.jobs.run_due()
    await office.app.dispatcher.drain()
    rows = await office.rows("SELECT contact_id, text FROM outbox WHERE broadcast_id = 1")
    assert sorted(row["contact_id"] for row in rows) == sorted(
        ids[a] for a in ids if a != "+447700900006"
    )
    texts = {row["contact_id"]: row["text"] for row in rows}
    assert texts[ids["+447700900003"]] == "Panel spotyka się we wtorek o 18."
    assert texts[ids["+447700900004"]] == "The panel meets on Tuesday at 6pm."
    # Drained: every message sent, so the broadcast is sent, not queued (issue 17).
    assert await says(office, "/send 1", WORKER) == "Broadcast 1 is sent, not a draft."
    assert await says(office, "/send 7", WORKER) == "There is no broadcast 7."
    assert await count(office, "broadcasts") == 1


async def test_a_broadcast_at_a_time_waits_for_it(office: Harness) -> None:
    await join(office, Resident("+447700900001"))
    draft = await says(office, "/broadcast The panel meets tonight.\nat: 18:00", WORKER)
    assert "Sends Mon 02 Mar 18:00." in draft
    assert await says(office, "/send 1", WORKER) == "Broadcast 1 will be sent Mon 02 Mar 18:00."
    [job] = await office.rows("SELECT kind, target, due_at FROM jobs")
    assert job == {"kind": "send", "target": 1, "due_at": "2026-03-02T18:00:00+00:00"}
    assert await office.app.jobs.run_due() == 0
    assert await office.rows("SELECT * FROM outbox WHERE broadcast_id = 1") == []

    office.clock.advance(hours=8)
    assert await office.app.jobs.run_due() == 1
    assert len(await office.rows("SELECT * FROM outbox WHERE broadcast_id = 1")) == 1


async def test_remind_is_for_what_residents_answer(office: Harness) -> None:
    await join(office, Resident("+447700900001"))
    refused = await says(office, "/broadcast The panel meets tonight.\nremind: 1d", WORKER)
    assert refused == "remind: is for flows and polls, which residents answer."
    assert await count(office, "broadcasts") == 0
    draft = await says(office, f"{POLL}\ncloses: 3d\nremind: 1d", WORKER)
    assert "Sends now; non-responders reminded 1 d later." in draft


# -- times and audiences as staff write them ---------------------------------------------------

LONDON = ZoneInfo("Europe/London")
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 10:00 in London (GMT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("18:00", datetime(2026, 3, 2, 18, 0, tzinfo=UTC)),  # later today
        ("9:30", datetime(2026, 3, 3, 9, 30, tzinfo=UTC)),  # passed today: tomorrow
        ("10:00", datetime(2026, 3, 3, 10, 0, tzinfo=UTC)),  # now is not the next one
        ("tomorrow 9:30", datetime(2026, 3, 3, 9, 30, tzinfo=UTC)),
        ("Tomorrow 18:00", datetime(2026, 3, 3, 18, 0, tzinfo=UTC)),
        ("today 23:15", datetime(2026, 3, 2, 23, 15, tzinfo=UTC)),
        ("2026-12-01 18:00", datetime(2026, 12, 1, 18, 0, tzinfo=UTC)),  # GMT
        ("2026-07-01 18:00", datetime(2026, 7, 1, 17, 0, tzinfo=UTC)),  # BST
        ("2d", MONDAY + timedelta(days=2)),
        ("in 6h", MONDAY + timedelta(hours=6)),
        ("30m", MONDAY + timedelta(minutes=30)),
        ("90 min", MONDAY + timedelta(minutes=90)),
    ],
)
def test_when(text: str, expected: datetime) -> None:
    found = when(text, MONDAY, LONDON)
    assert found == expected
    assert found.utcoffset() == timedelta(0)


def test_when_the_clocks_go_forward() -> None:
    saturday = datetime(2026, 3, 28, 10, 0, tzinfo=UTC)  # BST starts on Sunday 29 March
    assert when("tomorrow 9:30", saturday, LONDON) == datetime(2026, 3, 29, 8, 30, tzinfo=UTC)
    assert when("2d", saturday, LONDON) == saturday + timedelta(days=2)


@pytest.mark.parametrize(
    "text",
    ["", "someday", "tomorrow", "25:00", "18:60", "6pm", "2026-13-01 18:00", "01/12/2026", "-2d"],
)
def test_when_refuses(text: str) -> None:
    with pytest.raises(Refused):
        when(text, MONDAY, LONDON)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Audience()),
        (
            "lang=pl,ar channel=sms ward=North took-part=priorities sample=200 seed=7",
            Audience(
                languages=("pl", "ar"),
                channels=("sms",),
                fields={"ward": "North"},
                took_part_in="priorities",
                sample=200,
                seed=7,
            ),
        ),
        ("language=en not-took-part=idea", Audience(languages=("en",), not_took_part_in="idea")),
        (
            "Ward=North channel=sms,telegram",
            Audience(channels=("sms", "telegram"), fields={"ward": "North"}),
        ),
        ("block=7 ward=South", Audience(fields={"block": "7", "ward": "South"})),
    ],
)
def test_audience(text: str, expected: Audience) -> None:
    assert audience(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ward", "to: 'ward' should be name=value, like lang=pl or ward=North"),
        ("ward=", "to: 'ward=' should be name=value, like lang=pl or ward=North"),
        ("=North", "to: '=North' should be name=value, like lang=pl or ward=North"),
        ("sample=lots", "to: sample and seed are whole numbers"),
        ("seed=x", "to: sample and seed are whole numbers"),
    ],
)
def test_audience_refuses(text: str, problem: str) -> None:
    with pytest.raises(Said, match=problem):
        audience(text)
