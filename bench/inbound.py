"""Inbound throughput and latency: signed Twilio webhooks over loopback, through the
whole path (signature check, de-duplication, storing, the engine, the reply written to
the outbox), against a bare Starlette app doing one SQLite insert per request.

    .venv/bin/python bench/inbound.py [--residents 400] [--no-busy]

Parley runs as ``parley run`` in its own process, from compiled bytecode as installed
(see :func:`bench.run_from_bytecode`), on a fresh SQLite file, with Twilio
configured and its sends going to a small fake API in this process. Each resident sends
the 11 messages of the welcome and the priorities survey, one after another (the next
once the previous is answered); many residents at once.

- Throughput: every message sent as fast as the service takes them; the clock stops
  when the last one has been *acted on* (its reply is in the outbox), not when the
  webhooks were answered. Measured once Parley has sent its first reply (a few
  residents' first messages before), so that what a process loads once is not in it.
  Parley's CPU time per message (every thread's) is printed beside it: on a machine
  shared with other work it is steadier than the rate.
- Latency: webhooks offered at a steady 200 per second to a fresh Parley (open loop,
  timed from when each was due, so a stall cannot hide); p50/p99 of the time to the
  TwiML answer, once quiet and once with one core busy (a process spinning on it
  meanwhile, as another program on the server would).
- Baseline: the same load against a bare Starlette app (same uvicorn, same form
  parsing) that inserts each message into SQLite and answers, measured in the same run,
  with its CPU time per request. Parley and the bare app take turns (``--rounds``, new
  residents each round) and the best round of each is compared: on a machine shared
  with other work, the least disturbed.
- Floor of Parley's own path: the same conversations handed to ``service.receive``
  in this process, no HTTP at all (no server, form, signature or socket), on a fresh
  SQLite file: what storing a message, the engine's turn and the reply in the outbox
  cost by themselves, CPU time a message (this process's, every thread's), beside the
  bare app's whole request.
- Calibration: bench/engine.py's figure (engine steps per second on one core), measured
  for two seconds first, to scale the figures to another machine.

Targets (issue 3): at least 1,000 messages/s; p99 at most 50 ms at 200 messages/s.
Issue 22: Parley at least half the bare app's throughput in the same run; p99 at most
50 ms at 200 messages/s with one core busy (on a machine at 35,400 engine steps/s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from bench import run_from_bytecode
from bench.databases import inbound_counts, setting
from bot.store.location import Location

TARGET_RATE = 1_000
TARGET_P99_MS = 50.0
TARGET_SHARE = 0.5  # of the bare app's throughput, in the same run
OFFERED = 200
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-token"
PUBLIC_URL = "https://parley.example.org"
CONVERSATION = ["hi", "1", "yes", "1", "1", "2", "1 3", "4", "12", "1", "More lights"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sender(resident: int) -> str:
    return f"+44771{resident:07d}"


def _requests(
    residents: int, first: int, conversation: list[str] = CONVERSATION
) -> list[list[tuple[bytes, str]]]:
    """Per resident, the signed form bodies of their conversation, in order."""
    validator = RequestValidator(AUTH_TOKEN)
    url = PUBLIC_URL + "/twilio/sms"
    out = []
    for r in range(first, first + residents):
        convo = []
        for n, body in enumerate(conversation):
            params = {
                "MessageSid": f"SM{r:016d}{n:016d}",
                "AccountSid": ACCOUNT_SID,
                "From": sender(r),
                "To": "+447700900999",
                "Body": body,
            }
            encoded = aiohttp.FormData(params)()._value  # the exact bytes sent
            convo.append((encoded, validator.compute_signature(url, params)))
        out.append(convo)
    return out


async def _post(session: aiohttp.ClientSession, base: str, body: bytes, signature: str) -> None:
    headers = {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    async with session.post(f"{base}/twilio/sms", data=body, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"webhook answered {response.status}")


async def closed_loop(
    base: str | Sequence[str], conversations: list[list[tuple[bytes, str]]]
) -> float:
    """Send everything as fast as it is taken; returns the seconds it took. Given several
    bases (processes behind one proxy), each webhook goes to the next, round robin, as a
    proxy spreads requests without regard to who sent them."""
    bases = [base] if isinstance(base, str) else list(base)
    turn = itertools.cycle(bases)
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue: asyncio.Queue[list[tuple[bytes, str]]] = asyncio.Queue()
        for convo in conversations:
            queue.put_nowait(convo)

        async def worker() -> None:
            while not queue.empty():
                for body, signature in queue.get_nowait():
                    await _post(session, next(turn), body, signature)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(64)))
        return time.perf_counter() - started


async def open_loop(base: str, conversations: list[list[tuple[bytes, str]]]) -> list[float]:
    """Offer webhooks at a steady OFFERED per second; latencies in ms from when each was due.

    Messages of one resident keep their order: each resident's next message is due
    1/OFFERED s after another resident's, round robin, so a resident's messages are
    seconds apart, as with real people."""
    order = [c[n] for n in range(len(CONVERSATION)) for c in conversations]
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter() + 0.2

        async def one(i: int, body: bytes, signature: str) -> None:
            due = start + i / OFFERED
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await _post(session, base, body, signature)
            latencies.append((time.perf_counter() - due) * 1000)

        await asyncio.gather(*(one(i, b, s) for i, (b, s) in enumerate(order)))
    return latencies


def _wait_acted_on(database: Location, expected: int, within: float = 120.0) -> float:
    """Seconds until every stored message has been acted on."""
    deadline = time.perf_counter() + within
    with inbound_counts(database) as counts:
        while time.perf_counter() < deadline:
            stored, pending = counts()
            if stored >= expected and pending == 0:
                return time.perf_counter()
            time.sleep(0.05)
    raise RuntimeError("Parley did not act on every message in time")


# -- the servers -------------------------------------------------------------------------


def bare_app(database: Path) -> Starlette:
    """One SQLite insert per request: the floor any webhook service pays."""
    import aiosqlite

    connection: list[aiosqlite.Connection] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = await aiosqlite.connect(database, isolation_level=None)
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute(
            "CREATE TABLE inbound (id INTEGER PRIMARY KEY, sid TEXT UNIQUE, sender TEXT, body TEXT)"
        )
        connection.append(db)
        yield
        await db.close()

    async def sms(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        await connection[0].execute(
            "INSERT INTO inbound (sid, sender, body) VALUES (?, ?, ?)",
            (form.get("MessageSid"), form.get("From"), form.get("Body")),
        )
        return Response("<Response/>", media_type="application/xml")

    return Starlette(routes=[Route("/twilio/sms", sms, methods=["POST"])], lifespan=lifespan)


ACCEPTED: list[int] = []
"""The messages the fake Twilio API accepted, in this process."""

WARM_UP = 8  # residents whose first message starts a Parley before it is measured


def fake_twilio_api() -> Starlette:
    count = iter(range(1, 10**9))

    async def create(request: Request) -> Response:
        await request.body()
        ACCEPTED.append(1)
        return JSONResponse({"sid": f"SM{next(count):032x}", "status": "queued"}, 201)

    path = "/2010-04-01/Accounts/{sid}/Messages.json"
    return Starlette(routes=[Route(path, create, methods=["POST"])])


def _serve_bare(port: int, database: Path) -> None:
    uvicorn.run(bare_app(database), host="127.0.0.1", port=port, log_level="warning")


class _Process:
    def __init__(self, args: list[str], env: dict[str, str], port: int) -> None:
        self.process = subprocess.Popen(args, env={**os.environ, **env})
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                if time.time() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"{args} did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _parley(folder: Path, api: str, database: Location | None = None) -> tuple[_Process, Location]:
    """``parley run`` on ``database`` (by default a new SQLite file in ``folder``)."""
    port = _free_port()
    database = database if database is not None else folder / "parley.db"
    (folder / "parley.toml").write_text("[parley]\n", encoding="utf-8")
    env = {
        "PARLEY_CONFIG": str(folder / "parley.toml"),
        "PARLEY_DATABASE": setting(database),
        "PARLEY_PORT": str(port),
        "PARLEY_PUBLIC_URL": PUBLIC_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": "+447700900999",
        "PARLEY_TWILIO_API_URL": api,
    }
    return _Process([sys.executable, "-m", "bot", "run"], env, port), database


def _bare(folder: Path) -> tuple[_Process, Path]:
    port = _free_port()
    database = folder / "bare.db"
    code = (
        "from pathlib import Path; from bench.inbound import _serve_bare;"
        f" _serve_bare({port}, Path({str(database)!r}))"
    )
    root = str(Path(__file__).resolve().parent.parent)
    return _Process([sys.executable, "-c", code], {"PYTHONPATH": root}, port), database


@contextlib.contextmanager
def _fake_api() -> Iterator[str]:
    """The Twilio API Parley's replies go to, in a thread of this process (Parley sends
    at its default 1 segment/s, so it costs this process next to nothing)."""
    port = _free_port()
    config = uvicorn.Config(fake_twilio_api(), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far, every thread's (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def _one_core_busy() -> Iterator[None]:
    """A process spinning on one core meanwhile (on the first core this process may use)."""
    core = min(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    code = "import os, sys\nif sys.argv[1] != '-': os.sched_setaffinity(0, {int(sys.argv[1])})\n"
    code += "while True: pass"
    spinner = subprocess.Popen([sys.executable, "-c", code, "-" if core is None else str(core)])
    try:
        time.sleep(0.2)
        yield
    finally:
        spinner.kill()
        spinner.wait()


def _warm_up(base: str) -> int:
    """A few residents' first message, and then until Parley's first reply has reached
    the fake API: the Twilio SDK's modules Parley loads at its first send (a third of a
    second of CPU, once a process) are not counted in a throughput of a few seconds.
    Returns the messages sent."""
    before = len(ACCEPTED)
    asyncio.run(closed_loop(base, _requests(WARM_UP, 5 * 10**6, CONVERSATION[:1])))
    deadline = time.perf_counter() + 30
    while len(ACCEPTED) == before:
        if time.perf_counter() > deadline:
            raise RuntimeError("Parley sent no reply to the fake Twilio API")
        time.sleep(0.02)
    return WARM_UP


def _percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=1000)[int(share * 1000) - 1]


@dataclass
class Throughput:
    """One closed-loop run: messages, seconds until the last was acted on, the
    server's CPU seconds meanwhile, seconds until the last webhook was answered."""

    messages: int
    seconds: float
    cpu: float
    answered: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.messages


def _parley_round(parley: _Process, database: Location, residents: int, first: int) -> Throughput:
    total = residents * len(CONVERSATION)
    with inbound_counts(database) as counts:
        already, _ = counts()
    cpu = _cpu_seconds(parley.process.pid)
    started = time.perf_counter()
    answered = asyncio.run(closed_loop(parley.base, _requests(residents, first)))
    finished = _wait_acted_on(database, already + total)
    cpu = _cpu_seconds(parley.process.pid) - cpu
    return Throughput(total, finished - started, cpu, answered)


def _bare_round(bare: _Process, residents: int, first: int) -> Throughput:
    cpu = _cpu_seconds(bare.process.pid)
    elapsed = asyncio.run(closed_loop(bare.base, _requests(residents, first)))
    cpu = _cpu_seconds(bare.process.pid) - cpu
    return Throughput(residents * len(CONVERSATION), elapsed, cpu, elapsed)


async def _service_alone(folder: Path, residents: int) -> float:
    """Parley's CPU ms a message with no HTTP: each resident's conversation handed to
    ``service.receive`` directly, 64 residents at a time, as the load generator does."""
    from bench.admin import open_app, settings_for
    from bot.channels.base import Inbound
    from bot.service import utc_now

    (folder / "parley.toml").write_text("[parley]\n", encoding="utf-8")
    app = await open_app(settings_for(folder / "parley.db", folder / "parley.toml"), utc_now)
    try:

        async def converse(resident: int) -> None:
            for n, text in enumerate(CONVERSATION):
                await app.service.receive(
                    Inbound("sms", sender(resident), text, f"SM{resident}-{n}")
                )

        await asyncio.gather(*(converse(r) for r in range(WARM_UP)))  # what loads once
        at_once = asyncio.Semaphore(64)

        async def limited(resident: int) -> None:
            async with at_once:
                await converse(resident)

        cpu = time.process_time()
        await asyncio.gather(*(limited(r) for r in range(WARM_UP, WARM_UP + residents)))
        cpu = time.process_time() - cpu
    finally:
        await app.close()
    return 1000 * cpu / (residents * len(CONVERSATION))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=400, help="for the throughput run")
    parser.add_argument(
        "--rounds", type=int, default=2, help="throughput runs of each, in turns (the best kept)"
    )
    parser.add_argument(
        "--no-busy", action="store_true", help="skip the latency run with one core busy"
    )
    args = parser.parse_args()
    from bench import engine  # the flows and catalogs: not for the bare app's process

    steps, seconds = engine.run(2.0)
    with tempfile.TemporaryDirectory() as tmp, _fake_api() as api:
        folder = Path(tmp)
        run_from_bytecode(folder)

        # Parley and the bare app in turns, each round new residents, the best of each
        # kept: on a machine shared with other work, the least disturbed.
        (folder / "a").mkdir()
        (folder / "c").mkdir()
        parley, database = _parley(folder / "a", api)
        ours: list[Throughput] = []
        theirs: list[Throughput] = []
        try:
            _warm_up(parley.base)
            bare, _ = _bare(folder / "c")
            try:
                for round_ in range(args.rounds):
                    first = round_ * 10**5
                    ours.append(_parley_round(parley, database, args.residents, first))
                    theirs.append(_bare_round(bare, args.residents, first))
            finally:
                bare.stop()
        finally:
            parley.stop()
        best = max(ours, key=lambda run: run.rate)
        bare_best = max(theirs, key=lambda run: run.rate)

        (folder / "s").mkdir()
        alone = asyncio.run(_service_alone(folder / "s", args.residents))

        (folder / "b").mkdir()
        parley, database = _parley(folder / "b", api)
        busy: list[float] = []
        try:
            quiet = asyncio.run(open_loop(parley.base, _requests(200, 10**6)))
            _wait_acted_on(database, len(quiet))
            if not args.no_busy:
                with _one_core_busy():
                    busy = asyncio.run(open_loop(parley.base, _requests(200, 2 * 10**6)))
                    _wait_acted_on(database, len(quiet) + len(busy))
        finally:
            parley.stop()

    print(f"engine calibration: {steps / seconds:,.0f} steps/s (bench/engine.py, 2 s)")
    verdict = "meets" if best.rate >= TARGET_RATE else "MISSES"
    rates = ", ".join(f"{run.rate:,.0f}" for run in ours)
    print(
        f"throughput: {best.messages} messages acted on in {best.seconds:.2f} s:"
        f" {best.rate:,.0f} messages/s ({verdict} the {TARGET_RATE:,} target; rounds {rates});"
        f" webhooks all answered after {best.answered:.2f} s;"
        f" Parley's CPU {best.cpu_ms:.3f} ms a message"
    )
    for name, latencies in (("quiet", quiet), ("one core busy", busy)):
        if not latencies:
            continue
        p50, p99 = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
        verdict = "meets" if p99 <= TARGET_P99_MS else "MISSES"
        print(
            f"latency at {OFFERED}/s offered, {name} ({len(latencies)} webhooks):"
            f" p50 {p50:.1f} ms, p99 {p99:.1f} ms ({verdict} the {TARGET_P99_MS:.0f} ms target)"
        )
    share = best.rate / bare_best.rate
    verdict = "meets" if share >= TARGET_SHARE else "MISSES"
    rates = ", ".join(f"{run.rate:,.0f}" for run in theirs)
    print(
        f"bare Starlette + one SQLite insert: {bare_best.rate:,.0f} requests/s (rounds {rates}),"
        f" CPU {bare_best.cpu_ms:.3f} ms a request;"
        f" Parley's full path runs at {share:.0%} of it ({verdict} the {TARGET_SHARE:.0%} target;"
        f" {best.cpu_ms / bare_best.cpu_ms:.1f} times its CPU a message)"
    )
    print(
        f"Parley's service alone, no HTTP (service.receive in process): CPU {alone:.3f} ms"
        f" a message, {alone / bare_best.cpu_ms:.1f} times the bare app's whole request"
    )


if __name__ == "__main__":
    main()
