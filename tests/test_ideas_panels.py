"""Ideas, panels and decisions below the channels: personal details flagged before any
worker sees an idea, references, the replacement rule, quorum and thresholds, and a
decision's reach counted from the outbox's delivery states."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.civic import ideas, panels
from bot.civic.sortition import Quota
from bot.content import load_content
from bot.desk import Actor, Desk, Front, Role
from bot.flowfile.triggers import read_triggers
from bot.lang import pii
from bot.phone import commands as staff
from bot.phone import ideas as moderation
from bot.phone.reply import Phone
from bot.settings import Settings, load_settings
from bot.store import Database, broadcasts, contacts, messages
from bot.store import decisions as stored_decisions
from bot.store import ideas as stored
from bot.store.broadcasts import NewBroadcast
from bot.store.panels import Member
from bot.store.sql import Tx
from tests import databases

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Call me on 07700 900123 about it", "Call me on [phone] about it"),
        ("ring +44 (0)20 7946 0958", "ring [phone]"),
        ("اتصل ٠٧٧٠٠٩٠٠١٢٣", "اتصل [phone]"),
        ("write to jo.smith@example.org", "write to [email]"),
        ("fix the light outside 12 Acacia Road please", "fix the light outside [address] please"),
        ("ul. Długa 5 needs a bin", "[address] needs a bin"),
        ("Calle Mayor 3 está sucia", "[address] está sucia"),
        ("near E1 6AN", "near [address]"),
    ],
)
def test_personal_details_are_found_and_hidden(text: str, shown: str) -> None:
    found = pii.find(text, "GB")
    assert found
    assert pii.redact(text, found) == shown


@pytest.mark.parametrize(
    "text",
    [
        "More benches in the park",
        "Bus 25 every 10 minutes at night",
        "Open the youth club 3 evenings a week",
        "Spend £4,000 on street lights in 2027",
        "Więcej autobusów nocnych",
    ],
)
def test_ordinary_ideas_are_not_flagged(text: str) -> None:
    assert pii.find(text, "GB") == []


def test_references_are_short_unique_and_read_back() -> None:
    refs = [stored.reference(n) for n in range(1, 9001)]
    assert refs[0] == "ID-4821"
    assert len(set(refs)) == 9000
    assert all(len(ref) == 7 for ref in refs)
    for n in (1, 2, 4500, 9000, 9001, 123_456):
        ref = stored.reference(n)
        assert stored.idea_id_of(ref) == n
        assert stored.idea_id_of(ref.lower().replace("-", "")) == n
    assert stored.idea_id_of("12") is None
    assert stored.idea_id_of("ID-0821") is None  # no reference starts with 0
    assert stored.idea_id_of("hello") is None


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    config = tmp_path / "parley.toml"
    config.write_text("[parley]\n", encoding="utf-8")
    return load_settings({"PARLEY_DATABASE": databases.of(tmp_path)}, config_file=config)


async def test_a_flagged_idea_is_hidden_from_workers_until_an_organiser_approves_it(
    settings: Settings,
) -> None:
    flows, env = load_content(settings)
    database = await Database.open(settings.database)

    def desk(tx: Tx, role: Role) -> Phone:
        return Phone(Desk(tx, settings, env, flows, NOW, Actor("contact 1", role, Front.PHONE)))

    def work(tx: Tx) -> None:
        sender = contacts.touch(tx, "sms", "+447700900999", "en", NOW)
        door = "Fix my door at 12 Acacia Road, 07700 900123"
        flagged = ideas.submit(tx, sender, door, "en", NOW, region="GB")
        plain = ideas.submit(tx, sender, "More benches", "en", NOW, region="GB")
        assert flagged.pii == ("phone", "address")
        assert flagged.shown_text == "Fix my door at [address], [phone]"
        worker = desk(tx, Role.WORKER)
        listed = moderation.listing(worker, "").text
        assert flagged.reference not in listed
        assert "Acacia" not in listed
        assert "1 flagged idea waits for an organiser." in listed
        organiser_view = moderation.listing(desk(tx, Role.ORGANISER), "").text
        assert f"{flagged.reference} new · FLAGGED phone/address" in organiser_view
        assert "900123" not in organiser_view
        for command in (f"/approve {flagged.reference}", f"/idea {flagged.reference}"):
            found = staff.command_of(command)
            assert found is not None
            assert staff.perform(worker, found, command).refused
        # Not approved: it cannot be shortlisted, even by an organiser.
        organiser = desk(tx, Role.ORGANISER)
        refusal = staff.perform(
            organiser,
            staff.Command.SHORTLIST,
            f"/shortlist {flagged.reference} {plain.reference}",
        )
        assert refusal.refused
        assert "only approved ideas" in refusal.text
        for ref in (flagged.reference, plain.reference):
            assert not staff.perform(organiser, staff.Command.APPROVE, f"/approve {ref}").refused
        # Approved by an organiser: now workers see it, still redacted.
        approved = moderation.listing(worker, "").text
        assert f"{flagged.reference} approved · FLAGGED phone/address" in approved
        assert "900123" not in approved
        shortlisted = staff.perform(
            organiser, staff.Command.SHORTLIST, f"/shortlist {flagged.reference} {plain.reference}"
        )
        assert not shortlisted.refused, shortlisted.text
        options = tx.execute("SELECT options FROM polls").fetchone()[0]
        assert "[address], [phone]" in options
        assert "900123" not in options
        assert "Acacia" not in options

    await database.run(work)
    await database.close()


async def test_an_idea_with_a_number_from_the_residents_own_country_is_flagged(
    settings: Settings,
) -> None:
    """In a GB deployment, "600 123 456" is a Polish mobile as Poles write it: flagged
    in a Polish resident's idea, left as it is in an English one (not a US number)."""
    database = await Database.open(settings.database)
    text = "Więcej ławek, zadzwoń 600 123 456"

    def work(tx: Tx) -> None:
        polish = contacts.touch(tx, "sms", "+447700900998", "pl", NOW)
        english = contacts.touch(tx, "sms", "+447700900997", "en", NOW)
        flagged = ideas.submit(tx, polish, text, "pl", NOW, region="GB")
        assert flagged.pii == ("phone",)
        assert flagged.shown_text == "Więcej ławek, zadzwoń [phone]"
        plain = ideas.submit(tx, english, text, "en", NOW, region="GB")
        assert (plain.pii, plain.shown_text) == ((), text)

    await database.run(work)
    await database.close()


def _member(number: int, status: str, **profile: str) -> Member:
    return Member(number, number, profile, status, None, None)


def test_a_declined_seat_goes_to_a_reserve_who_keeps_the_quotas() -> None:
    quotas = [
        Quota("gender", "woman", 2, 2),
        Quota("gender", "man", 1, 1),
        Quota("area", "north", 0, 2),
        Quota("area", "south", 0, 2),
    ]
    members = [
        _member(1, "accepted", gender="woman", area="north"),
        _member(2, "declined", gender="woman", area="south"),
        _member(3, "accepted", gender="man", area="north"),
        _member(4, "reserve", gender="man", area="south"),  # would break the gender quota
        _member(5, "reserve", gender="woman", area="north"),  # keeps quotas, shares 1
        _member(6, "reserve", gender="woman", area="south"),  # keeps quotas, shares 2
    ]
    chosen = panels.replacement(members, members[1], quotas, seed=7)
    assert chosen is not None
    assert chosen.member.number == 6
    assert chosen.keeps_quotas
    assert chosen.shared == 2


def test_among_equal_reserves_the_seeded_draw_decides_and_repeats() -> None:
    quotas = [Quota("gender", "woman", 0, 3)]
    members = [
        _member(1, "declined", gender="woman"),
        *(_member(n, "reserve", gender="woman") for n in range(2, 8)),
    ]
    picks = {seed: panels.replacement(members, members[0], quotas, seed=seed) for seed in range(20)}
    numbers = {seed: pick.member.number for seed, pick in picks.items() if pick is not None}
    assert len(set(numbers.values())) > 1
    again = panels.replacement(members, members[0], quotas, seed=3)
    assert again is not None
    assert again.member.number == numbers[3]


@pytest.mark.parametrize(
    ("counts", "members", "quorum", "threshold", "quorum_met", "threshold_met"),
    [
        ({"yes": 4, "no": 1}, 5, "75%", "80%", True, True),  # 80% exactly passes
        ({"yes": 3, "no": 1}, 5, "75%", "80%", True, False),  # 75% is short of 80%
        ({"yes": 2, "no": 1}, 5, "60%", "two-thirds", True, True),  # 2/3 exactly
        ({"yes": 3, "no": 2}, 5, "60%", "two-thirds", True, False),
        ({"yes": 2, "no": 2}, 4, "50%", "majority", True, False),  # a tie is not more than half
        ({"yes": 3, "no": 2}, 6, "50%", "majority", True, True),
        (
            {"yes": 1, "abstain": 2},
            6,
            "50%",
            "majority",
            True,
            True,
        ),  # abstaining counts for quorum
        ({"yes": 2}, 6, "4", "majority", False, True),  # a number of members
        ({"abstain": 4}, 4, "50%", "majority", True, False),  # nobody said yes or no
    ],
)
def test_quorum_and_threshold(
    counts: dict[str, int],
    members: int,
    quorum: str,
    threshold: str,
    quorum_met: bool,
    threshold_met: bool,
) -> None:
    result = panels.outcome(counts, members, quorum, threshold)
    assert (result.quorum_met, result.threshold_met) == (quorum_met, threshold_met)
    assert result.passed == (quorum_met and threshold_met)
    assert panels.Outcome.from_json(result.to_json()) == result


@pytest.mark.parametrize("threshold", ["most", "0%", "120%", "half"])
def test_a_threshold_that_is_not_one_is_refused(threshold: str) -> None:
    with pytest.raises(ValueError, match="majority, two-thirds or a percentage"):
        panels.threshold_of(threshold)


async def test_reach_matches_the_outboxs_delivery_states(settings: Settings) -> None:
    database = await Database.open(settings.database)

    def work(tx: Tx) -> tuple[stored_decisions.Reach, dict[str, int]]:
        broadcast_id = broadcasts.create(
            tx, NewBroadcast(broadcasts.MESSAGE, "{}", texts={"en": "Agreed"}), "queued", NOW
        )
        states = [
            ("queued", None),
            ("sent", None),
            ("sent", "sent"),
            ("sent", "delivered"),
            ("sent", "read"),
            ("sent", "undelivered"),
            ("failed", None),
            ("cancelled", None),
        ]
        for n, (status, delivery) in enumerate(states):
            contact = contacts.touch(tx, "sms", f"+4477009001{n:02d}", "en", NOW)
            row = messages.add_outbound(
                tx,
                messages.NewOutbound(contact.id, "sms", "Agreed", "en", broadcast_id=broadcast_id),
                NOW,
            )
            tx.execute(
                "UPDATE outbox SET status = ?, delivery = ? WHERE id = ?", (status, delivery, row)
            )
        expected = {
            str(state): int(n)
            for state, n in tx.execute(
                "SELECT CASE WHEN status = 'queued' THEN 'waiting'"
                " WHEN status = 'cancelled' THEN 'withdrawn'"
                " WHEN status = 'failed' OR delivery IN ('undelivered', 'failed') THEN 'failed'"
                " WHEN delivery IN ('delivered', 'read') THEN 'delivered' ELSE 'sent' END,"
                " count(*) FROM outbox WHERE broadcast_id = ? GROUP BY 1",
                (broadcast_id,),
            )
        }
        return stored_decisions.reach(tx, broadcast_id), expected

    reach, expected = await database.run(work)
    await database.close()
    assert expected == {"waiting": 1, "sent": 2, "delivered": 2, "failed": 2, "withdrawn": 1}
    assert reach == stored_decisions.Reach(
        recipients=8, waiting=1, sent=2, delivered=2, failed=2, withdrawn=1
    )
    assert reach.reached == 4


def test_an_answering_trigger_needs_a_flow_that_starts_with_a_text_question(
    settings: Settings,
) -> None:
    flows, _ = load_content(settings)
    text = "triggers:\n  - flow: poll_fund\n    answer: true\n    words:\n      en: [fund]\n"
    _, problems = read_triggers(text, "triggers.yaml", flows)
    assert problems == [
        (
            3,
            "triggers.yaml:3: trigger 1: 'answer: true' needs flow 'poll_fund' to start"
            " with a text question",
        )
    ]
