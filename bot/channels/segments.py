"""SMS cost: how many segments a text takes, and cheap GSM-7 when only punctuation stands
in the way.

A text fits GSM-7 when every character is in the GSM 03.38 basic table (one septet) or
its extension table (two septets: an escape and the character). Then a single SMS holds
160 septets and each part of a longer one 153, and an escape pair is never split across
parts. Any other character makes the whole text UCS-2: 70 UTF-16 code units alone, 67
per part, and a surrogate pair (an emoji) is never split either.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache

from bot.lang.bidi import for_display

# GSM 03.38 basic character set (the escape 0x1B is not a character of its own).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_GSM7, PART_GSM7 = 160, 153
SINGLE_UCS2, PART_UCS2 = 70, 67

# Typographic characters phones and word processors put in, with GSM-7 stand-ins.
_PLAIN_PUNCTUATION = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
        "«": '"',
        "»": '"',
        "‹": "'",
        "›": "'",
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "−": "-",
        "…": "...",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u200b": "",
        "•": "*",
        "·": ".",
    }
)


class Encoding(enum.Enum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class Segments:
    encoding: Encoding
    count: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    parts: tuple[str, ...]


_GSM7_ALL = frozenset(GSM7_BASIC) | frozenset(GSM7_EXTENSION)
_DROP_EXTENSION = {ord(ch): None for ch in GSM7_EXTENSION}


def is_gsm7(text: str) -> bool:
    return _GSM7_ALL.issuperset(text)


def _total(text: str, gsm: bool) -> int:
    """Septets (extension characters take two) or UTF-16 code units, at C speed."""
    if gsm:
        return 2 * len(text) - len(text.translate(_DROP_EXTENSION))
    return len(text.encode("utf-16-le")) // 2


def gsm7_friendly(text: str) -> str:
    """``text`` with typographic punctuation made plain, if that makes it GSM-7.

    Text that needs UCS-2 anyway (Arabic, Polish "ł", an emoji) is returned unchanged:
    the punctuation then costs nothing extra, and the resident sees it as written.
    """
    if is_gsm7(text):
        return text
    plain = text.translate(_PLAIN_PUNCTUATION)
    return plain if is_gsm7(plain) else text


def _septets(ch: str) -> int:
    return 2 if ch in GSM7_EXTENSION else 1


def _units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def segments(text: str) -> Segments:
    """Split ``text`` the way a carrier does and count the parts."""
    gsm = is_gsm7(text)
    size = _septets if gsm else _units
    single, part = (SINGLE_GSM7, PART_GSM7) if gsm else (SINGLE_UCS2, PART_UCS2)
    total = _total(text, gsm)
    encoding = Encoding.GSM7 if gsm else Encoding.UCS2
    if total <= single:
        return Segments(encoding, 1 if text else 0, total, (text,) if text else ())
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        width = size(ch)
        if used + width > part:  # an escape pair or a surrogate pair never splits
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += width
    parts.append("".join(current))
    return Segments(encoding, len(parts), total, tuple(parts))


SEGMENTED_CHANNELS = frozenset({"sms"})
"""Channels billed per segment."""


@lru_cache(maxsize=512)
def as_sent(text: str, channel: str) -> tuple[str, int | None]:
    """Exactly what goes out on ``channel``, and its segments when billed per segment:
    lines that would run the wrong way marked with their direction (right-to-left text);
    on SMS, typographic punctuation made plain if that saves.

    Remembered for the last few hundred texts: replies are mostly the same questions in
    a few languages, and reading a long one character by character (its directions, its
    segments) cost a sixth of the work of acting on a message."""
    text = for_display(text)
    if channel not in SEGMENTED_CHANNELS:
        return text, None
    text = gsm7_friendly(text)
    return text, segments(text).count
