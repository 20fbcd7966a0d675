"""A ballot in the conversation (the real service on a real SQLite file): STOP, HELP and
LANGUAGE work in the middle of it without losing the choice; a changed ballot starts
from what was cast; a ballot after the close is refused and not counted."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from bot.desk import Actor, Desk, Front, Role
from bot.desk import budgeting as desk_pb
from bot.desk.budgeting import BidSpec, RoundSpec
from bot.store import contacts
from tests.conftest import Harness

T = TypeVar("T")
VOTER = "+447700900701"


async def at_desk(harness: Harness, work: Callable[[Desk], T]) -> T:
    app = harness.app
    actor = Actor("olu", Role.ORGANISER, Front.CLI)
    return await app.database.run(
        lambda tx: work(
            Desk(tx, app.settings, app.jobs.env, app.jobs.flows, harness.clock(), actor)
        )
    )


async def voting(harness: Harness) -> int:
    """A round of three bids in voting, its ballot sent to one resident who consented."""

    def resident(desk: Desk) -> None:
        found = contacts.touch(desk.tx, "sms", VOTER, "en", desk.now)
        contacts.update(desk.tx, found, {"consent": "yes"})

    await at_desk(harness, resident)
    made = await at_desk(harness, lambda desk: desk_pb.open_round(desk, RoundSpec("Fund", 20000)))
    for title, cost in (("Garden", 12000), ("Benches", 4500), ("Mural", 8000)):
        spec = BidSpec(title, f"{title} for all.", cost, "Residents")
        await at_desk(harness, partial(desk_pb.add_bid, round_id=made.id, spec=spec))
    await at_desk(harness, lambda desk: desk_pb.begin(desk, made.id, "screening"))
    await harness.app.jobs.run_due()
    for number in (1, 2, 3):
        await at_desk(
            harness,
            partial(desk_pb.rule, round_id=made.id, number=number, reason="", eligible=True),
        )
    await at_desk(harness, lambda desk: desk_pb.begin(desk, made.id, "voting"))
    await harness.app.jobs.run_due()
    await harness.app.dispatcher.drain()
    return made.id


async def test_help_and_stop_in_the_middle_of_a_ballot(harness: Harness) -> None:
    await voting(harness)
    assert (await harness.send("1 2", VOTER))[-1].startswith(
        "You chose 1 and 2: £16,500 of £20,000."
    )
    helped = await harness.send("HELP", VOTER)
    assert "reply with the number of your answer" in helped[-1]
    assert "You chose 1 and 2: £16,500 of £20,000." in helped[-1]  # asked again, choice kept
    cast = await harness.send("yes", VOTER)
    assert cast[-1].startswith("Your ballot is cast: 1 and 2 (£16,500 of £20,000).")
    assert (await harness.send("STOP", VOTER))[-1].startswith("You will get no more messages")
    assert await harness.send("3", VOTER) == []  # opted out: nothing, not even a hint


async def test_language_in_the_middle_of_a_ballot_keeps_the_choice(harness: Harness) -> None:
    await voting(harness)
    await harness.send("2", VOTER)
    menu = await harness.send("LANGUAGE", VOTER)
    assert "Polski" in menu[-1]
    number = next(line.split(".")[0] for line in menu[-1].splitlines() if "Polski" in line)
    back = await harness.send(number, VOTER)
    assert "You chose 2" in back[-1]  # no bid is in Polish: the ballot stays in English
    cast = await harness.send("tak", VOTER)  # yes, in Polish
    assert cast[-1].startswith("Your ballot is cast: 2 (£4,500 of £20,000).")


async def test_a_ballot_is_changed_from_what_was_cast_until_the_close(harness: Harness) -> None:
    round_id = await voting(harness)
    await harness.send("1", VOTER)
    await harness.send("yes", VOTER)
    changed = await harness.send("+3", VOTER)
    assert changed[-1].startswith("You chose 1 and 3: £20,000 of £20,000.")
    await harness.send("yes", VOTER)
    rows = await harness.rows("SELECT choice, changes FROM pb_ballots")
    assert rows == [{"choice": "[1, 3]", "changes": 1}]
    await at_desk(harness, lambda desk: desk_pb.begin(desk, round_id, "counted"))
    await harness.app.jobs.run_due()
    late = await harness.send("2", VOTER)
    assert any(text.endswith("Sorry, voting has closed.") for text in late)
    assert await harness.rows("SELECT choice, changes FROM pb_ballots") == rows


async def test_a_round_exported_as_pabulib_counts_as_parley_counted_it(
    harness: Harness, tmp_path: Path
) -> None:
    from bot.civic.budgeting import count, pabulib
    from bot.civic.budgeting.phases import outcome_json

    round_id = await voting(harness)
    await harness.send("1 2", VOTER)
    await harness.send("yes", VOTER)
    await at_desk(harness, lambda desk: desk_pb.begin(desk, round_id, "counted"))
    await harness.app.jobs.run_due()
    ballots = await at_desk(harness, lambda desk: desk_pb.export(desk, round_id))
    file = tmp_path / "fund.pb"
    pabulib.write(ballots.election, file)
    again = count.both(pabulib.read(file))
    stored = (await at_desk(harness, lambda desk: desk_pb.show(desk, round_id))).count
    assert stored == {"greedy": outcome_json(again[0]), "mes": outcome_json(again[1])}
    assert "+44" not in file.read_text(encoding="utf-8")  # voters by pseudonym only
