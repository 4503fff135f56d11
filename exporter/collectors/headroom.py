"""Collector `headroom`: idle members, members per topic, and partitions per planned consumer.

Reads the group descriptions, committed offsets and topic metadata of one poll; keeps no history.
Plans come from `lessons.planned_consumers_by_group` / `_by_topic` in the config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import lessons as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.domain import headroom as hr
from exporter.snapshot import Rows, SnapshotBuilder

if TYPE_CHECKING:
    from exporter.config import Config


@register
class HeadroomCollector:
    name: ClassVar[str] = "headroom"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)

    def __init__(self, config: Config) -> None:
        self._by_group = dict(config.lessons.planned_consumers_by_group)
        self._by_topic = dict(config.lessons.planned_consumers_by_topic)

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        view = data.cluster
        if view is None or view.groups is None:
            return
        idle_rows, members, planned_rows, headroom = (
            Rows(m) for m in (cat.GROUP_IDLE_MEMBERS, cat.GROUP_TOPIC_MEMBERS,
                              cat.GROUP_PLANNED_MEMBERS, cat.GROUP_PARTITION_HEADROOM)
        )  # fmt: skip
        for group_id, group in view.groups.items():
            idle = hr.idle_members(group)
            if idle is not None:
                idle_rows.add((group_id,), idle)
            per_topic = hr.topic_members(group)
            committed = view.committed.get(group_id) if view.committed is not None else None
            for topic in sorted(hr.group_topics(group, committed)):
                labels = (group_id, topic)
                if per_topic is not None:
                    members.add(labels, per_topic.get(topic, 0))
                planned = hr.planned_members(group_id, topic, self._by_group, self._by_topic)
                if planned is not None:
                    planned_rows.add(labels, planned)
                meta = view.topics.get(topic) if view.topics is not None else None
                if meta is None:
                    continue
                ratio = hr.headroom_ratio(len(meta.partitions), planned, len(group.members))
                if ratio is not None:
                    headroom.add(labels, ratio)
        for rows in (idle_rows, members, planned_rows, headroom):
            rows.write(out)
