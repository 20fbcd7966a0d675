"""Closing the loop, end to end: ideas from SMS and Telegram residents → moderation on
Telegram → a shortlist poll → votes → a panel chosen by lot → the panel votes on two
bids (one passes 80%, one fails) → a decision → every participant and idea sender hears
it in their language; a resident who opted out hears nothing.

The real web service, dispatcher and scheduler run; residents use the real twilio SDK
(SMS) and python-telegram-bot (Telegram) against fake providers on 127.0.0.1. Organiser
steps that are command-line only (panels, decisions) call what ``parley panel`` and
``parley decision`` call, on the running Parley's database."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bot import staff_text
from bot.civic import decisions, panels, sortition
from bot.civic.polls import as_flow
from bot.desk import Actor, Desk, Front, Role
from bot.desk import broadcasts as desk_broadcasts
from bot.desk import decisions as desk_decisions
from bot.desk.broadcasts import store_draft
from bot.desk.polls import create as create_poll
from bot.outreach.audience import Audience
from bot.outreach.broadcast import Survey
from bot.store import Database, broadcasts, contacts
from bot.store import decisions as stored_decisions
from bot.store.broadcasts import NewBroadcast
from bot.store.ideas import reference
from bot.store.sql import Tx
from tests.channels.conftest import Live, live_settings, telegram_env, twilio_env, until
from tests.channels.test_staff_poll import Parties
from tests.conftest import Clock
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

T = TypeVar("T")

WORKER, ORGANISER = 7101, 7102
SMS_EN, SMS_AR, SMS_BN, SMS_GONE = (
    "+447700900301",
    "+447700900302",
    "+447700900303",
    "+447700900304",
)
TG_PL, TG_UK, TG_EN = 6101, 6102, 6103
STAFF = f"telegram:{WORKER}=worker,telegram:{ORGANISER}=organiser"
PHONE = "07700 900123"


def _residents(tx: Tx, now: datetime) -> None:
    for channel, address, language in (
        ("sms", SMS_EN, "en"),
        ("sms", SMS_AR, "ar"),
        ("sms", SMS_BN, "bn"),
        ("sms", SMS_GONE, "en"),
        ("telegram", str(TG_PL), "pl"),
        ("telegram", str(TG_UK), "uk"),
        ("telegram", str(TG_EN), "en"),
    ):
        contact = contacts.touch(tx, channel, address, language, now)
        contacts.update(tx, contact, {"consent": "yes"})


class Organiser:
    """What the command line does, on the running Parley's database."""

    def __init__(self, parley: Live, clock: Clock) -> None:
        assert parley.server.app is not None
        self.app = parley.server.app
        self.clock = clock

    async def at_desk(self, work: Callable[[Desk], T]) -> T:
        app = self.app
        return await app.database.run(
            lambda tx: work(
                Desk(
                    tx,
                    app.settings,
                    app.jobs.env,
                    app.jobs.flows,
                    self.clock(),
                    Actor("organiser", Role.ORGANISER, Front.CLI),
                )
            )
        )

    async def send(self, new: NewBroadcast, content: Any) -> int:
        def work(desk: Desk) -> int:
            drafted = store_draft(desk, new, content)
            desk_broadcasts.send(desk, drafted.id)
            return drafted.id

        broadcast_id = await self.at_desk(work)
        await self.app.jobs.run_due()
        return broadcast_id

    async def run_due(self) -> None:
        await self.app.jobs.run_due()


async def test_ideas_to_panel_to_decision_every_participant_hears_in_their_language(
    tmp_path: Path,
    fake_twilio: tuple[FakeTwilio, str],
    fake_telegram: tuple[FakeTelegram, str],
    live: Any,
) -> None:
    twilio, twilio_api = fake_twilio
    telegram, telegram_api = fake_telegram
    clock = Clock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))  # midday: not quiet hours
    settings = live_settings(
        tmp_path, **twilio_env(twilio_api), **telegram_env(telegram_api), PARLEY_STAFF=STAFF
    )
    database = await Database.open(settings.database)
    await database.run(lambda tx: _residents(tx, clock()))
    await database.close()

    async with live(settings, clock) as parley:
        people = Parties(parley, twilio, telegram)
        organiser = Organiser(parley, clock)

        def sent_to(who: tuple[str, str]) -> list[str]:
            channel, address = who
            if channel == "sms":
                return twilio.to(address)
            return [m["text"] for m in telegram.to(int(address))]

        env = organiser.app.jobs.env

        def said(language: str, message: str, **params: object) -> str:
            return env.phrases.text(language, message, **params)

        # -- ideas, by SMS and Telegram, in any language --------------------------------
        benches = await people.text(SMS_EN, "IDEA More benches in the park")
        assert benches.startswith("Your idea is saved as ID-4821.")
        assert "What is it about?" in benches  # the optional category
        await people.text(SMS_EN, "4")  # parks
        buses = await people.chat(TG_PL, "pomysł Więcej nocnych autobusów", "pl")
        assert buses.startswith(said("pl", "Your idea is saved as %(ref)s.", ref=reference(2)))
        private = await people.text(SMS_AR, f"فكرة اتصلوا بي على {PHONE} بخصوص الحديقة")
        assert reference(3) in private
        await people.text(SMS_GONE, "idea benches please")
        assert await people.chat(TG_UK, "ідея", "uk") == as_flow_question(organiser, "uk")
        lights = await people.chat(TG_UK, "Більше світла на вулицях", "uk")
        assert reference(5) in lights
        await people.text(SMS_GONE, "STOP")  # the sender of idea 4 opts out

        # -- moderation on Telegram: a flagged idea is never shown to a worker -------------
        listed = await people.chat(WORKER, "/ideas")
        assert "ID-4821" in listed
        assert reference(3) not in listed
        assert "1 flagged idea waits for an organiser." in listed
        assert "900123" not in listed
        hidden = await people.chat(WORKER, f"/idea {reference(3)}")
        assert hidden.startswith("There is no idea")  # a worker cannot open it either
        flagged = await people.chat(ORGANISER, "/ideas")
        assert f"{reference(3)} new · FLAGGED phone" in flagged
        assert "[phone]" in flagged
        assert "900123" not in flagged
        refused = await people.chat(WORKER, f"/approve {reference(3)}")
        assert refused.startswith("There is no idea")
        assert "approved" in await people.chat(ORGANISER, f"/approve {reference(3)}")
        merged = await people.chat(WORKER, f"/merge {reference(4)} into ID-4821")
        assert merged == f"{reference(4)} merged into ID-4821; its sender is told."
        for ref in ("ID-4821", reference(2), reference(5)):
            assert "approved" in await people.chat(WORKER, f"/approve {ref}")
        rejected = await people.chat(WORKER, f"/reject {reference(5)} done")
        assert "will not be taken forward" in rejected
        await until(lambda: len(telegram.to(TG_UK)) == 3)
        assert people.last(TG_UK)["text"] == said(
            "uk",
            "Your idea %(ref)s will not be taken forward. %(reason)s",
            ref=reference(5),
            reason=said("uk", "It is already being done."),
        )

        # -- shortlisting: one action makes the poll, and the senders are told ------------
        drafted = await people.chat(
            WORKER, f"/shortlist ID-4821 {reference(2)} {reference(3)}\ncloses: 2d"
        )
        assert drafted.startswith("Shortlisted 3 ideas; their senders are told.")
        assert "1. More benches in the park" in drafted
        assert "[phone]" in drafted
        assert "900123" not in drafted
        assert "6 residents" in drafted  # not the opted-out one, not staff
        await until(lambda: len(twilio.to(SMS_AR)) == 2)
        assert twilio.to(SMS_AR)[-1] == said(
            "ar",
            "Good news: your idea %(ref)s is on the shortlist. Residents will now vote on it.",
            ref=reference(3),
        )
        buttons = people.last(WORKER)["reply_markup"]["inline_keyboard"]
        send = buttons[0][0]["callback_data"]
        assert (await people.press(WORKER, send)).endswith("is being sent.")
        await until(lambda: len(twilio.to(SMS_BN)) == 1 and len(telegram.to(TG_EN)) == 1)
        assert "More benches in the park" in twilio.to(SMS_BN)[0]

        # -- residents vote ----------------------------------------------------------------
        for sender, choice in ((SMS_EN, "1"), (SMS_AR, "1"), (SMS_BN, "3")):
            await people.text(sender, choice)
        for chat, choice, language in ((TG_PL, "2", "pl"), (TG_UK, "1", "uk"), (TG_EN, "1", "en")):
            await people.chat(chat, choice, language)
        assert await people.chat(ORGANISER, "/close 1") == "Poll 1 is closing now."
        results = await people.chat(ORGANISER, "/results 1")
        assert "6 voters" in results

        # -- a panel by lot: invitation, volunteers, the draw, seats ------------------------
        asked = {who: len(sent_to(who)) for who in _everyone()}
        invite = await organiser.send(
            NewBroadcast(broadcasts.FLOW, Audience(sample=10, seed=5).to_json(), flow_id="panel"),
            Survey(organiser.app.jobs.flows["panel"]),
        )
        await organiser.at_desk(lambda desk: _link_panel(desk, invite))
        await until(lambda: all(len(sent_to(w)) == asked[w] + 1 for w in _everyone()))
        profiles = {
            SMS_EN: ["1", "1", "1", "3", "1", "1"],  # north, 45-64, woman, owned
            SMS_AR: ["1", "1", "2", "2", "2", "3"],  # south, 30-44, man, social
            SMS_BN: ["1", "1", "3", "1", "1", "2"],  # east, 16-29, woman, private
        }
        for sender, replies in profiles.items():
            for reply in replies:
                await people.text(sender, reply)
        for chat, replies, language in (
            (TG_PL, ["1", "1", "4", "4", "2", "2"], "pl"),  # west, 65+, man, private
            (TG_UK, ["1", "1", "5", "2", "1", "3"], "uk"),  # centre, 30-44, woman, social
        ):
            for reply in replies:
                await people.chat(chat, reply, language)
        declined = await people.chat(TG_EN, "2")  # not interested
        assert declined == "Thank you. You will not be in the draw for this panel."
        volunteers = await parley.rows("SELECT * FROM panel_members ORDER BY number")
        assert len(volunteers) == 5
        assert json.loads(volunteers[0]["profile"]) == {
            "area": "north",
            "age": "age45_64",
            "gender": "woman",
            "tenure": "owned",
        }

        quotas = [
            *(
                sortition.Quota("area", a, 0, 1)
                for a in ("north", "south", "east", "west", "centre")
            ),
            *(
                sortition.Quota("age", a, 0, 2)
                for a in ("age16_29", "age30_44", "age45_64", "age65_plus")
            ),
            sortition.Quota("gender", "woman", 2, 3),
            sortition.Quota("gender", "man", 1, 2),
            sortition.Quota("gender", "other", 0, 1),
            *(sortition.Quota("tenure", t, 0, 2) for t in ("owned", "private", "social", "other")),
        ]
        members = await organiser.at_desk(lambda desk: _members(desk))
        draw = sortition.draw(panels.pool(members), quotas, 4, seed=7)
        await organiser.at_desk(
            lambda desk: panels.record(desk.tx, 1, members, quotas, 4, draw, desk.now)
        )
        report = await organiser.at_desk(lambda desk: _report(desk))
        assert "seed 7" in report[0]
        assert f"lowest {100 * draw.minimum:.2f}%" in report[1]
        await organiser.at_desk(
            lambda desk: panels.notify(desk.tx, desk.env, "panel_seat", 1, desk.actor.who, desk.now)
        )
        await organiser.run_due()
        rows = await parley.rows(
            "SELECT c.channel, c.address, m.status FROM panel_members m"
            " JOIN contacts c ON c.id = m.contact_id ORDER BY m.number"
        )
        chosen = [(r["channel"], r["address"]) for r in rows if r["status"] == "selected"]
        reserve = [(r["channel"], r["address"]) for r in rows if r["status"] == "reserve"]
        assert len(chosen) == 4
        assert len(reserve) == 1

        # Every chosen member is asked; the reserve is thanked in their own language.
        async def answer(who: tuple[str, str], text: str) -> str:
            channel, address = who
            language = {
                SMS_EN: "en",
                SMS_AR: "ar",
                SMS_BN: "bn",
                str(TG_PL): "pl",
                str(TG_UK): "uk",
            }[address]
            if channel == "sms":
                return await people.text(address, text)
            return await people.chat(int(address), text, language)

        await until(lambda: all(sent_to(who) for who in chosen))
        await until(lambda: len(sent_to(reserve[0])) > 0)
        reserve_language = _language_of(reserve[0])
        await until(
            lambda: sent_to(reserve[0])[-1] == panels.not_chosen_text(env, reserve_language)
        )
        # One declines: the seat goes to the reserve by the rule, who is asked and accepts.
        for who in chosen[:3]:
            await answer(who, "1")
        before_seat = len(sent_to(reserve[0]))
        await answer(chosen[3], "2")
        await until(lambda: len(sent_to(reserve[0])) > before_seat)  # asked to take the seat
        await answer(reserve[0], "1")
        seated = await parley.rows(
            "SELECT contact_id, replaces FROM panel_members WHERE status = 'accepted'"
        )
        assert len(seated) == 4
        assert sum(1 for r in seated if r["replaces"] is not None) == 1
        members_now = [*chosen[:3], reserve[0]]

        # -- the panel votes on two bids: 80% needed; one passes, one fails ------------
        async def panel_vote(proposal: str, votes: list[str]) -> dict[str, Any]:
            def make(desk: Desk) -> int:
                poll = create_poll(
                    desk,
                    panels.panel_poll(
                        desk.env, "en", {"en": proposal}, 1, "75%", "80%", None, "cli"
                    ),
                )
                return poll.id

            poll_id = await organiser.at_desk(make)
            poll = await organiser.at_desk(lambda desk: _poll(desk, poll_id))
            await organiser.send(
                NewBroadcast(
                    broadcasts.POLL,
                    Audience(panel=1, panel_status=("accepted",)).to_json(),
                    flow_id=poll.flow_id,
                    poll_id=poll_id,
                ),
                Survey(as_flow(poll, env)),
            )
            await until(lambda: all(proposal in "".join(sent_to(w)) for w in members_now))
            for who, vote in zip(members_now, votes, strict=True):
                await answer(who, vote)
            assert await people.chat(ORGANISER, f"/close {poll_id}") == (
                f"Poll {poll_id} is closing now."
            )
            await parley.until_row(
                f"SELECT 1 FROM polls WHERE id = {poll_id} AND outcome IS NOT NULL"
            )
            row = (await parley.rows("SELECT outcome FROM polls WHERE id = ?", poll_id))[0]
            return {"poll": poll_id, **json.loads(row["outcome"])}

        youth = await panel_vote("Bid A: youth club evenings, £4,000", ["1", "1", "1", "1"])
        assert youth["passed"] is True
        assert youth["quorum_met"] is True
        assert youth["yes"] == 4
        lights_bid = await panel_vote("Bid B: street lights, £6,000", ["1", "1", "1", "2"])
        assert lights_bid["quorum_met"] is True
        assert lights_bid["threshold_met"] is False  # 3 of 4 is 75%, short of 80%
        assert lights_bid["passed"] is False
        outcome_lines = await people.chat(ORGANISER, f"/results {lights_bid['poll']}")
        assert "Threshold 80%: NOT met (3 of 4 yes)." in outcome_lines

        # -- the decision goes to everyone who took part, in their language ---------------
        before = {who: len(sent_to(who)) for who in _everyone()}
        texts = {
            "en": "The youth club opens 3 evenings a week from April."
            " Street lights: not this year.",
            "pl": "Klub młodzieżowy będzie otwarty 3 wieczory w tygodniu od kwietnia."
            " Oświetlenie ulic: nie w tym roku.",
            "ar": "سيفتح نادي الشباب 3 أمسيات في الأسبوع من أبريل. إنارة الشوارع: ليس هذا العام.",
            "uk": "Молодіжний клуб працюватиме 3 вечори на тиждень з квітня."
            " Вуличне освітлення: не цього року.",
        }
        answers = [
            "poll:1",
            f"poll:{youth['poll']}",
            f"poll:{lights_bid['poll']}",
            "idea:ID-4821",
            f"idea:{reference(2)}",
            f"idea:{reference(3)}",
        ]

        def record(desk: Desk) -> tuple[int, int]:
            made = desk_decisions.record(desk, "agreed", texts, answers)
            return made.decision_id, made.drafted.preview.recipients

        decision_id, recipients = await organiser.at_desk(record)
        assert recipients == 6  # everyone who took part but the one who opted out
        await organiser.run_due()
        await until(lambda: all(len(sent_to(w)) == before[w] + 1 for w in _everyone()))
        await parley.until_all_sent()
        for who in _everyone():
            language = _language_of(who)
            shown = language if language in texts else "en"  # Bengali: wholly English
            assert sent_to(who)[-1] == (
                decisions.heading(env, shown, "agreed") + "\n" + texts[shown]
            ), who
        assert twilio.to(SMS_GONE)[-1] == said(
            "en",
            "You will get no more messages from us. To start again, reply %(start)s.",
            start="START",
        )
        ideas_now = await parley.rows("SELECT id, status FROM ideas ORDER BY id")
        assert [r["status"] for r in ideas_now] == [
            "decided",
            "decided",
            "decided",
            "decided",  # merged into ID-4821
            "rejected",
        ]

        # The reach report matches the outbox, and a progress update goes to the same people.
        reach = await organiser.at_desk(lambda desk: _reach(desk, decision_id))
        assert reach.recipients == 6
        assert reach.reached == 6
        assert reach.failed == reach.waiting == reach.withdrawn == 0
        sent_rows = await parley.rows(
            "SELECT count(*) AS n FROM outbox o JOIN decision_sends d"
            " ON d.broadcast_id = o.broadcast_id WHERE o.status = 'sent'"
        )
        assert sent_rows[0]["n"] == 6

        def update(desk: Desk) -> int:
            done = {"en": "The youth club is now open on Monday, Wednesday and Friday."}
            sent = desk_decisions.update(desk, decision_id, "done", done)
            return sent.drafted.preview.recipients

        assert await organiser.at_desk(update) == 6
        await organiser.run_due()
        await until(lambda: all(len(sent_to(w)) == before[w] + 2 for w in _everyone()))
        assert sent_to(("telegram", str(TG_PL)))[-1].endswith(
            "The youth club is now open on Monday, Wednesday and Friday."
        )
        assert len(twilio.to(SMS_GONE)) == 2  # the idea's saved reply and STOP's: nothing since


def as_flow_question(organiser: Organiser, language: str) -> str:
    flow = organiser.app.jobs.flows["idea"]
    return flow.steps[0].text.texts[language]  # type: ignore[attr-defined, no-any-return]


def _everyone() -> list[tuple[str, str]]:
    return [
        ("sms", SMS_EN),
        ("sms", SMS_AR),
        ("sms", SMS_BN),
        ("telegram", str(TG_PL)),
        ("telegram", str(TG_UK)),
        ("telegram", str(TG_EN)),
    ]


def _language_of(who: tuple[str, str]) -> str:
    return {
        SMS_EN: "en",
        SMS_AR: "ar",
        SMS_BN: "bn",
        str(TG_PL): "pl",
        str(TG_UK): "uk",
        str(TG_EN): "en",
    }[who[1]]


def _link_panel(desk: Desk, invite: int) -> None:
    from bot.store import panels as stored_panels

    panel_id = stored_panels.create(desk.tx, "Spring panel", 5, desk.now)
    stored_panels.set_invite(desk.tx, panel_id, invite)


def _members(desk: Desk) -> Any:
    from bot.store import panels as stored_panels

    return stored_panels.members(desk.tx, 1)


def _report(desk: Desk) -> list[str]:
    from bot.store import panels as stored_panels

    found = stored_panels.get(desk.tx, 1)
    assert found is not None
    return staff_text.panel(found, stored_panels.members(desk.tx, 1))


def _poll(desk: Desk, poll_id: int) -> Any:
    from bot.store import polls

    return polls.get(desk.tx, poll_id)


def _reach(desk: Desk, decision_id: int) -> stored_decisions.Reach:
    found = stored_decisions.get(desk.tx, decision_id)
    assert found is not None
    return stored_decisions.reach(desk.tx, found.first.broadcast_id)
