"""Spotting personal details in what residents write: phone numbers, emails, addresses.

An idea is public once shortlisted, so anything in it that looks like a way to find or
reach a person is flagged when it arrives and replaced in the text staff see
(``[phone]``, ``[email]``, ``[address]``). A false alarm costs an organiser a glance, a
miss exposes a resident; but flagging every run of digits ("ages 16-29", "2024-2025",
"14.03.2026") buries the real alarms, so phone numbers are found by libphonenumber
(the ``phonenumbers`` port), which knows how each country's numbers are written.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from babel.core import get_global, parse_locale
from phonenumbers import Leniency, PhoneNumberMatcher, PhoneNumberType, ValidationResult

from bot.lang.normalize import fold_digits

PHONE = "phone"
EMAIL = "email"
ADDRESS = "address"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

# Words for a street, in the languages residents write in (English first), after a house
# number ("12 Acacia Road") or before one ("ul. Długa 5", "Calle Mayor 3").
_STREET_WORDS = (
    "street|st|road|rd|avenue|ave|lane|ln|close|drive|dr|way|court|ct|place|pl|terrace|"
    "gardens|crescent|cres|grove|square|sq|hill|row|walk|mews|parade|estate|house|flat|"
    "ulica|ul|aleja|al|osiedle|os|strada|str|bulevardul|rua|avenida|av|travessa|calle|"
    "paseo|gatvė|prospektas|вулиця|вул|проспект|провулок|улица|ул|"
    "شارع|خیابان|کوچه|سړک|جادة|زقاق|ਗਲੀ|ਸੜਕ|গলি|সড়ক|রোড|રોડ|ગલી|ጎዳና|jidka|waddada"
)
# "10 minutes walk", "a 5 minute drive": a measure, not a house number.
_MEASURES = r"(?:min|mins|minutes?|hours?|hrs?|days?|weeks?|miles?|km|metres?|meters?|yards?)"
_NUMBER_FIRST = re.compile(
    rf"(?<![\w,.£$€])\d{{1,4}}[a-z]?,?\s+(?!{_MEASURES}\b)"
    rf"(?:[\w'-]+\s+){{0,3}}(?:{_STREET_WORDS})\b\.?",
    re.IGNORECASE,
)
_WORD_FIRST = re.compile(
    rf"(?<![\w])(?:{_STREET_WORDS})\.?\s+(?:[\w'-]+\s+){{0,2}}\d{{1,3}}[a-z]?(?![\w])",
    re.IGNORECASE,
)
# A UK postcode: SW1A 1AA, E1 6AN.
_POSTCODE = re.compile(r"(?<![\w])[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}(?![\w])", re.IGNORECASE)

_ADDRESSES = (_NUMBER_FIRST, _WORD_FIRST, _POSTCODE)


@dataclass(frozen=True)
class Found:
    kind: str
    start: int
    end: int


def find(text: str, region: str, language: str | None = None) -> list[Found]:
    """The personal details in ``text``, in order, none overlapping (first kind wins).

    ``region`` is the country (ISO 3166, like ``GB``) a number written without its
    ``+country`` code is taken to be from: the deployment's ``PARLEY_REGION``. A
    resident writing in ``language`` (``pl``) may give a number from that language's
    country as it is written there ("600 123 456"), so that country is looked at too
    (see :func:`language_region`)."""
    plain = fold_digits(text)  # one character for one, so places match ``text``
    if len(plain) != len(text):  # pragma: no cover - fold_digits maps characters 1:1
        plain = text
    found: list[Found] = []

    def add(kind: str, start: int, end: int) -> None:
        if not any(start < other.end and other.start < end for other in found):
            found.append(Found(kind, start, end))

    for match in _EMAIL.finditer(plain):
        add(EMAIL, *match.span())
    for start, end in _phone_numbers(plain, region):
        add(PHONE, start, end)
    home = language_region(language)
    if home is not None and home != region and _MAYBE_CONTACT.search(plain):
        for start, end in _phone_numbers(plain, home, mobiles_only=True):
            add(PHONE, start, end)
    for pattern in _ADDRESSES:
        for match in pattern.finditer(plain):
            add(ADDRESS, *match.span())
    return sorted(found, key=lambda f: f.start)


def _phone_numbers(plain: str, region: str, *, mobiles_only: bool = False) -> list[tuple[int, int]]:
    """Where phone numbers are in ``plain`` (ASCII digits).

    libphonenumber's loosest matcher finds every candidate, including numbers run on to
    a word ("call07700900123", which its stricter levels refuse). A candidate is kept if
    it is a real number for ``region`` (or for the ``+country`` it names), or if it has a
    full number's length and is written the way numbers are dialled: with ``+`` or
    ``00``, or starting with the region's trunk prefix (the UK's 0). The second rule
    keeps numbers from ranges set aside for fiction and for numbering plans newer than
    the library's data; it leaves out year ranges, dates, ages and amounts.

    With ``mobiles_only`` (for the country a resident's language points to: a guess) a
    candidate is kept only if it is a real mobile number there and not a round amount:
    residents give their mobiles, and in some countries amounts are landline numbers
    (Somalia's "2 500 000") or even mobile ones (Poland's "600 000 000")."""
    trunk = _trunk_prefix(region)
    spans: list[tuple[int, int]] = []
    for match in PhoneNumberMatcher(plain, region, leniency=Leniency.POSSIBLE):
        number = match.number
        if _DATE.search(match.raw_string):  # "14.03.2026 18", "01.01.2026": a date
            continue
        if mobiles_only:
            if (
                phonenumbers.is_valid_number(number)
                and phonenumbers.number_type(number) in _MOBILE
                and not str(number.national_number).endswith("000000")
            ):
                spans.append((match.start, match.end))
            continue
        if phonenumbers.is_valid_number(number):
            spans.append((match.start, match.end))
            continue
        if phonenumbers.is_possible_number_with_reason(number) != ValidationResult.IS_POSSIBLE:
            continue
        written = match.raw_string.lstrip("([ ")
        digits = "".join(ch for ch in written if ch.isdigit())
        if (
            written.startswith("+")
            or digits.startswith("00")
            or (trunk and digits.startswith(trunk))
        ):
            spans.append((match.start, match.end))
    return spans


_MOBILE = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
# A day, month and year joined by dots or slashes, as many countries write dates
# (libphonenumber itself sets aside only slashed dates, and only at stricter levels).
_DATE = re.compile(
    r"(?<!\d)(?:0?[1-9]|[12]\d|3[01])([./])(?:0?[1-9]|1[0-2])\1(?:\d{4}|\d{2})(?!\d)"
)


@functools.cache
def language_region(language: str | None) -> str | None:
    """The country whose phone numbers a resident writing in ``language`` may give in
    that country's own way: the one the language names (``pt_PT``), or else the one
    where it is most used, from CLDR's likely subtags (``pl`` → ``PL``, ``uk`` → ``UA``,
    ``pt`` → ``BR``). None for no language, one CLDR does not place, or a country
    libphonenumber has no numbers for."""
    if not language:
        return None
    try:
        parts = parse_locale(language.replace("-", "_"))
    except ValueError:
        return None
    code, territory = parts[0], parts[1]
    if territory is None:
        likely = get_global("likely_subtags").get(code)
        if not likely:
            return None
        territory = parse_locale(likely)[1]
    if territory is None or phonenumbers.PhoneMetadata.metadata_for_region(territory) is None:
        return None
    return territory


@functools.cache
def _trunk_prefix(region: str) -> str | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata.national_prefix if metadata is not None else None


def kinds(found: list[Found]) -> list[str]:
    """The kinds found, each once, in a fixed order."""
    present = {f.kind for f in found}
    return [kind for kind in (PHONE, EMAIL, ADDRESS) if kind in present]


def redact(text: str, found: list[Found]) -> str:
    """``text`` with each detail replaced by its kind in brackets."""
    out, at = [], 0
    for item in found:
        out += [text[at : item.start], f"[{item.kind}]"]
        at = item.end
    out.append(text[at:])
    return "".join(out)


_CONTACT_KINDS = (PHONE, EMAIL)
_MAYBE_CONTACT = re.compile(r"@|\d(?:\D{0,3}\d){6}")


def hide_contact_details(text: str, region: str, language: str | None = None) -> str:
    """``text`` with phone numbers and emails replaced (``[phone]``, ``[email]``): what
    default exports give of what residents wrote (``language``: the one they wrote in,
    see :func:`find`). Addresses stay, since a survey answer naming a street is usually
    about the street."""
    if not _MAYBE_CONTACT.search(text):  # \d is any script's digit
        return text  # most answers: a quick look, no full search
    found = find(text, region, language)
    return redact(text, [f for f in found if f.kind in _CONTACT_KINDS])
