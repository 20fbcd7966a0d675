"""Never a traceback, never a silent exit: every ``parley`` command, fed a missing file,
an unwritable path, a folder for a file, malformed content, an unknown id or an unknown
language code, ends with one ``Error:`` line saying what is wrong, and a non-zero exit.

The walks discover the commands (and their path and id parameters) from the click
group itself, so a command added later is walked too."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result

from bot.cli.common import Parley
from bot.cli.main import main
from bot.errors import ConfigError, ExportError, FlowError
from bot.settings import load_settings
from tests import databases
from tests.cli_kit import numbers_made

# -- running parley ---------------------------------------------------------------------------


PROBLEM = re.compile(r"^\S+:\d+: \S")  # file:line: what is wrong
CHECKED = re.compile(r"^\d+ problems? found\.$")


def parley(
    home: Path,
    *args: str,
    config: bool = True,
    stdin: str | None = None,
    database: str | None = None,
) -> Result:
    """``parley ARGS`` on the test's database (or ``database``), with no provider and no
    secret from the developer's own environment."""
    settings = home / "parley.toml"
    if not settings.exists():
        settings.write_text("[parley]\n", encoding="utf-8")
    environment: dict[str, str | None] = {
        "PARLEY_DATABASE": database or databases.of(home),
        "PARLEY_CONFIG": None,
        "PARLEY_EXPORT_SECRET": None,
        "TWILIO_ACCOUNT_SID": None,
        "TWILIO_AUTH_TOKEN": None,
        "TWILIO_FROM": None,
        "TELEGRAM_BOT_TOKEN": None,
    }
    given = ["--config", str(settings), *args] if config else list(args)
    return CliRunner().invoke(main, given, env=environment, input=stdin)


def failed(result: Result, *named: str) -> str:
    """The one error line of a command that failed as it should: a non-zero exit by
    click (not a crash), no traceback, exactly one ``Error:`` line, the last one, of one
    line, naming at least one of ``named`` (a path or an option)."""
    shown = result.output + result.stderr
    assert result.exit_code != 0, shown
    assert isinstance(result.exception, SystemExit), repr(result.exception) + shown
    assert "Traceback" not in shown
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    if not errors and lines and CHECKED.match(lines[-1]):  # `parley flows check`'s report
        errors = lines[:-1]
        assert errors, result.stderr
        assert all(PROBLEM.match(line) for line in errors), result.stderr
    assert len(errors) == 1, result.stderr
    assert lines[-1] == errors[0] or CHECKED.match(lines[-1]), result.stderr  # one line
    assert "unexpected" not in errors[0], errors[0]  # a known problem, not the catch-all
    if named:
        assert any(name in errors[0] for name in named), (named, errors[0])
    return errors[0]


def commands(
    group: click.Group = main, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    context = click.Context(group)
    for name in group.list_commands(context):  # the lazy ones too (imported by get_command)
        command = group.get_command(context, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


# -- the walk over files --------------------------------------------------------------------

PATH_OPTIONS = {"--output", "--file", "--chart", "--quotas", "--config", "--folder"}
BROKEN = "key: [unclosed\n\t- : : ,,,\n= = =\n"  # neither YAML, nor TOML, nor quotas CSV
NOT_UTF8 = b"\xff\xfe\x00\x9c broken \x81\n"
# An export that gets as far as its file.
EXTRA: dict[tuple[str, ...], list[str]] = {("export",): ["--flow", "welcome"]}


def path_params(command: click.Command) -> list[click.Parameter]:
    found: list[click.Parameter] = []
    for param in command.params:
        if isinstance(param.type, click.Path | click.File):
            found.append(param)
        elif isinstance(param, click.Option):
            # A path given as plain text would skip every check below.
            assert not PATH_OPTIONS & set(param.opts), f"{param.opts} is not typed as a path"
    return found


def kind_of(param: click.Parameter) -> str:
    kind = param.type
    if isinstance(kind, click.File):
        return "input" if "r" in kind.mode else "output"
    assert isinstance(kind, click.Path)
    if not kind.file_okay:
        return "folder"
    return "input" if kind.exists else "output"


def bad_values(kind: str, param: click.Parameter, home: Path) -> dict[str, Path]:
    """Each bad value for a parameter of this kind, made on disk."""
    home.mkdir()
    a_file = home / "a-file.txt"
    a_file.write_text("just text\n", encoding="utf-8")
    if kind == "input":
        broken, binary = home / "broken.txt", home / "binary.txt"
        broken.write_text(BROKEN, encoding="utf-8")
        binary.write_bytes(NOT_UTF8)
        return {
            "missing": home / "missing.txt",
            "a folder": home,
            "malformed": broken,
            "not utf-8": binary,
        }
    if kind == "folder":
        flows = home / "flows"
        flows.mkdir()
        (flows / "bad.yaml").write_text(BROKEN, encoding="utf-8")
        (home / "binary").mkdir()
        (home / "binary" / "bad.yaml").write_bytes(NOT_UTF8)
        return {
            "missing": home / "missing",
            "a file": a_file,
            "malformed": flows,
            "not utf-8": home / "binary",
        }
    values = {
        "in a missing folder": home / "missing" / "out.x",
        "under a file": a_file / "out.x",
    }
    if os.geteuid() != 0:
        locked = home / "locked"
        locked.mkdir(mode=0o500)
        values["in a read-only folder"] = locked / "out.x"
    elif _refused(SYSFS / "out.x"):  # root writes anywhere but where the kernel refuses
        values["in a read-only folder"] = SYSFS / "out.x"
    assert isinstance(param.type, click.Path)
    if not param.type.dir_okay or "--output" in getattr(param, "opts", ()):
        values["a folder"] = home  # export -o: a folder, for CSV
    return values


SYSFS = Path("/sys")


def _refused(path: Path) -> bool:
    """Whether even this process (root, in CI) may not create ``path``."""
    try:
        path.open("x").close()
    except OSError:
        return True
    path.unlink()
    return False


def filler(param: click.Parameter) -> str:
    """A plausible value for a required parameter that is not the one tested."""
    if isinstance(param.type, click.Choice):
        return str(param.type.choices[0])
    return "1"


def args_with(
    path: tuple[str, ...], command: click.Command, tested: click.Parameter, bad: Path
) -> list[str]:
    args: list[str] = []
    for param in command.params:
        value = str(bad) if param is tested else filler(param) if param.required else None
        if value is None:
            continue
        if isinstance(param, click.Option):
            args += [param.opts[-1], value]
        else:
            args.append(value)
    return [*path, *args, *EXTRA.get(path, [])]


def path_cases() -> Iterator[tuple[tuple[str, ...], str, str]]:
    yield (), "config", "--config"  # the group's own option, before any command
    for path, command in commands():
        for param in path_params(command):
            yield path, param.name or "", kind_of(param)


CASES = [
    pytest.param(path, name, case, id=f"{' '.join(path) or 'parley'} {name}: {case}")
    for path, name, kind in path_cases()
    for case in {
        "input": ("missing", "a folder", "malformed", "not utf-8"),
        "folder": ("missing", "a file", "malformed", "not utf-8"),
        "output": ("in a missing folder", "under a file", "a folder", "in a read-only folder"),
        "--config": ("missing", "a folder", "malformed", "not utf-8"),
    }[kind]
]


def test_the_walk_finds_every_file_taking_command() -> None:
    found = {(path, name) for path, name, _ in path_cases()}
    assert {
        ((), "config"),
        (("broadcast",), "text_file"),
        (("export",), "output"),
        (("flows", "check"), "folder"),
        (("panel", "select"), "quotas"),
        (("results",), "chart"),
    } <= found


@pytest.mark.parametrize(("path", "name", "case"), CASES)
def test_every_command_explains_a_bad_file_in_one_line(
    tmp_path: Path, path: tuple[str, ...], name: str, case: str
) -> None:
    if path == ():
        values = bad_values("input", main.params[0], tmp_path / "files")
        if case not in values:
            pytest.skip(f"{case}: not a case for this parameter")
        result = parley(tmp_path, "--config", str(values[case]), "answers", config=False)
        failed(result, str(values[case]), "--config")
        return
    command: click.Command = main
    for word in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), word)
        assert found is not None, path
        command = found
    [param] = [p for p in command.params if p.name == name]
    values = bad_values(kind_of(param), param, tmp_path / "files")
    if case not in values:
        pytest.skip(f"{case}: not a case for this parameter (or for root)")
    # ``parley backup`` is SQLite's (PostgreSQL's is pg_dump): its file is checked there.
    sqlite = str(tmp_path / "parley.db") if path == ("backup",) else None
    result = parley(tmp_path, *args_with(path, command, param, values[case]), database=sqlite)
    failed(result, str(values[case]), *getattr(param, "opts", ()), param.human_readable_name)


# -- the three tracebacks the issue saw -----------------------------------------------------


def test_a_chart_to_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    assert parley(tmp_path, "poll", "Which day?", "-o", "Monday", "-o", "Friday").exit_code == 0
    line = failed(parley(tmp_path, "results", "1", "--chart", "/nonexistent/x.png"))
    assert "/nonexistent/x.png: the folder /nonexistent does not exist" in line


def test_an_export_to_a_missing_folder_is_one_line_and_not_recorded(tmp_path: Path) -> None:
    args = ("export", "responses", "--flow", "welcome", "-o", "/nonexistent/x.csv")
    line = failed(parley(tmp_path, *args))
    assert "/nonexistent/x.csv" in line
    assert exports_recorded(tmp_path) == []


def test_a_broadcast_file_of_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    text = tmp_path / "message.yaml"
    text.write_text("en: Hello\n\tpl: Dzień dobry\n", encoding="utf-8")
    line = failed(parley(tmp_path, "broadcast", "--file", str(text), "--yes"))
    assert line.startswith(f"Error: {text}:2: not valid YAML: found a tab character")
    text.write_text("en: Hello\npl: [Dzień dobry\n", encoding="utf-8")
    line = failed(parley(tmp_path, "broadcast", "--file", str(text), "--yes"))
    assert line.startswith(f"Error: {text}:3: not valid YAML: did not find expected ',' or ']'")


def exports_recorded(home: Path) -> list[tuple[object, ...]]:
    if not databases.ON_POSTGRES and not (home / "parley.db").exists():
        return []  # (on PostgreSQL, a database never used reads as empty)
    with databases.connect(databases.location(home)) as db:
        return db.execute("SELECT what, rows FROM exports").fetchall()


# -- anything else that escapes a command ---------------------------------------------------


def _raising(error: BaseException) -> click.Group:
    @click.group(cls=Parley)
    def group() -> None:
        """A stand-in for ``parley``."""

    @group.command()
    def fail() -> None:
        raise error

    return group


def _not_utf8() -> UnicodeDecodeError:
    try:
        NOT_UTF8.decode("utf-8")
    except UnicodeDecodeError as error:
        return error
    raise AssertionError("decoded")


def _broken_yaml() -> yaml.YAMLError:
    try:
        yaml.safe_load(BROKEN)
    except yaml.YAMLError as error:
        return error
    raise AssertionError("parsed")


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (FileNotFoundError(2, "No such file", "/gone/x.csv"), "/gone/x.csv: no such file"),
        (PermissionError(13, "Permission denied", "/root/x"), "/root/x: permission denied"),
        (IsADirectoryError(21, "Is a directory", "/tmp"), "/tmp: is a folder, not a file"),
        (_not_utf8(), "a file is not UTF-8 text"),
        (_broken_yaml(), ":2: not valid YAML"),
        (ExportError("no such\nthing"), "no such thing"),
        (ConfigError("PARLEY_X: wrong"), "PARLEY_X: wrong"),
        (sqlite3.DatabaseError("file is not a database"), "PARLEY_DATABASE"),
        (KeyError("bug"), "unexpected KeyError"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else "",
)
def test_what_escapes_a_command_becomes_one_line(error: BaseException, shown: str) -> None:
    result = CliRunner().invoke(_raising(error), ["fail"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: ")
    assert shown in lines[0]


def test_flow_problems_stay_one_per_line() -> None:
    error = FlowError(["a.yaml:3: no steps", "b.yaml:1: no title"])
    result = CliRunner().invoke(_raising(error), ["fail"])
    assert result.exit_code == 1
    assert result.stderr == "Error: a.yaml:3: no steps\nb.yaml:1: no title\n"


# -- run with nothing to run ----------------------------------------------------------------


def test_run_with_no_provider_and_no_terminal_says_what_to_set(tmp_path: Path) -> None:
    line = failed(parley(tmp_path, "run"))
    assert result_names(line, "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")
    assert result_names(line, "TELEGRAM_BOT_TOKEN", "PARLEY_PUBLIC_URL", "parley chat")


def result_names(line: str, *names: str) -> bool:
    missing = [name for name in names if name not in line]
    assert not missing, (missing, line)
    return True


# -- the settings file named as it was given ------------------------------------------------


def test_a_missing_config_option_is_named_as_the_option(tmp_path: Path) -> None:
    line = failed(parley(tmp_path, "--config", "/nope.toml", "answers", config=False))
    assert "--config" in line
    assert "/nope.toml" in line
    assert "PARLEY_CONFIG" not in line
    with pytest.raises(ConfigError, match=r"^--config: the settings file /nope\.toml"):
        load_settings({}, config_file=Path("/nope.toml"))
    with pytest.raises(ConfigError, match=r"^PARLEY_CONFIG: the settings file /nope\.toml"):
        load_settings({"PARLEY_CONFIG": "/nope.toml"})


def test_a_settings_file_that_is_a_folder_or_not_text_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder"):
        load_settings({"PARLEY_CONFIG": str(tmp_path)})
    binary = tmp_path / "parley.toml"
    binary.write_bytes(NOT_UTF8)
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings({"PARLEY_CONFIG": str(binary)})


# -- the walk over ids and language codes ---------------------------------------------------

QUOTAS = "category,value,min,max\narea,North,0,1\n"
NO_POLL = ("there is no poll 99; polls: 1",)
NO_FLOW = ("there is no flow 'nowhere'; flows: ", "priorities")
NO_BROADCAST = ("there is no broadcast 99; broadcasts: BROADCAST",)
NO_IDEA = ("there is no idea ID-9999; ideas: ", "IDEA")
NO_ROUND = ("there is no round 99; rounds: 1",)
ID_CASES: dict[tuple[tuple[str, ...], str], tuple[list[str], tuple[str, ...]]] = {
    (("answers",), "flow_id"): (["--flow", "nowhere"], NO_FLOW),
    (("broadcast",), "poll_id"): (["--poll", "99", "--yes"], NO_POLL),
    (("broadcast",), "flow_id"): (["--flow", "nowhere", "--yes"], NO_FLOW),
    (("broadcast",), "took_part"): (
        ["--text", "en=Hi", "--took-part", "nowhere", "--yes"],
        ("--took-part: ", *NO_FLOW),
    ),
    (("broadcast",), "not_took_part"): (
        ["--text", "en=Hi", "--not-took-part", "nowhere", "--yes"],
        ("--not-took-part: ", *NO_FLOW),
    ),
    (("contacts", "list"), "took_part"): (
        ["--took-part", "nowhere"],
        ("--took-part: ", *NO_FLOW),
    ),
    (("contacts", "show"), "contact_id"): (["99"], ("there is no contact 99; contacts: 1",)),
    (("contacts", "set"), "contact_id"): (
        ["99", "ward=North"],
        ("there is no contact 99; contacts: 1",),
    ),
    (("cancel",), "number"): (["99"], NO_BROADCAST),
    (("pause",), "number"): (["99"], NO_BROADCAST),
    (("resume",), "number"): (["99"], NO_BROADCAST),
    (("close",), "number"): (["99"], NO_POLL),
    (("results",), "target"): (["99"], NO_POLL),
    (("poll",), "from_flow"): (["--from-flow", "nowhere"], NO_FLOW),
    (("export",), "poll_id"): (["votes", "--poll", "99"], NO_POLL),
    (("export",), "flow_id"): (["responses", "--flow", "nowhere"], NO_FLOW),
    (("decision", "reach"), "decision_id"): (
        ["99"],
        ("there is no decision 99; there are no decisions yet",),
    ),
    (("decision", "update"), "decision_id"): (
        ["99", "--status", "done", "--text", "en=Done", "--yes"],
        ("there is no decision 99; there are no decisions yet",),
    ),
    (("decision", "record"), "answers"): (
        ["--status", "agreed", "--text", "en=Yes", "--answers", "poll:99", "--yes"],
        ("--answers: ", *NO_POLL),
    ),
    (("ideas", "show"), "ref"): (["ID-9999"], NO_IDEA),
    (("ideas", "approve"), "ref"): (["ID-9999"], NO_IDEA),
    (("ideas", "reject"), "ref"): (["ID-9999", "cost", "--yes"], NO_IDEA),
    (("ideas", "merge"), "duplicate"): (["ID-9999", "into", "IDEA"], NO_IDEA),
    (("ideas", "merge"), "kept"): (["IDEA", "into", "ID-9999"], NO_IDEA),
    (("ideas", "shortlist"), "refs"): (["IDEA", "ID-9999", "--yes"], NO_IDEA),
    (("decision", "record"), "idea"): (
        ["--status", "agreed", "--text", "en=Yes", "--answers", "idea:ID-9999", "--yes"],
        ("--answers: ", *NO_IDEA),
    ),
    (("panel", "show"), "panel_id"): (["99"], ("there is no panel 99; there are no panels yet",)),
    (("panel", "notify"), "panel_id"): (
        ["99"],
        ("there is no panel 99; there are no panels yet",),
    ),
    (("panel", "select"), "panel_id"): (
        ["99", "--size", "1", "--seed", "1", "--quotas", "QUOTAS"],
        ("there is no panel 99; there are no panels yet",),
    ),
    (("panel", "vote"), "panel_id"): (
        ["99", "--proposal", "Fund it?", "--yes"],
        ("there is no panel 99; there are no panels yet",),
    ),
    (("pb", "open"), "panel_id"): (
        ["Fund", "--budget", "100", "--panel", "99"],
        ("there is no panel 99; there are no panels yet",),
    ),
    (("pb", "bid"), "round_id"): (
        ["99", "--title", "T", "--cost", "5", "--proposer", "P"],
        NO_ROUND,
    ),
    (("pb", "import"), "round_id"): (["99", "BIDS"], NO_ROUND),
    (("pb", "translate"), "round_id"): (["99", "1", "pl", "--title", "T"], NO_ROUND),
    (("pb", "translate"), "number"): (["1", "99", "pl", "--title", "T"], ("there is no bid 99",)),
    (("pb", "rule"), "round_id"): (["99", "1", "--eligible"], NO_ROUND),
    (("pb", "rule"), "number"): (["1", "99", "--eligible"], ("there is no bid 99",)),
    (("pb", "phase"), "round_id"): (["99", "screening"], NO_ROUND),
    (("pb", "show"), "round_id"): (["99"], NO_ROUND),
    (("pb", "export"), "round_id"): (["99", "--csv", "OUT"], NO_ROUND),
}
LANGUAGE_CASES: dict[tuple[tuple[str, ...], str], list[str]] = {
    (("pb", "translate"), "language"): ["1", "1", "xx", "--title", "T"],
    (("chat",), "language"): ["--lang", "xx"],
    (("contacts", "list"), "language"): ["--language", "xx"],
    (("run",), "language"): ["--lang", "xx"],
    (("broadcast",), "languages"): ["--lang", "xx", "--text", "en=Hi", "--yes"],
    (("broadcast",), "texts"): ["--text", "en=Hi", "--text", "xx=Hi", "--yes"],
    (("poll",), "translations"): ["Q?", "-o", "A", "-o", "B", "--translation", "xx=Q?|A|B"],
    (("ideas", "shortlist"), "translations"): ["ID-1000", "--translation", "xx=Q?|A", "--yes"],
    (("panel", "vote"), "translations"): ["1", "--proposal", "P", "--translation", "xx=P"],
    (("decision", "record"), "texts"): [
        "--status",
        "agreed",
        "--text",
        "en=Yes",
        "--text",
        "xx=Yes",
        "--answers",
        "poll:1",
    ],
    (("decision", "update"), "texts"): ["1", "--status", "done", "--text", "xx=Done"],
}
ID_NAMES = {"number", "target", "from_flow", "flow_id", "took_part", "not_took_part", "answers"}
ID_NAMES |= {"ref", "refs", "duplicate", "kept"}
LANGUAGE_NAMES = {"language", "languages", "translations", "texts"}


def named_params(names: set[str], suffix: str = "") -> set[tuple[tuple[str, ...], str]]:
    found = set()
    for path, command in commands():
        for param in command.params:
            name = param.name or ""
            if name in names or (suffix and name.endswith(suffix)):
                found.add((path, name))
    return found


def test_every_id_and_language_option_is_walked() -> None:
    assert named_params(ID_NAMES, "_id") <= set(ID_CASES)
    assert named_params(LANGUAGE_NAMES) <= set(LANGUAGE_CASES)


# On PostgreSQL a test's databases are dropped when it ends (tests/databases.py): the
# town is made for each test there.
@pytest.fixture(scope="function" if databases.ON_POSTGRES else "module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with one resident, poll 1 and broadcast 1: something to name."""
    home = tmp_path_factory.mktemp("town")
    assert parley(home, "chat", stdin="hi\n1\nyes\n").exit_code == 0
    assert parley(home, "poll", "Which day?", "-o", "Monday", "-o", "Friday").exit_code == 0
    sent = parley(home, "broadcast", "--text", "en=Hi", "--yes")
    assert sent.exit_code == 0
    [broadcast] = numbers_made(sent.output, "Broadcast")  # not 1 on PostgreSQL: its preview
    (home / "broadcast").write_text(str(broadcast), encoding="utf-8")
    (home / "quotas.csv").write_text(QUOTAS, encoding="utf-8")
    (home / "bids.csv").write_text("title,description,cost,proposer\n", encoding="utf-8")
    assert parley(home, "pb", "open", "Fund", "--budget", "1000").exit_code == 0
    (home / "idea").write_text(asyncio.run(_an_idea(home)), encoding="utf-8")
    return home


async def _an_idea(home: Path) -> str:
    """The reference of an idea sent by the resident (contact 1)."""
    from bot.civic import ideas
    from bot.store import Database, contacts

    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    database = await Database.open(databases.location(home))
    try:
        return await database.run(
            lambda tx: (
                ideas.submit(
                    tx, contacts.get(tx, 1), "More benches", "en", now, region="GB"
                ).reference
            )
        )
    finally:
        await database.close()


@pytest.mark.parametrize(
    ("path", "name"), sorted(ID_CASES), ids=lambda v: " ".join(v) if isinstance(v, tuple) else v
)
def test_an_unknown_id_is_an_error_naming_what_exists(
    town: Path, path: tuple[str, ...], name: str
) -> None:
    args, expected = ID_CASES[path, name]
    idea = (town / "idea").read_text(encoding="utf-8")
    swap = {
        "QUOTAS": str(town / "quotas.csv"),
        "IDEA": idea,
        "BIDS": str(town / "bids.csv"),
        "OUT": str(town / "out.csv"),
    }
    broadcast = (town / "broadcast").read_text(encoding="utf-8")
    line = failed(parley(town, *path, *[swap.get(arg, arg) for arg in args]))
    for words in expected:
        assert swap.get(words, words).replace("BROADCAST", broadcast) in line, line


@pytest.mark.parametrize(
    ("path", "name"),
    sorted(LANGUAGE_CASES),
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else v,
)
def test_an_unknown_language_code_is_refused_naming_the_languages(
    town: Path, path: tuple[str, ...], name: str
) -> None:
    line = failed(parley(town, *path, *LANGUAGE_CASES[path, name]))
    assert "unknown language 'xx'; languages: en, pl, ro, pa, ur" in line, line


def test_an_export_of_an_unknown_poll_leaves_no_file_and_no_record(town: Path) -> None:
    out = town / "votes.csv"
    line = failed(parley(town, "export", "votes", "--poll", "99", "-o", str(out)))
    assert "there is no poll 99; polls: 1" in line
    assert not out.exists()
    assert [p.name for p in town.iterdir() if p.name.startswith(".votes")] == []
    assert exports_recorded(town) == []
    failed(parley(town, "export", "responses", "-o", str(out)), "--flow")  # no flow given
    assert exports_recorded(town) == []


def test_unknown_ids_list_the_latest_few_when_there_are_many(tmp_path: Path) -> None:
    from bot.cli.common import unknown

    known = [str(number) for number in range(1, 13)]
    assert unknown("poll", 99, known[:3]) == "there is no poll 99; polls: 1, 2, 3"
    assert unknown("poll", 99, known) == (
        "there is no poll 99; the latest polls: 3, 4, 5, 6, 7, 8, 9, 10, 11, 12"
    )
    assert unknown("panel", 9, []) == "there is no panel 9; there are no panels yet"


@pytest.mark.parametrize("command", [["chat"], ["answers"], ["polls"], ["export", "contacts"]])
def test_a_database_file_that_is_not_one_is_one_line_and_the_process_ends(
    tmp_path: Path, command: list[str]
) -> None:
    from tests.test_cli import parley as parley_process  # a real process: it must end

    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("just some notes\n" * 100, encoding="utf-8")
    environment = {"PARLEY_DATABASE": str(not_a_database)}
    result = parley_process(tmp_path, *command, stdin="hi\n", env=environment)
    assert result.returncode == 1
    assert result.stderr == "Error: the database (PARLEY_DATABASE): file is not a database\n"
