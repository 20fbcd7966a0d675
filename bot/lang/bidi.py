"""Right-to-left text that reads right on a phone.

A phone lays out each line (paragraph) by its first strong letter. In an Arabic or Urdu
message, a line that starts with a Latin word ("Parley میں خوش آمدید!") or is a numbered
Latin option ("2. English") would be laid out left to right, its punctuation at the
wrong end; in an English message, "5. اردو" would be laid out right to left. Each such
line gets the message's direction mark (RLM or LRM), one invisible character, which
every phone that shows Arabic honours. GSM-7 text has no right-to-left letters, so it
never gets a mark and never costs more.
"""

from __future__ import annotations

import unicodedata

RIGHT_TO_LEFT_MARK = "\u200f"
LEFT_TO_RIGHT_MARK = "\u200e"
_RTL = frozenset({"R", "AL"})


def _first_strong(line: str) -> str | None:
    for ch in line:
        kind = unicodedata.bidirectional(ch)
        if kind == "L" or kind in _RTL:
            return kind
    return None


def for_display(text: str) -> str:
    """``text`` with a direction mark on each line that would otherwise run the wrong way."""
    if text.isascii():
        return text
    right = left = 0
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in _RTL:
            right += 1
        elif kind == "L":
            left += 1
    if not right:
        return text
    rtl = right > left
    mark = RIGHT_TO_LEFT_MARK if rtl else LEFT_TO_RIGHT_MARK
    lines = text.split("\n")
    for index, line in enumerate(lines):
        first = _first_strong(line)
        if first is not None and (first in _RTL) != rtl:
            lines[index] = mark + line
    return "\n".join(lines)
