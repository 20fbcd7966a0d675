"""Staff web pages: how long each page under /admin takes the server to answer, on
databases the size of a large deployment, against the 200 ms target.

    .venv/bin/python -m bench.admin [--keep DB] [--runs 15] [--only TEXT] [--profile]

Two databases are built first, through the real migrations (about 3 minutes and
2.4 GB), and kept with ``--keep DB``: ``DB``, and ``DB-1m`` for the contacts list at a
million; run again with the same file, the build is skipped.

- 1,000,000 answers of ``priorities`` made by :func:`bench.export.build` (about 62,500
  residents who answered, each with a welcome run), then contacts up to 100,000 in
  plain SQL (SMS, Telegram and WhatsApp, the 16 languages, fields such as ward, age
  and source; some declined questions, opted out or cannot be reached), and every
  answer's message and reply in the message log. Then, through the desk (the staff
  operations the pages call), with the scheduler's real fan-out writing the outbox and
  the dispatcher's work done in SQL: staff accounts and 20,000 earlier audit rows;
  400 ideas, their personal details found as when residents send them, moderated
  (approved, not taken forward, merged; three shortlisted into a poll); 29 polls, one
  put to everyone (90,785 who may be sent to) with 50,000 votes, one to a ward closed
  with 12,000 votes and its result sent to its voters, 24 smaller ones closed, a panel's
  vote; broadcasts: a message to everyone with a third of it still waiting, one to each
  ward nine times, a survey, one scheduled, one draft; two panels (300 volunteers not
  yet drawn; one drawn, seated, voting); two decisions, one sent twice to 58,000
  residents; 30 exports recorded. Each vote comes with its answer, message and reply.
  1,100 MB: 1,700,000 messages in the outbox, 1,200,000 in the inbound log.
- The same, grown to 1,000,000 contacts, for the contacts list.

Then Parley's web app runs in this process (``bot.web.app.build``), reached through
httpx's ASGI transport (no network), signed in once as an organiser. Every GET page
the staff web declares (``bot.web.admin.pages.PAGES``, so pages added later are timed
too) is asked for 2 times to warm up and then ``--runs`` times, its path filled with
real ids (the biggest broadcasts, poll, panels and decision, the contact with most
answers, a flagged idea, the ``priorities`` flow, the organiser's account; a page
with a path parameter it knows no value for is named as not measured). The time is
the server's: from the request reaching the app to the last byte of its answer.
Reported apart, the POSTs staff wait on: the composer's Preview (a message to
everyone stored as a draft, then the draft page it leads to, which works the preview
out again) and a decision's preview; and, at a million contacts, finding a contact by
phone number, a filter no contact matches and the dashboard.

A kept database is left as found: the drafts, sign-ins and their audit rows the
measuring made are deleted afterwards. ``--profile`` profiles each page that misses in
the three threads a page works in (the event loop, the worker thread reads run in, the
database's writer) and prints the functions its time goes to.

Target (staff web issue): every page answers within 200 ms (median, server time) with
100,000 contacts and 1,000,000 answers; the contacts list at 1,000,000 contacts.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import os
import pstats
import random
import re
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from bench import engine, export
from bot.app import App
from bot.channels.base import Outbound
from bot.channels.simulator import SimulatorChannel
from bot.civic import ideas as idea_work
from bot.civic.polls import QUESTION_STEP, options_from_labels
from bot.desk import Actor, Desk, Front, Role
from bot.desk import broadcasts as desk_broadcasts
from bot.desk import decisions as desk_decisions
from bot.desk import exports as desk_exports
from bot.desk import ideas as desk_ideas
from bot.desk import panels as desk_panels
from bot.desk import polls as desk_polls
from bot.desk.accounts import password
from bot.desk.broadcasts import Content, MessageContent, PollContent, Sending, SurveyContent
from bot.desk.polls import PollSpec
from bot.exports import Filters
from bot.exports import Request as ExportRequest
from bot.outreach.audience import Audience
from bot.settings import Settings, load_settings
from bot.store import Database, contacts, ideas, panels, staff
from bot.store import exports as stored_exports
from bot.store.polls import Poll
from bot.store.sql import Tx
from bot.web.admin.pages import PAGES
from bot.web.app import build as build_web

T = TypeVar("T")

TARGET_MS = 200.0
RUNS = 15
WARM = 2
CONTACTS = 100_000
MILLION = 1_000_000
ANSWERS = 1_000_000
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # after bench.export's answers; not quiet hours
BATCH = 50_000
ORGANISER = ("olu", "bench organiser password")
WORKER = ("wren", "bench worker password")
OTHER_STAFF = ("amina.k", "dev.p", "sam-ward-north")
BENCH_ACTOR = Actor(ORGANISER[0], Role.ORGANISER, Front.WEB)
WARDS = export.WARDS
AGES = ("16-29", "30-44", "45-64", "65+")
PANEL_PROFILE = {
    "area": ("north", "south", "east", "west", "centre"),
    "age": ("age16_29", "age30_44", "age45_64", "age65_plus"),
    "gender": ("woman", "man", "other"),
    "tenure": ("owned", "private", "social"),
}
IDEAS = (
    "Open the library on Sundays",
    "More benches in the park by the river",
    "A safe crossing outside the primary school on Church Road",
    "Free wifi in the community centre",
    "Youth club evenings with music and art, not just sport",
    "Fix the lifts in Tower Block B, they have been broken for months",
    "Call me on 07700 900 123, I have ideas about the bins",
    "Email me at jo.bloggs@example.org about the allotments",
    "Weekly repair café at the old fire station",
    "Bus shelter at the stop by the clinic",
    "مزيد من الإضاءة في الشوارع المظلمة قرب المدرسة",
    "Więcej koszy na śmieci przy placu zabaw",
    "Street trees on the high street",
    "A food bank collection point at the supermarket",
    "Cheaper swimming sessions for families",
)
AUDIT_ACTIONS = (
    "broadcast.draft",
    "broadcast.send",
    "poll.make",
    "poll.close",
    "idea.approve",
    "idea.reject",
    "export.request",
    "contact.import",
    "staff.sign_in",
    "staff.sign_out",
)
MESSAGE = {
    "en": "The library opens on Sundays from January. Thank you for telling us!",
    "pl": "Od stycznia biblioteka jest otwarta w niedziele. Dziękujemy!",
    "ar": "ستفتح المكتبة أيام الأحد ابتداءً من يناير. شكرًا لكم!",
}
_OLDER = re.compile(r'href="[^"]*[?&]older=(\d+)')
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


# -- building the databases --------------------------------------------------------------


Phases = list[tuple[str, float]]


@contextmanager
def _phase(name: str, phases: Phases) -> Iterator[None]:
    started = time.perf_counter()
    yield
    took = time.perf_counter() - started
    phases.append((name, took))
    print(f"  {name}: {took:.1f} s", flush=True)


@contextmanager
def _connected(path: Path) -> Iterator[Tx]:
    """A plain connection for bulk rows: transactions by hand, WAL like Parley's."""
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        yield connection


def _stamp(moment: datetime) -> str:
    return moment.isoformat()


def _contact_row(
    n: int, rng: random.Random, languages: Sequence[str], weights: Sequence[float]
) -> tuple[object, ...]:
    """A contact who never answered the survey: joined by text, imported, or on WhatsApp."""
    r = rng.random()
    channel = "whatsapp" if r < 0.05 else "telegram" if r < 0.35 else "sms"
    address = {
        "sms": f"+447{700_000_000 + n}",
        "telegram": str(100_000_000 + n),
        "whatsapp": f"+447{800_000_000 + n}",
    }[channel]
    language = None if rng.random() < 0.01 else rng.choices(languages, weights)[0]
    fields = {"consent": "no" if rng.random() < 0.03 else "yes"}
    if rng.random() < 0.85:
        fields["ward"] = rng.choice(WARDS)
    if rng.random() < 0.6:
        fields["age"] = rng.choice(AGES)
    if rng.random() < 0.3:
        fields["source"] = "import"
    if rng.random() < 0.1:
        fields["panel_interest"] = "yes"
    joined = NOW - timedelta(seconds=rng.uniform(3600, 365 * 86400))
    seen = joined + (NOW - joined) * rng.random()
    opted = _stamp(seen + timedelta(minutes=5)) if rng.random() < 0.03 else None
    gone = _stamp(seen) if channel == "telegram" and rng.random() < 0.02 else None
    return (n, channel, address, language, json.dumps(fields), _stamp(joined), _stamp(seen),
            opted, gone, _stamp(joined))  # fmt: skip


def add_contacts(path: Path, upto: int, settings: Settings, seed: int) -> int:
    """Contacts after the last one, up to ``upto``; how many were added."""
    rng = random.Random(seed)
    languages = settings.languages
    weights = [8.0 if language == "en" else 1.0 for language in languages]
    with _connected(path) as connection:
        (last,) = connection.execute("SELECT coalesce(max(id), 0) FROM contacts").fetchone()
        for start in range(int(last) + 1, upto + 1, BATCH):
            rows = [
                _contact_row(n, rng, languages, weights)
                for n in range(start, min(start + BATCH, upto + 1))
            ]
            connection.execute("BEGIN")
            connection.executemany(
                "INSERT INTO contacts (id, channel, address, language, fields, created_at,"
                " last_seen_at, opted_out_at, unreachable_at, consent_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            connection.execute("COMMIT")
    return upto - int(last)


def message_log(path: Path) -> int:
    """Every answer's inbound message and the reply it got, as the message log holds
    them (bench.export stores answers only: no export reads the messages)."""
    step = 200_000
    with _connected(path) as connection:
        low, high = connection.execute("SELECT min(id), max(id) FROM answers").fetchone()
        for start in range(int(low), int(high) + 1, step):
            span = (start, start + step)
            connection.execute("BEGIN")
            connection.execute(
                "INSERT INTO inbound (id, contact_id, channel, provider_id, text, received_at,"
                " handled_at) SELECT id, contact_id, channel, 'SMbench' || id, raw,"
                " answered_at, answered_at FROM answers WHERE id >= ? AND id < ?",
                span,
            )
            connection.execute(
                "INSERT INTO outbox (contact_id, channel, text, language, reply_to, status,"
                " attempts, provider_id, created_at, sent_at, segments, delivery, delivery_at)"
                " SELECT contact_id, channel, 'Thank you. Next (' || step_id || '): reply with"
                " the number of your answer, or HELP to see the choices again.', language, id,"
                " 'sent', 1, 'SMreply' || id, answered_at, answered_at,"
                " CASE WHEN channel = 'sms' THEN 1 END,"
                " CASE WHEN channel = 'sms' THEN 'delivered' END,"
                " CASE WHEN channel = 'sms' THEN answered_at END"
                " FROM answers WHERE id >= ? AND id < ?",
                span,
            )
            connection.execute("COMMIT")
        (count,) = connection.execute("SELECT count(*) FROM inbound").fetchone()
    return int(count)


class Clock:
    """The app's clock, moved by hand while building; NOW while measuring."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def settings_for(database: Path, config: Path) -> Settings:
    return load_settings({"PARLEY_DATABASE": str(database)}, config_file=config)


async def open_app(settings: Settings, clock: Callable[[], datetime]) -> App:
    """Parley on the database, its providers the simulator (nothing is sent: the
    dispatcher and the scheduler are not started)."""

    def dropped(message: Outbound) -> None:
        return None

    channels = {name: SimulatorChannel(name, dropped) for name in ("sms", "whatsapp", "telegram")}
    return await App.open(settings, channels, clock)


class Civic:
    """What staff did, through the desk; bulk rows (votes, volunteers) in plain SQL."""

    def __init__(self, app: App, clock: Clock, rng: random.Random) -> None:
        self.app = app
        self.clock = clock
        self.rng = rng
        self.settings = app.settings

    def at(self, days_ago: float) -> None:
        self.clock.now = NOW - timedelta(days=days_ago)

    async def do(self, work: Callable[[Desk], T], actor: Actor = BENCH_ACTOR) -> T:
        jobs, now = self.app.jobs, self.clock()

        def run(tx: Tx) -> T:
            return work(Desk(tx, self.settings, jobs.env, jobs.flows, now, actor))

        return await self.app.database.run(run)

    async def sql(self, work: Callable[[Tx], T]) -> T:
        return await self.app.database.run(work)

    async def send(self, content: Content, audience: Audience | None = None) -> int:
        """Draft, send, and write to the outbox as the scheduler does; the broadcast."""
        sending = Sending(audience or Audience())
        drafted = await self.do(lambda desk: desk_broadcasts.draft(desk, content, sending))
        await self.do(lambda desk: desk_broadcasts.send(desk, drafted.id))
        await self.app.jobs.run_due()
        return drafted.id

    async def run_due(self) -> None:
        await self.app.jobs.run_due()

    async def dispatched(self, broadcast_id: int | None = None, waiting: int = 0) -> None:
        """As if the dispatcher had sent what is queued (``waiting`` percent of it still
        waits): a few failed, SMS reported delivered or now and then undelivered."""
        where = "status = 'queued'" + (" AND broadcast_id = ?" if broadcast_id else "")
        at = _stamp(self.clock())
        await self.sql(
            lambda tx: tx.execute(
                "UPDATE outbox SET status = CASE WHEN id % 53 = 0 THEN 'failed' ELSE 'sent' END,"
                " attempts = 1, sent_at = ?, provider_id = 'SMout' || id,"
                " delivery = CASE WHEN channel = 'telegram' OR id % 53 = 0 THEN NULL"
                "   WHEN id % 41 = 0 THEN 'undelivered' ELSE 'delivered' END,"
                " delivery_at = CASE WHEN channel != 'telegram' AND id % 53 != 0 THEN ? END"
                f" WHERE {where} AND id % 100 >= ?",
                (at, at, *([broadcast_id] if broadcast_id else []), waiting),
            )
        )

    async def votes(
        self, poll: Poll, broadcast_id: int, count: int, weights: Sequence[float]
    ) -> int:
        """``count`` of the broadcast's recipients vote, each with their answer, the
        message it came in and the reply; their sessions end."""
        options = [option.id for option in poll.options]
        rng, start = self.rng, self.clock()

        def work(tx: Tx) -> int:
            asked = tx.execute(
                "SELECT o.contact_id, coalesce(c.language, ?), c.channel, s.id FROM outbox o"
                " JOIN contacts c ON c.id = o.contact_id JOIN sessions s"
                " ON s.contact_id = o.contact_id AND s.broadcast_id = o.broadcast_id"
                " WHERE o.broadcast_id = ? ORDER BY o.contact_id",
                (poll.language, broadcast_id),
            ).fetchall()
            chosen = sorted(rng.sample(range(len(asked)), min(count, len(asked))))
            for n in chosen:
                contact_id, language, channel, session_id = asked[n]
                if poll.multiple:
                    picked = sorted(rng.sample(range(len(options)), rng.choice((1, 1, 2, 3))))
                    choice: list[str] = [options[i] for i in picked]
                    value, raw = json.dumps(choice), " ".join(str(i + 1) for i in picked)
                else:
                    i = rng.choices(range(len(options)), weights)[0]
                    choice = [options[i]]
                    value, raw = json.dumps(options[i]), str(i + 1)
                at = _stamp(start + timedelta(seconds=60 + rng.expovariate(1 / 7200)))
                tx.execute(
                    "INSERT INTO votes (poll_id, contact_id, choice, language, channel,"
                    " voted_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (poll.id, contact_id, json.dumps(choice), language, channel, at),
                )
                inbound = tx.execute(
                    "INSERT INTO inbound (contact_id, channel, provider_id, text, received_at,"
                    " handled_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    (contact_id, channel, f"SMvote{poll.id}-{contact_id}", raw, at, at),
                ).fetchone()[0]
                tx.execute(
                    "INSERT INTO answers (session_id, contact_id, inbound_id, flow_id, step_id,"
                    " value, raw, language, channel, answered_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (session_id, contact_id, inbound, poll.flow_id, QUESTION_STEP, value, raw,
                     language, channel, at),
                )  # fmt: skip
                tx.execute(
                    "INSERT INTO outbox (contact_id, channel, text, language, reply_to, status,"
                    " attempts, created_at, sent_at) VALUES (?, ?, ?, ?, ?, 'sent', 1, ?, ?)",
                    (contact_id, channel, "Thank you for voting!", language, inbound, at, at),
                )
                tx.execute(
                    "UPDATE sessions SET status = 'completed', updated_at = ?, ended_at = ?"
                    " WHERE id = ? AND status = 'active'",
                    (at, at, session_id),
                )
            return len(chosen)

        return await self.sql(work)

    async def poll(
        self,
        question: str,
        labels: Sequence[str],
        audience: Audience,
        voters: int,
        weights: Sequence[float],
        multiple: bool = False,
        closes: datetime | None = None,
        translated: dict[str, tuple[str, list[str]]] | None = None,
    ) -> tuple[Poll, int]:
        """A poll made, sent to ``audience``, delivered, and voted in."""

        def make(desk: Desk) -> Poll:
            texts: dict[str, str] = {"en": question}
            options = options_from_labels(list(labels), "en")
            for code, (asked, shown) in (translated or {}).items():
                texts, options = desk_polls.translate(desk, texts, options, code, asked, shown)
            return desk_polls.make(desk, PollSpec(texts, options, multiple, "send", closes))

        made = await self.do(make)
        broadcast_id = await self.send(PollContent(made.id), audience)
        await self.dispatched(broadcast_id)
        await self.votes(made, broadcast_id, voters, weights)
        return made, broadcast_id

    async def close(self, poll: Poll) -> None:
        """Closed early by an organiser: its result goes to its voters."""
        await self.do(lambda desk: desk_polls.close(desk, poll.id))
        await self.run_due()
        await self.dispatched()

    async def volunteers(self, panel_id: int, invite_id: int, count: int) -> list[int]:
        """``count`` of those invited volunteer, each with a profile."""
        rng, at = self.rng, _stamp(self.clock())

        def work(tx: Tx) -> list[int]:
            invited = [
                int(row[0])
                for row in tx.execute(
                    "SELECT contact_id FROM outbox WHERE broadcast_id = ? ORDER BY contact_id",
                    (invite_id,),
                )
            ]
            chosen = sorted(rng.sample(invited, min(count, len(invited))))
            tx.executemany(
                "INSERT INTO panel_members (panel_id, contact_id, number, profile,"
                " volunteered_at) VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        panel_id,
                        contact_id,
                        number,
                        json.dumps({name: rng.choice(v) for name, v in PANEL_PROFILE.items()}),
                        at,
                    )
                    for number, contact_id in enumerate(chosen, start=1)
                ],
            )  # fmt: skip
            return chosen

        return await self.sql(work)


def _audit_rows(tx: Tx, count: int, rng: random.Random) -> None:
    """Earlier staff actions from every front, over the survey's months."""
    actors = [
        ("olu", "organiser", "web"),
        ("wren", "worker", "web"),
        ("amina.k", "worker", "web"),
        ("deploy", "organiser", "cli"),
        ("contact 12", "organiser", "phone"),
        ("contact 40210", "worker", "phone"),
    ]
    span = (NOW - export.START).total_seconds()
    rows = []
    for n in range(count):
        actor, role, front = rng.choice(actors)
        action = rng.choice(AUDIT_ACTIONS)
        at = export.START + timedelta(seconds=span * n / count)
        target = f"{action.partition('.')[0]} {rng.randint(1, 400)}"
        rows.append((_stamp(at), actor, role, front, action, target, json.dumps({"n": n})))
    tx.executemany(
        "INSERT INTO audit (at, actor, role, front, action, target, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


async def _staff_and_ideas(civic: Civic) -> None:
    rng = civic.rng
    hashes = {text: password(text).hashed for text in (ORGANISER[1], WORKER[1])}

    def accounts(tx: Tx) -> None:
        at = export.START
        staff.add(tx, ORGANISER[0], "organiser", hashes[ORGANISER[1]], at)
        staff.add(tx, WORKER[0], "worker", hashes[WORKER[1]], at)
        for name in OTHER_STAFF:
            staff.add(tx, name, "worker", hashes[WORKER[1]], at)
        _audit_rows(tx, 20_000, rng)

    await civic.sql(accounts)
    region = civic.settings.region

    def submitted(tx: Tx) -> list[str]:
        (count,) = tx.execute("SELECT count(*) FROM contacts").fetchone()
        made = []
        for n in range(400):
            contact = contacts.get(tx, rng.randint(1, int(count)))
            text = rng.choice(IDEAS)
            moment = NOW - timedelta(days=60 - n * 0.1)
            idea = idea_work.submit(
                tx, contact, text, contact.language or "en", moment, region=region
            )
            made.append(idea.reference)
        return made

    refs = await civic.sql(submitted)
    civic.at(40)
    approved = refs[:150]
    for ref in approved:
        await civic.do(partial(desk_ideas.approve, ref=ref))
    for ref in refs[150:210]:
        reason = rng.choice(("done", "scope", "cost", "rules", "We asked the council: no."))
        await civic.do(partial(desk_ideas.reject, ref=ref, reason=reason))
    for n, ref in enumerate(refs[210:230]):
        kept = approved[n]
        await civic.do(partial(desk_ideas.merge, duplicate_ref=ref, kept_ref=kept))
    await civic.run_due()
    await civic.dispatched()
    civic.at(38)
    await civic.do(
        lambda desk: desk_ideas.shortlist(desk, approved[30:33], "Which idea should go first?")
    )


async def _small_polls(civic: Civic) -> None:
    """24 polls of the autumn, each to a sample of 1,000, voted in and closed."""
    for k in range(24):
        civic.at(58 - 2 * k)
        labels = ["Yes", "No", "Not sure"] if k % 3 else ["Mornings", "Evenings", "Weekends"]
        made, _ = await civic.poll(
            f"Question {k + 1} of the autumn: what do you think?",
            labels,
            Audience(sample=1000, seed=k),
            300,
            (5, 3, 2),
            multiple=k % 5 == 0,
        )
        civic.at(57 - 2 * k)
        await civic.close(made)


async def _panels(civic: Civic) -> list[int]:
    """A panel with 300 volunteers, not yet drawn; one drawn, seated, and voting."""
    rng = civic.rng
    made = []
    for name, sample, count in (("Housing panel", 3000, 150), ("Parks panel", 3000, 300)):
        civic.at(34 if count == 150 else 12)
        invited = await civic.do(
            partial(desk_panels.invite, name=name, sample=sample, seed=5, strata="ward")
        )
        await civic.do(partial(desk_broadcasts.send, broadcast_id=invited.drafted.id))
        await civic.run_due()
        await civic.dispatched()
        await civic.volunteers(invited.panel_id, invited.drafted.id, count)
        made.append(invited.panel_id)
    drawn = made[0]

    def draw(tx: Tx) -> None:
        members = panels.members(tx, drawn)
        chosen = {m.contact_id for m in rng.sample(members, 30)}
        chance = {m.contact_id: 30 / len(members) for m in members}
        quotas = [{"category": "area", "value": v, "minimum": 4, "maximum": 8}
                  for v in PANEL_PROFILE["area"]]  # fmt: skip
        panels.record_selection(tx, drawn, 30, 4242, quotas, chance, chosen, civic.clock())

    civic.at(30)
    await civic.sql(draw)
    await civic.do(lambda desk: desk_panels.notify(desk, drawn))
    await civic.run_due()
    await civic.dispatched()
    seated = await civic.sql(
        lambda tx: [
            int(row[0])
            for row in tx.execute(
                "SELECT contact_id FROM panel_members WHERE panel_id = ? AND status = 'selected'",
                (drawn,),
            )
        ]
    )
    now = civic.clock()

    def answered(tx: Tx) -> None:
        for n, contact_id in enumerate(seated):
            status = panels.DECLINED if n % 10 == 9 else panels.ACCEPTED
            panels.set_status(tx, drawn, contact_id, status, now)

    await civic.sql(answered)
    civic.at(28)
    vote = await civic.do(
        lambda desk: desk_panels.vote(
            desk, drawn, {"en": "Turn the car park on Mill Lane into a pocket park"}
        )
    )
    await civic.do(lambda desk: desk_broadcasts.send(desk, vote.drafted.id))
    await civic.run_due()
    await civic.dispatched()
    await civic.votes(vote.poll, vote.drafted.id, 22, (6, 3, 1))
    return made


async def _outreach(civic: Civic) -> None:
    """The broadcasts of the last weeks, the big ones last: they lead the lists."""
    for n in range(9):
        civic.at(26 - n)
        ward = WARDS[n % len(WARDS)]
        texts = {"en": f"News for {ward}: the ward meeting is on Thursday at 7pm.", **MESSAGE}
        sent = await civic.send(MessageContent(texts), Audience(fields={"ward": ward}))
        await civic.dispatched(sent)
    civic.at(16)
    survey = await civic.send(SurveyContent(export.FLOW), Audience(not_took_part_in=export.FLOW))
    await civic.dispatched(survey)
    civic.at(14)
    library, _ = await civic.poll(
        "Should the library open on Sundays?",
        ["Yes", "No", "Only in winter"],
        Audience(fields={"ward": "North"}),
        12_000,
        (6, 3, 2),
        translated={"pl": ("Czy biblioteka ma być otwarta w niedziele?",
                           ["Tak", "Nie", "Tylko zimą"])},
    )  # fmt: skip
    civic.at(10)
    await civic.close(library)
    civic.at(9)
    decided = await civic.do(
        lambda desk: desk_decisions.record(
            desk,
            "agreed",
            {"en": "The library opens on Sundays from January.", "pl": MESSAGE["pl"]},
            [f"poll:{library.id}", f"flow:{export.FLOW}"],
        )
    )
    await civic.run_due()
    await civic.dispatched()
    civic.at(6)
    await civic.do(
        lambda desk: desk_decisions.update(
            desk, decided.decision_id, "in_progress", {"en": "The library has hired two staff."}
        )
    )
    idea_id = await civic.sql(
        lambda tx: int(
            tx.execute("SELECT min(id) FROM ideas WHERE status = 'approved'").fetchone()[0]
        )
    )
    await civic.do(
        lambda desk: desk_decisions.record(
            desk, "done", {"en": "The new benches are in."}, [f"idea:{ideas.reference(idea_id)}"]
        )
    )
    await civic.run_due()
    await civic.dispatched()
    civic.at(5)
    await civic.poll(
        "What should the youth club offer? (choose up to 3)",
        ["Music", "Art", "Sport", "Homework help", "Cooking"],
        Audience(sample=5000, seed=99),
        2_000,
        (1, 1, 1, 1, 1),
        multiple=True,
    )
    civic.at(3)
    await civic.poll(
        "Which evening should the youth club open?",
        ["Monday", "Wednesday", "Friday"],
        Audience(),
        50_000,
        (3, 5, 8),
        closes=NOW + timedelta(days=7),
        translated={
            "pl": ("W który wieczór klub ma być otwarty?", ["Poniedziałek", "Środa", "Piątek"]),
            "ar": ("في أي مساء يجب أن يفتح النادي؟", ["الاثنين", "الأربعاء", "الجمعة"]),
        },
    )
    civic.at(0.5)
    everyone = await civic.send(MessageContent(MESSAGE))
    await civic.dispatched(everyone, waiting=33)  # a third still waits to be sent
    civic.at(0.2)
    later = Sending(Audience(fields={"ward": "Riverside"}), NOW + timedelta(days=1))
    drafted = await civic.do(
        lambda desk: desk_broadcasts.draft(desk, MessageContent(MESSAGE), later)
    )
    await civic.do(lambda desk: desk_broadcasts.send(desk, drafted.id))
    await civic.do(
        lambda desk: desk_broadcasts.draft(
            desk, MessageContent(MESSAGE), Sending(Audience(fields={"ward": "South"}))
        )
    )


async def _exports(civic: Civic) -> None:
    asked = [
        ExportRequest("responses", Filters(flow_id=export.FLOW)),
        ExportRequest("responses", Filters(flow_id=export.FLOW), "floip"),
        ExportRequest("votes", Filters(poll_id=1)),
        ExportRequest("ideas"),
        ExportRequest("contacts", addresses=True),
        ExportRequest("decisions"),
    ]
    for n in range(30):
        civic.at(30 - n)
        wanted = asked[n % len(asked)]
        made = await civic.do(partial(desk_exports.request, asked=wanted))
        rows = 183_000 if wanted.what == "responses" else 1_000 + 37 * n
        await civic.sql(partial(stored_exports.finish, export_id=made.id, rows=rows))


async def _civic(settings: Settings) -> None:
    clock = Clock(NOW - timedelta(days=60))
    app = await open_app(settings, clock)
    logging.disable(logging.WARNING)  # "export WITH ADDRESSES", as asked: not news here
    try:
        civic = Civic(app, clock, random.Random(23))
        await _staff_and_ideas(civic)
        await _small_polls(civic)
        await _panels(civic)
        await _outreach(civic)
        await _exports(civic)
    finally:
        logging.disable(logging.NOTSET)
        await app.close()


async def build(path: Path, config: Path) -> Phases:
    """The 100,000-contact database at ``path``; the time each part took."""
    phases: Phases = []
    settings = settings_for(path, config)
    with _phase(f"{ANSWERS:,} answers of {export.FLOW} (bench.export.build)", phases):
        await export.build(path, config, ANSWERS)
    with _phase(f"contacts up to {CONTACTS:,}", phases):
        add_contacts(path, CONTACTS, settings, seed=17)
    with _phase("the message log: each answer's message and reply", phases):
        message_log(path)
    with _phase("staff, audit, ideas, polls, votes, broadcasts, panels, decisions", phases):
        await _civic(settings)
    return phases


def grow(path: Path, grown: Path, config: Path) -> Phases:
    """A copy of the database at ``path``, with contacts up to a million."""
    phases: Phases = []
    with _phase("copying it", phases):
        with _connected(path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(path, grown)
    with _phase(f"contacts up to {MILLION:,}", phases):
        add_contacts(grown, MILLION, settings_for(grown, config), seed=29)
    return phases


def _complete(path: Path, contacts_wanted: int) -> str | None:
    """Why the database at ``path`` is not one this benchmark built, or None."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        try:
            (count,) = connection.execute("SELECT count(*) FROM contacts").fetchone()
            (account,) = connection.execute(
                "SELECT count(*) FROM staff_accounts WHERE name = ?", (ORGANISER[0],)
            ).fetchone()
            (exported,) = connection.execute("SELECT count(*) FROM exports").fetchone()
        except sqlite3.Error as error:
            return str(error)
    if count != contacts_wanted or not account or not exported:
        return f"{count:,} contacts, not {contacts_wanted:,}, or built only in part"
    return None


# -- what to ask for -----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    url: str  # under /admin
    what: str  # what it shows, in a few words


@dataclass
class Ids:
    """Real ids for the pages' paths, by the part of the web they belong to."""

    numbers: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    refs: list[tuple[str, str]] = field(default_factory=list)
    poll: int = 0  # the poll with most votes
    other_poll: int = 0  # a closed one, for a decision to answer


def find_ids(path: Path) -> Ids:
    found = Ids()
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as tx:

        def one(sql: str) -> tuple[int, int]:
            row = tx.execute(sql).fetchone()
            assert row is not None, sql
            return int(row[0]), int(row[1] or 0)

        message, sent_to = one(
            "SELECT id, recipients FROM broadcasts WHERE kind = 'message' AND status = 'queued'"
            " ORDER BY recipients DESC, id DESC LIMIT 1"
        )
        asked, asked_to = one(
            "SELECT id, recipients FROM broadcasts WHERE kind = 'poll'"
            " ORDER BY recipients DESC, id DESC LIMIT 1"
        )
        found.poll, votes = one(
            "SELECT poll_id, count(*) FROM votes GROUP BY poll_id ORDER BY 2 DESC LIMIT 1"
        )
        found.other_poll, _ = one(
            "SELECT poll_id, count(*) FROM votes v JOIN polls p ON p.id = v.poll_id"
            " WHERE p.status = 'closed' AND p.panel_id IS NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        )
        contact, answered = one(
            "SELECT contact_id, count(*) FROM answers GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
        )
        panel, members = one(
            "SELECT panel_id, count(*) FROM panel_members GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        )
        drawn, seats = one("SELECT id, size FROM panels WHERE size IS NOT NULL ORDER BY id LIMIT 1")
        decision, sends = one(
            "SELECT decision_id, count(*) FROM decision_sends GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
        )
        (reached,) = tx.execute(
            "SELECT count(*) FROM decision_sends s JOIN outbox o"
            " ON o.broadcast_id = s.broadcast_id WHERE s.decision_id = ?",
            (decision,),
        ).fetchone()
        idea, _ = one("SELECT id, 0 FROM ideas WHERE pii IS NOT NULL ORDER BY id LIMIT 1")
    found.numbers = {
        "broadcasts": [
            (f"message to everyone, {sent_to:,} recipients, a third waiting", message),
            (f"poll to everyone, {asked_to:,} recipients", asked),
        ],
        "polls": [(f"{votes:,} votes", found.poll)],
        "contacts": [(f"the contact with most answers ({answered})", contact)],
        "panels": [
            (f"{members} volunteers, not drawn", panel),
            (f"drawn ({seats} seats), with a vote", drawn),
        ],
        "decisions": [(f"{sends} sendings, {reached:,} messages", decision)],
    }
    found.refs = [("a flagged idea", ideas.reference(idea))]
    return found


VARIANTS = {
    "/broadcasts/new": [("?kind=message", "composer: message"), ("?kind=poll", "composer: poll"),
                        ("?kind=survey", "composer: survey")],
    "/polls/{number}": [("", ""), ("?by=language", "by language"), ("?by=ward", "by ward")],
    "/audit": [("", "newest 50 of 20,000+"), ("?action=broadcast", "one family of actions")],
}  # fmt: skip
"""Query strings some pages are asked with as well (or instead)."""


def targets(ids: Ids) -> tuple[list[Target], list[str]]:
    """Every GET page of the staff web with its path filled in; and those that cannot
    be (a path parameter this benchmark has no value for), with why."""
    found: list[Target] = []
    missing: list[str] = []
    for page in PAGES:
        if "GET" not in page.methods:
            continue
        names = re.findall(r"{(\w+)}", page.path)
        part = page.path.strip("/").split("/")[0] or "dashboard"
        fills: list[tuple[str, str]] = [("", page.path)]
        for name in names:
            values: list[tuple[str, str]]
            if name == "number":
                values = [(what, str(n)) for what, n in ids.numbers.get(part, [])]
            elif name == "ref":
                values = ids.refs
            elif name == "flow_id":
                values = [(f"the {export.FLOW} survey", export.FLOW)]
            elif name == "name":
                values = [("the organiser's account", ORGANISER[0])]
            else:
                values = []
            if not values:
                missing.append(f"{page.path}: no value for {{{name}}} in {part}")
                fills = []
                break
            fills = [
                (f"{what}, {seen}".strip(", "), path.replace(f"{{{name}}}", value))
                for what, path in fills
                for seen, value in values
            ]
        for what, path in fills:
            for query, asked in VARIANTS.get(page.path, [("", "")]):
                shown = ", ".join(part for part in (what, asked) if part)
                found.append(Target(path + query, shown or _what(page.path)))
    return found, missing


def _what(path: str) -> str:
    return {
        "/": "dashboard",
        "/contacts": "newest 50",
        "/broadcasts": "newest 25",
        "/polls": "newest 25",
        "/ideas": "the moderation queue",
        "/panels": "every panel",
        "/decisions": "every decision",
        "/flows": "flow folder checked",
        "/exports": "form and log",
        "/staff": "accounts",
    }.get(path, "")


# -- measuring ------------------------------------------------------------------------------


class Stopwatch:
    """The app, timed from the request reaching it to the last byte of its answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last = time.perf_counter() - started


@dataclass
class Browser:
    client: httpx.AsyncClient
    watch: Stopwatch
    token: str = ""

    async def get(self, url: str) -> httpx.Response:
        """The page; its form token kept, for the next POST."""
        answer = await self.client.get("/admin" + url)
        if answer.headers.get("content-type", "").startswith("text/html"):
            found = _TOKEN.search(answer.text)
            if found:
                self.token = found.group(1)
        return answer

    async def post(self, url: str, data: dict[str, str | list[str]]) -> httpx.Response:
        return await self.client.post("/admin" + url, data={"csrf_token": self.token, **data})


@asynccontextmanager
async def _browser_for(app: App) -> AsyncIterator[Browser]:
    """A browser on the staff web of ``app``, in this process: no network between."""
    watch = Stopwatch(build_web(app))
    transport = httpx.ASGITransport(app=watch, client=("198.51.100.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://parley.test") as client:
        yield Browser(client, watch)


async def sign_in(browser: Browser) -> None:
    await browser.get("/login")
    answer = await browser.post("/login", {"name": ORGANISER[0], "password": ORGANISER[1]})
    if answer.status_code != 303:
        raise RuntimeError(f"signing in answered {answer.status_code}")
    await browser.get("/")


@dataclass(frozen=True)
class Timing:
    label: str
    what: str
    times: tuple[float, ...]  # ms
    problem: int = 0  # a status other than the one expected (a 500, a 303 to signing in)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p90(self) -> float:
        return statistics.quantiles(self.times, n=10, method="inclusive")[8]

    @property
    def met(self) -> bool:
        return not self.problem and self.median <= TARGET_MS


def _unexpected(statuses: Sequence[int], expected: int = 200) -> int:
    return next((status for status in statuses if status != expected), 0)


async def time_get(browser: Browser, target: Target, runs: int) -> Timing:
    for _ in range(WARM):
        await browser.get(target.url)
    times, statuses = [], []
    for _ in range(runs):
        answer = await browser.get(target.url)
        times.append(browser.watch.last * 1000)
        statuses.append(answer.status_code)
    return Timing(target.url, target.what, tuple(times), _unexpected(statuses))


def print_table(title: str, timings: Sequence[Timing]) -> None:
    if not timings:
        return
    print(f"\n{title}")
    width = max([len(t.label) for t in timings] + [20])
    what = max([len(t.what) for t in timings] + [10])
    print(f"{'page':<{width}}  {'shows':<{what}}  {'median':>9} {'p90':>9} {'target':>7}")
    for t in timings:
        mark = "✔" if t.met else "✘"
        status = f"  (answered {t.problem})" if t.problem else ""
        print(
            f"{t.label:<{width}}  {t.what:<{what}}  {t.median:>7.1f}ms {t.p90:>7.1f}ms"
            f" {TARGET_MS:>5.0f}ms  {mark}{status}"
        )


# -- POSTs staff wait on --------------------------------------------------------------------


def _declares(path: str, method: str) -> bool:
    return any(page.path == path and method in page.methods for page in PAGES)


@dataclass
class Composer:
    """The composer's Preview as staff use it: a message to everyone stored as a draft
    (POST), then the draft page it leads to, which works the preview out again."""

    browser: Browser
    tokens: list[str] = field(default_factory=list)  # the forms' one-time tokens

    async def preview(self) -> tuple[float, float, int]:
        """One preview: ms for the POST, ms for the draft page, the page's status."""
        token = secrets.token_urlsafe(16)
        self.tokens.append(token)
        form: dict[str, str | list[str]] = {
            "kind": "message",
            "once": token,
            "seed": "0",
            **{f"text_{code}": text for code, text in MESSAGE.items()},
        }
        answer = await self.browser.post("/broadcasts/new", form)
        took = self.browser.watch.last * 1000
        if answer.status_code != 303:
            raise RuntimeError(f"the composer answered {answer.status_code}: {answer.text[:500]}")
        page = await self.browser.get(answer.headers["location"].removeprefix("/admin"))
        return took, self.browser.watch.last * 1000, page.status_code


async def time_preview(composer: Composer, runs: int) -> list[Timing]:
    posted, shown, both, statuses = [], [], [], []
    await composer.browser.get("/broadcasts/new?kind=message")
    for n in range(WARM + runs):
        took, page, answered = await composer.preview()
        statuses.append(answered)
        if n >= WARM:
            posted.append(took)
            shown.append(page)
            both.append(took + page)
    what = "message to everyone"
    problem = _unexpected(statuses)
    return [
        Timing("POST /broadcasts/new", f"{what}: draft stored, preview", tuple(posted)),
        Timing(
            "GET /broadcasts/{draft}", "the draft page: its preview again", tuple(shown), problem
        ),
        Timing("Preview, as staff wait for it", "the two together", tuple(both), problem),
    ]


def decision_form(ids: Ids) -> dict[str, str | list[str]]:
    """A decision answering a closed poll and the survey, previewed (not sent)."""
    return {
        "status": "agreed",
        "text_en": "The youth club opens on Fridays.",
        "polls": [str(ids.other_poll)],
        "flows": [export.FLOW],
        "ideas": "",
        "once": secrets.token_urlsafe(16),
    }


async def time_decision_preview(browser: Browser, ids: Ids, runs: int) -> Timing:
    """A decision's preview (worked out and undone: nothing is kept)."""
    await browser.get("/decisions/new")
    form = decision_form(ids)
    times, statuses = [], []
    for n in range(WARM + runs):
        answer = await browser.post("/decisions/new", form)
        statuses.append(answer.status_code)
        if n >= WARM:
            times.append(browser.watch.last * 1000)
    what = f"preview: voters of poll {ids.other_poll} and {export.FLOW}"
    return Timing("POST /decisions/new", what, tuple(times), _unexpected(statuses))


async def time_find(browser: Browser, runs: int) -> Timing:
    """Finding a contact by phone number (organisers; by POST, never in a link)."""
    await browser.get("/contacts")
    times, statuses = [], []
    for n in range(WARM + runs):
        answer = await browser.post("/contacts", {"address": f"07{700_500_000 + n}"})
        statuses.append(answer.status_code)
        if n >= WARM:
            times.append(browser.watch.last * 1000)
    what = "find a contact by phone number"
    return Timing("POST /contacts", what, tuple(times), _unexpected(statuses))


@dataclass(frozen=True)
class Marks:
    """The newest rows before measuring: what measuring adds is deleted after."""

    audit: int
    broadcasts: int
    staff_sessions: int


def _marks(tx: Tx) -> Marks:
    def top(table: str) -> int:
        return int(tx.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])

    return Marks(top("audit"), top("broadcasts"), top("staff_sessions"))


def _tidy(tx: Tx, marks: Marks, tokens: Sequence[str]) -> None:
    tx.execute("DELETE FROM audit WHERE id > ?", (marks.audit,))
    tx.execute("DELETE FROM broadcasts WHERE id > ? AND status = 'draft'", (marks.broadcasts,))
    tx.execute("DELETE FROM staff_sessions WHERE id > ?", (marks.staff_sessions,))
    tx.executemany("DELETE FROM form_posts WHERE token = ?", [(token,) for token in tokens])


# -- profiling --------------------------------------------------------------------------------


async def profile(
    work: Callable[[], Awaitable[object]], runs: int, database: Database
) -> list[str]:
    """``work`` under cProfile in the three threads a page's work runs in: this one (the
    event loop), the worker thread reads run in, and the database's writer thread
    (actions); the functions that took its time (own time, then with what they call),
    per request."""
    loop = asyncio.get_running_loop()
    worker, writer, main = cProfile.Profile(), cProfile.Profile(), cProfile.Profile()
    executor = ThreadPoolExecutor(1, initializer=worker.enable)
    loop.set_default_executor(executor)
    await database.run(lambda tx: writer.enable())  # in the writer's own thread
    main.enable()
    try:
        await work()
    finally:
        main.disable()
        await database.run(lambda tx: writer.disable())
        await loop.run_in_executor(executor, worker.disable)
        executor.shutdown()
        loop.set_default_executor(ThreadPoolExecutor())
    stats = pstats.Stats(main, stream=io.StringIO())
    stats.add(worker, writer)
    lines = [f"    {'own ms':>8} {'with ms':>8} {'calls':>8}  function"]
    table = stats.stats  # type: ignore[attr-defined]
    for key in ("tottime", "cumtime"):
        index = 2 if key == "tottime" else 3
        ranked = sorted(table.items(), key=lambda item: -item[1][index])
        shown = 0
        for (file, line, name), (_, calls, own, total, _) in ranked:
            if _plumbing(file, name):
                continue
            place = f"{Path(file).name}:{line}" if line else "built-in"
            lines.append(
                f"    {own * 1000 / runs:>8.1f} {total * 1000 / runs:>8.1f}"
                f" {calls / runs:>8.0f}  {name} ({place})"
            )
            shown += 1
            if shown == 12:
                break
        lines.append("    " + "-" * 60)
    return lines


_PLUMBING = ("/asyncio/", "/concurrent/", "threading.py", "selectors.py", "/httpx/", "/httpcore/")


def _plumbing(file: str, name: str) -> bool:
    """Waiting and carrying, not work: the event loop's wait for the worker thread
    (epoll), the threads' and the client's own frames, this benchmark's."""
    return (
        "epoll" in name
        or "SimpleQueue" in name
        or any(part in file for part in _PLUMBING)
        or file.endswith("bench/admin.py")
    )


# -- running it all ---------------------------------------------------------------------------


PROFILED = 5
"""Requests a profile is taken over."""


async def _profile_missed(
    app: App,
    composer: Composer,
    ids: Ids,
    pages: Sequence[Timing],
    posts: Sequence[Timing],
) -> None:
    """Print where the time of each page (and POST) that missed the target goes."""
    browser = composer.browser

    async def again(url: str) -> None:
        for _ in range(PROFILED):
            await browser.get(url)

    for timing in pages:
        if not timing.met:
            print(f"\nprofile of {timing.label} ({timing.what}), per request:")
            print("\n".join(await profile(partial(again, timing.label), PROFILED, app.database)))

    async def previews() -> None:
        for _ in range(PROFILED):
            await composer.preview()

    async def decisions() -> None:
        for _ in range(PROFILED):
            await browser.post("/decisions/new", decision_form(ids))

    for label, work in (("POST /broadcasts/new", previews), ("POST /decisions/new", decisions)):
        if any(t.label == label and not t.met for t in posts):
            then = " and the draft page" if work is previews else ""
            print(f"\nprofile of {label}{then}, per request:")
            print("\n".join(await profile(work, PROFILED, app.database)))


def _posting(only: Sequence[str], word: str) -> bool:
    """Whether the POSTs are timed too: always, unless ``--only`` names other things."""
    return not only or any(text in ("POST", word) for text in only)


def _chosen(timings: list[Target], only: Sequence[str]) -> list[Target]:
    if not only:
        return timings
    return [t for t in timings if any(text in t.url or text in t.what for text in only)]


async def measure_main(
    database: Path, config: Path, runs: int, only: Sequence[str], profiling: bool
) -> tuple[list[Timing], list[Timing], list[str]]:
    ids = find_ids(database)
    asked, missing = targets(ids)
    asked = _chosen(asked, only)
    settings = settings_for(database, config)
    app = await open_app(settings, Clock(NOW))
    try:
        marks = await app.database.run(_marks)
        async with _browser_for(app) as browser:
            composer = Composer(browser)
            await sign_in(browser)
            pages = [await time_get(browser, target, runs) for target in asked]
            posts: list[Timing] = []
            if _posting(only, "preview"):
                if _declares("/broadcasts/new", "POST"):
                    posts += await time_preview(composer, runs)
                if _declares("/decisions/new", "POST"):
                    posts.append(await time_decision_preview(browser, ids, runs))
            if profiling:
                await _profile_missed(app, composer, ids, pages, posts)
        await app.database.run(lambda tx: _tidy(tx, marks, composer.tokens))
    finally:
        await app.close()
    return pages, posts, missing


def million_targets(database: Path) -> list[Target]:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as tx:
        (top,) = tx.execute("SELECT max(id) FROM contacts").fetchone()
    return [
        Target("/contacts", "newest 50"),
        Target(f"/contacts?older={int(top) // 2}", "a page half way down"),
        Target("/contacts?language=pl", "language pl"),
        Target("/contacts?channel=telegram", "channel Telegram"),
        Target("/contacts?fields=ward%3DNorth", "field ward=North"),
        Target("/contacts?opted_out=yes", "opted out"),
        Target("/contacts?language=ti&channel=whatsapp&fields=ward%3DHillside", "three filters"),
    ]


async def measure_million(
    database: Path, config: Path, runs: int, only: Sequence[str]
) -> tuple[list[Timing], list[Timing]]:
    app = await open_app(settings_for(database, config), Clock(NOW))
    asked = million_targets(database)
    try:
        marks = await app.database.run(_marks)
        async with _browser_for(app) as browser:
            await sign_in(browser)
            first = await browser.get("/contacts")
            older = _OLDER.search(first.text)
            if older:  # the Older link of the first page
                asked.insert(1, Target(f"/contacts?older={older.group(1)}", "page 2 (Older)"))
            asked = _chosen(asked, only)
            pages = [await time_get(browser, target, runs) for target in asked]
            aside = [
                Target("/contacts?fields=ward%3DNorht", "a field value no one has (a typo)"),
                Target("/", "dashboard at a million"),
            ]
            extra = [await time_get(browser, target, runs) for target in _chosen(aside, only)]
            if _declares("/contacts", "POST") and _posting(only, "find"):
                extra.append(await time_find(browser, runs))
        await app.database.run(lambda tx: _tidy(tx, marks, ()))
    finally:
        await app.close()
    return pages, extra


def _ready(database: Path, config: Path, grown: Path) -> tuple[Phases, Phases]:
    """Both databases, built when missing; what each build took."""
    built: Phases = []
    if not database.exists():
        print(f"building {database} ...", flush=True)
        building = database.with_name(database.name + ".building")
        for stale in building.parent.glob(building.name + "*"):
            stale.unlink()
        built = asyncio.run(build(building, config))
        building.rename(database)
        building.with_name(building.name + ".lock").unlink(missing_ok=True)
    problem = _complete(database, CONTACTS)
    if problem:
        raise SystemExit(f"{database}: {problem}; delete it (and {grown.name}) to build it again")
    grew: Phases = []
    if not grown.exists():
        print(f"building {grown} ...", flush=True)
        building = grown.with_name(grown.name + ".building")
        grew = grow(database, building, config)
        building.rename(grown)
        building.with_name(building.name + ".lock").unlink(missing_ok=True)
    problem = _complete(grown, MILLION)
    if problem:
        raise SystemExit(f"{grown}: {problem}; delete it to build it again")
    return built, grew


def _sizes(database: Path) -> str:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as tx:
        counts = {
            table: int(tx.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("contacts", "answers", "inbound", "outbox", "sessions", "votes",
                          "broadcasts", "polls", "ideas", "audit")
        }  # fmt: skip
    size = database.stat().st_size / 1e6
    return f"{size:,.0f} MB: " + ", ".join(f"{n:,} {table}" for table, n in counts.items())


@contextmanager
def _folder(keep: Path | None) -> Iterator[tuple[Path, Path, Path]]:
    """A working folder, and where the two databases live (kept, or in the folder)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = folder / "parley.toml"
        config.write_text("[parley]\n", encoding="utf-8")
        database = keep.resolve() if keep is not None else folder / "parley.db"
        grown = database.with_name(f"{database.stem}-1m{database.suffix}")
        yield config, database, grown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keep", type=Path, metavar="DB", help="build the databases here (DB, DB-1m); reuse them"
    )
    parser.add_argument(
        "--runs", type=int, default=RUNS, choices=range(2, 1001), metavar="N",
        help=f"timed requests per page (default {RUNS})",
    )  # fmt: skip
    parser.add_argument(
        "--only", action="append", default=[], metavar="TEXT",
        help="only pages whose address or description holds TEXT (again for more)",
    )  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="profile the pages that miss")
    args = parser.parse_args()
    with _folder(args.keep) as (config, database, grown):
        built, grew = _ready(database, config, grown)
        for name, phases in ((database.name, built), (grown.name, grew)):
            if phases:
                total = sum(seconds for _, seconds in phases)
                print(f"{name} built in {total:.0f} s")
        print(f"{database.name}: {_sizes(database)}")
        print(f"{grown.name}: {_sizes(grown)}")
        pages, posts, missing = asyncio.run(
            measure_main(database, config, args.runs, args.only, args.profile)
        )
        million, extra = asyncio.run(measure_million(grown, config, args.runs, args.only))

    print_table(
        f"GET pages, {CONTACTS:,} contacts and {ANSWERS:,} answers"
        f" ({args.runs} requests each after {WARM}; server time)",
        pages,
    )
    if missing:
        print("not measured: " + "; ".join(missing))
    if posts:
        print_table("POSTs staff wait on (reported apart)", posts)
    print_table(f"the contacts list at {MILLION:,} contacts", million)
    print_table(f"at {MILLION:,} contacts, for information (not in the goal)", extra)
    steps, elapsed = engine.run(3.0)
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    print(
        f"\nengine: {steps / elapsed:,.0f} steps/s (bench/engine.py's figure, 3 s, this"
        f" process); load average {load} on {os.cpu_count()} cores"
    )
    goal = [*pages, *million]
    missed = [t for t in goal if not t.met]
    if not goal:
        print("no page of the goal was asked for")
        return 0
    if missed:
        print(f"MISSES the target: {len(missed)} of {len(goal)} pages over {TARGET_MS:.0f} ms")
        return 1
    print(f"meets the target: all {len(goal)} pages within {TARGET_MS:.0f} ms (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
