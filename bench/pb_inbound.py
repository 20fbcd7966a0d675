"""Casting a ballot costs no more than any other inbound message: inbound throughput of
residents voting in a budgeting round, against residents answering the welcome and a
survey, in the same run, through the whole path (signed Twilio webhooks over loopback,
storing, the engine, the reply in the outbox).

    .venv/bin/python -m bench.pb_inbound [--residents 400]

Before the timed part, a round with 12 bids is opened on a fresh database, every bid
ruled eligible and voting begun for the residents (the ballot written to the outbox for
each, as ``parley pb phase N voting`` does). Then each resident pages the list, makes a
choice, goes over budget, corrects it, casts, changes their mind and casts again: 11
messages, as many as the survey conversation of ``bench/inbound.py``. Both runs go as
fast as the service takes them; the clock stops when the last message has been acted
on. Target (issue 19): the ballot's rate is at least the survey's (within the noise of
two runs on a shared machine; both are printed).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from bench.inbound import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_URL,
    _fake_api,
    _parley,
    _requests,
    _wait_acted_on,
    closed_loop,
    sender,
)
from bot.store.sql import Tx

BALLOT = ["0", "1 3", "hello", "2 4 6 8 9 11", "1 3 5 7", "?4", "yes", "+2", "-1", "yes", "0"]
PROJECTS = [
    ("Community garden", 12000),
    ("Youth club nights", 18500),
    ("Benches on the green", 4500),
    ("Longer library hours", 22000),
    ("Food bank van", 16000),
    ("Play area repair", 30000),
    ("A mural by the station", 8000),
    ("Street lights on Oak Lane", 25000),
    ("Bike racks", 3000),
    ("English classes for adults", 14000),
    ("Skate park", 40000),
    ("Clean-up days", 2500),
]


async def _prepare(folder: Path, residents: int, first: int) -> None:
    """A round in voting, its ballot written for ``residents`` who consented."""
    from bot.cli.office import Office
    from bot.desk import budgeting as desk_pb
    from bot.desk.budgeting import BidSpec, RoundSpec
    from bot.settings import load_settings
    from bot.store import contacts

    settings = load_settings(
        {
            "PARLEY_DATABASE": str(folder / "parley.db"),
            "PARLEY_PUBLIC_URL": PUBLIC_URL,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM": "+447700900999",
        },
        config_file=folder / "parley.toml",
    )
    office = await Office.open(settings)
    now = datetime.now(UTC)

    def people(tx: Tx) -> None:
        for r in range(first, first + residents):
            found = contacts.touch(tx, "sms", sender(r), "en", now)
            contacts.update(tx, found, {"consent": "yes"})

    try:
        await office.database.run(people)
        made = await office.at_desk(
            lambda desk: desk_pb.open_round(desk, RoundSpec("Oakfield Fund", 100000))
        )
        for title, cost in PROJECTS:
            spec = BidSpec(title, f"{title}, for Oakfield.", cost, "Oakfield Residents")
            await office.at_desk(partial(desk_pb.add_bid, round_id=made.id, spec=spec))
        await office.at_desk(lambda desk: desk_pb.begin(desk, made.id, "screening"))
        for number in range(1, len(PROJECTS) + 1):
            await office.at_desk(
                partial(desk_pb.rule, round_id=made.id, number=number, reason="", eligible=True)
            )
        await office.at_desk(lambda desk: desk_pb.begin(desk, made.id, "voting"))
    finally:
        await office.close()


def _rate(folder: Path, api: str, conversation: list[str], residents: int, first: int) -> float:
    parley, database = _parley(folder, api)
    total = residents * len(conversation)
    try:
        started = time.perf_counter()
        asyncio.run(closed_loop(parley.base, _requests(residents, first, conversation)))
        finished = _wait_acted_on(database, total)
    finally:
        parley.stop()
    return total / (finished - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=400)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    from bench.inbound import CONVERSATION

    survey: list[float] = []
    ballot: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, _fake_api() as api:
        for run in range(args.runs):
            folder = Path(tmp) / f"survey{run}"
            folder.mkdir()
            survey.append(_rate(folder, api, CONVERSATION, args.residents, 0))
            folder = Path(tmp) / f"ballot{run}"
            folder.mkdir()
            (folder / "parley.toml").write_text("[parley]\n", encoding="utf-8")
            first = 10**6
            asyncio.run(_prepare(folder, args.residents, first))
            ballot.append(_rate(folder, api, BALLOT, args.residents, first))
    total = args.residents * len(BALLOT)
    print(
        f"survey messages: {', '.join(f'{r:,.0f}' for r in survey)} acted on per second;"
        f" ballot messages: {', '.join(f'{r:,.0f}' for r in ballot)} per second"
        f" ({args.residents} residents x {len(BALLOT)} messages = {total} each run)"
    )
    print(f"ballot / survey: {min(ballot) / max(survey):.0%} to {max(ballot) / min(survey):.0%}")


if __name__ == "__main__":
    main()
