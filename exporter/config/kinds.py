"""The value kinds of the configuration model: `Secret` (a string that never shows itself) and
the closed sets of choices of its fields (`Literal` types), shared by the model, the binder, the
keys and the parts that read the settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret string that never shows itself in repr/str."""

    value: str = field(default="", repr=False)

    def __str__(self) -> str:
        return "<secret>" if self.value else ""

    def __repr__(self) -> str:
        return "Secret(<hidden>)" if self.value else "Secret('')"

    def __bool__(self) -> bool:
        return bool(self.value)


SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
LagGranularity = Literal["partition", "topic"]
LagSecondsMode = Literal["interpolated", "exact", "auto"]
JmxRole = Literal["broker", "client"]
LogLevel = Literal["debug", "info", "warn", "error"]
LogFormat = Literal["logfmt", "json"]
CommittedSource = Literal["admin", "log", "auto"]
SubjectStrategy = Literal["topic", "topic_record", "record"]
Scope = Literal["cluster", "broker", "shard"]
ProbeAcks = Literal["all", "1"]
