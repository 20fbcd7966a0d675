"""The language guess reads py3langid's model itself, keeping only the deployment's
languages (bot.lang.guess._load_model), its state machine mapped from a file: what it
keeps is what py3langid's own load and ``set_languages`` give, array for array, and it
guesses as py3langid does."""

from __future__ import annotations

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

from bot.lang.guess import _load_model

LANGUAGES = ("en", "pl", "ro", "ar", "ur")
TEXTS = (
    "Chciałbym więcej latarni na mojej ulicy",
    "I would like more street lights please",
    "Aș dori mai multe lumini pe stradă",
    "میں اپنی گلی میں مزید روشنی چاہتا ہوں",
    "أريد المزيد من الأضواء في شارعي",
    "Добрий день, я хочу дізнатися більше про опитування",
    "নমস্কার, আমি এই জরিপ সম্পর্কে আরও জানতে চাই",
    "JOIN NORTH 👍 ok",
    "👍",
    "Chciałbym więcej latarni, please, mai multe lumini " * 25,
)


def test_the_model_read_is_py3langids_restricted_to_the_languages() -> None:
    theirs = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    theirs.set_languages(LANGUAGES)
    ptc, pc, classes, nextmove, row, output = _load_model(MODEL_DIR / MODEL_FILE, LANGUAGES)
    assert classes == theirs.nb_classes
    assert ptc.dtype == theirs.nb_ptc.dtype
    assert np.array_equal(ptc, theirs.nb_ptc)
    assert np.array_equal(pc, theirs.nb_pc)
    # The state machine is a file's pages mapped read-only, the same numbers.
    assert isinstance(nextmove, memoryview)
    assert nextmove.readonly
    assert nextmove.format == theirs.tk_nextmove.typecode
    assert nextmove.tobytes() == theirs.tk_nextmove.tobytes()
    assert row == theirs.tk_row
    assert output == theirs.tk_output
    ours = LanguageIdentifier(ptc, pc, classes, nextmove, output, norm_probs=True, tk_row=row)
    for text in TEXTS:
        assert ours.rank(text) == theirs.rank(text)


def test_a_deployment_of_languages_the_model_does_not_know_keeps_them_all() -> None:
    _, _, classes, *_ = _load_model(MODEL_DIR / MODEL_FILE, ["ti"])
    full = LanguageIdentifier.from_model_file(MODEL_FILE)
    assert classes == full.nb_classes
