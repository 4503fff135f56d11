"""What the Schema Registry source hands to the collectors: plain frozen dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

CompatibilitySource = Literal["subject", "global", "unknown"]
"""Where a subject's compatibility level comes from: its own setting, the global level (the
registry said the subject has none), or unknown (the registry answers a subject's config with the
global level when it has none, as Apicurio does, and the two are equal)."""


@dataclass(frozen=True, slots=True)
class SubjectInfo:
    """One subject as the registry describes it."""

    name: str
    versions: int
    """Number of live versions."""
    latest_version: int
    """The highest live version number."""
    latest_id: int
    """Schema id of the latest version."""
    schema_type: str
    """AVRO, JSON or PROTOBUF (the API leaves schemaType out for AVRO)."""
    compatibility: str
    compatibility_source: CompatibilitySource


@dataclass(frozen=True, slots=True)
class RegistryReading:
    """One successful poll of the registry: every subject listed, the details of those read."""

    taken_at: float
    """Unix time at which the poll started."""
    latency_seconds: float
    """Duration of the health read (`GET /config`, the global compatibility level)."""
    seconds: float
    """Duration of the whole poll."""
    global_compatibility: str
    subjects: Mapping[str, SubjectInfo] = field(default_factory=dict)
    """The listed subjects whose details were read (this poll or before), each complete."""
    listed: frozenset[str] = frozenset()
    """Every subject the registry listed (those found deleted while reading left out)."""
    requests: int = 0
    """HTTP requests this poll made."""
    refreshed: int = 0
    """Subjects read within this poll (the others were read by earlier polls or between polls)."""
    max_schema_id: int = 0
    """Highest schema id known to exist: ids up to it were seen, the next one did not exist."""
    read_between: int = 0
    """Subjects read between the poll before and this one (never read before, or read again:
    `cold_read_concurrency` connections; their requests are not in `requests`)."""

    @property
    def unread(self) -> int:
        """Subjects listed whose details were not read yet (the cold read after a start)."""
        return len(self.listed) - len(self.subjects)


@dataclass(frozen=True, slots=True)
class RegistryFailure:
    """A poll that failed: what kind of failure, and the one-line reason."""

    kind: str
    message: str


class RegistryError(Exception):
    """The registry could not be read: one line saying what went wrong and where."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind
        """unreachable, timeout, http_<status>, redirect, bad_answer or error."""
