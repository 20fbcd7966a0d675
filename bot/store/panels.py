"""Panel rows and their volunteers: who volunteered, with what profile, and what became
of them (selected, reserve, accepted, declined)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.store.sql import Tx

VOLUNTEER = "volunteer"
SELECTED = "selected"
RESERVE = "reserve"
ACCEPTED = "accepted"
DECLINED = "declined"


@dataclass(frozen=True)
class Panel:
    id: int
    name: str
    invite_id: int | None
    invite_seed: int
    size: int | None
    seed: int | None
    quotas: list[dict[str, object]] | None
    min_probability: float | None
    max_probability: float | None

    @property
    def selected(self) -> bool:
        return self.size is not None


@dataclass(frozen=True)
class Member:
    contact_id: int
    number: int  # V1, V2, ...
    profile: Mapping[str, str]
    status: str
    probability: float | None
    replaces: int | None

    @property
    def label(self) -> str:
        return f"V{self.number}"


def create(tx: Tx, name: str, invite_seed: int, now: datetime) -> int:
    row = tx.execute(
        "INSERT INTO panels (name, invite_seed, created_at) VALUES (?, ?, ?) RETURNING id",
        (name, invite_seed, now.isoformat()),
    ).fetchone()
    assert row is not None
    return int(row[0])


def set_invite(tx: Tx, panel_id: int, broadcast_id: int) -> None:
    tx.execute("UPDATE panels SET invite_id = ? WHERE id = ?", (broadcast_id, panel_id))


def get(tx: Tx, panel_id: int) -> Panel | None:
    row = tx.execute("SELECT * FROM panels WHERE id = ?", (panel_id,)).fetchone()
    if row is None:
        return None
    return Panel(
        id=row["id"],
        name=row["name"],
        invite_id=row["invite_id"],
        invite_seed=row["invite_seed"],
        size=row["size"],
        seed=row["seed"],
        quotas=json.loads(row["quotas"]) if row["quotas"] else None,
        min_probability=row["min_probability"],
        max_probability=row["max_probability"],
    )


def inviting(tx: Tx, broadcast_id: int | None) -> int | None:
    """The panel a volunteer answers: the one whose invitation (or a reminder of it)
    started their session, else the newest panel not yet selected."""
    if broadcast_id is not None:
        row = tx.execute(
            "SELECT p.id FROM panels p JOIN broadcasts b ON b.id = ?"
            " WHERE p.invite_id = coalesce(b.parent_id, b.id)",
            (broadcast_id,),
        ).fetchone()
        if row is not None:
            return int(row[0])
    row = tx.execute("SELECT id FROM panels WHERE size IS NULL ORDER BY id DESC LIMIT 1").fetchone()
    return int(row[0]) if row else None


def volunteer(
    tx: Tx,
    panel_id: int,
    contact_id: int,
    profile: Mapping[str, str],
    now: datetime,
) -> None:
    """Add (or update, if they answered again) a volunteer before the draw."""
    tx.execute(
        "INSERT INTO panel_members (panel_id, contact_id, number, profile, volunteered_at)"
        " VALUES (?, ?, (SELECT coalesce(max(number), 0) + 1 FROM panel_members"
        "   WHERE panel_id = ?), ?, ?)"
        " ON CONFLICT (panel_id, contact_id) DO UPDATE SET profile = excluded.profile,"
        " volunteered_at = excluded.volunteered_at WHERE panel_members.status = 'volunteer'",
        (panel_id, contact_id, panel_id, json.dumps(dict(profile)), now.isoformat()),
    )


def members(tx: Tx, panel_id: int) -> list[Member]:
    return [
        Member(
            row["contact_id"],
            row["number"],
            json.loads(row["profile"]),
            row["status"],
            row["probability"],
            row["replaces"],
        )
        for row in tx.execute(
            "SELECT * FROM panel_members WHERE panel_id = ? ORDER BY number", (panel_id,)
        )
    ]


def record_selection(
    tx: Tx,
    panel_id: int,
    size: int,
    seed: int,
    quotas: list[dict[str, object]],
    probabilities: Mapping[int, float],
    chosen: set[int],
    now: datetime,
) -> None:
    """Store a draw: the chosen are selected, the other volunteers reserves."""
    values = probabilities.values()
    tx.execute(
        "UPDATE panels SET size = ?, seed = ?, quotas = ?, min_probability = ?,"
        " max_probability = ?, selected_at = ? WHERE id = ?",
        (size, seed, json.dumps(quotas), min(values), max(values), now.isoformat(), panel_id),
    )
    tx.executemany(
        "UPDATE panel_members SET status = ?, probability = ?"
        " WHERE panel_id = ? AND contact_id = ?",
        [
            (SELECTED if contact_id in chosen else RESERVE, chance, panel_id, contact_id)
            for contact_id, chance in probabilities.items()
        ],
    )


def set_status(
    tx: Tx,
    panel_id: int,
    contact_id: int,
    status: str,
    now: datetime,
    replaces: int | None = None,
) -> None:
    tx.execute(
        "UPDATE panel_members SET status = ?, answered_at = ?, replaces = coalesce(?, replaces)"
        " WHERE panel_id = ? AND contact_id = ?",
        (status, now.isoformat(), replaces, panel_id, contact_id),
    )


def seated_panel(tx: Tx, contact_id: int) -> int | None:
    """The newest panel where this contact was selected and has not yet answered."""
    row = tx.execute(
        "SELECT panel_id FROM panel_members WHERE contact_id = ? AND status = 'selected'"
        " ORDER BY panel_id DESC LIMIT 1",
        (contact_id,),
    ).fetchone()
    return int(row[0]) if row else None
