"""Signing in and out of the staff web, sessions, throttling, CSRF and the headers: the
staff web's doors, shown in process against the real app on a real SQLite file."""

from __future__ import annotations

import re

import httpx
import pytest

from bot.store.sql import Tx
from bot.web.admin.pages import PAGES
from tests.conftest import Harness
from tests.web.conftest import ORGANISER, WORKER, Browser, browser


async def _audit(harness: Harness, action: str) -> list[dict[str, object]]:
    return await harness.rows(
        "SELECT actor, role, front, action FROM audit WHERE action = ?", action
    )


async def test_a_staff_member_signs_in_and_out(web: Harness) -> None:
    client = await browser(web)
    page = await client.get("/admin/")
    assert page.status_code == 303  # not signed in: to the sign-in page
    assert page.headers["location"] == "/admin/login?next=/admin/"
    form = await client.get(page.headers["location"])
    assert form.status_code == 200
    assert 'autocomplete="current-password"' in form.text
    answer = await client.post(
        "/admin/login", {"name": ORGANISER[0], "password": ORGANISER[1], "next": "/admin/polls"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/polls"
    cookie = answer.headers["set-cookie"]
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "path=/admin" in cookie.lower()
    assert "secure" not in cookie.lower()  # the test's public URL is not https
    dashboard = await client.get("/admin/")
    assert dashboard.status_code == 200
    assert "olu, organiser" in dashboard.text
    [signed_in] = await _audit(web, "staff.sign_in")
    assert signed_in == {
        "actor": "olu",
        "role": "organiser",
        "front": "web",
        "action": "staff.sign_in",
    }

    assert (await client.post("/admin/logout")).headers["location"] == "/admin/login"
    assert (await client.get("/admin/")).status_code == 303
    [ended] = await web.rows("SELECT ended_at FROM staff_sessions")
    assert ended["ended_at"] is not None
    await client.client.aclose()


async def test_the_cookie_is_secure_behind_https(harness: Harness) -> None:
    from dataclasses import replace

    harness.app.settings = replace(harness.app.settings, public_url="https://parley.example.org")
    from tests.web.conftest import add_account

    await harness.app.database.run(
        lambda tx: add_account(tx, "olu", "organiser", ORGANISER[1], harness)
    )
    client = await browser(harness)
    client.client.base_url = httpx.URL("https://parley.test")
    await client.get("/admin/login")
    answer = await client.post("/admin/login", {"name": "olu", "password": ORGANISER[1]})
    assert answer.status_code == 303
    assert "secure" in answer.headers["set-cookie"].lower()
    await client.client.aclose()


async def test_a_wrong_password_or_name_is_refused_alike(web: Harness) -> None:
    client = await browser(web)
    await client.get("/admin/login")
    wrong = await client.post("/admin/login", {"name": ORGANISER[0], "password": "not it at all"})
    unknown = await client.post("/admin/login", {"name": "nobody", "password": "not it at all"})
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert "That name and password do not match an account." in answer.text
        assert "set-cookie" not in answer.headers or "sid" not in answer.headers["set-cookie"]
    assert 'value="nobody"' in unknown.text  # the name is kept ...
    assert "not it at all" not in unknown.text  # ... the password never
    assert (await client.get("/admin/")).status_code == 303
    await client.client.aclose()


async def test_five_failures_make_a_sixth_try_wait_even_with_the_right_password(
    web: Harness,
) -> None:
    client = await browser(web)
    await client.get("/admin/login")
    for _ in range(5):
        answer = await client.post("/admin/login", {"name": WORKER[0], "password": "guess guess"})
        assert answer.status_code == 401
    blocked = await client.post("/admin/login", {"name": WORKER[0], "password": WORKER[1]})
    assert blocked.status_code == 429
    assert "Too many failed sign-ins. Wait 15 minutes" in blocked.text
    assert (await client.get("/admin/")).status_code == 303  # not signed in
    # From another address, the account is still held back: failures count per account.
    other = await browser(web, "203.0.113.9")
    await other.get("/admin/login")
    held = await other.post("/admin/login", {"name": WORKER[0], "password": WORKER[1]})
    assert held.status_code == 429
    # Fifteen minutes after the first failure, the right password works again.
    web.clock.advance(minutes=15, seconds=1)
    assert (
        await client.post("/admin/login", {"name": WORKER[0], "password": WORKER[1]})
    ).status_code == 303
    assert (await client.get("/admin/")).status_code == 200
    for one in (client, other):
        await one.client.aclose()


async def test_failures_from_one_address_hold_back_every_account(web: Harness) -> None:
    client = await browser(web)
    await client.get("/admin/login")
    for n in range(5):
        await client.post("/admin/login", {"name": f"someone{n}", "password": "guess guess"})
    blocked = await client.post("/admin/login", {"name": ORGANISER[0], "password": ORGANISER[1]})
    assert blocked.status_code == 429
    await client.client.aclose()


async def test_a_session_ends_after_eight_idle_hours(web: Harness, organiser: Browser) -> None:
    web.clock.advance(hours=7, minutes=59)
    assert (await organiser.get("/admin/")).status_code == 200  # used: the eight hours restart
    web.clock.advance(hours=7, minutes=59)
    assert (await organiser.get("/admin/")).status_code == 200
    web.clock.advance(hours=8, seconds=1)
    assert (await organiser.get("/admin/")).status_code == 303


async def test_a_new_password_ends_every_session(web: Harness, worker: Browser) -> None:
    from bot.desk.accounts import password
    from bot.store import staff

    account = await web.app.database.run(lambda tx: staff.get(tx, WORKER[0]))
    assert account is not None
    secret = password("a brand new password").hashed

    def change(tx: Tx) -> None:
        staff.set_password(tx, account.id, secret, web.clock())
        staff.end_sessions(tx, account.id, web.clock())

    await web.app.database.run(change)
    assert (await worker.get("/admin/")).status_code == 303


async def test_a_forged_or_old_cookie_lets_no_one_in(web: Harness, organiser: Browser) -> None:
    cookie = organiser.client.cookies.get("parley_staff")
    assert cookie
    stranger = await browser(web)
    stranger.client.cookies.set("parley_staff", cookie[:-4] + "AAAA", path="/admin")
    assert (await stranger.get("/admin/")).status_code == 303
    await stranger.client.aclose()


# -- CSRF: every form of every page ----------------------------------------------------------


def _posts() -> list[str]:
    paths = [page.path for page in PAGES if "POST" in page.methods]
    return ["/admin" + re.sub(r"\{[a-z_]+\}", "1", path) for path in paths]


@pytest.mark.parametrize("path", [*_posts(), "/admin/logout"])
async def test_a_form_without_its_token_changes_nothing(
    web: Harness, organiser: Browser, path: str
) -> None:
    before = await web.rows("SELECT count(*) AS n FROM audit")
    for token in (None, "a" * 43):
        data = {} if token is None else {"csrf_token": token}
        answer = await organiser.client.post(path, data=data)
        assert answer.status_code == 403, path
        assert "This form has expired or did not come from Parley." in answer.text
    assert await web.rows("SELECT count(*) AS n FROM audit") == before
    assert (await organiser.get("/admin/")).status_code == 200  # still signed in


async def test_the_sign_in_form_needs_its_token_too(web: Harness) -> None:
    client = await browser(web)
    answer = await client.client.post(
        "/admin/login", data={"name": ORGANISER[0], "password": ORGANISER[1]}
    )
    assert answer.status_code == 403
    assert await web.rows("SELECT * FROM staff_sessions") == []
    await client.client.aclose()


# -- what no page ever does ----------------------------------------------------------------


async def test_security_headers_on_every_page(web: Harness, organiser: Browser) -> None:
    for path in ("/admin/", "/admin/login", "/admin/static/parley.css", "/admin/nowhere"):
        answer = await organiser.client.get(path)
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "'unsafe-inline'" not in policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert (await organiser.client.get("/admin/")).headers["cache-control"] == "no-store"
    # The providers' webhooks are not pages: none of this is added to them.
    assert "content-security-policy" not in (await organiser.client.get("/healthz")).headers


async def test_no_page_has_inline_script_or_style(organiser: Browser) -> None:
    for path in ("/admin/", "/admin/broadcasts/new?kind=poll", "/admin/broadcasts", "/admin/polls"):
        page = await organiser.get(path)
        assert page.status_code == 200, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", page.text), path
        assert " style=" not in page.text, path
        assert re.search(r"\bon[a-z]+=", page.text) is None, path


async def test_an_unknown_page_is_a_404_page(organiser: Browser) -> None:
    for path in ("/admin/nowhere", "/admin/polls/999", "/admin/broadcasts/999", "/admin/polls/x"):
        answer = await organiser.get(path)
        assert answer.status_code == 404, path
        assert "Traceback" not in answer.text
        assert "<h1>Not found</h1>" in answer.text


async def test_a_worker_is_refused_organiser_pages(web: Harness, worker: Browser) -> None:
    organiser_only = [page for page in PAGES if page.organiser]
    assert organiser_only  # closing a poll, at least
    for page in organiser_only:
        path = "/admin" + re.sub(r"\{[a-z_]+\}", "1", page.path)
        for method in page.methods:
            answer = await worker.get(path) if method == "GET" else await worker.post(path, {})
            assert answer.status_code == 403, (method, path)
    assert "Panels" not in (await worker.get("/admin/")).text  # nor offered them


async def test_signing_in_goes_back_only_to_a_staff_page(web: Harness) -> None:
    for asked, landed in (
        ("/admin/polls", "/admin/polls"),
        ("https://evil.example/admin", "/admin/"),
        ("//evil.example/admin", "/admin/"),
        ("/adminx", "/admin/"),
        ("/admin/../r/x", "/admin/"),
    ):
        client = await browser(web)
        await client.get("/admin/login")
        answer = await client.post(
            "/admin/login", {"name": ORGANISER[0], "password": ORGANISER[1], "next": asked}
        )
        assert answer.headers["location"] == landed
        await client.client.aclose()


async def test_an_oversized_form_is_refused_before_it_is_read(organiser: Browser) -> None:
    answer = await organiser.post("/admin/broadcasts/new", {"text_en": "x" * 300_000})
    assert answer.status_code == 413
