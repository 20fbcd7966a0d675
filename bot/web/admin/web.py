"""What every staff page works with: the pages (templates), the desk (reads on a
snapshot, actions on the writer), who is signed in, and the posted form; and
:class:`Page`, how a page module declares its addresses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from bot.app import App
from bot.desk import Desk, NotFound
from bot.web.admin.counter import Counter, SignedIn
from bot.web.admin.render import Pages

T = TypeVar("T")


@dataclass
class Web:
    app: App
    pages: Pages
    counter: Counter

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        return self.pages.render(request, template, context, status)

    @staticmethod
    def staff(request: Request) -> SignedIn:
        signed: SignedIn = request.state.staff
        return signed

    @staticmethod
    def form(request: Request) -> FormData:
        """The posted form, read and checked for its CSRF token before the page ran."""
        posted: FormData = request.state.form
        return posted

    async def read(self, request: Request, work: Callable[[Desk], T]) -> T:
        return await self.counter.read(self.staff(request), work)

    async def write(self, request: Request, work: Callable[[Desk], T]) -> T:
        return await self.counter.write(self.staff(request), work)

    async def once(self, request: Request, token: str, work: Callable[[Desk], str]) -> str:
        return await self.counter.once(self.staff(request), token, work)


Endpoint = Callable[[Web, Request], Awaitable[Any]]


@dataclass(frozen=True)
class Page:
    """An address of the staff web: GET shows, POST acts (nothing changes on a GET)."""

    path: str  # under /admin
    endpoint: Endpoint
    methods: tuple[str, ...] = ("GET",)
    organiser: bool = False  # for organisers only: a worker gets 403
    upload: bool = False  # its form may carry a file


def number_in(request: Request, kind: str) -> int:
    """The page's ``{number}``: a poll's, a broadcast's, ...; one that cannot be a number
    names no ``kind`` (404)."""
    given = str(request.path_params["number"])
    if not given.isdigit() or len(given) > 12:
        raise NotFound(kind, given[:20])
    return int(given)


def cursor(request: Request, name: str = "older") -> int | None:
    """A page's keyset cursor (``?older=4821``): an id, or None when not one."""
    given = request.query_params.get(name, "")
    return int(given) if given.isdigit() and len(given) < 13 else None


def see_other(location: str) -> RedirectResponse:
    """After an action, the page to look at (303: the browser GETs it)."""
    return RedirectResponse(location, status_code=303)
