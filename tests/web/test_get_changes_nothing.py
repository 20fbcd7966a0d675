"""Nothing changes on a GET: every page of the staff web, opened by an organiser with
something on every page, leaves every table as it was (but the sign-in session's
"last seen", which is what keeps it alive)."""

from __future__ import annotations

import hashlib
import re

from bot.civic import ideas as idea_work
from bot.desk import Actor, Desk, Front, Role
from bot.desk import broadcasts as desk_broadcasts
from bot.desk import budgeting as desk_pb
from bot.desk import decisions as desk_decisions
from bot.desk import polls as desk_polls
from bot.desk.broadcasts import MessageContent, PollContent, Sending
from bot.desk.budgeting import BidSpec, RoundSpec
from bot.desk.polls import PollSpec
from bot.store import contacts, panels
from bot.store.sql import Tx
from tests.cli_kit import tables as table_names
from tests.conftest import Harness
from tests.web.conftest import WEB_PAGES, Browser

SESSIONS = {"staff_sessions"}


def _world(tx: Tx, harness: Harness) -> dict[str, str]:
    app = harness.app
    desk = Desk(
        tx,
        app.settings,
        app.jobs.env,
        app.jobs.flows,
        harness.clock(),
        Actor("olu", Role.ORGANISER, Front.WEB),
    )
    resident = contacts.touch(tx, "sms", "+447400123456", "pl", harness.clock())
    contacts.update(tx, resident, {"consent": "yes", "ward": "North"})
    question, options = desk_polls.labelled(desk, "Which evening?", ["Monday", "Friday"])
    poll = desk_polls.make(desk, PollSpec(question, options))
    sent = desk_broadcasts.draft(desk, PollContent(poll.id), Sending())
    desk_broadcasts.send(desk, sent.id)
    desk_broadcasts.draft(desk, MessageContent({"en": "The panel meets on Tuesday."}))
    idea = idea_work.submit(tx, resident, "More benches", "pl", harness.clock(), region="GB")
    panel_id = panels.create(tx, "Spring panel", 3, harness.clock())
    panels.volunteer(tx, panel_id, resident.id, {"area": "North"}, harness.clock())
    desk_decisions.record(desk, "agreed", {"en": "The club opens."}, [f"poll:{poll.id}"])
    token = desk_polls.publish(desk, poll.id) or ""
    fund = desk_pb.open_round(desk, RoundSpec("Oakfield Fund", 100000))
    desk_pb.add_bid(desk, fund.id, BidSpec("Community garden", "Beds.", 12000, "Residents"))
    return {
        "number": "1",
        "ref": idea.reference,
        "flow_id": "priorities",
        "name": "wren",
        "token": token,
    }


async def test_opening_every_page_changes_nothing(web: Harness, organiser: Browser) -> None:
    world = await web.app.database.run(lambda tx: _world(tx, web))
    await web.app.jobs.run_due()

    def tables(tx: Tx) -> dict[str, str]:
        return _tables_safe(tx)

    before = await web.app.database.run(tables)
    opened = 0
    for path in WEB_PAGES:
        filled = re.sub(r"\{([a-z_]+)\}", lambda m: world.get(m.group(1), "1"), path)
        page = await organiser.get(f"/admin{filled}")
        assert page.status_code == 200, (filled, page.status_code, page.text[-400:])
        opened += 1
    for extra in (
        "/admin/broadcasts/new?kind=poll",
        "/admin/polls/1?by=language",
        f"/r/{world['token']}",
    ):
        assert (await organiser.get(extra)).status_code == 200, extra
    assert opened >= 20  # every page, as the modules declare them
    assert await web.app.database.run(tables) == before


def _tables_safe(tx: Tx) -> dict[str, str]:
    names = [
        name for name in table_names(tx) if name not in SESSIONS and not name.startswith("sqlite_")
    ]
    found = {}
    for name in names:
        rows = tx.execute(f'SELECT * FROM "{name}"').fetchall()  # sorted below
        found[name] = hashlib.sha256(repr(sorted(map(tuple, rows), key=repr)).encode()).hexdigest()
    return found
