"""Polls: the list; a poll's page with its results (live for organisers, for workers once
it has closed), broken down by language, channel or a contact field, with the bar chart;
closing it early, and its public results page (organisers)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from bot.civic.chart import Picture
from bot.civic.fonts import Fonts
from bot.civic.polls import Results
from bot.desk import Desk, Forbidden, Invalid
from bot.desk import polls as desk_polls
from bot.desk import results as desk_results
from bot.desk.polls import PollView
from bot.web.admin.render import notice
from bot.web.admin.web import Page, Web, cursor, number_in, see_other


async def listing(web: Web, request: Request) -> Response:
    before = cursor(request)
    found = await web.read(request, lambda desk: desk_polls.listing(desk, 25, before))
    more = found[-1].poll.id if len(found) == 25 else None
    return web.render(request, "polls.html", shown=found, older=more)


@dataclass(frozen=True)
class _Seen:
    view: PollView
    results: Results | None  # None: a worker, while it is open
    problem: str  # why the breakdown asked for cannot be shown


async def show(web: Web, request: Request) -> Response:
    number = number_in(request, "poll")
    by = request.query_params.get("by", "").strip() or None

    def look(desk: Desk) -> _Seen:
        view = desk_polls.show(desk, number)
        try:
            return _Seen(view, desk_results.of_poll(desk, number, by), "")
        except Forbidden:
            return _Seen(view, None, "")
        except Invalid as problem:
            return _Seen(view, desk_results.of_poll(desk, number), problem.problem)

    seen = await web.read(request, look)
    public = web.app.settings.public_url or str(request.base_url).rstrip("/")
    return web.render(
        request,
        "poll.html",
        view=seen.view,
        poll=seen.view.poll,
        results=seen.results,
        by=by or "",
        problem=seen.problem,
        link=f"{public}/r/{seen.view.public_token}" if seen.view.public_token else "",
    )


_FONTS: list[Fonts] = []


async def chart(web: Web, request: Request) -> Response:
    """The bar chart as a PNG (drawn with shaping for Arabic and Bengali)."""
    number = number_in(request, "poll")
    if not _FONTS:
        _FONTS.append(await asyncio.to_thread(Fonts.find, web.app.settings.fonts_dir))
    fonts = _FONTS[0]

    def draw(desk: Desk) -> Picture:
        return desk_results.chart(desk, str(number), fonts)

    picture = await web.read(request, draw)
    return Response(picture.png, media_type="image/png", headers={"Cache-Control": "no-store"})


async def close(web: Web, request: Request) -> Response:
    number = number_in(request, "poll")
    await web.write(request, lambda desk: desk_polls.close(desk, number))
    notice(request, f"Poll {number} is closing now; its result goes to voters if it says so.")
    return see_other(f"/admin/polls/{number}")


async def publish(web: Web, request: Request) -> Response:
    number = number_in(request, "poll")
    public = web.form(request).get("public") != "no"
    await web.write(request, lambda desk: desk_polls.publish(desk, number, public))
    notice(
        request,
        f"Poll {number} has a public results page." if public else f"Poll {number}'s page is gone.",
    )
    return see_other(f"/admin/polls/{number}")


PAGES = [
    Page("/polls", listing),
    Page("/polls/{number}", show),
    Page("/polls/{number}/chart.png", chart),
    Page("/polls/{number}/close", close, ("POST",), organiser=True),
    Page("/polls/{number}/publish", publish, ("POST",), organiser=True),
]
