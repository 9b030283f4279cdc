"""YAML with positions: every error, from undecodable bytes to an impossible date to a failed validation, is one
line naming the file, the line and the field (`neaspec.yaml:37: stages.2.window.end: 2025-02-30 is not a date
(day is out of range for month)`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from models.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """Follow a pydantic error location through the YAML node tree to the line it points at."""
    line = None if node is None else node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
            if child is None:
                break
            node = child
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


class DuplicateKey(yaml.YAMLError):
    def __init__(self, loc: list[int | str], key: str, line: int, first_line: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.loc, self.key, self.line, self.first_line = loc, key, line, first_line


class BadValue(yaml.YAMLError):
    """A scalar PyYAML parsed but could not build (2025-02-30 is a timestamp by its form, not a date)."""

    def __init__(self, node: yaml.Node, problem: str) -> None:
        super().__init__(problem)
        self.node, self.problem = node, problem


_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping giving the same key twice, where PyYAML would keep the last silently, and
    that says which value it could not build (PyYAML raises a bare ValueError for an impossible date)."""

    def construct_document(self, node: yaml.Node) -> Any:
        _check_unique_keys(node, [], set())
        return super().construct_document(node)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            value = node.value if isinstance(node, yaml.ScalarNode) else node.tag
            what = "a date" if node.tag == _TIMESTAMP_TAG else f"a valid {node.tag.rsplit(':', 1)[-1]}"
            raise BadValue(node, f"{value} is not {what} ({exc})") from exc


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _check_unique_keys(node: yaml.Node, loc: list[int | str], seen_nodes: set[int]) -> None:
    if id(node) in seen_nodes:  # an alias: checked where its anchor is
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            # A merge key (<<) may be overridden by the mapping's own keys: that is not a duplicate.
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                ident = (key_node.tag, key_node.value)
                line = key_node.start_mark.line + 1
                if ident in first:
                    raise DuplicateKey(loc + [key_node.value], key_node.value, line, first[ident])
                first[ident] = line
                _check_unique_keys(value_node, loc + [key_node.value], seen_nodes)
            else:
                _check_unique_keys(value_node, loc, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_unique_keys(item, loc + [index], seen_nodes)


def _path_to(root: yaml.Node, target: yaml.Node) -> list[int | str]:
    """The keys and indexes leading from `root` to `target`, for naming the field of an error."""
    stack: list[tuple[yaml.Node, list[int | str]]] = [(root, [])]
    seen: set[int] = set()
    while stack:
        node, loc = stack.pop()
        if node is target:
            return loc
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack += [
                (value, loc + [key.value if isinstance(key, yaml.ScalarNode) else "?"]) for key, value in node.value
            ]
        elif isinstance(node, yaml.SequenceNode):
            stack += [(item, loc + [index]) for index, item in enumerate(node.value)]
    return []


_BOMS = {b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


def read_utf8(path: Path) -> str:
    """A source file's text. UTF-8 only (a leading UTF-8 byte-order mark, as spreadsheets write it, is dropped);
    anything else is refused with the line of the first byte that is not UTF-8."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        encoding = _BOMS.get(raw[:2])
        if encoding:
            raise InvalidInput(
                f"{path}:1: the file is {encoding} text (it starts with the bytes "
                f"{raw[0]:02X} {raw[1]:02X}): save it as UTF-8"
            ) from exc
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InvalidInput(
            f"{path}:{line}: byte {raw[exc.start]:02X} (column {column}) is not UTF-8 text: save the file as UTF-8"
        ) from exc


def load_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    text = read_utf8(path)
    loader = UniqueKeyLoader(text)
    node: yaml.Node | None = None
    try:
        # One parse: the node tree (for error lines) and the data built from it.
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except DuplicateKey as exc:
        field = ".".join(str(p) for p in exc.loc)
        raise InvalidInput(
            f"{path}:{exc.line}: {field}: duplicate key {exc.key!r} (already given on line {exc.first_line})"
        ) from exc
    except BadValue as exc:
        field = ".".join(str(p) for p in _path_to(node, exc.node)) if node is not None else ""
        raise InvalidInput(f"{path}:{exc.node.start_mark.line + 1}: {field or '(document)'}: {exc.problem}") from exc
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, other controls)
        line = text[: exc.position].count("\n") + 1
        raise InvalidInput(f"{path}:{line}: character U+{exc.character:04X} is not allowed in YAML") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInput(f"{where}: malformed YAML: {problem}") from exc
    finally:
        loader.dispose()
    return data, node


def validate(model: type[M], data: Any, node: yaml.Node | None, path: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [p for p in first["loc"] if isinstance(p, int | str)]
        line = _line_of(node, loc)
        field = ".".join(str(p) for p in loc) or "(document)"
        where = f"{path}:{line}" if line else str(path)
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidInput(f"{where}: {field}: {message}{more}") from exc
