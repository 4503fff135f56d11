"""Collector `commit_times`: when each group last committed, per partition.

The commit time comes with each commit record of the `__consumer_offsets` log, so this family
exists only when committed offsets are read from the log (`committed_offsets.source: log`, or
`auto` reading it); the Admin API does not give it. `time() - kafka_consumergroup_last_commit_
timestamp_seconds` is the time since the group last committed on the partition: a consumer that
is alive but stopped committing (stuck, or committing to another store) shows up here while its
lag may still look small. Left out with `poll.lag_granularity: topic`, like the other
per-partition families.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import admin as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.snapshot import LabelValues, SnapshotBuilder, partition_label

if TYPE_CHECKING:
    from exporter.config import Config


@register
class CommitTimesCollector:
    name: ClassVar[str] = "commit_times"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)

    def __init__(self, config: Config) -> None:
        self._per_partition = config.poll.lag_granularity == "partition"

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        view = data.cluster
        if view is None or view.commit_times is None or not self._per_partition:
            return
        labels: list[LabelValues] = []
        values: list[float] = []
        for group in sorted(view.commit_times):
            times = view.commit_times[group]
            for (topic, partition), at in sorted(times.items()):
                labels.append((group, topic, partition_label(partition)))
                values.append(at)
        out.add_rows(cat.GROUP_LAST_COMMIT, labels, values)
