"""``parley``'s commands are imported only when one is run: ``parley --help`` and ``parley
answers`` start without the channels' SDKs, the web service, the desk or the exports
(issue 22: both within 0.3 s), and the help lists every command as the command itself
would (bench/startup.py has the figures; nothing here is timed). Nor is the hash a
missing staff account is checked against made before it is needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from bot.cli.main import COMMANDS, main
from bot.desk import accounts
from tests import databases

# Libraries and parts of Parley that some commands need, and neither of these starts.
HEAVY = (
    "telegram",
    "twilio",
    "requests",
    "httpx",
    "aiohttp",
    "starlette",
    "uvicorn",
    "jinja2",
    "babel",
    "phonenumbers",
    "argon2",
    "apscheduler",
    "yaml",
    "pabutools",
    "num2words",
    "bot.app",
    "bot.server",
    "bot.web",
    "bot.desk",
    "bot.engine",
    "bot.exports",
    "bot.channels",
    "bot.outreach",
    "bot.civic",
)

IMPORTED = """
import json, sys
from bot.cli.main import main
try:
    main(sys.argv[1:], prog_name="parley")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported_by(home: Path, *args: str) -> list[str]:
    """The heavy modules a ``parley ARGS`` process has imported once it is done."""
    config = home / "parley.toml"
    config.write_text("[parley]\n", encoding="utf-8")
    environment = {
        "PATH": "/usr/bin:/bin",
        "PARLEY_CONFIG": str(config),
        "PARLEY_DATABASE": databases.of(home),
    }
    done = subprocess.run(
        [sys.executable, "-c", IMPORTED, *args],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    modules = json.loads(done.stderr.splitlines()[-1])
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_help_imports_none_of_the_heavy_modules(tmp_path: Path) -> None:
    assert imported_by(tmp_path, "--help") == []
    assert imported_by(tmp_path, "answers", "--help") == []


def test_answers_imports_none_of_the_heavy_modules(tmp_path: Path) -> None:
    assert imported_by(tmp_path, "answers") == []


def test_the_help_lists_every_command_with_its_own_first_sentence() -> None:
    context = click.Context(main)
    # run, chat and answers are defined in main; a lazy one, once run, is kept in commands
    assert not set(COMMANDS) & {"run", "chat", "answers"}
    assert {"run", "chat", "answers"} <= set(main.commands)
    for name, (_, sentence) in COMMANDS.items():
        command = main.get_command(context, name)
        assert command is not None, name
        assert command.name == name
        assert command.get_short_help_str(limit=10**6) == sentence, name
    result = CliRunner().invoke(main, ["--help"], terminal_width=200)
    listed = result.output.split("Commands:\n")[1].splitlines()
    assert [line.split()[0] for line in listed] == sorted({*COMMANDS, *main.commands})


def test_a_mistyped_command_is_matched_among_the_commands_not_yet_imported() -> None:
    result = CliRunner().invoke(main, ["brodcast"])
    assert result.exit_code == 2
    assert "No such command 'brodcast'" in result.output
    assert "(Did you mean one of: 'broadcast', 'broadcasts'?)" in result.output


def test_no_account_matches_no_password_not_even_the_unusable_hashs_own() -> None:
    phrase = "no account has this password: it is only ever compared with"
    assert accounts.verify(accounts.unusable(), phrase)  # what a missing account is timed by
    assert not accounts.verify(None, phrase)
    assert not accounts.verify(None, "a password of ten or more")
