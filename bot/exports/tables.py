"""The other exports: votes, ideas, decisions, and (organisers only) contacts and the
message log. Each is one streamed query; residents appear by pseudonymous id."""

from __future__ import annotations

import json
from collections.abc import Iterator

from bot.exports.cells import Cell
from bot.exports.source import Filters, Source, Table
from bot.store import decisions, polls
from bot.store.ideas import reference
from bot.store.polls import Poll


def votes(source: Source, filters: Filters) -> Table:
    """One row per resident and poll: their vote as it stands (the last one counts)."""
    where, params = filters.between("v.voted_at")
    if filters.poll_id is not None:
        where += " AND v.poll_id = ?"
        params = [*params, filters.poll_id]
    header = [
        "poll",
        "question",
        *source.resident_header(),
        "choice",
        "choice (label)",
        "language",
        "channel",
        "voted",
        "changes",
    ]
    total = source.count(f"SELECT COUNT(*) FROM votes v WHERE true{where}", params)
    cursor = source.tx.execute(
        "SELECT v.poll_id, v.contact_id, c.channel, c.address, v.choice, v.language,"
        " v.voted_at, v.changes FROM votes v JOIN contacts c ON c.id = v.contact_id"
        f" WHERE true{where} ORDER BY v.poll_id, v.voted_at",
        params,
    )

    def rows() -> Iterator[list[Cell]]:
        known: dict[int, tuple[str | None, dict[str, str]]] = {}  # poll -> question, labels
        for poll_id, contact_id, channel, address, choice, language, voted, changes in cursor:
            if poll_id not in known:
                known[poll_id] = _poll_texts(polls.get(source.tx, poll_id))
            question, labels = known[poll_id]
            chosen: list[str] = json.loads(choice)
            yield [
                poll_id,
                question,
                *source.resident(contact_id, channel, address),
                " ".join(chosen),
                "; ".join(labels.get(c, c) for c in chosen),
                language,
                channel,
                source.time(voted),
                changes,
            ]

    return Table(header, rows(), total)


def _poll_texts(poll: Poll | None) -> tuple[str | None, dict[str, str]]:
    """A poll's question and option labels in its own language."""
    if poll is None:
        return None, {}
    return poll.question[poll.language], {o.id: o.texts[poll.language] for o in poll.options}


def ideas(source: Source, filters: Filters) -> Table:
    """Ideas as staff see them: personal details hidden (the original text only in an
    organiser's export with addresses)."""
    where, params = filters.between("i.created_at")
    if not filters.unmoderated_flagged:  # a worker's: as moderation shows them
        where += " AND (i.pii IS NULL OR i.status != 'new')"
    header = [
        "idea",
        *source.resident_header(),
        "status",
        "text",
        "flagged",
        "language",
        "channel",
        "category",
        "area",
        "merged into",
        "poll",
        "reason",
        "received",
        "moderated",
    ]
    total = source.count(f"SELECT COUNT(*) FROM ideas i WHERE true{where}", params)
    cursor = source.tx.execute(
        "SELECT i.id, i.contact_id, c.channel, c.address, i.status, i.text, i.shown_text,"
        " i.pii, i.language, i.category, i.area, i.merged_into, i.poll_id, i.reason,"
        " i.created_at, i.moderated_at FROM ideas i JOIN contacts c ON c.id = i.contact_id"
        f" WHERE true{where} ORDER BY i.id",
        params,
    )

    def rows() -> Iterator[list[Cell]]:
        for row in cursor:
            yield [
                reference(row["id"]),
                *source.resident(row["contact_id"], row["channel"], row["address"]),
                row["status"],
                row["text"] if source.addresses else row["shown_text"],
                " ".join(json.loads(row["pii"])) if row["pii"] else None,
                row["language"],
                row["channel"],
                row["category"],
                row["area"],
                reference(row["merged_into"]) if row["merged_into"] else None,
                row["poll_id"],
                source.text(row["reason"]),
                source.time(row["created_at"]),
                source.time(row["moderated_at"]),
            ]

    return Table(header, rows(), total)


def decision_table(source: Source, filters: Filters) -> Table:
    """One row per sending of a decision, with how far it reached."""
    where, params = filters.between("d.created_at")
    header = [
        "decision",
        "sending",
        "status",
        "language",
        "text",
        "also in",
        "answers",
        "sent",
        "recipients",
        "delivered",
        "sent, no report",
        "failed",
        "waiting",
        "not sent",
    ]
    total = source.count(f"SELECT COUNT(*) FROM decision_sends d WHERE true{where}", params)
    cursor = source.tx.execute(
        "SELECT d.decision_id, d.status, d.texts, d.broadcast_id, d.created_at, x.language,"
        " x.answers FROM decision_sends d JOIN decisions x ON x.id = d.decision_id"
        f" WHERE true{where} ORDER BY d.decision_id, d.id",
        params,
    )

    def rows() -> Iterator[list[Cell]]:
        sending: dict[int, int] = {}
        for decision_id, status, texts, broadcast_id, created, language, answers in cursor:
            sending[decision_id] = sending.get(decision_id, 0) + 1
            written: dict[str, str] = json.loads(texts)
            reach = decisions.reach(source.tx, broadcast_id)
            yield [
                decision_id,
                sending[decision_id],
                status,
                language,
                written.get(language),
                " ".join(sorted(set(written) - {language})) or None,
                " ".join(json.loads(answers)),
                source.time(created),
                reach.recipients,
                reach.delivered,
                reach.sent,
                reach.failed,
                reach.waiting,
                reach.withdrawn,
            ]

    return Table(header, rows(), total)


def contacts(source: Source, filters: Filters) -> Table:
    """Residents (organisers only): language, opt-out, when seen, and their fields."""
    where, params = filters.between("c.created_at")
    names = sorted(
        row[0]
        for row in source.tx.execute(
            f"SELECT DISTINCT j.key FROM contacts c, json_each(c.fields) j WHERE true{where}",
            params,
        )
    )
    header = [
        *source.resident_header(),
        "channel",
        "language",
        "first seen",
        "last seen",
        "opted out",
        "unreachable",
        *names,
    ]
    total = source.count(f"SELECT COUNT(*) FROM contacts c WHERE true{where}", params)
    cursor = source.tx.execute(
        "SELECT c.id, c.channel, c.address, c.language, c.created_at, c.last_seen_at,"
        f" c.opted_out_at, c.unreachable_at, c.fields FROM contacts c WHERE true{where}"
        " ORDER BY c.id",
        params,
    )

    def rows() -> Iterator[list[Cell]]:
        for row in cursor:
            fields: dict[str, str] = json.loads(row["fields"])
            yield [
                *source.resident(row["id"], row["channel"], row["address"]),
                row["channel"],
                row["language"],
                source.time(row["created_at"]),
                source.time(row["last_seen_at"]),
                source.time(row["opted_out_at"]),
                source.time(row["unreachable_at"]),
                *(source.text(fields.get(name), row["language"]) for name in names),
            ]

    return Table(header, rows(), total)


def messages(source: Source, filters: Filters) -> Table:
    """The message log (organisers only): what residents sent and what Parley sent
    them, in time order. Phone numbers and emails in texts are hidden by default."""
    inbound, in_params = filters.between("m.received_at")
    outbound, out_params = filters.between("m.created_at")
    header = [
        "time",
        "direction",
        *source.resident_header(),
        "channel",
        "text",
        "language",
        "kind",
        "status",
        "delivery",
        "segments",
        "broadcast",
    ]
    total = source.count(
        f"SELECT (SELECT COUNT(*) FROM inbound m WHERE true{inbound})"
        f" + (SELECT COUNT(*) FROM outbox m WHERE true{outbound})",
        [*in_params, *out_params],
    )
    cursor = source.tx.execute(
        "SELECT m.received_at AS at, 'in' AS direction, m.contact_id, c.channel, c.address,"
        " m.text, NULL AS language, NULL AS kind, NULL AS status, NULL AS delivery,"
        " NULL AS segments, NULL AS broadcast_id, m.id AS id, c.language AS resident_language"
        f" FROM inbound m JOIN contacts c ON c.id = m.contact_id WHERE true{inbound}"
        " UNION ALL"
        " SELECT m.created_at, 'out', m.contact_id, c.channel, c.address, m.text,"
        " m.language, m.kind, m.status, m.delivery, m.segments, m.broadcast_id, m.id,"
        " c.language"
        f" FROM outbox m JOIN contacts c ON c.id = m.contact_id WHERE true{outbound}"
        " ORDER BY at, direction, id",
        [*in_params, *out_params],
    )

    def rows() -> Iterator[list[Cell]]:
        for row in cursor:
            yield [
                source.time(row[0]),
                row[1],
                *source.resident(row[2], row[3], row[4]),
                row[3],
                source.text(row[5], row[13]),
                row[6],
                row[7],
                row[8],
                row[9],
                row[10],
                row[11],
            ]

    return Table(header, rows(), total)
