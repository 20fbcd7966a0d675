"""Where the database is: a SQLite file (the default) or a PostgreSQL server.

``PARLEY_DATABASE`` is either a path (``parley.db``) or a libpq URL
(``postgresql://user@host:5432/dbname?sslmode=require``, also ``postgres://``). The URL
takes libpq's usual parameters; a password is best left out of it, in ``PGPASSWORD`` or
``~/.pgpass``, where libpq finds it. A URL's password never reaches a log line or a
message: :class:`Postgres` prints without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.errors import ConfigError

_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class Postgres:
    """A PostgreSQL database, as libpq's connection URL."""

    url: str

    def __str__(self) -> str:
        """The URL without its password, fit for logs and messages."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))

    @property
    def server(self) -> str:
        """The host (or socket folder) and database name, to say what could not be reached."""
        parts = urlsplit(self.url)
        host = parts.hostname or _query(parts.query, "host") or "the local socket"
        port = f":{parts.port}" if parts.port else ""
        name = parts.path.lstrip("/") or parts.username or "(libpq's default)"
        return f"database {name} on {host}{port}"


Location = Path | Postgres


def parse_location(value: str) -> Location:
    """The database PARLEY_DATABASE names; ConfigError naming the setting if it is wrong."""
    text = value.strip()
    scheme = text.partition("://")[0].lower() if "://" in text else ""
    if not scheme:
        if not text:
            raise ConfigError("PARLEY_DATABASE: empty; give a file path or a postgresql:// URL")
        return Path(text).expanduser()
    if scheme not in _SCHEMES:
        raise ConfigError(
            f"PARLEY_DATABASE: {scheme}:// is not a database Parley runs on;"
            " give a file path (SQLite) or a postgresql:// URL"
        )
    try:
        urlsplit(text).port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        raise ConfigError("PARLEY_DATABASE: the URL's port is not a number") from None
    return Postgres(text)


def _query(query: str, name: str) -> str | None:
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == name and value:
            return value
    return None
