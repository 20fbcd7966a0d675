"""Which font file can draw a piece of text, and whether it can be laid out properly.

Poll results are drawn as pictures for staff phones, in the poll's own language: Arabic,
Bengali, Polish, Somali… No single font has every script, so we keep an ordered list of
font files and ask each one's character map (``cmap``) in turn. The order is: the
deployment's own folder (so an operator can add a script), the font packages Parley
depends on (present on any machine), then the system's folders.

Having the letters is not enough for some scripts: Arabic letters join and Bengali vowel
signs move around their consonant, which only a shaping engine does. Pillow has one
(Raqm) only when libraqm is installed, so callers ask ``can_shape`` and ``needs_shaping``
before trusting a font with such text.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import features

FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
FONT_PACKAGES = ("fontpkg_noto_sans", "fontpkg_noto_sans_arabic", "fontpkg_hind_siliguri")
SYSTEM_FOLDERS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path("~/.fonts"),
    Path("~/.local/share/fonts"),
)

# Scripts whose letters change form or position with their neighbours (Arabic, Syriac,
# Thaana, N'Ko, Indic, Thai and Lao, Tibetan, Myanmar, Ethiopic, Khmer, Arabic forms).
_SHAPED_RANGES = (
    (0x0600, 0x08FF),
    (0x0900, 0x0EFF),
    (0x0F00, 0x109F),
    (0x1200, 0x139F),
    (0x1780, 0x17FF),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
)
# Variation selectors say which form to draw; a font without them still draws the letter.
_SELECTORS = ((0xFE00, 0xFE0F), (0xE0100, 0xE01EF))
# Words in a file name that mark a style other than the plain upright regular one.
_STYLE_WORDS = (
    "bold", "light", "thin", "black", "heavy", "medium", "italic", "oblique",
    "condensed", "narrow", "mono", "math",
)  # fmt: skip


def _in(code: int, ranges: Iterable[tuple[int, int]]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def needs_shaping(text: str) -> bool:
    """Whether ``text`` has letters that only a shaping engine (Raqm) places correctly.

    Combining marks left after NFC normalisation (Hebrew points, decomposed accents)
    count too: without shaping they are drawn beside their letter, not on it.
    """
    for char in unicodedata.normalize("NFC", text):
        code = ord(char)
        if _in(code, _SHAPED_RANGES):
            return True
        if unicodedata.category(char) == "Mn" and not _in(code, _SELECTORS):
            return True
    return False


def is_rtl(text: str) -> bool:
    """Whether ``text`` reads right to left: its first strong character is Hebrew or
    Arabic-like (the Unicode bidi rule for a paragraph's direction)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def has_rtl(text: str) -> bool:
    """Whether any character of ``text`` is right-to-left: such text needs the bidi
    algorithm, which Pillow only applies with Raqm."""
    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in text)


def _needs_glyph(char: str) -> bool:
    """Spaces, joiners and other format characters are not drawn from the font."""
    return not (char.isspace() or unicodedata.category(char) == "Cf" or _in(ord(char), _SELECTORS))


def _style_rank(path: Path) -> tuple[int, str]:
    """Regular (or variable upright) files first, so text is not drawn in bold or italic
    only because that file's name sorts first."""
    name = path.stem.lower()
    regular = "regular" in name or not any(word in name for word in _STYLE_WORDS)
    return (0 if regular else 1, path.name)


def _scan(folder: Path) -> list[Path]:
    """The font files under ``folder``, one directory after another, regular ones first
    within each directory; nothing if the folder is missing or unreadable."""
    try:
        found = [p for p in folder.rglob("*") if p.suffix.lower() in FONT_SUFFIXES]
    except OSError:
        return []
    return sorted(found, key=lambda p: (str(p.parent), *_style_rank(p)))


def _package_folders() -> list[Path]:
    """The ``files/`` folders of the font packages that are installed."""
    folders: list[Path] = []
    for name in FONT_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            folders.extend(Path(p) / "files" for p in spec.submodule_search_locations)
    return folders


class Fonts:
    """An ordered list of font files, asked in turn which one has the letters of a text."""

    def __init__(self, files: Sequence[Path], *, shaping: bool | None = None) -> None:
        """``shaping`` overrides the Raqm check, so tests can act out a Pillow without it."""
        self.files = tuple(files)
        self._shaping = shaping
        self._cmaps: dict[Path, frozenset[int]] = {}

    @classmethod
    def find(cls, extra: Path | None = None, *, system: bool = True) -> Fonts:
        """The fonts of ``extra`` (the deployment's folder), the font packages and the
        system, in that order of preference, each file once. ``system=False`` leaves the
        system out, for pictures that look the same on every machine (and for tests)."""
        folders: list[Path] = [] if extra is None else [extra]
        folders += _package_folders()
        if system:
            folders += [folder.expanduser() for folder in SYSTEM_FOLDERS]
        files: dict[Path, None] = {}
        for folder in folders:
            for path in _scan(folder):
                files.setdefault(path.resolve(), None)
        return cls(list(files))

    @property
    def can_shape(self) -> bool:
        """Whether Pillow can lay out complex scripts and right-to-left text (Raqm)."""
        if self._shaping is None:
            self._shaping = bool(features.check("raqm"))
        return self._shaping

    def for_text(self, text: str) -> Path | None:
        """The first font file that has a glyph for every visible character of ``text``."""
        wanted = {ord(char) for char in text if _needs_glyph(char)}
        for path in self.files:
            if wanted <= self._cmap(path):
                return path
        return None

    def _cmap(self, path: Path) -> frozenset[int]:
        """The characters ``path`` has, read once; an unreadable file has none."""
        if path not in self._cmaps:
            try:
                # Our own handle: TTFont leaves its file open when the header is broken.
                with open(path, "rb") as handle, TTFont(handle, lazy=True, fontNumber=0) as font:
                    self._cmaps[path] = frozenset(font["cmap"].getBestCmap() or {})
            except Exception:  # fontTools raises many kinds for a broken file
                self._cmaps[path] = frozenset()
        return self._cmaps[path]
