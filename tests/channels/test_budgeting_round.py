"""A participatory budgeting round, end to end: 12 bids → the resident panel votes on
each (two ruled out, their proposers told why) → the ballot by SMS (paging, one over
budget and corrected, one changing their ballot) and by Telegram (toggle buttons with
the running total, redrawn in place) → a late ballot refused → the count → every voter
hears the result in their language, each proposer about their bid; a resident who opted
out gets nothing.

The real web service, dispatcher and scheduler run; residents use the real twilio SDK
(SMS) and python-telegram-bot (Telegram) against fake providers on 127.0.0.1. Organiser
steps call what ``parley pb`` calls, on the running Parley's database."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bot.channels.segments import as_sent, segments
from bot.civic import decisions
from bot.desk import budgeting as desk_pb
from bot.desk.budgeting import BidSpec, RoundSpec
from bot.lang.formats import money
from bot.outreach.audience import Audience
from bot.store import Database, contacts, panels
from bot.store.sql import Tx
from tests.channels.conftest import live_settings, telegram_env, twilio_env, until
from tests.channels.test_closing_the_loop import Organiser
from tests.channels.test_staff_poll import Parties
from tests.conftest import Clock
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

SMS_EN, SMS_PL, SMS_AR, SMS_GONE, SMS_LATE = (
    "+447700900401",
    "+447700900402",
    "+447700900403",
    "+447700900404",
    "+447700900405",
)
TG_UK = 6201
PANEL = ("+447700900411", "+447700900412", "+447700900413")
PROPOSER_SMS, PROPOSER_TG = "+447700900421", 6202

BIDS = [  # title, cost, Polish title
    ("Community garden", 12000, "Ogród społeczny"),
    ("Youth club nights", 18500, "Wieczory klubu młodzieżowego"),
    ("Benches on the green", 4500, "Ławki na błoniach"),
    ("Longer library hours", 22000, "Dłuższe godziny biblioteki"),
    ("A private car park", 30000, "Prywatny parking"),  # ruled out
    ("Food bank van", 16000, "Furgonetka banku żywności"),
    ("A mural by the station", 8000, "Mural przy stacji"),
    ("Street lights on Oak Lane", 25000, "Latarnie na Oak Lane"),
    ("A new council office", 60000, "Nowe biuro rady"),  # ruled out
    ("English classes for adults", 14000, "Lekcje angielskiego dla dorosłych"),
    ("Skate park", 40000, "Skatepark"),
    ("Clean-up days", 2500, "Dni sprzątania"),
]
RULED_OUT = {5: "It would serve one business, not residents.", 9: "The council pays for this."}
ON_BALLOT = [n for n in range(1, 13) if n not in RULED_OUT]  # ballot position -> bid number


def _people(tx: Tx, now: datetime) -> None:
    voters = [
        ("sms", SMS_EN, "en"),
        ("sms", SMS_PL, "pl"),
        ("sms", SMS_AR, "ar"),
        ("sms", SMS_GONE, "en"),
        ("sms", SMS_LATE, "en"),
        ("telegram", str(TG_UK), "uk"),
    ]
    for channel, address, language in voters:
        contact = contacts.touch(tx, channel, address, language, now)
        contacts.update(tx, contact, {"consent": "yes", "ward": "North"})
    panel_id = panels.create(tx, "Oakfield panel", 1, now)
    for number, address in enumerate(PANEL, 1):
        member = contacts.touch(tx, "sms", address, "en", now)
        contacts.update(tx, member, {"consent": "yes", "ward": "South"})
        tx.execute(
            "INSERT INTO panel_members (panel_id, contact_id, number, profile, status,"
            " volunteered_at) VALUES (?, ?, ?, '{}', 'accepted', ?)",
            (panel_id, member.id, number, now.isoformat()),
        )
    contacts.update(tx, contacts.touch(tx, "sms", PROPOSER_SMS, "en", now), {"ward": "South"})
    contacts.update(
        tx, contacts.touch(tx, "telegram", str(PROPOSER_TG), "pl", now), {"ward": "South"}
    )


def _contact_id(tx: Tx, channel: str, address: str) -> int:
    found = contacts.find(tx, channel, address)
    assert found is not None
    return found.id


async def test_a_round_from_bids_to_results_by_sms_and_telegram(
    tmp_path: Path,
    fake_twilio: tuple[FakeTwilio, str],
    fake_telegram: tuple[FakeTelegram, str],
    live: Any,
) -> None:
    twilio, twilio_api = fake_twilio
    telegram, telegram_api = fake_telegram
    clock = Clock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))  # midday: not quiet hours
    settings = live_settings(tmp_path, **twilio_env(twilio_api), **telegram_env(telegram_api))
    database = await Database.open(settings.database)
    await database.run(lambda tx: _people(tx, clock()))
    await database.close()

    async with live(settings, clock) as parley:
        people = Parties(parley, twilio, telegram)
        organiser = Organiser(parley, clock)
        env = organiser.app.jobs.env

        def said(language: str, message: str, **params: object) -> str:
            return env.phrases.text(language, message, **params)

        # -- the round and its 12 bids, translated into Polish ---------------------------
        spec = RoundSpec(
            "Oakfield Fund", 100000, "GBP", Audience(fields={"ward": "North"}), panel_id=1
        )
        round_ = await organiser.at_desk(lambda desk: desk_pb.open_round(desk, spec))
        proposers = await organiser.at_desk(
            lambda desk: (
                _contact_id(desk.tx, "sms", PROPOSER_SMS),
                _contact_id(desk.tx, "telegram", str(PROPOSER_TG)),
            )
        )
        for number, (title, cost, in_polish) in enumerate(BIDS, 1):
            proposer = {1: proposers[0], 5: proposers[0], 9: proposers[1]}.get(number)
            bid = BidSpec(title, f"{title}, for Oakfield.", cost, "Oakfield Residents", "North",
                          proposer_id=proposer)  # fmt: skip
            await organiser.at_desk(partial(desk_pb.add_bid, round_id=round_.id, spec=bid))
            await organiser.at_desk(
                partial(
                    desk_pb.translate,
                    round_id=round_.id,
                    number=number,
                    language="pl",
                    title=in_polish,
                    description=f"{in_polish}, dla Oakfield.",
                )
            )

        # -- screening: the panel votes on every bid; two are ruled out --------------------
        await organiser.at_desk(lambda desk: desk_pb.begin(desk, round_.id, "screening"))
        await organiser.run_due()
        await until(lambda: all(len(twilio.to(m)) == 12 for m in PANEL))
        for member in PANEL:
            for _ in range(12):
                asked = twilio.to(member)[-1]
                number = int(re.findall(r"bid (\d+):", asked)[-1])
                await people.text(member, "2" if number in RULED_OUT else "1")  # 2: no
        votes = await parley.rows("SELECT count(*) AS n FROM votes")
        assert votes[0]["n"] == 36
        for number, reason in RULED_OUT.items():
            await organiser.at_desk(
                partial(desk_pb.rule, round_id=round_.id, number=number, reason=reason)
            )

        await people.text(SMS_GONE, "STOP")  # opted out: hears nothing of the round

        # -- voting: proposers told, the ballot to everyone in the ward ---------------------
        await organiser.at_desk(lambda desk: desk_pb.begin(desk, round_.id, "voting"))
        await organiser.run_due()
        bids = await parley.rows("SELECT number, status FROM pb_bids ORDER BY number")
        assert [b["number"] for b in bids if b["status"] == "ineligible"] == [5, 9]
        await until(lambda: len(twilio.to(PROPOSER_SMS)) == 2)
        assert set(twilio.to(PROPOSER_SMS)) == {
            said("en", "Your bid '%(bid)s' is on the ballot of %(round)s. Good luck!",
                 bid="Community garden", round="Oakfield Fund"),
            said("en", "Your bid '%(bid)s' will not be on the ballot of %(round)s. The panel's"
                 " reason: %(reason)s", bid="A private car park", round="Oakfield Fund",
                 reason=RULED_OUT[5]),
        }  # fmt: skip
        await until(lambda: len(telegram.to(PROPOSER_TG)) == 1)
        assert telegram.to(PROPOSER_TG)[0]["text"] == said(
            "pl",
            "Your bid '%(bid)s' will not be on the ballot of %(round)s. The panel's reason:"
            " %(reason)s",
            bid="Nowe biuro rady",
            round="Oakfield Fund",
            reason=RULED_OUT[9],
        )
        voters = (SMS_EN, SMS_PL, SMS_AR, SMS_LATE)
        await until(lambda: all(twilio.to(v) for v in voters) and bool(telegram.to(TG_UK)))
        english = twilio.to(SMS_EN)[0]
        assert english.startswith("Oakfield Fund\nChoose projects that fit in the budget")
        assert "1. Community garden - £12,000" in english
        assert "10. Clean-up days - £2,500" in english  # English: one page
        assert "A private car park" not in english  # ruled out: not on the ballot
        assert segments(english).count <= 3

        # A Polish voter pages through the list: each page within three segments (UCS-2).
        polish: list[str] = [twilio.to(SMS_PL)[0]]
        while "10. " not in polish[-1]:
            assert "0. " + said("pl", "More projects") in polish[-1]
            polish.append(await people.text(SMS_PL, "0"))
        assert f"1. Ogród społeczny - {money(12000, 'GBP', 'pl')}" in polish[0]
        assert all(segments(page).count <= 3 for page in polish)
        assert len(polish) > 1
        shown = "\n".join(polish)
        assert all(f"{n}. " in shown for n in range(1, 11))

        # An English voter chooses and casts.
        assert await people.text(SMS_EN, "3 7 10") == (
            "You chose 3, 7 and 10: £32,000 of £100,000."
            " Reply YES to cast your ballot, or send new numbers."
        )
        cast = await people.text(SMS_EN, "YES")
        assert cast.startswith("Your ballot is cast: 3, 7 and 10 (£32,000 of £100,000).")

        # One goes over budget, is told by how much, and corrects it.
        over = await people.text(SMS_PL, "4 8 9 2 7")
        too_much = said(
            "pl",
            "That costs %(total)s: %(over)s over the budget of %(budget)s.",
            total=money(119500, "GBP", "pl"),
            over=money(19500, "GBP", "pl"),
            budget=money(100000, "GBP", "pl"),
        )
        assert over.startswith(as_sent(too_much, "sms")[0])
        await people.text(SMS_PL, "4 8 9 2")
        await people.text(SMS_PL, "tak")  # yes, in Polish

        # One casts, then changes their ballot while voting is open.
        await people.text(SMS_AR, "1 2")
        await people.text(SMS_AR, "yes")
        await people.text(SMS_AR, "6 1")
        await people.text(SMS_AR, "yes")

        # A Telegram voter ticks projects on the buttons; the message shows the total.
        def edited_since(before: int) -> bool:
            return len(telegram.edits) > before

        ballot_message = telegram.to(TG_UK)[0]
        keys = [k for row in ballot_message["reply_markup"]["inline_keyboard"] for k in row]
        assert keys[0]["text"] == "1. Community garden - £12,000"  # English: no Ukrainian
        for data in ("+1", "+3"):
            edits = len(telegram.edits)
            update = parley.residents.press(TG_UK, data, "uk", on=telegram.to(TG_UK)[0])
            assert (await parley.telegram(update)).status_code == 200
            await until(partial(edited_since, edits))
        redrawn = telegram.to(TG_UK)[0]
        assert len(telegram.to(TG_UK)) == 1  # redrawn in place, not sent again
        assert redrawn["text"].endswith("Chosen: £16,500 of £100,000.")
        keys = [k["text"] for row in redrawn["reply_markup"]["inline_keyboard"] for k in row]
        assert "✅ 1. Community garden - £12,000" in keys
        assert "✅ 3. Benches on the green - £4,500" in keys
        update = parley.residents.press(TG_UK, "YES", "uk", on=redrawn)
        assert (await parley.telegram(update)).status_code == 200
        await until(lambda: len(telegram.to(TG_UK)) == 2)
        assert telegram.to(TG_UK)[1]["text"].startswith(
            # No bid is in Ukrainian: the whole ballot is in the round's English.
            "Your ballot is cast: 1 and 3 (£16,500 of £100,000)."
        )  # fmt: skip

        ballots = await parley.rows(
            "SELECT c.address, b.choice, b.changes FROM pb_ballots b"
            " JOIN contacts c ON c.id = b.contact_id ORDER BY c.address"
        )
        assert {r["address"]: (r["choice"], r["changes"]) for r in ballots} == {
            SMS_EN: ("[3, 8, 12]", 0),
            SMS_PL: ("[2, 4, 10, 11]", 0),
            SMS_AR: ("[1, 7]", 1),
            str(TG_UK): ("[1, 3]", 0),
        }

        # -- the count, and a late ballot ---------------------------------------------------
        await organiser.at_desk(lambda desk: desk_pb.begin(desk, round_.id, "counted"))
        await organiser.run_due()
        late = await people.text(SMS_LATE, "1 2")
        assert late.endswith(said("en", "Sorry, voting has closed."))
        assert not await parley.rows(
            "SELECT 1 FROM pb_ballots b JOIN contacts c ON c.id = b.contact_id WHERE c.address = ?",
            SMS_LATE,
        )
        view = await organiser.at_desk(lambda desk: desk_pb.show(desk, round_.id))
        assert view.count is not None
        funded = [f["id"] for f in view.count["greedy"]["funded"]]
        assert "1" in funded  # chosen by two voters
        await parley.until_all_sent()
        # Arabic: no bid is in Arabic, so the whole result is in the round's English.
        for voter, language in ((SMS_EN, "en"), (SMS_PL, "pl"), (SMS_AR, "en")):
            result = twilio.to(voter)[-1]
            assert result.startswith(decisions.heading(env, language, "agreed")), voter
            assert (
                said(language, "%(round)s: the projects funded.", round="Oakfield Fund") in result
            )
        assert f"- Ogród społeczny ({money(12000, 'GBP', 'pl')})" in twilio.to(SMS_PL)[-1]
        assert "- Community garden (£12,000)" in twilio.to(SMS_AR)[-1]  # Arabic: no bid texts
        assert telegram.to(TG_UK)[-1]["text"].startswith(decisions.heading(env, "en", "agreed"))
        assert twilio.to(SMS_GONE) == [
            said(
                "en",
                "You will get no more messages from us. To start again, reply %(start)s.",
                start="START",
            )
        ]
        assert any(
            m.startswith("Good news: your bid 'Community garden' will be funded")
            for m in twilio.to(PROPOSER_SMS)
        )
