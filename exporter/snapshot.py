"""The immutable result of one poll cycle, and the builder collectors write into.

A poll cycle builds a `Snapshot` with a `SnapshotBuilder`; the poller swaps it in atomically once
the cycle is complete. The renderer turns it into exposition bytes once; scrapes only copy those
bytes. Label values are kept in the order of the family's catalog labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from exporter.catalog import Metric

LabelValues = tuple[str, ...]


class Sample(NamedTuple):
    """One series' value. `suffix` is "" for plain samples, "_sum" / "_count" in summaries.

    A summary's quantile sample (suffix "") carries one label value more than the catalog lists:
    the last one is the `quantile` ("0.99"). Its `_sum` and `_count` samples carry exactly the
    catalog labels.

    A named tuple rather than a frozen dataclass: there is one per series and cycle (hundreds of
    thousands on a large cluster), and a named tuple is as immutable and three times cheaper to
    create.
    """

    labels: LabelValues
    value: float
    suffix: str = ""


_PARTITION_LABELS = tuple(str(i) for i in range(4096))


def partition_label(partition: int) -> str:
    """A partition number as a label value: the same string object every cycle for the usual
    partition numbers, so that the renderer's comparison of a family's series with the last
    cycle's stops at identity."""
    return _PARTITION_LABELS[partition] if 0 <= partition < 4096 else str(partition)


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


_Bucket = tuple[list[Sample], int, bool]
"""A family's samples, its number of labels, and whether it is a summary."""


@dataclass(slots=True)
class SnapshotBuilder:
    """Collects samples during a cycle. Not thread-safe: one builder per stage, merged after."""

    series_cap: int = 0
    """Largest number of series per family; 0 means no cap."""
    _families: dict[Metric, list[Sample]] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    _by_id: dict[int, tuple[Metric, _Bucket]] = field(default_factory=dict)
    """The family of each Metric object seen, by id(): hashing a Metric hashes all its fields,
    and `add` runs once per series."""

    def _bucket(self, metric: Metric) -> _Bucket:
        known = self._by_id.get(id(metric))
        if known is None:  # the Metric object stays referenced here, so its id stays unique
            bucket = (self._families.setdefault(metric, []), len(metric.labels),
                      metric.type == "summary")  # fmt: skip
            known = self._by_id[id(metric)] = (metric, bucket)
        return known[1]

    def add(self, metric: Metric, labels: LabelValues, value: float, suffix: str = "") -> None:
        bucket, n_labels, summary = self._bucket(metric)
        quantile = summary and suffix == ""
        if len(labels) != n_labels + quantile:
            expected = (*metric.labels, "quantile") if quantile else metric.labels
            raise ValueError(f"{metric.name}: got {len(labels)} label values for labels {expected}")
        if self.series_cap and len(bucket) >= self.series_cap:
            self.dropped[metric.name] = self.dropped.get(metric.name, 0) + 1
            return
        bucket.append(Sample(labels, float(value), suffix))

    def add_rows(
        self, metric: Metric, labels: Sequence[LabelValues], values: Sequence[float]
    ) -> None:
        """`add` for many plain samples of one family at once: what the largest families (one
        series per committed partition) use, with the same checks at a fraction of the cost."""
        bucket, n_labels, summary = self._bucket(metric)
        if summary:
            raise ValueError(f"{metric.name}: add_rows takes plain samples, not a summary")
        if len(labels) != len(values):
            raise ValueError(f"{metric.name}: {len(labels)} label tuples for {len(values)} values")
        if labels and set(map(len, labels)) != {n_labels}:
            got = next(len(x) for x in labels if len(x) != n_labels)
            raise ValueError(f"{metric.name}: got {got} label values for labels {metric.labels}")
        room = len(labels)
        if self.series_cap:
            room = max(0, min(room, self.series_cap - len(bucket)))
            if room < len(labels):
                self.dropped[metric.name] = self.dropped.get(metric.name, 0) + len(labels) - room
        bucket.extend(map(Sample, labels[:room], map(float, values[:room])))

    def extend(self, metric: Metric, samples: Iterable[Sample]) -> None:
        for s in samples:
            self.add(metric, s.labels, s.value, s.suffix)

    def merge(self, other: SnapshotBuilder) -> None:
        """Take over the samples of `other` (checked when they were added there), up to the cap."""
        for metric, samples in other._families.items():
            bucket = self._bucket(metric)[0]
            if self.series_cap and len(bucket) + len(samples) > self.series_cap:
                room = max(0, self.series_cap - len(bucket))
                self.dropped[metric.name] = self.dropped.get(metric.name, 0) + len(samples) - room
                samples = samples[:room]
            bucket.extend(samples)
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
