"""Signal expressions written once, used by an alert and by the panels that draw it.

A signal takes a `Query`: the one interface of the bundle's PromQL builders, with `by(labels...)`
(the cluster label kept first when it is set) and `sel(metric, matchers...)` (the family scoped
to the bundle's selector). Alert rules pass a `RuleQuery` (the `common.selector` of the
thresholds); dashboards pass their `Scope` (the `$job`/`$cluster` variables). The same signal
then reads the same in the rule file and on the panel, and a test can compare the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from alerts.promql import by, sel
from exporter.catalog import Metric, admin
from exporter.catalog import registry as reg


class Query(Protocol):
    def by(self, *labels: str) -> str: ...

    def sel(self, metric: Metric, *extra: str) -> str: ...


@dataclass(frozen=True, slots=True)
class RuleQuery:
    """The alert rules' builder: the thresholds' selector and cluster label."""

    selector: str
    cluster_label: str

    def by(self, *labels: str) -> str:
        return by(self.cluster_label, *labels)

    def sel(self, metric: Metric, *extra: str) -> str:
        return sel(metric, self.selector, *extra)


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
