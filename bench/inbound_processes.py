"""Inbound throughput with several ``parley run`` on one PostgreSQL database, beside one
on SQLite, in the same run: bench/inbound.py's load, spread over the processes.

    .venv/bin/python -m bench.inbound_processes --postgres SERVER [--residents 400]
        [--processes 1,2,4] [--rounds 3]

Each row is bench/inbound.py's throughput measure (its signed webhooks, its load
generator, its clock: from the first webhook until every message has been acted on):
400 residents × the 11 messages of the welcome and the priorities survey, each resident's
next message sent once the previous one is answered, 64 at a time. On SQLite one
``parley run`` takes them, on a new file; on PostgreSQL 1, 2 and 4 of them share a new
database on SERVER (bench/databases.py, dropped afterwards), each on a port of its own,
and the webhooks go to each in turn, as a proxy in front of them would spread them. The
rows are measured one after another, then again for each round, so the machine's
changing speed reaches them all alike; messages acted on with an error are counted.

Everything runs on this machine: the processes, the PostgreSQL server and the load
generator share its cores, so more processes than cores show what the database costs,
not what more machines would give. Figure named by issue 21 (no target of its own; the
one-process target of issue 3 is 1,000 messages/s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.databases import add_option, fresh_postgres
from bench.inbound import (
    CONVERSATION,
    _fake_api,
    _parley,
    _Process,
    _requests,
    _wait_acted_on,
    closed_loop,
)
from bot.store.location import Location

SQLITE = "SQLite, 1"


def _errors(database: Location) -> int:
    """Messages acted on with an error: a row is only a figure if this is none."""
    from bot.store.database import writing

    with writing(database) as tx:
        return int(tx.execute("SELECT count(*) FROM inbound WHERE error IS NOT NULL").fetchone()[0])


@contextlib.contextmanager
def _running(folder: Path, api: str, database: Location, processes: int) -> Iterator[list[str]]:
    """``processes`` × ``parley run`` on ``database``; their base URLs. The first starts
    alone, so it migrates a new database before the others arrive."""
    started: list[_Process] = []
    try:
        for n in range(processes):
            (folder / str(n)).mkdir()
            process, _ = _parley(folder / str(n), api, database)
            started.append(process)
        yield [process.base for process in started]
    finally:
        for process in started:
            process.stop()


def _measure(folder: Path, api: str, database: Location, processes: int, residents: int) -> float:
    """Messages acted on per second (bench/inbound.py's throughput) on ``database``."""
    total = residents * len(CONVERSATION)
    with _running(folder, api, database, processes) as bases:
        started = time.perf_counter()
        asyncio.run(closed_loop(bases, _requests(residents, 0)))
        finished = _wait_acted_on(database, total)
        failed = _errors(database)
    if failed:
        raise RuntimeError(f"{failed} of {total} messages were acted on with an error")
    return total / (finished - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_option(parser)
    parser.add_argument("--residents", type=int, default=400)
    parser.add_argument("--processes", default="1,2,4", help="counts of processes, by commas")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not args.postgres:
        parser.error("--postgres SERVER is needed (bench/inbound.py measures SQLite alone)")
    counts = [int(n) for n in args.processes.split(",")]
    columns = [SQLITE, *(f"PostgreSQL, {n}" for n in counts)]
    rates: dict[str, list[float]] = {column: [] for column in columns}
    total = args.residents * len(CONVERSATION)
    print(f"{total:,} messages ({args.residents} residents × {len(CONVERSATION)}), messages/s")
    print(f"{'round':<6}" + "".join(f"{column:>16}" for column in columns))
    with _fake_api() as api:
        for round_ in range(1, args.rounds + 1):
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                (folder / "sqlite").mkdir()
                sqlite: Location = folder / "sqlite" / "parley.db"
                rates[SQLITE].append(_measure(folder / "sqlite", api, sqlite, 1, args.residents))
                for n, column in zip(counts, columns[1:], strict=True):
                    (folder / f"postgresql{n}").mkdir()
                    with fresh_postgres(args.postgres) as database:
                        rate = _measure(folder / f"postgresql{n}", api, database, n, args.residents)
                    rates[column].append(rate)
            print(f"{round_:<6}" + "".join(f"{rates[c][-1]:>16,.0f}" for c in columns))
    print(f"{'range':<6}" + "".join(f"{_range(rates[c]):>16}" for c in columns))
    print(f"{'median':<6}" + "".join(f"{statistics.median(rates[c]):>16,.0f}" for c in columns))


def _range(values: list[float]) -> str:
    return f"{min(values):,.0f}–{max(values):,.0f}"


if __name__ == "__main__":
    main()
