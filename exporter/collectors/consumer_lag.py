"""Collector `consumer_lag`: committed offsets, lag in messages and in seconds, per group.

Semantics match `kafka-consumer-groups --describe`: lag exists only where the group has a committed
offset, and is `max(0, log-end offset - committed offset)`. The log-end offsets are read after the
committed offsets and never go down, so a committed offset above the log end is not a race: it is
left by a topic recreated under the group, an unclean leader election or a restore, and the
group's next fetch resets by `auto.offset.reset`. Such a partition's lag is 0 (a negative value
would cancel real lag in `lag_sum`), the distance past the end goes to
`kafka_consumergroup_offset_past_log_end` and the count per topic to
`kafka_consumergroup_partitions_past_log_end` (see docs/metrics.md). Partitions of a consumed topic
without a committed offset have no series and are counted in
`kafka_consumergroup_uncommitted_partitions`. A partition whose log end could not be read this
cycle keeps the one read last (the admin source carries it); the group counts them in
`kafka_consumergroup_log_end_unread_partitions`.

Lag in seconds comes from the message's own timestamp where the `message_times` stage read it
(`poll.lag_seconds_mode` exact or auto), else from `exporter.domain.lag_time`: one log-end history
per partition (shared by all groups), kept in the cycle's `OffsetHistory` and fed once per cycle
with the log-end offsets and the time they were read. `kafka_vitals_lag_seconds_partitions{method}`
counts each way. With `poll.lag_granularity: topic` the per-partition families are left out;
sums and maxima stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import admin as cat
from exporter.catalog import own
from exporter.collectors.base import CycleData, Input, register
from exporter.domain.lag_time import LagClock, time_at_offset
from exporter.snapshot import PARTITION_LABELS, Rows, SnapshotBuilder, partition_label
from exporter.sources.admin_model import ClusterView, TopicPartition
from exporter.sources.partition_reader import OUTCOMES as READ_OUTCOMES

if TYPE_CHECKING:
    from exporter.config import Config


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


_NO_HISTORY = LagClock(0, 0.0)
"""Without an offset history (a collector driven alone): no lag in seconds by interpolation."""


class _Rows:
    """The families of one cycle, gathered group by group and written with `add_rows` at the
    end; the per-partition ones only with `poll.lag_granularity: partition`."""

    def __init__(self, per_partition: bool) -> None:
        self.per_partition = per_partition
        self.offsets = Rows(cat.GROUP_CURRENT_OFFSET)
        self.lags = Rows(cat.GROUP_LAG)
        self.seconds = Rows(cat.GROUP_LAG_SECONDS)
        self.offset_sums = Rows(cat.GROUP_CURRENT_OFFSET_SUM)
        self.lag_sums = Rows(cat.GROUP_LAG_SUM)
        self.lag_max = Rows(cat.GROUP_LAG_MAX)
        self.seconds_max = Rows(cat.GROUP_LAG_SECONDS_MAX)
        self.uncommitted = Rows(cat.GROUP_UNCOMMITTED_PARTITIONS)
        self.past_end = Rows(cat.GROUP_OFFSET_PAST_LOG_END)
        self.past_end_counts = Rows(cat.GROUP_PARTITIONS_PAST_LOG_END)
        self.unread = Rows(cat.GROUP_LOG_END_UNREAD_PARTITIONS)

    def write(self, out: SnapshotBuilder) -> None:
        for rows in (self.offsets, self.lags, self.seconds, self.offset_sums, self.lag_sums,
                     self.lag_max, self.seconds_max, self.uncommitted, self.past_end,
                     self.past_end_counts, self.unread):  # fmt: skip
            rows.write(out)


@register
class ConsumerLagCollector:
    name: ClassVar[str] = "consumer_lag"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)

    def __init__(self, config: Config) -> None:
        self._per_partition = config.poll.lag_granularity == "partition"
        self.clamped_total = 0
        self._methods = [0, 0]  # this cycle's lagging partitions: [exact, interpolated]

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        view = data.cluster
        if view is not None:
            clock = data.history.log_ends() if data.history is not None else _NO_HISTORY
            if view.committed is not None:
                rows = _Rows(self._per_partition)
                for group in sorted(view.committed):
                    self._group(view, group, view.committed[group], clock, rows)
                rows.write(out)
        out.add(own.LAG_CLAMPED, (), self.clamped_total)
        if view is not None and view.message_times is not None:
            for outcome in READ_OUTCOMES:
                out.add(own.MESSAGE_READS, (outcome,), view.message_times.reads.get(outcome, 0))
            out.add(own.LAG_SECONDS_METHOD, ("exact",), self._methods[0])
            out.add(own.LAG_SECONDS_METHOD, ("interpolated",), self._methods[1])
        self._methods = [0, 0]

    def _group(
        self,
        view: ClusterView,
        group: str,
        committed: Mapping[TopicPartition, int],
        clock: LagClock,
        rows: _Rows,
    ) -> None:
        # one pass per committed partition: locals rather than helpers (the clamp of the module
        # docstring, `LagClock.lag_seconds` and `partition_label` written out), it runs 100,000s
        # of times; the partitions come sorted, so each topic's sums are kept in locals and
        # written when the next topic starts
        offsets = view.offsets or {}
        now = view.taken_at
        exact = view.message_times.times if view.message_times is not None else None
        histories = clock.histories
        max_extrapolation = clock.max_extrapolation
        offset_sums: dict[str, int] = {}
        lag_sums: dict[str, int] = {}
        past_end: dict[str, int] = {}
        carried = view.carried_offsets
        unread = exact_count = interpolated = 0
        lag_max = -1
        seconds_max: float | None = None
        known = len(PARTITION_LABELS)
        per_partition = rows.per_partition
        add_offset_label, add_offset = rows.offsets.labels.append, rows.offsets.values.append
        add_lag_label, add_lag = rows.lags.labels.append, rows.lags.values.append
        add_seconds_label, add_seconds = rows.seconds.labels.append, rows.seconds.values.append
        current: str | None = None
        offset_sum = lag_sum = 0
        lagged = False  # whether a partition of the current topic has a log end
        for tp, offset in sorted(committed.items()):
            topic, partition = tp
            if topic != current:
                if current is not None:
                    offset_sums[current] = offset_sum
                    if lagged:
                        lag_sums[current] = lag_sum
                current, offset_sum, lag_sum, lagged = topic, 0, 0, False
            labels = (group, topic, PARTITION_LABELS[partition] if 0 <= partition < known
                      else partition_label(partition))  # fmt: skip
            offset_sum += offset
            if per_partition:
                add_offset_label(labels)
                add_offset(offset)
            o = offsets.get(tp)
            if o is None or o.end < 0:
                continue
            if carried and tp in carried:
                unread += 1
            lag = o.end - offset
            seconds: float | None = 0.0
            if lag < 0:
                past_end[topic] = past_end.get(topic, 0) + 1
                rows.past_end.add(labels, -lag)  # rare: served whatever the granularity
                lag = 0
            elif lag:
                at_exact = exact.get((topic, partition, offset)) if exact else None
                if at_exact is not None:  # the message's own timestamp (message_times stage)
                    seconds = now - at_exact if now > at_exact else 0.0
                    exact_count += 1
                else:
                    interpolated += 1
                    history = histories.get(tp)
                    if not history:
                        seconds = None
                    elif offset < history[-1].offset:  # else caught up with the newest reading
                        at = time_at_offset(history, offset, max_extrapolation)
                        seconds = None if at is None else (now - at if now > at else 0.0)
            lag_sum += lag
            lagged = True
            if lag > lag_max:
                lag_max = lag
            if seconds is not None and (seconds_max is None or seconds > seconds_max):
                seconds_max = seconds
            if per_partition:
                add_lag_label(labels)
                add_lag(lag)
                if seconds is not None:
                    add_seconds_label(labels)
                    add_seconds(seconds)
        if current is not None:
            offset_sums[current] = offset_sum
            if lagged:
                lag_sums[current] = lag_sum
        self._methods[0] += exact_count
        self._methods[1] += interpolated
        self.clamped_total += sum(past_end.values())
        for topic, total in offset_sums.items():
            rows.offset_sums.add((group, topic), total)
            if topic in lag_sums:
                rows.lag_sums.add((group, topic), lag_sums[topic])
                rows.past_end_counts.add((group, topic), past_end.get(topic, 0))
        if lag_max >= 0:
            rows.lag_max.add((group,), lag_max)
            rows.unread.add((group,), unread)
        if seconds_max is not None:
            rows.seconds_max.add((group,), seconds_max)
        if view.groups is not None:
            for topic, count in uncommitted_partitions(view, group).items():
                rows.uncommitted.add((group, topic), count)
