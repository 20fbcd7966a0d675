"""Words residents send instead of answers: keywords and yes/no, per language.

Keywords are matched against the whole message in every shipped language at once,
because a resident may switch language or send the English carrier word ("STOP") even
after choosing another language. Yes/no words are matched in the contact's language
and in English, plus common Latin-script spellings residents use on phones without
their own keyboard ("tak", "haan", "naam").
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

from bot.lang.normalize import key


class Keyword(enum.Enum):
    """What a whole-message keyword asks for."""

    STOP = "stop"
    START = "start"
    HELP = "help"
    LANGUAGE = "language"


# The first word of each list is the one the bot shows residents (e.g. in HELP).
KEYWORDS: Mapping[str, Mapping[Keyword, tuple[str, ...]]] = {
    "en": {
        Keyword.STOP: (
            "stop",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "stopall",
            "revoke",
            "optout",
            "opt out",
            "stop all",
        ),
        Keyword.START: ("start", "unstop", "subscribe"),
        Keyword.HELP: ("help", "info"),
        Keyword.LANGUAGE: ("language", "lang"),
    },
    "pl": {
        Keyword.STOP: ("stop", "koniec", "wypisz", "rezygnuję", "anuluj"),
        Keyword.START: ("start", "zapisz"),
        Keyword.HELP: ("pomoc",),
        Keyword.LANGUAGE: ("język",),
    },
    "ro": {
        Keyword.STOP: ("stop", "oprește", "dezabonare", "anulare"),
        Keyword.START: ("start", "pornește", "abonare"),
        Keyword.HELP: ("ajutor",),
        Keyword.LANGUAGE: ("limba",),
    },
    "ar": {
        Keyword.STOP: ("توقف", "إيقاف", "إلغاء"),
        Keyword.START: ("ابدأ", "بدء"),
        Keyword.HELP: ("مساعدة",),
        Keyword.LANGUAGE: ("اللغة", "لغة"),
    },
    "ur": {
        Keyword.STOP: ("بند", "رکیں"),
        Keyword.START: ("شروع",),
        Keyword.HELP: ("مدد",),
        Keyword.LANGUAGE: ("زبان",),
    },
}

YES_NO: Mapping[str, Mapping[bool, tuple[str, ...]]] = {
    "en": {True: ("yes", "y", "yeah", "yep", "ok", "okay", "sure"), False: ("no", "n", "nope")},
    "pl": {True: ("tak", "t"), False: ("nie",)},
    "ro": {True: ("da", "d"), False: ("nu",)},
    "ar": {True: ("نعم", "ايوه", "اي", "naam", "aywa"), False: ("لا", "la", "laa")},
    "ur": {
        True: ("ہاں", "جی", "جی ہاں", "haan", "han", "ji", "jee"),
        False: ("نہیں", "نا", "nahi", "nahin", "na"),
    },
}


def _index_keywords(
    table: Mapping[str, Mapping[Keyword, tuple[str, ...]]],
) -> dict[str, Keyword]:
    index: dict[str, Keyword] = {}
    for by_keyword in table.values():
        for keyword, words in by_keyword.items():
            for word in words:
                index[key(word)] = keyword
    return index


_KEYWORD_INDEX = _index_keywords(KEYWORDS)


def keyword_of(text: str) -> Keyword | None:
    """The keyword a whole message is, in any shipped language, or None."""
    return _KEYWORD_INDEX.get(key(text))


def keyword_word(language: str, keyword: Keyword) -> str:
    """The word to show for ``keyword`` in ``language`` (upper-cased where the script has case)."""
    words = KEYWORDS.get(language, {}).get(keyword) or KEYWORDS["en"][keyword]
    return words[0].upper()


def is_reserved(text: str) -> bool:
    """True when ``text`` would be taken as a keyword, so a flow must not expect it."""
    return key(text) in _KEYWORD_INDEX


_YES_NO_INDEX: dict[str, dict[str, bool]] = {
    language: {key(word): meaning for meaning, words in by_meaning.items() for word in words}
    for language, by_meaning in YES_NO.items()
}


def yes_no_of(text: str, languages: Iterable[str]) -> bool | None:
    """True for a yes word, False for a no word in any of ``languages``, else None."""
    folded = key(text)
    for language in (*languages, "en"):
        meaning = _YES_NO_INDEX.get(language, {}).get(folded)
        if meaning is not None:
            return meaning
    return None
