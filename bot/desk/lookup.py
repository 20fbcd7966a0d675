"""Finding what staff name: a poll, a broadcast, a panel, a decision, an idea, a flow.
One that does not exist is :class:`~bot.desk.errors.NotFound`, with the latest that do."""

from __future__ import annotations

from bot.desk.context import Desk
from bot.desk.errors import NotFound
from bot.engine import Flow
from bot.store import broadcasts, budgeting, decisions, ideas, panels, polls
from bot.store.broadcasts import Broadcast
from bot.store.budgeting import Bid, Round
from bot.store.decisions import Decision
from bot.store.ideas import Idea
from bot.store.panels import Panel
from bot.store.polls import Poll
from bot.store.sql import Tx

SHOWN = 10
"""How many of the latest ids a NotFound names."""

# What each kind of id is: its table, its id column, and which rows staff can name.
_IDS = {
    "poll": ("polls", "id", "true"),
    "broadcast": ("broadcasts", "id", "kind NOT IN ('reminder', 'results')"),
    "panel": ("panels", "id", "true"),
    "decision": ("decision_sends", "decision_id", "true"),  # one sent, at least
    "idea": ("ideas", "id", "true"),
    "round": ("pb_rounds", "id", "true"),
}


def exists(tx: Tx, kind: str, number: int) -> bool:
    """Whether there is a poll, broadcast, panel, decision or idea with this id."""
    table, column, where = _IDS[kind]
    query = f"SELECT 1 FROM {table} WHERE {where} AND {column} = ? LIMIT 1"
    return tx.execute(query, (number,)).fetchone() is not None


def recent(tx: Tx, kind: str) -> list[str]:
    """The latest ids of a kind (ideas by reference), oldest first; one more than
    :data:`SHOWN`, so that a reader can tell there are more."""
    table, column, where = _IDS[kind]
    query = f"SELECT DISTINCT {column} FROM {table} WHERE {where} ORDER BY {column} DESC LIMIT ?"
    numbers = [int(row[0]) for row in reversed(tx.execute(query, (SHOWN + 1,)).fetchall())]
    if kind == "idea":
        return [ideas.reference(number) for number in numbers]
    return [str(number) for number in numbers]


def round_(desk: Desk, round_id: int) -> Round:
    found = budgeting.get_round(desk.tx, round_id)
    if found is None:
        raise NotFound("round", round_id, recent(desk.tx, "round"))
    return found


def bid(desk: Desk, round_id: int, number: int) -> Bid:
    found = budgeting.bid_by_number(desk.tx, round_id, number)
    if found is None:
        known = [str(b.number) for b in budgeting.bids(desk.tx, round_id)][-SHOWN:]
        raise NotFound("bid", number, known, "bid")
    return found


def poll(desk: Desk, poll_id: int) -> Poll:
    found = polls.get(desk.tx, poll_id)
    if found is None:
        raise NotFound("poll", poll_id, recent(desk.tx, "poll"))
    return found


def broadcast(desk: Desk, broadcast_id: int) -> Broadcast:
    """A broadcast staff made (not a reminder or a poll's result, which Parley makes)."""
    found = broadcasts.get(desk.tx, broadcast_id)
    if found is None or found.kind in (broadcasts.REMINDER, broadcasts.RESULTS):
        raise NotFound("broadcast", broadcast_id, recent(desk.tx, "broadcast"))
    return found


def panel(desk: Desk, panel_id: int) -> Panel:
    found = panels.get(desk.tx, panel_id)
    if found is None:
        raise NotFound("panel", panel_id, recent(desk.tx, "panel"))
    return found


def decision(desk: Desk, decision_id: int) -> Decision:
    """A decision that was recorded and sent."""
    found = decisions.get(desk.tx, decision_id)
    if found is None or not found.sends:
        raise NotFound("decision", decision_id, recent(desk.tx, "decision"))
    return found


def idea(desk: Desk, ref: str) -> Idea:
    """The idea ``ref`` (``ID-4821``) names. To a worker, a flagged idea does not exist
    until an organiser has approved it."""
    idea_id = ideas.idea_id_of(ref)
    found = ideas.get(desk.tx, idea_id) if idea_id is not None else None
    hidden = found is not None and found.flagged and found.status == ideas.NEW
    if found is None or (hidden and not desk.actor.organiser):
        raise NotFound("idea", ref, recent(desk.tx, "idea"))
    return found


def flow(desk: Desk, flow_id: str) -> Flow:
    """A flow from the flow files."""
    found = desk.flows.get(flow_id)
    if found is None:
        raise NotFound("flow", f"'{flow_id}'", sorted(desk.flows))
    return found


def flow_or_poll(desk: Desk, flow_id: str) -> str:
    """A flow's id, or a poll's flow (``poll-3``), checked to exist."""
    number = polls.poll_id_of(flow_id)
    if flow_id in desk.flows or (number is not None and exists(desk.tx, "poll", number)):
        return flow_id
    raise NotFound("flow", f"'{flow_id}'", sorted(desk.flows))
