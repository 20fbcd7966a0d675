"""The staff commands from the command line: make a poll, send it, see results, close."""

from __future__ import annotations

from pathlib import Path

from tests import databases
from tests.cli_kit import numbers_made
from tests.test_cli import parley


def test_a_poll_from_the_command_line(tmp_path: Path) -> None:
    chat = parley(tmp_path, "chat", stdin="hi\n1\nyes\n")  # one resident, in English
    assert chat.returncode == 0, chat.stderr
    made = parley(
        tmp_path,
        "poll",
        "Which evening?",
        "-o",
        "Monday",
        "-o",
        "Wednesday",
        "-o",
        "Friday",
        "--translation",
        "pl=Który wieczór?|Poniedziałek|Środa|Piątek",
        "--closes",
        "3d",
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("Poll 1: Which evening?\n1. Monday\n")
    assert "also in pl" in made.stdout

    sent = parley(tmp_path, "broadcast", "--poll", "1", "--remind-after", "1d", "--yes")
    assert sent.returncode == 0, sent.stderr
    assert "1 resident\n" in sent.stdout
    [broadcast] = numbers_made(sent.stdout, "Broadcast")
    assert f"Broadcast {broadcast}: 1 message queued" in sent.stdout
    with databases.connect(databases.location(tmp_path)) as db:
        asked = db.execute(
            "SELECT text FROM outbox WHERE broadcast_id = ?", (broadcast,)
        ).fetchall()
        due = db.execute("SELECT kind FROM jobs WHERE done_at IS NULL ORDER BY kind").fetchall()
    assert asked[0][0].startswith("Which evening?\nVoting closes ")
    assert "\n1. Monday" in asked[0][0]
    assert due == [("close",), ("remind",)]  # closing in 3 days, the reminder in 1

    live = parley(tmp_path, "results", "1", "--by", "language")
    assert live.returncode == 0, live.stderr
    assert "Poll 1 (open, live): Which evening?" in live.stdout

    closed = parley(tmp_path, "close", "1", "--yes")
    assert closed.returncode == 0, closed.stderr
    assert parley(tmp_path, "results", "1").stdout.startswith("Poll 1 (closed)")
    again = parley(tmp_path, "close", "1", "--yes")
    assert again.returncode == 1
    assert "already closed" in again.stderr
    assert "there is no broadcast 9" in parley(tmp_path, "cancel", "9").stderr


def test_command_line_mistakes_are_explained(tmp_path: Path) -> None:
    one = parley(tmp_path, "poll", "Only one?", "-o", "Yes")
    assert one.returncode == 1
    assert "a poll has 2 to 9 options, not 1" in one.stderr
    both = parley(tmp_path, "broadcast", "--flow", "priorities", "--text", "en=Hi", "--yes")
    assert both.returncode == 1
    assert "give one of" in both.stderr
    late = parley(tmp_path, "poll", "Q?", "-o", "A", "-o", "B", "--closes", "2020-01-01 10:00")
    assert late.returncode == 1
    assert "the closing time has already passed" in late.stderr
    flow = parley(tmp_path, "poll", "--from-flow", "poll_fund", "--closes", "1d")
    assert flow.returncode == 0, flow.stderr
    assert "also in ar, bn, es, fa, gu, lt, pa, pl, ps, pt, ro, so, ti, uk, ur" in flow.stdout
