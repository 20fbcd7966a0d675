"""Times as staff write them, the same on every front: ``18:00`` (the next one),
``tomorrow 9:30``, ``2026-12-01 18:00`` or ``2026-12-01T18:00`` (what a browser's date
and time field sends), all in the deployment's time zone, and ``30m``, ``6h``, ``2d``
(or ``in 6h``) from now."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.desk.errors import Invalid

_RELATIVE = re.compile(r"^(?:in\s+)?(\d{1,4})\s*(m|min|h|d)$", re.IGNORECASE)
_CLOCK = re.compile(r"^(?:(today|tomorrow)\s+)?(\d{1,2}):(\d{2})$", re.IGNORECASE)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days"}
_DATES = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


def duration(text: str, field: str = "remind") -> timedelta:
    """``30m``, ``6h``, ``2d``."""
    match = _RELATIVE.match(text.strip())
    if match is None:
        raise Invalid(field, f"'{text}' is not a delay like 30m, 6h or 2d")
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


def when(text: str, now: datetime, timezone: ZoneInfo, field: str = "at") -> datetime:
    """The moment ``text`` names, as an aware time in ``now``'s zone."""
    text = text.strip()
    if _RELATIVE.match(text):
        return now + duration(text, field)
    local = now.astimezone(timezone)
    clock = _CLOCK.match(text)
    try:
        if clock is not None:
            day, hour, minute = clock.groups()
            at = local.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)
            if (day or "").lower() == "tomorrow" or (day is None and at <= local):
                at += timedelta(days=1)
        else:
            at = _date(text).replace(tzinfo=timezone)
    except ValueError:
        raise Invalid(
            field, f"'{text}' is not a time like 18:00, tomorrow 9:30, 2026-12-01 18:00 or 2d"
        ) from None
    return at.astimezone(now.tzinfo)


def _date(text: str) -> datetime:
    for form in _DATES:
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    raise ValueError(text)
