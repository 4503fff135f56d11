"""The keys of the configuration: dotted path, type, default, environment variable and flag.

Derived from the dataclasses in `exporter.config.model`, so the loader, the command-line flags
and the generated reference docs all agree: key `section.key` is the variable
`KAFKA_VITALS_SECTION_KEY` and the flag `--section.key-with-dashes`; secrets have no flag.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_type_hints

from exporter.config.binder import field_default
from exporter.config.kinds import Secret
from exporter.config.model import Config

ENV_PREFIX = "KAFKA_VITALS_"
PREFERRED_FLAGS = {"web.config_file": "--web.config.file"}
"""Flags spelled as Prometheus exporters spell them; the generic spelling stays an alias."""


@dataclass(frozen=True, slots=True)
class Key:
    """One settable key of the configuration."""

    path: str
    """Dotted key path, e.g. `kafka.bootstrap_servers`."""
    type: Any
    """The field's type annotation."""
    default: Any
    """The default value (`dataclasses.MISSING` when the field is required)."""
    env: str
    flag: str | None
    """None for secrets: they never go on a command line, where anyone can read them."""
    flag_aliases: tuple[str, ...] = ()
    """Other spellings of the flag."""

    @property
    def secret(self) -> bool:
        return self.type is Secret


@functools.cache
def keys() -> tuple[Key, ...]:
    """Every key settable by file, environment and flag: section fields and top-level fields."""
    out: list[Key] = []
    hints = get_type_hints(Config)
    for section in dataclasses.fields(Config):
        tp = hints[section.name]
        if not dataclasses.is_dataclass(tp):
            out.append(_key(section.name, tp, field_default(section)))
            continue
        section_hints = get_type_hints(tp)
        for f in dataclasses.fields(tp):
            out.append(_key(f"{section.name}.{f.name}", section_hints[f.name], field_default(f)))
    return tuple(out)


def _key(path: str, tp: Any, default: Any) -> Key:
    env = ENV_PREFIX + path.replace(".", "_").upper()
    flag = None if tp is Secret else "--" + path.replace("_", "-")
    if path in PREFERRED_FLAGS:
        return Key(path, tp, default, env, PREFERRED_FLAGS[path], (flag,) if flag else ())
    return Key(path, tp, default, env, flag)


def _show(path: str, value: Any) -> str:
    if isinstance(value, Secret):
        return "<hidden>" if value else ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ", ".join(
            _show(path, v) if not dataclasses.is_dataclass(v) else _show_item(v) for v in value
        )
    if isinstance(value, Mapping):
        hide = path.endswith("extra_properties")  # librdkafka properties may carry secrets
        return ", ".join(f"{k}={'<hidden>' if hide else _show(path, v)}" for k, v in value.items())
    return str(value)


def _show_item(item: Any) -> str:
    parts = [
        f"{f.name}={_show(f.name, getattr(item, f.name))}"
        for f in dataclasses.fields(item)
        if getattr(item, f.name) not in ("", None) and not isinstance(getattr(item, f.name), Secret)
    ]
    return "{" + " ".join(parts) + "}"


def summary(config: Config, *, changed_only: bool = False) -> tuple[tuple[str, str], ...]:
    """(key path, value shown) for every key; secret values shown only as `<hidden>`."""
    out = []
    for key in keys():
        value: Any = config
        for part in key.path.split("."):
            value = getattr(value, part)
        if changed_only and value == key.default:
            continue
        out.append((key.path, _show(key.path, value)))
    return tuple(out)
