"""Staff accounts, for organisers: the list, adding one, and for each account its role,
a new password, or removing it. And for everyone signed in: changing their own password
(which ends every session of the account, this one too).

Passwords are hashed in a worker thread before the transaction (Argon2 is slow on
purpose) and never shown again, not even on a refused form."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.desk import Invalid, NotFound, Refused
from bot.desk import accounts as desk_accounts
from bot.desk.accounts import MAX_PASSWORD, Password, StaffAccount
from bot.store import staff as stored
from bot.store.staff import FAILURE_WINDOW
from bot.web.admin import forms
from bot.web.admin.auth import FAILURES_ALLOWED
from bot.web.admin.forms import Form
from bot.web.admin.render import notice
from bot.web.admin.web import Page, Web, see_other

ROLES = (
    ("worker", "Worker: contacts, broadcasts, polls, ideas; results once a poll has closed"),
    ("organiser", "Organiser: everything, with staff accounts and the audit log"),
)
_SECRETS = ("password", "password_again", "current")
"""Fields never shown again."""


def _typed(posted: FormData) -> Form:
    """What was typed, to show again, without any password."""
    values = {key: value for key, value in forms.from_form(posted).items() if key not in _SECRETS}
    return Form(values)


def _secret(posted: FormData, name: str) -> str:
    """A password field as typed (not trimmed: spaces may be part of it)."""
    value = posted.get(name)
    return value[: MAX_PASSWORD + 1] if isinstance(value, str) else ""


async def _new_password(form: Form, posted: FormData) -> Password | None:
    """The new password typed twice, checked and hashed; or its problems on ``form``."""
    text, again = _secret(posted, "password"), _secret(posted, "password_again")
    if not text:
        form.error("password", "give the new password")
        return None
    if text != again:
        form.error("password_again", "the two passwords differ: type the same one twice")
        return None
    try:
        return await asyncio.to_thread(desk_accounts.password, text)
    except Invalid as problem:
        form.error("password", problem.problem)
        return None


def _role(form: Form, posted: FormData) -> str:
    role = forms.text(posted, "role", 20)
    if role not in dict(ROLES):
        form.error("role", "choose organiser or worker")
    return role


# -- the list, and adding an account --------------------------------------------------------


async def _list_page(web: Web, request: Request, form: Form, status: int = 200) -> Response:
    found = await web.read(request, desk_accounts.listing)
    return web.render(request, "staff.html", status, accounts=found, form=form, roles=ROLES)


async def listing(web: Web, request: Request) -> Response:
    return await _list_page(web, request, Form({"role": "worker"}))


async def add(web: Web, request: Request) -> Response:
    posted = web.form(request)
    form = _typed(posted)
    name = forms.text(posted, "name", 80)
    if not name:
        form.error("name", "give the account a name, like amina.k")
    role = _role(form, posted)
    secret = await _new_password(form, posted)
    if not form.ok or secret is None:
        return await _list_page(web, request, form, 400)
    try:
        made = await web.write(request, lambda desk: desk_accounts.add(desk, name, role, secret))
    except Invalid as problem:
        form.error(problem.field if problem.field in ("name", "role") else "name", problem.problem)
        return await _list_page(web, request, form, 400)
    notice(
        request,
        f"Staff account '{made.name}' ({made.role.value}) added. They sign in at /admin"
        " with the password you gave them.",
    )
    return see_other("/admin/staff")


# -- one account ------------------------------------------------------------------------------


def _name(request: Request) -> str:
    name = str(request.path_params["name"])
    if len(name) > 80:
        raise NotFound("staff account", f"'{name[:80]}'")
    return name


@dataclass
class _Forms:
    """The account page's forms, each with its own errors."""

    role: Form
    password: Form
    remove: Form


async def _account_page(
    web: Web, request: Request, name: str, shown: _Forms | None = None, status: int = 200
) -> Response:
    found = await web.read(request, desk_accounts.listing)
    account = next((one for one in found if one.name.lower() == name.lower()), None)
    if account is None:
        raise NotFound("staff account", f"'{name}'")
    if shown is None:
        shown = _Forms(Form({"role": account.role.value}), Form(), Form())
    me = web.staff(request).name.lower() == account.name.lower()
    return web.render(
        request,
        "staff_account.html",
        status,
        account=account,
        me=me,
        role_form=shown.role,
        password_form=shown.password,
        remove_form=shown.remove,
        roles=ROLES,
        organisers=sum(one.role.value == "organiser" for one in found),
    )


async def account(web: Web, request: Request) -> Response:
    return await _account_page(web, request, _name(request))


async def change_role(web: Web, request: Request) -> Response:
    name = _name(request)
    posted = web.form(request)
    form = _typed(posted)
    role = _role(form, posted)
    if form.ok:
        try:
            changed = await web.write(
                request, lambda desk: desk_accounts.set_role(desk, name, role)
            )
        except NotFound:
            raise
        except Refused as problem:  # a bad role, or the last organiser
            form.error("role", str(problem))
        else:
            role = changed.role.value
            notice(
                request, f"'{changed.name}' is now {'an' if role[0] in 'aeiou' else 'a'} {role}."
            )
            if changed.name.lower() == web.staff(request).name.lower() and (
                changed.role.value != "organiser"
            ):
                return see_other("/admin/")
            return see_other(f"/admin/staff/accounts/{changed.name}")
    return await _account_page(web, request, name, _Forms(form, Form(), Form()), 400)


def _signed_out(request: Request) -> Response:
    """After a staff member's own password changed: every session of theirs has ended."""
    request.session.pop("sid", None)
    notice(request, "Your password is changed and you are signed out: sign in with the new one.")
    return see_other("/admin/login")


async def _set(web: Web, request: Request, name: str, secret: Password) -> StaffAccount:
    return await web.write(request, lambda desk: desk_accounts.set_password(desk, name, secret))


async def set_password(web: Web, request: Request) -> Response:
    name = _name(request)
    posted = web.form(request)
    form = _typed(posted)
    secret = await _new_password(form, posted)
    if secret is None:
        return await _account_page(web, request, name, _Forms(Form(), form, Form()), 400)
    changed = await _set(web, request, name, secret)
    if changed.name.lower() == web.staff(request).name.lower():
        return _signed_out(request)
    notice(request, f"Password of '{changed.name}' set; every session of it has ended.")
    return see_other(f"/admin/staff/accounts/{changed.name}")


async def remove(web: Web, request: Request) -> Response:
    name = _name(request)
    try:
        gone = await web.write(request, lambda desk: desk_accounts.remove(desk, name))
    except NotFound:
        raise
    except Refused as problem:  # your own account, or the last organiser
        form = Form()
        form.error("remove", str(problem))
        return await _account_page(web, request, name, _Forms(Form(), Form(), form), 409)
    notice(request, f"Staff account '{gone.name}' removed; what it did stays in the audit log.")
    return see_other("/admin/staff")


# -- your own password ------------------------------------------------------------------------


async def own_page(web: Web, request: Request) -> Response:
    return web.render(request, "staff_password.html", form=Form())


async def _current_matches(web: Web, request: Request, form: Form, given: str) -> bool:
    """Whether ``given`` is the signed-in account's password. Wrong ones count as failed
    sign-ins, so this form is no way round their limit."""
    signed = web.staff(request)
    address = request.client.host if request.client else "unknown"
    now = web.app.service.clock()
    by_name, by_address, oldest = await web.app.database.run(
        lambda tx: stored.failures(tx, signed.name, address, now)
    )
    if by_name >= FAILURES_ALLOWED or by_address >= FAILURES_ALLOWED:
        wait = FAILURE_WINDOW - (now - oldest) if oldest else FAILURE_WINDOW
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        form.error(
            "current",
            f"too many wrong passwords: wait {minutes} minute{'s' if minutes != 1 else ''}"
            " and try again",
        )
        return False
    found = await web.read(request, lambda desk: stored.get(desk.tx, signed.name))
    hashed = found.password if found is not None else None  # timed all the same
    matches: bool = await asyncio.to_thread(desk_accounts.verify, hashed, given)
    if given and matches:
        return True
    await web.app.database.run(lambda tx: stored.failed(tx, signed.name, address, now))
    form.error("current", "that is not your password now")
    return False


async def own_password(web: Web, request: Request) -> Response:
    posted = web.form(request)
    form = _typed(posted)
    if not await _current_matches(web, request, form, _secret(posted, "current")):
        return web.render(request, "staff_password.html", 400, form=form)
    secret = await _new_password(form, posted)
    if secret is None:
        return web.render(request, "staff_password.html", 400, form=form)
    await _set(web, request, web.staff(request).name, secret)
    return _signed_out(request)


PAGES = [
    Page("/staff", listing, organiser=True),
    Page("/staff", add, ("POST",), organiser=True),
    Page("/staff/password", own_page),
    Page("/staff/password", own_password, ("POST",)),
    Page("/staff/accounts/{name}", account, organiser=True),
    Page("/staff/accounts/{name}/role", change_role, ("POST",), organiser=True),
    Page("/staff/accounts/{name}/password", set_password, ("POST",), organiser=True),
    Page("/staff/accounts/{name}/remove", remove, ("POST",), organiser=True),
]
