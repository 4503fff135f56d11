"""Read a user's overrides YAML into a `Thresholds`, strictly.

The file mirrors `Thresholds`: one mapping per section, one key per field (`for` for `for_`).
Unknown keys, wrong types, malformed durations, selectors or label names are all collected and
reported at once, one line each with the key path, in an `OverridesError`.

    consumer_lag:
      messages: 50000
      for: 15m
    common:
      selector: 'job="kafka-vitals", env="prod"'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args, get_origin, get_type_hints

import yaml

from alerts.promql import LABEL_NAME, parse_selector
from alerts.thresholds import DEFAULT, Thresholds, is_duration
from exporter.catalog import BY_NAME

DURATION_FIELDS = frozenset(
    {
        "for_",
        "keep_firing_for",
        "window",
        "offset",
        "baseline_window",
        "baseline_offset",
        "group_wait",
        "group_interval",
        "repeat_interval",
    }
)
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_K8S_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_QUANTILE = re.compile(r"^0\.\d+$")


class OverridesError(ValueError):
    """Every problem found in an overrides file, one line each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice", mark)
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def yaml_key(field_name: str) -> str:
    """The key a field has in the overrides file (`for_` is written `for`)."""
    return field_name.rstrip("_")


def load(path: Path) -> Thresholds:
    """Thresholds from DEFAULT with the file's overrides applied; OverridesError if invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OverridesError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise OverridesError([f"{path}: not valid YAML{where}: {problem}"]) from None
    errors: list[str] = []
    result = apply(data if data is not None else {}, DEFAULT, errors)
    if errors:
        raise OverridesError([f"{path}: {e}" for e in errors])
    return result


def apply(data: object, base: Thresholds, errors: list[str]) -> Thresholds:
    """`base` with `data` (parsed YAML) applied; problems are appended to `errors`."""
    out = _section(data, base, "", errors)
    assert isinstance(out, Thresholds)
    return out


def _section(data: object, base: Any, path: str, errors: list[str]) -> Any:
    if not isinstance(data, Mapping):
        errors.append(f"{path or '(top level)'}: must be a mapping, got {_kind(data)}")
        return base
    hints = get_type_hints(type(base))
    by_key = {yaml_key(f.name): f for f in fields(base)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        key_path = f"{path}.{key}" if path else str(key)
        f = by_key.get(key) if isinstance(key, str) else None
        if f is None:
            errors.append(f"{key_path}: unknown key (known: {', '.join(sorted(by_key))})")
            continue
        current = getattr(base, f.name)
        if is_dataclass(current):
            changes[f.name] = _section(value, current, key_path, errors)
            continue
        checked = _value(value, hints[f.name], f.name, key_path, errors)
        if checked is not None:
            changes[f.name] = checked
    return replace(base, **changes) if changes else base


def _value(value: object, hint: Any, name: str, path: str, errors: list[str]) -> Any:
    """The validated value, or None after appending an error."""
    before = len(errors)
    result: Any = None
    origin = get_origin(hint)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(f"{path}: must be a number, got {_kind(value)}")
        elif not math.isfinite(value) or value < 0:
            errors.append(f"{path}: must be a finite number >= 0, got {value}")
        else:
            result = float(value)
    elif hint is str:
        if not isinstance(value, str):
            errors.append(f"{path}: must be a string, got {_kind(value)}")
        else:
            result = value
    elif origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            errors.append(f"{path}: must be one of {', '.join(allowed)}, got {value!r}")
        else:
            result = value
    elif origin is Mapping:
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            errors.append(f"{path}: must be a mapping of strings to strings")
        else:
            result = MappingProxyType(dict(value))
    elif origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            errors.append(f"{path}: must be a list of strings")
        else:
            result = tuple(value)
    else:  # pragma: no cover - a field type this loader does not know
        errors.append(f"{path}: cannot be overridden")
    if result is not None:
        _check(result, name, path, errors)
    return result if len(errors) == before else None


def _check(value: Any, name: str, path: str, errors: list[str]) -> None:
    """Field-specific rules beyond the type."""
    if name in DURATION_FIELDS and not is_duration(value):
        errors.append(
            f"{path}: must be a Prometheus duration such as 30s, 10m or 1h, got {value!r}"
        )
    elif name == "selector":
        try:
            parse_selector(value)
        except ValueError as exc:
            errors.append(f"{path}: {exc}")
    elif name == "cluster_label" and value and not LABEL_NAME.match(value):
        errors.append(f"{path}: not a valid label name: {value!r}")
    elif name == "extra_labels":
        for key in value:
            if not LABEL_NAME.match(key) or key in ("severity", "alertname"):
                errors.append(f"{path}.{key}: not a label name an alert may carry")
    elif name == "crd_labels":
        for key in value:
            if not _K8S_LABEL_KEY.match(key):
                errors.append(f"{path}.{key}: not a valid Kubernetes label key")
    elif name == "crd_name" and not _K8S_NAME.match(value):
        errors.append(f"{path}: not a valid Kubernetes object name: {value!r}")
    elif name == "families":
        for family in value:
            if family not in BY_NAME:
                errors.append(f"{path}: {family!r} is not a metric family of kafka-vitals")
    elif name == "quantile" and not _QUANTILE.match(value):
        errors.append(f"{path}: must be a quantile such as 0.99, got {value!r}")
    elif name == "drop_ratio" and not 0 < value < 1:
        errors.append(f"{path}: must be between 0 and 1 (exclusive), got {value}")
    elif name == "factor" and value <= 1:
        errors.append(f"{path}: must be above 1, got {value}")
    elif name in ("webhook_url", "runbook_url_base") and not value.startswith(
        ("http://", "https://")
    ):
        errors.append(f"{path}: must be an http:// or https:// URL")


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
