"""The staff web: flows."""

from __future__ import annotations

from bot.web.admin.web import Page

PAGES: list[Page] = []
