"""The JVM families of every JMX target (broker or Java client), read from `java.lang` MBeans.

Named as jmx_exporter's built-in JVM collectors name them (the Prometheus Java client's hotspot
collectors, as Strimzi's broker dashboard queries them), each with a `target` label naming the
JVM. The exporter's own process (a Python one) writes the four `process_*` names here too, without
a `target` (read at every scrape, see `exporter.sources.process`): a query picks the JVMs with
`process_open_fds{target!=""}` and kafka-vitals itself with `process_open_fds{target=""}`.
"""

from __future__ import annotations

from exporter.catalog.model import Metric, MetricType

_T = ("target",)


def _jvm(
    name: str, kind: MetricType, help_: str, labels: tuple[str, ...] = _T, unit: str = ""
) -> Metric:
    return Metric(name, kind, help_, labels, "jmx_jvm", unit=unit)


MEMORY_USED = _jvm(
    "jvm_memory_bytes_used",
    "gauge",
    "Bytes of JVM memory in use, area heap or nonheap.",
    ("target", "area"),
    "bytes",
)
MEMORY_COMMITTED = _jvm(
    "jvm_memory_bytes_committed",
    "gauge",
    "Bytes of JVM memory committed by the OS, area heap or nonheap.",
    ("target", "area"),
    "bytes",
)
MEMORY_MAX = _jvm(
    "jvm_memory_bytes_max",
    "gauge",
    "Most bytes the JVM memory area may use (-1: no limit set).",
    ("target", "area"),
    "bytes",
)
POOL_USED = _jvm(
    "jvm_memory_pool_bytes_used",
    "gauge",
    "Bytes in use per JVM memory pool (G1 Eden Space, G1 Old Gen, Metaspace, ...).",
    ("target", "pool"),
    "bytes",
)
POOL_COMMITTED = _jvm(
    "jvm_memory_pool_bytes_committed",
    "gauge",
    "Bytes committed per JVM memory pool.",
    ("target", "pool"),
    "bytes",
)
POOL_MAX = _jvm(
    "jvm_memory_pool_bytes_max",
    "gauge",
    "Most bytes a JVM memory pool may use (-1: no limit set).",
    ("target", "pool"),
    "bytes",
)
GC = _jvm(
    "jvm_gc_collection_seconds",
    "summary",
    "Garbage collections per collector: _count collections, _sum seconds spent in them (no "
    "quantiles, as jmx_exporter writes it).",
    ("target", "gc"),
    "s",
)
THREADS = _jvm("jvm_threads_current", "gauge", "Live threads of the JVM.")
THREADS_DAEMON = _jvm("jvm_threads_daemon", "gauge", "Live daemon threads of the JVM.")
THREADS_PEAK = _jvm("jvm_threads_peak", "gauge", "Most live threads since the JVM started.")
THREADS_STARTED = _jvm(
    "jvm_threads_started_total", "counter", "Threads started since the JVM started."
)
CPU_SECONDS = _jvm(
    "process_cpu_seconds_total",
    "counter",
    "CPU seconds (user and system) the process used: a JMX target's JVM (target set) or "
    "kafka-vitals itself (no target).",
    unit="s",
)
OPEN_FDS = _jvm(
    "process_open_fds",
    "gauge",
    "Open file descriptors of a JMX target's JVM (target set) or of kafka-vitals (no target).",
)
MAX_FDS = _jvm(
    "process_max_fds",
    "gauge",
    "Most file descriptors the process may open: a JMX target's JVM (target set) or "
    "kafka-vitals (no target).",
)
START_TIME = _jvm(
    "process_start_time_seconds",
    "gauge",
    "Start time of the process, in seconds since the Unix epoch: a JMX target's JVM (target set) "
    "or kafka-vitals (no target).",
    unit="dateTimeAsIso",
)

ALL: tuple[Metric, ...] = tuple(v for v in globals().values() if isinstance(v, Metric))
