"""The one strict binder of a parsed YAML tree (and text overrides) to frozen dataclasses.

Used by the exporter configuration (`exporter.config.load`) and by the bundle's overrides file
alike. Everything is driven by the dataclasses' type hints:

- a field `for_` is the key `for` (a trailing underscore dodges a Python keyword);
- unknown keys (with a did-you-mean, also to a key of the same name in another section), wrong
  types, bad enum values and missing required values are all collected, one problem per key path;
- text values (environment variables, flags) are parsed by the field's type: numbers; booleans as
  true/false/yes/no/on/off/1/0; lists as comma-separated items or a JSON list; mappings as
  `k=v,k=v` or a JSON object; lists of objects as JSON;
- a secret field `x` with a sibling `x_file` may instead name a file whose content (trailing
  newline stripped) becomes the secret; secrets never appear in a message;
- a key whose value is null counts as not set;
- with a `base` instance, keys not given keep the base's values (an overrides file); without one,
  the fields' defaults apply;
- a `rule(path, field name, value)` handed in by the caller checks each value beyond its type,
  right where it is bound, so problems come out in the order of the file.

Why hand-written rather than a library (pydantic, cattrs, dacite, msgspec were weighed): the
text parsing of environment variables and flags, secrets read from `*_file` siblings, the
"(from VARIABLE)" attribution and the did-you-mean hints would all still be ours; a library would
add a compiled dependency to the image and change every error message, while this binder is about
300 lines with every branch under test and stricter than the libraries' defaults (no coercion of
"1" to 1 in a file, no bool accepted as a number).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args, get_origin, get_type_hints

from exporter.config.kinds import Secret

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})

Rule = Callable[[str, str, Any], list[tuple[str, str]]]
"""(key path, field name, bound value) -> its problems as (key path, message); none if fine."""


@dataclass(frozen=True, slots=True)
class Text:
    """A value given as text (environment variable or flag), and where it came from."""

    text: str
    source: str


class _Invalid(Exception):
    """The value does not fit the key; the message says why (never showing a secret)."""


_FAILED = object()
"""A value whose problems were recorded."""


class _Reported(Exception):
    """The problems were already recorded deeper down."""


def key_name(field_name: str) -> str:
    """The key a field has in a file (`for_` is written `for`)."""
    return field_name.rstrip("_")


def field_default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def key_paths(cls: Any, prefix: str = "") -> Iterator[str]:
    """Every leaf key path of dataclass `cls` (sections walked, lists of objects not)."""
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}.{key_name(f.name)}" if prefix else key_name(f.name)
        if _is_section(hints[f.name]):
            yield from key_paths(hints[f.name], path)
        else:
            yield path


def where(path: str, overrides: Mapping[str, Text]) -> str:
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


class Binder:
    """Turns a raw tree into dataclasses, collecting every problem on the way.

    `overrides`: key path -> text given outside the file (environment, flags), which wins over the
    file. `rule`: the caller's checks of each bound value beyond its type.
    """

    def __init__(
        self, overrides: Mapping[str, Text] | None = None, *, rule: Rule | None = None
    ) -> None:
        self.overrides: Mapping[str, Text] = overrides or {}
        self.rule = rule
        self.problems: list[str] = []
        self.bad_paths: set[str] = set()
        self._root: Any = None

    def problem(self, path: str, message: str) -> None:
        self.bad_paths.add(path)
        self.problems.append(f"{where(path, self.overrides)}: {message}")

    def bind(self, cls: Any, raw: Any, base: Any = None) -> Any:
        """An instance of dataclass `cls` from the parsed tree `raw` (keys not given: from `base`
        when given, else the defaults), or None when a required field failed."""
        self._root = cls
        return self.build(cls, raw, "", base)

    def build(self, cls: Any, raw: Any, prefix: str, base: Any = None) -> Any:
        """An instance of dataclass `cls` from a mapping, or None when a required field failed."""
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self.problem(prefix or "(top level)", f"expected a mapping, got {_describe(raw)}")
            raw = {}
        hints = get_type_hints(cls)
        fields = {key_name(f.name): f for f in dataclasses.fields(cls)}
        for name in raw:
            if name not in fields:
                self._unknown(prefix, name, list(fields))
        kwargs: dict[str, Any] = {}
        for key, f in fields.items():
            path = f"{prefix}.{key}" if prefix else key
            value = self.overrides.get(path, raw.get(key))
            tp = hints[f.name]
            inner = getattr(base, f.name) if base is not None else None
            if value is None and _is_section(tp):
                value = {}  # built anyway: overrides of its keys may apply
            if value is None:
                if base is not None:
                    kwargs[f.name] = inner
                continue
            bound = self._bind_value(tp, value, path, inner, f.name)
            if bound is not _FAILED:
                kwargs[f.name] = bound
            elif base is not None:
                kwargs[f.name] = inner  # reported: the base value stays
        for name, tp in hints.items():
            if tp is Secret and f"{name}_file" in fields:
                self._secret_from_file(kwargs, name, prefix)
        missing = [
            f.name
            for f in fields.values()
            if f.name not in kwargs and field_default(f) is dataclasses.MISSING
        ]
        for name in missing:
            path = f"{prefix}.{name}" if prefix else name
            if path not in self.bad_paths:
                self.problem(path, "required")
        return None if missing else cls(**kwargs)

    def _bind_value(self, tp: Any, value: Any, path: str, inner: Any, name: str) -> Any:
        """The bound value, or _FAILED after recording its problems."""
        try:
            bound = self.coerce(tp, value, path, inner if _is_section(tp) else None)
        except _Invalid as exc:
            self.problem(path, str(exc))
            return _FAILED
        except _Reported:
            self.bad_paths.add(path)
            return _FAILED
        refused = [] if self.rule is None else self.rule(path, name, bound)
        for at, message in refused:
            self.problem(at, message)
        return _FAILED if refused else bound

    def _unknown(self, prefix: str, name: Any, known: list[str]) -> None:
        path = f"{prefix}.{name}" if prefix else str(name)
        hint = ""
        close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
        if close:
            hint = f" (did you mean '{close[0]}'?)"
        elif self._root is not None:
            elsewhere = [p for p in key_paths(self._root) if p.rsplit(".", 1)[-1] == str(name)]
            if elsewhere:
                hint = f" (did you mean '{elsewhere[0]}'?)"
        self.problem(path, f"unknown key{hint}")

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

    def coerce(self, tp: Any, value: Any, path: str, base: Any = None) -> Any:
        if isinstance(value, Text):
            return self._from_text(tp, value.text, path)
        if value is None:
            raise _Invalid("expected a value, got null")
        origin = get_origin(tp)
        if _is_section(tp):
            built = self.build(tp, value, path, base)
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
            return self.coerce(tp, [Text(s, "") for s in items], path)
        if origin in (Mapping, dict):
            if stripped.startswith("{"):
                return self.coerce(tp, _json(stripped), path)
            pairs: dict[str, Any] = {}
            for item in (s.strip() for s in stripped.split(",") if s.strip()):
                k, sep, v = item.partition("=")
                if not sep or not k.strip():
                    raise _Invalid(f"expected k=v,k=v or a JSON object, got {item!r}")
                pairs[k.strip()] = Text(v.strip(), "")
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
