"""Resident panels chosen by lot, for organisers: invite a seeded sample (stage 1), see
the pool against the quotas, draw the panel within them (stage 2, maximin), tell the
chosen and the others, and put proposals to the members who took their seat."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.civic import panels as panel_work
from bot.civic import sortition
from bot.civic.polls import as_flow, check
from bot.desk import lookup
from bot.desk.broadcasts import Drafted, store_draft
from bot.desk.context import Desk, operation
from bot.desk.errors import Invalid, Refused
from bot.desk.polls import create
from bot.outreach.audience import Audience
from bot.outreach.broadcast import Survey
from bot.store import broadcasts, panels
from bot.store.broadcasts import NewBroadcast
from bot.store.panels import Member, Panel
from bot.store.polls import Poll

PANELS = "resident panels"


@dataclass(frozen=True)
class Invited:
    panel_id: int
    drafted: Drafted  # the invitation, a draft: sent with broadcasts.send


@dataclass(frozen=True)
class PanelView:
    panel: Panel
    members: tuple[Member, ...]  # every volunteer, by volunteer number (never a name)
    quotas: tuple[sortition.Quota, ...]  # the draw's, or those given to compare the pool with
    seated: int  # members who took their seat: the base of a vote's quorum


@dataclass(frozen=True)
class PanelVote:
    poll: Poll
    drafted: Drafted


@operation("panel.invite", organiser=PANELS)
def invite(desk: Desk, name: str, sample: int, seed: int, strata: str | None = None) -> Invited:
    """Stage 1: a seeded random sample (spread over ``strata``, a contact field, in
    proportion) is invited to volunteer through the panel flow; drafted with its preview."""
    if not name.strip():
        raise Invalid("name", "give the panel a name")
    if sample < 1:
        raise Invalid("sample", "invite at least 1 resident")
    flow = desk.flows.get(desk.settings.panel_flow)
    if flow is None:
        raise Refused(f"there is no flow '{desk.settings.panel_flow}' (PARLEY_PANEL_FLOW)")
    panel_id = panels.create(desk.tx, name.strip(), seed, desk.now)
    audience = Audience(sample=sample, seed=seed, strata=strata or None)
    new = NewBroadcast(broadcasts.FLOW, audience.to_json(), flow_id=flow.id)
    drafted = store_draft(desk, new, Survey(flow))
    panels.set_invite(desk.tx, panel_id, drafted.id)
    desk.audit("panel.invite", f"panel {panel_id}", sample=sample, seed=seed, by=strata)
    return Invited(panel_id, drafted)


@operation("panel.list", organiser=PANELS, changes=False)
def listing(desk: Desk) -> list[PanelView]:
    ids = [int(row[0]) for row in desk.tx.execute("SELECT id FROM panels ORDER BY id DESC")]
    return [_view(desk, lookup.panel(desk, panel_id), None) for panel_id in ids]


def _view(desk: Desk, panel: Panel, quotas: Sequence[sortition.Quota] | None) -> PanelView:
    members = tuple(panels.members(desk.tx, panel.id))
    if panel.selected:
        quotas = [sortition.Quota(**q) for q in panel.quotas or []]  # type: ignore[arg-type]
    return PanelView(panel, members, tuple(quotas or ()), panel_work.seated(desk.tx, panel.id))


@operation("panel.show", organiser=PANELS, changes=False)
def show(desk: Desk, panel_id: int, quotas: Sequence[sortition.Quota] | None = None) -> PanelView:
    """The pool by category (against ``quotas`` before the draw); once drawn, each
    volunteer's chance of selection and status."""
    return _view(desk, lookup.panel(desk, panel_id), quotas)


@operation("panel.pool", organiser=PANELS, changes=False)
def pool(desk: Desk, panel_id: int) -> list[Member]:
    """The volunteers a draw chooses from; refused once the panel is drawn."""
    found = lookup.panel(desk, panel_id)
    if found.selected:
        raise Refused(f"panel {panel_id} was drawn already (seed {found.seed})")
    return panels.members(desk.tx, panel_id)


def draw(
    volunteers: Sequence[Member], quotas: Sequence[sortition.Quota], size: int, seed: int
) -> sortition.Draw:
    """Stage 2's lottery, outside any transaction (it takes seconds): in a process of
    its own, so the same seed and volunteers give the same panel. Quotas that cannot
    be met are refused, naming the category."""
    if size < 1:
        raise Invalid("size", "choose at least 1 member")
    try:
        return sortition.draw(panel_work.pool(volunteers), quotas, size, seed)
    except (sortition.Infeasible, sortition.Unavailable) as problem:
        raise Refused(f"panel not drawn: {problem}") from None


@operation("panel.select", organiser=PANELS)
def select(
    desk: Desk,
    panel_id: int,
    volunteers: Sequence[Member],
    quotas: Sequence[sortition.Quota],
    size: int,
    chosen: sortition.Draw,
) -> PanelView:
    """Record the draw (see :func:`draw`) of the volunteers :func:`pool` gave."""
    found = lookup.panel(desk, panel_id)
    if found.selected:
        raise Refused(f"panel {panel_id} was drawn already (seed {found.seed})")
    now_pool = {m.contact_id for m in panels.members(desk.tx, panel_id)}
    if now_pool != {m.contact_id for m in volunteers}:
        raise Refused(f"panel {panel_id}'s volunteers changed during the draw: draw again")
    panel_work.record(desk.tx, panel_id, volunteers, quotas, size, chosen, desk.now)
    desk.audit("panel.select", f"panel {panel_id}", size=size, seed=chosen.seed)
    return _view(desk, lookup.panel(desk, panel_id), None)


@operation("panel.notify", organiser=PANELS)
def notify(desk: Desk, panel_id: int) -> list[int]:
    """Ask the chosen to take their seat and thank the others, now; the broadcasts."""
    found = lookup.panel(desk, panel_id)
    if not found.selected:
        raise Refused(f"panel {panel_id} is not drawn yet")
    sent = panel_work.notify(
        desk.tx, desk.env, desk.settings.panel_seat_flow, panel_id, desk.actor.who, desk.now
    )
    desk.effects.scheduled = True
    desk.audit("panel.notify", f"panel {panel_id}", broadcasts=sent)
    return sent


@operation("panel.vote", organiser=PANELS)
def vote(
    desk: Desk,
    panel_id: int,
    proposal: Mapping[str, str],
    quorum: str = "50%",
    threshold: str = "majority",
    closes_at: datetime | None = None,
) -> PanelVote:
    """Put a proposal (language -> text) to the members who took their seat: yes, no or
    abstain, each vote private. Drafted with its preview; sent with broadcasts.send."""
    lookup.panel(desk, panel_id)
    texts = {code: text.strip() for code, text in proposal.items() if text.strip()}
    if desk.settings.default_language not in texts:
        raise Invalid(
            "proposal", f"give the proposal in {desk.settings.default_language} (the default)"
        )
    try:
        new_poll = panel_work.panel_poll(
            desk.env,
            desk.settings.default_language,
            texts,
            panel_id,
            quorum,
            threshold,
            closes_at,
            desk.actor.who,
        )
    except ValueError as bad:
        raise Invalid("quorum" if "share" in str(bad) else "threshold", str(bad)) from None
    wrong = check(new_poll, desk.now)
    if wrong is not None:
        raise Invalid("closes", f"vote not made: {wrong}")
    seated = panel_work.seated(desk.tx, panel_id)
    if quorum.strip().isdigit() and int(quorum) > seated:
        raise Invalid(
            "quorum",
            f"vote not made: a quorum of {quorum} is more than the {seated} seated",
        )
    poll = create(desk, new_poll)
    audience = Audience(panel=panel_id, panel_status=(panels.ACCEPTED,))
    new = NewBroadcast(broadcasts.POLL, audience.to_json(), flow_id=poll.flow_id, poll_id=poll.id)
    drafted = store_draft(desk, new, Survey(as_flow(poll, desk.env)))
    desk.audit("panel.vote", f"panel {panel_id}", poll=poll.id, quorum=quorum, threshold=threshold)
    return PanelVote(poll, drafted)
