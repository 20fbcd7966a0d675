"""SMS segment counting and GSM-7 friendly punctuation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Encoding,
    gsm7_friendly,
    segments,
)


@pytest.mark.parametrize(
    ("text", "encoding", "count", "units"),
    [
        ("", Encoding.GSM7, 0, 0),
        ("a" * 160, Encoding.GSM7, 1, 160),
        ("a" * 161, Encoding.GSM7, 2, 161),
        ("a" * 306, Encoding.GSM7, 2, 306),
        ("a" * 307, Encoding.GSM7, 3, 307),
        ("€" * 80, Encoding.GSM7, 1, 160),  # extension characters take two septets
        ("€" * 81, Encoding.GSM7, 2, 162),
        ("ł" * 70, Encoding.UCS2, 1, 70),
        ("ł" * 71, Encoding.UCS2, 2, 71),
        ("ł" * 134, Encoding.UCS2, 2, 134),
        ("ł" * 135, Encoding.UCS2, 3, 135),
        ("😀" * 35, Encoding.UCS2, 1, 70),  # outside the BMP: two code units each
        ("😀" * 36, Encoding.UCS2, 2, 72),
        ("مرحبا", Encoding.UCS2, 1, 5),
    ],
)
def test_counts(text: str, encoding: Encoding, count: int, units: int) -> None:
    result = segments(text)
    assert (result.encoding, result.count, result.units) == (encoding, count, units)
    assert "".join(result.parts) == text


def test_an_escape_pair_is_never_split() -> None:
    text = "a" * 152 + "€" + "b" * 10
    first, second = segments(text).parts
    assert first == "a" * 152  # the € (two septets) would not fit in septet 153
    assert second.startswith("€")


def test_a_surrogate_pair_is_never_split() -> None:
    text = "ł" * 66 + "😀" + "ł" * 5
    first, second = segments(text).parts
    assert first == "ł" * 66
    assert second.startswith("😀")


def test_typographic_punctuation_is_made_plain_when_that_makes_gsm7() -> None:
    text = "It’s “good” – isn’t it…"
    assert gsm7_friendly(text) == "It's \"good\" - isn't it..."
    assert segments(gsm7_friendly(text)).encoding is Encoding.GSM7


def test_text_that_needs_ucs2_anyway_is_left_as_written() -> None:
    text = "Dziękujemy – to ważne…"
    assert gsm7_friendly(text) == text


septet_text = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=700)


@given(septet_text)
def test_gsm7_parts_fit(text: str) -> None:
    result = segments(text)
    limit = 160 if result.count == 1 else 153
    for part in result.parts:
        assert sum(2 if ch in GSM7_EXTENSION else 1 for ch in part) <= limit
    assert "".join(result.parts) == text


@given(st.text(max_size=300))
def test_any_text_splits_back_to_itself_within_limits(text: str) -> None:
    result = segments(text)
    assert "".join(result.parts) == text
    if result.encoding is Encoding.UCS2:
        limit = 70 if result.count == 1 else 67
        for part in result.parts:
            assert len(part.encode("utf-16-le")) // 2 <= limit
