"""The staff accounts pages: organisers add accounts, change roles, set passwords and
remove accounts; everyone signed in changes their own password (and is signed out)."""

from __future__ import annotations

import pytest

from tests.conftest import Harness
from tests.web.conftest import WORKER, Browser, browser

NEW = "amina's password 7"


async def _accounts(web: Harness) -> dict[str, str]:
    rows = await web.rows("SELECT name, role FROM staff_accounts ORDER BY name")
    return {row["name"]: row["role"] for row in rows}


async def _signed_in(web: Harness, name: str, secret: str) -> Browser:
    signed = await browser(web)
    answer = await signed.sign_in(name, secret)
    assert answer.status_code == 303, answer.text
    return signed


async def _signed_out(signed: Browser) -> bool:
    page = await signed.client.get("/admin/")
    return page.status_code == 303 and page.headers["location"].startswith("/admin/login")


PAGES = ["/admin/staff", "/admin/staff/accounts/olu"]
POSTS: dict[str, dict[str, object]] = {
    "/admin/staff": {"name": "x1", "role": "worker", "password": NEW, "password_again": NEW},
    "/admin/staff/accounts/olu/role": {"role": "worker"},
    "/admin/staff/accounts/olu/password": {"password": NEW, "password_again": NEW},
    "/admin/staff/accounts/olu/remove": {},
}


async def test_a_worker_is_refused_the_accounts(worker: Browser, web: Harness) -> None:
    for path in PAGES:
        assert (await worker.get(path)).status_code == 403, path
    await worker.get("/admin/")
    for path, fields in POSTS.items():
        assert (await worker.post(path, fields)).status_code == 403, path
    assert await _accounts(web) == {"olu": "organiser", "wren": "worker"}
    page = await worker.get("/admin/")
    assert 'href="/admin/staff"' not in page.text


async def test_the_list(organiser: Browser) -> None:
    page = await organiser.get("/admin/staff")
    assert page.status_code == 200, page.text
    assert '<a href="/admin/staff/accounts/olu">olu</a> (you)' in page.text
    assert '<a href="/admin/staff/accounts/wren">wren</a>' in page.text
    assert "<td>worker</td>" in page.text
    assert "<td>organiser</td>" in page.text
    assert "Mon 2 Mar 2026, 10:00" in page.text  # added, and password set


async def test_adding_an_account(organiser: Browser, web: Harness) -> None:
    await organiser.get("/admin/staff")
    fields: dict[str, object] = {
        "name": "amina.k",
        "role": "worker",
        "password": NEW,
        "password_again": NEW,
    }
    answer = await organiser.post("/admin/staff", fields)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/admin/staff"
    assert (await _accounts(web))["amina.k"] == "worker"
    page = await organiser.get("/admin/staff")
    assert "Staff account &#39;amina.k&#39; (worker) added." in page.text
    amina = await _signed_in(web, "amina.k", NEW)
    assert (await amina.get("/admin/")).status_code == 200
    assert (await amina.get("/admin/staff")).status_code == 403
    await amina.client.aclose()


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"password": "short one", "password_again": "short one"}, "password",
         "A password has at least 10 characters"),
        ({"password_again": "something else"}, "password_again", "The two passwords differ"),
        ({"password": "", "password_again": ""}, "password", "Give the new password"),
        ({"name": "wren"}, "name", "There is already a staff account &#39;wren&#39;"),
        ({"name": "WREN"}, "name", "There is already a staff account &#39;WREN&#39;"),
        ({"name": "amina k!"}, "name", "A name is 1 to 40 letters"),
        ({"name": ""}, "name", "Give the account a name"),
        ({"role": "boss"}, "role", "Choose organiser or worker"),
    ],
)  # fmt: skip
async def test_a_wrong_account_is_refused_beside_its_field(
    organiser: Browser, web: Harness, fields: dict[str, str], field: str, problem: str
) -> None:
    await organiser.get("/admin/staff")
    typed = {"name": "amina.k", "role": "worker", "password": NEW, "password_again": NEW}
    answer = await organiser.post("/admin/staff", {**typed, **fields})
    assert answer.status_code == 400, answer.text
    assert f'<p class="error" id="{field}-error">{problem}' in answer.text
    name = {**typed, **fields}["name"]
    if name:
        assert f'value="{name.replace(chr(39), "&#39;")}"' in answer.text  # kept as typed
    for secret in {NEW, fields.get("password", ""), fields.get("password_again", "")} - {""}:
        assert secret not in answer.text  # passwords are never shown again
    assert set(await _accounts(web)) == {"olu", "wren"}


async def test_changing_a_role(organiser: Browser, web: Harness) -> None:
    page = await organiser.get("/admin/staff/accounts/wren")
    assert page.status_code == 200, page.text
    assert "Remove wren's account" in page.text
    answer = await organiser.post("/admin/staff/accounts/wren/role", {"role": "organiser"})
    assert answer.status_code == 303, answer.text
    assert (await _accounts(web))["wren"] == "organiser"
    shown = await organiser.get(answer.headers["location"])
    assert "&#39;wren&#39; is now an organiser." in shown.text

    wrong = await organiser.post("/admin/staff/accounts/wren/role", {"role": "boss"})
    assert wrong.status_code == 400
    assert '<p class="error" id="role-error">Choose organiser or worker' in wrong.text
    assert (await _accounts(web))["wren"] == "organiser"


async def test_the_last_organiser_stays_one(organiser: Browser, web: Harness) -> None:
    await organiser.get("/admin/staff/accounts/olu")
    answer = await organiser.post("/admin/staff/accounts/olu/role", {"role": "worker"})
    assert answer.status_code == 400
    assert "is the last organiser account" in answer.text
    assert (await _accounts(web))["olu"] == "organiser"


async def test_setting_a_password_signs_the_account_out(
    organiser: Browser, worker: Browser, web: Harness
) -> None:
    await organiser.get("/admin/staff/accounts/wren")
    wrong = await organiser.post(
        "/admin/staff/accounts/wren/password", {"password": NEW, "password_again": NEW + "x"}
    )
    assert wrong.status_code == 400
    assert '<p class="error" id="password_again-error">The two passwords differ' in wrong.text
    assert NEW not in wrong.text
    assert not await _signed_out(worker)

    answer = await organiser.post(
        "/admin/staff/accounts/wren/password", {"password": NEW, "password_again": NEW}
    )
    assert answer.status_code == 303, answer.text
    assert await _signed_out(worker)
    again = await browser(web)
    refused = await again.sign_in(*WORKER)
    assert refused.status_code == 401
    wren = await _signed_in(web, "wren", NEW)
    assert (await wren.get("/admin/")).status_code == 200
    for signed in (again, wren):
        await signed.client.aclose()


async def test_removing_an_account(organiser: Browser, worker: Browser, web: Harness) -> None:
    await organiser.get("/admin/staff/accounts/wren")
    answer = await organiser.post("/admin/staff/accounts/wren/remove")
    assert answer.status_code == 303, answer.text
    assert set(await _accounts(web)) == {"olu"}
    assert await _signed_out(worker)  # its session no longer works
    await worker.get("/admin/login")
    assert (await worker.post("/admin/staff/password", {})).status_code == 403
    page = await organiser.get("/admin/staff")
    assert "Staff account &#39;wren&#39; removed" in page.text
    assert (await organiser.get("/admin/staff/accounts/wren")).status_code == 404
    assert (await organiser.post("/admin/staff/accounts/wren/remove")).status_code == 404


async def test_your_own_account_is_not_removed(organiser: Browser, web: Harness) -> None:
    page = await organiser.get("/admin/staff/accounts/olu")
    assert "Remove olu" not in page.text  # no button for it
    answer = await organiser.post("/admin/staff/accounts/olu/remove")
    assert answer.status_code == 409
    assert '<p class="error" id="remove-error">You cannot remove your own account' in answer.text
    assert set(await _accounts(web)) == {"olu", "wren"}


async def test_changing_your_own_password_signs_you_out(worker: Browser, web: Harness) -> None:
    page = await worker.get("/admin/staff/password")
    assert page.status_code == 200, page.text
    new = {"password": NEW, "password_again": NEW}

    wrong = await worker.post("/admin/staff/password", {"current": "not it at all", **new})
    assert wrong.status_code == 400
    assert '<p class="error" id="current-error">That is not your password now' in wrong.text
    short = await worker.post(
        "/admin/staff/password",
        {"current": WORKER[1], "password": "too short", "password_again": "too short"},
    )
    assert short.status_code == 400
    assert '<p class="error" id="password-error">A password has at least 10' in short.text
    for text in (WORKER[1], "too short", NEW):
        assert text not in wrong.text + short.text
    assert not await _signed_out(worker)

    answer = await worker.post("/admin/staff/password", {"current": WORKER[1], **new})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/admin/login"
    login = await worker.get("/admin/login")
    assert "Your password is changed and you are signed out" in login.text
    assert await _signed_out(worker)
    rows = await web.rows("SELECT actor, front FROM audit WHERE action = 'staff.password'")
    assert rows == [{"actor": "wren", "front": "web"}]
    wren = await _signed_in(web, "wren", NEW)
    await wren.client.aclose()


async def test_wrong_current_passwords_are_limited(worker: Browser, web: Harness) -> None:
    await worker.get("/admin/staff/password")
    new = {"password": NEW, "password_again": NEW}
    for _ in range(5):
        await worker.post("/admin/staff/password", {"current": "a wrong guess", **new})
    refused = await worker.post("/admin/staff/password", {"current": WORKER[1], **new})
    assert refused.status_code == 400
    assert "Too many wrong passwords: wait 15 minutes" in refused.text
    assert not await _signed_out(worker)


async def test_an_organiser_setting_their_own_password_is_signed_out(
    organiser: Browser, web: Harness
) -> None:
    await organiser.get("/admin/staff/accounts/olu")
    answer = await organiser.post(
        "/admin/staff/accounts/olu/password", {"password": NEW, "password_again": NEW}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/login"
    assert await _signed_out(organiser)


async def test_a_post_without_its_token_changes_nothing(organiser: Browser, web: Harness) -> None:
    await organiser.get("/admin/staff")
    organiser.token = "forged"
    for path, fields in POSTS.items():
        assert (await organiser.post(path, fields)).status_code == 403, path
    assert await _accounts(web) == {"olu": "organiser", "wren": "worker"}
    assert not await _signed_out(organiser)
