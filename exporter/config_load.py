"""Build a `Config` from defaults, one YAML file, environment variables and flags, strictly.

Precedence: flags > environment > file > defaults. Everything is driven by the dataclasses in
`exporter.config`: a new section or field needs no change here.

- Every key `section.key` can be set by the environment variable `KAFKA_VITALS_SECTION_KEY` (upper
  case), e.g. `KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS`, and, unless it is a secret, by the flag
  `--section.key-with-dashes`, e.g. `--web.listen-address`. A top-level key (`collectors`) is
  `KAFKA_VITALS_COLLECTORS` / `--collectors`.
- Text values (environment, flags) are parsed by the key's type: numbers; booleans as
  true/false/yes/no/on/off/1/0; lists as comma-separated items or a JSON list (`[...]`, for
  regexes that contain commas); mappings as `k=v,k=v` or a JSON object; lists of objects
  (`jmx.targets`) as JSON.
- A secret field `x` with a sibling `x_file` may instead name a file; its content, trailing
  newline stripped, becomes the secret. Secrets are never printed, not even in error messages.
- In the file, a key whose value is null counts as not set.
- Unknown keys (with a did-you-mean), wrong types, bad enum values, bad regexes, missing required
  values and unreadable files are all collected and raised at once in one `ConfigError`, one line
  per problem, each naming the key path (and the variable or flag it came from).
- Unknown `KAFKA_VITALS_*` variables are not errors (Kubernetes injects `<SERVICE>_PORT` and
  friends for a Service named kafka-vitals); `unknown_env` lists those that look like typos.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args, get_origin, get_type_hints

import yaml

from exporter import config_check
from exporter.config import Config, Secret
from exporter.config_keys import ENV_PREFIX, field_default, keys

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


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


@dataclass(frozen=True, slots=True)
class _Text:
    """A value given as text (environment variable or flag), and where it came from."""

    text: str
    source: str


class _Invalid(Exception):
    """The value does not fit the key; the message says why (never showing a secret)."""


class _Reported(Exception):
    """The problems were already recorded deeper down."""


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, str] | None = None,
) -> Config:
    """The configuration from `path` (optional), `env` (default: os.environ) and `flags`
    (key path -> text, from the command line). Raises ConfigError listing every problem."""
    problems: list[str] = []
    raw: Any = {}
    if path is not None:
        try:
            raw = read_yaml(Path(path))
        except ConfigError as exc:
            problems.extend(exc.problems)
    file_failed = bool(problems)  # then "required" and the like would only mislead
    by_path = {k.path: k for k in keys()}
    overrides: dict[str, _Text] = {}
    environ = os.environ if env is None else env
    by_env = {k.env: k for k in by_path.values()}
    for name, text in environ.items():
        if name in by_env:
            overrides[by_env[name].path] = _Text(text, name)
    for key_path, text in (flags or {}).items():
        key = by_path[key_path]  # the CLI only passes known keys
        overrides[key_path] = _Text(text, key.flag or key.path)
    builder = _Builder(overrides)
    config: Config | None = builder.build(Config, raw, "")
    problems.extend(builder.problems)
    if config is not None and not file_failed:
        for where, message in config_check.check(config, skip=builder.bad_paths):
            problems.append(f"{_where(where, overrides)}: {message}")
    if problems or config is None:
        raise ConfigError(problems or ["cannot build the configuration"])
    return config


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


def unknown_env(env: Mapping[str, str] | None = None) -> list[str]:
    """`KAFKA_VITALS_*` variables that are no key but look like a typo of one, with a hint."""
    environ = os.environ if env is None else env
    known = [k.env for k in keys()]
    out = []
    for name in sorted(environ):
        if name.startswith(ENV_PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
            if close:
                out.append(f"{name} is not a setting (did you mean {close[0]}?)")
    return out


def _where(path: str, overrides: Mapping[str, _Text]) -> str:
    """The key path, and the variable or flag its value came from (if not from the file)."""
    for key_path, text in overrides.items():
        if path == key_path or path.startswith((f"{key_path}.", f"{key_path}[")):
            return f"{path} (from {text.source})"
    return path


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int | float):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class _Builder:
    """Turns the raw tree into dataclasses, collecting every problem on the way."""

    def __init__(self, overrides: Mapping[str, _Text]) -> None:
        self.overrides = overrides
        self.problems: list[str] = []
        self.bad_paths: set[str] = set()

    def problem(self, path: str, message: str) -> None:
        self.bad_paths.add(path)
        self.problems.append(f"{_where(path, self.overrides)}: {message}")

    def build(self, cls: Any, raw: Any, prefix: str) -> Any:
        """An instance of dataclass `cls` from a mapping, or None when a required field failed."""
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self.problem(prefix or "(top level)", f"expected a mapping, got {_describe(raw)}")
            raw = {}
        hints = get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for name in raw:
            if name not in fields:
                self._unknown(prefix, name, list(fields))
        kwargs: dict[str, Any] = {}
        for name in fields:
            path = f"{prefix}.{name}" if prefix else name
            value = self.overrides.get(path, raw.get(name))
            if value is None and _is_section(hints[name]):
                value = {}  # built anyway: overrides of its keys may apply
            if value is None:
                continue
            try:
                kwargs[name] = self.coerce(hints[name], value, path)
            except _Invalid as exc:
                self.problem(path, str(exc))
            except _Reported:
                self.bad_paths.add(path)
        for name, tp in hints.items():
            if tp is Secret and f"{name}_file" in fields:
                self._secret_from_file(kwargs, name, prefix)
        missing = [
            n
            for n, f in fields.items()
            if n not in kwargs and field_default(f) is dataclasses.MISSING
        ]
        for name in missing:
            path = f"{prefix}.{name}" if prefix else name
            if path not in self.bad_paths:
                self.problem(path, "required")
        return None if missing else cls(**kwargs)

    def _unknown(self, prefix: str, name: Any, known: list[str]) -> None:
        where = f"{prefix}.{name}" if prefix else str(name)
        hint = ""
        close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
        if close:
            hint = f" (did you mean '{close[0]}'?)"
        else:
            elsewhere = [k.path for k in keys() if k.path.rsplit(".", 1)[-1] == str(name)]
            if elsewhere:
                hint = f" (did you mean '{elsewhere[0]}'?)"
        self.problem(where, f"unknown key{hint}")

    def _secret_from_file(self, kwargs: dict[str, Any], name: str, prefix: str) -> None:
        file_key = f"{name}_file"
        file_path = kwargs.get(file_key)
        if not file_path:
            return
        where = f"{prefix}.{file_key}" if prefix else file_key
        if kwargs.get(name):
            self.problem(where, f"set either {name} or {file_key}, not both")
            return
        try:
            content = Path(file_path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            self.problem(where, f"cannot read '{file_path}': {exc.strerror or exc}")
            return
        except UnicodeDecodeError:
            self.problem(where, f"'{file_path}' is not UTF-8 text")
            return
        except ValueError as exc:  # e.g. a NUL in the file name
            self.problem(where, f"cannot read {file_path!r}: {exc}")
            return
        if not content:
            self.problem(where, f"'{file_path}' is empty")
            return
        kwargs[name] = Secret(content)

    def coerce(self, tp: Any, value: Any, path: str) -> Any:
        if isinstance(value, _Text):
            return self._from_text(tp, value.text, path)
        if value is None:
            raise _Invalid("expected a value, got null")
        origin = get_origin(tp)
        if _is_section(tp):
            built = self.build(tp, value, path)
            if built is None:
                raise _Reported
            return built
        if tp is bool:
            if isinstance(value, bool):
                return value
            raise _Invalid(f"expected true or false, got {_describe(value)}")
        if tp is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            raise _Invalid(f"expected an integer, got {_describe(value)}")
        if tp is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                if not math.isfinite(value):
                    raise _Invalid(f"expected a finite number, got {value!r}")
                return float(value)
            raise _Invalid(f"expected a number, got {_describe(value)}")
        if tp is str:
            if isinstance(value, str):
                return value
            raise _Invalid(f"expected a string, got {_describe(value)}")
        if tp is Secret:
            if isinstance(value, str):
                return Secret(value)
            raise _Invalid("expected a string (value not shown: it is a secret)")
        if origin is Literal:
            return _choice(tp, value)
        if origin is tuple:
            return self._sequence(get_args(tp)[0], value, path)
        if origin in (Mapping, dict):
            return self._mapping(get_args(tp)[1], value, path)
        raise TypeError(f"{path}: unsupported config type {tp!r}")  # a programming error

    def _sequence(self, item_type: Any, value: Any, path: str) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise _Invalid(f"expected a list, got {_describe(value)}")
        items = []
        for i, item in enumerate(value):
            try:
                items.append(self.coerce(item_type, item, f"{path}[{i}]"))
            except _Invalid as exc:
                self.problem(f"{path}[{i}]", str(exc))
            except _Reported:
                pass
        if len(items) != len(value):  # later checks would name the wrong index
            self.bad_paths.add(path)
        return tuple(items)

    def _mapping(self, value_type: Any, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise _Invalid(f"expected a mapping, got {_describe(value)}")
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                self.problem(f"{path}.{k}", f"keys must be strings, got {_describe(k)}")
                continue
            try:
                out[k] = self.coerce(value_type, v, f"{path}.{k}")
            except _Invalid as exc:
                self.problem(f"{path}.{k}", str(exc))
        return MappingProxyType(out)

    def _from_text(self, tp: Any, text: str, path: str) -> Any:
        """A value given as text: parse it by the key's type, then coerce as from the file."""
        origin = get_origin(tp)
        if tp in (str, Secret) or origin is Literal:
            return self.coerce(tp, text, path)
        if tp is bool:
            if text.strip().lower() in _TRUE | _FALSE:
                return text.strip().lower() in _TRUE
            raise _Invalid(f"expected true or false, got {text!r}")
        if tp in (int, float):
            try:
                number = int(text) if tp is int else float(text)
            except ValueError:
                kind = "an integer" if tp is int else "a number"
                raise _Invalid(f"expected {kind}, got {text!r}") from None
            return self.coerce(tp, number, path)
        stripped = text.strip()
        if origin is tuple:
            if stripped.startswith("["):
                return self.coerce(tp, _json(stripped), path)
            item_type = get_args(tp)[0]
            if dataclasses.is_dataclass(item_type):
                raise _Invalid("expected a JSON list of objects")
            items = [s.strip() for s in stripped.split(",") if s.strip()]
            return self.coerce(tp, [_Text(s, "") for s in items], path)
        if origin in (Mapping, dict):
            if stripped.startswith("{"):
                return self.coerce(tp, _json(stripped), path)
            pairs: dict[str, Any] = {}
            for item in (s.strip() for s in stripped.split(",") if s.strip()):
                k, sep, v = item.partition("=")
                if not sep or not k.strip():
                    raise _Invalid(f"expected k=v,k=v or a JSON object, got {item!r}")
                pairs[k.strip()] = _Text(v.strip(), "")
            return self.coerce(tp, pairs, path)
        raise TypeError(f"{path}: unsupported config type {tp!r}")  # a programming error


def _is_section(tp: Any) -> bool:
    return dataclasses.is_dataclass(tp) and tp is not Secret


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Invalid(f"invalid JSON at column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise _Invalid("invalid JSON: nested too deeply") from None


def _choice(tp: Any, value: Any) -> str:
    choices = [str(c) for c in get_args(tp)]
    if isinstance(value, str):
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
    shown = ", ".join(repr(c) for c in choices)
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise _Invalid(f"must be one of {shown}, got {_describe(value)}{hint}")
