"""The metric catalog: every family kafka-vitals exposes, declared once.

Exporter, renderer, dashboards, alerts, docs and tests import names from here. Each module holds
the families of one source: `admin` (Kafka Admin API), `jmx`, `jmx_broker`, `jmx_client` and
`jvm` (broker and client JMX), `lessons` (dead letters, headroom, rebalance hygiene, lag status),
`registry` (Schema Registry), `probe` (the end-to-end probe), `own` (the exporter's health),
`process` (the exporter's own process and Python runtime).
"""

from __future__ import annotations

from exporter.catalog import (
    admin,
    jmx,
    jmx_broker,
    jmx_client,
    jvm,
    lessons,
    own,
    probe,
    process,
    registry,
)
from exporter.catalog.model import Metric, MetricType, Source

ALL: tuple[Metric, ...] = (
    *admin.ALL,
    *jmx.ALL,
    *jmx_broker.ALL,
    *jmx_client.ALL,
    *jvm.ALL,
    *lessons.ALL,
    *registry.ALL,
    *probe.ALL,
    *own.ALL,
    *process.ALL,
)
BY_NAME: dict[str, Metric] = {m.name: m for m in ALL}
if len(BY_NAME) != len(ALL):  # pragma: no cover - a programming error caught at import
    raise RuntimeError("duplicate metric name in the catalog")


SUFFIXED = ("summary", "histogram")
"""Family types whose samples carry a suffix (`_sum`, `_count`, a histogram's `_bucket`)."""


def exposed_names(metric: Metric) -> tuple[str, ...]:
    """Every sample name the family can put on /metrics (a summary adds _sum and _count, a
    histogram has _bucket, _sum and _count)."""
    if metric.type == "summary":
        return (metric.name, f"{metric.name}_sum", f"{metric.name}_count")
    if metric.type == "histogram":
        return (f"{metric.name}_bucket", f"{metric.name}_sum", f"{metric.name}_count")
    return (metric.name,)


def lookup(sample_name: str) -> Metric | None:
    """The family a sample name (as written in PromQL) belongs to, or None."""
    found = BY_NAME.get(sample_name)
    if found is not None and found.type != "histogram":  # a histogram has no bare sample
        return found
    for suffix in ("_sum", "_count", "_bucket"):
        base = BY_NAME.get(sample_name.removesuffix(suffix))
        if base is not None and sample_name in exposed_names(base):
            return base
    return None


__all__ = ["ALL", "BY_NAME", "Metric", "MetricType", "Source", "exposed_names", "lookup"]
