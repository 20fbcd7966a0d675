"""The simulator (``parley chat``) shows one resident's conversation, nobody else's."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import parley

ANA = "+447700900201"
BEN = "+447700900202"
NOTICE = "Bins are collected on Friday this week."


def test_chat_shows_only_the_simulated_residents_messages(tmp_path: Path) -> None:
    quiet_off = {"PARLEY_QUIET_HOURS": "off"}  # a broadcast SMS goes at any time of day
    for address in (ANA, BEN):  # two residents, in English, who agreed
        joined = parley(tmp_path, "chat", "--from", address, stdin="hi\n1\nyes\n", env=quiet_off)
        assert joined.returncode == 0, joined.stderr
    sent = parley(tmp_path, "broadcast", "--text", f"en={NOTICE}", "--yes", env=quiet_off)
    assert sent.returncode == 0, sent.stderr
    assert "2 resident" in sent.stdout

    # Ana's simulator sends the outbox: both copies go, but only hers is on her screen.
    ana = parley(tmp_path, "chat", "--from", ANA, stdin="hi\n", env=quiet_off)
    assert ana.returncode == 0, ana.stderr
    assert ana.stdout.count(NOTICE) == 1
    assert "Please reply with a number from 1 to 3." in ana.stdout  # her own reply is shown

    # Ben's copy went out with it (the simulator delivered it): not shown again to him.
    ben = parley(tmp_path, "chat", "--from", BEN, stdin="hi\n", env=quiet_off)
    assert ben.returncode == 0, ben.stderr
    assert NOTICE not in ben.stdout


def test_log_lines_go_to_a_file_not_into_the_conversation(tmp_path: Path) -> None:
    """A resident's /poll is refused and logged at WARNING: the line goes beside the
    database, never between the bot's messages (stdout) or onto the terminal (stderr)."""
    script = "/start\n1\n/poll\n"
    result = parley(tmp_path, "chat", "--channel", "telegram", "--from", "5550001", stdin=script)
    assert result.returncode == 0, result.stderr
    assert "Sorry, that is only for staff." in result.stdout
    assert "WARNING" not in result.stdout + result.stderr
    assert "staff command /poll refused" in (tmp_path / "parley-chat.log").read_text("utf-8")


def test_with_verbose_the_log_lines_are_on_stderr_still_apart_from_the_chat(
    tmp_path: Path,
) -> None:
    result = parley(tmp_path, "-v", "chat", "--channel", "telegram", stdin="/poll\n")
    assert result.returncode == 0, result.stderr
    assert "WARNING bot.service: staff command /poll refused" in result.stderr
    assert "WARNING" not in result.stdout
