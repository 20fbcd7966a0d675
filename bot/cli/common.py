"""What the ``parley`` commands share: settings from the command line, running a
coroutine with Parley's errors shown as plain messages, NAME=VALUE options, files
checked before any work starts, unknown ids or language codes refused by naming
what exists, and a progress bar for long work.

Every failure a person can cause ends as one ``Error: ...`` line and exit status 1,
never a traceback: :class:`Parley` (the ``parley`` group) turns what escapes a command
(a file that cannot be read or written, text that is not UTF-8, broken YAML, a
:class:`~bot.errors.ParleyError`, a database that cannot be opened) into that line.

This module is imported by ``parley --help``: what it needs beyond click is imported
where it is used, so that the help appears at once.
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import click

from bot.errors import FlowError, ParleyError

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger("bot.cli.main")


def settings_of(ctx: click.Context) -> Settings:
    from bot.settings import load_settings

    config: Path | None = ctx.obj.get("config") if ctx.obj else None
    try:
        return load_settings(config_file=config)
    except ParleyError as error:
        raise click.ClickException(str(error)) from None


def run_async(coroutine: Any) -> None:
    import asyncio

    try:
        asyncio.run(coroutine)
    except ParleyError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        click.echo("", err=True)


class Bar(Protocol):
    """A progress bar: entered with ``with``, told how many more steps are done."""

    def __enter__(self) -> Bar: ...

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None: ...

    def update(self, done: int, /) -> None: ...


class Quiet:
    """A progress bar that shows nothing: standard error is not a terminal (a script, a
    cron job)."""

    def __enter__(self) -> Quiet:
        return self

    def __exit__(self, *problem: object) -> None:
        return None

    def update(self, done: int) -> None:
        return None


def progress(total: int, label: str) -> Bar:
    """A progress bar of ``total`` steps on standard error (``with ... as bar``, then
    ``bar.update(done)``), or :class:`Quiet` when that is not a terminal."""
    if not sys.stderr.isatty():
        return Quiet()
    return click.progressbar(length=max(total, 1), label=label, file=sys.stderr)


def name_values(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got '{value}'", param_hint=option)
        pairs[name.strip()] = text.strip()
    return pairs


# -- no traceback ever: the group every command runs under --------------------------------


class Parley(click.Group):
    """The ``parley`` group: whatever a command lets escape becomes one line.

    Its commands named in ``lazy`` (name: ``(module:attribute, first sentence of its
    help)``) are imported when first wanted, not for the list in ``parley --help``,
    which shows the sentence given (click's documented lazy group, with the help kept).
    """

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]] = {}, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name][0].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command), self.lazy[cmd_name]
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.NoSuchCommand as error:  # "Did you mean" among them all, not just loaded
            raise click.NoSuchCommand(
                error.command_name, possibilities=self.list_commands(ctx), ctx=ctx
            ) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands, each with its one-line help, as click shows them, without
        importing those not yet imported."""
        shown = {name: command for name, command in self.commands.items() if not command.hidden}
        for name, (_, sentence) in self.lazy.items():
            shown.setdefault(name, click.Command(name, help=sentence))
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name in shown)
        with formatter.section("Commands"):
            formatter.write_dl(
                [(name, shown[name].get_short_help_str(limit)) for name in sorted(shown)]
            )

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except OSError as error:
            if error.errno == errno.EPIPE:  # click ends quietly when a pipe closes
                raise
            raise click.ClickException(os_problem(error)) from None
        except UnicodeDecodeError as error:
            raise click.ClickException(
                f"a file is not UTF-8 text (byte {error.start}: {error.reason})"
            ) from None
        except FlowError as error:  # already one ``file:line: what`` per problem
            raise click.ClickException(str(error)) from None
        except ParleyError as error:
            raise click.ClickException(one_line(str(error))) from None
        except Exception as error:  # broken YAML, SQLite, or a bug
            import sqlite3  # imported here, once something failed: not for every --help

            import yaml

            if isinstance(error, yaml.YAMLError):
                raise click.ClickException(yaml_problem("a YAML file", error)) from None
            if isinstance(error, sqlite3.Error):
                raise click.ClickException(f"the database (PARLEY_DATABASE): {error}") from None
            # a bug: a line for the person, the trace with -v
            if ctx.obj and ctx.obj.get("verbose"):
                log.exception("unexpected failure")
            raise click.ClickException(
                f"unexpected {type(error).__name__}: {one_line(str(error))}"
                " (parley -v ... shows where; please report it)"
            ) from None


def one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def os_problem(error: OSError) -> str:
    """``path: what is wrong`` for a file that could not be read, written or opened."""
    what = {
        errno.ENOENT: "no such file or folder",
        errno.EISDIR: "is a folder, not a file",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "on a read-only file system",
        errno.ENOSPC: "no space left on the device",
    }.get(error.errno or 0, error.strerror or str(error))
    if error.filename is None:
        return one_line(str(error))
    return f"{error.filename}: {what}"


def yaml_problem(name: str, error: Exception) -> str:
    """``file:line: what`` for YAML that does not parse."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or "not valid YAML"
    where = f"{name}:{mark.line + 1}" if mark is not None else name
    context, began = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and began is not None and (mark is None or began.line != mark.line):
        problem += f" ({context} from line {began.line + 1})"  # like an unclosed [
    return f"{where}: not valid YAML: {problem}"


# -- files given on the command line, checked before anything is done ---------------------


class TextFile(click.Path):
    """A file to read: it exists, is a file, can be read and is UTF-8 text of at most
    1 MB (checked before it is read); a ``Path``."""

    name = "file"

    def __init__(self) -> None:
        super().__init__(path_type=Path, exists=True, dir_okay=False, readable=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = Path(os.fsdecode(super().convert(value, param, ctx)))
        from bot.flowfile.yamllines import SourceError, read_source

        try:
            path.open("rb").close()
        except OSError as error:
            self.fail(os_problem(error), param, ctx)
        try:
            read_source(path)
        except SourceError as error:
            self.fail(f"{path}:{error.line}: {error.what}", param, ctx)
        return path


class OutputPath(click.Path):
    """Where a file (or, with ``folder_ok``, a folder) is to be written: its folder
    exists and can be written to, and it is not a folder itself (unless allowed)."""

    name = "output"

    def __init__(self, folder_ok: bool = False) -> None:
        super().__init__(path_type=Path, dir_okay=folder_ok)
        self.folder_ok = folder_ok

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = Path(os.fsdecode(super().convert(value, param, ctx)))
        parent = path.parent
        if path.is_dir() and not self.folder_ok:
            self.fail(f"{path}: is a folder, not a file", param, ctx)
        if not parent.exists():
            self.fail(f"{path}: the folder {parent} does not exist", param, ctx)
        if not parent.is_dir():
            self.fail(f"{path}: {parent} is a file, not a folder", param, ctx)
        if not _writable(parent):
            self.fail(f"{path}: the folder {parent} cannot be written to", param, ctx)
        if path.exists() and not os.access(path, os.W_OK):
            self.fail(f"{path}: cannot be written to", param, ctx)
        return path


def _writable(folder: Path) -> bool:
    """Whether a file can be made in ``folder``, found by making one (and removing it):
    permission bits do not tell for root, read-only file systems or ACLs."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def read_yaml(path: Path) -> Any:
    """A YAML file's content, read the safe way flows are (no aliases, size and depth
    capped); broken or refused YAML is a one-line ``file:line: what``."""
    from bot.flowfile.yamllines import SourceError, load_file

    try:
        return load_file(path)
    except SourceError as error:
        raise click.ClickException(f"{path}:{error.line}: {error.what}") from None


# -- ids and language codes: unknown ones are refused, naming what exists -----------------


def unknown(kind: str, given: object, known: Sequence[str], plural: str = "") -> str:
    """``there is no poll 99; polls: 1, 2, 3`` (the latest few when there are many)."""
    from bot.desk.lookup import SHOWN

    plural = plural or f"{kind}s"
    if not known:
        return f"there is no {kind} {given}; there are no {plural} yet"
    if len(known) > SHOWN:
        return f"there is no {kind} {given}; the latest {plural}: {', '.join(known[-SHOWN:])}"
    return f"there is no {kind} {given}; {plural}: {', '.join(known)}"


def check_languages(settings: Settings, codes: Sequence[str], option: str) -> None:
    """Refuse a language code this deployment does not offer, naming those it does."""
    for code in codes:
        if code not in settings.languages:
            raise click.BadParameter(
                f"unknown language '{code}'; languages: {', '.join(settings.languages)}",
                param_hint=option,
            )
