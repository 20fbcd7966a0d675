"""Reading a staff command's body as staff type it on a phone: text lines, then
``name: value`` settings (``closes: 3d``, ``to: lang=pl ward=North``), translations
(``pl: question | option | option``), and ``multiple`` on a line of its own."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.desk import moments
from bot.desk.broadcasts import Sending
from bot.outreach.audience import Audience
from bot.phone.reply import Said
from bot.settings import Settings

_SETTING = re.compile(r"^([a-z][a-z_-]*)\s*:\s*(.*)$", re.IGNORECASE)

SEND_KEYS = {"to", "at", "remind"}
POLL_KEYS = {"closes", "multiple", "results"}
_AUDIENCE_KEYS = {"lang", "language", "channel", "took-part", "not-took-part", "sample", "seed"}

POLL_USAGE = (
    "Use: /poll then the question, then one option per line (2 to 9).\n"
    "Optional lines: closes: 3d | multiple | results: send, public or private |"
    " pl: question | option 1 | option 2 ... | to: lang=pl ward=North | at: 18:00 |"
    " remind: 1d"
)
BROADCAST_USAGE = (
    "Use: /broadcast then the message (or: flow FLOW, or: poll NUMBER).\n"
    "Optional lines: pl: the message in Polish | to: lang=pl ward=North | at: 18:00 |"
    " remind: 1d (flows and polls)"
)
RESULTS_USAGE = (
    "Use: /results POLL or /results FLOW, optionally followed by: by language"
    " (or channel, or a field)"
)


@dataclass
class Body:
    """A command's body: its text lines, its settings and its translations."""

    lines: list[str] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    translations: dict[str, str] = field(default_factory=dict)


def read(body: str, languages: Sequence[str], known: set[str]) -> Body:
    read_body = Body()
    for raw in body.splitlines():
        line = raw.strip()
        if not line:
            continue
        setting = _SETTING.match(line)
        name = setting.group(1).lower() if setting else ""
        if setting and name in languages:
            read_body.translations[name] = setting.group(2).strip()
        elif setting and name in known:
            read_body.settings[name] = setting.group(2).strip()
        elif line.lower() == "multiple" and "multiple" in known:
            read_body.settings["multiple"] = "yes"
        else:
            read_body.lines.append(line)
    return read_body


def is_setting(line: str, settings: Settings) -> bool:
    """Whether a line of a body is a setting or a translation, not text."""
    setting = _SETTING.match(line.strip())
    if line.strip().lower() == "multiple":
        return True
    if setting is None:
        return False
    name = setting.group(1).lower()
    return name in settings.languages or name in SEND_KEYS | POLL_KEYS


def number(body: str, usage: str) -> int:
    words = body.split()
    if len(words) != 1 or not words[0].isdigit():
        raise Said(f"Use: {usage} (its number)")
    return int(words[0])


def audience(text: str) -> Audience:
    """``lang=pl,ar channel=sms ward=North took-part=priorities sample=200 seed=7``;
    any other name is a contact field."""
    found: dict[str, str] = {}
    fields: dict[str, str] = {}
    for item in text.split():
        name, equals, value = item.partition("=")
        if not name or not equals or not value:
            raise Said(f"to: '{item}' should be name=value, like lang=pl or ward=North")
        name = name.lower()
        (found if name in _AUDIENCE_KEYS else fields)[name] = value
    try:
        sample = int(found["sample"]) if "sample" in found else None
        seed = int(found.get("seed", "0"))
    except ValueError:
        raise Said("to: sample and seed are whole numbers") from None
    languages = found.get("lang") or found.get("language") or ""
    return Audience(
        languages=tuple(v for v in languages.split(",") if v),
        channels=tuple(v for v in found.get("channel", "").split(",") if v),
        fields=fields,
        took_part_in=found.get("took-part"),
        not_took_part_in=found.get("not-took-part"),
        sample=sample,
        seed=seed,
    )


def when(text: str, now: datetime, settings: Settings) -> datetime:
    return moments.when(text, now, settings.timezone)


def duration(text: str) -> timedelta:
    return moments.duration(text)


def sending(settings: dict[str, str], now: datetime, deployment: Settings) -> Sending:
    """The ``to:``, ``at:`` and ``remind:`` lines."""
    at = settings.get("at")
    remind = settings.get("remind")
    return Sending(
        audience(settings.get("to", "")),
        when(at, now, deployment) if at else None,
        duration(remind) if remind else None,
    )
