"""Collector `partitions`: topics and partitions from the metadata, with their offsets.

Leader, preferred leader, replica and ISR counts, under-replicated, offline and under-min-ISR come
from the Admin API metadata (no JMX needed). Log-start and log-end offsets come from the `offsets`
stage; if that stage failed, the offset families are absent for the cycle. `min.insync.replicas`
comes from the cached topic configs; topics whose setting is unknown have no under-min-ISR series.
The internal topics that the topic filters leave out (`ClusterView.replication_only`) get the
replication families all the same, but no offsets: the brokers' JMX counts include them, and a
metadata count must compare like with like.

In `broker` and `shard` scope only the topics and partitions of this instance's share are walked
(`Share.topic`, `Share.partitions_of`): the others' series would be dropped by the series filter
anyway, and building them first cost a shard as much as the whole cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import admin as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.snapshot import Rows, SnapshotBuilder, partition_label
from exporter.sources.admin_model import PartitionMeta

if TYPE_CHECKING:
    from exporter.config import Config


def leader_is_preferred(p: PartitionMeta) -> bool:
    """The leader is the first replica of the assignment (and there is a leader)."""
    return p.leader >= 0 and bool(p.replicas) and p.replicas[0] == p.leader


def under_replicated(p: PartitionMeta) -> bool:
    return len(p.isr) < len(p.replicas)


def offline(p: PartitionMeta) -> bool:
    return p.leader < 0


def under_min_isr(p: PartitionMeta, min_isr: int) -> bool:
    return len(p.isr) < min_isr


def _number(p: PartitionMeta) -> int:
    return p.partition


@register
class PartitionsCollector:
    name: ClassVar[str] = "partitions"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)

    def __init__(self, config: Config) -> None:
        del config

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        view = data.cluster
        if view is None or view.topics is None:
            return
        offsets = view.offsets
        leader, preferred, replicas, isr, under_replicated_, offline_, under_min, end, start = (
            Rows(m) for m in PER_PARTITION
        )
        health_only = view.replication_only
        share = view.share if view.share is not None and not view.share.everything else None
        for topic in (*view.topics.values(), *health_only.values()):
            name, min_isr = topic.name, topic.min_insync_replicas
            shown: Sequence[PartitionMeta] = topic.partitions
            if share is None or share.topic(name):
                out.add(cat.TOPIC_PARTITIONS, (name,), len(shown))
                if min_isr is not None:
                    out.add(cat.TOPIC_MIN_INSYNC_REPLICAS, (name,), min_isr)
            if share is not None:
                shown = share.partitions_of(name, shown, _number)
            for p in shown:
                labels = (topic.name, partition_label(p.partition))
                leader.add(labels, p.leader if p.leader >= 0 else -1)
                preferred.add(labels, leader_is_preferred(p))
                replicas.add(labels, len(p.replicas))
                isr.add(labels, len(p.isr))
                under_replicated_.add(labels, under_replicated(p))
                offline_.add(labels, offline(p))
                if min_isr is not None:
                    under_min.add(labels, under_min_isr(p, min_isr))
                if topic.name in health_only:
                    continue
                o = offsets.get((topic.name, p.partition)) if offsets is not None else None
                if o is not None:
                    if o.end >= 0:
                        end.add(labels, o.end)
                    if o.start >= 0:
                        start.add(labels, o.start)
        for rows in (leader, preferred, replicas, isr, under_replicated_, offline_, under_min,
                     end, start):  # fmt: skip
            rows.write(out)


PER_PARTITION = (
    cat.PARTITION_LEADER,
    cat.PARTITION_LEADER_IS_PREFERRED,
    cat.PARTITION_REPLICAS,
    cat.PARTITION_IN_SYNC_REPLICA,
    cat.PARTITION_UNDER_REPLICATED,
    cat.PARTITION_OFFLINE,
    cat.PARTITION_UNDER_MIN_ISR,
    cat.PARTITION_CURRENT_OFFSET,
    cat.PARTITION_OLDEST_OFFSET,
)
"""The per-partition families, in the order `collect` unpacks them."""
