"""Collector `consumer_lag`: committed offsets, lag in messages and in seconds, per group.

Semantics match `kafka-consumer-groups --describe`: lag exists only where the group has a committed
offset, and is `max(0, log-end offset - committed offset)`. The log-end offsets are read after the
committed offsets, so a committed offset above the log end can only come from a race with a
consumer that committed in between; lag is then clamped to 0 and the clamp counted in
`kafka_vitals_lag_clamped_total`. Partitions of a consumed topic without a committed offset have no
series and are counted in `kafka_consumergroup_uncommitted_partitions`.

Lag in seconds comes from `exporter.lag_time`: this collector keeps one log-end history per
partition (shared by all groups), fed once per cycle with the log-end offsets and the time they
were read. With `poll.lag_granularity: topic` the per-partition families are left out; sums and
maxima stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import admin as cat
from exporter.catalog import own
from exporter.collectors.base import CycleData, register
from exporter.lag_time import LagClock
from exporter.snapshot import LabelValues, SnapshotBuilder, partition_label
from exporter.sources.admin_model import ClusterView, TopicPartition

if TYPE_CHECKING:
    from exporter.config import Config


def lag_of(committed: int, log_end: int) -> tuple[int, bool]:
    """(lag, clamped): `max(0, log_end - committed)` and whether the max cut it."""
    lag = log_end - committed
    return (lag, False) if lag >= 0 else (0, True)


def consumed_topics(view: ClusterView, group: str) -> set[str]:
    """Topics the group consumes: committed on, or assigned to one of its members."""
    topics = {t for t, _ in (view.committed or {}).get(group, {})}
    described = (view.groups or {}).get(group)
    if described is not None:
        topics.update(t for m in described.members for t, _ in m.assignment)
    return topics


def uncommitted_partitions(view: ClusterView, group: str) -> dict[str, int]:
    """Per consumed topic, partitions (from the metadata) without a committed offset."""
    committed = (view.committed or {}).get(group, {})
    topics = view.topics or {}
    out: dict[str, int] = {}
    for topic in sorted(consumed_topics(view, group)):
        meta = topics.get(topic)
        if meta is None:
            continue
        out[topic] = sum(1 for p in meta.partitions if (topic, p.partition) not in committed)
    return out


@dataclass(slots=True)
class _Rows:
    """The per-partition families of one cycle, written with `add_rows` at the end."""

    offset_labels: list[LabelValues] = field(default_factory=list)
    offsets: list[float] = field(default_factory=list)
    lag_labels: list[LabelValues] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    seconds_labels: list[LabelValues] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def write(self, out: SnapshotBuilder) -> None:
        out.add_rows(cat.GROUP_CURRENT_OFFSET, self.offset_labels, self.offsets)
        out.add_rows(cat.GROUP_LAG, self.lag_labels, self.lags)
        out.add_rows(cat.GROUP_LAG_SECONDS, self.seconds_labels, self.seconds)


@register
class ConsumerLagCollector:
    name: ClassVar[str] = "consumer_lag"

    def __init__(self, config: Config) -> None:
        self._per_partition = config.poll.lag_granularity == "partition"
        self._clock = LagClock(
            config.poll.lag_history_points, config.poll.lag_max_extrapolation_seconds
        )
        self.clamped_total = 0

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        view = data.cluster
        if view is not None:
            self._observe(view)
            if view.committed is not None:
                rows = _Rows() if self._per_partition else None
                for group in sorted(view.committed):
                    self._group(view, group, view.committed[group], out, rows)
                if rows is not None:
                    rows.write(out)
        out.add(own.LAG_CLAMPED, (), self.clamped_total)

    def _observe(self, view: ClusterView) -> None:
        if view.offsets is None:
            return
        known = [(t.name, p.partition) for t in (view.topics or {}).values() for p in t.partitions]
        ends = {tp: o.end for tp, o in view.offsets.items()}
        self._clock.observe(ends, view.taken_at, keep=known)

    def _group(
        self,
        view: ClusterView,
        group: str,
        committed: Mapping[TopicPartition, int],
        out: SnapshotBuilder,
        rows: _Rows | None,
    ) -> None:
        # one pass per committed partition: locals rather than helpers, it runs 100,000s of times
        offsets = view.offsets or {}
        now = view.taken_at
        clock = self._clock
        offset_sums: dict[str, int] = {}
        lag_sums: dict[str, int] = {}
        lag_max: int | None = None
        seconds_max: float | None = None
        for tp, offset in sorted(committed.items()):
            topic = tp[0]
            labels = (group, topic, partition_label(tp[1]))
            offset_sums[topic] = offset_sums.get(topic, 0) + offset
            if rows is not None:
                rows.offset_labels.append(labels)
                rows.offsets.append(offset)
            o = offsets.get(tp)
            if o is None or o.end < 0:
                continue
            lag, clamped = lag_of(offset, o.end)
            seconds = 0.0 if lag == 0 else clock.lag_seconds(tp, offset, now)
            self.clamped_total += clamped
            lag_sums[topic] = lag_sums.get(topic, 0) + lag
            if lag_max is None or lag > lag_max:
                lag_max = lag
            if seconds is not None and (seconds_max is None or seconds > seconds_max):
                seconds_max = seconds
            if rows is not None:
                rows.lag_labels.append(labels)
                rows.lags.append(lag)
                if seconds is not None:
                    rows.seconds_labels.append(labels)
                    rows.seconds.append(seconds)
        for topic, total in offset_sums.items():
            out.add(cat.GROUP_CURRENT_OFFSET_SUM, (group, topic), total)
            if topic in lag_sums:
                out.add(cat.GROUP_LAG_SUM, (group, topic), lag_sums[topic])
        if lag_max is not None:
            out.add(cat.GROUP_LAG_MAX, (group,), lag_max)
        if seconds_max is not None:
            out.add(cat.GROUP_LAG_SECONDS_MAX, (group,), seconds_max)
        if view.groups is not None:
            for topic, count in uncommitted_partitions(view, group).items():
                out.add(cat.GROUP_UNCOMMITTED_PARTITIONS, (group, topic), count)
