"""Signing in and out of the staff web.

Accounts are in the database (``parley staff add``); passwords are Argon2id hashes,
checked in a worker thread. A session is a random token in Starlette's signed session
cookie (HttpOnly, SameSite=Lax, Secure when the public URL is https); its SHA-256 is kept
with the account, so signing out, a changed password or a removed account ends it at
once, and eight hours without being used end it too.

After five failed sign-ins for one account name, or from one network address, within
fifteen minutes, the next tries are refused unseen until the oldest failure is fifteen
minutes old; a wrong name takes as long as a wrong password, so neither tells who has an
account.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from bot.desk import Role
from bot.desk.accounts import verify
from bot.store import audit, staff
from bot.store.sql import Tx
from bot.store.staff import FAILURE_WINDOW
from bot.web.admin import forms
from bot.web.admin.counter import SignedIn
from bot.web.admin.web import Web, see_other

log = logging.getLogger(__name__)

FAILURES_ALLOWED = 5
SEEN_EVERY = timedelta(minutes=1)
"""How often a session's last use is written down (and its cookie renewed)."""


def _record(tx: Tx, name: str, role: str, action: str, now: datetime) -> None:
    audit.add(tx, audit.Entry(now, name, role, "web", action, f"staff {name}", json.dumps({})))


async def current(web: Web, request: Request) -> SignedIn | None:
    """Who the request comes from, if their session is live."""
    token = request.session.get("sid")
    if not isinstance(token, str) or not token:
        return None
    now = web.app.service.clock()

    def look(tx: Tx) -> tuple[SignedIn, bool] | None:
        found = staff.session(tx, token, now)
        if found is None:
            return None
        fresh = now - found.seen_at >= SEEN_EVERY
        if fresh:
            staff.seen(tx, found.id, now)
        account = found.account
        return SignedIn(account.id, account.name, Role(account.role), found.id), fresh

    seen = await web.app.database.run(look)
    if seen is None:
        request.session.pop("sid", None)
        return None
    signed, fresh = seen
    if fresh:  # the cookie is sent again, so its eight hours start again too
        request.session["seen"] = int(now.timestamp())
    return signed


def _next(request: Request, asked: str) -> str:
    """Where to go after signing in: a staff page, never another site."""
    if asked.startswith("/admin/") and ".." not in asked and "\\" not in asked:
        return asked
    return "/admin/"


async def sign_in_page(web: Web, request: Request) -> Response:
    forms.csrf_token(request)
    if await current(web, request) is not None:
        return see_other(_next(request, request.query_params.get("next", "/admin/")))
    return web.render(
        request, "login.html", form=forms.Form({"next": request.query_params.get("next", "")})
    )


async def sign_in(web: Web, request: Request) -> Response:
    posted = await forms.read(request)
    name = forms.text(posted, "name", 40)
    password = posted.get("password")
    password = password[:200] if isinstance(password, str) else ""
    form = forms.Form({"name": name, "next": forms.text(posted, "next", 500)})
    address = request.client.host if request.client else "unknown"
    now = web.app.service.clock()
    database = web.app.database

    by_name, by_address, oldest = await database.run(
        lambda tx: staff.failures(tx, name, address, now)
    )
    if by_name >= FAILURES_ALLOWED or by_address >= FAILURES_ALLOWED:
        wait = FAILURE_WINDOW - (now - oldest) if oldest else FAILURE_WINDOW
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        which = "account" if by_name >= FAILURES_ALLOWED else "address"
        log.warning("sign-in refused: too many failures for one %s", which)
        form.error(
            "name",
            f"Too many failed sign-ins. Wait {minutes} minute{'s' if minutes != 1 else ''}"
            " and try again.",
        )
        return web.render(request, "login.html", 429, form=form)
    if not name or not password:
        form.error("name" if not name else "password", "Give your name and your password.")
        return web.render(request, "login.html", 400, form=form)
    account = await database.run(lambda tx: staff.get(tx, name))
    hashed = account.password if account is not None else None  # timed all the same
    matches = await asyncio.to_thread(verify, hashed, password)
    if account is None or not matches:
        await database.run(lambda tx: staff.failed(tx, name, address, now))
        log.warning("failed sign-in to the staff web")
        form.error("password", "That name and password do not match an account.")
        return web.render(request, "login.html", 401, form=form)

    token = secrets.token_urlsafe(32)

    def open_session(tx: Tx) -> None:
        assert account is not None
        staff.open_session(tx, account.id, token, now)
        staff.forget_failures(tx, account.name)
        _record(tx, account.name, account.role, "staff.sign_in", now)

    await database.run(open_session)
    request.session.clear()  # a new session: nothing from before signing in carries over
    request.session["sid"] = token
    forms.csrf_token(request)
    return see_other(_next(request, form.values["next"]))  # type: ignore[arg-type]


async def sign_out(web: Web, request: Request) -> Response:
    token = request.session.get("sid")
    signed = getattr(request.state, "staff", None)
    now = web.app.service.clock()

    def end(tx: Tx) -> None:
        if isinstance(token, str):
            staff.end_session(tx, token, now)
        if signed is not None:
            _record(tx, signed.name, signed.role.value, "staff.sign_out", now)

    await web.app.database.run(end)
    request.session.clear()
    return see_other("/admin/login")
