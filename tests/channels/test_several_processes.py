"""Three ``parley run`` on one PostgreSQL database (issue 21), as a deployment runs them:
each its own process on its own port, all sending to one fake Twilio, the test standing
in for the load balancer in front of the webhooks.

- 10,000 signed inbound webhooks (500 residents × 20 messages, each resident's one after
  another, as a phone sends them), round robin over the three, one of them killed with
  SIGKILL half-way: the balancer, like Twilio, sends a webhook that was refused, cut off
  or not answered again, with the same MessageSid, to the next process. Nothing
  acknowledged is lost, every resident's replies arrive in order, and none twice: a reply
  the killed process had handed to Twilio when it died is marked sent by the status
  report Twilio posts for it (to a process still running), before its claim lapses.
- A 10,000-message broadcast sent by all three together: each message once, and the
  deployment's rate (PARLEY_TWILIO_RATE, kept in the ``lanes`` table) never exceeded in
  any one-second window at the provider.
- A poll with a closing time, the leading process killed shortly before it: the poll
  closes once, its result reaches each voter once, within 30 s of the time.

The fake Twilio is one API served on three ports, one per process, so it knows which
process sent each message. Each process's log is a file in the test's folder, printed
when a test fails. PGAPPNAME names each process's connections, so the test sees in
``pg_locks`` which one holds the leader's advisory lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import aiohttp
import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import Response

from bot.outreach.outbox import CLAIM
from bot.store import contacts, jobs, polls
from bot.store.location import Postgres
from bot.store.postgres import _LEADER_LOCK
from bot.store.sql import Tx
from tests import databases
from tests.channels.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_URL,
    inbound_sms,
    twilio_env,
    twilio_signature,
)
from tests.conftest import REPO
from tests.fakes.twilio_api import FakeTwilio

pytestmark = databases.needs_server

PROCESSES = 3
CONCURRENCY = 4  # PARLEY_SEND_CONCURRENCY: calls in flight per process
RESIDENTS = 500
MESSAGES = 20  # each resident's, one after another: 10,000 webhooks in all
WEBHOOK_TIMEOUT = 15.0  # seconds the balancer waits for an answer (Twilio's own default)
CONNECTIONS = 3 * 64  # the balancer's connections to the processes, at most, all told
BROADCAST = 10_000
RATE = 200  # PARLEY_TWILIO_RATE for the broadcast: segments a second, whole deployment
RATE_TOLERANCE = 0.02  # see test_a_broadcast_is_sent_once_by_all_three_at_the_deployments_pace
VOTERS = 30


# -- the fake provider, on one port per process --------------------------------------


@dataclass
class SharedTwilio(FakeTwilio):
    """The fake Twilio API; it notes which process sent each message it accepted (by the
    port it came in on) and when."""

    ports: dict[int, int] = field(default_factory=dict)  # port -> process number
    sender: list[int] = field(default_factory=list)  # the process of each of messages
    accepted_at: list[float] = field(default_factory=list)  # time.monotonic() of each

    async def create(self, request: Request) -> Response:
        response = await super().create(request)
        if response.status_code == 201:  # appended to messages, with no await since
            self.sender.append(self.ports[request.scope["server"][1]])
            self.accepted_at.append(time.monotonic())
        return response

    def sent_by(self) -> Counter[int]:
        return Counter(self.sender)


@contextlib.contextmanager
def shared_twilio() -> Iterator[tuple[SharedTwilio, list[str]]]:
    """The fake and one base URL per process. It runs in a thread of its own, with its
    own event loop, so that what the test does meanwhile (posting webhooks, reading the
    database) neither holds up its answers nor bunches the times it notes."""
    fake = SharedTwilio(ACCOUNT_SID, AUTH_TOKEN)
    app = fake.app()
    servers = [
        uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        )
        for _ in range(PROCESSES)
    ]

    async def serve() -> None:
        try:
            await asyncio.gather(*(server.serve() for server in servers))
        finally:
            await fake.close()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not all(server.started for server in servers):
        assert thread.is_alive(), "the fake did not start"
        assert time.monotonic() < deadline, "the fake did not start in 10 s"
        time.sleep(0.01)
    urls = []
    for number, server in enumerate(servers):
        port = int(server.servers[0].sockets[0].getsockname()[1])
        fake.ports[port] = number
        urls.append(f"http://127.0.0.1:{port}")
    try:
        yield fake, urls
    finally:
        for server in servers:
            server.should_exit = True
        thread.join(timeout=10)


# -- the processes -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Parley:
    """One ``parley run``."""

    number: int
    port: int
    process: asyncio.subprocess.Process
    log: Path
    _log_file: IO[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def name(self) -> str:
        return f"parley-{self.number}"  # its connections' application_name

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> int | None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._log_file.close()
        return self.process.returncode


@dataclass
class Fleet:
    """The three processes, the database they share and the fake they send to."""

    folder: Path
    database: Postgres
    twilio: SharedTwilio
    parleys: list[Parley] = field(default_factory=list)

    def backends(self) -> list[str]:
        return [parley.base for parley in self.parleys]

    async def rows(self, query: str, *params: Any) -> list[dict[str, Any]]:
        def read() -> list[dict[str, Any]]:
            with databases.connect(self.database) as tx:
                return [dict(row) for row in tx.execute(query, params)]

        return await asyncio.to_thread(read)

    async def value(self, query: str, *params: Any) -> Any:
        [row] = await self.rows(query, *params)
        return next(iter(row.values()))

    async def leader(self) -> str | None:
        """The application_name of the process holding the leader's advisory lock."""
        found = await self.rows(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted"
            " AND ((l.classid::bigint << 32) | l.objid::bigint) = ?"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            _LEADER_LOCK,
        )
        return str(found[0]["application_name"]) if found else None

    def logs(self) -> str:
        parts = []
        for parley in self.parleys:
            lines = parley.log.read_text(encoding="utf-8", errors="replace").splitlines()
            parts.append(
                f"--- {parley.name} (exit {parley.process.returncode}), {parley.log},"
                f" last 60 of {len(lines)} lines:\n" + "\n".join(lines[-60:])
            )
        return "\n".join(parts)


@contextlib.asynccontextmanager
async def fleet(
    tmp_path: Path,
    twilio: tuple[SharedTwilio, list[str]],
    seed: Callable[[Tx], object] = lambda tx: None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[Fleet]:
    """Three ``parley run`` on a fresh database (``seed`` run on it first), started
    together and ready; stopped (SIGTERM) at the end, their logs printed if the test
    failed."""
    fake, urls = twilio
    database = databases.fresh_postgres()
    with databases.connect(database) as tx:
        seed(tx)
    config = tmp_path / "parley.toml"
    config.write_text("[parley]\n", encoding="utf-8")
    crew = Fleet(tmp_path, database, fake)
    try:
        for number, url in enumerate(urls):
            crew.parleys.append(await _start(tmp_path, number, url, database, config, env or {}))
        await asyncio.gather(*(_ready(parley, crew) for parley in crew.parleys))
        yield crew
    except BaseException:
        print(crew.logs())
        raise
    finally:
        for parley in crew.parleys:
            await parley.stop()


async def _start(
    folder: Path, number: int, api: str, database: Postgres, config: Path, env: dict[str, str]
) -> Parley:
    port = _free_port()
    log = folder / f"parley-{number}.log"
    log_file = log.open("wb")
    # The processes run at a lower priority than this one: the fake provider stands in
    # for Twilio's servers, which do not wait for a CPU behind the bot, so its clock
    # (when a call arrived) is not held up by theirs on this 2-core machine.
    process = await asyncio.create_subprocess_exec(
        "nice",
        "-n",
        "5",
        sys.executable,
        "-m",
        "bot",
        "--verbose",
        "run",
        env={
            **os.environ,
            **twilio_env(api),
            "PARLEY_DATABASE": database.url,
            "PARLEY_CONFIG": str(config),
            "PARLEY_PUBLIC_URL": PUBLIC_URL,
            "PARLEY_PORT": str(port),
            "PARLEY_LANGUAGES": "en",
            "PARLEY_QUIET_HOURS": "off",
            "PARLEY_SEND_CONCURRENCY": str(CONCURRENCY),
            "PARLEY_RETRY_DELAY": "0.2",
            "PGAPPNAME": f"parley-{number}",
            **env,
        },
        cwd=folder,
        stdout=log_file,
        stderr=asyncio.subprocess.STDOUT,
    )
    return Parley(number, port, process, log, log_file)


async def _ready(parley: Parley, crew: Fleet, within: float = 60.0) -> None:
    """Wait until ``parley`` answers on its port (its health check says so)."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while True:
            if parley.process.returncode is not None:
                raise AssertionError(f"{parley.name} ended at start-up:\n{crew.logs()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{parley.base}/healthz") as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise AssertionError(f"{parley.name} did not start in {within:.0f} s")
            await asyncio.sleep(0.1)


async def until(check: Callable[[], Any], within: float, what: str) -> None:
    """Wait until ``await check()`` (or ``check()``) holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)


@pytest.fixture
def twilio() -> Iterator[tuple[SharedTwilio, list[str]]]:
    with shared_twilio() as served:
        yield served


# -- 1. webhooks through a balancer, one process killed -------------------------------


def question(number: int) -> str:
    return f"Question {number} of {MESSAGES}: what should change on your street?"


def twenty_questions(folder: Path) -> Path:
    """The bundled flows and one more, started by a new resident's first message: each of
    the resident's messages is answered by the next question, so every reply says which
    message it answers."""
    flows = folder / "flows"
    shutil.copytree(REPO / "flows", flows)
    steps = "".join(
        f'  - id: q{n}\n    type: text\n    text:\n      en: "{question(n)}"\n'
        for n in range(1, MESSAGES + 1)
    )
    head = "flow: twenty\ntitle: Twenty questions\nlanguage: en\nexpiry: 1d\nsteps:\n"
    (flows / "twenty.yaml").write_text(head + steps, encoding="utf-8")
    return flows


def resident(number: int) -> str:
    return f"+44771{number:07d}"


@dataclass
class Balancer:
    """Posts residents' messages as Twilio does, round robin over the processes: a
    webhook refused, cut off, unanswered or answered 5xx goes again, with the same
    MessageSid, to the next process."""

    backends: list[str]
    session: aiohttp.ClientSession
    acknowledged: list[str] = field(default_factory=list)  # MessageSids answered 200
    answers: Counter[int | str] = field(default_factory=Counter)  # status, or the error
    failed_at: list[float] = field(default_factory=list)  # when each post went unanswered
    took: list[float] = field(default_factory=list)  # seconds to each 200
    _turn: Iterator[int] = field(default_factory=itertools.count)
    _connections: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONNECTIONS))

    async def deliver(self, sender: str, sid: str, body: str) -> None:
        params = inbound_sms(sender, body, sid)
        headers = {"X-Twilio-Signature": twilio_signature("/twilio/sms", params)}
        backend = next(self._turn) % len(self.backends)
        for _ in range(10 * len(self.backends)):
            url = self.backends[backend] + "/twilio/sms"
            try:
                async with self._connections:
                    posted = time.monotonic()
                    async with self.session.post(url, data=params, headers=headers) as response:
                        await response.read()
                        status = response.status
            except (aiohttp.ClientError, TimeoutError) as error:
                self.answers[type(error).__name__] += 1
                self.failed_at.append(time.monotonic())
            else:
                self.answers[status] += 1
                if status == 200:
                    self.took.append(time.monotonic() - posted)
                    self.acknowledged.append(sid)
                    return
                if status < 500:
                    raise AssertionError(f"{sid} answered {status}")
            backend = (backend + 1) % len(self.backends)
        raise AssertionError(f"{sid}: no process took it")

    async def resident(self, number: int) -> None:
        """A resident's messages, each once the previous one is acknowledged."""
        for n in range(MESSAGES):
            body = "hi" if n == 0 else f"My answer {n} is more street lights"
            await self.deliver(resident(number), f"SM{number:016d}{n:016d}", body)


async def test_webhooks_round_robin_over_three_lose_nothing_when_one_is_killed(
    tmp_path: Path, twilio: tuple[SharedTwilio, list[str]]
) -> None:
    fake = twilio[0]
    env = {
        "PARLEY_FLOWS": str(twenty_questions(tmp_path)),
        "PARLEY_START_FLOW": "twenty",
        "PARLEY_TWILIO_RATE": "2000",  # replies are not what is measured here
    }
    total = RESIDENTS * MESSAGES
    async with fleet(tmp_path, twilio, env=env) as crew:
        victim = crew.parleys[1]
        fake.status_to = crew.backends()  # its status reports, through the balancer
        timeout = aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT)
        connector = aiohttp.TCPConnector(limit=0)  # the balancer's own limit: CONNECTIONS
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            balancer = Balancer(crew.backends(), session)
            started = time.monotonic()
            traffic = asyncio.gather(*(balancer.resident(n) for n in range(RESIDENTS)))
            await until(
                lambda: len(balancer.acknowledged) >= total // 2 or traffic.done(),
                within=120,
                what="half the webhooks",
            )
            victim.kill()
            killed_at = time.monotonic()
            sent_by_victim = fake.sent_by()[victim.number]
            await asyncio.wait_for(traffic, timeout=120)
            answered = time.monotonic()
        # Everything acted on and sent, by the two left (the victim's claims expire).
        try:
            await until(
                lambda: crew.value(
                    "SELECT count(*) = 0 FROM outbox WHERE status = 'queued'"
                    " AND EXISTS (SELECT 1 FROM outbox)"
                ),
                within=CLAIM + 150,  # the claims' lapse, and room on a busy machine
                what="the outbox to be sent",
            )
        except AssertionError:
            left = await crew.rows(
                "SELECT id, contact_id, attempts, next_attempt_at, claimed_by, claimed_until,"
                " error FROM outbox WHERE status = 'queued' ORDER BY id LIMIT 10"
            )
            lanes = await crew.rows("SELECT * FROM lanes")
            print(f"still queued (first 10): {left}; lanes: {lanes}; now {datetime.now(UTC)}")
            raise
        finished = time.monotonic()
        inbound = await crew.rows("SELECT provider_id, handled_at, error FROM inbound")
        outbox = await crew.rows("SELECT id, text, status FROM outbox")

    copies = Counter((m["To"], m["Body"]) for m in fake.messages)
    twice = {key for key, count in copies.items() if count > 1}
    failed_at = balancer.failed_at or [killed_at]
    print(
        f"\n{total} webhooks answered in {answered - started:.1f} s"
        f" ({total / (answered - started):,.0f}/s over three processes, one killed"
        f" {killed_at - started:.1f} s in); all replies sent {finished - killed_at:.1f} s"
        f" after the kill (claims last {CLAIM:.0f} s); answers {dict(balancer.answers)};"
        f" sent per process {dict(fake.sent_by())}; {len(twice)} replies sent twice;"
        f" answer time p50 {statistics.median(balancer.took) * 1000:.0f} ms, max"
        f" {max(balancer.took) * 1000:.0f} ms; unanswered from"
        f" {min(failed_at) - killed_at:+.1f} s to"
        f" {max(failed_at) - killed_at:+.1f} s after the kill"
    )
    # The kill bit: some webhooks were refused or cut off and went to another process.
    errors = {key: count for key, count in balancer.answers.items() if key != 200}
    assert errors, "no webhook went to the killed process"
    assert sent_by_victim > 0
    # Every acknowledged webhook is one row in inbound, handled: none lost, none twice.
    assert len(balancer.acknowledged) == len(set(balancer.acknowledged)) == total
    assert Counter(row["provider_id"] for row in inbound) == Counter(balancer.acknowledged)
    assert all(row["handled_at"] is not None and row["error"] is None for row in inbound)
    # One reply per message, each sent.
    assert len(outbox) == total
    assert {row["status"] for row in outbox} == {"sent"}
    # Each resident's replies arrived in order: the questions, one to twenty.
    to: dict[str, list[str]] = {}
    for message in fake.messages:
        to.setdefault(message["To"], []).append(message["Body"])
    expected = [question(n) for n in range(1, MESSAGES + 1)]
    for number in range(RESIDENTS):
        got = to[resident(number)]
        assert [body for body, _ in itertools.groupby(got)] == expected, resident(number)
    # No reply went twice, not even one the killed process had in flight at the kill:
    # Twilio's status report for it (its URL names the outbox row) reached a process
    # still running, which marked it sent before the dead one's claim lapsed.
    assert not twice, f"sent twice: {sorted(twice)[:5]}"


# -- 2. one broadcast, three senders ---------------------------------------------------


def _recipients(tx: Tx) -> None:
    """10,000 residents who joined earlier (consent on record)."""
    now = datetime.now(UTC) - timedelta(days=1)
    for number in range(BROADCAST):
        contacts.touch(tx, "sms", resident(number), "en", now)


def busiest_second(times: list[float], seconds: float = 1.0) -> int:
    """The most messages accepted within any window of ``seconds`` (one ending at each)."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


async def _parley_command(crew: Fleet, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env={
            **os.environ,
            "PARLEY_DATABASE": crew.database.url,
            "PARLEY_CONFIG": str(crew.folder / "parley.toml"),
            "PARLEY_LANGUAGES": "en",
            "PARLEY_QUIET_HOURS": "off",
        },
        cwd=crew.folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, output.decode()
    return output.decode()


async def test_a_broadcast_is_sent_once_by_all_three_at_the_deployments_pace(
    tmp_path: Path, twilio: tuple[SharedTwilio, list[str]]
) -> None:
    fake = twilio[0]
    async with fleet(
        tmp_path, twilio, seed=_recipients, env={"PARLEY_TWILIO_RATE": str(RATE)}
    ) as crew:
        text = "The panel meets on Tuesday at 6pm in the library. Reply STOP to opt out."
        await _parley_command(crew, "broadcast", "--text", f"en={text}", "--yes")
        await until(
            lambda: len(fake.messages) >= BROADCAST,
            within=BROADCAST / RATE * 2 + 30,
            what="the broadcast to reach everyone",
        )
        await until(
            lambda: crew.value("SELECT count(*) = 0 FROM outbox WHERE status = 'queued'"),
            within=30,
            what="every send to be recorded",
        )
        statuses = await crew.rows("SELECT status, count(*) AS n FROM outbox GROUP BY status")

    assert {row["status"]: row["n"] for row in statuses} == {"sent": BROADCAST}
    # Each resident got it once.
    per_resident = Counter(m["To"] for m in fake.messages)
    assert len(fake.messages) == BROADCAST
    assert set(per_resident.values()) == {1}
    assert {m["Body"] for m in fake.messages} == {text}
    # All three sent.
    by_process = fake.sent_by()
    assert set(by_process) == set(range(PROCESSES)), by_process
    # The deployment's pace, at the provider: at most RATE calls in any one-second
    # window, +2 % (slots are 1/RATE apart in the lanes table; a call reaches the
    # provider a few milliseconds after its slot, so one held up that long and the ones
    # after it on time can share a window: 4 calls at 200/s are 20 ms of such slack),
    # plus the calls in flight at once: when the provider itself stalls (this fake
    # shares the 2-core machine with the three processes; stalls of 24-33 ms were
    # logged, then 4-7 calls accepted within half a millisecond, each sent on its
    # slot), what the processes have in flight lands together, at most CONCURRENCY
    # each. Over any five seconds the excess must not be there at all. A process
    # keeping its own pace, or slots booked twice, would show as hundreds over.
    busiest = busiest_second(fake.accepted_at)
    sustained = busiest_second(fake.accepted_at, seconds=5.0)
    assert sustained <= 5 * RATE * (1 + RATE_TOLERANCE), sustained
    took = max(fake.accepted_at) - min(fake.accepted_at)
    print(
        f"\n{BROADCAST} sent in {took:.1f} s ({BROADCAST / took:.1f}/s against {RATE}/s),"
        f" busiest second {busiest}; per process {dict(by_process)}"
    )
    assert busiest <= RATE * (1 + RATE_TOLERANCE) + PROCESSES * CONCURRENCY, busiest


# -- 3. a poll closes when its leader is killed ----------------------------------------


def _poll_closing_at(closes_at: datetime) -> Callable[[Tx], None]:
    """An open poll closing at ``closes_at`` (its result sent to voters), and its voters."""

    def work(tx: Tx) -> None:
        now = datetime.now(UTC)
        options = (
            polls.PollOption("monday", {"en": "Monday"}),
            polls.PollOption("friday", {"en": "Friday"}),
        )
        question = {"en": "Which evening should the youth club open?"}
        poll = polls.NewPoll(question, options, "en", closes_at=closes_at)
        poll_id = polls.create(tx, poll, now)
        polls.open_poll(tx, poll_id)
        jobs.add(tx, jobs.CLOSE, poll_id, closes_at)
        for number in range(VOTERS):
            contact = contacts.touch(tx, "sms", resident(number), "en", now)
            choice = "monday" if number % 3 else "friday"
            polls.vote(tx, poll_id, contact.id, choice, "en", "sms", now)

    return work


async def test_a_poll_closes_once_on_time_when_the_leader_is_killed_just_before(
    tmp_path: Path, twilio: tuple[SharedTwilio, list[str]]
) -> None:
    fake = twilio[0]
    # Far enough ahead for the three to start, each arming the closing job as it does.
    closes_at = datetime.now(UTC) + timedelta(seconds=45)
    closing = closes_at.timestamp()
    env = {"PARLEY_TWILIO_RATE": "100"}
    async with fleet(tmp_path, twilio, seed=_poll_closing_at(closes_at), env=env) as crew:
        up = time.time()
        await until(crew.leader, within=30, what="a leader")
        led = time.time() - up
        assert time.time() < closing - 5, "the processes took too long to start"
        await asyncio.sleep(closing - 3 - time.time())  # shortly before the close
        leading = await crew.leader()
        [victim] = [parley for parley in crew.parleys if parley.name == leading]
        victim.kill()
        killed_at = time.time()
        await until(
            lambda: len(fake.messages) >= VOTERS,
            within=closing + 30 - time.time(),
            what="the result to reach every voter",
        )
        results_at = time.time()
        await until(
            lambda: crew.value("SELECT count(*) = 0 FROM outbox WHERE status = 'queued'"),
            within=30,
            what="every send to be recorded",
        )

        async def taken_over() -> bool:
            return (await crew.leader()) not in (None, victim.name)

        # Another leads within 30 s of the kill (each tries at every re-arm, 10 s).
        await until(taken_over, within=killed_at + 30 - time.time(), what="another leader")
        took_over = time.time() - killed_at
        new_leader = await crew.leader()
        [poll] = await crew.rows("SELECT status, closed_at FROM polls")
        closing_jobs = await crew.rows("SELECT done_at FROM jobs WHERE kind = 'close'")
        results = await crew.rows("SELECT id, status FROM broadcasts WHERE kind = 'results'")
        outbox = await crew.rows("SELECT status FROM outbox")

    closed_at = datetime.fromisoformat(poll["closed_at"])
    print(
        f"\nthe first leader {led:.1f} s after the three were up;"
        f" leader {victim.name} killed {closing - killed_at:.1f} s before the close;"
        f" closed {(closed_at - closes_at).total_seconds():.1f} s after its time, every"
        f" voter's result at the provider {results_at - closing:.1f} s after it;"
        f" {new_leader} took the lead {took_over:.1f} s after the kill"
    )
    # Closed once, within 30 s of its time, and its result sent once to each voter.
    assert poll["status"] == "closed"
    assert closes_at <= closed_at <= closes_at + timedelta(seconds=30)
    [closing_job] = closing_jobs
    assert closing_job["done_at"] is not None
    assert len(results) == 1
    assert [row["status"] for row in outbox] == ["sent"] * VOTERS
    per_voter = Counter(m["To"] for m in fake.messages)
    assert per_voter == Counter(resident(number) for number in range(VOTERS))
    assert len({m["Body"] for m in fake.messages}) == 1
    assert victim.number not in fake.sent_by()
