"""Pages from Jinja2 templates (``bot/web/templates``), autoescaped, in English for
staff, with times in the deployment's time zone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot import staff_text
from bot.english import counted, span
from bot.settings import Settings

NAV = (
    ("/admin/", "Dashboard", False),
    ("/admin/contacts", "Contacts", False),
    ("/admin/broadcasts", "Broadcasts", False),
    ("/admin/polls", "Polls", False),
    ("/admin/ideas", "Ideas", False),
    ("/admin/panels", "Panels", True),
    ("/admin/decisions", "Decisions", True),
    ("/admin/budgeting", "Budgeting", False),
    ("/admin/flows", "Flows", False),
    ("/admin/exports", "Exports", False),
    ("/admin/staff", "Staff", True),
    ("/admin/audit", "Audit log", True),
)
"""The pages, in the navigation's order: (path, name, organisers only)."""


def environment(settings: Settings) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    zone = settings.timezone
    env.filters["local"] = lambda moment: local(moment, zone)
    env.filters["local_input"] = lambda moment: local_input(moment, zone)
    env.filters["counted"] = counted
    env.filters["number"] = lambda value: f"{value:,}"
    env.filters["percent"] = lambda share: f"{round(100 * share)}%"
    env.filters["span"] = lambda delay: span(delay) if isinstance(delay, timedelta) else ""
    env.globals["nav"] = NAV
    env.globals["what"] = staff_text.what
    env.globals["deployment"] = settings.name
    env.globals["languages"] = settings.languages
    env.globals["zone"] = str(zone)
    return env


def local(moment: datetime | None, zone: ZoneInfo) -> str:
    """``Wed 4 Mar 2026, 12:00`` in the deployment's time zone."""
    if moment is None:
        return ""
    shown = moment.astimezone(zone)
    return f"{shown:%a} {shown.day} {shown:%b %Y, %H:%M}"


def local_input(moment: datetime | None, zone: ZoneInfo) -> str:
    """The value of a date and time field: ``2026-03-04T12:00``, local."""
    return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


class Pages:
    """Renders templates with what every page needs: who is signed in, the form token,
    the notices left by the last action, where the page is."""

    def __init__(self, settings: Settings) -> None:
        self.env = environment(settings)

    def render(
        self, request: Request, name: str, context: Mapping[str, Any], status: int = 200
    ) -> HTMLResponse:
        session = request.scope.get("session", {})
        shown = {
            "request": request,
            "path": request.url.path,
            "staff": getattr(request.state, "staff", None),
            "csrf": session.get("csrf", ""),
            "notices": session.pop("notices", []) if "session" in request.scope else [],
            **context,
        }
        return HTMLResponse(self.env.get_template(name).render(shown), status_code=status)


def notice(request: Request, text: str) -> None:
    """A line the next page shows once ("Broadcast 4 is being sent.")."""
    request.session.setdefault("notices", [])
    request.session["notices"] = [*request.session["notices"], text]
