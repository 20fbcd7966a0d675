"""Words residents send instead of answers: keywords and yes/no, per language.

Keywords are matched against the whole message in every shipped language at once,
because a resident may switch language or send the English carrier word ("STOP") even
after choosing another language. Yes/no words are matched in the contact's language
and in English, plus common Latin-script spellings residents use on phones without
their own keyboard ("tak", "haan", "naam").

Numbers written as words ("two", "dos", "dwa", "the first one") come from num2words, in
the languages it writes (not Urdu, Punjabi, Gujarati, Somali, Pashto or Tigrinya, where
residents are understood by digits alone); each language's table is made once.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Mapping

from num2words import CONVERTER_CLASSES, num2words  # type: ignore[import-untyped]

from bot.lang.normalize import key


class Keyword(enum.Enum):
    """What a whole-message keyword asks for."""

    STOP = "stop"
    START = "start"
    HELP = "help"
    LANGUAGE = "language"
    MYDATA = "mydata"  # a copy of what Parley holds about them
    FORGET = "forget"  # erase them (after a YES)


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
        Keyword.MYDATA: ("mydata", "my data"),
        Keyword.FORGET: ("forget me", "forgetme", "delete me", "delete my data"),
    },
    "pl": {
        Keyword.STOP: ("stop", "koniec", "wypisz", "rezygnuję", "anuluj"),
        Keyword.START: ("start", "zapisz"),
        Keyword.HELP: ("pomoc",),
        Keyword.LANGUAGE: ("język",),
        Keyword.MYDATA: ("moje dane",),
        Keyword.FORGET: ("zapomnij mnie", "usuń moje dane", "usuń mnie"),
    },
    "ro": {
        Keyword.STOP: ("stop", "oprește", "dezabonare", "anulare"),
        Keyword.START: ("start", "pornește", "abonare"),
        Keyword.HELP: ("ajutor",),
        Keyword.LANGUAGE: ("limba",),
        Keyword.MYDATA: ("datele mele",),
        Keyword.FORGET: ("uită-mă", "șterge-mă", "șterge datele mele"),
    },
    "ar": {
        Keyword.STOP: ("توقف", "إيقاف", "إلغاء"),
        Keyword.START: ("ابدأ", "بدء"),
        Keyword.HELP: ("مساعدة",),
        Keyword.LANGUAGE: ("اللغة", "لغة"),
        Keyword.MYDATA: ("بياناتي",),
        Keyword.FORGET: ("انسني", "احذفني", "احذف بياناتي"),
    },
    "ur": {
        Keyword.STOP: ("بند", "رکیں"),
        Keyword.START: ("شروع",),
        Keyword.HELP: ("مدد",),
        Keyword.LANGUAGE: ("زبان",),
        Keyword.MYDATA: ("میرا ڈیٹا",),
        Keyword.FORGET: ("مجھے بھول جائیں", "میرا ڈیٹا مٹائیں"),
    },
    "pa": {
        Keyword.STOP: ("ਬੰਦ", "ਰੋਕੋ"),
        Keyword.START: ("ਸ਼ੁਰੂ", "ਸੁਰੂ"),
        Keyword.HELP: ("ਮਦਦ", "ਸਹਾਇਤਾ"),
        Keyword.LANGUAGE: ("ਭਾਸ਼ਾ", "ਭਾਸਾ", "ਬੋਲੀ"),
        Keyword.MYDATA: ("ਮੇਰਾ ਡਾਟਾ",),
        Keyword.FORGET: ("ਮੈਨੂੰ ਭੁੱਲ ਜਾਓ", "ਮੇਰਾ ਡਾਟਾ ਮਿਟਾਓ"),
    },
    "pt": {
        Keyword.STOP: ("parar", "sair", "cancelar"),
        Keyword.START: ("começar", "iniciar"),
        Keyword.HELP: ("ajuda",),
        Keyword.LANGUAGE: ("idioma", "língua"),
        Keyword.MYDATA: ("meus dados", "os meus dados"),
        Keyword.FORGET: ("esqueça-me", "esquecer-me", "apagar meus dados"),
    },
    "es": {
        Keyword.STOP: ("baja", "parar", "cancelar"),
        Keyword.START: ("empezar", "iniciar", "comenzar"),
        Keyword.HELP: ("ayuda",),
        Keyword.LANGUAGE: ("idioma",),
        Keyword.MYDATA: ("mis datos",),
        Keyword.FORGET: ("olvídame", "olvidame", "borrar mis datos"),
    },
    "bn": {
        Keyword.STOP: ("বন্ধ", "থামুন", "bondho"),
        Keyword.START: ("শুরু", "চালু"),
        Keyword.HELP: ("সাহায্য",),
        Keyword.LANGUAGE: ("ভাষা",),
        Keyword.MYDATA: ("আমার তথ্য",),
        Keyword.FORGET: ("আমাকে ভুলে যান", "আমার তথ্য মুছুন"),
    },
    "gu": {
        Keyword.STOP: ("બંધ", "રોકો", "bandh"),
        Keyword.START: ("શરૂ", "ચાલુ"),
        Keyword.HELP: ("મદદ",),
        Keyword.LANGUAGE: ("ભાષા",),
        Keyword.MYDATA: ("મારો ડેટા",),
        Keyword.FORGET: ("મને ભૂલી જાઓ", "મારો ડેટા કાઢી નાખો"),
    },
    "lt": {
        Keyword.STOP: ("stabdyti", "atsisakyti", "sustabdyti"),
        Keyword.START: ("pradėti", "užsisakyti"),
        Keyword.HELP: ("pagalba",),
        Keyword.LANGUAGE: ("kalba",),
        Keyword.MYDATA: ("mano duomenys",),
        Keyword.FORGET: ("pamirškite mane", "ištrinkite mane"),
    },
    "so": {
        Keyword.STOP: ("jooji", "joogso"),
        Keyword.START: ("bilow", "bilaw"),
        Keyword.HELP: ("caawimaad", "caawi"),
        Keyword.LANGUAGE: ("luqad", "luqadda"),
        Keyword.MYDATA: ("xogtayda",),
        Keyword.FORGET: ("i illow", "tirtir xogtayda"),
    },
    "uk": {
        Keyword.STOP: ("стоп", "відписатися", "відписка"),
        Keyword.START: ("старт", "підписатися", "почати знову"),
        Keyword.HELP: ("допомога", "довідка"),
        Keyword.LANGUAGE: ("мова", "змінити мову"),
        Keyword.MYDATA: ("мої дані",),
        Keyword.FORGET: ("забудьте мене", "видаліть мене", "видаліть мої дані"),
    },
    "fa": {
        Keyword.STOP: ("لغو", "توقف", "لغو عضویت"),
        Keyword.START: ("شروع", "عضویت"),
        Keyword.HELP: ("راهنما", "کمک"),
        Keyword.LANGUAGE: ("زبان",),
        Keyword.MYDATA: ("اطلاعات من", "داده‌های من"),
        Keyword.FORGET: ("فراموشم کن", "اطلاعاتم را پاک کن"),
    },
    "ps": {
        Keyword.STOP: ("بند", "ودروئ", "لغو"),
        Keyword.START: ("شروع", "پیل"),
        Keyword.HELP: ("مرسته", "لارښود"),
        Keyword.LANGUAGE: ("ژبه", "ژبې"),
        Keyword.MYDATA: ("زما معلومات",),
        Keyword.FORGET: ("ما هېر کړئ", "زما معلومات پاک کړئ"),
    },
    "ti": {
        Keyword.STOP: ("ኣቋርጽ", "አቋርጽ", "ኣቋርጹ", "ኣቋርጺ", "ደው በል"),
        Keyword.START: ("ጀምር", "ጀምሩ", "ጀምሪ"),
        Keyword.HELP: ("ሓገዝ", "ሓግዙ", "ሓግዘኒ"),
        Keyword.LANGUAGE: ("ቋንቋ",),
        Keyword.MYDATA: ("ሓበሬታይ",),
        Keyword.FORGET: ("ረስዑኒ", "ሓበሬታይ ደምስሱ"),
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
    "pa": {
        True: ("ਹਾਂ", "ਹਾਂ ਜੀ", "ਜੀ", "ਜੀ ਹਾਂ", "haan", "han", "haan ji", "hanji", "ji"),
        False: ("ਨਹੀਂ", "ਨਾ", "ਜੀ ਨਹੀਂ", "nahi", "nahin", "na", "nai", "nahi ji"),
    },
    "pt": {True: ("sim", "s", "ss", "claro"), False: ("não", "nao", "n")},
    "es": {True: ("sí", "si", "s", "claro", "vale"), False: ("no", "n")},
    "bn": {
        True: ("হ্যাঁ", "হ্যা", "হাঁ", "জি", "জি হ্যাঁ", "ha", "haa", "hya", "ji", "jee"),
        False: ("না", "জি না", "na", "naa"),
    },
    "gu": {
        True: ("હા", "હાં", "જી", "જી હા", "ha", "haa", "han", "haan", "ji"),
        False: ("ના", "નહીં", "નહિ", "na", "naa", "nahi", "nai"),
    },
    "lt": {True: ("taip", "jo"), False: ("ne", "nea")},
    "so": {True: ("haa", "haye", "waa yahay", "hagaag"), False: ("maya", "may", "mya")},
    "uk": {True: ("так", "ага", "авжеж", "да", "tak"), False: ("ні", "нє", "нет", "ni")},
    "fa": {
        True: ("بله", "آره", "بلی", "baleh", "bale", "bali", "areh", "are"),
        False: ("نه", "نخیر", "na", "nah", "nakheir", "nakhair"),
    },
    "ps": {True: ("هو", "بلې", "ho", "hoo", "aw", "ao"), False: ("نه", "na", "nah")},
    "ti": {True: ("እወ", "ሕራይ", "ewe", "iwe", "hray"), False: ("ኣይፋል", "አይፋል", "ኣይ", "ayfal", "ay")},
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


# -- numbers written as words ------------------------------------------------------------

CARDINALS_UP_TO = 100
"""The largest number recognised when written as a word ("ninety-nine" years)."""
ORDINALS_UP_TO = 20
"""The largest ordinal recognised ("the first one"): more than any list of options."""

# Where num2words has no converter under the shipped code itself.
_NUM2WORDS_CODES: Mapping[str, tuple[str, ...]] = {"pt": ("pt", "pt_BR")}


def _spellings(language: str, number: int, to: str) -> list[str]:
    """``number`` as num2words writes it in ``language``; none when it cannot."""
    found: list[str] = []
    for code in _NUM2WORDS_CODES.get(language, (language,)):
        if code not in CONVERTER_CLASSES:
            continue
        try:
            written = num2words(number, lang=code, to=to)
        except (NotImplementedError, OverflowError, TypeError, ValueError):
            continue
        if isinstance(written, str) and not written.isdigit():
            found += [written, written.replace("-", " ")]
    return found


@functools.cache
def _number_words(language: str) -> tuple[Mapping[str, int], Mapping[str, int]]:
    """Folded cardinals (0-100) and ordinals (1-20) of ``language``, made once per
    language from num2words; empty for a language it does not write."""
    cardinals: dict[str, int] = {}
    for number in range(CARDINALS_UP_TO + 1):
        for word in _spellings(language, number, "cardinal"):
            cardinals.setdefault(key(word), number)
    ordinals: dict[str, int] = {}
    for number in range(1, ORDINALS_UP_TO + 1):
        for to in ("ordinal", "ordinal_num"):
            for word in _spellings(language, number, to):
                folded = key(word)
                # Bengali ordinals are written as cardinals: a cardinal stays a cardinal.
                if folded and folded not in cardinals:
                    ordinals.setdefault(folded, number)
    cardinals.pop("", None)
    return cardinals, ordinals


def prepare_numbers(languages: Iterable[str]) -> None:
    """Make the number-word tables of ``languages`` (and English) now, at load time, so
    no resident's message waits for them."""
    for language in _languages_and_english(languages):
        _number_words(language)


def writes_numbers(language: str) -> bool:
    """Whether number words are understood in ``language`` (num2words knows it)."""
    return bool(_number_words(language)[0])


def _languages_and_english(languages: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*languages, "en")))


def cardinal_of(text: str, languages: Iterable[str]) -> int | None:
    """The number ``text`` spells out ("two", "dos", "dwa") in ``languages`` or English."""
    folded = key(text)
    for language in _languages_and_english(languages):
        number = _number_words(language)[0].get(folded)
        if number is not None:
            return number
    return None


def ordinal_of(text: str, languages: Iterable[str]) -> int | None:
    """The position ``text`` names ("first", "segundo", "2nd"), or None."""
    folded = key(text)
    for language in _languages_and_english(languages):
        number = _number_words(language)[1].get(folded)
        if number is not None:
            return number
    return None
