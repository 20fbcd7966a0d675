"""One desk, three fronts: the same poll made, sent, paused, resumed, closed and counted
through a phone command, the ``parley`` command and the staff web gives the same poll,
the same broadcast, the same states and the same results; the audit log tells the
fronts apart."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Clock, Harness
from tests.test_cli import parley
from tests.test_polls import Resident, join, staffed
from tests.web.conftest import ORGANISER, Browser, add_account, browser

PHONE = ("+447700900900", "sms")
STAFF = f"sms:{PHONE[0]}=organiser"
CLOSES = "2030-01-01 18:00"
POLISH = "Który wieczór?|Poniedziałek|Piątek"


@pytest.fixture
async def desk(tmp_path: Path, clock: Clock) -> AsyncIterator[Harness]:
    async with staffed(tmp_path, clock, STAFF) as harness:
        await join(
            harness,
            Resident("+447700900001"),
            Resident("+447700900002", language="pl"),
            Resident("+447700900003", language="pl", ward="North"),
        )
        await harness.app.database.run(
            lambda tx: add_account(tx, ORGANISER[0], "organiser", ORGANISER[1], harness)
        )
        harness.folder = tmp_path
        yield harness


async def cli(harness: Harness, *args: str) -> str:
    """``parley ARGS`` in a process of its own, on the same database."""
    assert harness.folder is not None
    env = {"PARLEY_STAFF": STAFF}
    done = await asyncio.to_thread(parley, harness.folder, *args, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def phone(harness: Harness, text: str) -> str:
    [reply] = await harness.send(text, *PHONE)
    return reply


async def web_poll(signed: Browser) -> str:
    page = await signed.get("/admin/broadcasts/new?kind=poll")
    once = re.search(r'name="once" value="([^"]+)"', page.text)
    assert once is not None
    answer = await signed.post(
        "/admin/broadcasts/new",
        {
            "kind": "poll",
            "once": once.group(1),
            "question": "Which evening?",
            "option1": "Monday",
            "option2": "Friday",
            "question_pl": "Który wieczór?",
            "option1_pl": "Poniedziałek",
            "option2_pl": "Piątek",
            "closes": CLOSES.replace(" ", "T"),
            "languages": "pl",
            "seed": "0",
        },
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    """A poll row as the fronts must agree on it (not its number nor who made it)."""
    return {
        "question": json.loads(row["question"]),
        "options": json.loads(row["options"]),
        "language": row["language"],
        "multiple": row["multiple"],
        "results": row["results"],
        "closes_at": row["closes_at"],
    }


async def test_three_fronts_one_desk(desk: Harness) -> None:
    signed = await browser(desk)
    await signed.sign_in(*ORGANISER)

    # The same poll, three ways, each drafted to the Polish speakers.
    said = await phone(
        desk,
        f"/poll Which evening?\nMonday\nFriday\npl: {POLISH.replace('|', ' | ')}\n"
        f"closes: {CLOSES}\nto: lang=pl",
    )
    assert "Poll 1: Which evening?" in said
    assert "Broadcast 1 (draft)" in said
    made = await cli(
        desk, "poll", "Which evening?", "-o", "Monday", "-o", "Friday",
        "--translation", f"pl={POLISH}", "--closes", CLOSES,
    )  # fmt: skip
    assert made.startswith("Poll 2: Which evening?")
    location = await web_poll(signed)
    assert location == "/admin/broadcasts/2"

    polls = await desk.rows("SELECT * FROM polls ORDER BY id")
    assert len(polls) == 3
    assert _shape(polls[0]) == _shape(polls[1]) == _shape(polls[2])
    assert [row["created_by"] for row in polls] == ["contact 4", "cli", "web:olu"]

    # Sent: by phone, from the command line (its own broadcast), and from the web.
    assert await phone(desk, "/send 1") == "Broadcast 1 is being sent."
    await cli(desk, "broadcast", "--poll", "2", "--lang", "pl", "--yes")
    sent = await signed.post(location + "/send")
    assert sent.status_code == 303
    await desk.app.jobs.run_due()
    broadcasts = await desk.rows(
        "SELECT id, poll_id, audience, status, recipients FROM broadcasts ORDER BY id"
    )
    assert [(b["poll_id"], b["status"]) for b in broadcasts] == [
        (1, "queued"),
        (3, "queued"),
        (2, "queued"),
    ]
    assert len({b["audience"] for b in broadcasts}) == 1  # the same audience, each way
    assert [b["recipients"] for b in broadcasts] == [2, 2, 2]

    # Paused and resumed each way: the same states.
    await phone(desk, "/pause 1")
    await cli(desk, "pause", "3", "--yes")
    await signed.post("/admin/broadcasts/2/pause")
    paused = await desk.rows("SELECT paused_at FROM broadcasts ORDER BY id")
    assert all(row["paused_at"] for row in paused)
    await phone(desk, "/resume 1")
    await cli(desk, "resume", "3", "--yes")
    await signed.post("/admin/broadcasts/2/resume")
    assert all(
        row["paused_at"] is None for row in await desk.rows("SELECT paused_at FROM broadcasts")
    )

    # The two Polish speakers answer each poll they were asked: Monday.
    await desk.app.dispatcher.drain()
    for resident in ("+447700900002", "+447700900003"):
        for _ in range(3):
            await desk.send("1", resident)
    # The same results come back from each front for the same poll.
    phone_says = await phone(desk, "/results 3 by language")
    cli_says = await cli(desk, "results", "3", "--by", "language")
    assert phone_says.splitlines() == cli_says.splitlines()
    page = await signed.get("/admin/polls/3?by=language")
    for line in phone_says.splitlines()[1:3]:  # "  1. Monday: 1 (100%)"
        label, count = re.match(r"\s+\d+\. (.+): (\d+) ", line).groups()  # type: ignore[union-attr]
        assert label in page.text
        assert f'<td class="number">{count}</td>' in page.text

    # Closed each way (the organiser's right on every front).
    assert await phone(desk, "/close 1") == "Poll 1 is closing now."
    await cli(desk, "close", "2", "--yes")
    await signed.post("/admin/polls/3/close")
    await desk.app.jobs.run_due()
    assert [row["status"] for row in await desk.rows("SELECT status FROM polls ORDER BY id")] == [
        "closed"
    ] * 3

    # The audit log names each front for the same actions.
    fronts = await desk.rows(
        "SELECT action, front, target FROM audit WHERE action IN"
        " ('poll.make', 'broadcast.send', 'broadcast.pause', 'broadcast.resume', 'poll.close')"
        " ORDER BY id"
    )
    by_action: dict[str, list[str]] = {}
    for row in fronts:
        by_action.setdefault(row["action"], []).append(row["front"])
    for action in (
        "poll.make",
        "broadcast.send",
        "broadcast.pause",
        "broadcast.resume",
        "poll.close",
    ):
        assert sorted(by_action[action]) == ["cli", "phone", "web"], action
    await signed.client.aclose()
