"""The files staff receive in Telegram: an export (``/export``) or a results chart
(``/results``). The outbox keeps what to make, not a copy of residents' data; the file
is made from a read-only snapshot just before it is sent, off the event loop, and
exists only in memory while it is sent."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.channels.base import File
from bot.civic.fonts import Fonts
from bot.civic.results import draw, find
from bot.engine import Env, Flow
from bot.errors import ExportError, ParleyError
from bot.exports import Maker, Request
from bot.exports.pseudonyms import known_key
from bot.settings import Settings
from bot.store import Database, exports

TELEGRAM_FILE_LIMIT = 45 * 1024 * 1024
"""Bots may send files up to 50 MB; a bigger export is made with ``parley export``."""


class FileMaker:
    """Makes the file an outbox message carries: ``(file, caption)``."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        flows: Mapping[str, Flow],
        env: Env,
        clock: Callable[[], datetime],
    ) -> None:
        self.database = database
        self.settings = settings
        self.flows = flows
        self.env = env
        self.clock = clock
        self._fonts: Fonts | None = None

    async def __call__(self, spec: Mapping[str, Any], text: str) -> tuple[File | None, str]:
        if "export" in spec:
            file, caption, rows = await asyncio.to_thread(self._export, spec["export"], text)
            export_id = spec["export"].get("id")
            if export_id is not None and rows is not None:
                await self.database.run(lambda tx: exports.finish(tx, export_id, rows))
            return file, caption
        if "chart" in spec:
            return await asyncio.to_thread(self._chart, spec["chart"], text)
        raise ParleyError(f"unknown attachment {sorted(spec)}")

    def _export(self, spec: Mapping[str, Any], text: str) -> tuple[File | None, str, int | None]:
        request = Request.from_json(spec)
        now = self.clock()
        with self.database.snapshot() as tx:
            key = known_key(tx, self.settings.export_secret)
            maker = Maker(self.settings, self.flows, self.env, key)
            day = now.astimezone(self.settings.timezone).date().isoformat()
            subject = request.filters.flow_id or (
                f"poll{request.filters.poll_id}" if request.filters.poll_id else None
            )
            stem = "-".join(p for p in ("parley", request.what, subject, day) if p)
            try:
                if request.format == "floip":
                    with tempfile.TemporaryDirectory() as folder:
                        target = Path(folder) / f"{stem}-floip.zip"
                        rows = maker.write_floip(tx, request, target, now)
                        data = target.read_bytes()
                    name = target.name
                else:
                    table = maker.table(tx, request)
                    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as out:
                        rows = maker.write_csv(table, request, out)
                        out.flush()
                        size = os.fstat(out.fileno()).st_size
                        if size > TELEGRAM_FILE_LIMIT:
                            return None, _too_big(text, rows, size), rows
                        out.seek(0)
                        data = bytes(out.buffer.read())
                    name = f"{stem}.csv"
            except ParleyError as problem:
                return None, f"{text}\nNot made: {problem}", None
        return File(name, data), f"{text}: {rows} rows", rows

    def _chart(self, spec: Mapping[str, Any], text: str) -> tuple[File | None, str]:
        if self._fonts is None:
            self._fonts = Fonts.find(self.settings.fonts_dir)
        target = str(spec["poll"]) if "poll" in spec else str(spec["flow"])
        try:
            with self.database.snapshot() as tx:
                report = find(tx, target, self.flows, self.settings.languages)
            picture = draw(report, spec.get("question"), self._fonts)
        except ExportError as problem:
            return None, str(problem)
        caption = "\n".join([text, *picture.legend])
        return File("results.png", picture.png, photo=True), caption


def _too_big(text: str, rows: int, size: int) -> str:
    return (
        f"{text}: {rows} rows, {size / 1024 / 1024:.0f} MB: too big to send in Telegram."
        " Make it on the server with parley export."
    )
