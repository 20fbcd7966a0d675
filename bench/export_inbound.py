"""Residents' webhooks while an organiser downloads a big export from the staff web:
how much of Parley's inbound throughput is left.

    .venv/bin/python -m bench.export_inbound [--keep DB] [--seconds 8] [--rounds 2]

A database of 1,000,000 answers of ``priorities`` is built as :mod:`bench.export` builds
it (kept with ``--keep``), with an organiser's account. ``parley run`` serves it, with
Twilio configured and its sends going to a small fake API in this process (as
:mod:`bench.inbound` does). Then, in turns, twice each:

- **alone**: new residents' signed webhooks (the welcome and the survey, each resident's
  messages one after another, 64 at once) for ``--seconds``: messages acted on per
  second (a webhook is answered once its message is stored and acted on);
- **while exporting**: the same, started one second after an organiser signed in to the
  staff web has asked for the CSV of all 1,000,000 answers (``POST /admin/exports``),
  which the browser reads as it streams; the export must still be streaming when the
  load ends, so the whole window is shared.

The export is made by a worker process at a lower CPU priority (``nice 10``) and
streamed by Parley: the figure is the throughput while exporting as a share of the
throughput alone. Also printed: how long the whole download took, and its rows.

Target (staff web issue): at least 80 % of the throughput without the export.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bench.export import build
from bench.inbound import _fake_api, _parley, _post, _requests
from bot.desk.accounts import password

TARGET_SHARE = 0.80
ORGANISER = ("bench", "a password for the benchmark")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_COOKIE = re.compile(r"parley_staff=([^;]+)")


def _with_account(database: Path) -> None:
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute(
            "INSERT INTO staff_accounts (name, role, password, created_at, password_at)"
            " VALUES (?, 'organiser', ?, ?, ?) ON CONFLICT (name) DO NOTHING",
            (ORGANISER[0], password(ORGANISER[1]).hashed, *[datetime.now(UTC).isoformat()] * 2),
        )


async def _sign_in(session: aiohttp.ClientSession, base: str) -> str:
    """The staff web's session cookie. Its public URL is https, so the cookie is
    Secure and a client over plain http must carry it by hand."""
    async with session.get(f"{base}/admin/login") as page:
        text = await page.text()
        cookie = _COOKIE.search(page.headers.get("set-cookie", ""))
    token = _TOKEN.search(text)
    assert token is not None
    assert cookie is not None
    form = {"name": ORGANISER[0], "password": ORGANISER[1], "csrf_token": token.group(1)}
    headers = {"Cookie": f"parley_staff={cookie.group(1)}"}
    async with session.post(
        f"{base}/admin/login", data=form, headers=headers, allow_redirects=False
    ) as answer:
        signed = _COOKIE.search(answer.headers.get("set-cookie", ""))
        assert answer.status == 303, await answer.text()
    assert signed is not None
    return signed.group(1)


async def _export(base: str, cookie: str, timings: dict[str, float]) -> int:
    """Ask for every answer as CSV and read the download to its end; its bytes."""
    headers = {"Cookie": f"parley_staff={cookie}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
        async with session.get(f"{base}/admin/exports", headers=headers) as page:
            token = _TOKEN.search(await page.text())
        assert token is not None
        form = {
            "csrf_token": token.group(1),
            "what": "responses",
            "flow": "priorities",
            "format": "csv",
        }
        timings["asked"] = time.perf_counter()
        size = 0
        async with session.post(f"{base}/admin/exports", data=form, headers=headers) as file:
            assert file.status == 200, await file.text()
            async for chunk in file.content.iter_chunked(65536):
                if not size:
                    timings["first byte"] = time.perf_counter()
                size += len(chunk)
        timings["last byte"] = time.perf_counter()
        return size


async def _load(base: str, first: int, seconds: float) -> tuple[int, float]:
    """New residents' conversations, 64 at once, for ``seconds``: webhooks answered
    (each acted on before its answer), and the seconds it took."""
    conversations = iter(_requests(4000, first))
    answered = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal answered
            for conversation in conversations:
                for body, signature in conversation:
                    if time.perf_counter() >= deadline:
                        return
                    await _post(session, base, body, signature)
                    answered += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(64)))
        return answered, time.perf_counter() - started


async def _alone(base: str, first: int, seconds: float) -> float:
    answered, took = await _load(base, first, seconds)
    return answered / took


async def _exporting(base: str, first: int, seconds: float) -> tuple[float, dict[str, float], int]:
    async with aiohttp.ClientSession() as session:
        cookie = await _sign_in(session, base)
    timings: dict[str, float] = {}
    download = asyncio.create_task(_export(base, cookie, timings))
    await asyncio.sleep(1.0)  # the worker is started and streaming
    answered, took = await _load(base, first, seconds)
    ended = time.perf_counter()
    size = await download
    if timings["last byte"] < ended:
        raise RuntimeError(
            "the export ended before the load did: give fewer --seconds so they overlap"
        )
    return answered / took, timings, size


@contextlib.contextmanager
def _database(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        if not keep.exists():
            asyncio.run(_build(keep))
        yield keep
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "answers.db"
        asyncio.run(_build(path))
        yield path


async def _build(path: Path) -> None:
    config = path.with_suffix(".toml")
    config.write_text("[parley]\n", encoding="utf-8")
    print(f"building {path} (1,000,000 answers)…", flush=True)
    await build(path, config, 1_000_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build the database here, and keep it")
    parser.add_argument("--seconds", type=float, default=8.0, help="of load each time")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with _database(args.keep) as answers, tempfile.TemporaryDirectory() as tmp, _fake_api() as api:
        folder = Path(tmp)
        database = folder / "parley.db"
        with (
            contextlib.closing(sqlite3.connect(answers)) as source,
            contextlib.closing(sqlite3.connect(database)) as copy,
        ):
            source.backup(copy)
        _with_account(database)
        parley, _ = _parley(folder, api)
        alone: list[float] = []
        sharing: list[float] = []
        try:
            first = 10**6
            for _ in range(args.rounds):
                alone.append(asyncio.run(_alone(parley.base, first, args.seconds)))
                first += 4000
                rate, timings, size = asyncio.run(_exporting(parley.base, first, args.seconds))
                first += 4000
                sharing.append(rate)
                print(
                    f"  alone {alone[-1]:,.0f}/s; exporting {rate:,.0f}/s"
                    f" ({rate / alone[-1]:.0%}); the download: first byte after"
                    f" {timings['first byte'] - timings['asked']:.1f} s, all"
                    f" {size / 1e6:.0f} MB after {timings['last byte'] - timings['asked']:.1f} s",
                    flush=True,
                )
        finally:
            parley.stop()
    share = statistics.median(sharing) / statistics.median(alone)
    verdict = "meets" if share >= TARGET_SHARE else "MISSES"
    print(
        f"inbound while an organiser downloads 1,000,000 answers: {statistics.median(sharing):,.0f}"
        f" messages/s against {statistics.median(alone):,.0f} alone: {share:.0%}"
        f" ({verdict} the {TARGET_SHARE:.0%} target)"
    )


if __name__ == "__main__":
    main()
