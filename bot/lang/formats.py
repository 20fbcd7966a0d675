"""Dates, times, numbers and lists as a resident's language writes them, from Babel's CLDR data.

"wtorek, 1 grudnia, 18:00", "الثلاثاء، 1 ديسمبر، 6:00 م", "5 000", "A, B i C". Parley's
deployments are in England and Wales, so English is British English (24-hour clock).
A language Babel does not know is formatted as British English rather than failing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, tzinfo
from functools import cache, lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, format_time
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal, format_percent

_REGIONAL = {"en": "en_GB"}
# Widen a pattern's abbreviated weekday and month ("E", "MMM") to full names.
_SHORT_WEEKDAY = re.compile(r"(?<!E)E{1,3}(?!E)")
_SHORT_MONTH = re.compile(r"(?<![ML])([ML])\1{2}(?![ML])")


@cache
def locale_of(language: str) -> Locale:
    try:
        return Locale.parse(_REGIONAL.get(language, language).replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_GB")


@cache
def _day_pattern(language: str) -> str:
    """The locale's weekday-day-month pattern, without the year, with names in full."""
    skeletons = locale_of(language).datetime_skeletons
    found = skeletons.get("MMMMEd") or skeletons.get("MMMEd") or skeletons["MEd"]
    pattern = _SHORT_WEEKDAY.sub("EEEE", str(found.pattern))
    return _SHORT_MONTH.sub(lambda m: m.group(1) * 4, pattern)


def day(moment: datetime, language: str, timezone: tzinfo) -> str:
    """Weekday, day and month: "Tuesday 1 December", "wtorek, 1 grudnia"."""
    return format_datetime(
        moment.astimezone(timezone), _day_pattern(language), locale=locale_of(language)
    )


def when(moment: datetime, language: str, timezone: tzinfo) -> str:
    """Weekday, day, month and time: "Tuesday 1 December, 18:00" in ``language``."""
    locale = locale_of(language)
    local = moment.astimezone(timezone)
    clock = format_time(local, "short", locale=locale)
    combined = str(locale.datetime_formats["medium"])
    return combined.replace("{1}", day(local, language, timezone)).replace("{0}", clock)


def number(value: float, language: str) -> str:
    """5000 as "5,000", "5 000" or "5.000"."""
    return format_decimal(value, locale=locale_of(language))


@lru_cache(maxsize=4096)  # a ballot shows the same costs turn after turn
def money(amount: int, currency: str, language: str) -> str:
    """A whole amount of ``currency`` as the language writes money: "£46,500",
    "46 500 GBP", "‏46,500 UK£" (no pence: budgets and bids are whole units)."""
    locale = locale_of(language)
    return format_currency(
        amount, currency, locale=locale, format=_whole(locale), currency_digits=False
    )


@cache
def _whole(locale: Locale) -> str:
    """The locale's money pattern without its decimal places."""
    return re.sub(r"\.0+", "", str(locale.currency_formats["standard"].pattern))


def percent(fraction: float, language: str) -> str:
    """0.75 as "75%", "75 %" (whole percent)."""
    return format_percent(fraction, locale=locale_of(language))


def listing(items: Sequence[str], language: str) -> str:
    """["A", "B", "C"] as "A, B and C", "A, B i C", "A وB وC"."""
    return format_list(list(items), locale=locale_of(language)) if items else ""
