"""The README is tested: every command a reader would copy from a fenced ``sh`` block runs,
in README order, against one temporary database in a temporary folder, and where the
README shows what a command prints (a ``text`` block right after it), the output is that.

A command that cannot run in a test (installing, Docker, systemd, a real provider or the
network) is listed in :data:`NOT_RUN` with the reason; any other command, including one
added to the README later, is run. ``parley`` commands run in-process with click's
CliRunner (the same ``main`` the installed ``parley`` script calls); other commands run
in a shell with the virtual environment's ``bin`` first on the PATH (those that work on
the checkout itself, like ``pybabel extract``, in a copy of it). State the README takes
for granted (residents who volunteered for a panel) is made by :data:`BEFORE`.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from bot.store import Database, contacts, panels
from bot.store.sql import Tx
from tests import databases
from tests.conftest import REPO

README = REPO / "README.md"
BIN = Path(sys.executable).parent

PASSWORD = "a password the reader types\n"
"""Typed at ``parley staff``'s password prompt (the command reads it from stdin)."""

# Commands (by how they start) that are not run, each with its reason.
NOT_RUN: dict[str, str] = {
    "python3 -m pip install": "installs packages (needs the network)",
    "uv ": "installs packages (needs the network)",
    "python3 -m uv": "installs packages (needs the network), then serves or runs the tests",
    "python3 -m venv": "makes a virtual environment (the tests run in one already)",
    ". .venv/bin/activate": "changes the reader's shell",
    "python3 -m pytest": "runs the test suite itself",
    "PARLEY_UPDATE_GOLDEN=1": "runs the test suite itself (and rewrites golden files)",
    "bash .ci/run": "runs the whole CI (tests, ruff, mypy)",
    "parley run": "serves until stopped (tested against fake providers in tests/channels)",
    "cd deploy": "on a server: Docker Compose setup",
    "cp parley.env.example": "on a server: Docker Compose setup",
    "nano ": "opens an editor",
    'echo "PARLEY_DOMAIN=': "on a server: Docker Compose setup",
    "docker ": "needs Docker",
    "git pull": "needs the network",
    "sudo ": "needs root on a server (systemd, apt)",
    "systemctl ": "needs systemd",
    "curl ": "needs a running server with a domain name",
    "pybabel init": "a template: CODE stands for a new language's code",
    "python3 bench/": "a benchmark: minutes of load on the machine",
    "python3 -m bench.": "a benchmark: minutes of load on the machine",
}


@dataclass(frozen=True)
class Block:
    """A fenced block of the README: its language, the line of its opening fence, its
    lines, and the note on the line before it (``<!-- output of: COMMAND -->`` for what a
    command prints, ``<!-- file: NAME -->`` for a file a command reads)."""

    language: str
    line: int
    lines: tuple[str, ...]
    note: str = ""


_NOTE = re.compile(r"^<!--\s*(.*?)\s*-->$")


def blocks(text: str) -> list[Block]:
    found: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = re.match(r"^```(\w*)\s*$", lines[index])
        if opening is None:
            index += 1
            continue
        end = next(n for n in range(index + 1, len(lines)) if lines[n].startswith("```"))
        note = _NOTE.match(lines[index - 1]) if index else None
        found.append(
            Block(
                opening.group(1),
                index + 1,
                tuple(lines[index + 1 : end]),
                note.group(1) if note else "",
            )
        )
        index = end + 1
    return found


def _without_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (outside quotes)."""
    quote = ""
    for position, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (position == 0 or line[position - 1].isspace()):
            return line[:position].rstrip()
    return line.rstrip()


def _split(line: str, separators: tuple[str, ...]) -> list[str]:
    """``line`` split at ``separators`` outside quotes."""
    parts, quote, start, position = [], "", 0, 0
    while position < len(line):
        char = line[position]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        else:
            separator = next((s for s in separators if line.startswith(s, position)), None)
            if separator is not None:
                parts.append(line[start:position].strip())
                position += len(separator)
                start = position
                continue
        position += 1
    parts.append(line[start:].strip())
    return [part for part in parts if part]


@dataclass(frozen=True)
class Command:
    """One command a reader would run: where it is in the README, and its text."""

    line: int
    text: str


def commands(block: Block) -> Iterator[Command]:
    joined, first = "", 0
    for offset, raw in enumerate(block.lines):
        line = _without_comment(raw)
        if not joined:
            first = block.line + 1 + offset
        if line.endswith("\\"):
            joined += line[:-1] + " "
            continue
        joined += line
        for part in _split(joined, ("&&", ";")):
            yield Command(first, part)
        joined = ""


def readme_commands() -> list[Command]:
    return [
        command
        for block in blocks(README.read_text(encoding="utf-8"))
        if block.language == "sh"
        for command in commands(block)
    ]


# Commands the README gives for SQLite's file, not run when the suite runs on PostgreSQL.
NOT_RUN_ON_POSTGRES: dict[str, str] = {
    "parley backup": "backs up a SQLite file: PostgreSQL's is pg_dump (the README says so)",
}


def reason_not_run(command: Command) -> str | None:
    skipped = {**NOT_RUN, **(NOT_RUN_ON_POSTGRES if databases.ON_POSTGRES else {})}
    return next((why for start, why in skipped.items() if command.text.startswith(start)), None)


def _printf(argument: str) -> str:
    """What ``printf 'ARGUMENT'`` prints (the escapes the README uses)."""
    return argument.encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


@dataclass
class Ran:
    command: Command
    exit_code: int
    output: str


class Reader:
    """A reader at a terminal in a fresh folder, running the README's commands in order."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {
            "PARLEY_DATABASE": databases.of(home),
            "PARLEY_CONFIG": None,
            "PARLEY_EXPORT_SECRET": None,
            "PARLEY_STAFF": None,
            "PARLEY_QUIET_HOURS": "off",  # the same whatever the time of day
            "TWILIO_ACCOUNT_SID": None,
            "TWILIO_AUTH_TOKEN": None,
            "TWILIO_FROM": None,
            "TELEGRAM_BOT_TOKEN": None,
        }

    def run(self, command: Command) -> Ran:
        stages = _split(command.text, ("|",))
        stdin = ""
        if len(stages) == 2 and stages[0].startswith("printf "):
            stdin = _printf(shlex.split(stages[0])[1])
            stages = stages[1:]
        if len(stages) == 1 and stages[0].startswith("parley "):
            return self._parley(command, stages[0], stdin)
        return self.shell(command)

    def _parley(self, command: Command, text: str, stdin: str) -> Ran:
        words = shlex.split(text)[1:]
        target = None
        if ">" in words:
            at = words.index(">")
            words, target = words[:at], words[at + 1]
        if not stdin:  # a resident at a terminal types nothing; staff confirm what they do
            stdin = "" if words[:1] == ["chat"] else "y\n"
            if words[:2] in (["staff", "add"], ["staff", "password"]):
                stdin = PASSWORD  # what the reader types at the password prompt
        result: Result = CliRunner().invoke(main, words, input=stdin, env=self.env)
        output = result.stdout if target else result.output
        if target:
            (self.home / target).write_text(result.stdout, encoding="utf-8")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            output += f"\n{result.exception!r}"
        return Ran(command, result.exit_code, output)

    def shell(self, command: Command, cwd: Path | None = None) -> Ran:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_",))}
        environment.update({k: v for k, v in self.env.items() if v is not None})
        environment["PATH"] = f"{BIN}{os.pathsep}{environment.get('PATH', '')}"
        done = subprocess.run(
            ["bash", "-c", command.text],
            cwd=cwd or self.home,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Ran(command, done.returncode, done.stdout + done.stderr)


# -- state the README takes for granted -------------------------------------------------------


def _in_database(home: Path, work: Callable[[Tx], None]) -> None:
    async def go() -> None:
        database = await Database.open(databases.location(home))
        try:
            await database.run(work)
        finally:
            await database.close()

    asyncio.run(go())


def _volunteers(home: Path) -> None:
    """Thirty residents answered panel 1's invitation (the README's draw needs a pool)."""
    now = datetime.now(UTC)
    areas = ("north", "south", "east", "west", "centre")
    ages = ("age16_29", "age30_44", "age45_64", "age65_plus")

    def work(tx: Tx) -> None:
        for number in range(30):
            contact = contacts.ensure(tx, "sms", f"+44770090{number + 2000:04d}", "en", now)
            contacts.record(tx, contact.id, "consent", now, "texted in", now)
            profile = {
                "area": areas[number % 5],
                "age": ages[number % 4],
                "gender": ("woman", "man")[number % 2],
                "tenure": ("owned", "private", "social")[number % 3],
            }
            panels.volunteer(tx, 1, contact.id, profile, now)

    _in_database(home, work)


def _seats_taken(home: Path) -> None:
    """Three of panel 1's chosen take their seat, answering the invitation by SMS."""
    with databases.connect(databases.location(home)) as db:
        chosen = db.execute(
            "SELECT c.address FROM panel_members m JOIN contacts c ON c.id = m.contact_id"
            " WHERE m.panel_id = 1 AND m.status = 'selected' ORDER BY m.number LIMIT 3"
        ).fetchall()
    assert len(chosen) == 3, chosen
    reader = Reader(home)
    for (address,) in chosen:
        answer = reader.run(Command(0, f"printf 'yes\\n' | parley chat --from {address}"))
        assert answer.exit_code == 0, answer.output


# Commands (by how they start) that work on the checkout itself: run in a copy of it.
IN_A_CHECKOUT = ("pybabel extract", "pybabel update")
CHECKOUT = ("babel.cfg", "bot", "locales")


def _checkout(home: Path) -> Path:
    copy = home / "checkout"
    if not copy.exists():
        for name in CHECKOUT:
            source = REPO / name
            if source.is_dir():
                shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                copy.mkdir(exist_ok=True)
                shutil.copy2(source, copy / name)
    return copy


# Commands (by how they start) that need residents to have done something first.
BEFORE: dict[str, Callable[[Path], None]] = {
    "parley panel select": _volunteers,
    "parley panel vote": _seats_taken,
}


# -- the test ---------------------------------------------------------------------------------

_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?")


def _as_compared(text: str) -> str:
    """Output with what differs from run to run (times, where the checkout is) put aside."""
    text = _MOMENT.sub("TIME", text.replace(f"{REPO}{os.sep}", ""))
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def test_every_sh_block_gives_whole_commands() -> None:
    """Each ``sh`` block of the README gives commands, joined across ``\\`` and without
    their comments, so none is missed or run in pieces."""
    readme = blocks(README.read_text(encoding="utf-8"))
    for block in (b for b in readme if b.language == "sh"):
        found = list(commands(block))
        assert found, f"README.md:{block.line}: no command"
        for command in found:
            assert not command.text.endswith("\\"), command
            assert " # " not in command.text or '"' in command.text, command
    assert any(c.text.startswith("parley chat") for c in readme_commands())


def test_readme_commands_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    readme = blocks(README.read_text(encoding="utf-8"))
    for block in readme:
        if block.note.startswith("file:"):
            name = block.note.removeprefix("file:").strip()
            (tmp_path / name).write_text("\n".join(block.lines) + "\n", encoding="utf-8")
    reader = Reader(tmp_path)
    ran: list[Ran] = []
    problems: list[str] = []
    for command in readme_commands():
        if reason_not_run(command):
            continue
        for start, prepare in BEFORE.items():
            if command.text.startswith(start):
                prepare(tmp_path)
        if command.text.startswith(IN_A_CHECKOUT):
            done = reader.shell(command, _checkout(tmp_path))
        else:
            done = reader.run(command)
        ran.append(done)
        if done.exit_code != 0:
            problems.append(
                f"README.md:{command.line}: `{command.text}` exited {done.exit_code}:\n"
                + done.output[-800:]
            )
    for block in readme:
        if not block.note.startswith("output of:"):
            continue
        shown = block.note.removeprefix("output of:").strip()
        runs = [r for r in ran if r.command.text == shown and r.command.line < block.line]
        if not runs:
            problems.append(f"README.md:{block.line}: no `{shown}` before this output")
            continue
        expected, actual = _as_compared("\n".join(block.lines)), _as_compared(runs[-1].output)
        if expected != actual:
            difference = difflib.unified_diff(
                expected.splitlines(), actual.splitlines(), "README", "printed", lineterm=""
            )
            problems.append(
                f"README.md:{block.line}: `{shown}` prints otherwise (update the README"
                " block if the change is meant):\n" + "\n".join(difference)
            )
    assert not problems, "\n\n".join(problems)


# -- reading the README's blocks --------------------------------------------------------------


def test_commands_are_split_as_a_shell_would() -> None:
    block = Block(
        "sh",
        10,
        (
            "parley chat                 # a comment",
            'parley poll "A # not a comment; nor a split" -o a \\',
            "       -o b --closes 3d",
            "parley pause 1; parley resume 1 && parley cancel 1",
            "",
        ),
    )
    assert [(c.line, c.text) for c in commands(block)] == [
        (11, "parley chat"),
        (12, 'parley poll "A # not a comment; nor a split" -o a         -o b --closes 3d'),
        (14, "parley pause 1"),
        (14, "parley resume 1"),
        (14, "parley cancel 1"),
    ]


def test_notes_name_the_output_and_files_of_blocks() -> None:
    text = "x\n<!-- output of: parley exports -->\n```text\n1 row\n```\n```sh\nls\n```\n"
    assert blocks(text) == [
        Block("text", 3, ("1 row",), "output of: parley exports"),
        Block("sh", 6, ("ls",), ""),
    ]


def test_a_printf_pipe_gives_the_command_its_lines() -> None:
    assert _printf(r"hi\n1 3\nzażółć\n") == "hi\n1 3\nzażółć\n"
