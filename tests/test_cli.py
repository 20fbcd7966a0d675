"""The ``parley`` command as a person runs it: a real process, stdin and a SQLite file."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from tests import databases
from tests.conftest import REPO


def parley(
    tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PARLEY_DATABASE": databases.of(tmp_path),
        "PARLEY_CONFIG": str(tmp_path / "parley.toml"),
        **(env or {}),
    }
    (tmp_path / "parley.toml").touch()
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


# welcome: English, agree; menu: the survey; then every priorities question.
PRIORITIES_RUN = [
    "hi",
    "1",
    "yes",
    "1",
    "housing",  # top issue, by word
    "2",  # housing problem: repairs
    "1, 3",  # services: several
    "٤",  # safe at night, in Arabic-Indic digits
    "12",  # years
    "y",  # panel
    "More street lights, please",
]


def test_chat_takes_the_priorities_survey_from_stdin_and_stores_the_answers(
    tmp_path: Path,
) -> None:
    result = parley(tmp_path, "chat", stdin="\n".join(PRIORITIES_RUN) + "\n")
    assert result.returncode == 0, result.stderr
    assert "What should be fixed first?" in result.stdout
    assert result.stdout.rstrip().endswith("Your answers help decide what is fixed first.")
    with databases.connect(databases.location(tmp_path)) as db:
        rows = db.execute(
            "SELECT step_id, value, raw FROM answers WHERE flow_id = 'priorities' ORDER BY id"
        ).fetchall()
        status = db.execute("SELECT status FROM sessions WHERE flow_id = 'priorities'").fetchone()
    assert [(step, json.loads(value)) for step, value, _ in rows] == [
        ("top_issue", "housing"),
        ("housing_problem", "repairs"),
        ("services", ["gp", "community_centre"]),
        ("safe_at_night", 4),
        ("years", 12),
        ("panel", "yes"),
        ("more", "More street lights, please"),
    ]
    assert rows[3][2] == "٤"
    assert status == ("completed",)


def test_chat_resumes_the_survey_in_a_new_process(tmp_path: Path) -> None:
    first = parley(tmp_path, "chat", stdin="\n".join(PRIORITIES_RUN[:6]) + "\n")
    assert first.returncode == 0, first.stderr
    second = parley(tmp_path, "chat", stdin="\n".join(PRIORITIES_RUN[6:]) + "\n")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("How safe do you feel")
    with databases.connect(databases.location(tmp_path)) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM answers WHERE flow_id = 'priorities'"
        ).fetchone()
    assert count == 7


def test_chat_in_polish_with_lang_option(tmp_path: Path) -> None:
    result = parley(tmp_path, "chat", "--lang", "pl", "--channel", "telegram", stdin="hej\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Witamy")
    assert "[1. Polski] [2. English] [3. Română]" in result.stdout  # buttons, Polish first
    assert "\n1. Polski" not in result.stdout  # the buttons are the list: not said twice


def test_run_without_providers_at_a_terminal_starts_the_simulator(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    (tmp_path / "parley.toml").touch()
    environment = {
        **os.environ,
        "PARLEY_DATABASE": databases.of(tmp_path),
        "PARLEY_CONFIG": str(tmp_path / "parley.toml"),
    }
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "TELEGRAM_BOT_TOKEN"):
        environment.pop(name, None)
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=tmp_path,
    ) as process:
        os.close(terminal)
        os.write(controller, b"hello\n\x04")  # a line, then Ctrl-D
        out, err = process.communicate(timeout=60)
    os.close(controller)
    assert process.returncode == 0, err
    assert "Parley simulator (sms)" in err
    assert "Choose your language" in out


def test_run_without_providers_and_without_a_terminal_says_what_to_set(tmp_path: Path) -> None:
    result = parley(tmp_path, "run", stdin="hello\n")  # a service manager, a container
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: no provider is configured")
    assert "TWILIO_ACCOUNT_SID" in line
    assert "TELEGRAM_BOT_TOKEN" in line


def test_flows_check_passes_on_the_bundled_flows(tmp_path: Path) -> None:
    result = parley(tmp_path, "flows", "check")
    assert result.returncode == 0, result.stderr
    assert "flows OK" in result.stdout
    assert "priorities" in result.stdout


def test_flows_check_reports_file_and_line_and_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "bad.yaml").write_text(
        "flow: bad\ntitle: Bad\nlanguage: en\nexpiry: 1d\nsteps:\n"
        "  - id: q1\n    type: message\n    text: Hi\n    goto: q9\n",
        encoding="utf-8",
    )
    result = parley(tmp_path, "flows", "check", str(folder))
    assert result.returncode == 1
    assert f"{folder}/bad.yaml:6: step 'q1': goes to unknown step 'q9'" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_fails_at_start_naming_it(tmp_path: Path) -> None:
    result = parley(tmp_path, "chat", stdin="hi\n", env={"PARLEY_TIMEZONE": "Mars/Base"})
    assert result.returncode != 0
    assert "PARLEY_TIMEZONE" in result.stderr
    assert "Traceback" not in result.stderr


def test_answers_command_shows_answers_without_addresses(tmp_path: Path) -> None:
    parley(tmp_path, "chat", stdin="\n".join(PRIORITIES_RUN) + "\n")
    result = parley(tmp_path, "answers", "--flow", "priorities")
    assert result.returncode == 0, result.stderr
    assert "priorities.top_issue = housing" in result.stdout
    assert "+447700900123" not in result.stdout


def test_repo_has_the_readme_commands_in_ci() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    test_command = next(line for line in ci.splitlines() if "pytest" in line).strip()
    assert test_command in readme
