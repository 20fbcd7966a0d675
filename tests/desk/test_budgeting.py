"""The desk's budgeting operations on a real database: what is refused and why, phases
in order and on schedule, screening by the panel, roles."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import TypeVar

import pytest

from bot.desk import Actor, Desk, Forbidden, Front, Invalid, Refused, Role
from bot.desk import budgeting as desk_pb
from bot.desk.budgeting import BidSpec, RoundSpec
from bot.store import contacts, panels
from tests.conftest import Harness

T = TypeVar("T")


async def at_desk(harness: Harness, work: Callable[[Desk], T], role: Role = Role.ORGANISER) -> T:
    app = harness.app
    return await app.database.run(
        lambda tx: work(
            Desk(
                tx,
                app.settings,
                app.jobs.env,
                app.jobs.flows,
                harness.clock(),
                Actor("olu", role, Front.CLI),
            )
        )
    )


async def a_round(harness: Harness, **given: object) -> int:
    spec = RoundSpec("Oakfield Fund", 100000, **given)  # type: ignore[arg-type]
    return (await at_desk(harness, lambda desk: desk_pb.open_round(desk, spec))).id


def garden(cost: int = 12000) -> BidSpec:
    return BidSpec("Community garden", "Raised beds.", cost, "Oakfield Residents")


@pytest.mark.parametrize(
    ("cost", "problem"),
    [
        (0, "the cost is a whole amount above 0"),
        (-5, "the cost is a whole amount above 0"),
        (100001, "the cost 100001 is more than the round's whole budget 100000"),
    ],
)
async def test_a_cost_of_zero_or_less_or_above_the_budget_is_refused_when_entered(
    harness: Harness, cost: int, problem: str
) -> None:
    round_id = await a_round(harness)
    with pytest.raises(Invalid) as refused:
        await at_desk(harness, lambda desk: desk_pb.add_bid(desk, round_id, garden(cost)))
    assert refused.value.field == "cost"
    assert str(refused.value) == problem
    assert await harness.rows("SELECT * FROM pb_bids") == []


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"budget": 0}, "budget"),
        ({"currency": "XYZ"}, "currency"),
        ({"style": "k_approval"}, "k"),
        ({"style": "ranking", "k": 0}, "k"),
        ({"rule": "borda"}, "rule"),
        ({"style": "plurality"}, "style"),
    ],
)
async def test_a_round_described_wrongly_is_refused_naming_the_setting(
    harness: Harness, given: dict[str, object], field: str
) -> None:
    spec = {"name": "Oakfield Fund", "budget": 100000, **given}
    with pytest.raises(Invalid) as refused:
        await at_desk(harness, lambda desk: desk_pb.open_round(desk, RoundSpec(**spec)))  # type: ignore[arg-type]
    assert refused.value.field == field
    assert await harness.rows("SELECT * FROM pb_rounds") == []


async def test_times_must_be_in_order_and_ahead(harness: Harness) -> None:
    now = harness.clock()
    with pytest.raises(Invalid) as past:
        await a_round(harness, voting_at=now - timedelta(hours=1))
    assert past.value.field == "voting_at"
    with pytest.raises(Invalid) as backwards:
        await a_round(
            harness, voting_at=now + timedelta(days=2), counted_at=now + timedelta(days=1)
        )
    assert backwards.value.field == "counted_at"


async def test_only_organisers_open_rounds_and_rule_but_workers_enter_bids(
    harness: Harness,
) -> None:
    spec = RoundSpec("Oakfield Fund", 100000)
    with pytest.raises(Forbidden):
        await at_desk(harness, lambda desk: desk_pb.open_round(desk, spec), Role.WORKER)
    round_id = await a_round(harness)
    bid = await at_desk(
        harness, lambda desk: desk_pb.add_bid(desk, round_id, garden()), Role.WORKER
    )
    assert bid.number == 1
    with pytest.raises(Forbidden):
        await at_desk(harness, lambda desk: desk_pb.rule(desk, round_id, 1, "", True), Role.WORKER)


async def test_phases_go_in_order_and_voting_waits_for_every_ruling(harness: Harness) -> None:
    round_id = await a_round(harness)
    for _ in range(3):
        await at_desk(harness, lambda desk: desk_pb.add_bid(desk, round_id, garden()))
    with pytest.raises(Refused, match="in its bids phase, so voting cannot begin"):
        await at_desk(harness, lambda desk: desk_pb.begin(desk, round_id, "voting"))
    await at_desk(harness, lambda desk: desk_pb.begin(desk, round_id, "screening"))
    await harness.app.jobs.run_due()
    await at_desk(harness, lambda desk: desk_pb.rule(desk, round_id, 2, "", True))
    with pytest.raises(Refused, match="bids 1, 3 are not screened yet"):
        await at_desk(harness, lambda desk: desk_pb.begin(desk, round_id, "voting"))
    with pytest.raises(Invalid) as no_reason:
        await at_desk(harness, lambda desk: desk_pb.rule(desk, round_id, 1, " ", False))
    assert no_reason.value.field == "reason"
    rows = await harness.rows("SELECT phase FROM pb_rounds")
    assert rows == [{"phase": "screening"}]  # the refusals changed nothing
    await at_desk(harness, lambda desk: desk_pb.rule(desk, round_id, 1, "Too costly.", False))
    await at_desk(harness, lambda desk: desk_pb.rule(desk, round_id, 3, "", True))
    await at_desk(harness, lambda desk: desk_pb.begin(desk, round_id, "voting"))
    await harness.app.jobs.run_due()
    assert await harness.rows("SELECT phase FROM pb_rounds") == [{"phase": "voting"}]
    with pytest.raises(Refused, match="its bids can no longer change"):
        await at_desk(harness, lambda desk: desk_pb.add_bid(desk, round_id, garden()))


async def test_phases_begin_on_schedule(harness: Harness) -> None:
    now = harness.clock()
    round_id = await a_round(harness, screening_at=now + timedelta(days=1))
    await at_desk(harness, lambda desk: desk_pb.add_bid(desk, round_id, garden()))
    await harness.app.jobs.run_due()
    assert await harness.rows("SELECT phase FROM pb_rounds") == [{"phase": "bids"}]
    harness.clock.advance(days=1, minutes=1)
    await harness.app.jobs.run_due()
    assert await harness.rows("SELECT phase FROM pb_rounds") == [{"phase": "screening"}]


async def test_screening_puts_each_bid_to_the_panel_and_its_vote_rules_it(
    harness: Harness,
) -> None:
    def panel_of_two(desk: Desk) -> int:
        panel_id = panels.create(desk.tx, "Panel", 1, desk.now)
        for number, address in enumerate(("+447700900501", "+447700900502"), 1):
            member = contacts.touch(desk.tx, "sms", address, "en", desk.now)
            desk.tx.execute(
                "INSERT INTO panel_members (panel_id, contact_id, number, profile, status,"
                " volunteered_at) VALUES (?, ?, ?, '{}', 'accepted', ?)",
                (panel_id, member.id, number, desk.now.isoformat()),
            )
        return panel_id

    panel_id = await at_desk(harness, panel_of_two)
    round_id = await a_round(harness, panel_id=panel_id)
    for cost in (12000, 5000):
        await at_desk(harness, partial(desk_pb.add_bid, round_id=round_id, spec=garden(cost)))
    await at_desk(harness, lambda desk: desk_pb.begin(desk, round_id, "screening"))
    await harness.app.jobs.run_due()
    polls = await harness.rows("SELECT id, panel_id, status FROM polls ORDER BY id")
    assert [(p["panel_id"], p["status"]) for p in polls] == [(panel_id, "open")] * 2
    await harness.app.dispatcher.drain()
    for address in ("+447700900501", "+447700900502"):
        asked = [m.text for m in harness.sent if m.address == address][-1]
        for _ in range(2):  # no to bid 1, yes to bid 2, in the order each was asked
            number = re.findall(r"bid (\d+):", asked)[-1]
            asked = (await harness.send("2" if number == "1" else "1", address))[-1]
    await at_desk(harness, lambda desk: desk_pb.rule(desk, round_id, 1, "Not in the ward."))
    await at_desk(harness, lambda desk: desk_pb.begin(desk, round_id, "voting"))
    await harness.app.jobs.run_due()
    bids = await harness.rows("SELECT number, status, reason FROM pb_bids ORDER BY number")
    assert bids == [
        {"number": 1, "status": "ineligible", "reason": "Not in the ward."},
        {"number": 2, "status": "eligible", "reason": None},
    ]


async def test_bids_from_a_csv_file_are_all_entered_or_none(harness: Harness) -> None:
    round_id = await a_round(harness)
    text = (
        "title,description,cost,proposer,ward\n"
        "Garden,Beds.,12000,Residents,North\n"
        "Benches,Six.,0,Friends,North\n"
    )
    specs = desk_pb.read_bids(text, "bids.csv")
    with pytest.raises(Invalid, match=r"^bids.csv:3: the cost is a whole amount above 0$"):
        await at_desk(harness, lambda desk: desk_pb.import_bids(desk, round_id, specs))
    assert await harness.rows("SELECT * FROM pb_bids") == []
    with pytest.raises(Invalid, match=r"^bids.csv:2: the cost '12k' is not a whole amount$"):
        desk_pb.read_bids("title,description,cost,proposer\nGarden,Beds.,12k,Residents\n")
    with pytest.raises(Invalid, match=r"^bids\.csv:1: missing column cost"):
        desk_pb.read_bids("title,description,proposer\n")
    good = desk_pb.read_bids(text.replace(",0,", ",4500,"), "bids.csv")
    made = await at_desk(harness, lambda desk: desk_pb.import_bids(desk, round_id, good))
    assert [(b.number, b.cost, b.ward) for b in made] == [(1, 12000, "North"), (2, 4500, "North")]


async def test_an_idea_sent_by_text_becomes_a_bid_whose_sender_hears_of_it(
    harness: Harness,
) -> None:
    await harness.send("hi", "+447700900601")
    await harness.send("IDEA a garden by the flats, about £12,000", "+447700900601")
    round_id = await a_round(harness)
    made = await at_desk(
        harness,
        lambda desk: desk_pb.bid_from_idea(desk, round_id, "ID-4821", None, "Garden", "Flats"),
    )
    assert made.cost == 12000  # the amount the idea names
    sender = await harness.rows("SELECT id FROM contacts WHERE address = '+447700900601'")
    assert made.proposer_id == sender[0]["id"]
    assert made.description["en"] == "a garden by the flats, about £12,000"
    assert desk_pb.cost_in("benches, 4500 pounds") == 4500
    assert desk_pb.cost_in("three benches please") is None


async def test_a_translation_into_an_unknown_language_is_refused(harness: Harness) -> None:
    round_id = await a_round(harness)
    await at_desk(harness, lambda desk: desk_pb.add_bid(desk, round_id, garden()))
    with pytest.raises(Invalid) as refused:
        await at_desk(harness, lambda desk: desk_pb.translate(desk, round_id, 1, "xx", "X", ""))
    assert refused.value.field == "language"
    done = await at_desk(
        harness, lambda desk: desk_pb.translate(desk, round_id, 1, "pl", "Ogród", "Grządki.")
    )
    assert done.title == {"en": "Community garden", "pl": "Ogród"}


async def test_a_count_cut_short_by_a_restart_is_finished_and_sent_once(harness: Harness) -> None:
    round_id = await a_round(harness)
    await at_desk(harness, lambda desk: desk_pb.add_bid(desk, round_id, garden()))
    await at_desk(harness, lambda desk: desk_pb.begin(desk, round_id, "screening"))
    await harness.app.jobs.run_due()
    await at_desk(harness, lambda desk: desk_pb.rule(desk, round_id, 1, "", True))
    await at_desk(harness, lambda desk: desk_pb.begin(desk, round_id, "voting"))
    await harness.app.jobs.run_due()
    # Voting closed, and the process stopped before the count was stored.
    await harness.app.database.run(
        lambda tx: tx.execute("UPDATE pb_rounds SET phase = 'counted' WHERE id = ?", (round_id,))
    )
    assert await harness.app.jobs.resume() == 1
    assert await harness.app.jobs.resume() == 0  # counted once, sent once
    rows = await harness.rows("SELECT count IS NOT NULL AS counted, decision_id FROM pb_rounds")
    assert rows == [{"counted": 1, "decision_id": 1}]
    assert len(await harness.rows("SELECT * FROM decision_sends")) == 1
