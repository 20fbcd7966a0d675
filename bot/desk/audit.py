"""The audit log, for organisers: every staff action from any front, newest first,
filtered by who, which front, what and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.desk.context import Desk, Front, operation
from bot.desk.errors import Invalid
from bot.store import audit
from bot.store.audit import Entry


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    front: str | None = None  # phone, cli, web or system
    action: str | None = None  # 'poll.close', or a family: 'poll'
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: tuple[Entry, ...]
    older: int | None  # the cursor of the next page, if there is one
    actors: tuple[str, ...]  # everyone who has acted, for choosing


def _utc(moment: datetime | None) -> datetime | None:
    """A moment as the log keeps them (UTC ISO text, compared as text): a local time
    with its own offset would compare wrongly by the offset's hours."""
    return moment.astimezone(UTC) if moment is not None else None


@operation("audit.search", organiser="the audit log", changes=False)
def search(
    desk: Desk, chosen: AuditFilter = AuditFilter(), older: int | None = None, limit: int = 50
) -> AuditPage:
    if chosen.front and chosen.front not in {front.value for front in Front}:
        raise Invalid("front", "the front is phone, cli, web or system")
    found = audit.search(
        desk.tx,
        actor=chosen.actor or None,
        front=chosen.front or None,
        action=chosen.action or None,
        since=_utc(chosen.since),
        until=_utc(chosen.until),
        before=older,
        limit=limit + 1,
    )
    more = len(found) > limit
    entries = tuple(found[:limit])
    return AuditPage(
        entries, entries[-1].id if more and entries else None, tuple(audit.actors(desk.tx))
    )
