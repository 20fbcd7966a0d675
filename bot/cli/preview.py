"""What the ``parley`` commands share before they send anything: a preview worked out
and undone, the question whether to go ahead (``--yes`` skips it), and staff replies
put in the words of the command line rather than those of a phone."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

T = TypeVar("T")


def dry_run(desk: Any, work: Callable[[Any], T]) -> T:
    """``work(desk)`` for its preview only: everything it wrote is undone."""
    desk.tx.execute("SAVEPOINT preview")
    try:
        return work(desk)
    finally:
        desk.tx.execute("ROLLBACK TO preview")
        desk.tx.execute("RELEASE preview")


def go_ahead(question: str, yes: bool, nothing: str = "Nothing done.") -> bool:
    """Whether to do it: ``--yes``, or the staff member says so at the prompt."""
    if yes or click.confirm(question, default=False):
        return True
    click.echo(nothing)
    return False


def news(desk: Any, since: int) -> list[str]:
    """What the broadcasts made after broadcast ``since`` would send (news for idea
    senders, a panel's invitations): the text, who gets it, in which language, the cost."""
    from bot.english import counted
    from bot.outreach.audience import Audience, select
    from bot.outreach.broadcast import Message, Rendering, Survey, preview
    from bot.store import broadcasts

    lines: list[str] = []
    for made in broadcasts.made_after(desk.tx, since):
        if made.status == "draft":  # previewed by the command that drafted it
            continue
        source = desk.settings.default_language
        content: Any
        if made.texts is not None:
            content = Message(made.texts)
            what = f'The message ({source}): "{made.texts[source]}"'
        else:
            assert made.flow_id is not None
            content = Survey(desk.flows[made.flow_id])
            what = f"The survey '{made.flow_id}'"
        audience = Audience.from_json(made.audience)
        recipients = select(desk.tx, audience, desk.settings.staff.keys())
        rendering = Rendering(content, desk.env, source, desk.now)
        shown = preview(recipients, rendering, desk.settings)
        lines += [f"{what}, to {audience.describe()}:", *shown.lines()]
        if not recipients:
            lines[-len(shown.lines()) :] = [f"  nobody ({counted(0, 'resident')})"]
    return lines


_PHONE = re.compile(
    r"/(ideas|idea|approve|reject|merge|shortlist|results|close|pause|resume|cancel)\b"
)
_HERE = {
    "ideas": "ideas list",
    "idea": "ideas show",
    "approve": "ideas approve",
    "reject": "ideas reject",
    "merge": "ideas merge",
    "shortlist": "ideas shortlist",
}


def as_typed_here(lines: Iterable[str]) -> list[str]:
    """Staff replies name the phone's commands (``/resume 4``); at the terminal they name
    the ``parley`` ones. Lines offering ``/send`` go, and so does a draft's number: the
    terminal asks instead."""
    return [
        _PHONE.sub(
            lambda m: "parley " + _HERE.get(m.group(1), m.group(1)),
            _GO_ON.sub(r"Go on with: /resume \1", _DRAFT.sub("To ", line)),
        )
        for line in lines
        if not line.startswith(("Reply /send", "/approve, /reject"))
    ]


_GO_ON = re.compile(r"/resume (\d+) to go on\.")
_DRAFT = re.compile(r"^Broadcast \d+ \(draft\) to ")  # a draft's number, for /send
