"""The immutable result of one poll cycle, and the builder collectors write into.

A poll cycle builds a `Snapshot` with a `SnapshotBuilder`; the poller swaps it in atomically once
the cycle is complete. The renderer turns it into exposition bytes once; scrapes only copy those
bytes. Label values are kept in the order of the family's catalog labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from exporter.catalog import Metric

LabelValues = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sample:
    """One series' value. `suffix` is "" for plain samples, "_sum" / "_count" in summaries.

    A summary's quantile sample (suffix "") carries one label value more than the catalog lists:
    the last one is the `quantile` ("0.99"). Its `_sum` and `_count` samples carry exactly the
    catalog labels.
    """

    labels: LabelValues
    value: float
    suffix: str = ""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one poll cycle produced. Families with no samples are absent."""

    taken_at: float
    families: Mapping[Metric, tuple[Sample, ...]]

    def samples(self, metric: Metric) -> tuple[Sample, ...]:
        return self.families.get(metric, ())

    def value(self, metric: Metric, *labels: str, suffix: str = "") -> float | None:
        """The value of one series, or None (a convenience for tests and the CLI summary)."""
        for s in self.families.get(metric, ()):
            if s.labels == labels and s.suffix == suffix:
                return s.value
        return None

    @property
    def series_count(self) -> int:
        return sum(len(v) for v in self.families.values())


@dataclass(slots=True)
class SnapshotBuilder:
    """Collects samples during a cycle. Not thread-safe: one builder per stage, merged after."""

    series_cap: int = 0
    """Largest number of series per family; 0 means no cap."""
    _families: dict[Metric, list[Sample]] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    def add(self, metric: Metric, labels: LabelValues, value: float, suffix: str = "") -> None:
        quantile = metric.type == "summary" and suffix == ""
        if len(labels) != len(metric.labels) + quantile:
            expected = (*metric.labels, "quantile") if quantile else metric.labels
            raise ValueError(f"{metric.name}: got {len(labels)} label values for labels {expected}")
        bucket = self._families.setdefault(metric, [])
        if self.series_cap and len(bucket) >= self.series_cap:
            self.dropped[metric.name] = self.dropped.get(metric.name, 0) + 1
            return
        bucket.append(Sample(labels, float(value), suffix))

    def extend(self, metric: Metric, samples: Iterable[Sample]) -> None:
        for s in samples:
            self.add(metric, s.labels, s.value, s.suffix)

    def merge(self, other: SnapshotBuilder) -> None:
        for metric, samples in other._families.items():
            self.extend(metric, samples)
        for name, n in other.dropped.items():
            self.dropped[name] = self.dropped.get(name, 0) + n

    def counts(self) -> dict[str, int]:
        """Series per family name written so far."""
        return {m.name: len(s) for m, s in self._families.items() if s}

    def build(self, taken_at: float) -> Snapshot:
        return Snapshot(
            taken_at=taken_at,
            families={m: tuple(s) for m, s in self._families.items() if s},
        )
