"""Right-to-left text that reads right on a phone.

A phone lays out each line (paragraph) by its first strong letter. In an Arabic or Urdu
message, a line that starts with a Latin word ("Parley میں خوش آمدید!") or is a numbered
Latin option ("2. English") would be laid out left to right, its punctuation at the
wrong end; in an English message, "5. اردو" would be laid out right to left. Each such
line gets the message's direction mark (RLM or LRM), one invisible character, which
every phone that shows Arabic honours. GSM-7 text has no right-to-left letters, so it
never gets a mark and never costs more.

The message's direction is that of most letters in its sentences: the lines that are
not numbered options. Options may be in any script (a language menu lists every
language in its own), and there can be more of them than the sentence has letters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

RIGHT_TO_LEFT_MARK = "\u200f"
LEFT_TO_RIGHT_MARK = "\u200e"
_MARKS = frozenset({RIGHT_TO_LEFT_MARK, LEFT_TO_RIGHT_MARK})
_RTL = frozenset({"R", "AL"})
_OPTION = re.compile(r"[\u200e\u200f]?\s*[0-9]+\.\s")
"""A numbered option as questions show them ("2. English"), marked or not."""


def _first_strong(line: str) -> str | None:
    for ch in line:
        kind = unicodedata.bidirectional(ch)
        if kind == "L" or kind in _RTL:
            return kind
    return None


def _letters(lines: Iterable[str]) -> tuple[int, int]:
    """Right-to-left and left-to-right letters in ``lines`` (direction marks aside)."""
    right = left = 0
    for line in lines:
        for ch in line:
            if ch in _MARKS:
                continue
            kind = unicodedata.bidirectional(ch)
            if kind in _RTL:
                right += 1
            elif kind == "L":
                left += 1
    return right, left


def for_display(text: str) -> str:
    """``text`` with a direction mark on each line that would otherwise run the wrong way."""
    if text.isascii():
        return text
    lines = text.split("\n")
    right, left = _letters(lines)
    if not right:
        return text
    sentences = _letters(line for line in lines if not _OPTION.match(line))
    if any(sentences):
        right, left = sentences
    rtl = right > left
    mark = RIGHT_TO_LEFT_MARK if rtl else LEFT_TO_RIGHT_MARK
    for index, line in enumerate(lines):
        first = _first_strong(line)
        if first is not None and (first in _RTL) != rtl:
            lines[index] = mark + line
    return "\n".join(lines)
