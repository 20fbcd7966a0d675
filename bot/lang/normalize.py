"""Fold a resident's reply into a form that can be compared with expected answers.

People type "TAK!", "tak.", " Tak " or "zolty" for "żółty", digits from their own script
("٣", "۳", "৩", "३"), or Arabic letters in Persian or Urdu forms. Matching is done on the
folded form of both the reply and the expected words, so both sides must go through
:func:`fold`.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that carry no combining mark in Unicode but that people drop when typing
# without the right keyboard.
_PLAIN_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ı": "i", "ħ": "h", "ŧ": "t"})

# Arabic-script letters written differently across Arabic, Persian and Urdu keyboards.
_ARABIC_VARIANTS = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ی": "ي",
        "ې": "ي",
        "ے": "ي",
        "ک": "ك",
        "ہ": "ه",
        "ۃ": "ه",
        "ة": "ه",
        "ھ": "ه",
        "ۀ": "ه",
        "ـ": None,  # tatweel, a stretching stroke with no meaning
    }
)

# Invisible characters that phones insert: zero-width joiners, bidi marks, BOM; and the
# emoji variation selectors and keycap frame that make "2" the key "2️⃣".
_INVISIBLE = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufe0e\ufe0f\u20e3]"
)
_KEYCAP_TEN = str.maketrans({"\U0001f51f": "10"})
_SPACES = re.compile(r"\s+")


def _mark_is_droppable(base: str) -> bool:
    """Accents are noise on Latin, Greek, Cyrillic, Arabic and Hebrew letters.

    On Indic and Ethiopic scripts combining marks are vowels: dropping them would make
    different words equal, so they stay.
    """
    return base < "\u0590" or "\u0590" <= base <= "\u06ff" or "\u0750" <= base <= "\u077f"


# Ethiopic numerals (Tigrinya, Amharic) are not decimal digits (there is no zero), but
# the single ones ፩-፱ are what a resident types for options 1 to 9.
_ETHIOPIC_DIGITS = {chr(0x1369 + n): str(n + 1) for n in range(9)}


def fold_digits(text: str) -> str:
    """Replace decimal digits of any script, and Ethiopic ፩-፱, with ASCII digits."""
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.decimal(ch)) if ch.isdecimal() else _ETHIOPIC_DIGITS.get(ch, ch)
        for ch in text
    )


def fold(text: str) -> str:
    """Return the comparable form: case-folded, accent-free, ASCII digits, one space."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _INVISIBLE.sub("", text).translate(_KEYCAP_TEN)
    text = fold_digits(text).translate(_PLAIN_LETTERS).translate(_ARABIC_VARIANTS)
    if not text.isascii():
        kept: list[str] = []
        base = ""
        for ch in unicodedata.normalize("NFD", text):
            if unicodedata.combining(ch):
                if _mark_is_droppable(base):
                    continue
            else:
                base = ch
            kept.append(ch)
        # Composing again can bring back a variant (Urdu heh with hamza; ǿ), so map again.
        text = unicodedata.normalize("NFC", "".join(kept))
        text = text.translate(_ARABIC_VARIANTS).translate(_PLAIN_LETTERS)
    return _SPACES.sub(" ", text).strip()


def _is_edge_noise(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PSZ" or ch.isspace()


def strip_edges(text: str) -> str:
    """Drop punctuation, symbols and spaces around a folded reply: "(b)." -> "b"."""
    start, end = 0, len(text)
    while start < end and _is_edge_noise(text[start]):
        start += 1
    while end > start and _is_edge_noise(text[end - 1]):
        end -= 1
    return text[start:end]


def key(text: str) -> str:
    """The form used to look a word up: folded, without surrounding punctuation."""
    return strip_edges(fold(text))
