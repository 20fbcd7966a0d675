"""A round's phases: bids in -> screening -> voting -> counted, each begun once, by a job.

Each change runs in one transaction and returns the broadcasts it made (created
"sending", for the caller to write to the outbox): the panel's votes on the bids, the
proposers' news, the ballot, the result. Opt-out, consent, quiet hours and pacing hold
for all of them, as for every broadcast.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.civic import decisions as decision_work
from bot.civic import panels as panel_work
from bot.civic.budgeting.round import (
    proposer_result_text,
    results_texts,
    screening_text,
    shown_language,
)
from bot.civic.polls import close
from bot.engine import Env, Flow
from bot.lang.formats import money
from bot.outreach.audience import Audience
from bot.store import broadcasts, decisions, jobs, polls
from bot.store import budgeting as stored
from bot.store.broadcasts import NewBroadcast
from bot.store.budgeting import Bid, Round
from bot.store.sql import Tx

if TYPE_CHECKING:
    from bot.civic.budgeting import count as counting

log = logging.getLogger(__name__)

JOBS = {"screening": "pb_screening", "voting": "pb_voting", "counted": "pb_counted"}
PHASE_OF_JOB = {kind: phase for phase, kind in JOBS.items()}


class NotReady(ValueError):
    """The round cannot move on yet; the message says why, in staff's words."""


@dataclass(frozen=True)
class World:
    """What a change of phase works with."""

    tx: Tx
    env: Env
    flows: Mapping[str, Flow]
    who: str
    now: datetime


def begin(world: World, round_id: int, phase: str) -> list[int]:
    """Begin ``phase`` of the round now; the broadcasts to write. Raises NotReady."""
    tx = world.tx
    found = stored.get_round(tx, round_id)
    if found is None:
        raise NotReady(f"there is no round {round_id}")
    order = stored.PHASES
    if order.index(phase) != order.index(found.phase) + 1:
        raise NotReady(f"round {round_id} is in its {found.phase} phase, so {phase} cannot begin")
    jobs.drop(tx, JOBS[phase], round_id, world.now)
    made = {"screening": _screening, "voting": _voting, "counted": _close_voting}[phase](
        world, found
    )
    stored.set_phase(tx, round_id, phase)
    log.info("round %s: %s began (%s broadcasts)", round_id, phase, len(made))
    return made


# -- screening ------------------------------------------------------------------------


def _screening(world: World, round_: Round) -> list[int]:
    """Each bid is put to the panel as a panel vote (yes: on the ballot)."""
    if round_.panel_id is None:
        return []  # screened by hand: organisers record each ruling
    made = []
    for bid in stored.bids(world.tx, round_.id, "proposed"):
        if bid.poll_id is None:
            made.append(_put_to_panel(world, round_, bid))
    return made


def proposal(env: Env, round_: Round, bid: Bid, language: str) -> str:
    title = bid.title.get(language) or bid.title[round_.language]
    about = bid.description.get(language) or bid.description.get(round_.language, "")
    return env.phrases.text(
        language,
        "%(round)s, bid %(number)s: %(title)s (%(cost)s, from %(group)s). %(about)s"
        " Should it be on the ballot?",
        round=round_.name,
        number=bid.number,
        title=title,
        cost=money(bid.cost, round_.currency, language),
        group=bid.proposer,
        about=about,
    )


def _put_to_panel(world: World, round_: Round, bid: Bid) -> int:
    assert round_.panel_id is not None
    texts = {
        code: proposal(world.env, round_, bid, code)
        for code in {*world.env.languages, round_.language}
        if code in bid.title or code == round_.language
    }
    new_poll = panel_work.panel_poll(
        world.env,
        round_.language,
        texts,
        round_.panel_id,
        "50%",
        "majority",
        round_.voting_at,
        world.who,
    )
    poll_id = polls.create(world.tx, new_poll, world.now)
    polls.open_poll(world.tx, poll_id)
    stored.update_bid(world.tx, bid.id, {"poll_id": poll_id})
    audience = Audience(panel=round_.panel_id, panel_status=("accepted",))
    return broadcasts.create(
        world.tx,
        NewBroadcast(
            broadcasts.POLL,
            audience.to_json(),
            flow_id=polls.flow_id(poll_id),
            poll_id=poll_id,
            created_by=world.who,
        ),
        "sending",
        world.now,
    )


def screened(tx: Tx, bid: Bid) -> str | None:
    """The panel's ruling on a bid from its closed vote (eligible or ineligible)."""
    if bid.poll_id is None:
        return None
    poll = polls.get(tx, bid.poll_id)
    if poll is None or poll.outcome is None:
        return None
    passed = bool(json.loads(poll.outcome).get("passed"))
    return "eligible" if passed else "ineligible"


def close_panel_votes(world: World, round_: Round) -> None:
    """Close the panel's votes still open, and rule each bid by its vote."""
    for bid in stored.bids(world.tx, round_.id, "proposed"):
        if bid.poll_id is None:
            continue
        poll = polls.get(world.tx, bid.poll_id)
        assert poll is not None
        if poll.status != "closed":
            jobs.drop(world.tx, jobs.CLOSE, poll.id, world.now)
            close(world.tx, poll.id, world.now)
            panel_work.decide(world.tx, poll)
        ruling = screened(world.tx, stored.get_bid(world.tx, bid.id) or bid)
        if ruling is not None:
            stored.update_bid(world.tx, bid.id, {"status": ruling})


# -- voting ---------------------------------------------------------------------------


def _voting(world: World, round_: Round) -> list[int]:
    """Rule every bid, tell proposers, and put the ballot to the round's audience."""
    tx = world.tx
    close_panel_votes(world, round_)
    waiting = stored.bids(tx, round_.id, "proposed")
    if waiting:
        numbers = ", ".join(str(b.number) for b in waiting)
        raise NotReady(f"bids {numbers} are not screened yet (eligible or not)")
    if not stored.bids(tx, round_.id, "eligible"):
        raise NotReady(f"no bid of round {round_.id} is eligible: there is nothing to vote on")
    made = tell_proposers(world, round_)
    ballot = broadcasts.create(
        tx,
        NewBroadcast(
            broadcasts.FLOW, round_.audience, flow_id=round_.flow_id, created_by=world.who
        ),
        "sending",
        world.now,
    )
    stored.set_ballot_broadcast(tx, round_.id, ballot)
    return [*made, ballot]


def tell_proposers(world: World, round_: Round) -> list[int]:
    """Each proposer not told yet hears the panel's ruling on their bid, and why."""
    told = []
    made = []
    for bid in stored.proposer_bids(world.tx, round_.id):
        if bid.told_at is not None or bid.status == "proposed":
            continue
        texts = {
            code: screening_text(
                world.env, round_, bid, shown_language([bid], code, round_.language)
            )
            for code in {*world.env.languages, round_.language}
        }
        made.append(_to_one(world, bid, texts))
        told.append(bid.id)
    stored.mark_told(world.tx, told, world.now)
    return made


def _to_one(world: World, bid: Bid, texts: dict[str, str]) -> int:
    assert bid.proposer_id is not None
    return broadcasts.create(
        world.tx,
        NewBroadcast(
            broadcasts.MESSAGE,
            Audience(contacts=(bid.proposer_id,)).to_json(),
            texts=texts,
            created_by=world.who,
        ),
        "sending",
        world.now,
    )


# -- the count ------------------------------------------------------------------------


def election(tx: Tx, round_: Round) -> counting.Election:
    """The round as the counting rules see it: eligible bids and every ballot."""
    from bot.civic.budgeting import count as counting  # pabutools: imported when counting

    on_ballot = stored.bids(tx, round_.id, "eligible")
    return counting.Election(
        budget=round_.budget,
        projects=tuple(
            counting.Project(str(b.number), b.cost, b.title[round_.language]) for b in on_ballot
        ),
        ballots=tuple(tuple(str(n) for n in b.choice) for b in stored.ballots(tx, round_.id)),
        style="ranking" if round_.style == "ranking" else "approval",
        currency=round_.currency,
        description=round_.name,
        max_length=round_.k,
    )


def election_of(tx: Tx, round_id: int) -> counting.Election | None:
    """The votes of a round whose voting closed and whose count is not stored yet."""
    found = stored.get_round(tx, round_id)
    if found is None or found.phase != "counted" or found.count is not None:
        return None
    return election(tx, found)


def outcome_json(outcome: counting.Outcome) -> dict[str, Any]:
    return {
        "rule": outcome.rule,
        "funded": [
            {
                "id": f.id,
                "cost": f.cost,
                "votes": f.votes,
                "share": None if f.share is None else _share(f.share),
            }
            for f in outcome.funded
        ],
        "cost": outcome.cost,
        "left": outcome.left,
        "votes": dict(outcome.votes),
    }


def _share(share: counting.Share) -> dict[str, Any]:
    """How a project's cost was shared, as JSON (fractions of money as decimals)."""
    return {
        name: value if isinstance(value, bool | int | str) or value is None else float(value)
        for name, value in asdict(share).items()
    }


def _close_voting(world: World, round_: Round) -> list[int]:
    """Voting closes: a ballot from now on is refused. The count is made outside any
    transaction (:func:`counted`), and :func:`send_results` sends it back."""
    if stored.tallies(world.tx, round_.id).ballots == 0:
        log.warning("round %s: voting closed with no ballot", round_.id)
    return []


def waiting_for_count(tx: Tx) -> list[int]:
    """Rounds whose voting closed but whose count is not stored (a restart cut it short)."""
    rows = tx.execute("SELECT id FROM pb_rounds WHERE phase = 'counted' AND count IS NULL")
    return [int(row[0]) for row in rows]


def counted(votes: counting.Election) -> tuple[counting.Outcome, counting.Outcome]:
    """Both rules' outcomes: pure, slow on a large round; run it in a process of its own."""
    from bot.civic.budgeting import count as counting  # pabutools: imported when counting

    return counting.both(votes)


def send_results(
    world: World, round_id: int, greedy: counting.Outcome, mes: counting.Outcome
) -> list[int]:
    """Store the count and send the result back: to every voter, as the round's decision
    ("you said, we did"), and to each proposer about their bid. Once: a round counted
    already is left as it is."""
    tx = world.tx
    round_ = stored.get_round(tx, round_id)
    if round_ is None or round_.count is not None or round_.phase != "counted":
        return []
    stored.set_count(tx, round_.id, {"greedy": outcome_json(greedy), "mes": outcome_json(mes)})
    deciding = mes if round_.rule == "mes" else greedy
    funded = [int(f.id) for f in deciding.funded]
    bids = stored.bids(tx, round_.id, "eligible")
    texts = results_texts(world.env, round_, bids, funded, deciding.left)
    made = decision_work.record(
        tx,
        world.env,
        world.flows,
        round_.language,
        "agreed",
        {round_.language: texts[round_.language]},
        [f"pb:{round_.id}"],
        world.who,
        world.now,
    )
    assert made.broadcast.texts is not None
    heading = {  # heading and text in one language, never half-translated
        code: decision_work.heading(
            world.env, shown_language(bids, code, round_.language), "agreed"
        )
        + "\n"
        + text
        for code, text in texts.items()
    }
    result = NewBroadcast(
        broadcasts.MESSAGE,
        made.broadcast.audience,
        texts=heading,
        created_by=world.who,
    )
    result_id = broadcasts.create(tx, result, "sending", world.now)
    decisions.add_send(
        tx,
        made.decision_id,
        "agreed",
        {round_.language: texts[round_.language]},
        result_id,
        world.now,
    )
    stored.set_decision(tx, round_.id, made.decision_id)
    sent = [result_id]
    votes = deciding.votes
    for bid in bids:
        if bid.proposer_id is None:
            continue
        news = {
            code: proposer_result_text(
                world.env,
                round_,
                bid,
                bid.number in funded,
                votes.get(str(bid.number), 0),
                shown_language([bid], code, round_.language),
            )
            for code in {*world.env.languages, round_.language}
        }
        sent.append(_to_one(world, bid, news))
    return sent
