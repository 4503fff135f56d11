"""Collector `dead_letters`: inflow, depth and newest-message time of dead-letter and retry topics.

Reads the topics and offsets of one poll; keeps, per dead-letter topic, the last sum of log-end
offsets it saw and when it moved (see `exporter.domain.dead_letters`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import lessons as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.domain import dead_letters as dl
from exporter.snapshot import SnapshotBuilder

if TYPE_CHECKING:
    from exporter.config import Config

log = logging.getLogger(__name__)


@register
class DeadLettersCollector:
    name: ClassVar[str] = "dead_letters"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)

    def __init__(self, config: Config) -> None:
        lessons = config.lessons
        self._patterns = dl.compile_patterns(
            lessons.dead_letter_patterns, lessons.retry_topic_patterns
        )
        self._replay_groups = dict(lessons.replay_groups)
        self._seen: dict[str, dl.Seen] = {}

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        view = data.cluster
        if view is None or view.topics is None:
            return
        topics = {name: meta for name, meta in view.topics.items() if not meta.internal}
        found = dl.find_dead_letter_topics(topics, self._patterns)
        for gone in self._seen.keys() - {d.topic for d in found}:
            del self._seen[gone]
        if view.offsets is None:
            return
        for d in found:
            labels = (d.topic, d.source_topic, d.kind)
            partitions = [p.partition for p in topics[d.topic].partitions]
            total = dl.messages_in(d.topic, partitions, view.offsets)
            if total is None:
                log.debug("dead letter topic skipped, offsets missing topic=%s", d.topic)
                continue
            out.add(cat.DEADLETTER_MESSAGES, labels, total)
            seen = dl.observe(self._seen.get(d.topic), total, view.taken_at)
            self._seen[d.topic] = seen
            if seen.moved_at is not None:
                out.add(cat.DEADLETTER_NEWEST_TIMESTAMP, labels, seen.moved_at)
            group = self._replay_groups.get(d.topic, "")
            if group and view.committed is None:
                continue  # the replay group's offsets are unknown this poll: no depth
            committed = view.committed.get(group, {}) if group and view.committed else None
            depth = dl.depth(d.topic, partitions, view.offsets, committed)
            if depth is not None:
                out.add(cat.DEADLETTER_DEPTH, (*labels, group), depth)
