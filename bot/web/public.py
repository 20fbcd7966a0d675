"""A poll's public results page, ``/r/<token>``: the short link an organiser makes
(the staff web's poll page) and sends to residents.

It shows nobody's data: the question and options and, once voting has closed, how many
chose each, in each of the poll's languages (wholly in one language, never mixed), the
reader choosing among them. No breakdown: a small group could name its voters. A
private poll and a panel's vote have no page.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.app import App
from bot.civic.polls import Tally, results
from bot.lang import formats
from bot.lang.names import language_names
from bot.store import polls
from bot.store.database import snapshot
from bot.store.polls import Poll

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{4,32}$")
RIGHT_TO_LEFT = frozenset({"ar", "ur", "fa", "ps", "he", "yi", "dv", "ckb", "sd"})


@dataclass(frozen=True)
class Shown:
    poll: Poll
    tally: Tally | None  # None until the poll has closed


def _language(poll: Poll, asked: str | None, accepted: str) -> str:
    """The language to show: the one asked for, else the reader's browser's first that
    the poll is wholly in, else the poll's own."""
    whole = [code for code in poll.question if all(code in option.texts for option in poll.options)]
    if asked in whole:
        return asked
    for part in accepted.split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in whole:
            return code
    return poll.language


def results_page(app: App) -> Callable[[Request], Awaitable[Response]]:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    template = env.get_template("public.html")
    phrases = app.jobs.env.phrases
    names = language_names(app.settings.languages)

    def look(token: str) -> Shown | None:
        with snapshot(app.settings.database) as tx:
            poll = polls.by_public_token(tx, token)
            if poll is None or poll.results == "private" or poll.panel_id is not None:
                return None
            tally = results(tx, poll).overall if poll.status == "closed" else None
            return Shown(poll, tally)

    async def page(request: Request) -> Response:
        token = str(request.path_params["token"])
        shown = await asyncio.to_thread(look, token) if _TOKEN.match(token) else None
        if shown is None:
            return HTMLResponse(env.get_template("public_missing.html").render(), status_code=404)
        poll = shown.poll
        language = _language(
            poll, request.query_params.get("lang"), request.headers.get("accept-language", "")
        )
        zone = app.settings.timezone
        lines = []
        for option in poll.options:
            votes = shown.tally.counts.get(option.id, 0) if shown.tally else 0
            share = shown.tally.share(option.id) if shown.tally else 0.0
            lines.append(
                {
                    "label": option.texts[language],
                    "votes": phrases.plural(language, "%(n)d vote", "%(n)d votes", votes, n=votes),
                    "count": votes,
                    "share": formats.percent(share, language),
                }
            )
        voters = shown.tally.voters if shown.tally else 0
        closes = (
            phrases.text(
                language,
                "Voting closes %(when)s.",
                when=formats.when(poll.closes_at, language, zone),
            )
            if poll.closes_at is not None and shown.tally is None
            else ""
        )
        html = template.render(
            language=language,
            direction="rtl" if language in RIGHT_TO_LEFT else "ltr",
            title=phrases.text(
                language, "Poll result: %(question)s", question=poll.question[language]
            )
            if shown.tally
            else poll.question[language],
            question=poll.question[language],
            lines=lines,
            voters=voters,
            closed=shown.tally is not None,
            voted=phrases.plural(
                language,
                "%(n)d person voted. Thank you!",
                "%(n)d people voted. Thank you!",
                voters,
                n=voters,
            ),
            closes=closes,
            others=[
                (code, names[code].own if code in names else code)
                for code in poll.question
                if code != language and all(code in o.texts for o in poll.options)
            ],
            token=token,
            deployment=app.settings.name,
        )
        return HTMLResponse(html)

    return page
