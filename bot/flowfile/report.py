"""What ``parley flows check`` says about translations and cost, per flow and language.

For each flow and each of the deployment's languages: which texts are not translated,
placeholders and keywords a translation lost (errors), the SMS segments of each message
a resident is sent (a question with its numbered options, and whatever comes before it
in the same reply), the segments of a whole completed flow (fewest and most, over its
paths), and warnings for long sentences and messages over two segments. The bot's own
sentences (the gettext catalogs) are checked the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.pofile import read_po

from bot.channels.segments import as_sent, segments
from bot.engine import Env
from bot.engine.flow import (
    ChoiceQuestion,
    EndStep,
    Flow,
    LanguageQuestion,
    Localized,
    MessageStep,
    Question,
    Step,
)
from bot.engine.runner import render_question
from bot.flowfile.checks import targets
from bot.lang.normalize import key
from bot.lang.phrases import DOMAIN
from bot.lang.words import KEYWORDS, Keyword

LONG_SENTENCE = 20
"""Words in a sentence beyond which it is hard to read in a second language."""
MAX_SEGMENTS = 2
"""Segments beyond which a reply is flagged; the language menu's pages take up to 3."""
MENU_SEGMENTS = 3
MAX_PATHS = 2000

_PLACEHOLDER = re.compile(r"\{[^{}\s]*\}|https?://\S+")
_PERCENT = re.compile(r"%\([a-z_]+\)[sd]")
_SENTENCE_END = re.compile(r"[.!?؟।።۔\n]+")
_KEYWORD_IN_TEXT = {
    keyword: re.compile(rf"\b{KEYWORDS['en'][keyword][0].upper()}\b") for keyword in Keyword
}


@dataclass(frozen=True)
class Note:
    """One finding, shown as ``path:line: [warning: ]what``."""

    path: str
    line: int
    text: str
    error: bool = True

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {'' if self.error else 'warning: '}{self.text}"


@dataclass
class FlowReport:
    flow: Flow
    languages: Sequence[str]
    missing: dict[str, list[str]] = field(default_factory=dict)  # language -> items
    # One row per reply a resident can get: its label, then segments per language.
    rows: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    completed: dict[str, tuple[int, int]] = field(default_factory=dict)  # fewest, most
    notes: list[Note] = field(default_factory=list)


def _texts(flow: Flow) -> Iterator[tuple[Step, str, Localized]]:
    """Every text a resident can be sent from ``flow``, with what to call it."""
    for step in flow.steps:
        match step:
            case MessageStep(text=text) | Question(text=text):
                yield step, f"step '{step.id}'", text
                if isinstance(step, ChoiceQuestion):
                    for option in step.options:
                        yield step, f"step '{step.id}' option '{option.id}'", option.label
            case EndStep(text=Localized() as text):
                yield step, f"step '{step.id}'", text


def _tokens(text: str) -> list[str]:
    return sorted(_PLACEHOLDER.findall(text))


def _keywords_lost(source: str, translation: str, language: str) -> list[str]:
    """Keywords the source tells residents to send (STOP) that the translation lost."""
    lost = []
    folded = key(translation)
    for keyword, pattern in _KEYWORD_IN_TEXT.items():
        if not pattern.search(source):
            continue
        words = (*KEYWORDS["en"][keyword][:1], *KEYWORDS.get(language, {}).get(keyword, ()))
        if not any(key(word) in folded for word in words):
            lost.append(KEYWORDS["en"][keyword][0].upper())
    return lost


def _long_sentences(text: str) -> list[int]:
    return [n for part in _SENTENCE_END.split(text) if (n := len(part.split())) > LONG_SENTENCE]


def check_texts(report: FlowReport) -> None:
    flow = report.flow
    for step, name, text in _texts(flow):
        source = text.texts[flow.language]
        for language in report.languages:
            translated = text.texts.get(language)
            if translated is None:
                report.missing.setdefault(language, []).append(name)
                continue
            if _tokens(translated) != _tokens(source):
                report.notes.append(
                    Note(
                        flow.path,
                        step.line,
                        f"{language}: {name}: placeholders {_tokens(translated)} do not match"
                        f" the {flow.language} text's {_tokens(source)}",
                    )
                )
            for word in _keywords_lost(source, translated, language):
                report.notes.append(
                    Note(
                        flow.path,
                        step.line,
                        f"{language}: {name}: the {flow.language} text tells residents to send"
                        f" {word}, the translation does not",
                    )
                )
            for words in _long_sentences(translated):
                report.notes.append(
                    Note(
                        flow.path,
                        step.line,
                        f"{language}: {name}: a sentence of {words} words; shorter ones"
                        " are easier to read",
                        error=False,
                    )
                )


# -- segments ------------------------------------------------------------------------


def _said(flow: Flow, step: Step, language: str, env: Env) -> str | None:
    """What ``step`` sends a resident in ``language`` (None for steps that send nothing)."""
    match step:
        case Question():
            return render_question(flow, step, language, env)[0]
        case MessageStep(text=text):
            return text.get(language, flow.language)
        case EndStep(text=Localized() as text):
            return text.get(language, flow.language)
    return None


def _replies(flow: Flow) -> list[list[list[Step]]]:
    """Each path through the flow, as the replies a resident gets: the steps whose texts
    go together in one reply (messages, then the question that waits)."""
    paths: list[list[list[Step]]] = []

    def walk(step: Step, replies: list[list[Step]], seen: frozenset[str]) -> None:
        if len(paths) >= MAX_PATHS:
            return
        current = replies[-1]
        if isinstance(step, MessageStep | EndStep | Question):
            current = [*current, step]
        replies = [*replies[:-1], current]
        if isinstance(step, Question):
            replies = [*replies, []]
        following = [t for t, _ in targets(flow, step)]
        if isinstance(step, EndStep) or not following:
            paths.append([reply for reply in replies if reply])
            return
        for target in dict.fromkeys(following):
            if target in seen:  # a loop back: count it once
                paths.append([reply for reply in replies if reply])
                continue
            walk(flow.step(target), replies, seen | {target})

    walk(flow.steps[0], [[]], frozenset({flow.steps[0].id}))
    return paths


def count_segments(report: FlowReport, env: Env) -> None:
    flow = report.flow
    rows: dict[str, dict[str, int]] = {}
    lines: dict[str, int] = {}
    # What each reply sends, by its steps and language: paths share most replies.
    sent: dict[tuple[tuple[str, ...], str], tuple[str, int]] = {}
    shown: dict[tuple[str, str], str] = {}  # (label, language) -> text, for warnings
    totals: dict[str, list[int]] = {language: [] for language in report.languages}
    thanks = {language: env.phrases.text(language, "Thank you!") for language in report.languages}
    for path in _replies(flow):
        sums = dict.fromkeys(report.languages, 0)
        for reply in path:
            label = reply[-1].id
            lines.setdefault(label, reply[-1].line)
            steps = tuple(step.id for step in reply)
            for language in report.languages:
                if (steps, language) not in sent:
                    texts = [t for step in reply if (t := _said(flow, step, language, env))]
                    # an end with no text: the engine thanks the resident
                    text, count = as_sent("\n\n".join(texts or [thanks[language]]), "sms")
                    assert count is not None
                    sent[steps, language] = text, count
                text, count = sent[steps, language]
                rows.setdefault(label, {})[language] = count
                shown[label, language] = text
                sums[language] += count
        for language, total in sums.items():
            totals[language].append(total)
    report.rows = sorted(rows.items(), key=lambda row: lines[row[0]])
    report.completed = {
        language: (min(found), max(found)) for language, found in totals.items() if found
    }
    for label, by_language in report.rows:
        step = flow.step(label)
        limit = MENU_SEGMENTS if isinstance(step, LanguageQuestion) else MAX_SEGMENTS
        for language, count in by_language.items():
            if count > limit:
                found = segments(shown[label, language])
                report.notes.append(
                    Note(
                        flow.path,
                        lines[label],
                        f"{language}: the reply ending at step '{label}' takes {count} SMS"
                        f" segments ({found.units} {found.encoding.value} characters)",
                        error=False,
                    )
                )


def report_flow(flow: Flow, languages: Sequence[str], env: Env) -> FlowReport:
    report = FlowReport(flow, languages)
    check_texts(report)
    count_segments(report, env)
    report.notes.sort(key=lambda note: (note.line, note.text))
    return report


# -- catalogs -----------------------------------------------------------------------


@dataclass
class CatalogReport:
    language: str
    path: str
    sentences: int = 0
    missing: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


def report_catalog(path: Path, language: str, source: str = "en") -> CatalogReport:
    """Missing and fuzzy sentences (errors: a resident would get English) and
    placeholders that differ from the English sentence (errors: the bot would fail)."""
    with path.open("rb") as po:
        catalog = read_po(po, domain=DOMAIN)
    report = CatalogReport(language, str(path))
    for message in catalog:
        if not message.id:
            continue
        report.sentences += 1
        ids = [str(i) for i in (message.id if isinstance(message.id, tuple) else (message.id,))]
        found = message.string
        strings = [str(t) for t in (found if isinstance(found, tuple | list) else (found,))]
        line = message.lineno or 1
        shown = ids[0][:50]
        if language != source and (message.fuzzy or not all(strings)):
            report.missing.append(ids[0])
            what = "marked fuzzy" if message.fuzzy else "not translated"
            report.notes.append(Note(report.path, line, f'"{shown}" is {what}'))
            continue
        expected = sorted(set(_PERCENT.findall(ids[0])) | set(_PERCENT.findall(ids[-1])))
        for string in strings:
            if string and sorted(set(_PERCENT.findall(string))) != expected:
                report.notes.append(
                    Note(
                        report.path,
                        line,
                        f'"{shown}": placeholders {sorted(set(_PERCENT.findall(string)))}'
                        f" do not match {expected}",
                    )
                )
    return report


def report_catalogs(locales: Path, languages: Sequence[str]) -> list[CatalogReport]:
    reports = []
    for language in languages:
        path = locales / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not path.exists():
            report = CatalogReport(language, str(path))
            report.notes.append(
                Note(str(path), 1, "missing: the bot's own sentences would be in English")
            )
            reports.append(report)
            continue
        reports.append(report_catalog(path, language))
    return reports
