"""The staff web, under ``/admin``: server-rendered pages and plain HTML forms (a little
JavaScript only adds to them), for community workers and organisers, in the browser
of a phone or a desk. Each page parses its form, calls the desk (:mod:`bot.desk`), and
renders what comes back with a template.

    web.py        what pages work with; :class:`Page`, how a module declares its pages
    auth.py       signing in and out, sessions, throttled failures
    forms.py      reading forms within limits, their CSRF token, errors beside fields
    counter.py    the desk from a request: reads on a snapshot, actions on the writer
    render.py     templates, in English, times in the deployment's zone
    pages/        one module per part: dashboard, contacts, broadcasts, polls, ideas,
                  panels, decisions, budgeting, flows, exports, staff, audit

Nothing changes on a GET. A page for organisers answers a worker 403; an unknown id,
404; a form without its token, 403; and no traceback ever reaches a page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.app import App
from bot.desk import Forbidden, NotFound, Refused
from bot.store import secrets
from bot.store.database import snapshot, writing
from bot.web.admin import auth, forms
from bot.web.admin.counter import Counter
from bot.web.admin.pages import PAGES
from bot.web.admin.render import Pages
from bot.web.admin.web import Page, Web

log = logging.getLogger(__name__)

COOKIE = "parley_staff"
SESSION_AGE = 8 * 60 * 60
"""Seconds a session cookie lives unless renewed (each minute of use renews it)."""


def _key(app: App) -> str:
    """The key the session cookie is signed with, kept in the database."""
    now = app.service.clock()
    with snapshot(app.settings.database) as tx:
        row = tx.execute("SELECT value FROM secrets WHERE name = 'web_session_key'").fetchone()
    if row is not None:
        return str(row[0])
    with writing(app.settings.database) as tx:
        return secrets.kept(tx, "web_session_key", now).hex()


def _error(web: Web, request: Request, status: int, message: str) -> Response:
    return web.render(request, "error.html", status, status_code=status, message=message)


def _guarded(web: Web, page: Page) -> Callable[[Request], Awaitable[Response]]:
    """The page behind sign-in, its role, its form's CSRF token; a desk refusal as
    the page it deserves."""

    async def endpoint(request: Request) -> Response:
        signed = await auth.current(web, request)
        if signed is None:
            if request.method == "GET":
                return RedirectResponse(f"/admin/login?next={request.url.path}", status_code=303)
            forms.csrf_token(request)
            return _error(web, request, 403, "Your session has ended. Sign in again.")
        request.state.staff = signed
        if page.organiser and not signed.organiser:
            log.warning("%s refused: %s (web) is a worker", request.url.path, signed.name)
            return _error(web, request, 403, "This page is for organisers.")
        try:
            if request.method == "POST":
                request.state.form = await forms.read(request, page.upload)
            response: Response = await page.endpoint(web, request)
            return response
        except NotFound as missing:
            return _error(web, request, 404, f"There is no {missing.kind} {missing.given}.")
        except Forbidden as refused:
            return _error(web, request, 403, f"{refused.action.capitalize()}: for organisers.")
        except Refused as problem:
            text = str(problem)
            return _error(web, request, 409, text[:1].upper() + text[1:] + ".")
        finally:
            await request.close()  # an uploaded file's temporary file goes now

    return endpoint


def build_admin(app: App) -> Starlette:
    web = Web(app, Pages(app.settings), Counter(app))

    def plain(
        handler: Callable[[Web, Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await handler(web, request)

        return endpoint

    async def signed_out(request: Request) -> Response:
        signed = await auth.current(web, request)
        if signed is None:
            forms.csrf_token(request)
            return _error(web, request, 403, "Your session has ended. Sign in again.")
        request.state.staff = signed
        await forms.read(request)
        return await auth.sign_out(web, request)

    routes: list[Any] = [
        Route("/login", plain(auth.sign_in_page), methods=["GET"]),
        Route("/login", plain(auth.sign_in), methods=["POST"]),
        Route("/logout", signed_out, methods=["POST"]),
        Mount("/static", app=StaticFiles(packages=[("bot.web", "static")]), name="static"),
    ]
    routes += [Route(page.path, _guarded(web, page), methods=list(page.methods)) for page in PAGES]

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code >= 400 and error.status_code != 404:
            log.warning(
                "%s %s: %d %s", request.method, request.url.path, error.status_code, error.detail
            )
        message = error.detail if error.status_code != 404 else "There is no such page."
        return _error(web, request, error.status_code, message)

    async def disconnected(request: Request, error: Exception) -> Response:
        log.warning("%s %s: the browser went away", request.method, request.url.path)
        return Response(status_code=400)

    async def failed(request: Request, error: Exception) -> Response:
        log.error(
            "%s %s failed: %s", request.method, request.url.path, type(error).__name__,
            exc_info=error,
        )  # fmt: skip
        return _error(web, request, 500, "Something went wrong; Parley's log says what.")

    https = (app.settings.public_url or "").startswith("https://")
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=_key(app),
                session_cookie=COOKIE,
                max_age=SESSION_AGE,
                path="/admin",
                same_site="lax",
                https_only=https,
            )
        ],
        exception_handlers={
            HTTPException: http_error,
            ClientDisconnect: disconnected,
            Exception: failed,
        },
    )
