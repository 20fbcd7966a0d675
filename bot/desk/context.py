"""Who is acting, from which front, and what an operation works with.

Every desk operation is a plain function ``operation(desk, ...)`` marked with
:func:`operation`: the mark checks the acting staff member's role before anything is
done, and runs the work under a savepoint, so an operation that is refused leaves
nothing behind even inside a larger transaction (a resident's message, a CLI preview).
Operations that change something write one audit record (:meth:`Desk.audit`): who,
when, from which front, what.
"""

from __future__ import annotations

import enum
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from bot.desk.errors import Forbidden, Refused
from bot.engine import Env, Flow
from bot.settings import Settings
from bot.store import audit
from bot.store.sql import Tx

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class Role(enum.Enum):
    ORGANISER = "organiser"  # everything
    WORKER = "worker"  # polls, broadcasts, moderation; results once a poll has closed


class Front(enum.Enum):
    """Where a staff member acted from."""

    PHONE = "phone"  # a staff command sent by Telegram or SMS
    CLI = "cli"  # a ``parley`` command on the server
    WEB = "web"  # the staff web, under /admin
    SYSTEM = "system"  # Parley itself: the daily retention job


@dataclass(frozen=True)
class Actor:
    """The staff member acting: a name that is never a phone number or chat id."""

    name: str  # 'contact 12' (phone), the shell's user (cli), the account's name (web)
    role: Role
    front: Front

    @property
    def organiser(self) -> bool:
        return self.role is Role.ORGANISER

    @property
    def who(self) -> str:
        """How what they make records its maker (``created_by``, ``moderated_by``)."""
        if self.front is Front.PHONE:
            return self.name
        if self.front is Front.CLI:
            return "cli"
        return f"web:{self.name}"


@dataclass
class Effects:
    """What the front has to do once the transaction has committed."""

    scheduled: bool = False  # a job may be due now: wake the scheduler


@dataclass(frozen=True)
class Desk:
    """An operation's world: one transaction, the deployment, the time, the actor."""

    tx: Tx
    settings: Settings
    env: Env
    flows: Mapping[str, Flow]
    now: datetime
    actor: Actor
    effects: Effects = field(default_factory=Effects)

    def audit(self, action: str, target: str = "", **detail: Any) -> None:
        """Record what was done (never an address nor what a resident wrote)."""
        audit.record(
            self.tx,
            self.now,
            self.actor.name,
            self.actor.role.value,
            self.actor.front.value,
            action,
            target,
            detail,
        )
        log.info("staff %s (%s) %s %s", self.actor.name, self.actor.front.value, action, target)

    def require_organiser(self, action: str) -> None:
        """Refuse ``action`` (in a few words, "live results of an open poll") to a worker."""
        if not self.actor.organiser:
            log.warning(
                "%s refused: %s (%s) is a %s",
                action,
                self.actor.name,
                self.actor.front.value,
                self.actor.role.value,
            )
            raise Forbidden(action)


def rehearse(desk: Desk, work: Callable[[Desk], T]) -> T:
    """``work(desk)`` for what it would do only (a preview): everything it wrote is
    undone, and nothing it would have made due is done."""
    desk.tx.execute("SAVEPOINT rehearsal")
    scheduled = desk.effects.scheduled
    try:
        return work(desk)
    finally:
        desk.tx.execute("ROLLBACK TO rehearsal")
        desk.tx.execute("RELEASE rehearsal")
        desk.effects.scheduled = scheduled


@dataclass(frozen=True)
class Operation:
    name: str
    organiser: str | None  # what it is, when only organisers may do it
    changes: bool


OPERATIONS: dict[str, Operation] = {}
"""Every desk operation, by name: what the fronts may call."""


def operation(
    name: str, *, organiser: str | None = None, changes: bool = True
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Mark a desk operation ``name``; ``organiser`` (what it is, in a few words) makes
    it organisers' only. Its work runs under a savepoint: refused, it is undone whole."""
    OPERATIONS[name] = Operation(name, organiser, changes)

    def mark(work: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(work)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            desk = args[0]
            assert isinstance(desk, Desk), f"{name}: the desk comes first"
            if organiser is not None:
                desk.require_organiser(organiser)
            desk.tx.execute("SAVEPOINT desk_operation")
            try:
                done = work(*args, **kwargs)
            except Refused:
                desk.tx.execute("ROLLBACK TO desk_operation")
                desk.tx.execute("RELEASE desk_operation")
                raise
            # Any other error ends the whole transaction (and PostgreSQL would take no
            # RELEASE after a failed statement): the savepoint goes with it.
            desk.tx.execute("RELEASE desk_operation")
            return done

        return run

    return mark
