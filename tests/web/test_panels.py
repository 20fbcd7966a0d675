"""The panels pages, for organisers: inviting a sample, the pool against quotas, the
draw, telling the chosen and the others, and the panel's votes."""

from __future__ import annotations

import json
import re
from collections import Counter

import httpx

from bot.civic.panels import Outcome
from bot.store import contacts, panels
from bot.store.contacts import Contact
from bot.store.sql import Tx
from tests.conftest import Harness
from tests.web.conftest import Browser

QUOTAS = "category,value,min,max\narea,North,2,2\narea,South,2,2\nage,young,1,3\nage,old,1,3\n"
_ONCE = re.compile(r'name="once" value="([^"]+)"')


def _resident(tx: Tx, web: Harness, number: int, language: str = "en") -> Contact:
    contact = contacts.ensure(tx, "sms", f"+4477009{number:05d}", language, web.clock())
    contacts.record(tx, contact.id, "consent", web.clock(), "texted in", web.clock())
    return contact


async def _volunteers(web: Harness) -> int:
    """A panel with 12 volunteers: 7 in the North, 5 in the South, half young."""

    def work(tx: Tx) -> int:
        panel_id = panels.create(tx, "Fund panel", 1, web.clock())
        for number in range(12):
            profile = {
                "area": "North" if number < 7 else "South",
                "age": "young" if number % 2 else "old",
            }
            panels.volunteer(tx, panel_id, _resident(tx, web, number).id, profile, web.clock())
        return panel_id

    return await web.app.database.run(work)


async def _drawn(web: Harness, seated: int = 0) -> int:
    """A panel drawn already: 2 of its 4 volunteers chosen, 2 reserves; the first
    ``seated`` of the chosen took their seat."""

    def work(tx: Tx) -> int:
        panel_id = panels.create(tx, "Fund panel", 1, web.clock())
        who = [_resident(tx, web, number, "pl" if number == 1 else "en") for number in range(4)]
        for contact in who:
            panels.volunteer(tx, panel_id, contact.id, {"area": "North"}, web.clock())
        chances = {contact.id: 0.5 for contact in who}
        panels.record_selection(
            tx, panel_id, 2, 3, [], chances, {who[0].id, who[1].id}, web.clock()
        )
        for contact in who[:seated]:
            panels.set_status(tx, panel_id, contact.id, panels.ACCEPTED, web.clock())
        return panel_id

    return await web.app.database.run(work)


def _once(page: httpx.Response) -> str:
    found = _ONCE.search(page.text)
    assert found, page.text
    return found.group(1)


def _csv(text: str) -> dict[str, tuple[str, bytes, str]]:
    return {"quotas_file": ("quotas.csv", text.encode(), "text/csv")}


async def test_panels_are_for_organisers(web: Harness, worker: Browser) -> None:
    panel_id = await _volunteers(web)
    for path in ("/admin/panels", "/admin/panels/new", f"/admin/panels/{panel_id}"):
        assert (await worker.get(path)).status_code == 403, path
    await worker.get("/admin/")
    posted = await worker.post("/admin/panels/new", {"name": "Mine", "sample": "3", "seed": "1"})
    assert posted.status_code == 403
    voted = await worker.post(f"/admin/panels/{panel_id}/vote", {"proposal_en": "Fund it"})
    assert voted.status_code == 403
    assert await web.rows("SELECT id FROM panels") == [{"id": panel_id}]


async def test_an_unknown_panel_is_404(organiser: Browser) -> None:
    assert (await organiser.get("/admin/panels/99")).status_code == 404
    assert (await organiser.get("/admin/panels/nonsense")).status_code == 404


async def test_invite_drafts_the_invitation(web: Harness, organiser: Browser) -> None:
    def residents(tx: Tx) -> None:
        for number in range(6):
            contact = _resident(tx, web, number)
            contacts.update(tx, contact, {"area": "North" if number < 4 else "South"})

    await web.app.database.run(residents)
    page = await organiser.get("/admin/panels/new")
    assert page.status_code == 200, page.text
    once = _once(page)
    wrong = await organiser.post(
        "/admin/panels/new", {"name": "", "sample": "none", "seed": "7", "once": once}
    )
    assert wrong.status_code == 400
    assert 'id="name-error">Give the panel a name' in wrong.text
    assert 'id="sample-error">A whole number' in wrong.text
    assert 'value="none"' in wrong.text
    fields: dict[str, object] = {
        "name": "Fund panel",
        "sample": "3",
        "seed": "7",
        "strata": "area",
        "once": once,
    }
    answer = await organiser.post("/admin/panels/new", fields)
    assert answer.status_code == 303, answer.text
    [panel] = await web.rows("SELECT id, name, invite_seed, invite_id FROM panels")
    assert (panel["name"], panel["invite_seed"]) == ("Fund panel", 7)
    assert answer.headers["location"] == f"/admin/broadcasts/{panel['invite_id']}"
    [sent] = await web.rows("SELECT kind, flow_id, status FROM broadcasts")
    assert sent == {"kind": "flow", "flow_id": "panel", "status": "draft"}
    again = await organiser.post("/admin/panels/new", fields)  # sent twice: one panel
    assert again.headers["location"] == answer.headers["location"]
    assert len(await web.rows("SELECT id FROM panels")) == 1
    listed = await organiser.get("/admin/panels")
    assert f'href="/admin/panels/{panel["id"]}"' in listed.text


async def test_the_pool_against_quotas_and_bad_quotas(web: Harness, organiser: Browser) -> None:
    panel_id = await _volunteers(web)
    page = await organiser.get(f"/admin/panels/{panel_id}")
    assert page.status_code == 200, page.text
    assert "+44770" not in page.text
    short = "category,value,min,max\narea,North,2,2\narea,South,6,6\n"
    compared = await organiser.post(
        f"/admin/panels/{panel_id}", {"do": "compare"}, files=_csv(short)
    )
    assert compared.status_code == 200, compared.text
    assert "too few: 6 needed" in compared.text
    assert "not in the quotas" in compared.text  # age has no quota here
    assert "area,South,6,6" in compared.text  # the file's text, kept in the box
    bad = "category,value,min,max\narea,North,2,2\narea,South,two,2\n"
    refused = await organiser.post(
        f"/admin/panels/{panel_id}", {"do": "draw", "size": "4", "seed": "3", "quotas": bad}
    )
    assert refused.status_code == 400
    assert 'id="quotas-error">Line 3: min and max are whole numbers' in refused.text
    assert "area,South,two,2\n</textarea>" in refused.text
    assert 'name="size" type="number" value="4"' in refused.text
    assert await web.rows("SELECT DISTINCT status FROM panel_members") == [{"status": "volunteer"}]


async def test_quotas_that_cannot_be_met_are_refused_beside_the_field(
    web: Harness, organiser: Browser
) -> None:
    panel_id = await _volunteers(web)
    await organiser.get(f"/admin/panels/{panel_id}")
    impossible = "category,value,min,max\narea,North,0,4\narea,South,6,6\n"
    refused = await organiser.post(
        f"/admin/panels/{panel_id}", {"do": "draw", "size": "6", "seed": "3", "quotas": impossible}
    )
    assert refused.status_code == 400
    assert 'id="quotas-error">Panel not drawn: category &#39;area&#39; cannot be met' in (
        refused.text
    )
    assert await web.rows("SELECT size FROM panels") == [{"size": None}]


async def test_the_draw_within_quotas(web: Harness, organiser: Browser) -> None:
    panel_id = await _volunteers(web)
    await organiser.get(f"/admin/panels/{panel_id}")
    answer = await organiser.post(
        f"/admin/panels/{panel_id}", {"do": "draw", "size": "4", "seed": "3"}, files=_csv(QUOTAS)
    )
    assert answer.status_code == 303, answer.text
    members = await web.rows(
        "SELECT status, profile FROM panel_members WHERE panel_id = ?", panel_id
    )
    assert Counter(row["status"] for row in members) == {"selected": 4, "reserve": 8}
    chosen = Counter(
        (category, value)
        for row in members
        if row["status"] == "selected"
        for category, value in json.loads(row["profile"]).items()
    )
    assert chosen["area", "North"] == chosen["area", "South"] == 2
    page = await organiser.get(answer.headers["location"])
    assert "Panel 1 is drawn: 4 chosen by lot from 12 volunteers (seed 3)." in page.text
    assert "seed 3" in page.text
    assert "Chance of selection" in page.text
    assert "lowest " in page.text
    assert "highest " in page.text
    assert '<th scope="row">V1</th>' in page.text
    assert '<th scope="row">V12</th>' in page.text
    assert "+44770" not in page.text
    assert "Draw the panel</button>" not in page.text


async def test_notify_writes_two_broadcasts_once(web: Harness, organiser: Browser) -> None:
    panel_id = await _drawn(web)
    page = await organiser.get(f"/admin/panels/{panel_id}")
    fields: dict[str, object] = {"once": _once(page)}
    first = await organiser.post(f"/admin/panels/{panel_id}/notify", fields)
    again = await organiser.post(f"/admin/panels/{panel_id}/notify", fields)
    assert first.status_code == again.status_code == 303
    sent = await web.rows("SELECT kind, flow_id FROM broadcasts ORDER BY id")
    assert sent == [{"kind": "flow", "flow_id": "panel_seat"}, {"kind": "message", "flow_id": None}]
    shown = await organiser.get(f"/admin/panels/{panel_id}")
    assert "Tell them again" in shown.text


async def test_a_panel_vote_drafts_a_poll_for_the_panel(web: Harness, organiser: Browser) -> None:
    panel_id = await _drawn(web, seated=2)
    page = await organiser.get(f"/admin/panels/{panel_id}")
    once = _once(page)
    empty = await organiser.post(
        f"/admin/panels/{panel_id}/vote",
        {"proposal_en": "", "proposal_pl": "Ogród", "threshold": "share", "share": "lots"},
    )
    assert empty.status_code == 400
    assert 'id="proposal_en-error">Give the proposal in en' in empty.text
    assert "Ogród</textarea>" in empty.text
    bad = await organiser.post(
        f"/admin/panels/{panel_id}/vote",
        {"proposal_en": "Fund the garden", "threshold": "share", "share": "lots", "once": once},
    )
    assert bad.status_code == 400
    assert 'id="share-error">' in bad.text
    assert await web.rows("SELECT id FROM polls") == []
    fields: dict[str, object] = {
        "proposal_en": "Fund the garden",
        "proposal_pl": "Sfinansować ogród",
        "quorum": "50%",
        "threshold": "two-thirds",
        "closes": "2026-03-09T18:00",
        "once": once,
    }
    answer = await organiser.post(f"/admin/panels/{panel_id}/vote", fields)
    assert answer.status_code == 303, answer.text
    [poll] = await web.rows("SELECT id, panel_id, quorum, threshold, question FROM polls")
    assert (poll["panel_id"], poll["quorum"], poll["threshold"]) == (panel_id, "50%", "two-thirds")
    assert json.loads(poll["question"]) == {"en": "Fund the garden", "pl": "Sfinansować ogród"}
    [draft] = await web.rows("SELECT id, status FROM broadcasts WHERE poll_id = ?", poll["id"])
    assert draft["status"] == "draft"
    assert answer.headers["location"] == f"/admin/broadcasts/{draft['id']}"

    outcome = Outcome(2, 2, 0, 0, "50%", 1, "two-thirds", True, True)
    await web.app.database.run(
        lambda tx: tx.execute(
            "UPDATE polls SET status = 'closed', outcome = ? WHERE id = ?",
            (outcome.to_json(), poll["id"]),
        )
    )
    shown = await organiser.get(f"/admin/panels/{panel_id}")
    assert f'href="/admin/polls/{poll["id"]}"' in shown.text
    assert "Passed" in shown.text
    assert "quorum met (2 of 1 needed" in shown.text


async def test_a_post_without_the_csrf_token_changes_nothing(
    web: Harness, organiser: Browser
) -> None:
    panel_id = await _drawn(web, seated=2)
    client = organiser.client
    invited = await client.post("/admin/panels/new", data={"name": "X", "sample": "1", "seed": "1"})
    notified = await client.post(f"/admin/panels/{panel_id}/notify", data={"once": "x"})
    voted = await client.post(f"/admin/panels/{panel_id}/vote", data={"proposal_en": "Fund it"})
    assert [invited.status_code, notified.status_code, voted.status_code] == [403, 403, 403]
    assert len(await web.rows("SELECT id FROM panels")) == 1
    assert await web.rows("SELECT id FROM broadcasts") == []
    assert await web.rows("SELECT id FROM polls") == []
