"""An export as asked for (from the command line or by ``/export``), checked, and made:
recorded first, then written from a read-only snapshot of the database."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from bot.engine import Env, Flow
from bot.errors import ExportError
from bot.exports import floip, responses, tables
from bot.exports.cells import Sheet
from bot.exports.pseudonyms import Pseudonyms, key
from bot.exports.source import Filters, Source, Table
from bot.settings import Settings
from bot.store import exports
from bot.store.sql import Tx

log = logging.getLogger(__name__)

KINDS: dict[str, Callable[[Source, Filters], Table]] = {
    "responses": responses.table,
    "votes": tables.votes,
    "ideas": tables.ideas,
    "decisions": tables.decision_table,
    "contacts": tables.contacts,
    "messages": tables.messages,
}
ORGANISER_ONLY = frozenset({"contacts", "messages"})
"""Exports about residents themselves, rather than what they answered."""
FORMATS = ("csv", "floip")


@dataclass(frozen=True)
class Request:
    what: str
    filters: Filters = field(default_factory=Filters)
    format: str = "csv"
    addresses: bool = False  # raw phone numbers and chat ids: an organiser's explicit ask
    bom: bool = False  # a UTF-8 byte order mark, for Excel

    def check(self) -> None:
        if self.what not in KINDS:
            raise ExportError(f"there is no export '{self.what}': use one of {', '.join(KINDS)}")
        if self.format not in FORMATS:
            raise ExportError(f"format '{self.format}': use csv or floip")
        if self.format == "floip" and self.what != "responses":
            raise ExportError("a FLOIP package holds survey responses: export responses")
        filters = self.filters
        if filters.since and filters.until and filters.since >= filters.until:
            raise ExportError("--since must come before --until")

    def describe(self) -> str:
        shown = [self.what, *(f"{k}={v}" for k, v in self.filters.to_json().items())]
        return " ".join(shown) + (" with addresses" if self.addresses else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "filters": self.filters.to_json(),
            "format": self.format,
            "addresses": self.addresses,
            "bom": self.bom,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Request:
        shown = data.get("filters", {})
        filters = Filters(
            flow_id=shown.get("flow"),
            poll_id=shown.get("poll"),
            since=datetime.fromisoformat(shown["since"]) if "since" in shown else None,
            until=datetime.fromisoformat(shown["until"]) if "until" in shown else None,
            unmoderated_flagged="flagged" not in shown,
        )
        return cls(
            data["what"], filters, data.get("format", "csv"), bool(data.get("addresses")),
            bool(data.get("bom")),
        )  # fmt: skip


def record(
    tx: Tx, request: Request, settings: Settings, who: str, now: datetime
) -> tuple[int, bytes]:
    """Check and record an export before it is made; its id and the pseudonym key.
    An export with addresses is logged too (without them)."""
    request.check()
    export_id = exports.record(
        tx,
        request.what,
        request.format,
        request.filters.to_json(),
        request.addresses,
        who,
        now,
    )
    if request.addresses:
        log.warning("export %s of %s WITH ADDRESSES by %s", export_id, request.what, who)
    else:
        log.info("export %s of %s by %s", export_id, request.what, who)
    return export_id, key(tx, settings.export_secret, now)


@dataclass(frozen=True)
class Maker:
    """What writing an export needs besides the request: settings, flows and the key."""

    settings: Settings
    flows: Mapping[str, Flow]
    env: Env
    key: bytes

    def source(self, tx: Tx, request: Request) -> Source:
        from bot.civic.polls import FlowBook

        book = FlowBook(self.flows, self.env)
        return Source(
            tx,
            self.settings.timezone,
            Pseudonyms(self.key),
            lambda flow_id: book.get(tx, flow_id),
            request.addresses,
            region=self.settings.region,
        )

    def table(self, tx: Tx, request: Request) -> Table:
        return KINDS[request.what](self.source(tx, request), request.filters)

    def write_csv(
        self,
        table: Table,
        request: Request,
        out: IO[str],
        progress: Callable[[int], None] | None = None,
    ) -> int:
        sheet = Sheet(out, table.header, bom=request.bom)
        if table.lines is not None:
            return sheet.write_lines(table.lines, progress)
        return sheet.write_all(table.rows, progress)

    def write_floip(
        self,
        tx: Tx,
        request: Request,
        target: Path,
        now: datetime,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        source = self.source(tx, request)
        return floip.write(source, request.filters, self.settings.languages, target, now, progress)

    def floip_total(self, tx: Tx, request: Request) -> int:
        where, params = request.filters.between("answered_at")
        return self.source(tx, request).count(
            f"SELECT COUNT(*) FROM answers WHERE flow_id = ?{where}",
            [request.filters.flow_id, *params],
        )
