"""Staff web accounts, for organisers: add one (organiser or worker), list them, set a
password, change a role, remove one. Passwords are kept as Argon2id hashes (argon2-cffi);
hashing takes a tenth of a second on purpose, so a front hashes with :func:`password`
before the transaction, never inside it."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.desk.context import Desk, Front, Role, operation
from bot.desk.errors import Invalid, NotFound, Refused
from bot.store import staff
from bot.store.staff import Account

ACCOUNTS = "staff accounts"
MIN_PASSWORD = 10
"""Characters a password needs at least (NIST SP 800-63B asks 8; staff see residents' data)."""
MAX_PASSWORD = 200
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")

_HASHER = PasswordHasher()


@dataclass(frozen=True)
class Password:
    """A password checked and hashed, ready to store."""

    hashed: str


@dataclass(frozen=True)
class StaffAccount:
    name: str
    role: Role
    created_at: datetime
    password_at: datetime


def password(text: str, field: str = "password") -> Password:
    """Check a new password and hash it (slow: outside any transaction)."""
    if len(text) < MIN_PASSWORD:
        raise Invalid(field, f"a password has at least {MIN_PASSWORD} characters")
    if len(text) > MAX_PASSWORD:
        raise Invalid(field, f"a password has at most {MAX_PASSWORD} characters")
    if not text.strip():
        raise Invalid(field, "a password is more than spaces")
    return Password(_HASHER.hash(text))


def verify(hashed: str | None, text: str) -> bool:
    """Whether ``text`` is the password ``hashed`` was made from (slow, as hashing is).
    ``None`` (no such account) is never matched, and takes as long as a wrong password:
    it is checked against :func:`unusable`, so a wrong name does not tell who has an
    account."""
    try:
        return _HASHER.verify(unusable() if hashed is None else hashed, text) and bool(hashed)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def unusable() -> str:
    """A hash no password is ever checked to match (see :func:`verify`). Made when first
    needed, not at import: Argon2 takes 64 MB and a tenth of a second to make it, which
    every ``parley`` command and the service's start would pay for."""
    return _HASHER.hash("no account has this password: it is only ever compared with")


def _shown(account: Account) -> StaffAccount:
    return StaffAccount(account.name, Role(account.role), account.created_at, account.password_at)


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise Invalid("role", "the role is organiser or worker") from None


def _account(desk: Desk, name: str) -> Account:
    found = staff.get(desk.tx, name)
    if found is None:
        known = [account.name for account in staff.listing(desk.tx)]
        raise NotFound("staff account", f"'{name}'", known)
    return found


@operation("staff.add", organiser=ACCOUNTS)
def add(desk: Desk, name: str, role: str, secret: Password) -> StaffAccount:
    name = name.strip()
    if not _NAME.match(name):
        raise Invalid(
            "name", "a name is 1 to 40 letters, digits, dots, dashes or underscores, like amina.k"
        )
    chosen = _role(role)
    if staff.get(desk.tx, name) is not None:
        raise Invalid("name", f"there is already a staff account '{name}'")
    made = staff.add(desk.tx, name, chosen.value, secret.hashed, desk.now)
    desk.audit("staff.add", f"staff {made.name}", role=chosen.value)
    return _shown(made)


@operation("staff.list", organiser=ACCOUNTS, changes=False)
def listing(desk: Desk) -> list[StaffAccount]:
    return [_shown(account) for account in staff.listing(desk.tx)]


@operation("staff.password")
def set_password(desk: Desk, name: str, secret: Password) -> StaffAccount:
    """A new password (an organiser's for anyone, or a staff member's own on the web);
    every session of the account ends."""
    if not (desk.actor.organiser or name.lower() == desk.actor.name.lower()):
        desk.require_organiser("another staff member's password")
    found = _account(desk, name)
    staff.set_password(desk.tx, found.id, secret.hashed, desk.now)
    staff.end_sessions(desk.tx, found.id, desk.now)
    desk.audit("staff.password", f"staff {found.name}")
    changed = staff.get(desk.tx, found.name)
    assert changed is not None
    return _shown(changed)


def _last_organiser(desk: Desk, found: Account) -> None:
    """On the web, the last organiser account stays: without it nobody could manage
    accounts there (on the server, ``parley staff`` always can)."""
    web = desk.actor.front is Front.WEB
    if web and found.role == Role.ORGANISER.value and staff.organisers(desk.tx) == 1:
        raise Refused(f"'{found.name}' is the last organiser account: add another organiser first")


@operation("staff.role", organiser=ACCOUNTS)
def set_role(desk: Desk, name: str, role: str) -> StaffAccount:
    found = _account(desk, name)
    chosen = _role(role)
    if chosen.value != found.role:
        _last_organiser(desk, found)
        staff.set_role(desk.tx, found.id, chosen.value)
        desk.audit("staff.role", f"staff {found.name}", role=chosen.value)
    changed = staff.get(desk.tx, found.name)
    assert changed is not None
    return _shown(changed)


@operation("staff.remove", organiser=ACCOUNTS)
def remove(desk: Desk, name: str) -> StaffAccount:
    """The account goes, and with it every session; what it did stays in the audit log."""
    found = _account(desk, name)
    if desk.actor.front is Front.WEB and found.name.lower() == desk.actor.name.lower():
        raise Refused("you cannot remove your own account while signed in with it")
    _last_organiser(desk, found)
    staff.remove(desk.tx, found.id)
    desk.audit("staff.remove", f"staff {found.name}")
    return _shown(found)
