"""A guess at the language of a new resident's first text message, offline.

Only a hint: the welcome is then written in the guessed language, which leads its
language menu, and the resident still chooses. It is never imposed.

The script decides alone where one deployed language uses it (Bengali, Gujarati,
Gurmukhi, Ethiopic, Cyrillic); otherwise ``py3langid`` (a small, offline model) ranks
the deployment's languages written in that script, and a guess is made only when it
is clear. Short texts ("hi", "3", "JOIN NORTH") give no guess. Tigrinya is not in
the model; it is recognised by its script.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import cached_property
from typing import Any

MIN_LETTERS = 8
MAX_CHARS = 1000  # the guess reads no further: a long text costs no more than this
CONFIDENCE = 0.9

# The script each language is written in, where it is not Latin.
_SCRIPTS = {
    "ar": "ARABIC",
    "ur": "ARABIC",
    "fa": "ARABIC",
    "ps": "ARABIC",
    "pa": "GURMUKHI",
    "bn": "BENGALI",
    "gu": "GUJARATI",
    "uk": "CYRILLIC",
    "ti": "ETHIOPIC",
    "am": "ETHIOPIC",
    "ru": "CYRILLIC",
    "hi": "DEVANAGARI",
    "ne": "DEVANAGARI",
    "ta": "TAMIL",
    "zh": "CJK",
    "el": "GREEK",
    "he": "HEBREW",
}


def script_of(language: str) -> str:
    return _SCRIPTS.get(language.split("-")[0], "LATIN")


def _script(ch: str) -> str | None:
    name = unicodedata.name(ch, "")
    return name.split(" ")[0] if name else None


class LanguageGuesser:
    """Call with a text: the deployment language it is clearly written in, or None."""

    def __init__(self, languages: Iterable[str]) -> None:
        self.languages = tuple(languages)

    @cached_property
    def _identifier(self) -> Any:
        """The model, loaded on first use (about half a second), restricted to the
        deployment's languages it knows. Only their columns of its table are kept (the
        model's own ``set_languages`` keeps the whole table too: 28 MB, a sixth of
        ``parley run``'s memory)."""
        from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
        from py3langid.modelio import load_model

        ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
        kept = [i for i, code in enumerate(classes) if code in self.languages]
        if kept:
            ptc, pc, classes = ptc[:, kept], pc[kept], [classes[i] for i in kept]
        return LanguageIdentifier(ptc, pc, classes, nextmove, output, norm_probs=True, tk_row=row)

    def warm(self) -> None:
        """Load the model now rather than on the first new resident's message."""
        _ = self._identifier

    def __call__(self, text: str) -> str | None:
        text = text[:MAX_CHARS]
        letters = [ch for ch in text if ch.isalpha()]
        if len(letters) < MIN_LETTERS:
            return None
        script, _ = Counter(_script(ch) for ch in letters).most_common(1)[0]
        candidates = [code for code in self.languages if script_of(code) == script]
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        known = set(self._identifier.nb_classes)
        scores = {
            code: probability
            for code, probability in self._identifier.rank(text)
            if code in candidates and code in known
        }
        total = sum(scores.values())
        if not total:
            return None
        best = max(scores, key=lambda code: scores[code])
        return best if scores[best] / total >= CONFIDENCE else None
