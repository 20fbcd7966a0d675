"""A resident's own data: the consent record, a report of everything held about them,
and erasure (by an organiser, or by the resident's own FORGET ME and YES) that leaves
their number nowhere in the database file while poll and survey totals stay the same."""

from __future__ import annotations

import json
import stat
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.civic.polls import results
from bot.desk import Actor, Desk, Forbidden, Front, Invalid, NotFound, Role, residents
from bot.exports import resident
from bot.outreach.audience import Audience, select
from bot.store import contacts, polls
from bot.store.location import Location
from bot.store.sql import Tx
from tests import databases
from tests.conftest import Clock, Harness
from tests.test_cli import PRIORITIES_RUN, parley
from tests.test_polls import ORGANISER, POLL, put, staffed, to

NUMBER = "+447700900123"
FORMS = (NUMBER, NUMBER[1:], "07700 900123", "07700900123", "7700900123")
OTHER = "+447700900456"
WORDS = "Fix the lamp by the canal bridge, Zofia"  # their free-text answer
GOODBYE = "We have deleted your data. You will get no more messages from us."
CONFIRM = (
    "Reply YES to delete everything we hold about you. You will then get no more "
    "messages from us. Reply NO to keep it."
)


@pytest.fixture
async def office(tmp_path: Path, clock: Clock) -> AsyncIterator[Harness]:
    async with staffed(tmp_path, clock, f"{ORGANISER[1]}:{ORGANISER[0]}=organiser") as bench:
        yield bench


async def take_part(office: Harness, address: str, words: str) -> None:
    """Join by a poster's word, agree, take the priorities survey (free text last)."""
    await office.send("JOIN NORTH", address)
    for text in [*PRIORITIES_RUN[1:-1], words]:
        await office.send(text, address)


def desk(office: Harness, tx: Tx, role: Role = Role.ORGANISER) -> Desk:
    service = office.app.service
    return Desk(
        tx,
        service.settings,
        service.env,
        service.flows,
        office.clock(),
        Actor("ana", role, Front.CLI),
    )


async def totals(office: Harness, poll_id: int) -> tuple[Any, Counter[tuple[str, str]]]:
    """The poll's results and the survey's counted choices."""

    def work(tx: Tx) -> tuple[Any, Counter[tuple[str, str]]]:
        poll = polls.get(tx, poll_id)
        assert poll is not None
        counted = Counter(
            (row["step_id"], row["value"])
            for row in tx.execute(
                "SELECT step_id, value FROM answers WHERE flow_id = 'priorities'"
                " AND step_id != 'more'"
            )
        )
        return results(tx, poll).overall, counted

    return await office.app.database.run(work)


def file_bytes(database: Location) -> bytes:
    """The database file and its write-ahead log, as stored on disk; on PostgreSQL, whose
    files are the server's, every value in every table."""
    if not isinstance(database, Path):
        return databases.every_value(database)
    wal = database.with_name(database.name + "-wal")
    return database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def voting(office: Harness) -> int:
    """Two residents who took part, a poll they both voted in."""
    await take_part(office, NUMBER, WORDS)
    await take_part(office, OTHER, "More bins on the high street")
    broadcast_id = await put(office, "/poll " + POLL)
    [row] = await office.rows("SELECT poll_id FROM broadcasts WHERE id = ?", broadcast_id)
    await office.send("2", NUMBER)
    await office.send("3", OTHER)
    return int(row["poll_id"])


def contact_id(rows: list[dict[str, Any]]) -> int:
    [row] = rows
    return int(row["id"])


# -- the consent record --------------------------------------------------------------------


async def test_every_contact_texted_has_consent_on_record(office: Harness) -> None:
    await office.send("JOIN NORTH", NUMBER)
    await office.send("1", NUMBER)  # English
    await office.send("yes", NUMBER)  # may we send questions?
    await office.send("STOP", NUMBER)
    await office.send("START", NUMBER)
    await office.send("hello", OTHER)
    await office.send("1", OTHER)
    await office.send("no", OTHER)

    def events(address: str) -> list[tuple[str, str]]:
        return [(row["event"], row["how"]) for row in rows if row["address"] == address]

    rows = await office.rows(
        "SELECT c.address, k.event, k.how, k.at FROM consents k"
        " JOIN contacts c ON c.id = k.contact_id ORDER BY k.id"
    )
    assert events(NUMBER) == [
        ("consent", "texted JOIN"),
        ("consent", "answered yes in the welcome flow"),
        ("opt_out", "texted STOP"),
        ("opt_in", "texted START"),
    ]
    assert events(OTHER) == [
        ("consent", "texted in by sms"),
        ("declined", "answered no in the welcome flow"),
    ]
    assert all(row["at"] == office.clock().isoformat() for row in rows)

    # Someone Parley knows of without consent (started by hand, never texted in) is not
    # sent a broadcast; those who consented are, unless they declined questions.
    def audience(tx: Tx) -> set[int]:
        contacts.ensure(tx, "sms", "+447700900789", "en", office.clock())
        return {r.contact_id for r in select(tx, Audience(), office.app.settings.staff.keys())}

    reached = await office.app.database.run(audience)
    known = await office.rows("SELECT id, address FROM contacts")
    by_address = {row["address"]: row["id"] for row in known}
    assert by_address[NUMBER] in reached
    assert by_address[OTHER] not in reached  # said no
    assert by_address["+447700900789"] not in reached  # no consent on record


# -- erasure by an organiser --------------------------------------------------------------


async def test_a_forgotten_number_is_nowhere_in_the_file_and_totals_stand(
    office: Harness,
) -> None:
    poll_id = await voting(office)
    before = await totals(office, poll_id)
    gone = contact_id(await office.rows("SELECT id FROM contacts WHERE address = ?", NUMBER))
    database = office.app.settings.database
    assert NUMBER.encode() in file_bytes(database)
    assert WORDS.encode() in file_bytes(database)

    def preview(tx: Tx) -> residents.Preview:
        return residents.forget_preview(desk(office, tx), gone)

    shown = await office.app.database.run(preview)
    assert (shown.votes, shown.ideas, shown.forgotten) == (1, 0, False)
    assert shown.inbound == len(PRIORITIES_RUN) + 1  # the survey, then the vote
    await office.app.database.run(lambda tx: residents.forget(desk(office, tx), gone))
    assert await office.app.database.checkpoint()

    stored = file_bytes(database)
    for form in FORMS:
        assert form.encode() not in stored, form
    assert WORDS.encode() not in stored
    assert b"canal" not in stored
    assert await totals(office, poll_id) == before  # the vote and the choices still count
    [row] = await office.rows("SELECT * FROM contacts WHERE id = ?", gone)
    assert row["address"] == f"forgotten:{gone}"
    assert (row["fields"], row["language"]) == ("{}", None)
    assert row["opted_out_at"] is not None
    [entry] = await office.rows("SELECT * FROM audit WHERE action = 'resident.forget'")
    assert (entry["actor"], entry["target"]) == ("ana", f"contact {gone}")
    assert NUMBER not in entry["detail"]

    # Never texted again: a broadcast to everyone passes them by ...
    broadcast_id = await put(office, "/broadcast The library opens on Sunday now.")
    sent = await office.rows("SELECT contact_id FROM outbox WHERE broadcast_id = ?", broadcast_id)
    assert gone not in {r["contact_id"] for r in sent}
    # ... and the same number texting later is a new contact, welcomed as one.
    [welcome] = await office.send("hello", NUMBER)
    assert welcome.startswith("Welcome to Parley!")
    new = contact_id(await office.rows("SELECT id FROM contacts WHERE address = ?", NUMBER))
    assert new != gone


async def test_forgetting_is_for_organisers_and_only_once(office: Harness) -> None:
    await office.send("hello", NUMBER)
    gone = contact_id(await office.rows("SELECT id FROM contacts WHERE address = ?", NUMBER))
    with pytest.raises(Forbidden):
        await office.app.database.run(
            lambda tx: residents.forget(desk(office, tx, Role.WORKER), gone)
        )
    with pytest.raises(Forbidden):
        await office.app.database.run(
            lambda tx: residents.report(desk(office, tx, Role.WORKER), gone)
        )
    await office.app.database.run(lambda tx: residents.forget(desk(office, tx), gone))
    with pytest.raises(Invalid, match="erased already"):
        await office.app.database.run(lambda tx: residents.forget(desk(office, tx), gone))
    with pytest.raises(NotFound):
        await office.app.database.run(lambda tx: residents.forget(desk(office, tx), 999))


# -- the resident asks: FORGET ME, MYDATA ------------------------------------------------


async def test_forget_me_asks_for_yes_then_erases_and_says_so(office: Harness) -> None:
    poll_id = await voting(office)
    before = await totals(office, poll_id)
    gone = contact_id(await office.rows("SELECT id FROM contacts WHERE address = ?", NUMBER))

    assert await office.send("FORGET ME", NUMBER) == [CONFIRM]
    assert await office.send("no", NUMBER) == ["OK, nothing was deleted."]
    assert await office.rows("SELECT id FROM contacts WHERE address = ?", NUMBER)

    assert await office.send("forget me", NUMBER) == [CONFIRM]
    assert await office.send("YES", NUMBER) == [GOODBYE]  # the last message they get
    [row] = await office.rows("SELECT address, forgotten_at FROM contacts WHERE id = ?", gone)
    assert row["address"] == f"forgotten:{gone}"  # gone once the goodbye was sent
    texts = await office.rows(
        "SELECT text FROM inbound WHERE contact_id = ? UNION ALL"
        " SELECT text FROM outbox WHERE contact_id = ?",
        gone,
        gone,
    )
    assert {r["text"] for r in texts} == {""}
    assert await totals(office, poll_id) == before
    [entry] = await office.rows("SELECT * FROM audit WHERE action = 'resident.forget'")
    assert (entry["actor"], entry["role"], entry["front"]) == (
        f"contact {gone}",
        "resident",
        "phone",
    )
    assert await office.app.database.checkpoint()
    for form in FORMS:
        assert form.encode() not in file_bytes(office.app.settings.database), form


async def test_forget_me_needs_its_yes_soon_and_anything_else_is_an_answer(
    office: Harness,
) -> None:
    await take_part(office, NUMBER, WORDS)
    assert await office.send("FORGET ME", NUMBER) == [CONFIRM]
    [menu] = await office.send("1", NUMBER)  # not YES: an ordinary reply, nothing erased
    assert "Sorry" not in menu
    assert await office.send("forget me", NUMBER) == [CONFIRM]
    office.clock.advance(days=2)
    replies = await office.send("yes", NUMBER)  # two days later: no longer the answer
    assert GOODBYE not in replies
    [row] = await office.rows("SELECT forgotten_at FROM contacts WHERE address = ?", NUMBER)
    assert row["forgotten_at"] is None


async def test_forget_me_in_polish_and_from_an_opted_out_resident(office: Harness) -> None:
    await office.send("hello", NUMBER)
    await office.send("2", NUMBER)  # Polski
    await office.send("STOP", NUMBER)
    [confirm] = await office.send("zapomnij mnie", NUMBER)  # heard even when opted out
    assert confirm != CONFIRM
    [goodbye] = await office.send("tak", NUMBER)
    assert goodbye != GOODBYE
    [row] = await office.rows("SELECT count(*) AS n FROM contacts WHERE address = ?", NUMBER)
    assert row["n"] == 0


async def test_mydata_tells_staff_and_logs_it_and_sends_nothing_of_it(office: Harness) -> None:
    await take_part(office, NUMBER, WORDS)
    me = contact_id(await office.rows("SELECT id FROM contacts WHERE address = ?", NUMBER))
    [reply] = await office.send("MYDATA", NUMBER)
    assert reply.startswith(
        "Thank you. Staff will contact you to give you a copy of the data we hold about you."
    )
    assert WORDS not in reply
    [told] = [m.text for m in to(office, ORGANISER[0]) if "copy of their data" in m.text]
    assert f"Contact {me} asked" in told
    assert f"parley contacts report {me}" in told
    assert NUMBER not in told
    [entry] = await office.rows("SELECT * FROM audit WHERE action = 'resident.report_asked'")
    assert entry["target"] == f"contact {me}"


# -- the report --------------------------------------------------------------------------


async def test_the_report_holds_every_message_they_sent_and_everything_else(
    office: Harness,
) -> None:
    poll_id = await voting(office)
    await office.send("<b>Ideas</b> for the park & the library", NUMBER)
    me = contact_id(await office.rows("SELECT id FROM contacts WHERE address = ?", NUMBER))

    def made(tx: Tx) -> dict[str, Any]:
        d = desk(office, tx)
        return residents.report(d, residents.contact_of(d, "07700 900123"))

    report = await office.app.database.run(made)
    sent = await office.rows("SELECT text FROM inbound WHERE contact_id = ? ORDER BY id", me)
    theirs = [m["text"] for m in report["messages"] if m["direction"] == "from them"]
    assert theirs == [row["text"] for row in sent]
    assert len(theirs) == len(PRIORITIES_RUN) + 2
    ours = await office.rows("SELECT text FROM outbox WHERE contact_id = ? ORDER BY id", me)
    assert [m["text"] for m in report["messages"] if m["direction"] == "to them"] == [
        row["text"] for row in ours
    ]
    assert report["contact"]["address"] == NUMBER
    assert report["contact"]["fields"]["area"] == "North"
    assert [e["how"] for e in report["consent"]][:2] == [
        "texted JOIN",
        "answered yes in the welcome flow",
    ]
    assert [(v["poll"], v["choice"]) for v in report["votes"]] == [(poll_id, ["Wednesday"])]
    assert WORDS in [a["answer"] for a in report["answers"]]
    assert {c["survey"] for c in report["conversations"]} >= {"welcome", "priorities"}
    [entry] = await office.rows("SELECT * FROM audit WHERE action = 'resident.report'")
    assert NUMBER not in entry["detail"]

    page = resident.as_html(report, office.app.settings.timezone)
    assert "&lt;b&gt;Ideas&lt;/b&gt; for the park &amp; the library" in page
    assert WORDS in page
    assert json.loads(resident.as_json(report)) == report


async def test_the_report_and_forget_commands(office: Harness, tmp_path: Path) -> None:
    await take_part(office, NUMBER, WORDS)
    me = contact_id(await office.rows("SELECT id FROM contacts WHERE address = ?", NUMBER))

    done = parley(tmp_path, "contacts", "report", str(me), "--html", "page.html")
    assert done.returncode == 0, done.stderr
    assert "never by text" in done.stdout
    for name in (f"contact-{me}.json", "page.html"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert WORDS in (tmp_path / "page.html").read_text("utf-8")
    data = json.loads((tmp_path / f"contact-{me}.json").read_text("utf-8"))
    assert data["contact"]["number"] == me

    unknown = parley(tmp_path, "contacts", "forget", "+447700900999", "--yes")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("Error: ")
    kept = parley(tmp_path, "contacts", "forget", "07700 900123", stdin="n\n")
    assert kept.returncode == 0
    assert f"Contact {me} (sms). Erasing them erases:" in kept.stdout
    assert "Nothing done." in kept.stdout
    assert await office.rows("SELECT id FROM contacts WHERE address = ?", NUMBER)
    erased = parley(tmp_path, "contacts", "forget", str(me), "--yes")
    assert erased.returncode == 0, erased.stderr
    assert f"Contact {me} erased:" in erased.stdout
    assert not await office.rows("SELECT id FROM contacts WHERE address = ?", NUMBER)
    again = parley(tmp_path, "contacts", "forget", str(me), "--yes")
    assert f"Contact {me} was erased already." in again.stdout


async def test_a_forgotten_chat_id_is_nowhere_in_the_file(office: Harness) -> None:
    chat = "5550123487"
    await office.send("hello", chat, "telegram")
    await office.send("1", chat, "telegram")
    gone = contact_id(await office.rows("SELECT id FROM contacts WHERE address = ?", chat))

    def as_telegram_keeps_them(tx: Tx) -> None:
        # Telegram's message ids hold the chat id ("chat:message"), in the outbox and in
        # a pressed button's inbound row.
        tx.execute(
            "UPDATE outbox SET provider_id = ? || ':' || id, replaces = ? || ':1'"
            " WHERE contact_id = ?",
            (chat, chat, gone),
        )
        tx.execute("UPDATE inbound SET pressed = ? || ':1' WHERE contact_id = ?", (chat, gone))

    await office.app.database.run(as_telegram_keeps_them)
    assert chat.encode() in file_bytes(office.app.settings.database)
    await office.app.database.run(lambda tx: residents.forget(desk(office, tx), gone))
    assert await office.app.database.checkpoint()
    assert chat.encode() not in file_bytes(office.app.settings.database)
