"""Contacts: found a page at a time (by contact number, language, channel, field values,
opted out, taking part in a survey or a poll; by phone number for organisers), one
contact with their consent record and, for organisers, their conversation; their fields
set by hand; and contacts imported from a CSV file.

Workers see residents by contact number only; phone numbers and chat ids are shown to
organisers, and a listing or a contact asked for with them (``addresses=True``) is in
the audit log (never the addresses themselves). Pages are keyset-paginated
(``WHERE id < ?``), so the thousandth page of a million contacts costs what the first
does.

An import refuses any row without consent, with a number that is not a valid mobile
number, with an unknown language or channel, or that repeats an earlier row, and names
each by its line; then it imports nothing (unless asked to skip the bad rows). A contact
already known is updated, and one who opted out stays opted out whatever the file says
(no consent is recorded for them). The same file imported twice changes nothing the
second time: a consent already on record (same contact, when and how) is not recorded
again. Rows are looked up, written and recorded in batches: 100,000 rows go in within
seconds (``bench/contacts_import.py``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType

from bot.desk import lookup
from bot.desk.context import Desk, operation
from bot.desk.errors import Invalid, NotFound, Refused
from bot.exports import pseudonyms
from bot.settings import Settings
from bot.store import contacts

PAGE = 50
CHANNELS = ("sms", "whatsapp", "telegram")
COLUMNS = ("address", "channel", "language", "consent_at", "consent_how")
"""The columns an import file has (any other column is a contact field)."""
MAX_IMPORT = 1_000_000
"""Rows one import may hold."""
MAX_HOW = 200
"""Characters of ``consent_how``: how they agreed, in a few words."""
MAX_VALUE = 500
"""Characters of one field's value."""
RESERVED = {
    "consent": "the consent record says whether they agreed (consent_at and consent_how)",
    "opted_out": "residents opt out and back in themselves (STOP, START)",
    "address": "a contact's phone number or chat id is who they are: it cannot be changed",
    "channel": "a contact's channel is how they are reached: it cannot be changed",
    "consent_at": "consent is recorded by an import (consent_at and consent_how) or by the"
    " resident",
    "consent_how": "consent is recorded by an import (consent_at and consent_how) or by the"
    " resident",
}
"""Names that are not contact fields, and why; ``language`` is the contact's language."""
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
_TELEGRAM = re.compile(r"^-?[0-9]{1,20}$")
_LETTER = re.compile(r"[^\W\d_]")
_MOBILE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
_NOT_MOBILE = {
    PhoneNumberType.FIXED_LINE: "a landline",
    PhoneNumberType.TOLL_FREE: "a freephone number",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.VOIP: "an internet (VoIP) number",
    PhoneNumberType.PERSONAL_NUMBER: "a personal (follow-me) number",
    PhoneNumberType.PAGER: "a pager number",
    PhoneNumberType.UAN: "a non-geographic number",
    PhoneNumberType.VOICEMAIL: "a voicemail number",
}
_BATCH = 500
"""Addresses or contacts one lookup names (SQLite's variables are limited)."""
_EVERY = 1000
"""Rows between two reports of progress."""

Progress = Callable[[int], None]
"""Told how many more rows are done (for a progress bar)."""


@dataclass(frozen=True)
class ContactFilter:
    number: int | None = None  # the contact's number in Parley
    address: str | None = None  # a phone number or chat id: organisers only
    language: str | None = None
    channel: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    opted_out: bool | None = None  # True: only those who opted out; False: only the others
    took_part: str | None = None  # a flow id (answered it), or poll:N (voted in poll N)

    @property
    def empty(self) -> bool:
        return self == ContactFilter()


@dataclass(frozen=True)
class ContactRow:
    id: int
    channel: str
    language: str | None
    opted_out: bool
    unreachable: bool
    fields: Mapping[str, str]
    created_at: datetime
    last_seen_at: datetime
    address: str | None  # only for organisers
    consent_at: datetime | None = None  # the consent messages rely on; None: none on record
    forgotten: bool = False  # erased at their request or by retention
    resident: str | None = None  # the pseudonymous id exports name them by, when asked


@dataclass(frozen=True)
class ContactPage:
    rows: tuple[ContactRow, ...]  # newest first
    older: int | None  # the cursor of the next page (its rows are older), if any
    newer: int | None  # the cursor of the page before, if any


@dataclass(frozen=True)
class ConsentEvent:
    event: str  # consent, declined, opt_out, opt_in
    at: datetime
    how: str
    recorded_by: str


@dataclass(frozen=True)
class ContactView:
    contact: ContactRow
    consents: tuple[ConsentEvent, ...]
    answers: int
    votes: int
    ideas: int


@dataclass(frozen=True)
class Said:
    """One message of a conversation."""

    at: datetime
    inbound: bool  # from the resident
    text: str
    status: str  # inbound: handled or waiting; outbound: the outbox status


@dataclass(frozen=True)
class ImportRow:
    line: int
    channel: str
    address: str  # E.164, or a Telegram chat id
    language: str | None
    consent_at: datetime
    consent_how: str
    fields: Mapping[str, str]


@dataclass(frozen=True)
class Checked:
    """An import file read and checked: the rows to import, and those refused."""

    rows: tuple[ImportRow, ...]
    refused: tuple[tuple[int, str], ...]  # (line, why)
    fields: tuple[str, ...]


class ImportRefused(Refused):
    """An import with bad rows: nothing was imported; every bad row is in ``refused``."""

    def __init__(self, refused: Sequence[tuple[int, str]]) -> None:
        self.refused = tuple(refused)
        rows = "row" if len(self.refused) == 1 else "rows"
        super().__init__(f"nothing imported: {len(self.refused)} {rows} refused")


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int  # known contacts whose language, fields or consent record changed
    stayed_opted_out: int  # known contacts who had opted out: they stay so
    refused: tuple[tuple[int, str], ...]  # skipped, when asked to skip bad rows
    unchanged: int = 0  # known contacts the file says nothing new about


# -- finding contacts -------------------------------------------------------------------


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _row(row: Any, addresses: bool, key: bytes | None = None) -> ContactRow:
    return ContactRow(
        id=row["id"],
        channel=row["channel"],
        language=row["language"],
        opted_out=row["opted_out_at"] is not None,
        unreachable=row["unreachable_at"] is not None,
        fields=json.loads(row["fields"]),
        created_at=_time(row["created_at"]),
        last_seen_at=_time(row["last_seen_at"]),
        address=row["address"] if addresses else None,
        consent_at=_time(row["consent_at"]) if row["consent_at"] else None,
        forgotten=row["forgotten_at"] is not None,
        resident=(
            pseudonyms.pseudonym(key, row["channel"], row["address"]) if key is not None else None
        ),
    )


def _showing(desk: Desk, addresses: bool | None, what: str) -> bool:
    """Whether rows carry addresses: as the role allows (None: organisers see them), never
    (False), or because an organiser asked (True: refused to a worker)."""
    if addresses is None:
        return desk.actor.organiser
    if addresses:
        desk.require_organiser(what)
    return addresses


def _key(desk: Desk, wanted: bool) -> bytes | None:
    """The pseudonyms' key, when pseudonymous ids are wanted (made once if need be)."""
    return pseudonyms.key(desk.tx, desk.settings.export_secret, desk.now) if wanted else None


def normalised(address: str, region: str) -> str:
    """A phone number as stored (E.164), or the text as given (a chat id)."""
    text = address.strip()
    if _TELEGRAM.match(text) and not text.startswith("0"):
        return text
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _took_part(desk: Desk, named: str) -> tuple[str, Any]:
    """The condition for having answered survey ``named``, or voted in ``poll:N``."""
    text = named.strip()
    kind, colon, number = text.partition(":")
    if colon and kind == "poll":
        if not number.isdigit() or len(number) > 12:
            raise Invalid("took_part", f"'{text}' is not a poll: poll:N, like poll:3")
        if not lookup.exists(desk.tx, "poll", int(number)):
            raise NotFound("poll", int(number), lookup.recent(desk.tx, "poll"), "took_part")
        return "EXISTS (SELECT 1 FROM votes v WHERE v.poll_id = ? AND v.contact_id = c.id)", int(
            number
        )
    answered = desk.tx.execute("SELECT 1 FROM answers WHERE flow_id = ? LIMIT 1", (text,))
    if text not in desk.flows and answered.fetchone() is None:
        raise NotFound("flow", f"'{text}'", sorted(desk.flows), "took_part")
    return "EXISTS (SELECT 1 FROM answers a WHERE a.contact_id = c.id AND a.flow_id = ?)", text


def conditions(desk: Desk, chosen: ContactFilter) -> tuple[list[str], list[Any]]:
    """The SQL conditions (to join with AND) that pick the contacts ``chosen`` names, and
    their parameters; finding one by address is for organisers."""
    where: list[str] = []
    params: list[Any] = []
    if chosen.number is not None:
        where.append("id = ?")
        params.append(chosen.number)
    if chosen.address:
        desk.require_organiser("finding a contact by phone number")
        # Naming the channels lets the (channel, address) index find the address: a
        # million contacts are not read one by one.
        if chosen.channel:
            where.append("address = ?")
        else:
            where.append(f"channel IN ({', '.join('?' * len(CHANNELS))}) AND address = ?")
            params += CHANNELS
        params.append(normalised(chosen.address, desk.settings.region))
    if chosen.language:
        where.append("language = ?")
        params.append(chosen.language)
    if chosen.channel:
        where.append("channel = ?")
        params.append(chosen.channel)
    for name, value in sorted(chosen.fields.items()):
        if not _FIELD.match(name):
            raise Invalid("fields", f"'{name}' is not a field name like ward")
        where.append("json_extract(fields, ?) = ?")
        params += [f'$."{name}"', value]
    if chosen.opted_out is True:
        where.append("opted_out_at IS NOT NULL")
    elif chosen.opted_out is False:
        where.append("opted_out_at IS NULL")
    if chosen.took_part:
        clause, value = _took_part(desk, chosen.took_part)
        where.append(clause)
        params.append(value)
    return where, params


def _described(chosen: ContactFilter) -> dict[str, Any]:
    """A filter as the audit log keeps it: never a phone number, nor a field's value."""
    said: dict[str, Any] = {
        "number": chosen.number,
        "by_address": bool(chosen.address),
        "language": chosen.language,
        "channel": chosen.channel,
        "fields": sorted(chosen.fields),
        "opted_out": chosen.opted_out,
        "took_part": chosen.took_part,
    }
    return {name: value for name, value in said.items() if value not in (None, False, [])}


@operation("contact.search", changes=False)
def search(
    desk: Desk,
    chosen: ContactFilter = ContactFilter(),
    older: int | None = None,
    newer: int | None = None,
    limit: int = PAGE,
    addresses: bool | None = None,
    named: bool = False,
) -> ContactPage:
    """A page of contacts, newest first: those older than ``older`` (the next page), or
    newer than ``newer`` (the page before), or the newest.

    ``addresses``: None, as the role allows (organisers see them, as on the staff web);
    False, never; True, asked for by an organiser, and the listing is in the audit log.
    ``named``: each row carries its pseudonymous id (:attr:`ContactRow.resident`)."""
    showing = _showing(desk, addresses, "phone numbers and chat ids in a list of contacts")
    key = _key(desk, named)
    where, params = conditions(desk, chosen)

    def page(clause: str, cursor: int | None, order: str, size: int) -> list[Any]:
        clauses = [*where, clause] if cursor is not None else where
        sql = (
            "SELECT * FROM contacts c"
            + (" WHERE " + " AND ".join(clauses) if clauses else "")
            + f" ORDER BY id {order} LIMIT ?"
        )
        extra = [cursor] if cursor is not None else []
        return list(desk.tx.execute(sql, (*params, *extra, size)).fetchall())

    if newer is not None:
        rows = page("id > ?", newer, "ASC", limit)[::-1]
    else:
        rows = page("id < ?", older, "DESC", limit)
    shown = tuple(_row(row, showing, key) for row in rows)
    if addresses:
        desk.audit(
            "contact.addresses",
            "",
            shown=len(shown),
            contacts=f"{shown[-1].id}-{shown[0].id}" if shown else "",
            filter=_described(chosen),
        )
    if not shown:
        return ContactPage((), None, None)
    first, last = shown[0].id, shown[-1].id
    older_cursor = last if page("id < ?", last, "DESC", 1) else None
    newer_cursor = first if page("id > ?", first, "ASC", 1) else None
    return ContactPage(shown, older_cursor, newer_cursor)


def _found(desk: Desk, contact_id: int) -> Any:
    row = desk.tx.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    if row is None:
        latest = desk.tx.execute(
            "SELECT id FROM contacts ORDER BY id DESC LIMIT ?", (lookup.SHOWN + 1,)
        ).fetchall()
        raise NotFound("contact", contact_id, [str(one[0]) for one in reversed(latest)])
    return row


def _contact(desk: Desk, contact_id: int) -> ContactRow:
    return _row(_found(desk, contact_id), desk.actor.organiser)


@operation("contact.show", changes=False)
def show(
    desk: Desk, contact_id: int, addresses: bool | None = None, named: bool = False
) -> ContactView:
    """One contact, with their consent record and how much they took part in.
    ``addresses`` and ``named`` as for :func:`search` (an address asked for is audited)."""
    showing = _showing(desk, addresses, "a contact's phone number or chat id")
    contact = _row(_found(desk, contact_id), showing, _key(desk, named))
    if addresses:
        desk.audit("contact.address", f"contact {contact_id}")
    consents = tuple(
        ConsentEvent(row["event"], _time(row["at"]), row["how"], row["recorded_by"])
        for row in desk.tx.execute(
            "SELECT * FROM consents WHERE contact_id = ? ORDER BY id", (contact_id,)
        )
    )

    def count(table: str) -> int:
        sql = f"SELECT count(*) FROM {table} WHERE contact_id = ?"
        return int(desk.tx.execute(sql, (contact_id,)).fetchone()[0])

    return ContactView(contact, consents, count("answers"), count("votes"), count("ideas"))


@operation("contact.conversation", organiser="a resident's conversation", changes=False)
def conversation(desk: Desk, contact_id: int, limit: int = 100) -> list[Said]:
    """The latest messages to and from a contact, oldest first."""
    _contact(desk, contact_id)
    rows = desk.tx.execute(
        "SELECT * FROM (SELECT received_at AS at, 1 AS inbound, text,"
        "   CASE WHEN handled_at IS NULL THEN 'waiting' ELSE 'handled' END AS status, id"
        "   FROM inbound WHERE contact_id = ?"
        " UNION ALL SELECT created_at, 0, text, status, id FROM outbox"
        "   WHERE contact_id = ? AND attachment IS NULL) AS said"
        " ORDER BY at DESC, inbound, id DESC LIMIT ?",
        (contact_id, contact_id, limit),
    ).fetchall()
    return [
        Said(_time(r["at"]), bool(r["inbound"]), r["text"], r["status"]) for r in reversed(rows)
    ]


# -- setting fields -------------------------------------------------------------------------


def _field_name(name: str, where: str) -> str | None:
    """Why ``name`` cannot be a contact field, or None."""
    if not _FIELD.match(name):
        return f"{where}'{name}' is not a field name like ward (letters, digits and _)"
    reason = RESERVED.get(name.lower())
    if reason is not None:
        return f"{where}'{name}' is not a field you can set: {reason}"
    return None


@operation("contact.set", organiser="changing a contact's fields")
def set_fields(desk: Desk, contact_id: int, changes: Mapping[str, str]) -> ContactRow:
    """Set a contact's fields (a value of nothing removes the field); ``language`` is
    the contact's language, one of the deployment's."""
    if not changes:
        raise Invalid("fields", "say which fields to set, like ward=North")
    for name, value in changes.items():
        problem = _field_name(name, "") if name != "language" else None
        if problem is not None:
            raise Invalid("fields", problem)
        if len(value) > MAX_VALUE:
            raise Invalid("fields", f"{name}: at most {MAX_VALUE} characters")
    language = changes.get("language")
    if language is not None and language not in desk.settings.languages:
        languages = ", ".join(desk.settings.languages)
        if not language:
            raise Invalid("language", f"a contact keeps a language; languages: {languages}")
        raise Invalid("language", f"unknown language '{language}'; languages: {languages}")
    found = contacts.get(desk.tx, _found(desk, contact_id)["id"])
    if found.forgotten:
        raise Refused(f"contact {contact_id} was erased: nothing is kept about them")
    kept = {name: value for name, value in found.fields.items() if changes.get(name) != ""}
    given = {name: value for name, value in changes.items() if value != ""}
    contacts.update(desk.tx, replace(found, fields=kept), given)
    desk.audit("contact.set", f"contact {contact_id}", fields=sorted(changes))
    return _contact(desk, contact_id)


# -- importing contacts ---------------------------------------------------------------------


def _moment(text: str, settings: Settings) -> datetime | None:
    text = text.strip()
    try:  # the usual forms (2026-11-02, 2026-11-02 18:30, with an offset), at C speed
        parsed = datetime.fromisoformat(text)
    except ValueError:
        for form in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"):
            try:  # what fromisoformat refuses: 2026-11-2
                parsed = datetime.strptime(text, form)
                break
            except ValueError:
                continue
        else:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=settings.timezone)
    return parsed.astimezone(UTC)


def read_file(
    text: str, settings: Settings, now: datetime, progress: Progress | None = None
) -> Checked:
    """An import file's rows, each checked; the file's own problems (no header, an
    unknown column layout) are Invalid. ``progress`` hears of every thousand rows."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise Invalid("file", "the file is empty: its first line names the columns") from None
    except csv.Error as error:
        raise Invalid("file", f"line 1: not valid CSV: {error}") from None
    lowered = [cell.lower() for cell in header]
    for needed in ("address", "consent_at", "consent_how"):
        if needed not in lowered:
            raise Invalid(
                "file",
                f"line 1: no '{needed}' column; the columns are {', '.join(COLUMNS)}"
                " and any contact fields",
            )
    if len(set(lowered)) != len(lowered):
        raise Invalid("file", "line 1: a column is named twice")
    extra = [name for name in header if name.lower() not in COLUMNS]
    for name in extra:
        problem = _field_name(name, "line 1: ")
        if problem is not None:
            raise Invalid("file", problem)
    check = _Checker(header, settings, now)
    rows: list[ImportRow] = []
    refused: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    line = 1
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            done = len(rows) + len(refused)
            if done >= MAX_IMPORT:
                raise Invalid("file", f"more than {MAX_IMPORT:,} rows: split the file")
            if progress is not None and done % _EVERY == 0 and done:
                progress(_EVERY)
            if len(cells) != len(header):
                refused.append(
                    (line, f"{len(cells)} values, but the first line has {len(header)} columns")
                )
                continue
            checked = check.row(line, cells)
            if isinstance(checked, str):
                refused.append((line, checked))
                continue
            key = (checked.channel, checked.address)
            if key in seen:
                refused.append((line, f"the same contact as line {seen[key]}"))
                continue
            seen[key] = line
            rows.append(checked)
    except csv.Error as error:
        raise Invalid("file", f"line {reader.line_num}: not valid CSV: {error}") from None
    return Checked(tuple(rows), tuple(refused), tuple(extra))


class _Checker:
    """Checks one row after another of a file with this header."""

    def __init__(self, header: Sequence[str], settings: Settings, now: datetime) -> None:
        lowered = [name.lower() for name in header]
        self.at = {name: lowered.index(name) if name in lowered else None for name in COLUMNS}
        self.extra = [(i, name) for i, name in enumerate(header) if lowered[i] not in COLUMNS]
        self.settings = settings
        self.languages = frozenset(settings.languages)
        self.now = now

    def cell(self, cells: Sequence[str], column: str) -> str:
        at = self.at[column]
        return cells[at].strip() if at is not None else ""

    def row(self, line: int, cells: Sequence[str]) -> ImportRow | str:
        """The row as a contact, or why it is refused."""
        channel = self.cell(cells, "channel").lower() or "sms"
        if channel not in CHANNELS:
            return f"channel '{channel}' is not one of {', '.join(CHANNELS)}"
        raw = self.cell(cells, "address")
        if not raw:
            return "no address (a phone number or a Telegram chat id)"
        if channel == "telegram":
            if not _TELEGRAM.match(raw):
                return f"'{raw}' is not a Telegram chat id (digits)"
            address = raw
        else:
            found = _phone(raw, self.settings.region)
            if found[1] is not None:
                return found[1]
            address = found[0]
        language = self.cell(cells, "language").lower() or None
        if language is not None and language not in self.languages:
            return f"unknown language '{language}'; languages: {', '.join(self.settings.languages)}"
        given_at, how = self.cell(cells, "consent_at"), self.cell(cells, "consent_how")
        if not given_at:
            return "no consent: say when they agreed to messages (consent_at)"
        if not how:
            return "no consent: say how they agreed to messages (consent_how)"
        if len(how) > MAX_HOW:
            return (
                f"consent_how is {len(how)} characters: say how they agreed in {MAX_HOW} or fewer"
            )
        consented = _moment(given_at, self.settings)
        if consented is None:
            return f"consent_at '{given_at}' is not a date like 2026-11-02 or 2026-11-02 18:30"
        if consented > self.now:
            return f"consent_at {given_at} is in the future"
        fields = {}
        for at, name in self.extra:
            value = cells[at].strip()
            if len(value) > MAX_VALUE:
                return f"{name} is {len(value)} characters: at most {MAX_VALUE}"
            if value:
                fields[name] = value
        return ImportRow(line, channel, address, language, consented, how, fields)


def _phone(raw: str, region: str) -> tuple[str, str | None]:
    """A mobile number in E.164, or (``""``, why it is refused)."""
    if _LETTER.search(raw):
        return "", f"'{raw}' has letters in it: a phone number is digits (and spaces, + or -)"
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return "", f"'{raw}' is not a phone number"
    # number_type is UNKNOWN exactly when is_valid_number is false: one call, not two,
    # for the slowest part of an import.
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.UNKNOWN:
        return "", f"'{raw}' is not a valid phone number"
    if kind not in _MOBILE:
        what = _NOT_MOBILE.get(kind, "another kind of number")
        return "", f"'{raw}' is {what}, not a mobile number"
    national = phonenumbers.national_significant_number(number)
    return f"+{number.country_code}{national}", None


@dataclass(frozen=True)
class _Known:
    id: int
    language: str | None
    fields: str  # as stored (JSON)
    opted_out: bool


def _chunks(items: Sequence[Any], size: int = _BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _known(desk: Desk, rows: Iterable[ImportRow]) -> dict[tuple[str, str], _Known]:
    """The contacts already at these rows' (channel, address): looked up a batch at a
    time, or, when the file names more than a channel holds, read whole (one pass over
    the channel's rows costs less than an index lookup for each of the file's)."""
    by_channel: dict[str, list[str]] = {}
    for row in rows:
        by_channel.setdefault(row.channel, []).append(row.address)
    found: dict[tuple[str, str], _Known] = {}
    select = "SELECT id, address, language, fields, opted_out_at FROM contacts WHERE channel = ?"
    for channel, addresses in by_channel.items():
        held = desk.tx.execute(
            "SELECT count(*) FROM contacts WHERE channel = ?", (channel,)
        ).fetchone()[0]
        if held <= len(addresses):
            wanted = set(addresses)
            for one in desk.tx.execute(select, (channel,)):
                if one[1] in wanted:
                    found[channel, one[1]] = _Known(one[0], one[2], one[3], one[4] is not None)
            continue
        for batch in _chunks(addresses):
            for one in desk.tx.execute(
                f"{select} AND address IN ({', '.join('?' * len(batch))})", (channel, *batch)
            ):
                found[channel, one[1]] = _Known(one[0], one[2], one[3], one[4] is not None)
    return found


def _added(desk: Desk, rows: Sequence[ImportRow], stamp: str) -> list[int]:
    """Add these rows as new contacts; their ids, in order."""
    last = desk.tx.execute("SELECT coalesce(max(id), 0) FROM contacts").fetchone()[0]
    for batch in _chunks(rows, 5000):
        desk.tx.executemany(
            "INSERT INTO contacts (channel, address, language, fields, created_at,"
            " last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    row.channel,
                    row.address,
                    row.language,
                    _fields_json({**row.fields, "consent": "yes"}),
                    stamp,
                    stamp,
                )
                for row in batch
            ],
        )
    # SQLite gives a new row the largest id so far plus one: the rows just added are
    # last+1 ... last+n, in order, as the check below confirms. Otherwise (never seen:
    # ids would have to reach 2**63) they are looked up.
    ids = range(last + 1, last + len(rows) + 1)
    newest, count = desk.tx.execute(
        "SELECT max(id), count(*) FROM contacts WHERE id > ?", (last,)
    ).fetchone()
    if rows and (newest, count) == (ids[-1], len(rows)):
        return list(ids)
    made = _known(desk, rows)
    return [made[row.channel, row.address].id for row in rows]


def _consents(desk: Desk, ids: Sequence[int]) -> set[tuple[int, str, str]]:
    """(contact, at, how) of every consent these contacts have on record."""
    found: set[tuple[int, str, str]] = set()
    for batch in _chunks(ids):
        found.update(
            (one[0], one[1], one[2])
            for one in desk.tx.execute(
                "SELECT contact_id, at, how FROM consents WHERE event = 'consent'"
                f" AND contact_id IN ({', '.join('?' * len(batch))})",
                tuple(batch),
            )
        )
    return found


def _fields_json(fields: Mapping[str, str]) -> str:
    return json.dumps(fields, ensure_ascii=False)


@operation("contact.import", organiser="importing contacts")
def import_checked(
    desk: Desk, checked: Checked, skip_bad: bool = False, progress: Progress | None = None
) -> Imported:
    """Import the rows :func:`read_file` checked: all of them, or (with refused rows)
    none unless ``skip_bad``. ``progress`` hears of the rows written."""
    if checked.refused and not skip_bad:
        raise ImportRefused(checked.refused)
    if not checked.rows:
        raise Invalid("file", "no contacts in the file")
    stamp = desk.now.isoformat()
    known = _known(desk, checked.rows)
    new = [row for row in checked.rows if (row.channel, row.address) not in known]
    ids = _added(desk, new, stamp)
    made = dict(zip(((row.channel, row.address) for row in new), ids, strict=True))
    if progress is not None:
        progress(len(new))
    on_record = _consents(desk, [one.id for one in known.values()])
    updated = unchanged = stayed = 0
    changed: list[tuple[str | None, str, int]] = []
    consents: list[tuple[int, ImportRow]] = []
    for row in checked.rows:
        key = (row.channel, row.address)
        if key in made:
            consents.append((made[key], row))
            continue
        was = known[key]
        before = json.loads(was.fields)
        fields = {**before, **row.fields}
        if not was.opted_out:
            fields["consent"] = "yes"
        language = row.language or was.language
        differs = language != was.language or fields != before
        if differs:
            changed.append((language, _fields_json(fields), was.id))
        recorded = (was.id, row.consent_at.isoformat(), row.consent_how) in on_record
        if was.opted_out:
            stayed += 1  # no consent recorded: the file does not opt anyone back in
        elif not recorded:
            consents.append((was.id, row))
        if differs or not (recorded or was.opted_out):
            updated += 1
        else:
            unchanged += 1
    desk.tx.executemany("UPDATE contacts SET language = ?, fields = ? WHERE id = ?", changed)
    if progress is not None:
        progress(len(checked.rows) - len(new))
    contacts.record_many(
        desk.tx,
        [(contact_id, "consent", row.consent_at, row.consent_how) for contact_id, row in consents],
        desk.now,
        recorded_by=desk.actor.who,
    )
    desk.audit(
        "contact.import",
        "",
        added=len(new),
        updated=updated,
        unchanged=unchanged,
        stayed_opted_out=stayed,
        refused=len(checked.refused),
        fields=list(checked.fields),
    )
    return Imported(len(new), updated, stayed, checked.refused if skip_bad else (), unchanged)
