"""Read a user's overrides YAML into a `BundleConfig`, strictly.

The file mirrors `BundleConfig`: one mapping per section, one key per field (`for` for `for_`).
It is read and bound by the configuration's one strict loader (`exporter.config`): unknown keys,
wrong types, malformed durations, selectors or label names are all collected and reported at once,
one line each with the key path, in a `ConfigError`. The rules beyond the types (`rule`) live here,
with the thresholds, and are handed to the binder.

    consumer_lag:
      messages: 50000
      for: 15m
    common:
      selector: 'job="kafka-vitals", env="prod"'
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from bundle.config import DEFAULT, BundleConfig, is_duration
from bundle.core.promql import LABEL_NAME, parse_selector
from exporter.catalog import BY_NAME
from exporter.config.binder import Binder, key_name
from exporter.config.check import Problem
from exporter.config.yamlfile import ConfigError, read_yaml

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

yaml_key = key_name
"""The key a field has in the overrides file (`for_` is written `for`)."""


def load(path: Path) -> BundleConfig:
    """Thresholds from DEFAULT with the file's overrides applied; ConfigError if invalid."""
    data = read_yaml(path)
    errors: list[str] = []
    result = apply(data, DEFAULT, errors)
    if errors:
        raise ConfigError([f"{path}: {e}" for e in errors])
    return result


def apply(data: object, base: BundleConfig, errors: list[str]) -> BundleConfig:
    """`base` with `data` (parsed YAML) applied; problems are appended to `errors`."""
    binder = Binder(rule=rule)
    out = binder.bind(BundleConfig, data, base)
    errors.extend(binder.problems)
    return out if isinstance(out, BundleConfig) else base


def rule(path: str, name: str, value: Any) -> list[Problem]:
    """The problems of one bound value beyond its type: (key path, message) each."""
    errors: list[Problem] = []
    _check(value, name, path, errors)
    return errors


def _check(value: Any, name: str, path: str, errors: list[Problem]) -> None:
    """Field-specific rules beyond the type."""
    if isinstance(value, float) and (not math.isfinite(value) or value < 0):
        errors.append((path, f"must be a finite number >= 0, got {value}"))
    elif name in DURATION_FIELDS and not is_duration(value):
        errors.append(
            (path, f"must be a Prometheus duration such as 30s, 10m or 1h, got {value!r}")
        )
    elif name == "selector":
        try:
            parse_selector(value)
        except ValueError as exc:
            errors.append((path, str(exc)))
    elif name == "cluster_label" and value and not LABEL_NAME.match(value):
        errors.append((path, f"not a valid label name: {value!r}"))
    elif name == "extra_labels":
        for key in value:
            if not LABEL_NAME.match(key) or key in ("severity", "alertname"):
                errors.append((f"{path}.{key}", "not a label name an alert may carry"))
    elif name == "crd_labels":
        for key in value:
            if not _K8S_LABEL_KEY.match(key):
                errors.append((f"{path}.{key}", "not a valid Kubernetes label key"))
    elif name == "crd_name" and not _K8S_NAME.match(value):
        errors.append((path, f"not a valid Kubernetes object name: {value!r}"))
    elif name == "families":
        for family in value:
            if family not in BY_NAME:
                errors.append((path, f"{family!r} is not a metric family of kafka-vitals"))
    elif name == "quantile" and not _QUANTILE.match(value):
        errors.append((path, f"must be a quantile such as 0.99, got {value!r}"))
    elif name == "drop_ratio" and not 0 < value < 1:
        errors.append((path, f"must be between 0 and 1 (exclusive), got {value}"))
    elif name == "factor" and value <= 1:
        errors.append((path, f"must be above 1, got {value}"))
    elif name in ("webhook_url", "runbook_url_base") and not value.startswith(
        ("http://", "https://")
    ):
        errors.append((path, "must be an http:// or https:// URL"))
