"""What the ``parley`` commands share before they send anything: the question whether
to go ahead (``--yes`` skips it), and the news a change would send residents (worked out
inside :func:`bot.desk.rehearse`, then undone)."""

from __future__ import annotations

from typing import Any, TypeVar

import click

from bot import staff_text
from bot.desk import Desk
from bot.english import counted

T = TypeVar("T")


def go_ahead(question: str, yes: bool, nothing: str = "Nothing done.") -> bool:
    """Whether to do it: ``--yes``, or the staff member says so at the prompt."""
    if yes or click.confirm(question, default=False):
        return True
    click.echo(nothing)
    return False


def news(desk: Desk, since: int) -> list[str]:
    """What the broadcasts made after broadcast ``since`` would send (news for idea
    senders, a panel's invitations): the text, who gets it, in which language, the cost."""
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
        shown = staff_text.preview(preview(recipients, rendering, desk.settings))
        lines += [f"{what}, to {audience.describe()}:", *shown]
        if not recipients:
            lines[-len(shown) :] = [f"  nobody ({counted(0, 'resident')})"]
    return lines
