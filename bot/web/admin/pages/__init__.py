"""The staff web's pages, one module per part of the work."""

from bot.web.admin.pages import (
    audit,
    broadcasts,
    budgeting,
    contacts,
    dashboard,
    decisions,
    exports,
    flows,
    ideas,
    panels,
    polls,
    staff,
)
from bot.web.admin.web import Page

PAGES: list[Page] = [
    *dashboard.PAGES,
    *contacts.PAGES,
    *broadcasts.PAGES,
    *polls.PAGES,
    *ideas.PAGES,
    *panels.PAGES,
    *decisions.PAGES,
    *budgeting.PAGES,
    *flows.PAGES,
    *exports.PAGES,
    *staff.PAGES,
    *audit.PAGES,
]
