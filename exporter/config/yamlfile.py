"""The strict YAML reader of every configuration file, and the error that lists every problem.

`read_yaml` refuses duplicate keys (a safe loader otherwise keeps the last one silently) and turns
parse errors into one line with file:line:column. `ConfigError` carries one line per problem, with
control characters escaped (a key name may hold a newline).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    """Every problem found in the configuration, one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        lines = tuple(_one_line(p) for p in problems)
        super().__init__("\n".join(lines))
        self.problems = lines


def _one_line(text: str) -> str:
    """The text with control characters escaped (a key name may hold a newline)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def read_yaml(path: Path) -> Any:
    """The parsed YAML file. Parse errors and duplicate keys raise ConfigError (file:line:col)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"cannot read '{path}': {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason})"]) from None
    except ValueError as exc:  # e.g. a NUL in the file name
        raise ConfigError([f"cannot read {str(path)!r}: {exc}"]) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        what = ": ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise ConfigError([f"{where}: {what}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: invalid YAML: {exc}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: invalid YAML: nested too deeply"]) from None


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys instead of keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool):
                continue  # an unhashable key is refused by the base class, with its position
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)
