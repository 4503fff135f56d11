"""Collector `registry_payloads`: per topic, the newest messages sampled and how many of them
bypass the schema contract (no wire format, or a schema id the registry does not know).

Reads the `PayloadSamples` of the admin source's `payload_samples` stage (on with
`schema_registry.payload_sampling`); writes nothing when sampling is off or the stage failed.
The unregistered ratio is not a series of its own: the dashboards and the alert divide the two
counts by the messages sampled (`bundle.registry.signals.unregistered_payload_ratio`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import registry as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.snapshot import Rows, SnapshotBuilder
from exporter.sources.partition_reader import OUTCOMES

if TYPE_CHECKING:
    from exporter.config import Config


@register
class RegistryPayloadsCollector:
    name: ClassVar[str] = "registry_payloads"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)

    def __init__(self, config: Config) -> None:
        sr = config.schema_registry
        self._enabled = bool(sr.url) and sr.payload_sampling

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        view = data.cluster
        if not self._enabled or view is None or view.payload_samples is None:
            return
        samples = view.payload_samples
        sampled, raw, unknown = (
            Rows(m) for m in (cat.PAYLOAD_SAMPLED, cat.PAYLOAD_WITHOUT_WIRE_FORMAT,
                              cat.PAYLOAD_UNKNOWN_SCHEMA_ID)
        )  # fmt: skip
        for topic in sorted(samples.topics):
            t = samples.topics[topic]
            sampled.add((topic,), t.sampled)
            raw.add((topic,), t.without_wire_format)
            unknown.add((topic,), t.unknown_schema_id)
        for rows in (sampled, raw, unknown):
            rows.write(out)
        for outcome in OUTCOMES:
            out.add(cat.PAYLOAD_SAMPLE_READS, (outcome,), samples.reads.get(outcome, 0))
