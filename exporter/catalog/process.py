"""The exporter's own process and Python runtime, as prometheus-client's collectors name them.

Read at every scrape (not once per poll cycle) and written without a `target` label. The four
`process_*` families a JVM also has (`process_cpu_seconds_total`, `process_open_fds`,
`process_max_fds`, `process_start_time_seconds`) are declared once, in `jvm`: there the series
with a `target` are a JMX target's JVM, the one without is kafka-vitals itself.
"""

from __future__ import annotations

from exporter.catalog.model import Metric, MetricType

_GEN = ("generation",)


def _own(
    name: str, kind: MetricType, help_: str, labels: tuple[str, ...] = (), unit: str = ""
) -> Metric:
    return Metric(name, kind, help_, labels, "own", unit=unit)


VIRTUAL_MEMORY = _own(
    "process_virtual_memory_bytes", "gauge", "Virtual memory size of kafka-vitals, in bytes.",
    unit="bytes",
)  # fmt: skip
RESIDENT_MEMORY = _own(
    "process_resident_memory_bytes", "gauge", "Resident memory size of kafka-vitals, in bytes.",
    unit="bytes",
)  # fmt: skip
PYTHON_INFO = _own(
    "python_info",
    "info",
    "The Python that runs kafka-vitals.",
    ("implementation", "major", "minor", "patchlevel", "version"),
)
GC_OBJECTS_COLLECTED = _own(
    "python_gc_objects_collected_total",
    "counter",
    "Objects the Python garbage collector of kafka-vitals collected, per generation.",
    _GEN,
)
GC_OBJECTS_UNCOLLECTABLE = _own(
    "python_gc_objects_uncollectable_total",
    "counter",
    "Uncollectable objects the Python garbage collector of kafka-vitals found, per generation.",
    _GEN,
)
GC_COLLECTIONS = _own(
    "python_gc_collections_total",
    "counter",
    "Collections of each generation by the Python garbage collector of kafka-vitals.",
    _GEN,
)

ALL: tuple[Metric, ...] = tuple(v for v in globals().values() if isinstance(v, Metric))
