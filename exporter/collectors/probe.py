"""Collector `probe`: the end-to-end probe's latencies and lost messages, per leader broker.

Reads the `ProbeReading` of the `probe` source runner (`probe.enabled`); writes nothing when the
probe is off. The histograms and counters are cumulative on this instance: each cycle's
observations are added to the buckets of the partition's leader broker. A failed cycle leaves a
`ProbeFailure`: `kafka_probe_up` is 0 and the cumulative series stay as they were. The probe's
health is `kafka_probe_up` only (not `kafka_vitals_up`): its failing has an alert of its own.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import probe as cat
from exporter.catalog.model import Metric
from exporter.collectors.base import CycleData, Input, register
from exporter.snapshot import SnapshotBuilder
from exporter.sources.probe_model import ProbeReading

if TYPE_CHECKING:
    from exporter.config import Config


@dataclass(slots=True)
class Histogram:
    """One histogram series' state: observations per bucket (not cumulative) and their sum."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0

    def observe(self, values: Iterable[float]) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)
        for value in values:
            self.counts[bisect.bisect_left(self.bounds, value)] += 1
            self.total += value

    def cumulative(self) -> list[int]:
        out, running = [], 0
        for n in self.counts or [0] * (len(self.bounds) + 1):
            running += n
            out.append(running)
        return out


@register
class ProbeCollector:
    name: ClassVar[str] = "probe"
    reads: ClassVar[tuple[Input, ...]] = ("probe",)

    def __init__(self, config: Config) -> None:
        self._enabled = config.probe.enabled
        self._histograms: dict[tuple[Metric, str], Histogram] = {}
        self._counters: dict[tuple[Metric, str], int] = {}

    def _histogram(self, metric: Metric, broker: str) -> Histogram:
        key = (metric, broker)
        found = self._histograms.get(key)
        if found is None:
            found = self._histograms[key] = Histogram(metric.buckets)
        return found

    def _count(self, metric: Metric, broker: str, n: int) -> None:
        self._counters[(metric, broker)] = self._counters.get((metric, broker), 0) + n

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        if not self._enabled:
            return
        reading = data.probe
        out.add(cat.UP, (), 0 if reading is None else 1)
        if reading is not None:
            self._add(reading)
        for (metric, broker), hist in sorted(self._histograms.items(), key=_order):
            out.add_histogram(metric, (broker,), hist.cumulative(), hist.total)
        for (metric, broker), count in sorted(self._counters.items(), key=_order):
            out.add(metric, (broker,), count)

    def _add(self, reading: ProbeReading) -> None:
        for p in reading.partitions:
            broker = str(p.leader)
            self._count(cat.MESSAGES_SENT, broker, p.sent)
            self._count(cat.MESSAGES_LOST, broker, p.lost)
            self._count(cat.MESSAGES_LATE, broker, p.late)
            self._histogram(cat.PRODUCE_LATENCY, broker).observe(p.produce_seconds)
            self._histogram(cat.END_TO_END_LATENCY, broker).observe(p.end_to_end_seconds)
        for c in reading.commits:
            broker = str(c.leader)
            self._count(cat.COMMIT_FAILURES, broker, 0 if c.ok else 1)
            if c.ok:
                self._histogram(cat.COMMIT_LATENCY, broker).observe((c.seconds,))


def _order(item: tuple[tuple[Metric, str], object]) -> tuple[str, int, str]:
    (metric, broker), _ = item
    return (metric.name, len(broker), broker)
