"""Collector `offsets_log`: where committed offsets came from, and the offsets-log reader's health.

Reads `ClusterView.committed_source` and `ClusterView.offsets_log` (set by the Admin API source
when a `__consumer_offsets` reader runs); writes nothing else. The skipped-record counter is
exported for every reason (at 0 until one is seen), so a rate works from the first poll.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import own as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.snapshot import SnapshotBuilder
from exporter.sources.offsets_log_records import SKIP_REASONS

if TYPE_CHECKING:
    from exporter.config import Config


@register
class OffsetsLogCollector:
    name: ClassVar[str] = "offsets_log"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)

    def __init__(self, config: Config) -> None:
        pass

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        view = data.cluster
        if view is None:
            return
        out.add(cat.COMMITTED_SOURCE, (view.committed_source,), 1)
        status = view.offsets_log
        if status is None:
            return
        out.add(cat.OFFSETS_LOG_READY, (), 1 if status.ready else 0)
        out.add(cat.OFFSETS_LOG_RECORDS, (), status.records)
        for reason in SKIP_REASONS:
            out.add(cat.OFFSETS_LOG_SKIPPED, (reason,), status.skipped.get(reason, 0))
        out.add(cat.OFFSETS_LOG_BEHIND, (), status.behind)
        if status.loaded_seconds is not None:
            out.add(cat.OFFSETS_LOG_LOAD_SECONDS, (), status.loaded_seconds)
