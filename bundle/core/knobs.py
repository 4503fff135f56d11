"""What every threshold section is built from: severities, durations, fields with their reasons.

A section field is declared with `knob(default, why)`; the reason lands in the field's metadata,
where `why()` reads it for the docs, the dashboards and the lint.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field, fields
from types import MappingProxyType
from typing import Any, Literal

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")

_DURATION = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}

SHORT_FOR = "Long enough that one failed or late scrape (30 s interval) cannot fire it alone."


def is_duration(text: str) -> bool:
    """True if `text` is a Prometheus duration such as `90s`, `10m` or `1h30m`."""
    return bool(_DURATION.match(text))


def seconds(duration: str) -> float:
    """A Prometheus duration (`1h30m`) in seconds."""
    if not is_duration(duration):
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    return sum(
        float(n) * _UNIT_SECONDS[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration)
    )


def knob(default: Any, why: str) -> Any:
    """A field with a default and the reason for it."""
    if isinstance(default, Mapping):
        frozen = MappingProxyType(dict(default))
        return field(default_factory=lambda: frozen, metadata={"why": why})
    return field(default=default, metadata={"why": why})


def reason(text: str) -> dict[str, str]:
    """Field metadata holding the reason, for fields declared with `field()` directly."""
    return {"why": text}


def why(section: object, name: str) -> str:
    """The reason recorded for a field's default."""
    for f in fields(section):  # type: ignore[arg-type]
        if f.name == name:
            return str(f.metadata.get("why", ""))
    raise KeyError(name)
