"""Contacts: found a page at a time (by contact number, language, channel, field values,
opted out; by phone number for organisers), one contact with their consent record and,
for organisers, their conversation; and contacts imported from a CSV file.

Workers see residents by contact number only; phone numbers and chat ids are shown to
organisers. Pages are keyset-paginated (``WHERE id < ?``), so the thousandth page of a
million contacts costs what the first does.

An import refuses any row without consent, with a number that is not a valid mobile
number, with an unknown language or channel, or that repeats an earlier row, and names
each by its line; then it imports nothing (unless asked to skip the bad rows). A contact
already known is updated, and one who opted out stays opted out whatever the file says.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from bot.desk.context import Desk, operation
from bot.desk.errors import Invalid, NotFound, Refused
from bot.settings import Settings
from bot.store import contacts

PAGE = 50
CHANNELS = ("sms", "whatsapp", "telegram")
COLUMNS = ("address", "channel", "language", "consent_at", "consent_how")
"""The columns an import file has (any other column is a contact field)."""
MAX_IMPORT = 1_000_000
"""Rows one import may hold."""
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
_TELEGRAM = re.compile(r"^-?[0-9]{1,20}$")
_MOBILE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


@dataclass(frozen=True)
class ContactFilter:
    number: int | None = None  # the contact's number in Parley
    address: str | None = None  # a phone number or chat id: organisers only
    language: str | None = None
    channel: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    opted_out: bool | None = None  # True: only those who opted out; False: only the others

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


@dataclass(frozen=True)
class ContactPage:
    rows: tuple[ContactRow, ...]  # newest first
    older: int | None  # the cursor of the next page (its rows are older), if any
    newer: int | None  # the cursor of the page before, if any


@dataclass(frozen=True)
class ConsentEvent:
    event: str  # consent, opt_out, opt_in
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
    updated: int
    stayed_opted_out: int  # known contacts who had opted out: they stay so
    refused: tuple[tuple[int, str], ...]  # skipped, when asked to skip bad rows


# -- finding contacts -------------------------------------------------------------------


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _row(row: Any, organiser: bool) -> ContactRow:
    return ContactRow(
        id=row["id"],
        channel=row["channel"],
        language=row["language"],
        opted_out=row["opted_out_at"] is not None,
        unreachable=row["unreachable_at"] is not None,
        fields=json.loads(row["fields"]),
        created_at=_time(row["created_at"]),
        last_seen_at=_time(row["last_seen_at"]),
        address=row["address"] if organiser else None,
    )


def normalised(address: str, region: str) -> str:
    """A phone number as stored (E.164), or the text as given (a chat id)."""
    text = address.strip()
    if _TELEGRAM.match(text) and not text.startswith("0"):
        return text
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _where(desk: Desk, chosen: ContactFilter) -> tuple[list[str], list[Any]]:
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
    return where, params


@operation("contact.search", changes=False)
def search(
    desk: Desk,
    chosen: ContactFilter = ContactFilter(),
    older: int | None = None,
    newer: int | None = None,
    limit: int = PAGE,
) -> ContactPage:
    """A page of contacts, newest first: those older than ``older`` (the next page), or
    newer than ``newer`` (the page before), or the newest."""
    where, params = _where(desk, chosen)

    def page(clause: str, cursor: int | None, order: str, size: int) -> list[Any]:
        clauses = [*where, clause] if cursor is not None else where
        sql = (
            "SELECT * FROM contacts"
            + (" WHERE " + " AND ".join(clauses) if clauses else "")
            + f" ORDER BY id {order} LIMIT ?"
        )
        extra = [cursor] if cursor is not None else []
        return list(desk.tx.execute(sql, (*params, *extra, size)).fetchall())

    if newer is not None:
        rows = page("id > ?", newer, "ASC", limit)[::-1]
    else:
        rows = page("id < ?", older, "DESC", limit)
    shown = tuple(_row(row, desk.actor.organiser) for row in rows)
    if not shown:
        return ContactPage((), None, None)
    first, last = shown[0].id, shown[-1].id
    older_cursor = last if page("id < ?", last, "DESC", 1) else None
    newer_cursor = first if page("id > ?", first, "ASC", 1) else None
    return ContactPage(shown, older_cursor, newer_cursor)


def _contact(desk: Desk, contact_id: int) -> ContactRow:
    row = desk.tx.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    if row is None:
        raise NotFound("contact", contact_id)
    return _row(row, desk.actor.organiser)


@operation("contact.show", changes=False)
def show(desk: Desk, contact_id: int) -> ContactView:
    contact = _contact(desk, contact_id)
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
        "   WHERE contact_id = ? AND attachment IS NULL)"
        " ORDER BY at DESC, inbound, id DESC LIMIT ?",
        (contact_id, contact_id, limit),
    ).fetchall()
    return [
        Said(_time(r["at"]), bool(r["inbound"]), r["text"], r["status"]) for r in reversed(rows)
    ]


# -- importing contacts ---------------------------------------------------------------------


def _moment(text: str, settings: Settings) -> datetime | None:
    text = text.strip()
    for form in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"):
        try:
            parsed = datetime.strptime(text, form)
        except ValueError:
            continue
        return parsed.replace(tzinfo=settings.timezone).astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=settings.timezone)
    return parsed.astimezone(UTC)


def read_file(text: str, settings: Settings, now: datetime) -> Checked:
    """An import file's rows, each checked; the file's own problems (no header, an
    unknown column layout) are Invalid."""
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
        if not _FIELD.match(name):
            raise Invalid("file", f"line 1: '{name}' is not a field name like ward")
    rows: list[ImportRow] = []
    refused: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    line = 1
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) + len(refused) >= MAX_IMPORT:
                raise Invalid("file", f"more than {MAX_IMPORT:,} rows: split the file")
            if len(cells) != len(header):
                refused.append(
                    (line, f"{len(cells)} values, but the first line has {len(header)} columns")
                )
                continue
            values = dict(zip(lowered, (cell.strip() for cell in cells), strict=True))
            checked = _check_row(line, values, header, settings, now)
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


def _check_row(
    line: int, values: Mapping[str, str], header: Sequence[str], settings: Settings, now: datetime
) -> ImportRow | str:
    """The row as a contact, or why it is refused."""
    channel = (values.get("channel") or "sms").lower()
    if channel not in CHANNELS:
        return f"channel '{channel}' is not one of {', '.join(CHANNELS)}"
    raw = values["address"]
    if not raw:
        return "no address (a phone number or a Telegram chat id)"
    if channel == "telegram":
        if not _TELEGRAM.match(raw):
            return f"'{raw}' is not a Telegram chat id (digits)"
        address = raw
    else:
        try:
            number = phonenumbers.parse(raw, settings.region)
        except phonenumbers.NumberParseException:
            return f"'{raw}' is not a phone number"
        if not phonenumbers.is_valid_number(number):
            return f"'{raw}' is not a valid phone number"
        if phonenumbers.number_type(number) not in _MOBILE:
            return f"'{raw}' is not a mobile number"
        address = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    language = values.get("language") or None
    if language is not None and language not in settings.languages:
        return f"unknown language '{language}'; languages: {', '.join(settings.languages)}"
    if not values["consent_at"] or not values["consent_how"]:
        return "no consent: give when (consent_at) and how (consent_how) they agreed"
    consented = _moment(values["consent_at"], settings)
    if consented is None:
        return (
            f"consent_at '{values['consent_at']}' is not a date like 2026-11-02 or 2026-11-02 18:30"
        )
    if consented > now:
        return f"consent_at {values['consent_at']} is in the future"
    fields = {
        name: values[name.lower()]
        for name in header
        if name.lower() not in COLUMNS and values[name.lower()]
    }
    return ImportRow(line, channel, address, language, consented, values["consent_how"], fields)


@operation("contact.import", organiser="importing contacts")
def import_checked(desk: Desk, checked: Checked, skip_bad: bool = False) -> Imported:
    """Import the rows :func:`read_file` checked: all of them, or (with refused rows)
    none unless ``skip_bad``."""
    if checked.refused and not skip_bad:
        raise ImportRefused(checked.refused)
    if not checked.rows:
        raise Invalid("file", "no contacts in the file")
    added = updated = stayed = 0
    stamp = desk.now.isoformat()
    for row in checked.rows:
        found = contacts.find(desk.tx, row.channel, row.address)
        if found is None:
            made = desk.tx.execute(
                "INSERT INTO contacts (channel, address, language, fields, created_at,"
                " last_seen_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    row.channel,
                    row.address,
                    row.language,
                    json.dumps({**row.fields, "consent": "yes"}, ensure_ascii=False),
                    stamp,
                    stamp,
                ),
            ).fetchone()
            contact_id = int(made[0])
            added += 1
        else:
            contact_id = found.id
            changes: dict[str, str] = dict(row.fields)
            if row.language:
                changes["language"] = row.language
            if not found.opted_out:
                changes["consent"] = "yes"
            else:
                stayed += 1
            contacts.update(desk.tx, found, changes)
            updated += 1
        desk.tx.execute(
            "INSERT INTO consents (contact_id, event, at, how, recorded_by, recorded_at)"
            " VALUES (?, 'consent', ?, ?, ?, ?)",
            (contact_id, row.consent_at.isoformat(), row.consent_how, desk.actor.who, stamp),
        )
    desk.audit(
        "contact.import",
        "",
        added=added,
        updated=updated,
        refused=len(checked.refused),
        fields=list(checked.fields),
    )
    return Imported(added, updated, stayed, checked.refused if skip_bad else ())
