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
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

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
        deployment's languages it knows."""
        from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

        ptc, pc, classes, nextmove, row, output = _load_model(
            MODEL_DIR / MODEL_FILE, self.languages
        )
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


def _load_model(path: Path, languages: Iterable[str]) -> tuple[Any, ...]:
    """py3langid's model (as its ``modelio.load_model`` reads it: an LZMA-compressed
    ``.npz``) with only the columns of ``languages`` in its table (all of them if it
    knows none), read frugally: the whole table (28 MB) is let go before the state
    machine (39 MB) is read, and that is copied to a file and mapped (see
    :func:`_mapped_array`), not read into the process's heap through a NumPy copy.
    py3langid's own load and ``set_languages`` hold all three at once: ``parley
    run``'s peak memory, at start, went 55 MB higher."""
    import lzma
    import shutil
    import tempfile

    import numpy as np

    wanted = set(languages)
    with tempfile.TemporaryFile(suffix=".npz") as unpacked:
        with lzma.open(path) as packed:
            shutil.copyfileobj(packed, unpacked, length=1 << 20)
        unpacked.seek(0)
        with np.load(unpacked, allow_pickle=False) as data:
            classes = data["classes"].tolist()
            kept = [i for i, code in enumerate(classes) if code in wanted] or list(
                range(len(classes))
            )
            ptc = _read_columns(data.zip, "ptc.npy", kept)
            pc = data["pc"][kept]
            nextmove = _mapped_array(data.zip, "nextmove.npy")
            row = _read_array(data.zip, "nextmove_row.npy")
            output = data["out_feat"].tolist()
    return ptc, pc, [classes[i] for i in kept], nextmove, row, output


def _read_columns(package: Any, member: str, kept: list[int]) -> Any:
    """The ``kept`` columns of a two-dimensional array of an ``.npz``, read a thousand
    rows at a time: never the whole table (28 MB) in memory beside them."""
    import numpy as np

    with package.open(member) as stored:
        (rows, width), fortran, dtype = _header(stored)
        if fortran or dtype.hasobject:
            raise ValueError(f"{member}: not a table of numbers by rows ({dtype})")
        found = np.empty((rows, len(kept)), dtype=dtype)
        for start in range(0, rows, 1000):
            count = min(1000, rows - start)
            chunk = stored.read(count * width * dtype.itemsize)
            if len(chunk) != count * width * dtype.itemsize:
                raise ValueError(f"{member}: the model file ends early")
            found[start : start + count] = np.frombuffer(chunk, dtype).reshape(count, width)[
                :, kept
            ]
    return found


def _read_array(package: Any, member: str) -> array[int]:
    """A one-dimensional array of unsigned integers of an ``.npz``, as a stdlib array."""
    with package.open(member) as stored:
        length, itemsize = _npy_header(member, stored)
        found = array(_TYPECODES[itemsize], bytes(itemsize)) * length
        _copy(member, stored, memoryview(found).cast("B"))
    return found


def _mapped_array(package: Any, member: str) -> memoryview:
    """A one-dimensional array of unsigned integers of an ``.npz``, copied to a file of
    its own (a temporary one, gone with the process) and mapped read-only, indexed as
    the stdlib array it replaces, as fast. Its pages are the file's: none is in the
    process's memory until a guess reads it, and those read are clean pages the kernel
    drops under pressure (reading them again from the file) rather than memory it must
    keep or swap. A guess reads a few rows, but the kernel maps a file's page cache in
    large blocks: after a few guesses most of the 39 MB is resident again, as file
    pages."""
    import mmap
    import tempfile

    with package.open(member) as stored, tempfile.TemporaryFile() as copy:
        length, itemsize = _npy_header(member, stored)
        for chunk in _chunks(member, stored, length * itemsize):
            copy.write(chunk)
        copy.flush()
        mapped = mmap.mmap(copy.fileno(), length * itemsize, access=mmap.ACCESS_READ)
        mapped.madvise(mmap.MADV_RANDOM)  # rows are read here and there: no read-ahead
    return memoryview(mapped).cast(_TYPECODES[itemsize])


_TYPECODES: dict[int, Literal["H", "I", "L"]] = {2: "H", 4: "I", 8: "L"}


def _header(stored: Any) -> tuple[tuple[int, ...], bool, Any]:
    """The shape, order (Fortran's or not) and dtype of the ``.npy`` array ``stored`` is
    positioned at, read as far as the array's first byte."""
    from numpy.lib import format as npy

    header = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}
    return header[npy.read_magic(stored)](stored)


def _npy_header(member: str, stored: Any) -> tuple[int, int]:
    """The length and item size of the ``.npy`` array ``stored`` is positioned at."""
    (length,), _, dtype = _header(stored)
    if dtype.kind != "u" or not dtype.isnative or dtype.itemsize not in _TYPECODES:
        raise ValueError(f"{member}: not unsigned integers of this machine ({dtype})")
    return int(length), int(dtype.itemsize)


def _copy(member: str, stored: Any, view: memoryview) -> None:
    done = 0
    for chunk in _chunks(member, stored, len(view)):
        view[done : done + len(chunk)] = chunk
        done += len(chunk)


def _chunks(member: str, stored: Any, size: int) -> Iterator[bytes]:
    """The next ``size`` bytes of ``stored``, a megabyte at a time."""
    while size:
        chunk = stored.read(min(1 << 20, size))
        if not chunk:
            raise ValueError(f"{member}: the model file ends early")
        yield chunk
        size -= len(chunk)
