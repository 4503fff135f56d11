"""The cluster's signals, written once for their alerts and their panels: replication per
broker and per partition.

Each takes a `Query` (`bundle.core.query`): the rules pass a `RuleQuery`, the panels their `Scope`.
"""

from __future__ import annotations

from bundle.core.query import Query
from exporter.catalog import Metric


def per_broker(q: Query, metric: Metric, *extra: str) -> str:
    """One value per broker (JMX target) of a broker gauge, the same from every exporter replica:
    the under-replicated and under-min-ISR partitions a broker leads."""
    return f"max {q.by('target')} ({q.sel(metric, *extra)})"


def flagged_partitions(q: Query, metric: Metric, *extra: str) -> str:
    """1 for each partition a per-partition 0/1 family flags (under-replicated, under
    min.insync.replicas, offline), once per partition whatever instance serves it; summed per
    topic by the alerts, over the cluster by the panels."""
    return f"max {q.by('topic', 'partition')} ({q.sel(metric, *extra)})"
