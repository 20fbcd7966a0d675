"""``advance``: one turn of a conversation, as a pure function.

Given a flow, the resident's session, what happened and the time, return the new
session and the events the host must act on. No I/O, no clock, no randomness: the same
inputs always give the same turn, which is what makes golden tests and replays possible.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, TypeVar

from bot.engine import ballot
from bot.engine.answers import Parsed, Problem, parse, parse_choice
from bot.engine.env import Env
from bot.engine.events import (
    AnswerRecorded,
    Button,
    ButtonKind,
    ContactChanged,
    EndReason,
    FlowEnded,
    InEvent,
    MessageKind,
    MessageOut,
    OutEvent,
    Reply,
    Resume,
    Start,
)
from bot.engine.flow import (
    BallotQuestion,
    BranchStep,
    ChoiceQuestion,
    EndStep,
    Flow,
    LanguageQuestion,
    Localized,
    MessageStep,
    NumberQuestion,
    OnFail,
    Question,
    ScaleQuestion,
    SetStep,
    Step,
    TextQuestion,
    Value,
    YesNoQuestion,
)
from bot.engine.session import Session
from bot.lang.formats import listing
from bot.lang.normalize import key

_T = TypeVar("_T")

LANGUAGE_FIELD = "language"
MAX_STEPS_PER_TURN = 500
"""A guard against loops of steps that never wait; flow checks reject such loops."""

MENU_PAGE_UNITS = 3 * 67
"""The most UTF-16 units one page of the language menu takes: three SMS segments even in
UCS-2, which every menu with a non-Latin name needs. Longer menus are paged. Each line
is counted one unit longer, for the direction mark a line of another script may get."""

NEXT_PAGE = "0"


class Rendered(NamedTuple):
    """A question as sent: ``text`` for a text message (SMS), ``buttons`` and what goes
    beside them for a channel that shows buttons (Telegram)."""

    text: str
    buttons: tuple[Button, ...]
    beside_buttons: str | None


@dataclass(frozen=True)
class Turn:
    session: Session
    events: tuple[OutEvent, ...] = field(default=())

    @property
    def messages(self) -> tuple[MessageOut, ...]:
        return tuple(e for e in self.events if isinstance(e, MessageOut))


def advance(
    flow: Flow, session: Session | None, event: InEvent, now: datetime, env: Env | None = None
) -> Turn:
    """Play one turn. ``session`` is None only for :class:`Start`."""
    env = env or Env()
    turn = _Turn(flow, env, now)
    match event:
        case Start(language=language, answers=known):
            start = Session(
                flow_id=flow.id,
                language=language,
                started_at=now,
                updated_at=now,
                answers=dict(known),
            )
            return turn.run_from(start, 0)
        case Resume():
            if session is None or session.ended or session.step_id is None:
                raise ValueError("only a waiting session can be resumed")
            return turn.ask(session.evolve(updated_at=now), flow.step(session.step_id))
        case Reply(text=text):
            if session is None or session.ended or session.step_id is None:
                raise ValueError("only a waiting session takes replies")
            return turn.reply(session.evolve(updated_at=now), text)


class _Turn:
    """Collects the events of one turn while walking the flow."""

    def __init__(self, flow: Flow, env: Env, now: datetime) -> None:
        self.flow = flow
        self.env = env
        self.now = now
        self.events: list[OutEvent] = []

    # -- entry points ------------------------------------------------------------------

    def reply(self, session: Session, text: str) -> Turn:
        step = self.flow.step(session.step_id or "")
        assert isinstance(step, Question)
        if isinstance(step, BallotQuestion):
            return self.ballot_reply(session, step, text)
        if isinstance(step, LanguageQuestion) and self.wants_next_page(step, session, text):
            pages = len(self.language_pages(step, session.language))
            return self.ask(session, step, page=(session.page + 1) % pages)
        result = self.parse(step, text, session.language)
        if isinstance(result, Parsed):
            session = self.record(session, step, result.value, text)
            return self.run_from(session, self.next_position(step))
        tries = session.tries + 1
        if tries < (step.attempts or self.flow.attempts):
            self.say(self.hint(step, result, session.language), MessageKind.HINT, step)
            return self.finish(session.evolve(tries=tries))
        if (step.on_fail or self.flow.on_fail) is OnFail.END:
            self.notice(
                session.language, "Sorry, we could not understand. Send any message to start again."
            )
            return self.end(session, EndReason.FAILED)
        self.notice(session.language, "Let's skip this question.")
        return self.run_from(session.evolve(tries=0), self.next_position(step))

    def ask(self, session: Session, step: Step, page: int = 0) -> Turn:
        assert isinstance(step, Question)
        if isinstance(step, BallotQuestion):
            return self.ask_ballot(session, step, page)
        text, buttons, beside = self.render_question(step, session.language, page)
        self.say(text, MessageKind.QUESTION, step, buttons, beside)
        return self.finish(session.evolve(step_id=step.id, tries=0, page=page))

    def run_from(self, session: Session, position: int) -> Turn:
        for _ in range(MAX_STEPS_PER_TURN):
            if position >= len(self.flow.steps):
                return self.end(session, EndReason.COMPLETED)
            step = self.flow.steps[position]
            match step:
                case Question():
                    return self.ask(session, step)
                case MessageStep(text=text):
                    self.say(self.localize(text, session.language), MessageKind.TEXT, step)
                case SetStep(field=name, value=value):
                    session = self.change_contact(session, name, value)
                case BranchStep():
                    target = self.branch(step, session.answers)
                    if target is None:
                        return self.end(session, EndReason.COMPLETED)
                    position = self.flow.position(target)
                    continue
                case EndStep(text=text, then=then):
                    if text is not None:
                        self.say(self.localize(text, session.language), MessageKind.TEXT, step)
                    return self.end(session, EndReason.COMPLETED, then)
            position = self.next_position(step)
        self.notice(session.language, "Sorry, something went wrong. Please try again later.")
        return self.end(session, EndReason.FAILED)

    # -- pieces ----------------------------------------------------------------------

    def finish(self, session: Session) -> Turn:
        return Turn(session, tuple(self.events))

    def end(self, session: Session, reason: EndReason, then: str | None = None) -> Turn:
        if reason is EndReason.COMPLETED and then is None and not self.has_message():
            self.notice(session.language, "Thank you!")
        self.events.append(FlowEnded(reason, then))
        return self.finish(session.evolve(step_id=None, tries=0, ended=True))

    def has_message(self) -> bool:
        return any(isinstance(e, MessageOut) for e in self.events)

    def next_position(self, step: Step) -> int:
        if step.goto is not None:
            return self.flow.position(step.goto)
        return self.flow.position(step.id) + 1

    def branch(self, step: BranchStep, answers: Mapping[str, Value]) -> str | None:
        """The step a branch leads to; None when it falls off the end of the flow."""
        answer = answers.get(step.on)
        if answer is not None:
            for case in step.cases:
                if _case_matches(case.values, case.minimum, case.maximum, answer):
                    return case.goto
        if step.otherwise is not None:
            return step.otherwise
        following = self.flow.position(step.id) + 1
        if following < len(self.flow.steps):
            return self.flow.steps[following].id
        return None

    def record(self, session: Session, step: Question, value: Value, raw: str) -> Session:
        self.events.append(AnswerRecorded(step.id, value, raw))
        session = session.evolve(answers={**session.answers, step.id: value}, tries=0)
        if isinstance(step, LanguageQuestion):
            return self.change_contact(session, LANGUAGE_FIELD, str(value))
        if step.field is not None:
            stored = " ".join(value) if isinstance(value, list) else str(value)
            return self.change_contact(session, step.field, stored)
        return session

    def change_contact(self, session: Session, name: str, value: str) -> Session:
        self.events.append(ContactChanged(name, value))
        if name == LANGUAGE_FIELD and value in self.env.languages:
            return session.evolve(language=value)
        return session

    # -- language --------------------------------------------------------------------

    def localize(self, text: Localized, language: str) -> str:
        return text.get(language, self.flow.language)

    def phrase(self, language: str, message: str, **params: object) -> str:
        return self.env.phrases.text(language, message, **params)

    def say(
        self,
        text: str,
        kind: MessageKind,
        step: Step | None = None,
        buttons: tuple[Button, ...] = (),
        beside_buttons: str | None = None,
        redraw: bool = False,
    ) -> None:
        self.events.append(
            MessageOut(text, kind, step.id if step else None, buttons, beside_buttons, redraw)
        )

    def notice(self, language: str, message: str) -> None:
        self.say(self.phrase(language, message), MessageKind.NOTICE)

    def question_language(self, step: Question, language: str) -> str:
        """``language`` if the whole question (text and every option) is translated into
        it, else the flow's own: a resident never gets a half-translated question."""
        texts = [step.text]
        if isinstance(step, ChoiceQuestion):
            texts += [option.label for option in step.options]
        if all(language in text.texts for text in texts):
            return language
        return self.flow.language

    def choices(self, step: Question, language: str, first: str | None = None) -> list[str] | None:
        """The labels a question numbers, or None for questions answered in words. The
        language menu lists ``first`` (the resident's language) first, as :meth:`parse`
        reads it, even when the question is shown in the flow's language."""
        match step:
            case ChoiceQuestion(options=options):
                return [self.localize(o.label, language) for o in options]
            case LanguageQuestion():
                menu = self.env.language_menu(first or language)
                return [self.env.languages[o.id].own for o in menu.options]
            case YesNoQuestion():
                return [self.phrase(language, "Yes"), self.phrase(language, "No")]
        return None

    def memo(self, memo_key: tuple[object, ...], compute: Callable[[], _T]) -> _T:
        """A rendering of this flow, computed once per env (renderings are pure)."""
        # The memo holds the env itself, so its id cannot be reused by another env.
        full_key = (*memo_key, id(self.env))
        found = self.flow.rendered.get(full_key)
        if found is None or found[0] is not self.env:
            found = self.flow.rendered[full_key] = (self.env, compute())
        value: _T = found[1]
        return value

    def render_question(self, step: Question, language: str, page: int = 0) -> Rendered:
        return self.memo(
            (step.id, language, page), lambda: self._render_question(step, language, page)
        )

    def shown(self, step: Question, resident: str) -> tuple[str, str, list[str] | None]:
        """The language a question is shown in, its text and the labels it numbers."""
        language = self.question_language(step, resident)
        return language, self.localize(step.text, language), self.choices(step, language, resident)

    def _render_question(self, step: Question, language: str, page: int) -> Rendered:
        if isinstance(step, BallotQuestion):
            return self.ballot_screen(step, self.ballot_language(step, language), (), page)
        return self._render_choices(step, language, page)

    def _render_choices(self, step: Question, language: str, page: int) -> Rendered:
        """The numbered list for a text message; for buttons, one screen of them (every
        language at once, no pages), ticks and a Done button for several answers, and
        the question without the list the buttons repeat."""
        resident = language
        language, prompt, labels = self.shown(step, resident)
        if labels is not None:
            every = list(enumerate(labels, 1))
            numbered = every
            extra: list[tuple[str, str]] = []
            if isinstance(step, LanguageQuestion):
                pages = self.language_pages(step, resident)
                numbered = [every[i] for i in pages[page % len(pages)]]
                if len(pages) > 1:
                    extra.append((NEXT_PAGE, self.more_languages(language)))
            lines = [prompt, *(f"{n}. {label}" for n, label in numbered)]
            lines += [f"{n}. {label}" for n, label in extra]
            if isinstance(step, ChoiceQuestion) and step.multiple:
                lines.append(self.phrase(language, "You can choose more than one, like: 1 3"))
                done = self.phrase(language, "Done")
                ticks = tuple(Button(label, str(n), ButtonKind.TOGGLE) for n, label in every)
                tick_them = self.phrase(
                    language, "Tick one or more, then press %(done)s.", done=done
                )
                return Rendered(
                    "\n".join(lines),
                    (*ticks, Button(done, "", ButtonKind.DONE)),
                    f"{prompt}\n{tick_them}",
                )
            buttons = tuple(Button(label, str(n)) for n, label in every)
            return Rendered("\n".join(lines), buttons, prompt)
        if isinstance(step, ScaleQuestion):
            numbers = range(step.low, step.high + 1)
            return Rendered(prompt, tuple(Button(str(n), str(n)) for n in numbers), None)
        return Rendered(prompt, (), None)

    # -- a budgeting ballot (bot.engine.ballot) ------------------------------------------

    def ballot_language(self, step: BallotQuestion, language: str) -> str:
        """The resident's language if the ballot and every project are in it, else the
        language the projects were written in: never a half-translated list."""
        texts = [step.text, *(item.title for item in step.items)]
        return language if all(language in text.texts for text in texts) else step.language

    def ballot_screen(
        self, step: BallotQuestion, language: str, chosen: Sequence[str], page: int
    ) -> Rendered:
        """One page of the numbered list (SMS); the projects as buttons, ticked, with the
        running total beside them (Telegram)."""
        prompt = (
            self.localize(step.text, language) + "\n" + ballot.instruction(step, language, self.env)
        )
        ranges = self.memo(
            (step.id, language, "ballot-pages"),
            lambda: ballot.pages(step, prompt, language, self.env),
        )
        shown = ranges[page % len(ranges)]
        text = ballot.page_text(step, prompt, ranges, page, language, self.env)
        on_buttons = None if len(step.items) <= ballot.BUTTONS_AT_ONCE else shown
        return Rendered(
            text,
            ballot.buttons(step, chosen, on_buttons, language, self.env),
            ballot.screen_text(step, prompt, chosen, language, self.env),
        )

    def ask_ballot(
        self, session: Session, step: BallotQuestion, page: int = 0, redraw: bool = False
    ) -> Turn:
        language = self.ballot_language(step, session.language)
        chosen = _chosen(session, step)
        text, keys, beside = self.ballot_screen(step, language, chosen, page)
        if chosen and not redraw:  # a ballot cast before, asked again to change it
            text = ballot.summary(step, chosen, language, self.env) + "\n\n" + text
        self.say(text, MessageKind.QUESTION, step, keys, beside, redraw)
        return self.finish(session.evolve(step_id=step.id, tries=0, page=page))

    def ballot_reply(self, session: Session, step: BallotQuestion, text: str) -> Turn:
        """A reply to a ballot: never given up on, never losing what was chosen."""
        env = self.env
        language = self.ballot_language(step, session.language)
        chosen = _chosen(session, step)
        action = ballot.read(step, text, language, env, also=session.language)
        new: list[str]
        match action:
            case ballot.NextPage():
                return self.ask_ballot(session, step, session.page + 1, redraw=True)
            case ballot.Describe(id=item):
                self.say(ballot.described(step, item, language, env), MessageKind.TEXT, step)
                return self.finish(session)
            case ballot.Refused(hint=hint):
                return self.ballot_hint(session, step, hint, chosen, language)
            case ballot.Cast():
                if not chosen:
                    first = self.phrase(language, "Choose at least one project first.")
                    return self.ballot_hint(session, step, first, chosen, language)
                self.say(ballot.cast(step, chosen, language, env), MessageKind.NOTICE)
                session = self.record(session, step, chosen, text)
                return self.run_from(session, self.next_position(step))
            case ballot.Choose(ids=ids):
                new = list(ids)
            case ballot.Toggle(id=item):
                new = ballot.toggled(chosen, item)
            case ballot.Remove(id=item):
                new = [i for i in chosen if i != item]
        new = ballot.ordered(step, new)
        wrong = ballot.problem(step, new, language, env)
        if wrong is not None:
            return self.ballot_hint(session, step, wrong, chosen, language)
        session = session.evolve(answers={**session.answers, ballot.draft_key(step.id): new})
        _, keys, beside = self.ballot_screen(step, language, new, session.page)
        said = (
            ballot.confirm(step, new, language, env)
            if new
            else self.phrase(language, "Nothing is chosen now.")
        )
        self.say(said, MessageKind.QUESTION, step, keys, beside, redraw=True)
        return self.finish(session)

    def ballot_hint(
        self,
        session: Session,
        step: BallotQuestion,
        hint: str,
        chosen: Sequence[str],
        language: str,
    ) -> Turn:
        kept = ballot.still(step, chosen, language, self.env)
        self.say(f"{hint} {kept}".strip(), MessageKind.HINT, step)
        return self.finish(session)

    def language_pages(self, step: LanguageQuestion, language: str) -> list[range]:
        """The language menu split into pages of at most :data:`MENU_PAGE_UNITS`."""
        return self.memo((step.id, language, "pages"), lambda: self._pages(step, language))

    def _pages(self, step: LanguageQuestion, resident: str) -> list[range]:
        language, prompt, labels = self.shown(step, resident)
        lines = [f"{n}. {label}" for n, label in enumerate(labels or [], 1)]
        if _units(prompt) + sum(_units(line) + 2 for line in lines) <= MENU_PAGE_UNITS:
            return [range(len(lines))]
        more = f"{NEXT_PAGE}. {self.more_languages(language)}"
        fixed = _units(prompt) + 2 + _units(more)
        pages: list[range] = []
        start, used = 0, fixed
        for index, line in enumerate(lines):
            if index > start and used + _units(line) + 2 > MENU_PAGE_UNITS:
                pages.append(range(start, index))
                start, used = index, fixed
            used += _units(line) + 2
        pages.append(range(start, len(lines)))
        return pages

    def more_languages(self, language: str) -> str:
        return self.phrase(language, "More languages")

    def wants_next_page(self, step: LanguageQuestion, session: Session, text: str) -> bool:
        """ "0" or "More languages" (in the resident's language or English) on a paged menu."""
        if len(self.language_pages(step, session.language)) < 2:
            return False
        asked = key(text)
        more = (self.more_languages(session.language), self.more_languages("en"), "more")
        return asked == NEXT_PAGE or asked in {key(word) for word in more}

    def parse(self, step: Question, text: str, language: str) -> Parsed | Problem:
        if isinstance(step, LanguageQuestion):
            menu = self.env.language_menu(language)
            return parse_choice(menu.options, menu.words, False, text, (language,))
        return parse(step, text, (language,))

    def hint(self, step: Question, problem: Problem, language: str) -> str:
        if problem is Problem.EMPTY and not isinstance(step, TextQuestion | NumberQuestion):
            problem = Problem.NOT_UNDERSTOOD
        match step, problem:
            case _, Problem.EMPTY:
                return self.phrase(language, "Please send your answer as a text message.")
            case TextQuestion(max_length=limit), _:
                return self.env.phrases.plural(
                    language,
                    "Please send a shorter answer, up to %(num)d character.",
                    "Please send a shorter answer, up to %(num)d characters.",
                    limit,
                    num=limit,
                )
            case YesNoQuestion(), _:
                return self.phrase(
                    language,
                    "Please reply 1 for %(yes)s or 2 for %(no)s.",
                    yes=self.phrase(language, "Yes"),
                    no=self.phrase(language, "No"),
                )
            case ChoiceQuestion(options=options), Problem.EXCLUSIVE:
                shown = self.question_language(step, language)
                alone = [self.localize(o.label, shown) for o in options if o.exclusive]
                return self.phrase(
                    language,
                    'You cannot choose "%(option)s" together with other answers.',
                    option=listing(alone, shown),
                )
            case ChoiceQuestion(multiple=True, options=options), _:
                return self.phrase(
                    language,
                    "Please reply with one or more numbers from 1 to %(high)s, like: 1 3",
                    high=len(options),
                )
            case ChoiceQuestion(options=options), _:
                return self._range_hint(language, 1, len(options))
            case LanguageQuestion(), _:
                return self._range_hint(language, 1, len(self.env.languages))
            case ScaleQuestion(low=low, high=high), _:
                return self._range_hint(language, low, high, fraction=problem is Problem.NOT_WHOLE)
            case NumberQuestion(minimum=low, maximum=high, decimals=decimals), _:
                return self._range_hint(
                    language, low, high, not decimals, problem is Problem.NOT_WHOLE
                )
        raise AssertionError(f"no hint for {type(step).__name__}")  # pragma: no cover

    def _range_hint(
        self,
        language: str,
        low: float | None,
        high: float | None,
        whole: bool = True,
        fraction: bool = False,
    ) -> str:
        """The range a reply must be in; said to be whole numbers when the resident sent
        a fraction ("2.5" to a question from 1 to 5, which 2.5 is within)."""
        if fraction and low is not None and high is not None:
            return self.phrase(
                language,
                "Please reply with a whole number from %(low)s to %(high)s.",
                low=_number(low),
                high=_number(high),
            )
        if fraction and low is not None:
            return self.phrase(
                language, "Please reply with a whole number of %(low)s or more.", low=_number(low)
            )
        if fraction and high is not None:
            return self.phrase(
                language, "Please reply with a whole number up to %(high)s.", high=_number(high)
            )
        if low is not None and high is not None:
            return self.phrase(
                language,
                "Please reply with a number from %(low)s to %(high)s.",
                low=_number(low),
                high=_number(high),
            )
        if low is not None:
            return self.phrase(
                language, "Please reply with a number of %(low)s or more.", low=_number(low)
            )
        if high is not None:
            return self.phrase(
                language, "Please reply with a number up to %(high)s.", high=_number(high)
            )
        if whole:
            return self.phrase(language, "Please reply with a whole number, like: 3")
        return self.phrase(language, "Please reply with a number, like: 3")


def _chosen(session: Session, step: BallotQuestion) -> list[str]:
    """The ballot's choice so far: ids of projects still on it, in order."""
    saved = session.answers.get(ballot.draft_key(step.id)) or []
    known = {item.id for item in step.items}
    return [str(i) for i in saved if str(i) in known] if isinstance(saved, list) else []


def _units(text: str) -> int:
    """UTF-16 code units: what a UCS-2 SMS counts."""
    return len(text.encode("utf-16-le")) // 2


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _case_matches(
    values: tuple[str | int | float, ...],
    minimum: float | None,
    maximum: float | None,
    answer: Value,
) -> bool:
    if isinstance(answer, list):
        return any(_case_matches(values, minimum, maximum, item) for item in answer)
    if values and answer not in values and str(answer) not in {str(v) for v in values}:
        return False
    if minimum is not None or maximum is not None:
        if isinstance(answer, str):
            return False
        if minimum is not None and answer < minimum:
            return False
        if maximum is not None and answer > maximum:
            return False
    return bool(values) or minimum is not None or maximum is not None


def render_question(
    flow: Flow, step: Question, language: str, env: Env | None = None, page: int = 0
) -> Rendered:
    """A question as the resident gets it in ``language``: text, numbered options, buttons."""
    return _Turn(flow, env or Env(), datetime.min).render_question(step, language, page)
