"""Make the README's screenshots of the staff web again: the dashboard, the broadcast
composer with its preview, and a poll's results, in Debian's Chromium (Playwright).

    .venv/bin/python docs/screenshots.py            # writes docs/screenshots/*.png

It builds a throw-away Parley in a temporary folder (the simulator stands in for the
providers), puts residents, a poll and their votes, ideas and a broadcast in it through
the same desk and conversation service the real one uses, serves the staff web on a
free port on 127.0.0.1, signs in as an organiser and takes the pictures. Nothing leaves
the machine. Needs the development install (``uv sync --locked --extra dev``) and
``/usr/bin/chromium`` (``apt-get install chromium``).
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import uuid
from pathlib import Path

from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import App  # noqa: E402
from bot.channels.base import Inbound  # noqa: E402
from bot.channels.simulator import SimulatorChannel  # noqa: E402
from bot.civic import ideas  # noqa: E402
from bot.desk import Actor, Desk, Front, Role, broadcasts, polls  # noqa: E402  # noqa: E402
from bot.desk.accounts import password  # noqa: E402
from bot.desk.broadcasts import PollContent, Sending  # noqa: E402
from bot.desk.polls import PollSpec  # noqa: E402
from bot.server import listen  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.store import contacts, staff  # noqa: E402
from bot.store.sql import Tx  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGUMENTS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ORGANISER = ("amina", "a password for the pictures")
LANGUAGES = ("en", "en", "en", "pl", "pl", "ro", "ar", "ur", "bn", "so", "uk")
WARDS = ("North", "South", "East")


def _residents(tx: Tx, app: App) -> list[tuple[str, str]]:
    now = app.service.clock()
    staff.add(tx, ORGANISER[0], "organiser", password(ORGANISER[1]).hashed, now)
    chosen = random.Random(7)
    made = []
    for number in range(60):
        channel = "telegram" if number % 4 == 3 else "sms"
        address = str(7_000_000 + number) if channel == "telegram" else f"+4477009{number:05d}"
        contact = contacts.touch(tx, channel, address, chosen.choice(LANGUAGES), now)
        contacts.update(tx, contact, {"consent": "yes", "ward": chosen.choice(WARDS)})
        made.append((channel, address))
    return made


def _desk(tx: Tx, app: App) -> Desk:
    actor = Actor(ORGANISER[0], Role.ORGANISER, Front.WEB)
    return Desk(tx, app.settings, app.jobs.env, app.jobs.flows, app.service.clock(), actor)


def _poll(tx: Tx, app: App) -> int:
    desk = _desk(tx, app)
    question, options = polls.labelled(
        desk,
        "Which evening should the youth club open?",
        ["Monday", "Wednesday", "Friday"],
        {
            "pl": "Który wieczór ma być otwarty klub młodzieżowy? | Poniedziałek | Środa | Piątek",
            "ar": "في أي مساء يجب أن يفتح نادي الشباب؟ | الاثنين | الأربعاء | الجمعة",
        },
    )
    made = polls.make(desk, PollSpec(question, options))
    drafted = broadcasts.draft(desk, PollContent(made.id), Sending())
    broadcasts.send(desk, drafted.id)
    return made.id


async def _build(app: App) -> int:
    people = await app.database.run(lambda tx: _residents(tx, app))
    poll_id = await app.database.run(lambda tx: _poll(tx, app))
    await app.jobs.run_due()
    await app.dispatcher.drain()
    chosen = random.Random(3)
    for channel, address in people[:47]:
        vote = chosen.choices(["1", "2", "3"], weights=[2, 1, 4])[0]
        await app.service.receive(Inbound(channel, address, vote, uuid.uuid4().hex, None))
    for text in (
        "More benches by the library",
        "Longer opening hours at the youth club",
        "Call me about the broken lift: 07700 900123",
    ):
        channel, address = people[chosen.randrange(len(people))]

        def idea(tx: Tx, address: str = address, text: str = text) -> None:
            found = contacts.find(tx, "sms" if address.startswith("+") else "telegram", address)
            assert found is not None
            ideas.submit(tx, found, text, found.language or "en", app.service.clock(), region="GB")

        await app.database.run(idea)
    await app.dispatcher.drain()
    return poll_id


async def _sign_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/admin/login")
    await page.get_by_label("Your name").fill(ORGANISER[0])
    await page.get_by_label("Password").fill(ORGANISER[1])
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}/admin/")


async def _pictures(base: str, poll_id: int) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGUMENTS)
        desk = await browser.new_page(viewport={"width": 1100, "height": 900})
        await _sign_in(desk, base)
        await desk.screenshot(path=str(OUT / "dashboard.png"), full_page=True)
        await desk.goto(f"{base}/admin/broadcasts/new?kind=message")
        await desk.get_by_label("Message in en (the default language)").fill(
            "The resident panel meets on Tuesday at 6pm in the community centre."
            " Everyone is welcome."
        )
        await desk.locator("summary", has_text="Translations").click()
        await desk.get_by_label("Message in pl").fill(
            "Panel mieszkańców spotyka się we wtorek o 18:00 w centrum społecznym."
        )
        languages = desk.get_by_role("group", name="Only these languages")
        await languages.get_by_label("en", exact=True).check()
        await languages.get_by_label("pl", exact=True).check()
        await desk.screenshot(path=str(OUT / "composer.png"), full_page=False)
        phone = await browser.new_page(viewport={"width": 390, "height": 844})
        await _sign_in(phone, base)
        await phone.goto(f"{base}/admin/broadcasts/new?kind=poll")
        await phone.get_by_label("Question in en").fill("Which day should the library open late?")
        await phone.get_by_label("Option 1", exact=True).fill("Tuesday")
        await phone.get_by_label("Option 2", exact=True).fill("Thursday")
        await phone.screenshot(path=str(OUT / "composer-phone.png"), full_page=False)
        await desk.get_by_role("button", name="Preview").click()
        await desk.wait_for_url(f"{base}/admin/broadcasts/*")
        await desk.screenshot(path=str(OUT / "preview.png"), full_page=True)
        await desk.goto(f"{base}/admin/polls/{poll_id}?by=language")
        await desk.screenshot(path=str(OUT / "results.png"), full_page=True)
        await browser.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "parley.toml"
        config.write_text("[parley]\n", encoding="utf-8")
        settings = load_settings(
            {
                "PARLEY_DATABASE": str(Path(folder) / "parley.db"),
                "PARLEY_PORT": "0",
                "PARLEY_QUIET_HOURS": "off",
                "PARLEY_NAME": "Northside Voice",
            },
            config_file=config,
        )
        channels = {
            name: SimulatorChannel(name, lambda message: None) for name in ("sms", "telegram")
        }
        app = await App.open(settings, channels)
        try:
            poll_id = await _build(app)
            web, serving = await listen(app)
            port = web.servers[0].sockets[0].getsockname()[1]
            try:
                await _pictures(f"http://127.0.0.1:{port}", poll_id)
            finally:
                web.should_exit = True
                await serving
        finally:
            await app.close()
    for picture in sorted(OUT.glob("*.png")):
        print(picture.relative_to(ROOT))


if __name__ == "__main__":
    asyncio.run(main())
