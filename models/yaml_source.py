"""YAML with positions: a validation error names the file, the line and the field."""

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


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping giving the same key twice, where PyYAML would keep the last silently."""

    def construct_document(self, node: yaml.Node) -> Any:
        _check_unique_keys(node, [], set())
        return super().construct_document(node)


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


def load_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror}") from exc
    loader = UniqueKeyLoader(text)
    try:
        # One parse: the node tree (for error lines) and the data built from it.
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except DuplicateKey as exc:
        field = ".".join(str(p) for p in exc.loc)
        raise InvalidInput(f"{path}:{exc.line}: {field}: duplicate key {exc.key!r} "
                           f"(already given on line {exc.first_line})") from exc
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
