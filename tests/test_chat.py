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
