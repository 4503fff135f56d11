"""Collector `lag_status`: Burrow-style OK/WARN/STALL/STOP/REWIND/UNKNOWN per partition and group.

Judges the bounded window of (committed, log-end) points per (group, topic, partition)
(`lessons.lag_status_window` polls, kept in the cycle's `OffsetHistory`) with the rules of
`exporter.domain.lag_status`.
A partition's owner is only trusted from a settled group (Stable or Empty); while a group
rebalances, ownership counts as unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import lessons as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.domain import headroom as hr
from exporter.domain import lag_status as ls
from exporter.snapshot import PARTITION_LABELS, SnapshotBuilder, partition_label
from exporter.sources.admin_model import ClusterView, TopicPartition

if TYPE_CHECKING:
    from exporter.config import Config


def owners(view: ClusterView) -> dict[str, frozenset[TopicPartition]] | None:
    """The partitions each settled group's members own; None when groups are not known."""
    if view.groups is None:
        return None
    return {
        group_id: frozenset(tp for m in group.members for tp in m.assignment)
        for group_id, group in view.groups.items()
        if hr.settled(group)
    }


@register
class LagStatusCollector:
    name: ClassVar[str] = "lag_status"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)

    def __init__(self, config: Config) -> None:
        self._per_partition = config.poll.lag_granularity == "partition"

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        view = data.cluster
        if view is None or data.history is None:
            return
        statuses = data.history.lag_statuses(owners(view))
        # statuses come in (group, topic, partition) order
        if self._per_partition:
            known = len(PARTITION_LABELS)
            labels = [(g, t, PARTITION_LABELS[p] if 0 <= p < known else partition_label(p), s)
                      for (g, t, p), s in statuses.items()]  # fmt: skip
            out.add_rows(cat.PARTITION_STATUS, labels, [1.0] * len(labels))
        groups = ls.group_statuses(statuses)
        out.add_rows(cat.GROUP_STATUS, list(groups.items()), [1.0] * len(groups))
