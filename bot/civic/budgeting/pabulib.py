"""Pabulib files (``.pb``), the format participatory budgeting research shares rounds
in: read with every problem named as ``file:line: what is wrong``, and written so that
pabutools, or anyone else, can count a Parley round again.

A file has three sections, in this order, each a heading line, a header line naming
its columns, then lines of fields separated by semicolons::

    META                 key;value lines: num_projects, num_votes, budget, vote_type, ...
    PROJECTS             project_id;cost;...  one line per project
    VOTES                voter_id;vote;...    one line per voter; the vote is project ids
                                              separated by commas (for ordinal, in order)

Parley reads approval and ordinal votes (``vote_type`` ``approval`` or ``ordinal``);
scores and cumulative points are refused, as Parley has no rule for them. Costs and the
budget are whole currency units. A project costing more than the whole budget is fine
(no rule funds it). Blank lines are skipped; a field may be quoted ("a;b").
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.civic.budgeting.count import Election, Project

SECTIONS = ("META", "PROJECTS", "VOTES")
REQUIRED = ("num_projects", "num_votes", "budget", "vote_type")
STYLES = {"approval": "approval", "ordinal": "ranking"}  # Pabulib's vote_type -> Style
WRITTEN = ("num_projects", "num_votes", "budget", "vote_type", "max_length")
"""META keys :func:`write` takes from the election, never from ``meta``."""
FIRST = ("description", "country", "unit", "subunit", "instance")
LAST = ("rule", "currency", "date_begin", "date_end")
_WHOLE = re.compile(r"[0-9]+")


class PabulibError(ValueError):
    """A Pabulib file Parley cannot read; ``str(error)`` is ``file:line: what is wrong``
    (``file: what is wrong`` when the file itself cannot be read)."""

    def __init__(self, path: Path, line: int | None, what: str) -> None:
        self.path = path
        self.line = line
        self.what = what
        super().__init__(f"{path}:{line}: {what}" if line is not None else f"{path}: {what}")


@dataclass(frozen=True)
class _Section:
    """A section as found: where its heading and header are, its columns, its lines."""

    name: str
    heading: int
    header_line: int
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]


# -- reading ----------------------------------------------------------------------------


def read(path: Path) -> Election:
    """The round in a Pabulib file, checked line by line first: the sections and their
    headers, the META keys counting needs, whole positive costs and budget, votes that
    name known projects once each, within ``max_length``, and the counts META gives.
    Any problem raises :class:`PabulibError`."""
    lines = _lines(path)
    sections = {s.name: s for s in _sections(path, lines)}
    meta, where = _meta(path, sections["META"])
    budget = _whole(path, where["budget"], "budget", meta["budget"], least=1)
    style = STYLES.get(meta["vote_type"])
    if style is None:
        raise PabulibError(
            path,
            where["vote_type"],
            f"vote_type '{meta['vote_type']}' is not supported: Parley counts approval and"
            " ordinal votes",
        )
    max_length = None
    if "max_length" in meta:
        max_length = _whole(path, where["max_length"], "max_length", meta["max_length"], least=1)
    projects = _projects(path, sections["PROJECTS"])
    _agrees(path, where, meta, "num_projects", len(projects), "PROJECTS lists", least=1)
    voter_ids, ballots = _votes(path, sections["VOTES"], {p.id for p in projects}, max_length)
    _agrees(path, where, meta, "num_votes", len(ballots), "VOTES has", least=0)
    return Election(
        budget=budget,
        projects=tuple(projects),
        ballots=tuple(ballots),
        style="ranking" if style == "ranking" else "approval",
        currency=meta.get("currency", ""),
        description=meta.get("description", ""),
        max_length=max_length,
        voter_ids=tuple(voter_ids),
    )


def _lines(path: Path) -> list[str]:
    """The file's lines (line ``n`` is ``lines[n - 1]``), as UTF-8 text."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PabulibError(path, None, (error.strerror or str(error)).lower()) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise PabulibError(path, line, f"not UTF-8 text ({error.reason})") from None
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines and not lines[-1]:
        lines.pop()  # the file's last line ends with a newline
    return lines


def _fields(path: Path, number: int, line: str) -> tuple[str, ...]:
    try:
        row = next(csv.reader([line], delimiter=";", strict=True))
    except csv.Error as error:
        raise PabulibError(path, number, f"cannot be read as fields: {error}") from None
    return tuple(field.strip() for field in row)


def _sections(path: Path, lines: Sequence[str]) -> Iterator[_Section]:
    """The three sections, in order, each with its header; a missing, repeated or
    misplaced section, or a section without a header, is refused where it shows."""
    rows = ((n, _fields(path, n, line)) for n, line in enumerate(lines, 1) if line.strip())
    found: list[str] = []
    current: tuple[str, int, int, tuple[str, ...]] | None = None
    body: list[tuple[int, tuple[str, ...]]] = []
    for number, fields in rows:
        name = _heading(fields)
        if name is None:
            if current is None:
                raise PabulibError(
                    path, number, f"the file must begin with META, not '{_shown(fields)}'"
                )
            body.append((number, fields))
            continue
        expected = SECTIONS[len(found)] if len(found) < len(SECTIONS) else None
        if name in found:
            raise PabulibError(path, number, f"a second {name} section")
        if name != expected:
            raise PabulibError(
                path,
                number,
                f"{name} before {expected}: the sections are META, PROJECTS and VOTES,"
                " in that order",
            )
        if current is not None:
            yield _Section(*current, tuple(body))
        header = next(rows, None)
        if header is None or _heading(header[1]) is not None:
            raise PabulibError(path, number, f"{name} has no header line after it")
        found.append(name)
        current, body = (name, number, header[0], header[1]), []
    if current is None:
        raise PabulibError(
            path, 1, "the file is empty: a Pabulib file has the sections META, PROJECTS and VOTES"
        )
    if len(found) < len(SECTIONS):
        missing = SECTIONS[len(found)]
        raise PabulibError(path, len(lines), f"the file ends without a {missing} section")
    yield _Section(*current, tuple(body))


def _heading(fields: tuple[str, ...]) -> str | None:
    name = fields[0].upper() if fields else ""
    if name in SECTIONS and not any(fields[1:]):
        return name
    return None


def _shown(fields: Sequence[str]) -> str:
    text = ";".join(fields)
    return text if len(text) <= 40 else text[:37] + "..."


def _meta(path: Path, section: _Section) -> tuple[dict[str, str], dict[str, int]]:
    """META's keys and values, and the line each is on."""
    if section.header != ("key", "value"):
        raise PabulibError(
            path,
            section.header_line,
            f"META's first line must be key;value, not '{_shown(section.header)}'",
        )
    meta: dict[str, str] = {}
    where: dict[str, int] = {}
    for number, fields in section.rows:
        if len(fields) != 2 or not fields[0]:
            raise PabulibError(
                path,
                number,
                f"a META line is key;value, not '{_shown(fields)}' (quote a value with a ;)",
            )
        key, value = fields
        if key in meta:
            raise PabulibError(path, number, f"{key} is given twice (first on line {where[key]})")
        meta[key], where[key] = value, number
    missing = [key for key in REQUIRED if key not in meta]
    if missing:
        raise PabulibError(path, section.heading, f"META has no {' and no '.join(missing)}")
    return meta, where


def _whole(path: Path, number: int, what: str, text: str, least: int) -> int:
    if not _WHOLE.fullmatch(text) or int(text) < least:
        above = "above 0" if least == 1 else "0 or more"
        raise PabulibError(path, number, f"{what} must be a whole number {above}, not '{text}'")
    return int(text)


def _agrees(
    path: Path,
    where: Mapping[str, int],
    meta: Mapping[str, str],
    key: str,
    actual: int,
    what: str,
    least: int,
) -> None:
    said = _whole(path, where[key], key, meta[key], least=least)
    if said != actual:
        raise PabulibError(path, where[key], f"{key} is {said}, but {what} {actual}")


def _columns(path: Path, section: _Section, needed: Sequence[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, column in enumerate(section.header):
        if column in columns:
            raise PabulibError(
                path, section.header_line, f"the {section.name} header names {column} twice"
            )
        columns[column] = index
    for column in needed:
        if column not in columns:
            raise PabulibError(
                path,
                section.header_line,
                f"the {section.name} header has no {column} column: '{_shown(section.header)}'",
            )
    return columns


def _row_fits(path: Path, section: _Section, number: int, fields: Sequence[str]) -> None:
    if len(fields) != len(section.header):
        kind = "project" if section.name == "PROJECTS" else "vote"
        raise PabulibError(
            path,
            number,
            f"this {kind} line has {_count(len(fields), 'field')};"
            f" the header (line {section.header_line}) has {len(section.header)}",
        )


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _projects(path: Path, section: _Section) -> list[Project]:
    columns = _columns(path, section, ("project_id", "cost"))
    projects: list[Project] = []
    seen: dict[str, int] = {}
    for number, fields in section.rows:
        _row_fits(path, section, number, fields)
        project_id, cost = fields[columns["project_id"]], fields[columns["cost"]]
        if not project_id:
            raise PabulibError(path, number, "a project without a project_id")
        if "," in project_id:
            raise PabulibError(
                path,
                number,
                f"project_id '{project_id}' has a comma, which separates projects in votes",
            )
        if project_id in seen:
            raise PabulibError(
                path,
                number,
                f"project {project_id} is listed twice (first on line {seen[project_id]})",
            )
        seen[project_id] = number
        if not _WHOLE.fullmatch(cost) or int(cost) == 0:
            raise PabulibError(
                path,
                number,
                f"project {project_id}'s cost must be a whole number above 0, not '{cost}'",
            )
        name = fields[columns["name"]] if "name" in columns else ""
        projects.append(Project(project_id, int(cost), name))
    return projects


def _votes(
    path: Path, section: _Section, known: set[str], max_length: int | None
) -> tuple[list[str], list[tuple[str, ...]]]:
    columns = _columns(path, section, ("voter_id", "vote"))
    voters: dict[str, int] = {}
    ballots: list[tuple[str, ...]] = []
    for number, fields in section.rows:
        _row_fits(path, section, number, fields)
        voter, vote = fields[columns["voter_id"]], fields[columns["vote"]]
        if not voter:
            raise PabulibError(path, number, "a vote without a voter_id")
        if voter in voters:
            raise PabulibError(
                path, number, f"voter {voter} votes twice (first on line {voters[voter]})"
            )
        voters[voter] = number
        chosen = tuple(item.strip() for item in vote.split(",")) if vote else ()
        for place, project in enumerate(chosen):
            if not project:
                raise PabulibError(path, number, f"the vote '{vote}' has an empty place")
            if project not in known:
                raise PabulibError(
                    path, number, f"the vote names project {project}, which PROJECTS does not list"
                )
            if project in chosen[:place]:
                raise PabulibError(path, number, f"the vote names project {project} twice")
        if max_length is not None and len(chosen) > max_length:
            raise PabulibError(
                path,
                number,
                f"the vote chooses {_count(len(chosen), 'project')}; max_length is {max_length}",
            )
        ballots.append(chosen)
    return list(voters), ballots


# -- writing ----------------------------------------------------------------------------


def write(election: Election, path: Path, *, meta: Mapping[str, str] | None = None) -> None:
    """Write ``election`` to ``path`` as a Pabulib file: META (``meta``'s keys, such as
    description, country, unit, instance, rule, currency, date_begin and date_end,
    around the counts, budget, vote_type and max_length taken from the election),
    PROJECTS (project_id, cost, votes, name) and VOTES (voter_id, vote), voters by
    their pseudonymous ids, or 1 to n. The file is made readable by its owner only
    (it is residents' votes), written whole beside ``path`` and then renamed over it,
    so no one ever finds it half-written."""
    given = dict(meta or {})
    clash = [key for key in WRITTEN if key in given]
    if clash:
        raise ValueError(f"meta: {', '.join(clash)} are written from the election")
    text = io.StringIO()
    table = csv.writer(text, delimiter=";", lineterminator="\n")
    table.writerow(["META"])
    table.writerows([("key", "value"), *_meta_lines(election, given)])
    votes = {p.id: 0 for p in election.projects}
    for ballot in election.ballots:
        for project in ballot:
            votes[project] += 1
    table.writerows([("PROJECTS",), ("project_id", "cost", "votes", "name")])
    table.writerows((p.id, p.cost, votes[p.id], _one_line(p.name)) for p in election.projects)
    table.writerows([("VOTES",), ("voter_id", "vote")])
    voters = election.voter_ids or tuple(str(n) for n in range(1, len(election.ballots) + 1))
    table.writerows(
        (_one_line(v), ",".join(b)) for v, b in zip(voters, election.ballots, strict=True)
    )
    _replace(path, text.getvalue())


def _meta_lines(election: Election, given: dict[str, str]) -> list[tuple[str, str]]:
    given.setdefault("description", election.description)
    if election.currency:
        given.setdefault("currency", election.currency)
    counted = {
        "num_projects": str(len(election.projects)),
        "num_votes": str(len(election.ballots)),
        "budget": str(election.budget),
        "vote_type": "ordinal" if election.style == "ranking" else "approval",
    }
    if election.max_length is not None:
        counted["max_length"] = str(election.max_length)
    first = [(key, given.pop(key)) for key in FIRST if key in given]
    last = [(key, given.pop(key)) for key in LAST if key in given]
    lines = [*first, *counted.items(), *last, *given.items()]
    for key, _ in lines:
        if not key or key != _one_line(key).strip() or ";" in key:
            raise ValueError(f"meta: {key!r} is not a META key")
    return [(key, _one_line(value)) for key, value in lines]


def _one_line(text: str) -> str:
    """Pabulib readers split a file into lines before its fields: no line breaks."""
    return " ".join(text.splitlines())


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to a new file (mode 0600) beside ``path``, then rename it over
    ``path``: whoever reads ``path`` finds the old file or the whole new one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
