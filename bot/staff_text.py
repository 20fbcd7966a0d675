"""What the text fronts (phone commands and the ``parley`` command) show staff: the
desk's data put into plain English lines. The staff web renders the same data with its
templates."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from bot.civic import ideas
from bot.civic.panels import Outcome, pool_rows
from bot.civic.polls import Results, Tally
from bot.civic.results import ALL, Report, Summary
from bot.civic.sortition import Quota
from bot.desk.ideas import IdeaView
from bot.english import counted, local_time, table
from bot.outreach.audience import named
from bot.outreach.broadcast import Preview
from bot.store import broadcasts
from bot.store import panels as stored_panels
from bot.store.broadcasts import Broadcast
from bot.store.decisions import Decision, Reach, Send
from bot.store.ideas import Idea, reference
from bot.store.panels import Member, Panel
from bot.store.polls import Poll

# -- broadcasts and polls ---------------------------------------------------------------


def what(found: Broadcast) -> str:
    """What a broadcast carries, in a few words: ``poll 3``, ``survey 'priorities'``."""
    return {
        broadcasts.MESSAGE: "message",
        broadcasts.FLOW: f"survey '{found.flow_id}'",
        broadcasts.POLL: f"poll {found.poll_id}",
        broadcasts.REMINDER: f"reminder of {found.parent_id}",
        broadcasts.RESULTS: f"result of poll {found.poll_id}",
    }.get(found.kind, found.kind)


def preview(shown: Preview) -> list[str]:
    """Who gets a broadcast, in which language, at what cost and how fast."""
    out = [counted(shown.recipients, "resident")]
    for (channel, language), count in sorted(shown.by_channel_language.items()):
        out.append(f"  {channel:<9} {language:<4} {count}")
    if shown.total_segments:
        per = ", ".join(f"{lang} {n}" for lang, n in sorted(shown.segments_per_sms.items()))
        out.append(
            f"SMS: {counted(shown.total_segments, 'segment')} ({per} per message),"
            f" about {shown.cost:.2f} {shown.currency}"
        )
    if shown.fallback_languages:
        out.append(
            "No translation for: "
            + ", ".join(shown.fallback_languages)
            + " (they get the source text)"
        )
    minutes, seconds = divmod(round(shown.seconds), 60)
    out.append(f"Sending takes about {minutes} min {seconds} s at the configured rates")
    return out


def poll(made: Poll, timezone: ZoneInfo) -> list[str]:
    """A poll: its number, question and options, and how it runs."""
    lines = [f"Poll {made.id}: {made.question[made.language]}"]
    lines += [
        f"{n}. {option.texts[made.language]}" for n, option in enumerate(made.options, start=1)
    ]
    other = sorted(set(made.question) - {made.language})
    notes = ["several answers allowed" if made.multiple else "one answer each"]
    if other:
        notes.append("also in " + ", ".join(other))
    if made.closes_at is not None:
        notes.append("closes " + local_time(made.closes_at, timezone))
    notes.append(
        {
            "send": "result sent to voters",
            "public": "result public after close",
            "private": "result kept private",
        }[made.results]
    )
    return [*lines, "(" + "; ".join(notes) + ")"]


POLL_STATES = {"draft": "not sent yet", "open": "open, live", "closed": "closed"}


def poll_results(found: Results) -> list[str]:
    """A poll's counts (labels in its source language), overall and per group."""
    made = found.poll
    out = [f"Poll {made.id} ({POLL_STATES[made.status]}): {made.question[made.language]}"]
    out += _tally(made, found.overall, "  ")
    for group, tally in sorted(found.groups.items()):
        out.append(f"{found.by} = {group}: {counted(tally.voters, 'voter')}")
        out += _tally(made, tally, "    ")
    if made.panel_id is not None:
        out.append(f"Panel {made.panel_id} vote: quorum {made.quorum}, threshold {made.threshold}.")
        if made.outcome is not None:
            out += outcome(Outcome.from_json(made.outcome))
    return out


def _tally(made: Poll, tally: Tally, indent: str) -> list[str]:
    lines = [
        f"{indent}{n}. {option.texts[made.language]}: {tally.counts.get(option.id, 0)}"
        f" ({tally.percent(option.id)}%)"
        for n, option in enumerate(made.options, start=1)
    ]
    lines.append(f"{indent}{counted(tally.voters, 'voter')}")
    return lines


def outcome(found: Outcome) -> list[str]:
    """Whether a panel vote met its quorum and threshold, and passed."""
    decisive = found.yes + found.no
    share = f"{found.yes} of {decisive} yes" if decisive else "no yes/no"
    return [
        f"Members {found.members}: yes {found.yes}, no {found.no}, abstain {found.abstain}.",
        f"Quorum {found.quorum} ({counted(found.needed, 'vote')}):"
        f" {'met' if found.quorum_met else 'NOT met'} ({found.voted} voted).",
        f"Threshold {found.threshold}: {'met' if found.threshold_met else 'NOT met'} ({share}).",
        "PASSED." if found.passed else "NOT PASSED.",
    ]


def report(found: Report) -> list[str]:
    """A survey's (or a poll's) questions, each as a table of options."""
    out = [found.title]
    for one in found.summaries:
        out += ["", *summary(one, found.by)]
    if found.notes:
        out += ["", *found.notes]
    return out


def summary(one: Summary, by: str | None) -> list[str]:
    """One question: an option per row; all, then each group, as columns."""
    groups = sorted(one.groups)
    names = [f"{n}. {label}" for n, label in enumerate(one.labels, start=1)]
    width = max(len(name) for name in [*names, "answered"])
    heads = [ALL, *(f"{by}={g}" for g in groups)] if by else [ALL]
    cells = [[f"{count} ({one.percent(count)}%)" for count in one.counts]]
    totals = [str(one.answered)]
    for group in groups:
        answered, counts = one.groups[group]
        cells.append([f"{count} ({one.percent(count, answered)}%)" for count in counts])
        totals.append(str(answered))
    widths = [
        max(len(h), *(len(c) for c in column), 8) for h, column in zip(heads, cells, strict=True)
    ]
    out = [f"{one.question_id}: {one.question}"]
    out.append(
        " " * width + "  " + "  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True))
    )
    for row, name in enumerate(names):
        values = "  ".join(column[row].rjust(w) for column, w in zip(cells, widths, strict=True))
        out.append(f"{name.ljust(width)}  {values}")
    sums = "  ".join(t.rjust(w) for t, w in zip(totals, widths, strict=True))
    out.append(f"{'answered'.ljust(width)}  {sums}")
    return out


# -- ideas ----------------------------------------------------------------------------


def idea(found: Idea) -> str:
    """An idea as its reference, its facts and its (redacted) text, in two lines."""
    facts = [found.status, found.category or "no category", found.area or "no area", found.language]
    if found.flagged:
        facts.insert(1, "FLAGGED " + "/".join(found.pii))
    return f"{found.reference} " + " · ".join(facts) + f"\n  {ideas.label(found)}"


def idea_in_full(shown: IdeaView) -> list[str]:
    """One idea as ``/idea`` and ``parley ideas show`` give it: its lines, the text as
    sent when it was flagged (for organisers), and what became of it."""
    found = shown.idea
    lines = [idea(found)]
    if shown.as_sent is not None:
        lines.append("Flagged as it arrived. As sent (do not share): " + shown.as_sent)
    if found.reason:
        lines.append(f"Reason: {found.reason}")
    if found.merged_into:
        lines.append(f"Merged into {reference(found.merged_into)}")
    if found.poll_id:
        lines.append(f"Shortlisted in poll {found.poll_id}")
    return lines


# -- panels and decisions -------------------------------------------------------------------


def panel(found: Panel, members: Sequence[Member], quotas: Sequence[Quota] = ()) -> list[str]:
    """A panel as staff read it: the pool's breakdown per category against the quotas;
    once drawn, the seed, the lowest and highest chance, and each volunteer's chance and
    status, by volunteer number (never a name or a phone number)."""
    chosen = [m for m in members if m.status in (stored_panels.SELECTED, stored_panels.ACCEPTED)]
    volunteers = counted(len(members), "volunteer")
    if not found.selected:
        lines = [f"Panel {found.id} '{found.name}': {volunteers}, not drawn yet."]
    else:
        lines = [
            f"Panel {found.id} '{found.name}': {found.size} chosen by lot from {volunteers}"
            f" (maximin, seed {found.seed}).",
            f"Chance of selection: lowest {percent(found.min_probability)},"
            f" highest {percent(found.max_probability)}.",
        ]
    lines += breakdown(members, quotas, found.selected)
    if found.selected and members:
        names = sorted({c for m in members for c in m.profile})
        rows = [
            (m.label, percent(m.probability), m.status, *(m.profile.get(c, "-") for c in names))
            for m in members
        ]
        lines += ["", *table(("Volunteer", "chance", "status", *names), rows)]
        lines.append(f"Seated or asked: {len(chosen)}.")
    return lines


def breakdown(members: Sequence[Member], quotas: Sequence[Quota], drawn: bool) -> list[str]:
    """Volunteers (and, once drawn, members chosen or seated) per category value,
    against each value's quota; a value whose minimum the pool cannot meet is marked."""
    rows = []
    for row in pool_rows(members, quotas):
        wanted = "-" if row.quota is None else f"{row.quota.minimum}-{row.quota.maximum}"
        note = ""
        if row.quota is None and quotas:
            note = "not in the quotas"
        elif row.short and row.quota is not None:
            note = f"too few: {row.quota.minimum} needed"
        chosen = (str(row.chosen),) if drawn else ()
        rows.append((row.category, row.value, str(row.volunteers), *chosen, wanted, note))
    if not rows:
        return []
    header = ("category", "value", "volunteers", *(("chosen",) if drawn else ()), "quota", "")
    return ["", "The pool by category:", *table(header, rows)]


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def reach(decision: Decision, sends: Sequence[tuple[Send, Reach]]) -> list[str]:
    """How far each sending of a decision reached, from the outbox."""
    lines = [
        f"Decision {decision.id} ({decision.status}), answering"
        f" {', '.join(map(named, decision.answers))}:"
    ]
    for number, (send, got) in enumerate(sends, start=1):
        what = "first sent" if number == 1 else f"update {number - 1}"
        lines.append(
            f"  {what} ({send.status}, broadcast {send.broadcast_id}):"
            f" {counted(got.recipients, 'resident')}; delivered {got.delivered},"
            f" sent {got.sent}, failed {got.failed}, waiting {got.waiting},"
            f" not sent {got.withdrawn}"
        )
    return lines
