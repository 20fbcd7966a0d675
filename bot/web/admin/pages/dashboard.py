"""The dashboard: contacts by language, channel and opt-out; open polls; broadcasts in
progress with their progress bars; the outbox's health; ideas waiting."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bot.desk import dashboard
from bot.web.admin.web import Page, Web


async def overview(web: Web, request: Request) -> Response:
    shown = await web.read(request, dashboard.overview)
    return web.render(request, "dashboard.html", overview=shown)


PAGES = [Page("/", overview)]
