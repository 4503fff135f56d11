"""The exporter's own process and Python runtime, read at each scrape through prometheus-client's
collectors: `ProcessCollector` (this process's `/proc` entries: CPU, memory, descriptors, start
time), `PlatformCollector` (the Python version) and `GCCollector` (the garbage collector's counts).

`OwnProcess.read` is what the renderer's `Fresh` calls at every scrape (a fraction of a
millisecond): the samples by catalog family, labels in the family's order, no `target` label.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

from exporter.catalog import Metric, jvm, process

LabelledValue = tuple[tuple[str, ...], float]

FAMILIES: tuple[Metric, ...] = (
    jvm.CPU_SECONDS,
    jvm.OPEN_FDS,
    jvm.MAX_FDS,
    jvm.START_TIME,
    *process.ALL,
)
"""Every family `read` may give, in the order they are written."""


class OwnProcess:
    """prometheus-client's process, platform and GC collectors in a registry of their own (never
    the library's global one)."""

    def __init__(self) -> None:
        self._registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self._registry)
        PlatformCollector(registry=self._registry)
        GCCollector(registry=self._registry)
        self._by_name = {m.name: m for m in FAMILIES}

    def read(self) -> dict[Metric, list[LabelledValue]]:
        """The samples now; names the catalog does not hold (none today) are left out."""
        out: dict[Metric, list[LabelledValue]] = {}
        for family in self._registry.collect():
            for sample in family.samples:
                metric = self._by_name.get(sample.name)
                if metric is not None:
                    labels = tuple(sample.labels.get(n, "") for n in metric.labels)
                    out.setdefault(metric, []).append((labels, float(sample.value)))
        return out
