"""The one YAML loader: every YAML file assay reads (specs, the project config, rubric files, the shipped
templates) is parsed here, safely, and a key given twice in one mapping is refused with its file and lines
(plain YAML lets the last one win silently, so an edit to the first copy would quietly do nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from assay.errors import AssayError

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, line: int, first: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key, self.line, self.first = key, line, first


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a repeated key. Keys brought in by a merge (`<<: *base`) may be overridden:
    that is what YAML defines merges for."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise _DuplicateKey(key, line, seen[key])
                seen[key] = line
            except TypeError:
                continue  # an unhashable key: the constructor below reports it
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, *, source: str, error: type[AssayError]) -> Any:
    """Parse YAML text; `source` names it in errors (a file path, or a template's name)."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no arbitrary objects
    except _DuplicateKey as e:
        raise error(f"{source}: line {e.line}: duplicate key {e.key!r} (first given on line {e.first}); "
                    "give each key once") from None
    except (yaml.YAMLError, ConstructorError) as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}:" if mark is not None else ""
        raise error(f"{source}:{line} not valid YAML: {getattr(e, 'problem', None) or e}") from None


def load_yaml(path: Path, what: str, error: type[AssayError]) -> Any:
    """Read and parse one YAML file; `what` names the file's role in errors ("spec", "rubric file", ...) and
    `error` is the exception raised for an unreadable or invalid file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise error(f"can't read {what} {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise error(f"{path}: not UTF-8 text (byte {e.start}); save the {what} as UTF-8") from None
    return parse_yaml(text, source=str(path), error=error)
