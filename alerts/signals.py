"""Signal expressions written once, used by an alert and by the panels that draw it.

A signal takes a `Query`: the one interface of the bundle's PromQL builders, with `by(labels...)`
(the cluster label kept first when it is set), `sel(metric, matchers...)` (the family scoped
to the bundle's selector), and `rate` / `increase` over a window. Alert rules pass a `RuleQuery`
(the `common.selector` of the bundle config); dashboards pass their `Scope` (the `$job` /
`$cluster` variables). The same signal then reads the same in the rule file and on the panel
(only the scoping matchers and, where a panel follows the time range, the window differ), and a
test compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from alerts.promql import by, sel
from alerts.thresholds import BundleConfig
from exporter.catalog import Metric, admin, jmx
from exporter.catalog import registry as reg


class Query(Protocol):
    def by(self, *labels: str) -> str: ...

    def sel(self, metric: Metric, *extra: str, sample: str = "") -> str: ...

    def rate(
        self, metric: Metric, *extra: str, window: str = "", offset: str = "", sample: str = ""
    ) -> str: ...

    def increase(self, metric: Metric, window: str, *extra: str) -> str: ...


@dataclass(frozen=True, slots=True)
class RuleQuery:
    """The alert rules' builder: the thresholds' selector and cluster label."""

    selector: str
    cluster_label: str

    def by(self, *labels: str) -> str:
        return by(self.cluster_label, *labels)

    def sel(self, metric: Metric, *extra: str, sample: str = "") -> str:
        return sel(metric, self.selector, *extra, sample=sample)

    def rate(
        self, metric: Metric, *extra: str, window: str = "", offset: str = "", sample: str = ""
    ) -> str:
        """`rate(family{...}[window] offset X)`; a rule always names its window."""
        if not window:
            raise ValueError(f"rate of {metric.name}: a rule needs its window")
        inner = sel(metric, self.selector, *extra, range_=window, offset=offset, sample=sample)
        return f"rate({inner})"

    def increase(self, metric: Metric, window: str, *extra: str) -> str:
        return f"increase({sel(metric, self.selector, *extra, range_=window)})"

    @classmethod
    def of(cls, t: BundleConfig) -> RuleQuery:
        return cls(t.common.selector, t.common.cluster_label)


def consumer_lag(q: Query, *extra: str) -> str:
    """Messages each group is behind on each topic (committed offsets, Admin API): the signal of
    KafkaConsumerGroupLagHigh and KafkaConsumerGroupStalled, and of the consumer-lag panels."""
    return f"max {q.by('consumergroup', 'topic')} ({q.sel(admin.GROUP_LAG_SUM, *extra)})"


def unregistered_payload_ratio(q: Query, *extra: str) -> str:
    """Share of each topic's sampled newest messages that bypass the schema contract (no wire
    format, or a schema id the registry does not know): the payload signal of
    KafkaTopicWithoutValueSchema and of the contract dashboard's ratio panel. NaN (no alert, a
    gap) where nothing was sampled."""
    keys = q.by("topic")
    raw = f"max {keys} ({q.sel(reg.PAYLOAD_WITHOUT_WIRE_FORMAT, *extra)})"
    unknown = f"max {keys} ({q.sel(reg.PAYLOAD_UNKNOWN_SCHEMA_ID, *extra)})"
    sampled = f"max {keys} ({q.sel(reg.PAYLOAD_SAMPLED, *extra)})"
    return f"({raw} + {unknown}) / {sampled}"


def per_broker(q: Query, metric: Metric, *extra: str) -> str:
    """One value per broker (JMX target) of a broker gauge, the same from every exporter replica:
    the under-replicated and under-min-ISR partitions a broker leads."""
    return f"max {q.by('target')} ({q.sel(metric, *extra)})"


def flagged_partitions(q: Query, metric: Metric, *extra: str) -> str:
    """1 for each partition a per-partition 0/1 family flags (under-replicated, under
    min.insync.replicas, offline), once per partition whatever instance serves it; summed per
    topic by the alerts, over the cluster by the panels."""
    return f"max {q.by('topic', 'partition')} ({q.sel(metric, *extra)})"


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


def group_rebalances(q: Query, window: str, *extra: str) -> str:
    """Rebalances of each consumer group over `window`, as the polls see them (a lower bound):
    the signal of KafkaConsumerGroupRebalanceStorm and of the rebalance panels."""
    return f"max {q.by('consumergroup')} ({q.increase(admin.GROUP_REBALANCES, window, *extra)})"


def latency_quantile(q: Query, metric: Metric, quantile: str, window: str = "") -> str:
    """A probe latency histogram at `quantile` per leader broker, its buckets summed over
    exporter replicas first (two replicas probing add samples, not a second opinion)."""
    buckets = q.rate(metric, window=window, sample="_bucket")
    return f"histogram_quantile({quantile}, sum {q.by('broker', 'le')} ({buckets}))"
