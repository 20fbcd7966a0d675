"""Poll and survey results as a bar chart picture, with labels in the poll's own language.

The picture is for a phone: 1000 pixels wide, large type, one bar per option with its
label on the line above and ``count (NN%)`` beside it. A right-to-left poll (Arabic,
Urdu, Hebrew) is mirrored: text on the right, bars growing leftwards.

A label is only drawn when it will read correctly: a font has all its letters and, for
scripts that need it, Pillow can shape them (Raqm). Otherwise the whole chart numbers its
bars and hands back a ``legend`` ("1. label" lines) to send as text beside the picture:
a phone always shows text in its own fonts, while boxes or unjoined letters in a picture
would be worse than no label.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from PIL import Image, ImageDraw, ImageFont

from bot.civic.fonts import Fonts, has_rtl, is_rtl, needs_shaping
from bot.errors import ConfigError

WIDTH = 1000
MARGIN = 40
TEXT_WIDTH = WIDTH - 2 * MARGIN
TITLE_SIZE = 34
LABEL_SIZE = 30
NUMBER_SIZE = 28
NOTE_SIZE = 24
BAR_HEIGHT = 40
TITLE_GAP = 40  # below the title
BAR_GAP = 10  # between a label and its bar
ROW_GAP = 30  # below each bar
NUMBER_GAP = 14  # between a bar's end and its count
BACKGROUND = (255, 255, 255)
INK = (33, 37, 41)
MUTED = (108, 117, 125)
BAR_COLOUR = (52, 110, 160)
FALLBACK_TITLE = "Poll results (labels below)"

_Font = ImageFont.FreeTypeFont
_Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    share: float  # 0..1, of the people who answered


@dataclass(frozen=True)
class Chart:
    title: str  # the question, in the poll's own language
    bars: tuple[Bar, ...]  # in option order
    note: str  # staff-facing footer, English, e.g. "24 voters, closed"


@dataclass(frozen=True)
class Picture:
    png: bytes
    legend: tuple[str, ...]  # "1. label" lines to give beside the image if labels were not drawn


@dataclass(frozen=True)
class _Text:
    """Text ready to draw: wrapped lines, its font, and the direction to give Raqm.

    Lines are spaced by the font's own line height, but the block is placed by its ink:
    Arabic and Bengali fonts reserve much room for marks that most words lack, which
    would float a label far above its bar.
    """

    lines: tuple[str, ...]
    font: _Font
    direction: str | None
    floor: tuple[int, int] = (0, 0)  # least ink above and below: to match other labels

    @property
    def leading(self) -> int:
        """The font's line height, but at most 1.6 times the size: Noto Sans Arabic asks
        for 2.1, room for stacked Quranic marks that poll questions do not have."""
        ascent, descent = self.font.getmetrics()
        return min(ascent + descent, round(self.font.size * 1.6))

    @cached_property
    def ink(self) -> tuple[int, int]:
        """Ink above the first baseline and below the last: at least a digit's height,
        a quarter of the size and the ``floor``, so that labels keep one rhythm."""
        boxes = [self._box(line) for line in self.lines]
        top = max(self.floor[0], -self._box("0")[1], -boxes[0][1])
        return top, max(self.floor[1], round(self.font.size / 4), boxes[-1][3])

    @property
    def height(self) -> int:
        top, bottom = self.ink
        return top + (len(self.lines) - 1) * self.leading + bottom

    def draw(self, draw: ImageDraw.ImageDraw, y: int, rtl: bool, fill: _Colour) -> int:
        """Draw from ``y`` down, aligned to the reading side; returns the ``y`` below."""
        x, anchor = (WIDTH - MARGIN, "rs") if rtl else (MARGIN, "ls")
        baseline = y + self.ink[0]
        for line in self.lines:
            draw.text((x, baseline), line, fill, self.font, anchor, direction=self.direction)
            baseline += self.leading
        return y + self.height

    def _box(self, line: str) -> tuple[int, int, int, int]:
        box = self.font.getbbox(line, direction=self.direction, anchor="ls")
        return int(box[0]), int(box[1]), int(box[2]), int(box[3])


def render(chart: Chart, fonts: Fonts) -> Picture:
    """Draw ``chart``; labels that cannot be drawn well go to ``Picture.legend`` instead."""
    title = _prepare(chart.title, TITLE_SIZE, fonts)
    maybe_labels = [_prepare(bar.label, LABEL_SIZE, fonts) for bar in chart.bars]
    labels = [label for label in maybe_labels if label is not None]
    legend: tuple[str, ...] = ()
    if title is None or len(labels) < len(chart.bars):
        legend = tuple(f"{n}. {bar.label}" for n, bar in enumerate(chart.bars, 1))
        labels = [_latin(str(n), LABEL_SIZE, fonts) for n in range(1, len(chart.bars) + 1)]
    if title is None:
        legend = (chart.title, *legend)
        title = _latin(FALLBACK_TITLE, TITLE_SIZE, fonts)
    top = max((label.ink[0] for label in labels), default=0)
    bottom = max((label.ink[1] for label in labels), default=0)
    labels = [replace(label, floor=(top, bottom)) for label in labels]
    rtl = is_rtl(" ".join(line for text in (title, *labels) for line in text.lines))
    numbers = [_latin(_count(bar), NUMBER_SIZE, fonts) for bar in chart.bars]
    note = _latin(chart.note, NOTE_SIZE, fonts)
    rows = list(zip(labels, numbers, chart.bars, strict=True))
    return Picture(_draw(title, rows, note, rtl), legend)


def _count(bar: Bar) -> str:
    return f"{bar.count} ({round(_clamp(bar.share) * 100)}%)"


def _clamp(share: float) -> float:
    """A share outside 0..1 (or NaN) from odd data still gives a sensible bar."""
    return min(max(share, 0.0), 1.0) if share == share else 0.0


def _prepare(text: str, size: int, fonts: Fonts) -> _Text | None:
    """``text`` laid out in the first font that has its letters, or None when it would
    not read correctly: no such font, or the script needs shaping or bidi but Pillow
    has no Raqm."""
    text = unicodedata.normalize("NFC", text)
    path = fonts.for_text(text)
    if path is None or ((needs_shaping(text) or has_rtl(text)) and not fonts.can_shape):
        return None
    engine = ImageFont.Layout.RAQM if fonts.can_shape else ImageFont.Layout.BASIC
    direction = ("rtl" if is_rtl(text) else "ltr") if fonts.can_shape else None
    try:
        font = ImageFont.truetype(path, size, layout_engine=engine)
    except OSError:  # the file has a cmap but FreeType cannot use it
        return None
    return _Text(_wrap(text, font, direction), font, direction)


def _latin(text: str, size: int, fonts: Fonts) -> _Text:
    """Numbers and English (the note, the fallback title) in a font that has them, else
    in Pillow's own font, so that a chart is drawn even on a machine with no fonts."""
    prepared = _prepare(text, size, fonts)
    if prepared is not None:
        return prepared
    font = ImageFont.load_default(size=size)
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise ConfigError("Pillow was built without FreeType: reinstall Pillow from its wheels")
    return _Text(_wrap(text, font, None), font, None)


def _wrap(text: str, font: _Font, direction: str | None) -> tuple[str, ...]:
    """Greedy wrapping at spaces, keeping the text's own line breaks. A word wider than a
    line (or text in a script written without spaces, such as Chinese) is broken between
    letters, never inside one, so a Bengali conjunct stays whole."""

    def fits(line: str) -> bool:
        return font.getlength(line, direction=direction) <= TEXT_WIDTH

    lines = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            pieces = [word] if fits(word) else _letters(word)
            for n, piece in enumerate(pieces):
                longer = f"{line} {piece}" if line and n == 0 else line + piece
                if line and not fits(longer):
                    lines.append(line)
                    longer = piece
                line = longer
        lines.append(line)
    return tuple(lines)


def _letters(word: str) -> list[str]:
    """``word`` cut where a line may break: not before a mark or joiner, nor after a
    virama (which joins the next consonant into a conjunct) or a zero-width joiner."""
    letters: list[str] = []
    for char in word:
        glued = unicodedata.category(char)[0] == "M" or unicodedata.category(char) == "Cf"
        if letters and (glued or letters[-1][-1] == "\u200d" or _virama(letters[-1][-1])):
            letters[-1] += char
        else:
            letters.append(char)
    return letters


def _virama(char: str) -> bool:
    return unicodedata.combining(char) == 9


def _draw(title: _Text, rows: Sequence[tuple[_Text, _Text, Bar]], note: _Text, rtl: bool) -> bytes:
    """Lay the chart out top to bottom; ``rtl`` mirrors it, numbers to the bars' left."""
    rows_height = sum(label.height + BAR_GAP + BAR_HEIGHT + ROW_GAP for label, _, _ in rows)
    height = MARGIN + title.height + TITLE_GAP + rows_height + note.height + MARGIN
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    y = title.draw(draw, MARGIN, rtl, INK) + TITLE_GAP
    room = max((number.font.getlength(number.lines[0]) for _, number, _ in rows), default=0)
    longest = TEXT_WIDTH - int(room) - NUMBER_GAP
    for label, number, bar in rows:
        y = label.draw(draw, y, rtl, INK) + BAR_GAP
        length = round(_clamp(bar.share) * longest)
        if bar.count > 0:
            length = max(length, 4)  # a vote is never invisible
        start = WIDTH - MARGIN - length if rtl else MARGIN
        if length:
            box = (start, y, start + length - 1, y + BAR_HEIGHT - 1)
            draw.rounded_rectangle(box, radius=min(6, length // 2), fill=BAR_COLOUR)
        gap = NUMBER_GAP if length else 0
        x, anchor = (start - gap, "rm") if rtl else (start + length + gap, "lm")
        text, middle = number.lines[0], y + BAR_HEIGHT / 2
        draw.text((x, middle), text, INK, number.font, anchor, direction=number.direction)
        y += BAR_HEIGHT + ROW_GAP
    note.draw(draw, y, False, MUTED)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
