"""Spotting personal details in what residents write: phone numbers, emails, addresses.

An idea is public once shortlisted, so anything in it that looks like a way to find or
reach a person is flagged when it arrives and replaced in the text staff see
(``[phone]``, ``[email]``, ``[address]``). It errs on the side of flagging: a false
alarm costs an organiser a glance, a miss exposes a resident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.lang.normalize import fold_digits

PHONE = "phone"
EMAIL = "email"
ADDRESS = "address"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits, with the spaces, dots, dashes, slashes and brackets people write
# them with, touching letters or not ("call٠٧٧٠٠…").
_PHONE = re.compile(r"(?<![\d+])\+?\(?\d(?:[\s().\-‐-―/]{0,3}\d){6,}(?!\d)")
# Words for a street, in the languages residents write in (English first), after a house
# number ("12 Acacia Road") or before one ("ul. Długa 5", "Calle Mayor 3").
_STREET_WORDS = (
    "street|st|road|rd|avenue|ave|lane|ln|close|drive|dr|way|court|ct|place|pl|terrace|"
    "gardens|crescent|cres|grove|square|sq|hill|row|walk|mews|parade|estate|house|flat|"
    "ulica|ul|aleja|al|osiedle|os|strada|str|bulevardul|rua|avenida|av|travessa|calle|"
    "paseo|gatvė|prospektas|вулиця|вул|проспект|провулок|улица|ул|"
    "شارع|خیابان|کوچه|سړک|جادة|زقاق|ਗਲੀ|ਸੜਕ|গলি|সড়ক|রোড|રોડ|ગલી|ጎዳና|jidka|waddada"
)
_NUMBER_FIRST = re.compile(
    rf"(?<![\w,.£$€])\d{{1,4}}[a-z]?,?\s+(?:[\w'-]+\s+){{0,3}}(?:{_STREET_WORDS})\b\.?",
    re.IGNORECASE,
)
_WORD_FIRST = re.compile(
    rf"(?<![\w])(?:{_STREET_WORDS})\.?\s+(?:[\w'-]+\s+){{0,2}}\d{{1,3}}[a-z]?(?![\w])",
    re.IGNORECASE,
)
# A UK postcode: SW1A 1AA, E1 6AN.
_POSTCODE = re.compile(r"(?<![\w])[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}(?![\w])", re.IGNORECASE)

_PATTERNS = (
    (EMAIL, _EMAIL),
    (PHONE, _PHONE),
    (ADDRESS, _NUMBER_FIRST),
    (ADDRESS, _WORD_FIRST),
    (ADDRESS, _POSTCODE),
)


@dataclass(frozen=True)
class Found:
    kind: str
    start: int
    end: int


def find(text: str) -> list[Found]:
    """The personal details in ``text``, in order, none overlapping (first kind wins)."""
    plain = fold_digits(text)  # one character for one, so places match ``text``
    if len(plain) != len(text):  # pragma: no cover - fold_digits maps characters 1:1
        plain = text
    found: list[Found] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(plain):
            start, end = match.span()
            if not any(start < other.end and other.start < end for other in found):
                found.append(Found(kind, start, end))
    return sorted(found, key=lambda f: f.start)


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


def hide_contact_details(text: str) -> str:
    """``text`` with phone numbers and emails replaced (``[phone]``, ``[email]``): what
    default exports give of what residents wrote. Addresses stay, since a survey answer
    naming a street is usually about the street."""
    if not _MAYBE_CONTACT.search(text):  # \d is any script's digit
        return text  # most answers: a quick look, no full search
    return redact(text, [f for f in find(text) if f.kind in _CONTACT_KINDS])
