"""The end-to-end probe's signal, written once for its alert and its panels: a latency
quantile per leader broker.

Each takes a `Query` (`bundle.core.query`): the rules pass a `RuleQuery`, the panels their `Scope`.
"""

from __future__ import annotations

from bundle.core.query import Query
from exporter.catalog import Metric


def latency_quantile(q: Query, metric: Metric, quantile: str, window: str = "") -> str:
    """A probe latency histogram at `quantile` per leader broker, its buckets summed over
    exporter replicas first (two replicas probing add samples, not a second opinion)."""
    buckets = q.rate(metric, window=window, sample="_bucket")
    return f"histogram_quantile({quantile}, sum {q.by('broker', 'le')} ({buckets}))"
