"""The dashboard: the state of things at a glance, in a handful of indexed counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.desk.broadcasts import Progress, progress_of
from bot.desk.context import Desk, operation
from bot.desk.polls import PollView, view
from bot.store import broadcasts, ideas, polls


@dataclass(frozen=True)
class Overview:
    contacts: int
    by_language: Mapping[str, int]  # '' for no language yet
    by_channel: Mapping[str, int]
    opted_out: int
    open_polls: tuple[PollView, ...]
    sending: tuple[Progress, ...]  # broadcasts scheduled, being written, or in the outbox
    queued: int  # messages waiting in the outbox
    failed_last_hour: int  # given up, or reported undelivered, in the last hour
    ideas_waiting: int  # new ideas, flagged or not
    flagged_waiting: int  # of which flagged, for organisers


def _counts(desk: Desk, column: str) -> dict[str, int]:
    """Contacts by ``column``, most first. Grouped by the column itself, SQLite reads
    its index (contacts_language, contacts_channel) in order; grouped by
    ``coalesce(column, '')`` it sorted every contact first, four times as slow."""
    counts: Counter[str] = Counter()
    for value, count in desk.tx.execute(f"SELECT {column}, count(*) FROM contacts GROUP BY 1"):
        counts["" if value is None else str(value)] += int(count)
    return dict(counts.most_common())


@operation("dashboard", changes=False)
def overview(desk: Desk) -> Overview:
    tx = desk.tx
    by_language = _counts(desk, "language")
    hour_ago = (desk.now - timedelta(hours=1)).isoformat()
    failed = tx.execute(
        "SELECT (SELECT count(*) FROM outbox WHERE status = 'failed' AND created_at >= ?)"
        " + (SELECT count(*) FROM outbox WHERE delivery IN ('undelivered', 'failed')"
        "    AND delivery_at >= ?)",
        (hour_ago, hour_ago),
    ).fetchone()[0]
    waiting = tx.execute("SELECT count(*) FROM ideas WHERE status = 'new'").fetchone()[0]
    return Overview(
        contacts=sum(by_language.values()),
        by_language=by_language,
        by_channel=_counts(desk, "channel"),
        opted_out=int(
            tx.execute("SELECT count(*) FROM contacts WHERE opted_out_at IS NOT NULL").fetchone()[0]
        ),
        open_polls=tuple(
            view(desk, poll)
            for poll_id in polls.open_ids(tx)[:10]
            if (poll := polls.get(tx, poll_id)) is not None
        ),
        sending=tuple(progress_of(desk, found) for found in broadcasts.in_progress(tx)),
        queued=int(tx.execute("SELECT count(*) FROM outbox WHERE status = 'queued'").fetchone()[0]),
        failed_last_hour=int(failed),
        ideas_waiting=int(waiting),
        flagged_waiting=ideas.flagged_waiting(tx),
    )
