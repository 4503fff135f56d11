"""The immutable result of one poll cycle, and the builder collectors write into.

A poll cycle builds a `Snapshot` with a `SnapshotBuilder`; the poller swaps it in atomically once
the cycle is complete. The renderer turns it into exposition bytes once; scrapes only copy those
bytes. Label values are kept in the order of the family's catalog labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import NamedTuple

from exporter.catalog import Metric

LabelValues = tuple[str, ...]


class Sample(NamedTuple):
    """One series' value. `suffix` is "" for plain samples, "_sum" / "_count" in summaries and
    histograms, "_bucket" in histograms.

    A summary's quantile sample (suffix "") carries one label value more than the catalog lists:
    the last one is the `quantile` ("0.99"); so does a histogram's `_bucket` sample: the last one
    is its upper bound `le` ("0.005", "+Inf"). The `_sum` and `_count` samples carry exactly the
    catalog labels.

    The poll cycle itself makes none: a snapshot keeps its series in columns (`Family`), and
    Samples are made from them when asked for (tests, the CLI summary).
    """

    labels: LabelValues
    value: float
    suffix: str = ""


PARTITION_LABELS = tuple(str(i) for i in range(4096))
"""The label values of partitions 0-4095 (see `partition_label`)."""


def partition_label(partition: int) -> str:
    """A partition number as a label value: the same string object every cycle for the usual
    partition numbers, so that the renderer's comparison of a family's series with the last
    cycle's stops at identity."""
    return PARTITION_LABELS[partition] if 0 <= partition < 4096 else str(partition)


@dataclass(frozen=True, slots=True)
class Family:
    """One family's series as columns, in the order they were added: the label values and the
    value of each, and for a summary the suffix of each sample (None: every suffix is "")."""

    labels: tuple[LabelValues, ...]
    values: tuple[float, ...]
    suffixes: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.values)

    def samples(self) -> tuple[Sample, ...]:
        suffixes = self.suffixes if self.suffixes is not None else repeat("")
        return tuple(map(Sample, self.labels, self.values, suffixes))

    @classmethod
    def of(cls, samples: Iterable[Sample]) -> Family:
        samples = tuple(samples)
        suffixes = tuple(s.suffix for s in samples)
        return cls(
            tuple(s.labels for s in samples),
            tuple(s.value for s in samples),
            suffixes if any(suffixes) else None,
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one poll cycle produced. Families with no samples are absent.

    The series are kept in columns (`Family`): a large cluster has hundreds of thousands, and an
    object per series costs more than everything else the renderer does with it. `families`,
    `samples` and `value` give them as `Sample`s, made on each call, for tests and small tools.
    """

    taken_at: float
    columns: Mapping[Metric, Family]

    @classmethod
    def of(cls, taken_at: float, families: Mapping[Metric, Iterable[Sample]]) -> Snapshot:
        """A snapshot from samples (for tests and tools; the poller uses `SnapshotBuilder`)."""
        columns = {m: Family.of(samples) for m, samples in families.items()}
        return cls(taken_at, {m: f for m, f in columns.items() if len(f)})

    @property
    def families(self) -> dict[Metric, tuple[Sample, ...]]:
        return {m: f.samples() for m, f in self.columns.items()}

    def samples(self, metric: Metric) -> tuple[Sample, ...]:
        family = self.columns.get(metric)
        return family.samples() if family is not None else ()

    def value(self, metric: Metric, *labels: str, suffix: str = "") -> float | None:
        """The value of one series, or None (a convenience for tests and the CLI summary)."""
        for s in self.samples(metric):
            if s.labels == labels and s.suffix == suffix:
                return s.value
        return None

    @property
    def series_count(self) -> int:
        return sum(len(f) for f in self.columns.values())


class Rows:
    """The series of one plain family, gathered in a loop as two lists and written with
    `SnapshotBuilder.add_rows` at the end (`write`): `add` checks every series as it comes, and
    a loop over every partition of a large cluster pays for that; `add_rows` checks them all at
    once."""

    __slots__ = ("labels", "metric", "values")

    def __init__(self, metric: Metric) -> None:
        self.metric = metric
        self.labels: list[LabelValues] = []
        self.values: list[float] = []

    def add(self, labels: LabelValues, value: float) -> None:
        self.labels.append(labels)
        self.values.append(value)

    def write(self, out: SnapshotBuilder) -> None:
        out.add_rows(self.metric, self.labels, self.values)


EXTRA_LABEL_SUFFIX = {"summary": "", "histogram": "_bucket"}
"""The sample suffix that carries one label more (`quantile`, `le`), by suffixed family type."""
SUFFIXES = {"summary": ("", "_sum", "_count"), "histogram": ("_bucket", "_sum", "_count")}


def bucket_label(bound: float) -> str:
    """A histogram bucket's `le` label value as Prometheus clients write it (`0.005`, `1.0`)."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


class _Columns:
    """A family's series while a cycle adds them."""

    __slots__ = ("extra", "labels", "n_labels", "suffixes", "summary", "values")

    def __init__(self, metric: Metric) -> None:
        self.labels: list[LabelValues] = []
        self.values: list[float] = []
        self.summary = metric.type in SUFFIXES
        """Whether samples carry a suffix (a summary or a histogram)."""
        self.extra = SUFFIXES.get(metric.type, ("",)), EXTRA_LABEL_SUFFIX.get(metric.type)
        self.suffixes: list[str] | None = [] if self.summary else None
        self.n_labels = len(metric.labels)

    def family(self) -> Family:
        suffixes = tuple(self.suffixes) if self.suffixes is not None else None
        return Family(tuple(self.labels), tuple(self.values), suffixes)


@dataclass(slots=True)
class SnapshotBuilder:
    """Collects samples during a cycle. Not thread-safe: one builder per stage, merged after."""

    series_cap: int = 0
    """Largest number of series per family; 0 means no cap."""
    _families: dict[Metric, _Columns] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    _by_id: dict[int, tuple[Metric, _Columns]] = field(default_factory=dict)
    """The family of each Metric object seen, by id(): hashing a Metric hashes all its fields,
    and `add` runs once per series."""

    def _bucket(self, metric: Metric) -> _Columns:
        known = self._by_id.get(id(metric))
        if known is None:  # the Metric object stays referenced here, so its id stays unique
            columns = self._families.get(metric)
            if columns is None:
                columns = self._families[metric] = _Columns(metric)
            known = self._by_id[id(metric)] = (metric, columns)
        return known[1]

    def add(self, metric: Metric, labels: LabelValues, value: float, suffix: str = "") -> None:
        columns = self._bucket(metric)
        allowed, extra_suffix = columns.extra
        if suffix not in allowed:
            raise ValueError(f"{metric.name}: sample suffix {suffix!r} is not one of {allowed}")
        extra = extra_suffix is not None and suffix == extra_suffix
        if len(labels) != columns.n_labels + extra:
            more = "quantile" if metric.type == "summary" else "le"
            expected = (*metric.labels, more) if extra else metric.labels
            raise ValueError(f"{metric.name}: got {len(labels)} label values for labels {expected}")
        if self.series_cap and len(columns.values) >= self.series_cap:
            self.dropped[metric.name] = self.dropped.get(metric.name, 0) + 1
            return
        columns.labels.append(labels)
        columns.values.append(float(value))
        if columns.suffixes is not None:
            columns.suffixes.append(suffix)

    def add_rows(
        self, metric: Metric, labels: Sequence[LabelValues], values: Sequence[float]
    ) -> None:
        """`add` for many plain samples of one family at once: what the largest families (one
        series per committed partition) use, with the same checks at a fraction of the cost."""
        columns = self._bucket(metric)
        if columns.summary:
            raise ValueError(f"{metric.name}: add_rows takes plain samples, not a summary")
        if len(labels) != len(values):
            raise ValueError(f"{metric.name}: {len(labels)} label tuples for {len(values)} values")
        n_labels = columns.n_labels
        if labels and set(map(len, labels)) != {n_labels}:
            got = next(len(x) for x in labels if len(x) != n_labels)
            raise ValueError(f"{metric.name}: got {got} label values for labels {metric.labels}")
        room = len(labels)
        if self.series_cap:
            room = max(0, min(room, self.series_cap - len(columns.values)))
            if room < len(labels):
                self.dropped[metric.name] = self.dropped.get(metric.name, 0) + len(labels) - room
                labels, values = labels[:room], values[:room]
        columns.labels += labels
        columns.values += map(float, values)

    def add_histogram(
        self, metric: Metric, labels: LabelValues, counts: Sequence[int], total: float
    ) -> None:
        """One histogram series: `counts[i]` observations at or below `metric.buckets[i]`
        (cumulative), `counts[-1]` all of them (the `+Inf` bucket and `_count`); `total` their
        sum."""
        if len(counts) != len(metric.buckets) + 1:
            raise ValueError(f"{metric.name}: {len(counts)} bucket counts for "
                             f"{len(metric.buckets)} buckets and +Inf")  # fmt: skip
        for bound, count in zip((*metric.buckets, float("inf")), counts, strict=True):
            self.add(metric, (*labels, bucket_label(bound)), count, "_bucket")
        self.add(metric, labels, total, "_sum")
        self.add(metric, labels, counts[-1], "_count")

    def extend(self, metric: Metric, samples: Iterable[Sample]) -> None:
        for s in samples:
            self.add(metric, s.labels, s.value, s.suffix)

    def merge(self, other: SnapshotBuilder) -> None:
        """Take over the samples of `other` (checked when they were added there), up to the cap."""
        for metric, theirs in other._families.items():
            columns = self._bucket(metric)
            labels, values, suffixes = theirs.labels, theirs.values, theirs.suffixes
            if self.series_cap and len(columns.values) + len(values) > self.series_cap:
                room = max(0, self.series_cap - len(columns.values))
                self.dropped[metric.name] = self.dropped.get(metric.name, 0) + len(values) - room
                labels, values = labels[:room], values[:room]
                suffixes = suffixes[:room] if suffixes is not None else None
            columns.labels += labels
            columns.values += values
            if columns.suffixes is not None and suffixes is not None:
                columns.suffixes += suffixes
        for name, n in other.dropped.items():
            self.dropped[name] = self.dropped.get(name, 0) + n

    def retain(self, keep: Callable[[Metric], Callable[[LabelValues], bool] | None]) -> None:
        """Drop the series whose label values `keep(metric)` rejects; a family for which it
        gives None stays whole (one series, one owner: see `exporter.ownership`)."""
        for metric, columns in self._families.items():
            test = keep(metric)
            if test is None or not columns.values:
                continue
            kept = [i for i, labels in enumerate(columns.labels) if test(labels)]
            if len(kept) == len(columns.values):
                continue
            columns.labels = [columns.labels[i] for i in kept]
            columns.values = [columns.values[i] for i in kept]
            if columns.suffixes is not None:
                columns.suffixes = [columns.suffixes[i] for i in kept]

    def counts(self) -> dict[str, int]:
        """Series per family name written so far."""
        return {m.name: len(c.values) for m, c in self._families.items() if c.values}

    def build(self, taken_at: float) -> Snapshot:
        return Snapshot(
            taken_at=taken_at,
            columns={m: c.family() for m, c in self._families.items() if c.values},
        )
