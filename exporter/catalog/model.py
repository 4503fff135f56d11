"""The shape of one catalog entry: a metric family's name, type, help, labels and unit.

Every metric kafka-vitals exposes is declared once as a `Metric` in one of the catalog modules
(`admin`, `jmx`, `lessons`, `own`). The exporter, the renderer, the dashboards, the alert rules, the
docs and the tests all import these objects instead of spelling names again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricType = Literal["gauge", "counter", "summary", "histogram", "info"]
"""`info` is a gauge whose value is always 1 and whose labels carry the facts."""

Source = Literal[
    "admin", "jmx_broker", "jmx_client", "jmx_jvm", "lessons", "registry", "probe", "own"
]


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric family as exposed on /metrics.

    `name` is the exposed sample name: counters end in `_total`; a summary's samples are
    `name{quantile=...}`, `name_sum` and `name_count`; a histogram's `name_bucket{le=...}` (one
    per bound of `buckets`, and `+Inf`), `name_sum` and `name_count`.
    """

    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...]
    source: Source
    unit: str = ""
    """Grafana-style unit hint for dashboards: short, s, ms, bytes, percentunit, ..."""
    buckets: tuple[float, ...] = ()
    """A histogram's upper bounds, ascending, without `+Inf` (always added)."""

    def __post_init__(self) -> None:
        if self.type == "counter" and not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name} must end in _total")
        if self.type != "counter" and self.name.endswith("_total"):
            raise ValueError(f"{self.type} {self.name} must not end in _total")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"{self.name} repeats a label")
        if (self.type == "histogram") != bool(self.buckets):
            raise ValueError(f"{self.name}: buckets for a histogram, and only for one")
        if list(self.buckets) != sorted(set(self.buckets)) or "le" in self.labels:
            raise ValueError(f"{self.name}: buckets ascending, no label le")

    @property
    def family(self) -> str:
        """The OpenMetrics family name (a counter's name without `_total`)."""
        return self.name[: -len("_total")] if self.type == "counter" else self.name
