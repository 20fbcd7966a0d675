"""Hostile input, found once, kept for good: webhook bodies that pass authentication but
are not what a provider sends, slow and vanishing clients, flow and YAML files built to
exhaust memory, a second process on one database, a database others could read.

To add a case, add a line to the table it belongs to (``TWILIO_FORMS``,
``TELEGRAM_BODIES``, ``HOSTILE_YAML``): every case gets the same checks (a 4xx or a
``file:line`` problem, one log line and no traceback, nothing stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import stat
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import server as server_module
from bot.errors import FlowError
from bot.flowfile import load_flows
from bot.flowfile.triggers import load_triggers
from bot.flowfile.yamllines import MAX_BYTES, MAX_DEPTH
from bot.server import Server
from bot.settings import Settings
from bot.store import Database
from bot.web import webhooks as web
from tests.channels.conftest import (
    SECRET,
    Live,
    live_settings,
    telegram_env,
    twilio_env,
    until,
)
from tests.conftest import REPO, Clock, open_app
from tests.fakes.servers import serving
from tests.fakes.telegram_api import FakeTelegram, Residents
from tests.fakes.twilio_api import FakeTwilio
from tests.test_cli import parley

# -- webhooks -------------------------------------------------------------------------------

SID = "SM" + "0" * 32
TWILIO_FORMS: list[tuple[str, str, dict[str, str], int]] = [
    # (case, path, form, status): signed as Twilio signs, so only the content is wrong.
    ("From is a word", "/twilio/sms", {"From": "hello", "Body": "hi"}, 400),
    ("From is only whatsapp:", "/twilio/sms", {"From": "whatsapp:", "Body": "hi"}, 400),
    ("From is a word on WhatsApp", "/twilio/sms", {"From": "whatsapp:hi", "Body": "hi"}, 400),
    ("From is too short", "/twilio/sms", {"From": "+1234", "Body": "hi"}, 400),
    ("From has spaces", "/twilio/sms", {"From": "+44 7700 900123", "Body": "hi"}, 400),
    ("From in Arabic digits", "/twilio/sms", {"From": "+٤٤٧٧٠٠٩٠٠١٢٣", "Body": "hi"}, 400),
    ("Body over 1,600", "/twilio/sms", {"From": "+447700900123", "Body": "é" * 1601}, 413),
    (
        "ErrorCode of 5,000 digits",
        "/twilio/status",
        {"MessageStatus": "failed", "ErrorCode": "9" * 5000},
        400,
    ),
    ("ErrorCode not ASCII", "/twilio/status", {"MessageStatus": "failed", "ErrorCode": "²"}, 400),
    ("outbox id a word", "/twilio/status?outbox=first", {"MessageStatus": "sent"}, 400),
    ("outbox id of 30 digits", f"/twilio/status?outbox={'9' * 30}", {"MessageStatus": "sent"}, 400),
    ("outbox id negative", "/twilio/status?outbox=-1", {"MessageStatus": "sent"}, 400),
]


def _message(**fields: Any) -> dict[str, Any]:
    message = {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "R"},
        "text": "hello there",
    }
    message.update(fields)
    return {"update_id": 7, "message": {k: v for k, v in message.items() if v is not None}}


def _press(**fields: Any) -> dict[str, Any]:
    query = {
        "id": "cb1",
        "chat_instance": "ci",
        "data": "1",
        "from": {"id": 5, "is_bot": False, "first_name": "R"},
        "message": {"message_id": 1, "date": 1_700_000_000, "chat": {"id": 5, "type": "private"}},
    }
    query.update(fields)
    return {"update_id": 8, "callback_query": {k: v for k, v in query.items() if v is not None}}


def _blocked(**fields: Any) -> dict[str, Any]:
    bot = {"id": 1, "is_bot": True, "first_name": "Parley"}
    change = {
        "date": 1_700_000_000,
        "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "R"},
        "old_chat_member": {"status": "member", "user": bot},
        "new_chat_member": {"status": "kicked", "user": bot, "until_date": 0},
    }
    change.update(fields)
    return {"update_id": 9, "my_chat_member": {k: v for k, v in change.items() if v is not None}}


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


TELEGRAM_BODIES: list[tuple[str, bytes, int]] = [
    # (case, body posted with the right secret token, status)
    ("text is an object", _json(_message(text={"a": 1})), 400),
    ("text is a list", _json(_message(text=[1, 2])), 400),
    ("caption is a number", _json(_message(text=None, caption=3)), 400),
    ("message without chat", _json(_message(chat=None)), 400),
    ("chat id is a word", _json(_message(chat={"id": "abc", "type": "private"})), 400),
    ("chat id is true", _json(_message(chat={"id": True, "type": "private"})), 400),
    (
        "numeric language_code",
        _json(
            _message(**{"from": {"id": 5, "is_bot": False, "first_name": "R", "language_code": 7}})
        ),
        400,
    ),
    (
        "language_code of symbols",
        _json(
            _message(
                **{"from": {"id": 5, "is_bot": False, "first_name": "R", "language_code": "../"}}
            )
        ),
        400,
    ),
    ("update_id is a word", _json({**_message(), "update_id": "x"}), 400),
    ("button press without from", _json(_press(**{"from": None})), 400),
    (
        "button press without chat",
        _json(_press(message={"message_id": 1, "date": 1_700_000_000})),
        400,
    ),
    ("button data is an object", _json(_press(data={"a": 1})), 400),
    ("text over 4,096", _json(_message(text="ж" * 4097)), 413),
    ("deeply nested JSON", b"[" * 30_000 + b"]" * 30_000, 400),
    ("deeply nested objects", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, 400),
    ("a list, not an update", b"[1, 2]", 400),
    ("not JSON", b"\xff\xfe not json", 400),
    ("blocked, without chat", _json(_blocked(chat=None)), 400),
    ("blocked, chat id a word", _json(_blocked(chat={"id": "abc", "type": "private"})), 400),
]


class Records(logging.Handler):
    """Every log record, Parley's and uvicorn's (which does not reach the root logger)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.exc_info or r.exc_text]

    def lines(self, words: str) -> list[str]:
        return [r.getMessage() for r in self.records if words in r.getMessage()]


@contextlib.contextmanager
def recording() -> Iterator[Records]:
    handler = Records()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn.error")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


@pytest.fixture
async def both(tmp_path: Path) -> AsyncIterator[tuple[Live, Settings]]:
    """Parley with Twilio and Telegram (webhook) against fakes on 127.0.0.1."""
    async with (
        serving(FakeTwilio("AC" + "1" * 32, "twilio-test-token").app()) as twilio,
        serving(FakeTelegram("123456:TEST-token_for-parley").app()) as telegram,
    ):
        settings = live_settings(tmp_path, **twilio_env(twilio), **telegram_env(telegram))
        server = Server(settings)
        await server.start()
        try:
            base = f"http://127.0.0.1:{server.port}"
            async with httpx.AsyncClient(base_url=base) as client:
                yield Live(server, client, Residents()), settings
        finally:
            await server.stop()


async def _stored(parley: Live) -> dict[str, int]:
    tables = ("contacts", "inbound", "sessions", "outbox")
    return {t: len(await parley.rows(f"SELECT 1 FROM {t}")) for t in tables}


async def test_hostile_webhooks_get_a_4xx_one_log_line_and_store_nothing(
    both: tuple[Live, Settings],
) -> None:
    parley, _ = both
    wrong: list[str] = []
    with recording() as log:
        for case, path, form, expected in TWILIO_FORMS:
            params = {"MessageSid": SID, "AccountSid": "AC" + "1" * 32, **form}
            response = await parley.post_twilio(path, params)
            if response.status_code != expected:
                wrong.append(f"{case}: {response.status_code}, not {expected}")
        for case, body, expected in TELEGRAM_BODIES:
            response = await parley.client.post(
                "/telegram",
                content=body,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
            if response.status_code != expected:
                wrong.append(f"{case}: {response.status_code}, not {expected}")
        stored = await _stored(parley)
    assert wrong == []
    assert stored == {"contacts": 0, "inbound": 0, "sessions": 0, "outbox": 0}
    assert log.tracebacks() == []
    refusals = log.lines("refused POST")
    assert len(refusals) == len(TWILIO_FORMS) + len(TELEGRAM_BODIES)
    assert not any("+44" in line or "hello there" in line for line in refusals)


async def test_a_well_formed_message_still_gets_through(both: tuple[Live, Settings]) -> None:
    parley, _ = both
    assert (await parley.sms("+447700900123", "hi")).status_code == 200
    assert (await parley.sms("whatsapp:+447700900124", "hi")).status_code == 200
    update = _message(
        **{"from": {"id": 5, "is_bot": False, "first_name": "R", "language_code": "pt-br"}}
    )
    assert (await parley.telegram(update)).status_code == 200
    contacts = await parley.rows("SELECT channel, address, language FROM contacts ORDER BY id")
    assert [(c["channel"], c["address"]) for c in contacts] == [
        ("sms", "+447700900123"),
        ("whatsapp", "+447700900124"),
        ("telegram", "5"),
    ]


# -- request size and time --------------------------------------------------------------------


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def _head(path: str, length: int | None, extra: str = "") -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{size}"
        f"Content-Type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n"
        f"{extra}\r\n"
    ).encode()


async def _answer(sock: socket.socket) -> str:
    """The status line of the server's answer, read off the raw socket."""
    data = await asyncio.to_thread(sock.recv, 4096)
    return data.split(b"\r\n", 1)[0].decode()


async def test_a_body_announced_too_large_is_refused_before_it_is_sent(
    both: tuple[Live, Settings],
) -> None:
    parley, _ = both
    with recording() as log, _connect(parley.server.port) as sock:
        sock.sendall(_head("/telegram", 10 * 1024 * 1024))  # no body follows
        status = await _answer(sock)
    assert status.startswith("HTTP/1.1 413 ")
    assert log.tracebacks() == []


async def test_a_streamed_body_is_cut_off_past_the_cap(both: tuple[Live, Settings]) -> None:
    parley, _ = both
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(10 * 1024):  # 10 MB, if it were all read
            sent += 1024
            yield b"x" * 1024

    with recording() as log:
        try:
            response = await parley.client.post(
                "/telegram", content=chunks(), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            status: int | None = response.status_code
        except httpx.TransportError:  # the server closed the connection while we sent
            status = None
        await until(lambda: bool(log.lines("refused POST /telegram (413)")))
    assert status in (413, None)
    assert sent < 10 * 1024 * 1024  # the server stopped reading: the client could not send it all
    assert log.tracebacks() == []


async def test_a_slow_body_times_out_and_others_are_served_meanwhile(
    both: tuple[Live, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    parley, _ = both
    monkeypatch.setattr(web, "BODY_TIMEOUT", 0.5)
    with recording() as log, _connect(parley.server.port) as sock:
        sock.sendall(_head("/telegram", 100) + b'{"update_id": ')  # and then nothing
        health = await parley.client.get("/healthz")  # not held up by the slow one
        status = await _answer(sock)
    assert health.status_code == 200
    assert status.startswith("HTTP/1.1 408 ")
    assert log.tracebacks() == []
    assert len(log.lines("refused POST /telegram (408)")) == 1


async def test_a_client_that_never_finishes_its_headers_is_cut_off(
    both: tuple[Live, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    parley, _ = both
    monkeypatch.setattr(server_module, "HEADER_TIMEOUT", 0.5)
    with (
        recording() as log,
        _connect(parley.server.port) as idle,
        _connect(parley.server.port) as drip,
    ):
        drip.sendall(b"POST /telegram HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for _ in range(3):  # a byte now and then does not keep it open
            await asyncio.sleep(0.2)
            with contextlib.suppress(OSError):
                drip.sendall(b"X")
        closed = [await asyncio.to_thread(sock.recv, 1024) for sock in (idle, drip)]
        health = await parley.client.get("/healthz")
    assert closed == [b"", b""]  # the server closed both, answering nothing
    assert health.status_code == 200
    assert len(log.lines("sent no whole request")) == 2
    assert log.tracebacks() == []


async def test_clients_that_vanish_mid_body_log_a_line_each_and_no_traceback(
    both: tuple[Live, Settings],
) -> None:
    parley, _ = both
    with recording() as log:
        for _ in range(20):
            with _connect(parley.server.port) as sock:
                sock.sendall(_head("/telegram", 1000) + b'{"update_id": 1')
        await until(lambda: len(log.lines("went away")) == 20)
        assert (await parley.client.get("/healthz")).status_code == 200
    assert log.tracebacks() == []


# -- one process per database ------------------------------------------------------------------


async def test_a_second_parley_on_the_same_database_refuses_to_start(
    settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    # SQLite's file lock, so this runs on a SQLite file whatever the suite runs on: on
    # PostgreSQL several processes share one database by design (their test is
    # tests/channels/test_several_processes.py).
    file = tmp_path / "own.db"
    app = await open_app(replace(settings, database=file), clock, [])
    try:
        own = {"PARLEY_DATABASE": str(file)}
        second = await asyncio.to_thread(parley, tmp_path, "chat", stdin="hi\n", env=own)
        assert second.returncode != 0
        [line] = second.stderr.strip().splitlines()
        assert str(file) in line
        assert "already running" in line
        assert "Traceback" not in second.stderr
        assert second.stdout == ""
        # Reading alongside a running bot still works.
        reader = await asyncio.to_thread(parley, tmp_path, "answers", env=own)
        assert reader.returncode == 0, reader.stderr
    finally:
        await app.close()


async def test_the_database_is_free_again_once_parley_stops(
    settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    app = await open_app(settings, clock, [])
    await app.close()
    app = await open_app(settings, clock, [])  # the same process, again
    await app.close()
    result = await asyncio.to_thread(parley, tmp_path, "chat", stdin="hi\n")
    assert result.returncode == 0, result.stderr


# -- file permissions --------------------------------------------------------------------------


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
async def test_the_database_and_its_side_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "parley.db"
    database = await Database.open(path)
    try:
        await database.run(lambda tx: tx.execute("CREATE TABLE scratch (x)"))
        side = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
        modes = {p.name: _mode(p) for p in (path, *side)}
    finally:
        await database.close()
    assert modes == {"parley.db": 0o600, "parley.db-wal": 0o600, "parley.db-shm": 0o600}


@pytest.mark.usefixtures("permissive_umask")
async def test_a_database_made_readable_before_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "parley.db"
    await (await Database.open(path)).close()
    os.chmod(path, 0o644)
    database = await Database.open(path)
    await database.close()
    assert _mode(path) == 0o600


# -- YAML files --------------------------------------------------------------------------------

LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)
HOSTILE_YAML: list[tuple[str, bytes, str]] = [
    # (case, file content, the problem reported: "file:LINE: words")
    ("billion laughs", LAUGHS.encode(), ":2: aliases (*name) are not allowed"),
    (
        "alias in a text",
        b"flow: f\ntitle: &t Hello\nsteps:\n  - id: a\n    type: message\n    text: *t\n",
        ":6: aliases (*name) are not allowed",
    ),
    ("alias as a key", b"a: &k x\n*k : 1\n", ":2: aliases (*name) are not allowed"),
    ("merge key", b"a: &m {x: 1}\nb:\n  <<: *m\n", ":3: aliases (*name) are not allowed"),
    ("deep lists", b"a: " + b"[" * 10_000 + b"]" * 10_000 + b"\n", f"nested more than {MAX_DEPTH}"),
    (
        "deep maps",
        b"".join(b"  " * i + b"k:\n" for i in range(200)),
        f"nested more than {MAX_DEPTH}",
    ),
    ("not UTF-8", b"flow: f\ntitle: caf\xe9\n", ":2: not UTF-8 text"),
    ("a number too long", b"flow: f\nattempts: " + b"9" * 5000 + b"\n", ":2: not valid YAML"),
    ("a python tag", b"flow: !!python/object:os.system x\n", ":1: not valid YAML"),
    ("too large", b"# " + b"x" * MAX_BYTES + b"\n", ":1: the file is larger than 1 MB"),
]


@pytest.mark.parametrize(
    ("case", "content", "expected"), HOSTILE_YAML, ids=[c[0] for c in HOSTILE_YAML]
)
def test_a_hostile_flow_file_is_a_file_line_problem(
    tmp_path: Path, case: str, content: bytes, expected: str
) -> None:
    (tmp_path / "bad.yaml").write_bytes(content)
    with pytest.raises(FlowError) as caught:
        load_flows(tmp_path)
    problems = [p for p in caught.value.problems if "bad.yaml" in p]
    assert problems, caught.value.problems
    assert problems[0].startswith(f"{tmp_path}/bad.yaml:")
    assert expected in problems[0]


@pytest.mark.parametrize(
    ("case", "content", "expected"), HOSTILE_YAML, ids=[c[0] for c in HOSTILE_YAML]
)
def test_a_hostile_triggers_file_is_a_file_line_problem(
    tmp_path: Path, case: str, content: bytes, expected: str
) -> None:
    (tmp_path / "triggers.yaml").write_bytes(content)
    with pytest.raises(FlowError) as caught:
        load_triggers(tmp_path, {})
    [problem] = caught.value.problems[:1]
    assert problem.startswith(f"{tmp_path}/triggers.yaml:")
    assert expected in problem


def test_the_shipped_flows_need_no_aliases() -> None:
    assert load_flows(REPO / "flows")


def test_flows_check_on_a_billion_laughs_exits_with_the_line(tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "laughs.yaml").write_text(LAUGHS, encoding="utf-8")
    result = parley(tmp_path, "flows", "check", str(folder))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert (
        f"{folder}/laughs.yaml:2: aliases (*name) are not allowed" in result.stderr + result.stdout
    )


def test_a_broadcast_file_with_aliases_is_refused_with_its_line(tmp_path: Path) -> None:
    texts = tmp_path / "texts.yaml"
    texts.write_text("en: &t hello\npl: *t\n", encoding="utf-8")
    result = parley(tmp_path, "broadcast", "--file", str(texts), "--yes")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == f"Error: {texts}:2: " + (
        "aliases (*name) are not allowed here: write the value out in full"
    )


# -- the same refusals when Telegram is polled --------------------------------------------------


async def test_a_polled_update_that_cannot_be_trusted_is_skipped_not_retried(
    tmp_path: Path,
) -> None:
    fake = FakeTelegram("123456:TEST-token_for-parley")
    async with serving(fake.app()) as api:
        server = Server(live_settings(tmp_path, **telegram_env(api, "polling")))
        await server.start()
        try:
            with recording() as log:
                bad = _message(chat={"id": "abc", "type": "private"})
                fake.push({**bad, "update_id": 1})
                fake.push(Residents().message(5, "hi") | {"update_id": 2})
                await until(lambda: len(fake.to(5)) == 1)  # the good one, after the bad
            assert server.app is not None
            contacts = await server.app.database.run(
                lambda tx: [tuple(r) for r in tx.execute("SELECT channel, address FROM contacts")]
            )
        finally:
            await server.stop()
    assert contacts == [("telegram", "5")]
    assert log.lines("skipped a Telegram update: Telegram: the chat id is not a number")
    assert log.tracebacks() == []


# -- nothing unbounded on a long text -----------------------------------------------------------


def test_the_language_guess_reads_only_the_head_of_a_long_text() -> None:
    from bot.lang.guess import MAX_CHARS, LanguageGuesser

    guess = LanguageGuesser(["en", "pl", "ar"])
    english = "The street lights on our road have been broken for weeks now. " * 20
    arabic = "أضواء الشارع في طريقنا معطلة منذ أسابيع " * 100_000  # four million letters
    assert len(english) >= MAX_CHARS
    assert guess(english[:MAX_CHARS] + arabic) == "en"  # the rest is never looked at
    assert guess(arabic) == "ar"


# -- CSV files given to commands ----------------------------------------------------------------

QUOTAS_HEAD = b"category,value,min,max\n"
HOSTILE_CSV: list[tuple[str, bytes, str]] = [
    # (case, file content, the start of the problem after "file:")
    ("min of 5,000 digits", QUOTAS_HEAD + b"area,North,1," + b"9" * 5000 + b"\n", "2: min and max"),
    ("min in superscript", QUOTAS_HEAD + "area,North,²,3\n".encode(), "2: min and max"),
    ("a cell too long", QUOTAS_HEAD + b'area,"' + b"x" * 200_000 + b'",0,1\n', "2: not valid CSV"),
    ("not UTF-8", QUOTAS_HEAD + b"area,Nor\xf0th,0,1\n", "2: not UTF-8 text"),
    ("too large", QUOTAS_HEAD + b"area,North,0,1\n" * 100_000, "1: the file is larger than 1 MB"),
]


@pytest.mark.parametrize(
    ("case", "content", "expected"), HOSTILE_CSV, ids=[c[0] for c in HOSTILE_CSV]
)
def test_a_hostile_quotas_file_is_a_file_line_problem(
    tmp_path: Path, case: str, content: bytes, expected: str
) -> None:
    from bot.civic.panels import load_quotas
    from bot.errors import ConfigError

    path = tmp_path / "quotas.csv"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_quotas(path)
    assert str(caught.value).startswith(f"{path}:{expected}")
    assert "\n" not in str(caught.value)


def test_a_quotas_file_with_a_byte_order_mark_still_reads(tmp_path: Path) -> None:
    from bot.civic.panels import load_quotas

    path = tmp_path / "quotas.csv"
    path.write_bytes("\ufeff".encode() + QUOTAS_HEAD + b"area,North,0,1\n")
    [quota] = load_quotas(path)
    assert (quota.category, quota.value, quota.minimum, quota.maximum) == ("area", "North", 0, 1)


# -- parley.toml --------------------------------------------------------------------------------


def test_a_settings_file_nested_thousands_deep_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "parley.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = parley(tmp_path, "flows", "check")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip() == f"Error: {tmp_path}/parley.toml: not valid TOML: nested too deep"
    )


def test_a_file_given_to_a_command_is_checked_for_size_before_it_is_read(tmp_path: Path) -> None:
    texts = tmp_path / "texts.yaml"
    with texts.open("wb") as out:
        out.truncate(50 * 1024 * 1024)  # 50 MB of nothing, sparse: cheap to make
    result = parley(tmp_path, "broadcast", "--file", str(texts), "--yes")
    assert result.returncode == 2  # a bad option value, as click reports it
    assert "Traceback" not in result.stderr
    assert f"{texts}:1: the file is larger than 1 MB" in result.stderr
