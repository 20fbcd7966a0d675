"""A resident's place in a flow: plain data, saved as JSON after every turn.

Replies may come days later; the caller decides when a waiting session has expired
(:func:`is_expired`), the engine never looks at a clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from bot.engine.flow import Flow, Value


@dataclass(frozen=True)
class Session:
    flow_id: str
    language: str
    started_at: datetime
    updated_at: datetime
    step_id: str | None = None  # the question awaiting a reply; None once ended
    answers: Mapping[str, Value] = field(default_factory=dict)
    tries: int = 0  # unparseable replies to the current question so far
    ended: bool = False
    page: int = 0  # the page of a long menu (the language menu) last shown

    def evolve(self, **changes: Any) -> Session:
        """A copy with ``changes``; like ``dataclasses.replace`` without its per-call
        field introspection, which was most of the engine's time per step."""
        if not changes.keys() <= _FIELDS:
            raise TypeError(f"Session has no field {sorted(changes.keys() - _FIELDS)[0]!r}")
        copy = object.__new__(Session)
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(changes)
        return copy

    def to_json(self) -> str:
        return _ENCODE(_to_dict(self))

    @classmethod
    def from_json(cls, text: str) -> Session:
        return _from_dict(json.loads(text))


_FIELDS = frozenset(f.name for f in fields(Session))
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def _to_dict(session: Session) -> dict[str, Any]:
    return {
        "flow": session.flow_id,
        "lang": session.language,
        "started": session.started_at.isoformat(),
        "updated": session.updated_at.isoformat(),
        "step": session.step_id,
        "answers": dict(session.answers),
        "tries": session.tries,
        "ended": session.ended,
        **({"page": session.page} if session.page else {}),
    }


def _from_dict(data: dict[str, Any]) -> Session:
    return Session(
        flow_id=data["flow"],
        language=data["lang"],
        started_at=datetime.fromisoformat(data["started"]),
        updated_at=datetime.fromisoformat(data["updated"]),
        step_id=data["step"],
        answers=data["answers"],
        tries=data["tries"],
        ended=data["ended"],
        page=data.get("page", 0),
    )


def is_expired(flow: Flow, session: Session, now: datetime) -> bool:
    """A waiting session expires when the resident has not replied within the flow's expiry."""
    return not session.ended and now - session.updated_at > flow.expiry
