"""Every page of the staff web, in a real browser on a 360 px wide phone screen: no
WCAG 2.2 A/AA failure that axe-core finds (every input labelled, contrast, names of
buttons and links, headings, landmarks), nothing wider than the screen, and the pages
usable with the keyboard alone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, ViewportSize, expect

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
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.web.browsing import ORGANISER, SMS_PL, WORKER, Site, chromium, running, sign_in
from tests.web.conftest import WEB_PAGES

PHONE: ViewportSize = {"width": 360, "height": 740}
STANDARDS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


async def _world(site: Site) -> dict[str, str]:
    """A poll with votes, broadcasts, ideas (one flagged), a panel with volunteers and a
    decision: something on every page. Returns the ids to put in the pages' paths."""
    app = site.parley.server.app
    assert app is not None

    def make(tx: Tx) -> dict[str, str]:
        desk = Desk(
            tx,
            app.settings,
            app.jobs.env,
            app.jobs.flows,
            app.service.clock(),
            Actor("olu", Role.ORGANISER, Front.WEB),
        )
        question, options = desk_polls.labelled(
            desk, "Which evening?", ["Monday", "Friday"], {"pl": "Który wieczór? | Pon | Pt"}
        )
        poll = desk_polls.make(desk, PollSpec(question, options))
        sent = desk_broadcasts.draft(desk, PollContent(poll.id), Sending())
        desk_broadcasts.send(desk, sent.id)
        desk_broadcasts.draft(desk, MessageContent({"en": "The panel meets on Tuesday."}))
        resident = contacts.find(tx, "sms", SMS_PL)
        assert resident is not None
        plain = idea_work.submit(
            tx, resident, "More benches by the library", "pl", desk.now, region="GB"
        )
        idea_work.submit(tx, resident, "Call me on 07700 900123", "pl", desk.now, region="GB")
        panel_id = panels.create(tx, "Spring panel", 3, desk.now)
        for contact_id in (1, 2, 3):
            panels.volunteer(tx, panel_id, contact_id, {"area": "North", "age": "young"}, desk.now)
        desk_decisions.record(
            desk, "agreed", {"en": "The youth club opens on Friday."}, [f"poll:{poll.id}"]
        )
        token = desk_polls.publish(desk, poll.id)
        fund = desk_pb.open_round(desk, RoundSpec("Oakfield Fund", 100000))
        garden = BidSpec("Community garden", "Raised beds.", 12000, "Residents")
        desk_pb.add_bid(desk, fund.id, garden)
        return {
            "token": token or "",
            "number": str(poll.id),
            "ref": plain.reference,
            "flow_id": "priorities",
            "name": "wren",
            "panel": str(panel_id),
        }

    return await app.database.run(make)


def _paths(world: dict[str, str]) -> list[str]:
    """Every HTML page, its path's parameters filled in."""
    found = []
    for path in WEB_PAGES:
        filled = re.sub(r"\{([a-z_]+)\}", lambda m: world.get(m.group(1), "1"), path)
        found.append(filled)
    return found


async def _check(page: Page, axe: Axe, url: str) -> list[str]:
    answer = await page.goto(url)
    assert answer is not None
    assert answer.status == 200, (url, answer.status)
    found = await axe.run(page, options={"runOnly": {"type": "tag", "values": STANDARDS}})
    problems = [
        f"{url}: {violation['id']} ({violation['impact']}): "
        + "; ".join(node["html"][:120] for node in violation["nodes"][:3])
        for violation in found.response["violations"]
    ]
    wide = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if wide > 0:
        problems.append(f"{url}: {wide} px wider than a 360 px screen")
    return problems


async def test_every_page_passes_axe_and_fits_a_phone(
    tmp_path: Path,
    live: Any,
    fake_twilio: tuple[FakeTwilio, str],
    fake_telegram: tuple[FakeTelegram, str],
) -> None:
    async with running(tmp_path, live, fake_twilio, fake_telegram) as site, chromium() as browser:
        world = await _world(site)
        # axe-core runs in the page as script: the Content Security Policy would refuse it.
        context = await browser.new_context(viewport=PHONE, bypass_csp=True)
        page = await context.new_page()
        axe = Axe()
        problems = await _check(page, axe, f"{site.url}/admin/login")
        await sign_in(page, site, ORGANISER)
        for path in _paths(world):
            problems += await _check(page, axe, f"{site.url}/admin{path}")
        problems += await _check(page, axe, f"{site.url}/admin/broadcasts/new?kind=poll")
        problems += await _check(page, axe, f"{site.url}/admin/broadcasts/new?kind=survey")
        problems += await _check(page, axe, f"{site.url}/r/{world['token']}")  # residents' own
        problems += await _check(page, axe, f"{site.url}/r/{world['token']}?lang=pl")
        assert not problems, "\n".join(problems)


async def test_the_keyboard_alone_signs_in_and_finds_its_way(
    tmp_path: Path,
    live: Any,
    fake_twilio: tuple[FakeTwilio, str],
    fake_telegram: tuple[FakeTelegram, str],
) -> None:
    async with running(tmp_path, live, fake_twilio, fake_telegram) as site, chromium() as browser:
        page = await browser.new_page(viewport=PHONE)
        await page.goto(f"{site.url}/admin/login")
        # The first Tab reaches the skip link, which is seen when focused.
        await page.keyboard.press("Tab")
        await expect(page.locator(".skip")).to_be_focused()
        await expect(page.locator(".skip")).to_be_in_viewport()
        await _tab_to(page, "#name")
        await page.keyboard.type(WORKER[0])
        await page.keyboard.press("Tab")
        await expect(page.locator("#password")).to_be_focused()
        await page.keyboard.type(WORKER[1])
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.url}/admin/")
        # To the broadcasts by keyboard, and the focus ring is there to be seen.
        link = page.get_by_role("navigation", name="Staff pages").get_by_role(
            "link", name="Broadcasts"
        )
        await _tab_to(page, link)
        ring = await link.evaluate(
            "e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth"
        )
        assert ring.startswith("solid"), ring
        assert not ring.endswith(" 0px"), ring
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.url}/admin/broadcasts")
        # Sign out: a button, reached and pressed from the keyboard.
        await _tab_to(page, page.get_by_role("button", name="Sign out"))
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.url}/admin/login")


async def _tab_to(page: Page, target: Any, most: int = 60) -> None:
    locator = page.locator(target) if isinstance(target, str) else target
    for _ in range(most):
        if await locator.evaluate("e => e === document.activeElement"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{target} not reached with Tab")
