"""Results charts: labels in any script read correctly, or the chart says so with a legend.

Most tests use only the font packages Parley depends on (``Fonts.find(system=False)``), so
they give the same answer on any machine.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageFont, features

from bot.civic.chart import BAR_COLOUR, FALLBACK_TITLE, WIDTH, Bar, Chart, Picture, _letters, render
from bot.civic.fonts import Fonts, is_rtl, needs_shaping

raqm = pytest.mark.skipif(not features.check("raqm"), reason="Pillow has no Raqm (libraqm)")

EN = ("Which should the fund pay for first?", ["Health centre", "Youth club", "Park (age 5-11)"])
AR = ("ما الذي يجب أن يموله صندوق الحي أولاً؟", ["مركز صحي", "نادي الشباب", "حديقة", "إنارة"])
BN = (
    "কমিউনিটি তহবিল প্রথমে কী কাজে খরচ করা উচিত?",
    ["স্বাস্থ্য কেন্দ্র", "যুব ক্লাব", "পার্ক", "রাস্তার আলো", "গ্রন্থাগার"],
)
AM = ("ምን ይመርጣሉ?", ["የጤና ጣቢያ", "የወጣቶች ክበብ", "መናፈሻ"])  # Ethiopic: no package font


def poll(title: str, labels: list[str], note: str = "24 voters, closed") -> Chart:
    counts = [7, 5, 3, 2, 1, 1, 1, 1, 1][: len(labels)]
    total = sum(counts)
    bars = tuple(Bar(label, n, n / total) for label, n in zip(labels, counts, strict=True))
    return Chart(title, bars, note)


def numbered(chart: Chart, title: str) -> Chart:
    """What a chart falls back to: bars labelled 1, 2, …"""
    bars = tuple(Bar(str(n), bar.count, bar.share) for n, bar in enumerate(chart.bars, 1))
    return Chart(title, bars, chart.note)


def image(picture: Picture) -> Image.Image:
    opened = Image.open(io.BytesIO(picture.png))
    assert opened.format == "PNG"
    return opened.convert("RGB")


def count(picture: Image.Image, colour: tuple[int, int, int]) -> int:
    colours = picture.getcolors(maxcolors=picture.width * picture.height) or []
    return sum(n for n, c in colours if c == colour)


@pytest.fixture(scope="module")
def fonts() -> Fonts:
    return Fonts.find(system=False)


def test_find_searches_extra_then_packages_regular_first(tmp_path: Path) -> None:
    packaged = Fonts.find(system=False).files
    names = [path.name for path in packaged]
    assert names.index("NotoSans[wdth,wght].ttf") < names.index("NotoSans-Italic[wdth,wght].ttf")
    hind = [name for name in names if name.startswith("HindSiliguri")]
    assert hind[0] == "HindSiliguri-Regular.ttf"
    shutil.copy(packaged[-1], tmp_path / "Mine.ttf")
    assert Fonts.find(tmp_path, system=False).files[0] == tmp_path / "Mine.ttf"


@pytest.mark.parametrize(
    ("text", "font"),
    [
        ("Health centre (24%)", "NotoSans[wdth,wght].ttf"),
        ("Youth club, 11-18?", "NotoSans[wdth,wght].ttf"),
        ("Клуб для молоді", "NotoSans[wdth,wght].ttf"),
        ("مركز صحي", "NotoSansArabic[wdth,wght].ttf"),
        ("پارک شہر", "NotoSansArabic[wdth,wght].ttf"),
        ("مركز Wi-Fi", "NotoSansArabic[wdth,wght].ttf"),
        ("স্বাস্থ্য কেন্দ্র", "HindSiliguri-Regular.ttf"),
        ("যুব\u200cক্লাব\U000e0001", "HindSiliguri-Regular.ttf"),  # ZWNJ, a tag: no glyph needed
    ],
)
def test_for_text_finds_a_font_with_every_letter(fonts: Fonts, text: str, font: str) -> None:
    found = fonts.for_text(text)
    assert found is not None
    assert found.name == font


@pytest.mark.parametrize("text", ["ምን ይመርጣሉ?", "ਪੰਜਾਬੀ", "\ue000", "Park 🌳", "Park ਪੰਜਾਬੀ"])
def test_for_text_is_none_when_no_one_font_covers(fonts: Fonts, text: str) -> None:
    assert fonts.for_text(text) is None
    assert Fonts([]).for_text("Park") is None


def test_unreadable_font_files_are_skipped(tmp_path: Path, fonts: Fonts) -> None:
    broken = tmp_path / "Broken-Regular.ttf"
    broken.write_bytes(b"not a font")
    latin = fonts.for_text("Park")
    assert latin is not None
    assert Fonts([tmp_path / "missing.ttf", broken, latin]).for_text("Park") == latin


@pytest.mark.parametrize(
    ("text", "shaping", "rtl"),
    [
        ("Health centre", False, False),
        ("Zdrowie, żłobek", False, False),
        ("مركز صحي", True, True),
        ("2024: مركز", True, True),
        ("স্বাস্থ্য", True, False),
        ("स्वास्थ्य", True, False),
        ("ጤና", True, False),
        ("שלום", False, True),
        ("שָׁלוֹם", True, True),  # points sit on their letter only when shaped
        ("e\u0301te\u0301", False, False),  # NFC makes it "été"
        ("", False, False),
    ],
)
def test_scripts_that_need_shaping_or_read_right_to_left(
    text: str, shaping: bool, rtl: bool
) -> None:
    assert needs_shaping(text) is shaping
    assert is_rtl(text) is rtl


@raqm
@pytest.mark.parametrize(("title", "labels"), [EN, AR, BN], ids=["en", "ar", "bn"])
def test_labels_are_drawn_in_every_shipped_script(
    fonts: Fonts, title: str, labels: list[str]
) -> None:
    picture = render(poll(title, labels), fonts)
    drawn = image(picture)
    assert picture.legend == ()
    assert drawn.width == WIDTH
    inked = drawn.width * drawn.height - count(drawn, (255, 255, 255))
    assert inked > 20_000
    assert count(drawn, BAR_COLOUR) > 5_000
    assert len(drawn.getcolors(maxcolors=1 << 24) or []) > 10  # anti-aliased text, not boxes


@raqm
def test_height_grows_with_the_number_of_bars(fonts: Fonts) -> None:
    three = image(render(poll(BN[0], BN[1][:3]), fonts))
    five = image(render(poll(BN[0], BN[1]), fonts))
    nine = image(render(poll("Day?", [f"Option {n}" for n in range(1, 10)]), fonts))
    assert three.height < five.height < nine.height
    assert three.height > 400


def ink_width_of_first_line(picture: Picture) -> int:
    """The width of the first band of ink from the top: the label of a chart without title."""
    grey = image(picture).convert("L").point(lambda v: 255 if v < 200 else 0)
    rows = [grey.crop((0, y, grey.width, y + 1)).getbbox() for y in range(grey.height)]
    first = next(y for y, box in enumerate(rows) if box)
    band = next(y for y in range(first, grey.height) if not rows[y])
    box = grey.crop((0, first, grey.width, band)).getbbox()
    assert box is not None
    return box[2] - box[0]


@raqm
@pytest.mark.parametrize("label", ["مركز صحي", "স্বাস্থ্য কেন্দ্র"])
def test_labels_are_shaped(fonts: Fonts, label: str) -> None:
    """Joined Arabic letters and Bengali conjuncts are much narrower than the letters one
    by one, which is all a layout without shaping can draw."""
    path = fonts.for_text(label)
    assert path is not None
    direction = "rtl" if is_rtl(label) else "ltr"
    shaped = ImageFont.truetype(path, 30, layout_engine=ImageFont.Layout.RAQM)
    unshaped = ImageFont.truetype(path, 30, layout_engine=ImageFont.Layout.BASIC)
    shaped_box = shaped.getbbox(label, direction=direction)
    unshaped_box = unshaped.getbbox(label)
    assert shaped_box[2] - shaped_box[0] < 0.9 * (unshaped_box[2] - unshaped_box[0])
    drawn = ink_width_of_first_line(render(Chart("", (Bar(label, 0, 0.0),), ""), fonts))
    assert abs(drawn - (shaped_box[2] - shaped_box[0])) <= 2


@raqm
def test_arabic_chart_is_mirrored(fonts: Fonts) -> None:
    for (title, labels), side in [(AR, "right"), (EN, "left")]:
        drawn = image(render(poll(title, labels), fonts))
        left = count(drawn.crop((0, 0, WIDTH // 2, drawn.height)), BAR_COLOUR)
        right = count(drawn.crop((WIDTH // 2, 0, WIDTH, drawn.height)), BAR_COLOUR)
        assert (right > 0 and left == 0) if side == "right" else (left > right), side


def test_no_fonts_at_all_numbers_the_bars() -> None:
    chart = poll(*EN)
    picture = render(chart, Fonts([]))
    assert picture.legend == (
        EN[0],
        "1. Health centre",
        "2. Youth club",
        "3. Park (age 5-11)",
    )
    assert image(picture).width == WIDTH
    assert picture.png == render(numbered(chart, FALLBACK_TITLE), Fonts([])).png


def test_a_script_no_font_has_falls_back_to_numbers(fonts: Fonts) -> None:
    chart = poll(*AM)
    picture = render(chart, fonts)
    assert picture.legend == (AM[0], "1. የጤና ጣቢያ", "2. የወጣቶች ክበብ", "3. መናፈሻ")
    assert picture.png == render(numbered(chart, FALLBACK_TITLE), fonts).png


def test_one_undrawable_label_numbers_them_all_but_keeps_the_title(fonts: Fonts) -> None:
    chart = poll("Which language do you read best?", ["English", "ਪੰਜਾਬੀ", "Polski"])
    picture = render(chart, fonts)
    assert picture.legend == ("1. English", "2. ਪੰਜਾਬੀ", "3. Polski")
    assert picture.png == render(numbered(chart, chart.title), fonts).png


@pytest.mark.parametrize(("title", "labels"), [AR, BN], ids=["ar", "bn"])
def test_without_raqm_complex_scripts_fall_back(title: str, labels: list[str]) -> None:
    unshaped = Fonts(Fonts.find(system=False).files, shaping=False)
    chart = poll(title, labels)
    picture = render(chart, unshaped)
    assert picture.legend == (title, *(f"{n}. {label}" for n, label in enumerate(labels, 1)))
    assert picture.png == render(numbered(chart, FALLBACK_TITLE), unshaped).png


def test_without_raqm_english_still_has_its_labels() -> None:
    unshaped = Fonts(Fonts.find(system=False).files, shaping=False)
    picture = render(poll(*EN), unshaped)
    assert picture.legend == ()
    assert count(image(picture), BAR_COLOUR) > 5_000


@pytest.mark.parametrize(
    "bars",
    [
        (Bar("", 0, 0.0), Bar("", 0, 0.0)),
        (Bar("Yes 👍", 3, 1.5), Bar("No", -1, float("nan"))),
        (Bar("x" * 300, 1, 0.5), Bar("a\n\nb", 1, 0.5)),
        (Bar("Vote\u200d\u202e!", 1, 1.0),),
    ],
)
def test_odd_text_and_numbers_never_raise(fonts: Fonts, bars: tuple[Bar, ...]) -> None:
    for title in ["", " ", "Title\nwith lines " * 20]:
        assert image(render(Chart(title, bars, ""), fonts)).width == WIDTH


@raqm
def test_long_titles_wrap_instead_of_running_off(fonts: Fonts) -> None:
    short = image(render(poll(AR[0], AR[1]), fonts))
    long = image(render(poll(" ".join([AR[0]] * 4), AR[1]), fonts))
    assert long.height > short.height + 60
    assert long.width == WIDTH


def test_a_word_wider_than_the_picture_breaks_between_letters(fonts: Fonts) -> None:
    one_line = image(render(Chart("", (Bar("x" * 20, 1, 1.0),), ""), fonts))
    long = image(render(Chart("", (Bar("x" * 200, 1, 1.0),), ""), fonts))
    assert long.height > one_line.height + 60
    assert _letters("স্বাস্থ্য") == ["স্বা", "স্থ্য"]  # conjuncts stay whole
    assert _letters("e\u0301te\u200d!") == ["e\u0301", "t", "e\u200d!"]
