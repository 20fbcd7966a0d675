"""What a unit of work sees of the database, whichever database it is.

Parley's SQL is written once, in the dialect SQLite and PostgreSQL share (``ON CONFLICT``,
``RETURNING``, partial indexes, window functions), with ``?`` placeholders. A unit of work
is a plain function of a :class:`Tx`: on SQLite that is the ``sqlite3.Connection`` itself;
on PostgreSQL it is :class:`bot.store.postgres.PostgresTx`, which hands psycopg the same
statements. Rows answer to both ``row[0]`` and ``row["name"]``, and ``dict(row)`` works.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

stored_json: Callable[[Any], str] = json.JSONEncoder(
    ensure_ascii=False, check_circular=False
).encode
"""A value as Parley stores it in a JSON column (as ``json.dumps(value, ensure_ascii=False)``
writes it, by one encoder made once, not one a call: a message stores several)."""


class Cursor(Protocol):
    """The rows of one statement (and how many it changed)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Tx(Protocol):
    """A connection inside one transaction: a unit of work's only way to the database."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor: ...


class Row(tuple[Any, ...]):
    """A row read from PostgreSQL: a tuple that also answers to its columns' names, as
    ``sqlite3.Row`` does. Each distinct list of names gets its own subclass (see
    :func:`row_class`), so a row costs no more than its tuple."""

    __slots__ = ()
    _names: tuple[str, ...] = ()
    _index: dict[str, int] = {}  # noqa: RUF012 (set once per subclass, never changed)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


_ROW_CLASSES: dict[tuple[str, ...], type[Row]] = {}


def row_class(names: tuple[str, ...]) -> type[Row]:
    """The Row subclass for a statement's column names (made once, then reused)."""
    found = _ROW_CLASSES.get(names)
    if found is None:
        index = {name: position for position, name in reversed(list(enumerate(names)))}
        found = type("Row", (Row,), {"__slots__": (), "_names": names, "_index": index})
        _ROW_CLASSES[names] = found
    return found
