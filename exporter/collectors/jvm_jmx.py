"""Collector `jvm_jmx`: the JVM vitals of every JMX target, broker or Java client.

Reads the `java.lang` values of every successful `TargetResult` in `CycleData.jmx` (the JMX source
asks each target for them over the same connection as its Kafka MBeans) and writes heap and
non-heap memory, memory pools, garbage collections per collector, threads, file descriptors, CPU
time and start time under jmx_exporter's built-in JVM names, labelled with the target. Units are
converted as jmx_exporter does: milliseconds and nanoseconds to seconds. Target health is written
by the broker and client collectors, not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import jvm as cat
from exporter.catalog.model import Metric
from exporter.collectors.base import CycleData, Input, register
from exporter.snapshot import SnapshotBuilder
from exporter.sources.jmx_model import TargetResult, finite

if TYPE_CHECKING:
    from exporter.config import Config

# (type, attribute) -> (family, factor) for the JVM-wide MBeans
_PLAIN: Mapping[tuple[str, str], tuple[Metric, float]] = {
    ("Threading", "ThreadCount"): (cat.THREADS, 1.0),
    ("Threading", "DaemonThreadCount"): (cat.THREADS_DAEMON, 1.0),
    ("Threading", "PeakThreadCount"): (cat.THREADS_PEAK, 1.0),
    ("Threading", "TotalStartedThreadCount"): (cat.THREADS_STARTED, 1.0),
    ("OperatingSystem", "OpenFileDescriptorCount"): (cat.OPEN_FDS, 1.0),
    ("OperatingSystem", "MaxFileDescriptorCount"): (cat.MAX_FDS, 1.0),
    ("OperatingSystem", "ProcessCpuTime"): (cat.CPU_SECONDS, 1e-9),
    ("Runtime", "StartTime"): (cat.START_TIME, 1e-3),
}
_USAGE: Mapping[str, Metric] = {
    "used": cat.MEMORY_USED,
    "committed": cat.MEMORY_COMMITTED,
    "max": cat.MEMORY_MAX,
}
_POOL: Mapping[str, Metric] = {
    "used": cat.POOL_USED,
    "committed": cat.POOL_COMMITTED,
    "max": cat.POOL_MAX,
}
_AREAS = {"HeapMemoryUsage": "heap", "NonHeapMemoryUsage": "nonheap"}


@register
class JvmJmxCollector:
    name: ClassVar[str] = "jvm_jmx"
    reads: ClassVar[tuple[Input, ...]] = ("jmx",)

    def __init__(self, config: Config) -> None:
        del config  # nothing to configure

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        for name in sorted(data.jmx):
            result = data.jmx[name]
            if result.ok:
                self._values(result, out)

    @staticmethod
    def _values(result: TargetResult, out: SnapshotBuilder) -> None:
        target = result.target
        gc: dict[str, dict[str, float]] = {}
        for v in result.values:
            if v.domain != "java.lang" or not finite(v.value):
                continue
            kind = v.key("type")
            attribute, _, item = v.attribute.partition("/")
            plain = _PLAIN.get((kind, attribute))
            if plain is not None:
                metric, factor = plain
                out.add(metric, (target,), v.value * factor)
            elif kind == "Memory" and attribute in _AREAS and item in _USAGE:
                out.add(_USAGE[item], (target, _AREAS[attribute]), v.value)
            elif kind == "MemoryPool" and attribute == "Usage" and item in _POOL:
                out.add(_POOL[item], (target, v.key("name")), v.value)
            elif kind == "GarbageCollector":
                gc.setdefault(v.key("name"), {})[attribute] = v.value
        for collector in sorted(gc):
            values = gc[collector]
            if "CollectionTime" in values:
                out.add(cat.GC, (target, collector), values["CollectionTime"] / 1000.0, "_sum")
            if "CollectionCount" in values:
                out.add(cat.GC, (target, collector), values["CollectionCount"], "_count")
