"""The committed offsets that the `__consumer_offsets` log says, kept per offsets partition.

Pure: records go in (key and value bytes, as the log holds them), committed offsets and commit
times come out. The latest record of a (group, topic, partition) wins; a tombstone removes it.
A group's records all live in one offsets partition (the one that hashes its id), so the state is
kept per offsets partition and a partition that is no longer followed (broker scope: its
leadership moved) is dropped whole.

Group metadata tombstones do not remove offsets: Kafka writes an offset tombstone for every offset
it deletes (group deleted, offsets deleted, offsets expired), while a group converted from the
classic to the consumer protocol gets a group tombstone and keeps its offsets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from exporter.sources.offsets_log_records import (
    GroupMetadata,
    GroupRecord,
    OffsetCommit,
    OffsetDeleted,
    Skipped,
    parse_record,
)

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class CommittedView:
    """The committed offsets of every followed group, as of one moment of the log."""

    offsets: Mapping[str, Mapping[TopicPartition, int]]
    """Group -> partition -> committed offset (>= 0)."""
    commit_times: Mapping[str, Mapping[TopicPartition, float]]
    """Group -> partition -> Unix time (seconds) at which that offset was committed."""


@dataclass(slots=True)
class _Partition:
    groups: dict[str, dict[TopicPartition, tuple[int, int]]] = field(default_factory=dict)
    """Group -> (topic, partition) -> (offset, commit time in ms)."""


@dataclass(slots=True)
class OffsetsLogState:
    """Apply records of the offsets log; read the committed offsets they add up to."""

    _partitions: dict[int, _Partition] = field(default_factory=dict)
    records: int = 0
    """Records applied, skipped ones included."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Skipped records by reason (unknown key or value version, corrupt)."""
    last_skipped: str = ""

    def apply(self, offsets_partition: int, key: bytes | None, value: bytes | None) -> None:
        """One record read from `offsets_partition` of the log, in log order."""
        self.records += 1
        record = parse_record(key, value)
        if isinstance(record, OffsetCommit):
            part = self._partitions.get(offsets_partition)
            if part is None:
                part = self._partitions[offsets_partition] = _Partition()
            group = part.groups.get(record.group)
            if group is None:
                group = part.groups[record.group] = {}
            group[(record.topic, record.partition)] = (record.offset, record.commit_ms)
        elif isinstance(record, OffsetDeleted):
            part = self._partitions.get(offsets_partition)
            group = part.groups.get(record.group) if part is not None else None
            if group is not None:
                group.pop((record.topic, record.partition), None)
                if not group:
                    del part.groups[record.group]  # type: ignore[union-attr]
        elif isinstance(record, Skipped):
            self.skipped[record.reason] += 1
            self.last_skipped = record.detail
        else:  # GroupMetadata, GroupRecord: recognised; offsets come from their own records
            assert isinstance(record, GroupMetadata | GroupRecord)

    def keep_only(self, offsets_partitions: Iterable[int]) -> None:
        """Forget every offsets partition not in the set (no longer followed)."""
        keep = set(offsets_partitions)
        for p in [p for p in self._partitions if p not in keep]:
            del self._partitions[p]

    def forget(self, offsets_partition: int) -> None:
        """Drop one offsets partition's state (it is about to be read again from the start)."""
        self._partitions.pop(offsets_partition, None)

    def view(self, only: Collection[int] | None = None) -> CommittedView:
        """A copy of the committed offsets (offsets < 0 left out, as the Admin API source does),
        of every offsets partition or `only` of those given."""
        offsets: dict[str, dict[TopicPartition, int]] = {}
        times: dict[str, dict[TopicPartition, float]] = {}
        for p, part in self._partitions.items():
            if only is not None and p not in only:
                continue
            for gid, entries in part.groups.items():
                o = {tp: off for tp, (off, _) in entries.items() if off >= 0}
                if o:
                    offsets[gid] = o
                    times[gid] = {tp: entries[tp][1] / 1000.0 for tp in o}
        return CommittedView(offsets, times)

    @property
    def entries(self) -> int:
        """Committed offsets held, over every group and partition."""
        return sum(len(g) for p in self._partitions.values() for g in p.groups.values())
