"""Collector `registry_health`: whether the Schema Registry answers, how fast, and its errors.

Reads the `RegistryReading` of the `schema_registry` source runner; writes nothing when no
registry is configured. A failed poll leaves a `RegistryFailure` instead: `kafka_vitals_up{source=
"schema_registry"}` is 0 and the error is counted by kind (the poller counts the failed stage in
`kafka_vitals_poll_errors_total{stage="schema_registry"}` too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import own
from exporter.catalog import registry as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.snapshot import SnapshotBuilder

if TYPE_CHECKING:
    from exporter.config import Config


@register
class RegistryHealthCollector:
    name: ClassVar[str] = "registry_health"
    reads: ClassVar[tuple[Input, ...]] = ("schema_registry",)

    def __init__(self, config: Config) -> None:
        self._enabled = bool(config.schema_registry.url)
        self._errors: dict[str, int] = {}

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        if not self._enabled:
            return
        reading = data.schema_registry
        failure = data.schema_registry_failure
        if failure is not None:
            self._errors[failure.kind] = self._errors.get(failure.kind, 0) + 1
        out.add(own.UP, ("schema_registry", ""), 0 if reading is None else 1)
        for kind, count in sorted(self._errors.items()):
            out.add(cat.REGISTRY_ERRORS, (kind,), count)
        if reading is None:
            return
        out.add(cat.REGISTRY_LATENCY, (), reading.latency_seconds)
        out.add(cat.REGISTRY_POLL_REQUESTS, (), reading.requests)
        out.add(cat.REGISTRY_SUBJECTS, (), len(reading.listed))
        out.add(cat.REGISTRY_SUBJECTS_UNREAD, (), reading.unread)
        out.add(cat.REGISTRY_GLOBAL_COMPATIBILITY, (reading.global_compatibility,), 1)
