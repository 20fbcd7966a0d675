"""YAML that remembers where things were written, so errors can say ``file:line``.

Mappings load as :class:`LineMap` and sequences as :class:`LineList`, plain ``dict`` and
``list`` subclasses that also carry the 1-based line of the node and of each key/item.

This is the one way Parley reads YAML (flows, ``triggers.yaml``, a broadcast's
``--file``), safe on a hostile file: no aliases (``*name``: a few lines of them can
expand to gigabytes, and Parley's files never need them), at most ``MAX_DEPTH`` levels
of nesting, at most ``MAX_BYTES`` of UTF-8 text. Every refusal names a line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

MAX_BYTES = 1_000_000
MAX_DEPTH = 50


class Refused(ComposerError):
    """YAML that parses but that Parley will not load (an alias, too deep)."""


class SourceError(Exception):
    """A YAML file that cannot be read as text: ``line`` and what is wrong."""

    def __init__(self, line: int, what: str) -> None:
        super().__init__(what)
        self.line = line
        self.what = what


class LineMap(dict[str, Any]):
    line: int
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    line: int
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


# libyaml comes with PyYAML's wheels; a build without it reads the same, only slower.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader with YAML 1.2 booleans: only true/false, so 'on', 'yes' and 'No' stay
    text. The text is scanned and composed by libyaml (C, about ten times faster than
    PyYAML's own parser: every flow is read at each start); :func:`load_yaml` refuses
    aliases and deep nesting from libyaml's events before anything is composed."""


_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_map(loader: _LineLoader, node: MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    result = LineMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key = str(key) if not isinstance(key, str) else key
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_list(loader: _LineLoader, node: SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_list)


def _construct_int(loader: _LineLoader, node: ScalarNode) -> int:
    try:
        return int(loader.construct_yaml_int(node))
    except ValueError:  # more digits than Python converts
        raise ConstructorError(None, None, "this number is too long", node.start_mark) from None


_LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_yaml(text: str) -> Any:
    """Parse YAML text; raises ``yaml.MarkedYAMLError`` (with a mark) on bad syntax and
    :class:`Refused` on what Parley will not load."""
    if len(text) > MAX_BYTES:
        raise Refused(None, None, f"larger than {MAX_BYTES} bytes", None)
    _check_events(text)
    return yaml.load(text, Loader=_LineLoader)


def _check_events(text: str) -> None:
    """Refuse an alias or nesting deeper than ``MAX_DEPTH`` from the document's events,
    before it is composed (a few lines of aliases can expand to gigabytes)."""
    depth = 0
    try:
        events = list(yaml.parse(text, Loader=_SafeLoader))
    except yaml.MarkedYAMLError as error:
        if "maximum nesting depth" in str(error.problem):  # libyaml's own limit, 1,000
            raise _refused(
                f"nested more than {MAX_DEPTH} levels deep", error.problem_mark
            ) from None
        raise
    for event in events:
        if isinstance(event, yaml.AliasEvent):
            what = "aliases (*name) are not allowed here: write the value out in full"
            raise _refused(what, event.start_mark)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _refused(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _refused(what: str, mark: Any) -> Refused:
    """A refusal at ``mark`` (libyaml's marks are their own class, alike in use)."""
    return Refused(None, None, what, mark)


def read_source(path: Path) -> str:
    """A YAML file's text, refused (:class:`SourceError`) when larger than ``MAX_BYTES``
    (before reading it) or not UTF-8."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise SourceError(1, f"the file is larger than {MAX_BYTES // 1_000_000} MB")
        data = path.read_bytes()
    except OSError as error:
        raise SourceError(1, f"cannot be read: {error.strerror or error}") from None
    if len(data) > MAX_BYTES:  # grew while being read
        raise SourceError(1, f"the file is larger than {MAX_BYTES // 1_000_000} MB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise SourceError(line, "not UTF-8 text (save the file as UTF-8)") from None


def problem_of(error: yaml.MarkedYAMLError, hint: bool = True) -> tuple[int, str]:
    """The line and the words for a YAML error (with ``hint``, a hint on indentation
    where it is likely the cause)."""
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark else 1
    what = str(error.problem or error)
    if isinstance(error, Refused):
        return line, what
    if hint and not isinstance(error, ConstructorError):
        what += " (check the indentation of this line and the one above)"
    return line, f"not valid YAML: {what}"


def load_file(path: Path) -> Any:
    """Read and parse a YAML file; every problem is a :class:`SourceError`."""
    text = read_source(path)
    try:
        return load_yaml(text)
    except yaml.MarkedYAMLError as error:
        raise SourceError(*problem_of(error)) from None
