"""Exports for organisers: what residents answered, as CSV that opens safely in any
spreadsheet, or as a FLOIP Flow Results package for other tools.

    request.py      an export as asked for: checked, recorded, made
    source.py       the snapshot it reads, filters, and a table's header and rows
    responses.py    survey responses: one row per resident per run, a column per question
    tables.py       votes, ideas, decisions, contacts, messages
    floip.py        the Flow Results package (datapackage.json + responses CSV)
    cells.py        CSV cells that never run as formulas nor turn into numbers
    pseudonyms.py   residents' stable ids in exports (a keyed hash, never the address)

Residents appear by pseudonymous id; their phone number or chat id only in an
organiser's export that asks for it, which is logged. Exports stream: memory stays
the same whatever their size.
"""

from bot.exports.request import KINDS, ORGANISER_ONLY, Maker, Request, record
from bot.exports.source import Filters

__all__ = ["KINDS", "ORGANISER_ONLY", "Filters", "Maker", "Request", "record"]
