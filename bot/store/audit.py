"""The audit log: every staff action, from any front, with who, when and what.

Rows are only ever added. The log names staff by their account, shell user or contact
number, never by phone number; ``detail`` never holds an address or a resident's text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store.sql import Row, Tx


@dataclass(frozen=True)
class Entry:
    at: datetime
    actor: str
    role: str
    front: str  # phone, cli, web or system
    action: str  # 'broadcast.send', 'poll.close', ...
    target: str  # 'broadcast 4', 'poll 2', 'ID-4821', or ''
    detail: str = "{}"  # JSON
    id: int = 0


def add(tx: Tx, entry: Entry) -> int:
    row = tx.execute(
        "INSERT INTO audit (at, actor, role, front, action, target, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            entry.at.isoformat(),
            entry.actor,
            entry.role,
            entry.front,
            entry.action,
            entry.target,
            entry.detail,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def record(
    tx: Tx,
    now: datetime,
    actor: str,
    role: str,
    front: str,
    action: str,
    target: str,
    detail: Mapping[str, Any],
) -> int:
    """Add an entry, its ``detail`` kept as JSON (keys sorted; a value JSON cannot hold,
    as text). ``detail`` is a mapping, not keywords: a detail may be named ``role``."""
    said = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    return add(tx, Entry(now, actor, role, front, action, target, said))


def search(
    tx: Tx,
    *,
    actor: str | None = None,
    front: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[Entry]:
    """The newest entries first, filtered; ``before`` an id pages back (keyset).
    ``action`` matches whole names or a family of them ('poll' matches 'poll.close')."""
    where: list[str] = []
    params: list[Any] = []
    if actor:
        where.append("actor = ?")
        params.append(actor)
    if front:
        where.append("front = ?")
        params.append(front)
    if action:
        where.append("(action = ? OR action LIKE ? ESCAPE '\\')")
        escaped = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [action, escaped + ".%"]
    if since is not None:
        where.append("at >= ?")
        params.append(since.isoformat())
    if until is not None:
        where.append("at < ?")
        params.append(until.isoformat())
    if before is not None:
        where.append("id < ?")
        params.append(before)
    sql = "SELECT * FROM audit" + (" WHERE " + " AND ".join(where) if where else "")
    rows = tx.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit)).fetchall()
    return [_entry(row) for row in rows]


def _entry(row: Row) -> Entry:
    return Entry(
        at=datetime.fromisoformat(row["at"]),
        actor=row["actor"],
        role=row["role"],
        front=row["front"],
        action=row["action"],
        target=row["target"],
        detail=row["detail"],
        id=row["id"],
    )


def actors(tx: Tx) -> Sequence[str]:
    """Everyone who has acted, for a filter's choices."""
    return [str(row[0]) for row in tx.execute("SELECT DISTINCT actor FROM audit ORDER BY actor")]
