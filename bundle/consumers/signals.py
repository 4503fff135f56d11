"""The consumer groups' signals, written once for their alerts and their panels: the lag of
each group and its rebalances.

Each takes a `Query` (`bundle.core.query`): the rules pass a `RuleQuery`, the panels their `Scope`.
"""

from __future__ import annotations

from bundle.core.query import Query
from exporter.catalog import admin


def consumer_lag(q: Query, *extra: str) -> str:
    """Messages each group is behind on each topic (committed offsets, Admin API): the signal of
    KafkaConsumerGroupLagHigh and KafkaConsumerGroupStalled, and of the consumer-lag panels."""
    return f"max {q.by('consumergroup', 'topic')} ({q.sel(admin.GROUP_LAG_SUM, *extra)})"


def group_rebalances(q: Query, window: str, *extra: str) -> str:
    """Rebalances of each consumer group over `window`, as the polls see them (a lower bound):
    the signal of KafkaConsumerGroupRebalanceStorm and of the rebalance panels."""
    return f"max {q.by('consumergroup')} ({q.increase(admin.GROUP_REBALANCES, window, *extra)})"
