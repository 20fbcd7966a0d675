"""PostgreSQL's schema file against SQLite's migrations: the same tables, columns, keys and
indexes, and JSON functions that answer as SQLite's do.

The comparisons need a server: ``PARLEY_TEST_POSTGRES`` is a libpq URL to one where the test
may create a database (``postgresql://postgres@/postgres?host=/tmp/pgdev``); each run makes a
fresh one, applies ``migrations/postgresql/`` to it, and drops it afterwards. Without the
variable they are skipped. That every SQLite version has its PostgreSQL twin needs no server.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from bot.store import Database
from tests import databases

_MIGRATION = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# SQLite's declared column types, and what the PostgreSQL file makes of each.
_TYPES = {"INTEGER": "bigint", "TEXT": "text", "REAL": "double precision", "BLOB": "bytea"}
# PostgreSQL's pg_constraint.confdeltype, in SQLite's words.
_ON_DELETE = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}

# Tables staff name by number, whose rows a preview makes and rolls back: on PostgreSQL their
# ids are SQLite's max(id) + 1 (a trigger, migrations/postgresql/0014), not an identity, whose
# sequence never rolls back and would number the confirmed row after its preview's.
NUMBERED = {"broadcasts", "polls", "panels", "decisions", "pb_rounds", "exports"}

PgConnection = psycopg.Connection[tuple[Any, ...]]


def _migrations(folder: Traversable) -> list[tuple[int, Traversable]]:
    found = [
        (int(match.group(1)), entry)
        for entry in folder.iterdir()
        if (match := _MIGRATION.match(entry.name))
    ]
    return sorted(found, key=lambda one: one[0])


def _sqlite_migrations() -> list[tuple[int, Traversable]]:
    return _migrations(resources.files("bot.store").joinpath("migrations"))


def _postgres_migrations() -> list[tuple[int, Traversable]]:
    return _migrations(resources.files("bot.store").joinpath("migrations", "postgresql"))


def test_every_sqlite_version_has_a_postgresql_one() -> None:
    """A SQLite migration added without its PostgreSQL twin leaves PostgreSQL behind."""
    sqlite_newest = _sqlite_migrations()[-1][0]
    postgres = [version for version, _ in _postgres_migrations()]
    assert postgres, "bot/store/migrations/postgresql/ holds no migration"
    assert postgres[-1] == sqlite_newest, (
        f"SQLite's schema is at version {sqlite_newest}, PostgreSQL's at {postgres[-1]}:"
        f" add bot/store/migrations/postgresql/{sqlite_newest:04d}_....sql"
    )
    assert postgres == list(range(postgres[0], postgres[0] + len(postgres)))


# -- The two databases ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly migrated SQLite database, as Parley makes it."""
    path = tmp_path_factory.mktemp("sqlite") / "parley.db"

    async def migrate() -> None:
        database = await Database.open(path)
        await database.close()

    asyncio.run(migrate())
    return path


@pytest.fixture(scope="module")
def lite(sqlite_file: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(sqlite_file)) as connection:
        yield connection


@pytest.fixture(scope="module")
def pg() -> Iterator[PgConnection]:
    """A fresh PostgreSQL database with every PostgreSQL migration applied, as the runner
    applies them (each file whole, in one transaction); dropped afterwards."""
    if not databases.SERVER:
        pytest.skip("PARLEY_TEST_POSTGRES is not set")
    name = f"schema_test_{secrets.token_hex(4)}"
    with psycopg.connect(databases.SERVER, autocommit=True) as server:
        server.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        with psycopg.connect(
            make_conninfo(databases.SERVER, dbname=name), autocommit=True
        ) as connection:
            for _, entry in _postgres_migrations():
                with connection.transaction():
                    connection.execute(entry.read_text(encoding="utf-8").encode())
            yield connection
    finally:
        with psycopg.connect(databases.SERVER, autocommit=True) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


# -- What each says of its schema ----------------------------------------------------------


def _sqlite_tables(lite: sqlite3.Connection) -> dict[str, str]:
    """Each table's name and its CREATE TABLE statement."""
    return dict(
        lite.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
    )


def _rowid_alias(lite: sqlite3.Connection, table: str, sql: str) -> str | None:
    """The column that is the table's rowid (an INTEGER PRIMARY KEY), if one is."""
    keys = [row for row in lite.execute(f'PRAGMA table_info("{table}")') if row[5]]
    if len(keys) == 1 and keys[0][2].upper() == "INTEGER" and "WITHOUT ROWID" not in sql:
        return str(keys[0][1])
    return None


def _sqlite_columns(lite: sqlite3.Connection) -> dict[str, list[tuple[str, str, bool, Any]]]:
    """Per table, in order: (name, declared type, NOT NULL, default). A rowid alias takes
    no NULL, though table_info does not say so (SQLite gives it the next id instead)."""
    found = {}
    for table, sql in _sqlite_tables(lite).items():
        alias = _rowid_alias(lite, table, sql)
        found[table] = [
            (name, kind.upper(), bool(notnull) or name == alias, default)
            for _, name, kind, notnull, default, _ in lite.execute(f'PRAGMA table_info("{table}")')
        ]
    return found


def _pg_columns(pg: PgConnection) -> dict[str, list[tuple[str, str, bool, Any, str, str]]]:
    """Per table, in order: (name, type, NOT NULL, default, identity, collation)."""
    found: dict[str, list[tuple[str, str, bool, Any, str, str]]] = {}
    for table, name, kind, not_null, default, identity, collation in pg.execute(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
        "       pg_get_expr(d.adbin, d.adrelid), a.attidentity, coalesce(k.collname, '')"
        " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " LEFT JOIN pg_collation k ON k.oid = a.attcollation"
        " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'"
        "   AND a.attnum > 0 AND NOT a.attisdropped"
        " ORDER BY c.relname, a.attnum"
    ):
        found.setdefault(table, []).append((name, kind, not_null, default, identity, collation))
    return found


def _default(text: str | None) -> str | None:
    """A column default as SQLite writes it: PostgreSQL adds the literal's type."""
    return None if text is None else re.sub(r"::[a-z ]+$", "", text)


@databases.needs_server
def test_same_tables(lite: sqlite3.Connection, pg: PgConnection) -> None:
    assert sorted(_pg_columns(pg)) == sorted(_sqlite_tables(lite))


@databases.needs_server
def test_same_columns_in_the_same_order_and_nullability(
    lite: sqlite3.Connection, pg: PgConnection
) -> None:
    postgres = _pg_columns(pg)
    for table, columns in _sqlite_columns(lite).items():
        expected = [(name, not_null) for name, _, not_null, _ in columns]
        assert [(one[0], one[2]) for one in postgres.get(table, [])] == expected, table


@databases.needs_server
def test_same_types_defaults_and_collations(lite: sqlite3.Connection, pg: PgConnection) -> None:
    """INTEGER is bigint (the rowid an identity, but in NUMBERED's tables), TEXT text, REAL
    double precision; the same defaults; SQLite's COLLATE NOCASE columns are PostgreSQL's
    nocase ones."""
    postgres = _pg_columns(pg)
    tables = _sqlite_tables(lite)
    nocase = {
        (table, column)
        for table, sql in tables.items()
        for column in re.findall(r"(\w+)\s+TEXT[^,\n]*COLLATE NOCASE", sql)
    }
    for table, columns in _sqlite_columns(lite).items():
        alias = _rowid_alias(lite, table, tables[table])
        for (name, kind, _, default), (_, pg_kind, _, pg_default, identity, collation) in zip(
            columns, postgres[table], strict=True
        ):
            where = f"{table}.{name}"
            assert pg_kind == _TYPES[kind], where
            identified = name == alias and table not in NUMBERED
            assert identity == ("d" if identified else ""), where  # GENERATED BY DEFAULT
            assert _default(pg_default) == default, where
            assert (collation == "nocase") == ((table, name) in nocase), where


def _sqlite_index_columns(lite: sqlite3.Connection, index: str) -> list[str | None]:
    return [row[2] for row in lite.execute(f'PRAGMA index_info("{index}")')]


@databases.needs_server
def test_same_keys_and_references(lite: sqlite3.Connection, pg: PgConnection) -> None:
    """Primary keys, UNIQUE constraints, references (and what deleting does), and as many
    CHECK constraints per table."""
    postgres: dict[str, dict[str, Any]] = {}
    for table, kind, columns, target, target_columns, on_delete in pg.execute(
        "SELECT t.relname, k.contype,"
        "  array(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u (num, n)"
        "        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num"
        "        ORDER BY u.n),"
        "  f.relname,"
        "  array(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u (num, n)"
        "        JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num"
        "        ORDER BY u.n),"
        "  k.confdeltype"
        " FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid"
        " LEFT JOIN pg_class f ON f.oid = k.confrelid"
        " WHERE t.relnamespace = current_schema()::regnamespace"
    ):
        keys = postgres.setdefault(table, {"p": [], "u": set(), "f": set(), "c": 0})
        if kind == "p":
            keys["p"] = list(columns)
        elif kind == "u":
            keys["u"].add(tuple(columns))
        elif kind == "f":
            keys["f"].add((tuple(columns), target, tuple(target_columns), _ON_DELETE[on_delete]))
        elif kind == "c":
            keys["c"] += 1
    for table, sql in _sqlite_tables(lite).items():
        info = list(lite.execute(f'PRAGMA table_info("{table}")'))
        primary = [row[1] for row in sorted((row for row in info if row[5]), key=lambda r: r[5])]
        unique = {
            tuple(_sqlite_index_columns(lite, row[1]))
            for row in lite.execute(f'PRAGMA index_list("{table}")')
            if row[3] == "u"
        }
        references: dict[int, list[Any]] = {}
        for ref, _, target, column, target_column, _, on_delete, _ in lite.execute(
            f'PRAGMA foreign_key_list("{table}")'
        ):
            one = references.setdefault(ref, [[], target.strip('"'), [], on_delete])
            one[0].append(column)
            one[2].append(target_column)
        foreign = {(tuple(c), t, tuple(tc), d) for c, t, tc, d in references.values()}
        checks = len(re.findall(r"\bCHECK\s*\(", sql))
        keys = postgres[table]
        assert (keys["p"], keys["u"], keys["f"], keys["c"]) == (primary, unique, foreign, checks), (
            table
        )


@databases.needs_server
def test_same_indexes(lite: sqlite3.Connection, pg: PgConnection) -> None:
    """Every index SQLite's migrations create, by name and table, unique or not, partial or
    not, on the same columns (None: an expression). Those behind a key are compared above."""
    postgres = {
        (table, index, unique, partial, tuple(columns))
        for table, index, unique, partial, columns in pg.execute(
            "SELECT t.relname, i.relname, x.indisunique, x.indpred IS NOT NULL,"
            "  array(SELECT a.attname FROM unnest(x.indkey::int2[]) WITH ORDINALITY u (num, n)"
            "        LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.num"
            "        ORDER BY u.n)"
            " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " JOIN pg_class t ON t.oid = x.indrelid"
            " WHERE t.relnamespace = current_schema()::regnamespace"
            "   AND NOT EXISTS (SELECT 1 FROM pg_constraint k"
            "                   WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u'))"
        )
    }
    sqlite = {
        (table, index, bool(unique), bool(partial), tuple(_sqlite_index_columns(lite, index)))
        for table in _sqlite_tables(lite)
        for _, index, unique, origin, partial in lite.execute(f'PRAGMA index_list("{table}")')
        if origin == "c"
    }
    assert sorted(postgres) == sorted(sqlite)


@databases.needs_server
def test_same_index_definitions(lite: sqlite3.Connection, pg: PgConnection) -> None:
    """Each index as PostgreSQL reads SQLite's own CREATE INDEX (with LIKE as ILIKE, as
    bot/store/postgres.py hands the app's LIKE over): the same columns, expressions and
    conditions, so the app's statements, written once, can use it."""
    created = lite.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall()
    definition = "SELECT pg_get_indexdef(to_regclass(%s))"
    with pg.transaction(force_rollback=True):
        for name, sql in created:
            probe = f"probe_{name}"
            as_postgres = re.sub(r"\bLIKE\b", "ILIKE", sql.replace(name, probe, 1))
            pg.execute(as_postgres.encode())
            made = pg.execute(definition, (probe,)).fetchone()
            found = pg.execute(definition, (name,)).fetchone()
            assert made is not None
            assert found is not None
            assert found[0] == made[0].replace(probe, name, 1), name


# -- Numbers staff name ----------------------------------------------------------------------

EXPORT = (
    "INSERT INTO exports (what, format, filters, requested_by, created_at)"
    " VALUES ('contacts', 'csv', '{}', 'cli', '2026-03-01') RETURNING id"
)


@databases.needs_server
def test_numbered_tables_take_their_next_id_from_a_lock_of_their_own(pg: PgConnection) -> None:
    found: dict[str, str] = dict(
        pg.execute(
            "SELECT c.relname, encode(t.tgargs, 'escape') FROM pg_trigger t"
            " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc f ON f.oid = t.tgfoid"
            " WHERE f.proname = 'parley_next_id' AND t.tgenabled = 'O'"
        ).fetchall()
    )
    assert set(found) == NUMBERED
    assert len(set(found.values())) == len(NUMBERED)  # one advisory lock key each


@databases.needs_server
def test_a_rolled_back_number_is_given_again_as_on_sqlite(
    lite: sqlite3.Connection, pg: PgConnection
) -> None:
    """A preview's row, rolled back, leaves its number to the row confirmed after it; an id
    given explicitly (a copy's) is followed, as SQLite's rowid follows it."""

    def numbers(execute: Any) -> list[int]:
        given = []
        execute("SAVEPOINT rehearsal")
        given.append(execute(EXPORT).fetchone()[0])
        execute("ROLLBACK TO rehearsal")
        given.append(execute(EXPORT).fetchone()[0])
        execute(EXPORT.replace("(what", "(id, what").replace("VALUES (", "VALUES (7, "))
        given.append(execute(EXPORT).fetchone()[0])
        return given

    try:
        lite.execute("BEGIN")
        ours = numbers(lite.execute)
    finally:
        lite.rollback()
    with pg.transaction(force_rollback=True):
        theirs = numbers(lambda sql: pg.execute(sql.encode()))
    assert theirs == ours == [1, 1, 8]


@databases.needs_server
def test_two_transactions_never_take_the_same_number(pg: PgConnection) -> None:
    """The second waits for the first's lock and, once the first has committed, sees its row."""
    where = make_conninfo(databases.SERVER, dbname=pg.info.dbname)
    with psycopg.connect(where) as first, psycopg.connect(where) as second:
        try:
            mine = first.execute(EXPORT.encode()).fetchone()
            theirs: list[Any] = []
            waiting = threading.Thread(
                target=lambda: theirs.append(second.execute(EXPORT.encode()).fetchone())
            )
            waiting.start()
            waiting.join(0.3)
            assert waiting.is_alive()  # held by the first's lock
            assert not theirs
            first.commit()
            waiting.join(5)
            assert mine is not None
            assert theirs == [(mine[0] + 1,)]
        finally:
            second.rollback()
            first.execute("DELETE FROM exports")
            first.commit()


# -- SQLite's JSON functions ---------------------------------------------------------------


def _same(sqlite: Any, postgres: Any) -> bool:
    """PostgreSQL's text for what SQLite gives as a number, text or NULL."""
    if sqlite is None or postgres is None:
        return sqlite is postgres
    if isinstance(sqlite, float):
        return float(postgres) == sqlite
    return bool(str(sqlite) == postgres)


def _both(lite: sqlite3.Connection, pg: PgConnection, sql: str, *params: Any) -> tuple[Any, Any]:
    """One statement's rows on each (``?`` for SQLite, ``%s`` for psycopg)."""
    ours = lite.execute(sql, params).fetchall()
    theirs = pg.execute(sql.replace("?", "%s").encode(), params).fetchall()
    return ours, theirs


FIELDS = json.dumps({"consent": "no", "ward": "North", "age group": "30-39"}, ensure_ascii=False)
WORDS = json.dumps({"name": 'Siân "Bryn" O\'Neil \\ Łódź', "city": "Łódź"}, ensure_ascii=False)
ESCAPED = json.dumps({"name": 'Siân "Bryn"', "city": "Łódź\n"})  # \u escapes
MIXED = '{"n": 12, "neg": -3, "x": 1.5, "t": true, "f": false, "z": null, "s": ""}'
NESTED = '{"o": {"a": [1, 2], "b" : {"c": "d"}}, "l": [1, {"b": "c"}], "e": {}, "ea": [ ]}'

EXTRACTS = [
    (FIELDS, "$.consent"),
    (FIELDS, '$."ward"'),
    (FIELDS, '$."age group"'),
    (FIELDS, "$.age group"),
    (FIELDS, "$.missing"),
    (FIELDS, '$."missing"'),
    ("{}", "$.consent"),
    (WORDS, "$.name"),
    (WORDS, '$."city"'),
    (ESCAPED, "$.name"),
    (ESCAPED, "$.city"),
    *((MIXED, f"$.{key}") for key in ("n", "neg", "x", "t", "f", "z", "s")),
    *((NESTED, path) for path in ("$.o", "$.o.a", "$.o.b.c", "$.l", "$.l[1]", "$.l[1].b")),
    (NESTED, "$.l[5]"),
    (NESTED, "$.e"),
    (NESTED, "$.ea"),
    (NESTED, "$"),
    ("[1, 2]", "$.a"),
    ("[1, 2]", "$[1]"),
    ('"alone"', "$"),
    (None, "$.consent"),
    (FIELDS, None),
]


@databases.needs_server
@pytest.mark.parametrize(("doc", "path"), EXTRACTS)
def test_json_extract(
    lite: sqlite3.Connection, pg: PgConnection, doc: str | None, path: str | None
) -> None:
    ours, theirs = _both(lite, pg, "SELECT json_extract(?, ?)", doc, path)
    assert _same(ours[0][0], theirs[0][0]), (ours, theirs)


@databases.needs_server
@pytest.mark.parametrize("doc", ["not json", "", '{"a": }'])
def test_json_extract_refuses_what_is_not_json(
    lite: sqlite3.Connection, pg: PgConnection, doc: str
) -> None:
    with pytest.raises(sqlite3.OperationalError, match="malformed JSON"):
        lite.execute("SELECT json_extract(?, '$.a')", (doc,))
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        pg.execute("SELECT json_extract(%s, '$.a')", (doc,))


@databases.needs_server
@pytest.mark.parametrize("path", ["a", "$a", "$.", "$[x]"])
def test_json_extract_refuses_a_bad_path(
    lite: sqlite3.Connection, pg: PgConnection, path: str
) -> None:
    with pytest.raises(sqlite3.OperationalError, match="JSON path error"):
        lite.execute("SELECT json_extract('{}', ?)", (path,))
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="JSON path error"):
        pg.execute("SELECT json_extract('{}', %s)", (path,))


EACHES = [
    FIELDS,
    WORDS,
    ESCAPED,
    MIXED,
    NESTED,
    "[3, 1, 2]",
    '[1, "x", [1, 2], null, true, false, {"a" : 1}, 2.5]',
    "{}",
    "[]",
    "7",
    '"alone"',
    None,
]


@databases.needs_server
@pytest.mark.parametrize("doc", EACHES)
def test_json_each(lite: sqlite3.Connection, pg: PgConnection, doc: str | None) -> None:
    ours, theirs = _both(lite, pg, "SELECT j.key, j.value FROM json_each(?) j", doc)
    assert len(ours) == len(theirs), (ours, theirs)
    for (key, value), (pg_key, pg_value) in zip(ours, theirs, strict=True):
        assert _same(key, pg_key), (ours, theirs)
        assert _same(value, pg_value), (ours, theirs)


@databases.needs_server
def test_postgresql_json_each_still_takes_json(pg: PgConnection) -> None:
    """Ours takes text: a json argument still reaches PostgreSQL's own json_each."""
    found = "SELECT key, pg_typeof(value)::text, value FROM json_each(CAST(%s AS json))"
    assert pg.execute(found, ('{"a": [1]}',)).fetchall() == [("a", "json", [1])]


STATES = [
    '{"flow_id":"survey","answers":{"q1":"yes","q2":[1,2]},"step":"q3"}',
    '{"flow_id": "survey", "answers": {"q1": "a b"}, "step" : "q3"}',
    '{"flow_id":"x","step":null}',
    '{"answers":{}}',
    "{}",
    json.dumps({"answers": {"q": 'Łódź "x"'}, "language": "pl"}, ensure_ascii=False),
    json.dumps({"answers": {"q": 'Łódź "x"'}, "language": "pl"}),
    "[1, 2]",
    None,
]


@databases.needs_server
@pytest.mark.parametrize("state", STATES)
def test_json_set_blanks_answers_as_retention_does(
    lite: sqlite3.Connection, pg: PgConnection, state: str | None
) -> None:
    """bot/store/erasure.py's statement, as written: json('{}') is a literal."""
    ours, theirs = _both(lite, pg, "SELECT json_set(?, '$.answers', json('{}'))", state)
    assert theirs == ours
    if ours[0][0] is not None and ours[0][0].startswith("{"):
        assert '"answers":{}' in theirs[0][0]  # what retention's LIKE looks for


SETS = [
    ('{"a": 1}', "$.b", "[1, 2]"),
    ('{"a": 1, "b": 2}', "$.a", '"text with spaces"'),
    ('{"a": 1}', '$."b c"', '{"d" : null}'),
    ('{"a": 1}', "$.a", "null"),
    ('{"a": 1}', "$.a", " 2.50 "),
    ('{"a": {"deep": [1, 2]}, "z": 0}', "$.a", "true"),
]


@databases.needs_server
@pytest.mark.parametrize(("doc", "path", "value"), SETS)
def test_json_set(
    lite: sqlite3.Connection, pg: PgConnection, doc: str, path: str, value: str
) -> None:
    ours = lite.execute("SELECT json_set(?, ?, json(?))", (doc, path, value)).fetchall()
    for call in ("json(%s)", "CAST(%s AS text)"):  # a json value, or JSON text
        sql = f"SELECT json_set(%s, %s, {call})".encode()
        assert pg.execute(sql, (doc, path, value)).fetchall() == ours, call


@databases.needs_server
def test_json_set_sets_json_null_for_a_null_value(
    lite: sqlite3.Connection, pg: PgConnection
) -> None:
    ours, theirs = _both(lite, pg, "SELECT json_set('{\"a\": 1}', '$.a', NULL)")
    assert theirs == ours == [('{"a":null}',)]


JSONS = [
    '{"a": 1}',
    ' { "a" : [1, 2 ,{"b" :null}], "s" : "x y \\" z \\\\", "t": "\\\\" } ',
    '\n{\n\t"a"\r\n: "tab\\tand new\\nline"}',
    "[ ]",
    " 12 ",
    "true",
    '"s p a c e"',
    json.dumps({"name": "Łódź", "list": [1, 2.5, None]}, ensure_ascii=False),
    None,
]


@databases.needs_server
@pytest.mark.parametrize("doc", JSONS)
def test_json(lite: sqlite3.Connection, pg: PgConnection, doc: str | None) -> None:
    """json(text), as a text column reaches it: compact JSON text, SQLite's to the letter."""
    ours = lite.execute("SELECT json(?)", (doc,)).fetchall()
    assert pg.execute("SELECT json(CAST(%s AS text))", (doc,)).fetchall() == ours


@databases.needs_server
@pytest.mark.parametrize("doc", ["nope", "", '{"a": }', "{'a': 1}"])
def test_json_refuses_what_is_not_json(
    lite: sqlite3.Connection, pg: PgConnection, doc: str
) -> None:
    with pytest.raises(sqlite3.OperationalError, match="malformed JSON"):
        lite.execute("SELECT json(?)", (doc,))
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        pg.execute("SELECT json(CAST(%s AS text))", (doc,))


# -- The app's own statements on the two schemas -------------------------------------------


def _seed(execute: Any) -> None:
    """Three contacts, a budgeting round, their ballots and a session with answers."""
    for n, fields in enumerate(
        ['{"ward": "North", "consent": "no"}', '{"ward": "South"}', '{"age group": "18-24"}'],
        start=1,
    ):
        execute(
            "INSERT INTO contacts (id, channel, address, fields, created_at, last_seen_at)"
            " VALUES (?, 'sms', ?, ?, '2026-03-01', '2026-03-01')",
            (n, f"+4470000000{n}", fields),
        )
    execute(
        "INSERT INTO pb_rounds (id, name, budget, currency, audience, style, rule, language,"
        " created_by, created_at) VALUES (1, 'Parks', 1000, 'GBP', '{}', 'approval', 'greedy',"
        " 'en', 'cli', '2026-03-01')",
        (),
    )
    for contact, choice in ((1, "[1, 3]"), (2, "[3]"), (3, "[2,3,1]")):
        execute(
            "INSERT INTO pb_ballots (round_id, contact_id, choice, language, channel, cast_at)"
            " VALUES (1, ?, ?, 'en', 'sms', '2026-03-02')",
            (contact, choice),
        )
    execute(
        "INSERT INTO sessions (contact_id, flow_id, status, state, started_at, updated_at,"
        " ended_at) VALUES (1, 'survey', 'completed', ?, '2026-03-01', '2026-03-01',"
        " '2026-03-01')",
        ('{"flow_id": "survey", "answers": {"q1": "my street"}, "step": null}',),
    )


@databases.needs_server
def test_the_apps_json_statements_count_alike(lite: sqlite3.Connection, pg: PgConnection) -> None:
    """Ballots tallied through json_each (bot/store/budgeting.py), the contacts export's field
    names (bot/exports/tables.py), a field filter and the consent expression (audience.py),
    and retention blanking a session's answers (bot/store/erasure.py)."""
    statements = [
        "SELECT j.value, count(*) FROM pb_ballots b, json_each(b.choice) j"
        " WHERE b.round_id = 1 GROUP BY j.value ORDER BY count(*), j.value",
        "SELECT DISTINCT j.key FROM contacts c, json_each(c.fields) j ORDER BY j.key",
        "SELECT c.id FROM contacts c WHERE json_extract(c.fields, '$.\"ward\"') = 'South'",
        "SELECT c.id FROM contacts c"
        " WHERE coalesce(json_extract(c.fields, '$.consent'), '') != 'no' ORDER BY c.id",
    ]
    kept = "SELECT count(*) FROM sessions WHERE ended_at IS NOT NULL AND state NOT {} ?"
    blank = "UPDATE sessions SET state = json_set(state, '$.answers', json('{}'))"
    pattern = '%"answers":{}%'
    ours: list[Any] = []
    try:
        _seed(lite.execute)
        ours = [lite.execute(sql).fetchall() for sql in statements]
        ours.append(lite.execute(kept.format("LIKE"), (pattern,)).fetchall())
        lite.execute(blank)
        ours.append(lite.execute(kept.format("LIKE"), (pattern,)).fetchall())
    finally:
        lite.rollback()
    with pg.transaction(force_rollback=True):
        _seed(lambda sql, params: pg.execute(sql.replace("?", "%s").encode(), params))
        theirs = [pg.execute(sql.encode()).fetchall() for sql in statements]
        # bot/store/postgres.py hands the app's LIKE to PostgreSQL as ILIKE.
        theirs.append(
            pg.execute(kept.format("ILIKE").replace("?", "%s").encode(), (pattern,)).fetchall()
        )
        pg.execute(blank.encode())
        theirs.append(
            pg.execute(kept.format("ILIKE").replace("?", "%s").encode(), (pattern,)).fetchall()
        )
    assert ours[-2:] == [[(1,)], [(0,)]]
    for mine, postgres in zip(ours, theirs, strict=True):
        assert len(mine) == len(postgres), (mine, postgres)
        for row, pg_row in zip(mine, postgres, strict=True):
            assert all(_same(a, b) or a == b for a, b in zip(row, pg_row, strict=True)), (
                mine,
                postgres,
            )


@databases.needs_server
def test_account_names_ignore_case(lite: sqlite3.Connection, pg: PgConnection) -> None:
    """SQLite's COLLATE NOCASE: one account per name whatever its case, found by any case."""
    add = (
        "INSERT INTO staff_accounts (name, role, password, created_at, password_at)"
        " VALUES (?, 'worker', 'hash', '2026-03-01', '2026-03-01')"
    )
    find = "SELECT name FROM staff_accounts WHERE name = 'ALICE'"
    try:
        lite.execute(add, ("Alice",))
        assert lite.execute(find).fetchall() == [("Alice",)]
        with pytest.raises(sqlite3.IntegrityError):
            lite.execute(add, ("alice",))
    finally:
        lite.rollback()
    with pg.transaction(force_rollback=True):
        pg.execute(add.replace("?", "%s").encode(), ("Alice",))
        assert pg.execute(find.encode()).fetchall() == [("Alice",)]
        with pytest.raises(psycopg.errors.UniqueViolation), pg.transaction():
            pg.execute(add.replace("?", "%s").encode(), ("alice",))
