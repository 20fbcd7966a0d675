"""A resident's report as the files an organisation hands over: the report's data as
JSON, exactly as :func:`bot.desk.residents.report` gives it, and the same as a readable,
self-contained HTML page (no scripts, no links out; prints well)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

_EVENTS = {
    "consent": "Agreed to messages",
    "declined": "Said no to questions",
    "opt_out": "Opted out",
    "opt_in": "Opted back in",
}


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


def as_html(report: dict[str, Any], zone: ZoneInfo) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.exports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = lambda moment: _local(moment, zone)
    env.filters["shown"] = _shown
    return env.get_template("resident.html").render(report=report, events=_EVENTS, zone=str(zone))


def _local(moment: str | None, zone: ZoneInfo) -> str:
    if not moment:
        return ""
    return datetime.fromisoformat(moment).astimezone(zone).strftime("%d %b %Y, %H:%M")


def _shown(value: Any) -> str:
    """An answer or a field as a person reads it."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{name}: {_shown(item)}" for name, item in value.items())
    return str(value)
