"""Exporting survey responses: 1,000,000 recorded answers of the ``priorities`` survey as
CSV, by ``parley export`` in a process of its own, from a real SQLite file.

    .venv/bin/python -m bench.export [--answers 1000000] [--keep FILE] [--postgres SERVER]

The database is built first, through the real migrations: residents (one for every ~16
answers) on SMS and Telegram in the 16 shipped languages, each with a welcome run, and
runs of the survey whose answers the engine itself recorded from scripted replies:
options by number or by word, several at once, numbers in other scripts' digits, free
text with commas, quotes, line breaks, Arabic and emoji (and phone numbers to hide),
questions skipped after three bad replies. Most runs are completed; others expired,
were stopped or are still under way, some without a single answer. Rows are written in
time order, so a run's answers lie among everyone else's, as in a live database (the
inbound messages themselves are not stored: no export reads them). ``--keep FILE``
builds the database there and keeps it; run again with the same file, the build is
skipped.

Then ``parley export responses --flow priorities -o FILE`` runs three times, each in a
new process (the command as an organiser runs it, start-up included): its wall time and
its peak memory (the child's maximum resident set size) are the figures. It runs from
compiled bytecode, as an installed Parley does (the image's ``uv sync`` compiles it), made
by one run more before them, not measured (which also brings the database into memory). The FLOIP
package (``--format floip``, a .zip) is made once, for information. With ``--postgres
SERVER``, the database is then copied into a fresh database on that PostgreSQL server
(``parley db copy``; bench/databases.py makes it and drops it afterwards) and the CSV
export measured there the same way, three runs, beside SQLite's (issue 21).

Beside Parley, in the same run: the floor, the same runs and answers read in the
export's order by one plain SELECT in this process and written with ``csv.writer`` as
they come (no pivot, no pseudonyms, no local times, no marks, no start-up): what reading
and writing them costs at the least; and bench/engine.py's figure (1 s, this process),
so a reader can scale the times to another machine.

Target (exports issue): 1,000,000 answers as CSV within 10 s, in at most 150 MB. Issue
22's: the same on a machine doing 35,400 engine steps a second, so the goal here is 10 s
scaled by this machine's engine figure.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import heapq
import itertools
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import engine, run_from_bytecode
from bench.databases import add_option, fresh_postgres, setting
from bot.content import load_content
from bot.engine import AnswerRecorded, Env, Flow, Reply, Session, Start, advance
from bot.engine.flow import (
    ChoiceQuestion,
    NumberQuestion,
    Question,
    ScaleQuestion,
    TextQuestion,
    YesNoQuestion,
)
from bot.settings import load_settings
from bot.store import Database
from bot.store.location import Location, Postgres
from bot.store.sql import Tx

TARGET_SECONDS = 10.0
TARGET_MB = 150.0
ISSUE_STEPS = 35_400  # bench/engine.py's figure on the machine issue 22 measured on
RUNS = 3
FLOW = "priorities"
START = datetime(2026, 9, 14, tzinfo=UTC)  # the clocks go back on 25 October: two offsets
DAYS = 75
EXPIRY = timedelta(days=3)
SCRIPTS = 200  # conversations the engine plays per language, drawn from for every run
BATCH = 50_000  # answers per transaction while building
ROOT = Path(__file__).resolve().parent.parent
BAD = "xyz?"  # a reply no question but a text one accepts
NOES = ("No", "no", "Nie", "Nu", "No thanks", "لا", "Ні", "نه", "Maya")
TEXTS = (
    "More street lights on Church Road, please",
    'The sign at the bus stop says "out of order", again',
    "Fix the lifts, the stairs, and the bins",
    "نحتاج إلى المزيد من الإضاءة في الشارع، من فضلكم",
    "Więcej ławek w parku, proszę",
    "Треба більше ліхтарів біля школи",
    "আমাদের এলাকায় আরও বাস দরকার",
    "🙏 thank you 👍",
    "Ok 👌",
    '=HYPERLINK("http://example.com","click")',
    "-",
    "+1 for the youth club",
    "0207 946 0000",
    "call me on 07700 900 123 after 6",
    "email me: jo.bloggs@example.org",
    "Line one\nline two, with a comma",
    "1-2",
    "the park near 12 Acacia Road is dirty",
    "Speed bumps on the high street; the cars are too fast",
    "It's fine, really. Just the rubbish collection (twice a month isn't enough)",
    "Il faut plus de places en crèche",
    "More activities for young people in the evenings and at weekends, not just sport"
    " but music, art and somewhere warm to sit. The old library would be perfect for"
    " it if the council would open it again.",
)
DIGITS = {  # some residents type their own script's digits
    "ar": "٠١٢٣٤٥٦٧٨٩",
    "fa": "۰۱۲۳۴۵۶۷۸۹",
    "ur": "۰۱۲۳۴۵۶۷۸۹",
    "ps": "۰۱۲۳۴۵۶۷۸۹",
    "bn": "০১২৩৪৫৬৭৮৯",
    "gu": "૦૧૨૩૪૫૬૭૮૯",
    "pa": "੦੧੨੩੪੫੬੭੮੯",
}
WARDS = ("North", "South", "Riverside", "Old Town", "Hillside")
_EXPORTED = re.compile(r"Export \d+: (\d+) rows")


# -- building the database ------------------------------------------------------------


@dataclass(frozen=True)
class Conversation:
    """A run of the survey as the engine played it: the answers it recorded (step,
    value as JSON, reply) and the session after each of them and at the end."""

    answers: list[tuple[str, str, str]]
    states: list[Session]
    final: Session


def _number(value: int, language: str, rng: random.Random) -> str:
    digits = DIGITS.get(language)
    if digits is None or rng.random() < 0.7:
        return str(value)
    return "".join(digits[int(d)] for d in str(value))


def _reply(question: Question, flow: Flow, language: str, rng: random.Random) -> str:
    """A reply a resident might send to ``question``: mostly valid, in many forms."""
    match question:
        case ChoiceQuestion(multiple=True):
            picked = sorted(rng.sample(range(len(question.options)), rng.choice((1, 1, 2, 3))))
            return rng.choice((" ", " ", ",", ", ")).join(str(n + 1) for n in picked)
        case ChoiceQuestion():
            n = min(int(rng.expovariate(0.6)), len(question.options) - 1)
            form = rng.random()
            if form < 0.8:
                return _number(n + 1, language, rng)
            if form < 0.9:
                return question.options[n].label.get(language, flow.language)
            return f" {n + 1}."
        case ScaleQuestion():
            return _number(rng.randint(question.low, question.high), language, rng)
        case NumberQuestion():
            return _number(min(int(rng.expovariate(1 / 12)), 99), language, rng)
        case YesNoQuestion():
            return rng.choice(("1", "2", "1", "yes", "no", "Yes"))
        case TextQuestion():
            return rng.choice(NOES) if rng.random() < 0.45 else rng.choice(TEXTS)
    raise AssertionError(f"no replies for {question}")


def _converse(flow: Flow, env: Env, language: str, rng: random.Random) -> Conversation:
    questions = {q.id: q for q in flow.questions()}
    turn = advance(flow, None, Start(language), START, env)
    answers: list[tuple[str, str, str]] = []
    states = [turn.session]
    skipping = None
    for _ in range(50):
        session = turn.session
        if session.ended:
            break
        step = session.step_id
        assert step is not None
        if skipping != step and session.tries == 0 and rng.random() < 0.02:
            skipping = step  # three bad replies, and the flow moves on without an answer
        question = questions[step]
        reply = BAD if skipping == step else _reply(question, flow, language, rng)
        turn = advance(flow, session, Reply(reply), START, env)
        for event in turn.events:
            if isinstance(event, AnswerRecorded):
                value = json.dumps(event.value, ensure_ascii=False)
                answers.append((event.step_id, value, event.raw))
                states.append(turn.session)
    assert turn.session.ended, "a scripted conversation did not finish"
    return Conversation(answers, states, turn.session)


@dataclass
class Run:
    """One planned run of the survey."""

    language: str
    conversation: Conversation
    status: str  # completed, open (active or expired), stopped, failed, interrupted
    cut: int  # how many of the conversation's answers it got
    contact: int = 0
    start: float = 0.0  # seconds after START


def _plan(
    answers: int, pools: dict[str, list[Conversation]], weights: Sequence[float], rng: random.Random
) -> list[Run]:
    """Runs until they hold exactly ``answers`` answers."""
    languages = list(pools)
    runs: list[Run] = []
    total = 0
    while total < answers:
        language = rng.choices(languages, weights)[0]
        conversation = rng.choice(pools[language])
        got = len(conversation.answers)
        most = max(got, 1)  # a cut-short run got fewer answers than it could
        r = rng.random()
        if r < 0.80:
            status, cut = "completed", got
        elif r < 0.93:  # cut short: expired, or still under way if recent
            status, cut = "open", 0 if rng.random() < 0.4 else rng.randrange(most)
        elif r < 0.97:
            status, cut = "stopped", rng.randrange(most)
        elif r < 0.98:
            status, cut = "failed", rng.randrange(most)
        else:
            status, cut = "interrupted", rng.randrange(most)
        if total + cut > answers:
            cut = answers - total
            status = "open" if status == "completed" else status
        runs.append(Run(language, conversation, status, cut))
        total += cut
    return runs


@dataclass
class Residents:
    """Who answered: contact ids are 1 to ``len(languages)``."""

    languages: list[str]  # by contact id - 1
    joined: list[float]  # seconds after START, by contact id - 1
    last: dict[int, float]  # contact id -> when their last run started
    opted_out: dict[int, float]  # contact id -> when they stopped a run

    @staticmethod
    def channel(n: int) -> str:
        return "telegram" if n % 3 == 0 else "sms"

    def row(self, n: int) -> tuple[object, ...]:
        fields = {"consent": "yes"}
        if n % 2:
            fields["ward"] = WARDS[n % len(WARDS)]
        if n % 7 == 0:
            fields["panel_interest"] = "yes" if n % 3 else "no"
        channel = self.channel(n)
        address = str(100_000_000 + n) if channel == "telegram" else f"+447{700_000_000 + n}"
        stopped = self.opted_out.get(n)
        return (
            n,
            channel,
            address,
            self.languages[n - 1],
            json.dumps(fields),
            _at(self.joined[n - 1]),
            _at(self.last.get(n, self.joined[n - 1]) + 600),
            _at(stopped + 30) if stopped is not None else None,
        )


def _residents(
    runs: list[Run], languages: Sequence[str], weights: Sequence[float], rng: random.Random
) -> Residents:
    """About one resident for every 16 answers (3 runs each, on average); gives each run
    its resident and its start, in a span of DAYS."""
    count = max(len(languages), sum(run.cut for run in runs) // 16)
    spoken = [*languages, *rng.choices(languages, weights, k=count - len(languages))]
    speakers: dict[str, list[int]] = {language: [] for language in languages}
    for n, language in enumerate(spoken, start=1):
        speakers[language].append(n)
    span = DAYS * 86400.0
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for run, start in zip(runs, sorted(rng.uniform(0, span) for _ in runs), strict=True):
        run.start, run.contact = start, rng.choice(speakers[run.language])
        first.setdefault(run.contact, start)
        last[run.contact] = start
    joined = [
        max(0.0, first[n] - rng.uniform(60, 3600)) if n in first else rng.uniform(0, span)
        for n in range(1, count + 1)
    ]
    stopped = {run.contact: run.start for run in runs if run.status == "stopped"}
    return Residents(spoken, joined, last, stopped)


def _at(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat()


def _gap(rng: random.Random) -> float:
    """Seconds between a question and its answer: mostly soon, now and then hours."""
    if rng.random() < 0.03:
        return rng.uniform(3600, 30 * 3600)
    return 3 + rng.expovariate(1 / 40)


@dataclass
class _Rows:
    """Rows for one transaction."""

    sessions: list[tuple[object, ...]] = field(default_factory=list)
    answers: list[tuple[object, ...]] = field(default_factory=list)


def _timeline(
    runs: list[Run], residents: Residents, languages: Sequence[str], rng: random.Random
) -> Iterator[_Rows]:
    """Every run (a welcome run for each resident too) and its answers, in batches, in
    time order: answers wait in a heap until the clock reaches them, so they go in as a
    live database gets them."""
    starts = sorted(
        [(joined, -n) for n, joined in enumerate(residents.joined, start=1)]
        + [(run.start, index) for index, run in enumerate(runs)]
    )
    pending: list[tuple[float, int, tuple[object, ...]]] = []
    order = itertools.count()
    rows = _Rows()
    active: set[int] = set()  # residents with a run under way: one each at most
    recent = DAYS * 86400.0 - EXPIRY.total_seconds()
    for session_id, (start, which) in enumerate(starts, start=1):
        while pending and pending[0][0] <= start:
            rows.answers.append(heapq.heappop(pending)[2])
        if len(rows.answers) >= BATCH:
            yield rows
            rows = _Rows()
        if which < 0:  # a welcome run: language, then consent
            contact, flow_id, status = -which, "welcome", "completed"
            language = residents.languages[contact - 1]
            recorded = [
                ("language", json.dumps(language), str(languages.index(language) + 1)),
                ("consent", '"yes"', rng.choice(("yes", "1"))),
            ]
            state = Session(flow_id, language, START, START, answers={"language": language,
                            "consent": "yes"}, ended=True)  # fmt: skip
        else:
            run = runs[which]
            contact, flow_id, status, language = run.contact, FLOW, run.status, run.language
            if status == "open":
                status = "active" if start > recent and contact not in active else "expired"
                if status == "active":
                    active.add(contact)
            recorded = run.conversation.answers[: run.cut]
            whole = run.cut == len(run.conversation.answers) and status != "active"
            state = run.conversation.final if whole else run.conversation.states[run.cut]
        moment = updated = start
        for step_id, value, raw in recorded:
            moment += _gap(rng)
            updated = moment
            answer = (session_id, contact, flow_id, step_id, value, raw, language,
                      residents.channel(contact), _at(moment))  # fmt: skip
            heapq.heappush(pending, (moment, next(order), answer))
        ended = {
            "completed": updated + 1,
            "failed": updated + 1,
            "stopped": updated + rng.uniform(60, 86400),
            "expired": updated + EXPIRY.total_seconds(),
        }.get(status)
        saved = state.evolve(
            started_at=START + timedelta(seconds=start),
            updated_at=START + timedelta(seconds=updated),
        )
        rows.sessions.append(
            (session_id, contact, flow_id, status, saved.to_json(), _at(start), _at(updated),
             _at(ended) if ended is not None else None)
        )  # fmt: skip
    rows.answers.extend(heapq.heappop(pending)[2] for _ in range(len(pending)))
    yield rows


def _insert(tx: Tx, rows: _Rows) -> None:
    tx.executemany(
        "INSERT INTO sessions (id, contact_id, flow_id, status, state, started_at, updated_at,"
        " ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows.sessions,
    )
    tx.executemany(
        "INSERT INTO answers (session_id, contact_id, flow_id, step_id, value, raw, language,"
        " channel, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows.answers,
    )


async def _flush(database: Database, rows: _Rows) -> None:
    await database.run(lambda tx: _insert(tx, rows))


async def build(path: Path, config: Path, answers: int, seed: int = 7) -> None:
    """A database at ``path`` holding ``answers`` answers to the survey."""
    rng = random.Random(seed)
    settings = load_settings({"PARLEY_DATABASE": str(path)}, config_file=config)
    flows, env = load_content(settings)
    languages = settings.languages
    pools = {
        language: [
            _converse(flows[FLOW], env, language, random.Random(f"{language}{n}"))
            for n in range(SCRIPTS)
        ]
        for language in languages
    }
    weights = [8.0 if language == "en" else 1.0 for language in languages]
    runs = _plan(answers, pools, weights, rng)
    residents = _residents(runs, languages, weights, rng)
    database = await Database.open(path)
    try:
        contacts = [residents.row(n) for n in range(1, len(residents.languages) + 1)]
        await database.run(
            lambda tx: tx.executemany(
                "INSERT INTO contacts (id, channel, address, language, fields, created_at,"
                " last_seen_at, opted_out_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                contacts,
            )
        )
        for rows in _timeline(runs, residents, languages, rng):
            await _flush(database, rows)
    finally:
        await database.close()


def recorded(path: Path) -> tuple[int, int]:
    """Answers and runs of the survey in the database at ``path``."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        (answers,) = connection.execute(
            "SELECT COUNT(*) FROM answers WHERE flow_id = ?", (FLOW,)
        ).fetchone()
        (runs,) = connection.execute(
            "SELECT COUNT(*) FROM sessions WHERE flow_id = ?", (FLOW,)
        ).fetchone()
    return int(answers), int(runs)


# -- measuring ------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    seconds: float  # wall time
    cpu: float  # of which on a processor (user and system): less swayed by other load
    peak_mb: float
    rows: int


# Starts the command and waits for it. Run from a small process of its own: a process's
# peak memory on Linux includes that of the process it was started from (until exec), so
# started from this one, with its plans and pools in memory, it would count those too.
_TIMED = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
cpu = usage.ru_utime + usage.ru_stime
print(time.perf_counter() - started, cpu, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def parley(folder: Path, database: Location, *arguments: str) -> Measured:
    """Run ``parley ARGUMENTS`` in a new process; its wall time and peak memory."""
    env = {
        **os.environ,
        "PARLEY_CONFIG": str(folder / "parley.toml"),
        "PARLEY_DATABASE": setting(database),
    }
    command = [sys.executable, "-c", _TIMED, sys.executable, "-m", "bot", *arguments]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    seconds, cpu, peak_kb, status = done.stdout.split()
    found = _EXPORTED.search(done.stderr)
    if status != "0" or found is None:
        raise RuntimeError(f"parley {' '.join(arguments)} failed ({status}):\n{done.stderr}")
    return Measured(float(seconds), float(cpu), int(peak_kb) / 1024, int(found.group(1)))


@contextmanager
def _database(keep: Path | None) -> Iterator[tuple[Path, Path]]:
    """A working folder, and where the database lives (kept, or in the folder)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "parley.toml").write_text("[parley]\n", encoding="utf-8")
        yield folder, keep.resolve() if keep is not None else folder / "parley.db"


def floor(path: Path, output: Path) -> Measured:
    """The same runs and answers as the export, in its order, read by one plain SELECT
    (a run without answers as one row) and written with ``csv.writer`` as they come."""
    started, cpu = time.perf_counter(), time.process_time()
    with (
        closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection,
        output.open("w", encoding="utf-8", newline="") as out,
    ):
        rows = connection.execute(
            "SELECT s.id, s.contact_id, s.status, s.started_at, s.ended_at, a.step_id,"
            " a.value, a.raw, a.language FROM sessions s"
            " LEFT JOIN answers a ON a.session_id = s.id WHERE s.flow_id = ?"
            " ORDER BY s.started_at, s.id, a.id",
            (FLOW,),
        )
        csv.writer(out).writerows(rows)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Measured(seconds, cpu, 0.0, 0)  # its memory is this process's: not shown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument(
        "--keep", type=Path, metavar="DB", help="build the database here and keep it; reuse it"
    )
    add_option(parser)
    args = parser.parse_args()
    with _database(args.keep) as (folder, database):
        run_from_bytecode(folder)  # the commands run as installed
        built = None
        if not database.exists():
            started = time.perf_counter()
            asyncio.run(build(database, folder / "parley.toml", args.answers))
            built = time.perf_counter() - started
        answers, runs = recorded(database)
        if answers != args.answers:
            print(f"{database} holds {answers:,} answers, not {args.answers:,}: delete it first")
            return 2
        size = database.stat().st_size / 1e6
        how = f"built in {built:.1f} s" if built is not None else "reused"
        print(f"database: {answers:,} answers in {runs:,} runs, {size:,.0f} MB, {how}")

        steps, elapsed = engine.run(1.0)
        rate = steps / elapsed
        goal = TARGET_SECONDS * ISSUE_STEPS / rate
        output = folder / "responses.csv"
        csv_runs = _csv_runs(folder, database, output)
        written = output.stat().st_size / 1e6
        floors = [floor(database, folder / "floor.csv") for _ in range(RUNS)]
        package = folder / "responses.zip"
        floip = parley(folder, database, "export", "responses", "--flow", FLOW, "--format",
                       "floip", "-o", str(package))  # fmt: skip
        packed = package.stat().st_size / 1e6
        on_postgres: list[Measured] = []
        if args.postgres:
            with fresh_postgres(args.postgres) as copy:
                copied = _copy(folder, database, copy)
                print(f"database copied to PostgreSQL in {copied:.1f} s (parley db copy)")
                on_postgres = _csv_runs(folder, copy, output)

    print(
        f"engine: {rate:,.0f} steps/s (bench/engine.py, 1 s, this process): issue 22's"
        f" {TARGET_SECONDS:g} s at {ISSUE_STEPS:,} steps/s is {goal:.2f} s here"
    )
    print(f"{'':<22} {'best':>7} {'median':>7} {'cpu':>7} {'peak':>7} {'rows':>10} {'file':>8}")
    met = _report("CSV, 3 runs", csv_runs, runs, written)
    low = min(run.seconds for run in floors)
    low_cpu = statistics.median(run.cpu for run in floors)
    print(
        f"{'floor, 3 runs':<22} {low:>6.2f}s"
        f" {statistics.median(run.seconds for run in floors):>6.2f}s {low_cpu:>6.2f}s"
        f" {'':>7} {answers:>10,}   (one SELECT, csv.writer, in this process)"
    )
    print(
        f"{'FLOIP .zip, once':<22} {floip.seconds:>6.2f}s {'':>7} {floip.cpu:>6.2f}s"
        f" {floip.peak_mb:>5.0f}MB {floip.rows:>10,} {packed:>6.1f}MB"
    )
    if on_postgres:
        met = _report("PostgreSQL CSV, 3 runs", on_postgres, runs, written) and met
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    median = statistics.median(run.seconds for run in csv_runs)
    cpu = statistics.median(run.cpu for run in csv_runs)
    print(
        f"CSV: {answers / median:,.0f} answers/s (median run on SQLite, start-up included),"
        f" {cpu / low_cpu:.1f}x the floor's CPU; load average {load} on {os.cpu_count()} cores"
    )
    verdict = "meets" if met else "MISSES"
    print(
        f"{verdict} the target: {answers:,} answers within {TARGET_SECONDS:g} s"
        f" in at most {TARGET_MB:g} MB"
    )
    scaled = "meets" if median <= goal else "MISSES"
    print(f"{scaled} issue 22's, scaled: within {goal:.2f} s here (median run on SQLite)")
    return 0 if met else 1


def _csv_runs(folder: Path, database: Location, output: Path) -> list[Measured]:
    """The measured runs, after one that compiles what the export imports."""
    command = ("export", "responses", "--flow", FLOW, "-o", str(output))
    parley(folder, database, *command)
    return [parley(folder, database, *command) for _ in range(RUNS)]


def _copy(folder: Path, origin: Path, destination: Postgres) -> float:
    """``parley db copy`` of the built database into ``destination``; the seconds it took."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "bot", "db", "copy", "--from", str(origin), "--to",
               destination.url]  # fmt: skip
    env = {**os.environ, "PARLEY_CONFIG": str(folder / "parley.toml")}
    subprocess.run(command, env=env, cwd=ROOT, capture_output=True, check=True)
    return time.perf_counter() - started


def _report(name: str, measured: list[Measured], runs: int, written: float) -> bool:
    """One line of the table; whether it meets the target."""
    times = [run.seconds for run in measured]
    best, median = min(times), statistics.median(times)
    cpu = statistics.median(run.cpu for run in measured)
    peak = max(run.peak_mb for run in measured)
    assert all(run.rows == runs for run in measured), "a run is missing from the export"
    print(
        f"{name:<22} {best:>6.2f}s {median:>6.2f}s {cpu:>6.2f}s {peak:>5.0f}MB"
        f" {runs:>10,} {written:>6.1f}MB"
    )
    return median <= TARGET_SECONDS and peak <= TARGET_MB


if __name__ == "__main__":
    sys.exit(main())
