"""The throughput signals, written once for their alerts and their panels: produce latency and its
baseline, messages in.

Each takes a `Query` (`bundle.core.query`): the rules pass a `RuleQuery`, the panels their `Scope`.
"""

from __future__ import annotations

from bundle.core.query import Query
from exporter.catalog import jmx


def produce_latency(q: Query, quantile: str) -> str:
    """Each broker's produce request total time (ms) at `quantile` (a Yammer quantile: max over
    exporter replicas, never averaged)."""
    at = f'request="Produce", quantile="{quantile}"'
    return f"max {q.by('target')} ({q.sel(jmx.REQUEST_TOTAL_TIME, at)})"


def produce_latency_baseline(q: Query, quantile: str, window: str, offset: str) -> str:
    """`produce_latency`'s average over `window` ending `offset` ago: the spike's baseline."""
    at = f'request="Produce", quantile="{quantile}"'
    past = f"{q.sel(jmx.REQUEST_TOTAL_TIME, at)}[{window}] offset {offset}"
    return f"max {q.by('target')} (avg_over_time({past}))"


def messages_in(
    q: Query, *extra: str, labels: tuple[str, ...] = (), window: str = "", offset: str = ""
) -> str:
    """Messages appended per second (broker JMX MessagesIn), summed by `labels`; `extra` picks
    the broker-wide series (topic="") or the per-topic ones (topic!=""), never both."""
    return f"sum {q.by(*labels)} ({q.rate(jmx.MESSAGES_IN, *extra, window=window, offset=offset)})"
