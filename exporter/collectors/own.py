"""Collector `own`: the exporter's own health, from the poller's `PollHealth`.

The poller runs this collector last, after every other collector, so it can say how many series
each family has in the snapshot being built. Counters (errors per stage, series dropped) persist
across cycles on this instance. Per-target JMX health (`up{source="jmx"}`, query duration and
errors) is written by the JMX collectors from their own readings. Every other collector's success
and wall time, measured by the poller, are written here too (node_exporter's and
mysqld_exporter's `collector_success` / `collector_duration_seconds`).
"""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING, ClassVar

from confluent_kafka import libversion

from exporter import __version__
from exporter.catalog import own as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.snapshot import SnapshotBuilder
from exporter.sources.stages import ADMIN_STAGES

if TYPE_CHECKING:
    from exporter.config import Config

# the Admin API stages are always exported, so that error counters exist (at 0) before the
# first failure


def build_labels() -> tuple[str, str, str]:
    """(version, python_version, librdkafka_version) for kafka_vitals_build_info."""
    return (__version__, platform.python_version(), str(libversion()[0]))


@register
class OwnCollector:
    name: ClassVar[str] = "own"
    reads: ClassVar[tuple[Input, ...]] = ("health",)

    def __init__(self, config: Config) -> None:
        self._interval = config.poll.interval_seconds
        self._errors: dict[str, int] = dict.fromkeys(ADMIN_STAGES, 0)
        self._dropped: dict[str, int] = {}
        self._last_success: float | None = None
        self._build = build_labels()

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        health = data.health
        if health is None:
            return
        for stage in health.stages:
            self._errors.setdefault(stage.stage, 0)
            if not stage.ok:
                self._errors[stage.stage] += 1
        for family, n in health.dropped.items():
            self._dropped[family] = self._dropped.get(family, 0) + n
        if health.admin_up and all(s.ok for s in health.stages):
            self._last_success = health.started_at + health.seconds

        out.add(cat.UP, ("admin", ""), 1 if health.admin_up else 0)
        for stage in health.stages:
            out.add(cat.POLL_DURATION, (stage.stage,), stage.seconds)
        out.add(cat.POLL_DURATION, ("cycle",), health.seconds)
        for name, count in sorted(self._errors.items()):
            out.add(cat.POLL_ERRORS, (name,), count)
        out.add(cat.LAST_POLL, (), health.started_at)
        if self._last_success is not None:
            out.add(cat.LAST_POLL_SUCCESS, (), self._last_success)
        out.add(cat.POLL_INTERVAL, (), self._interval)
        for family, count in sorted(self._dropped.items()):
            out.add(cat.SERIES_DROPPED, (family,), count)
        for source, count in sorted(health.restarts.items()):
            out.add(cat.CLIENT_RESTARTS, (source,), count)
        out.add(cat.BUILD_INFO, self._build, 1)
        for name, run in sorted(health.collectors.items()):
            out.add(cat.COLLECTOR_SUCCESS, (name,), 1 if run.ok else 0)
            out.add(cat.COLLECTOR_DURATION, (name,), run.seconds)

        series = dict(health.series)
        for family, count in out.counts().items():
            series[family] = series.get(family, 0) + count
        series[cat.SERIES.name] = len(series) + (0 if cat.SERIES.name in series else 1)
        for family, count in sorted(series.items()):
            out.add(cat.SERIES, (family,), count)
